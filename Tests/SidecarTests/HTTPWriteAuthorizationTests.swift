import Foundation
import Logging
@testable import NATS
import Testing
@testable import Sidecar

/// Config writes over HTTP: refused on the public listener without the bearer token, taken on
/// the admin listener; reads open on both. Real ports, the in-process runtime and the binary.
@Suite(.serialized) struct HTTPWriteAuthorizationTests {
    static let unreachableNATS = "nats://127.0.0.1:1"
    static let token = "s3cret-token-\(UUID().uuidString)"
    static let setPath = "/api/v1/strategies/orderbook_skew/config"
    static let setBody = #"{"parameters":{"top_levels":7},"changed_by":"auth-test","reason":"r"}"#

    /// Every write route of the API, with a body that would succeed where one is needed.
    static let writes: [(method: String, path: String, body: String?)] = [
        ("POST", setPath, setBody),
        ("POST", setPath + "/BTCUSDT", setBody),
        ("DELETE", setPath + "?changed_by=auth-test", nil),
        ("DELETE", setPath + "/BTCUSDT?changed_by=auth-test", nil),
        ("POST", "/api/v1/strategies/orderbook_skew/rollback", #"{"changed_by":"auth-test"}"#),
        ("POST", "/api/v1/strategies/orderbook_skew/restore", #"{"changed_by":"auth-test"}"#),
        ("POST", "/api/v1/strategies/cache/refresh", nil),
        ("POST", "/api/v1/config/validate", #"{"strategy_id":"orderbook_skew","parameters":{"top_levels":3}}"#),
    ]

    static func raw(_ method: String, port: Int, _ path: String, body: String? = nil,
                    authorization: String? = nil) async throws -> SimpleHTTPClient.Response {
        let url = "http://127.0.0.1:\(port)\(path)"
        let headers = authorization.map { [("Authorization", $0)] } ?? []
        return try await offloaded {
            try SimpleHTTPClient.request(method, url, body: body.map { Array($0.utf8) }, headers: headers)
        }
    }

    /// The stored version, the audit length and the refusal counter: what a refused write must not move.
    static func observed(_ sidecar: RunningSidecar) async throws -> (version: JSONValue?, audit: Int, refused: Int) {
        let http = HTTPJSON(port: sidecar.httpPort)
        let config = try await http.call("GET", setPath)
        let audit = try await http.call("GET", "/api/v1/strategies/orderbook_skew/audit?limit=1000")
        return (config.json[path: "data.stored_version"], audit.json["data"]?.arrayItems?.count ?? -1,
                sidecar.runtime.writeAuthorization.refused.value)
    }

    @Test func publicWritesWithoutTheTokenAreRefusedAndChangeNothing() async throws {
        let sidecar = try await RunningSidecar.start(natsURL: Self.unreachableNATS) { $0.apiToken = SecretString(Self.token) }
        defer { Task { try? await sidecar.stop() } }
        let admin = HTTPJSON(port: try #require(sidecar.adminPort))
        // Something stored first, so rollback/delete would have something to act on.
        #expect(try await admin.call("POST", Self.setPath, Self.setBody).status == 200)
        #expect(try await admin.call("POST", Self.setPath + "/BTCUSDT", Self.setBody).status == 200)
        let before = try await Self.observed(sidecar)
        #expect(before.version == .int(1))
        #expect(before.audit == 2)

        let wrongSameLength = String(repeating: "x", count: Self.token.utf8.count)
        let attempts: [(String?, String)] = [
            (nil, "no header"), ("Bearer " + wrongSameLength, "wrong token, same length"),
            ("Bearer " + Self.token.dropLast(), "a prefix of the token"), ("Bearer " + Self.token + "x", "the token and more"),
            ("Bearer " + String(repeating: "y", count: 5000), "a long token"), ("Basic " + Self.token, "another scheme"),
            ("Bearer", "no credentials"), (Self.token, "no scheme"),
        ]
        var refusals = 0
        for write in Self.writes {
            for (authorization, what) in attempts {
                let r = try await Self.raw(write.method, port: sidecar.httpPort, write.path, body: write.body, authorization: authorization)
                refusals += 1
                #expect(r.status == 401, "\(write.method) \(write.path) with \(what): \(r.status) \(r.text)")
                #expect(r.headers["www-authenticate"] == #"Bearer realm="realtime-sidecar""#)
                let json = try JSONValue.parse(r.body)
                #expect(json[path: "error.code"] == .string("UNAUTHORIZED"))
                #expect(json["success"] == .bool(false))
                #expect(!r.text.contains(Self.token), "the answer never echoes a token")
            }
        }
        let after = try await Self.observed(sidecar)
        #expect(after.version == before.version, "a refused write changes nothing")
        #expect(after.audit == before.audit)
        #expect(after.refused - before.refused == refusals)
        let metrics = try await sidecar.get("/metrics").text
        #expect(metrics.contains("realtime_http_unauthorized_total \(after.refused)"), "counted in /metrics")
    }

    @Test func theRightTokenWritesOnThePublicPortAndTheAdminListenerNeedsNone() async throws {
        let sidecar = try await RunningSidecar.start(natsURL: Self.unreachableNATS) { $0.apiToken = SecretString(Self.token) }
        defer { Task { try? await sidecar.stop() } }
        let withToken = HTTPJSON(port: sidecar.httpPort, token: Self.token)
        let set = try await withToken.call("POST", Self.setPath, Self.setBody)
        #expect(set.status == 200, "\(set.json)")
        #expect(set.json[path: "data.stored_version"] == .int(1))
        // Scheme case-insensitive, as RFC 7235 says.
        let lower = try await Self.raw("POST", port: sidecar.httpPort, Self.setPath,
                                       body: #"{"parameters":{"top_levels":8},"changed_by":"auth-test"}"#,
                                       authorization: "bearer " + Self.token)
        #expect(lower.status == 200, "\(lower.text)")

        let admin = HTTPJSON(port: try #require(sidecar.adminPort))
        let adminSet = try await admin.call("POST", Self.setPath, #"{"parameters":{"top_levels":9},"changed_by":"admin"}"#)
        #expect(adminSet.status == 200, "\(adminSet.json)")
        #expect(adminSet.json[path: "data.stored_version"] == .int(3))
        #expect(try await admin.call("DELETE", Self.setPath + "?changed_by=admin").status == 200)

        // Reads are open on the public port, without a token.
        let open = HTTPJSON(port: sidecar.httpPort)
        for path in ["/api/v1/strategies", Self.setPath, "/api/v1/strategies/orderbook_skew/audit", "/api/v1/stats",
                     "/healthz", "/openapi.json", "/api/v1/strategies/orderbook_skew/schema"] {
            #expect(try await open.call("GET", path).status == 200, "GET \(path)")
        }
        let audit = try await open.call("GET", "/api/v1/strategies/orderbook_skew/audit")
        #expect(audit.json["data"]?.arrayItems?.compactMap { $0["changed_by"]?.stringValue } == ["admin", "admin", "auth-test", "auth-test"])
        #expect(sidecar.runtime.writeAuthorization.refused.value == 0)
        // Unknown paths and methods still answer as before: no 401 for what is not a write route.
        #expect(try await open.call("POST", "/healthz").status == 405)
        #expect(try await open.call("POST", "/no/such/path").status == 404)
    }

    @Test func withoutATokenConfiguredPublicWritesPointToTheAdminListener() async throws {
        let sidecar = try await RunningSidecar.start(natsURL: Self.unreachableNATS)
        defer { Task { try? await sidecar.stop() } }
        #expect(sidecar.runtime.writeAuthorization.hasToken == false)
        let r = try await Self.raw("POST", port: sidecar.httpPort, Self.setPath, body: Self.setBody,
                                   authorization: "Bearer anything")
        #expect(r.status == 401)
        let message = try JSONValue.parse(r.body)[path: "error.message"]?.stringValue ?? ""
        #expect(message.contains("admin listener"), "\(message)")
        #expect(message.contains("SIDECAR_API_TOKEN"), "\(message)")
        let admin = HTTPJSON(port: try #require(sidecar.adminPort))
        #expect(try await admin.call("POST", Self.setPath, Self.setBody).status == 200)
    }

    @Test func aRotatedTokenFileIsPickedUpWithoutARestart() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("api-token-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // Laid out as kubelet mounts a Secret: `token` -> `..data/token`, `..data` -> a versioned directory.
        func publish(_ token: String, version: Int) throws {
            let versioned = dir.appendingPathComponent("..v\(version)")
            try FileManager.default.createDirectory(at: versioned, withIntermediateDirectories: true)
            try Data((token + "\n").utf8).write(to: versioned.appendingPathComponent("token"))
            let next = dir.appendingPathComponent("..data_tmp")
            try? FileManager.default.removeItem(at: next)
            try FileManager.default.createSymbolicLink(atPath: next.path, withDestinationPath: "..v\(version)")
            #expect(rename(next.path, dir.appendingPathComponent("..data").path) == 0, "atomic swap")
        }
        try publish("first-token", version: 1)
        let file = dir.appendingPathComponent("token").path
        try FileManager.default.createSymbolicLink(atPath: file, withDestinationPath: "..data/token")

        let sidecar = try await RunningSidecar.start(natsURL: Self.unreachableNATS) { $0.apiTokenFile = file }
        defer { Task { try? await sidecar.stop() } }
        func status(_ token: String, _ n: Int) async throws -> Int {
            try await HTTPJSON(port: sidecar.httpPort, token: token)
                .call("POST", Self.setPath, #"{"parameters":{"top_levels":\#(n)},"changed_by":"rotation"}"#).status
        }
        #expect(try await status("first-token", 3) == 200)
        #expect(try await status("second-token", 4) == 401)

        try publish("second-token", version: 2)
        try await waitUntil("the new token accepted", timeout: 5) { try await status("second-token", 5) == 200 }
        #expect(try await status("first-token", 6) == 401, "the old token stops working")

        // The Secret gone (mid-update, deleted): the last good token keeps working.
        try FileManager.default.removeItem(at: dir.appendingPathComponent("..data"))
        try await Task.sleep(for: .milliseconds(1200))
        #expect(try await status("second-token", 7) == 200)
        #expect(try await status("first-token", 8) == 401)
    }

    @Test func anUnreadableTokenFileAtStartIsAConfigurationErrorNamingTheFile() throws {
        let path = "/nonexistent/\(UUID().uuidString)/token"
        var configuration = SidecarConfiguration()
        configuration.configStore = .memory
        configuration.socketPath = nil
        configuration.apiTokenFile = path
        #expect {
            _ = try SidecarRuntime(configuration: configuration, logger: Logger(label: "test"))
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.variable == "SIDECAR_API_TOKEN_FILE" && error.value == path
        }
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("empty-token-\(UUID().uuidString)").path
        FileManager.default.createFile(atPath: empty, contents: Data("\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: empty) }
        configuration.apiTokenFile = empty
        #expect(throws: ConfigurationError.self) {
            _ = try SidecarRuntime(configuration: configuration, logger: Logger(label: "test"))
        }
    }

    @Test func theAdminPortMustDifferFromThePublicOne() {
        var configuration = SidecarConfiguration()
        configuration.configStore = .memory
        configuration.socketPath = nil
        configuration.httpPort = 18_080
        configuration.adminHTTPPort = 18_080
        #expect(throws: ConfigurationError.self) {
            _ = try SidecarRuntime(configuration: configuration, logger: Logger(label: "test"))
        }
    }

    @Test func theComparisonIsExactAndTheHeaderParsedStrictly() {
        let token = Array("abc".utf8)
        #expect(WriteAuthorization.constantTimeEquals(Array("abc".utf8), token))
        #expect(!WriteAuthorization.constantTimeEquals(Array("abd".utf8), token))
        #expect(!WriteAuthorization.constantTimeEquals(Array("ab".utf8), token))
        #expect(!WriteAuthorization.constantTimeEquals(Array("abc\0".utf8), token), "zero padding is not equality")
        #expect(!WriteAuthorization.constantTimeEquals([], token))
        let long = [UInt8](repeating: 7, count: 300)
        #expect(WriteAuthorization.constantTimeEquals(long, long), "tokens longer than the minimum span")
        #expect(!WriteAuthorization.constantTimeEquals(long + [7], long))
        // Lengths that differ by a multiple of 256 must not cancel out.
        #expect(!WriteAuthorization.constantTimeEquals([UInt8](repeating: 0, count: 256), []))
        #expect(WriteAuthorization.bearerToken("Bearer abc") == token)
        #expect(WriteAuthorization.bearerToken("BEARER   abc  ") == token)
        #expect(WriteAuthorization.bearerToken("Basic abc") == nil)
        #expect(WriteAuthorization.bearerToken("Bearer ") == nil)
        #expect(WriteAuthorization.bearerToken("Bearerabc") == nil)
        #expect(WriteAuthorization.bearerToken(nil) == nil)
    }
}

/// The listeners of the binary, and the issue's "done when" over a non-loopback address.
@Suite(.serialized) struct HTTPListenerProcessTests {
    @Test func adminListenerOffLeavesOnlyThePublicPort() async throws {
        let on = try SidecarProcess(environment: ["LOG_LEVEL": "info"])
        defer { on.terminate() }
        try await on.waitUntilConfigReady()
        try await waitUntil("admin listener bound", timeout: 10) { on.log.contains("admin http listening") }
        #expect(Set(try ListeningSockets.tcpPorts(pid: on.process.processIdentifier)) == [on.httpPort, on.adminPort])

        let off = try SidecarProcess(environment: ["ADMIN_HTTP_PORT": "off", "LOG_LEVEL": "info"])
        defer { off.terminate() }
        try await off.waitUntilConfigReady()
        #expect(try ListeningSockets.tcpPorts(pid: off.process.processIdentifier) == [off.httpPort])
        #expect(off.log.contains("http listening"))
        #expect(!off.log.contains("admin http listening"))
        #expect(try await off.http.call("POST", HTTPWriteAuthorizationTests.setPath, HTTPWriteAuthorizationTests.setBody).status == 401)
    }

    @Test func aNonLoopbackAdminHostIsWarnedAbout() async throws {
        let sidecar = try SidecarProcess(environment: ["ADMIN_HTTP_HOST": "0.0.0.0"])
        defer { sidecar.terminate() }
        try await sidecar.waitUntilConfigReady()
        #expect(sidecar.log.contains("ADMIN_HTTP_HOST is not a loopback address"))
    }

    /// With the defaults (HTTP on 0.0.0.0, admin on loopback), a write from another address of
    /// this machine without the token gets 401 and changes nothing; with the token it works.
    @Test func doneWhenAWriteFromANonLoopbackAddressNeedsTheToken() async throws {
        guard let address = ListeningSockets.nonLoopbackIPv4() else {
            print("SKIPPED: this machine has no non-loopback IPv4 address")
            return
        }
        let token = "done-when-\(UUID().uuidString)"
        let sidecar = try SidecarProcess(environment: ["HTTP_HOST": "0.0.0.0", "ADMIN_HTTP_HOST": "127.0.0.1",
                                                       "SIDECAR_API_TOKEN": token])
        defer { sidecar.terminate() }
        try await sidecar.waitUntilConfigReady()
        let base = "http://\(address):\(sidecar.httpPort)"
        func call(_ method: String, _ path: String, _ body: String?, token: String?) async throws -> SimpleHTTPClient.Response {
            try await offloaded {
                try SimpleHTTPClient.request(method, base + path, body: body.map { Array($0.utf8) },
                                             headers: token.map { [("Authorization", "Bearer \($0)")] } ?? [])
            }
        }
        let path = HTTPWriteAuthorizationTests.setPath
        let refused = try await call("POST", path, HTTPWriteAuthorizationTests.setBody, token: nil)
        #expect(refused.status == 401, "\(refused.text)")
        let unchanged = try await call("GET", path, nil, token: nil)
        #expect(unchanged.status == 200)
        #expect(try JSONValue.parse(unchanged.body)[path: "data.stored_version"] == .int(0))
        let accepted = try await call("POST", path, HTTPWriteAuthorizationTests.setBody, token: token)
        #expect(accepted.status == 200, "\(accepted.text)")
        #expect(try JSONValue.parse(accepted.body)[path: "data.stored_version"] == .int(1))
        // The admin listener is not reachable from that address.
        #expect(throws: (any Error).self) {
            _ = try SimpleHTTPClient.request("GET", "http://\(address):\(sidecar.adminPort)/healthz", timeoutSeconds: 2)
        }
        #expect(!sidecar.log.contains(token), "the token never reaches the log")
    }
}

/// TCP sockets a process listens on, from /proc (its socket fds matched to LISTEN rows).
enum ListeningSockets {
    static func tcpPorts(pid: Int32) throws -> [Int] {
        let fdDir = "/proc/\(pid)/fd"
        var inodes = Set<String>()
        for fd in try FileManager.default.contentsOfDirectory(atPath: fdDir) {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdDir)/\(fd)"),
               target.hasPrefix("socket:[") {
                inodes.insert(String(target.dropFirst(8).dropLast()))
            }
        }
        var ports: [Int] = []
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                // local_address is field 1 ("ADDR:PORT" in hex), st field 3 (0A = LISTEN), inode field 9.
                guard fields.count > 9, fields[3] == "0A", inodes.contains(String(fields[9])),
                      let portHex = fields[1].split(separator: ":").last, let port = Int(portHex, radix: 16) else { continue }
                ports.append(port)
            }
        }
        return ports.sorted()
    }

    /// An IPv4 address of this machine outside 127.0.0.0/8, from the kernel's local routes.
    static func nonLoopbackIPv4() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/net/fib_trie", encoding: .utf8) else { return nil }
        var previous = ""
        for line in text.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.contains("/32 host LOCAL") {
                let address = previous.split(separator: " ").last.map(String.init) ?? ""
                if !address.hasPrefix("127."), address.split(separator: ".").count == 4 { return address }
            }
            previous = trimmed
        }
        return nil
    }
}
