import Foundation
@testable import NATS
import Testing
@testable import Sidecar

/// `sidecarctl config` writes on the sidecar's public port: with the token (option, file,
/// environment) they work; without it or with a wrong one they fail with exit 77 and a clear
/// message, and the token never appears in the output.
@Suite(.serialized) struct SidecarctlTokenTests {
    @Test func configWritesOnThePublicPortNeedTheToken() async throws {
        let token = "ctl-token-\(UUID().uuidString)"
        let sidecar = try await RunningSidecar.start(natsURL: "nats://127.0.0.1:1") { $0.apiToken = SecretString(token) }
        defer { Task { try? await sidecar.stop() } }
        let url = "http://127.0.0.1:\(sidecar.httpPort)"
        // The test process's own environment must not lend a token.
        let clean = ["SIDECAR_API_TOKEN": "", "SIDECAR_API_TOKEN_FILE": ""]
        func ctl(_ args: [String], env: [String: String] = [:]) async throws -> CtlResult {
            try await sidecarctl(["config"] + args + ["--url", url], environment: clean.merging(env) { $1 })
        }
        func storedVersion() async throws -> JSONValue? {
            try await HTTPJSON(port: sidecar.httpPort).call("GET", "/api/v1/strategies/orderbook_skew/config").json[path: "data.stored_version"]
        }

        let refused = try await ctl(["set", "orderbook_skew", "top_levels=4"])
        #expect(refused.status == 77, "\(refused)")
        #expect(refused.stderr.contains("not authorized"), "\(refused)")
        #expect(refused.stderr.contains("--token"), "says how to authorize: \(refused)")
        #expect(try await storedVersion() == .int(0), "nothing stored")

        let wrong = try await ctl(["set", "orderbook_skew", "top_levels=4", "--token", "not-" + token])
        #expect(wrong.status == 77, "\(wrong)")
        #expect(wrong.stderr.contains("refused the API token"), "\(wrong)")
        #expect(!(wrong.stdout + wrong.stderr).contains(token))

        let set = try await ctl(["set", "orderbook_skew", "top_levels=4", "--token", token])
        #expect(set.status == 0, "\(set)")
        #expect(set.stdout.contains("stored version 1"), "\(set)")
        #expect(!(set.stdout + set.stderr).contains(token), "the token is never printed")

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ctl-token-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("token").path
        try Data((token + "\n").utf8).write(to: URL(fileURLWithPath: file))
        let fromFile = try await ctl(["set", "orderbook_skew", "top_levels=5", "--token-file", file])
        #expect(fromFile.status == 0, "\(fromFile)")
        let fromEnvFile = try await ctl(["set", "orderbook_skew", "top_levels=6"], env: ["SIDECAR_API_TOKEN_FILE": file])
        #expect(fromEnvFile.status == 0, "\(fromEnvFile)")
        let fromEnv = try await ctl(["delete", "orderbook_skew"], env: ["SIDECAR_API_TOKEN": token])
        #expect(fromEnv.status == 0, "\(fromEnv)")
        #expect(try await storedVersion() == .int(0), "deleted")

        let missingFile = try await ctl(["set", "orderbook_skew", "top_levels=7", "--token-file", dir.appendingPathComponent("nope").path])
        #expect(missingFile.status == 64, "\(missingFile)")
        #expect(missingFile.stderr.contains("nope"), "names the file: \(missingFile)")

        // Reads need no token.
        let get = try await ctl(["get", "orderbook_skew"])
        #expect(get.status == 0, "\(get)")
        let audit = try await ctl(["audit", "orderbook_skew", "--json"])
        #expect(try JSONValue.parse(audit.stdout).arrayItems?.count == 4, "three sets and a delete, nothing from the refused ones")
    }
}
