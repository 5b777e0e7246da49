import Foundation
import Testing
@testable import Sidecar
@testable import Strategies

/// The file and memory stores: durability, repair after a crash, exclusivity, compare-and-set.
@Suite struct ConfigStoreTests {
    func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("config-store-\(UUID().uuidString)").path
    }

    func change(_ key: ConfigKey, _ values: [String: ParameterValue]?, base: Int64, action: AuditAction = .update) -> ConfigChange {
        ConfigChange(key: key, action: action, baseVersion: base, oldParameters: nil, newParameters: values,
                     changedBy: "test", reason: "why", atMs: 1_000, createdAtMs: 1_000)
    }

    let global = ConfigKey(strategyId: "orderbook_skew", symbol: nil)
    let btc = ConfigKey(strategyId: "orderbook_skew", symbol: "BTCUSDT")

    @Test func fileStoreSurvivesReopen() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = LocalConfigStore(directory: dir)
        #expect(try store.load().isEmpty)
        let r1 = try store.commit(change(global, ["buy_threshold": .double(1.5)], base: 0, action: .create))
        let r2 = try store.commit(change(btc, ["top_levels": .int(3)], base: 0, action: .create))
        let r3 = try store.commit(change(global, ["buy_threshold": .double(1.7)], base: r1.version))
        #expect([r1.version, r2.version, r3.version] == [1, 2, 3], "one rising sequence for the store")
        store.close()

        let reopened = LocalConfigStore(directory: dir)
        let docs = try reopened.load()
        #expect(docs[global]?.parameters == ["buy_threshold": .double(1.7)])
        #expect(docs[global]?.version == 3)
        #expect(docs[btc]?.parameters == ["top_levels": .int(3)])
        let trail = try reopened.auditTrail(strategyId: "orderbook_skew", symbol: nil, limit: 10, beforeVersion: nil)
        #expect(trail.map(\.version) == [3, 2, 1], "newest first")
        let next = try reopened.commit(change(btc, nil, base: 2, action: .delete))
        #expect(next.version == 4, "versions keep rising after a restart")
    }

    @Test func fileStoreRepairsFromTheLogAfterACrash() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = LocalConfigStore(directory: dir)
        _ = try store.load()
        _ = try store.commit(change(global, ["buy_threshold": .double(1.5)], base: 0, action: .create))
        store.close()
        // A crash after the log append, before the document rename: the log has v2, the file v1.
        let record = AuditRecord(key: global, action: .update, oldParameters: ["buy_threshold": .double(1.5)],
                                 newParameters: ["buy_threshold": .double(2.5)], version: 2, changedBy: "x",
                                 changedAtMs: 2_000, reason: nil, createdAtMs: 1_000)
        let audit = URL(fileURLWithPath: dir + "/audit.jsonl")
        var bytes = try Data(contentsOf: audit)
        bytes.append(contentsOf: ConfigJSON.audit(record).bytes + [0x0A])
        // ... and a torn append after it.
        bytes.append(contentsOf: Array(#"{"strategy_id":"orderbook_skew","act"#.utf8))
        try bytes.write(to: audit)

        let reopened = LocalConfigStore(directory: dir)
        let docs = try reopened.load()
        #expect(docs[global]?.parameters == ["buy_threshold": .double(2.5)], "the document is rebuilt from the log")
        #expect(docs[global]?.version == 2)
        let text = try String(contentsOf: audit, encoding: .utf8)
        #expect(text.hasSuffix("\n"), "the torn line is cut off")
        #expect(text.split(separator: "\n").count == 2)
        let onDisk = try Data(contentsOf: URL(fileURLWithPath: dir + "/configs/orderbook_skew.global.json"))
        #expect(LocalConfigStore.document(Array(onDisk))?.version == 2)
    }

    @Test func fileStoreIsExclusive() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = LocalConfigStore(directory: dir)
        _ = try first.load()
        let second = LocalConfigStore(directory: dir)
        #expect(throws: ConfigStoreError.self) { try second.load() }
        first.close()
        #expect(try second.load().isEmpty, "free again once the first closes")
    }

    @Test func unwritableDirectoryIsUnavailable() throws {
        let file = temporaryDirectory()
        FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let store = LocalConfigStore(directory: file + "/sub")
        #expect { try store.load() } throws: { error in
            guard case .unavailable(let reason) = error as? ConfigStoreError else { return false }
            return reason.contains("mkdir")
        }
    }

    @Test func compareAndSet() throws {
        let store = LocalConfigStore(directory: nil)
        let r1 = try store.commit(change(global, ["top_levels": .int(3)], base: 0, action: .create))
        #expect(throws: ConfigStoreError.conflict(key: global, current: r1.version)) {
            try store.commit(change(global, ["top_levels": .int(4)], base: 0, action: .create))
        }
        let r2 = try store.commit(change(global, ["top_levels": .int(4)], base: r1.version))
        #expect(r2.version == r1.version + 1)
    }

    @Test func storeLocations() throws {
        #expect(try ConfigStoreLocation(parsing: "memory") == .memory)
        #expect(try ConfigStoreLocation(parsing: "file:/data/cfg") == .file("/data/cfg"))
        #expect(try ConfigStoreLocation(parsing: "nats-kv:sidecar-config") == .natsKV("sidecar-config"))
        #expect(throws: ConfigurationError.self) { try ConfigStoreLocation(parsing: "nats-kv:bad.name") }
        #expect(throws: ConfigurationError.self) { try ConfigStoreLocation(parsing: "redis://x") }
        #expect(throws: ConfigurationError.self) { try SidecarConfiguration(environment: ["CONFIG_STORE": "file:"]) }
    }

    @Test func jsonParserKeepsTypes() throws {
        let v = try JSONValue.parse(#"{"a":3,"b":3.0,"c":true,"d":"\u00e9\ud83d\ude00","e":[null,-1e2]}"#)
        #expect(v["a"] == .int(3))
        #expect(v["b"] == .double(3.0))
        #expect(v["c"] == .bool(true))
        #expect(v["d"] == .string("é😀"))
        #expect(v["e"] == .array([.null, .double(-100)]))
        for bad in ["", "{", "[1,]", "01", "{\"a\":1,\"a\":2}", "\"\u{01}\"", "1 2", "nan", "{\"a\" 1}",
                    String(repeating: "[", count: 100) + String(repeating: "]", count: 100)] {
            #expect(throws: JSONParseError.self, "\(bad)") { try JSONValue.parse(bad) }
        }
    }
}
