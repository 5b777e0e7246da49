import Foundation
import Testing
@testable import Sidecar

/// Config stores across real `realtime-sidecar` processes: a restart, `kill -9` during a burst
/// of writes, and two sidecars sharing one nats-kv bucket on a real `nats-server -js`.
@Suite(.serialized) struct ConfigProcessTests {
    func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("config-kill-\(UUID().uuidString)").path
    }

    /// Writes acknowledged before `kill -9` at random moments; `CONFIG_DURABILITY_WRITES`
    /// (default 200; 1000 for the full-size run in docs/RELIABILITY.md) spread over 20 keys.
    static let durabilityWrites = Int(ProcessInfo.processInfo.environment["CONFIG_DURABILITY_WRITES"] ?? "") ?? 200
    static let symbols = (0..<20).map { "SYM\($0)USDT" }

    @Test(arguments: ["file", "nats-kv"])
    func kill9DuringWritesLosesNoAcknowledgedWrite(store: String) async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server: NATSServerProcess? = store == "nats-kv" ? try NATSServerProcess() : nil
        var env = ["CONFIG_STORE": store == "file" ? "file:\(dir)" : "nats-kv:durability", "CONFIG_RETRY_SECONDS": "0.2"]
        if let server { env["NATS_URL"] = server.url }

        /// Per symbol: acknowledged (value, version), in order.
        var acknowledged: [String: [(value: Int, version: Int64)]] = [:]
        var total = 0, kills = 0
        while total < Self.durabilityWrites {
            let sidecar = try SidecarProcess(environment: env)
            try await sidecar.waitUntilConfigReady()
            let http = sidecar.admin
            let killer = Task.detached {
                try await Task.sleep(for: .milliseconds(Int.random(in: 50...400)))
                sidecar.kill9()
            }
            while total < Self.durabilityWrites {
                let symbol = Self.symbols[total % Self.symbols.count]
                let value = total + 1
                let body = #"{"parameters":{"min_total_volume":\#(value)},"changed_by":"burst","reason":"w\#(value)"}"#
                guard let r = try? await http.call("POST", "/api/v1/strategies/orderbook_skew/config/\(symbol)", body),
                      r.status == 200, let version = r.json[path: "data.stored_version"]?.int64Value else { break }
                acknowledged[symbol, default: []].append((value, version))
                total += 1
            }
            if total < Self.durabilityWrites { kills += 1 }
            killer.cancel()
            sidecar.kill9()
        }
        #expect(kills >= 1, "the writes were interrupted by kill -9 at least once")
        print("config durability [\(store)]: \(total) acknowledged writes over \(Self.symbols.count) keys, \(kills) kill -9")

        let sidecar = try SidecarProcess(environment: env)
        defer { sidecar.terminate() }
        try await sidecar.waitUntilConfigReady()
        for symbol in Self.symbols {
            let acks = acknowledged[symbol] ?? []
            guard let last = acks.last else { continue }
            let config = try await sidecar.http.call("GET", "/api/v1/strategies/orderbook_skew/config/\(symbol)")
            let stored = try #require(config.json[path: "data.overrides.min_total_volume"]?.doubleValue)
            // The last acknowledged value, or a later one that became durable just before a kill.
            #expect(stored >= Double(last.value), "\(symbol): stored \(stored), last acknowledged \(last.value)")

            let audit = try await sidecar.http.call("GET", "/api/v1/strategies/orderbook_skew/audit?symbol=\(symbol)&limit=1000")
            let records = try #require(audit.json[path: "data"]?.arrayItems).reversed().map { $0 }
            let versions = records.compactMap { $0["version"]?.int64Value }
            #expect(Set(versions).count == versions.count, "\(symbol): no duplicate records")
            #expect(versions == versions.sorted(), "\(symbol): versions are monotonic")
            for ack in acks { #expect(versions.contains(ack.version), "\(symbol): acknowledged v\(ack.version) is audited") }
            // No gaps: each record's old values are the previous record's new values.
            for (previous, record) in zip(records, records.dropFirst()) {
                #expect(record["old_parameters"] == previous["new_parameters"], "\(symbol): chain broken at v\(record["version"]?.int64Value ?? 0)")
            }
        }
        if store == "file" {
            // No torn document: every file parses.
            for name in try FileManager.default.contentsOfDirectory(atPath: dir + "/configs") where name.hasSuffix(".json") {
                let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/configs/" + name))
                #expect(LocalConfigStore.document(Array(data)) != nil, "\(name) parses")
            }
        }
    }

    @Test func twoSidecarsShareOneNATSKeyValueBucket() async throws {
        let server = try NATSServerProcess()
        let env = ["NATS_URL": server.url, "CONFIG_STORE": "nats-kv:shared-config", "CONFIG_RETRY_SECONDS": "0.5"]
        let a = try SidecarProcess(environment: env)
        let b = try SidecarProcess(environment: env)
        defer { a.terminate(); b.terminate() }
        try await a.waitUntilConfigReady()
        try await b.waitUntilConfigReady()

        // A write through A is applied by B within a second.
        let write = try await a.admin.call("POST", "/api/v1/strategies/orderbook_skew/config/BTCUSDT",
                                          #"{"parameters":{"top_levels":11},"changed_by":"alice","reason":"via A"}"#)
        #expect(write.status == 200, "\(write.json)")
        let written = Date()
        let version = try #require(write.json[path: "data.version"]?.int64Value)
        try await waitUntil("B applies A's write", timeout: 5) {
            try await b.http.call("GET", "/api/v1/strategies/orderbook_skew/config/BTCUSDT")
                .json[path: "data.parameters.top_levels"] == .int(11)
        }
        let lag = Date().timeIntervalSince(written)
        #expect(lag < 1.0, "B saw the change after \(lag) s")

        // Concurrent writes with the same expected_version: exactly one winner.
        for round in 0..<3 {
            let current = try #require(try await a.http.call("GET", "/api/v1/strategies/orderbook_skew/config/BTCUSDT")
                .json[path: "data.stored_version"]?.int64Value)
            async let ra = a.admin.call("POST", "/api/v1/strategies/orderbook_skew/config/BTCUSDT",
                                       #"{"parameters":{"top_levels":\#(12 + round)},"changed_by":"a","expected_version":\#(current)}"#)
            async let rb = b.admin.call("POST", "/api/v1/strategies/orderbook_skew/config/BTCUSDT",
                                       #"{"parameters":{"top_levels":\#(15 + round)},"changed_by":"b","expected_version":\#(current)}"#)
            let statuses = try await [ra.status, rb.status].sorted()
            #expect(statuses == [200, 409], "round \(round): \(statuses)")
            try await Task.sleep(for: .milliseconds(300))
        }

        // The audit comes from the bucket's history, whichever sidecar wrote.
        try await Task.sleep(for: .milliseconds(300))
        let trail = try await b.http.call("GET", "/api/v1/strategies/orderbook_skew/audit?symbol=BTCUSDT")
        let records = try #require(trail.json[path: "data"]?.arrayItems)
        #expect(records.count == 4, "\(records)")
        #expect(records.last?["changed_by"] == .string("alice"))
        #expect(records.last?["reason"] == .string("via A"))
        #expect(records.last?["version"] == .int(version))
        let writers = Set(records.compactMap { $0["changed_by"]?.stringValue })
        #expect(writers.isSubset(of: ["alice", "a", "b"]), "\(writers)")

        // A delete through B reaches A.
        #expect(try await b.admin.call("DELETE", "/api/v1/strategies/orderbook_skew/config/BTCUSDT?changed_by=ops").status == 200)
        try await waitUntil("A applies B's delete", timeout: 5) {
            try await a.http.call("GET", "/api/v1/strategies/orderbook_skew/config/BTCUSDT")
                .json[path: "data.is_override"] == .bool(false)
        }
    }
}
