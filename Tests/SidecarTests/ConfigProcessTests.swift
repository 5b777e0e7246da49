import Foundation
import Testing
@testable import Sidecar

/// Config stores across real `realtime-sidecar` processes: a restart, `kill -9` during a burst
/// of writes, and two sidecars sharing one nats-kv bucket on a real `nats-server -js`.
@Suite(.serialized) struct ConfigProcessTests {
    func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("config-kill-\(UUID().uuidString)").path
    }

    @Test func fileStoreKill9DuringWritesLosesNoAcknowledgedWrite() async throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = ["CONFIG_STORE": "file:\(dir)"]
        var acknowledged: [(value: Int, version: Int64)] = []
        for round in 0..<3 {
            let sidecar = try SidecarProcess(environment: env)
            try await sidecar.waitUntilConfigReady()
            let http = sidecar.http
            let killer = Task.detached {
                try await Task.sleep(for: .milliseconds(Int.random(in: 300...900)))
                sidecar.kill9()
            }
            var value = acknowledged.last?.value ?? 0
            while true {
                value += 1
                let body = #"{"parameters":{"min_total_volume":\#(value)},"changed_by":"burst","reason":"r\#(round)-\#(value)"}"#
                guard let r = try? await http.call("POST", "/api/v1/strategies/orderbook_skew/config", body) else { break }
                if r.status != 200 { break }
                acknowledged.append((value, try #require(r.json[path: "data.version"]?.int64Value)))
            }
            try await killer.value
        }
        #expect(acknowledged.count > 10, "the burst wrote before each kill")

        let sidecar = try SidecarProcess(environment: env)
        defer { sidecar.terminate() }
        try await sidecar.waitUntilConfigReady()
        let config = try await sidecar.http.call("GET", "/api/v1/strategies/orderbook_skew/config")
        let last = try #require(acknowledged.last)
        let stored = try #require(config.json[path: "data.overrides.min_total_volume"]?.doubleValue)
        // The last acknowledged write, or the one after it if it became durable just before the kill.
        #expect(stored == Double(last.value) || stored == Double(last.value + 1), "stored \(stored), last ack \(last.value)")
        #expect(try #require(config.json[path: "data.stored_version"]?.int64Value) >= last.version)

        let audit = try await sidecar.http.call("GET", "/api/v1/strategies/orderbook_skew/audit?limit=1000")
        let versions = try #require(audit.json[path: "data"]?.arrayItems).compactMap { $0["version"]?.int64Value }
        #expect(Set(versions).count == versions.count, "no duplicate records")
        #expect(versions == versions.sorted(by: >), "versions are monotonic")
        for ack in acknowledged {
            #expect(versions.contains(ack.version), "acknowledged v\(ack.version) is in the audit")
        }
        // No torn document: every file parses.
        for name in try FileManager.default.contentsOfDirectory(atPath: dir + "/configs") where name.hasSuffix(".json") {
            let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/configs/" + name))
            #expect(LocalConfigStore.document(Array(data)) != nil, "\(name) parses")
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
        let write = try await a.http.call("POST", "/api/v1/strategies/orderbook_skew/config/BTCUSDT",
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
            async let ra = a.http.call("POST", "/api/v1/strategies/orderbook_skew/config/BTCUSDT",
                                       #"{"parameters":{"top_levels":\#(12 + round)},"changed_by":"a","expected_version":\#(current)}"#)
            async let rb = b.http.call("POST", "/api/v1/strategies/orderbook_skew/config/BTCUSDT",
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
        #expect(try await b.http.call("DELETE", "/api/v1/strategies/orderbook_skew/config/BTCUSDT?changed_by=ops").status == 200)
        try await waitUntil("A applies B's delete", timeout: 5) {
            try await a.http.call("GET", "/api/v1/strategies/orderbook_skew/config/BTCUSDT")
                .json[path: "data.is_override"] == .bool(false)
        }
    }
}
