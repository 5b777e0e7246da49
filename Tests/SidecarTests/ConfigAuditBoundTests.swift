import Foundation
import Logging
import Testing
@testable import Sidecar
@testable import Strategies

/// The audit log stays within CONFIG_AUDIT_MAX_RECORDS / CONFIG_AUDIT_MAX_BYTES under a flood of
/// writes with the longest allowed free text, pages through `beforeVersion`, and survives a reopen.
@Suite struct ConfigAuditBoundTests {
    let keys = (0..<8).map { ConfigKey(strategyId: "orderbook_skew", symbol: "SYM\($0)USDT") }

    func temporaryDirectory() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("config-audit-\(UUID().uuidString)").path
    }

    /// The longest `reason` the service accepts (1,024 scalars), of characters JSON escapes to six
    /// bytes each: the largest record a client can make.
    static let worstReason = String(repeating: "\u{01}", count: StrategyConfigService.maxReasonLength)
    static let worstChangedBy = String(repeating: "\"", count: StrategyConfigService.maxChangedByLength)

    func flood(_ store: LocalConfigStore, writes: Int, check: (Int) throws -> Void = { _ in }) throws -> [AuditRecord] {
        var versions: [ConfigKey: Int64] = [:]
        var records: [AuditRecord] = []
        for i in 0..<writes {
            let key = keys[i % keys.count]
            let record = try store.commit(ConfigChange(
                key: key, action: .update, baseVersion: versions[key] ?? 0, oldParameters: nil,
                newParameters: ["min_total_volume": .double(Double(i + 1))], changedBy: Self.worstChangedBy,
                reason: Self.worstReason, atMs: 1_000 + Int64(i), createdAtMs: 1_000))
            versions[key] = record.version
            records.append(record)
            try check(i)
        }
        return records
    }

    func fileSize(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? -1
    }

    /// Every record of the strategy, page by page, newest first.
    func allPages(_ store: LocalConfigStore, pageSize: Int) throws -> [AuditRecord] {
        var all: [AuditRecord] = []
        var before: Int64?
        while true {
            let page = try store.auditTrail(strategyId: "orderbook_skew", symbol: nil, limit: pageSize, beforeVersion: before)
            all += page
            guard page.count == pageSize, let last = page.last else { return all }
            before = last.version
        }
    }

    @Test func floodOfLongestRecordsStaysWithinTheRecordBound() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = LocalConfigStore(directory: dir, maxAuditRecords: 100, maxAuditBytes: 64 << 20)
        _ = try store.load()
        let written = try flood(store, writes: 1_000) { _ in
            #expect(store.auditRecordCount <= 100)
        }
        let kept = try allPages(store, pageSize: 7)
        #expect((90...100).contains(kept.count), "between 90 % and 100 % of the bound: \(kept.count)")
        #expect(kept.map(\.version) == written.suffix(kept.count).reversed().map(\.version),
                "the newest records, newest first, each once across pages")
        #expect(kept.first?.reason == Self.worstReason && kept.first?.changedBy == Self.worstChangedBy)
        let lines = try String(contentsOfFile: dir + "/audit.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == store.auditRecordCount, "the file holds exactly the kept records")
        store.close()

        // The compacted log and the documents give back every key's latest value, and versions go on.
        let reopened = LocalConfigStore(directory: dir, maxAuditRecords: 100, maxAuditBytes: 64 << 20)
        let documents = try reopened.load()
        for key in keys {
            let latest = try #require(written.last { $0.key == key })
            #expect(documents[key]?.version == latest.version && documents[key]?.parameters == latest.newParameters)
        }
        let next = try reopened.commit(ConfigChange(
            key: keys[0], action: .update, baseVersion: documents[keys[0]]?.version ?? 0, oldParameters: nil,
            newParameters: ["min_total_volume": .double(1)], changedBy: "t", reason: nil, atMs: 9, createdAtMs: 9))
        #expect(next.version == (written.last?.version ?? 0) + 1)
    }

    @Test func floodStaysWithinTheByteBound() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let maxBytes = 256 << 10
        let store = LocalConfigStore(directory: dir, maxAuditRecords: 1_000_000, maxAuditBytes: maxBytes)
        _ = try store.load()
        var largest = 0
        _ = try flood(store, writes: 600) { _ in
            let size = try fileSize(dir + "/audit.jsonl")
            largest = max(largest, size)
            #expect(size <= maxBytes, "audit.jsonl is \(size) bytes")
        }
        let recordBytes = ConfigJSON.audit(try #require(store.auditTrail(strategyId: "orderbook_skew", symbol: nil, limit: 1,
                                                                         beforeVersion: nil).first)).bytes.count
        // 600 records of ~6.6 KB each would be ~4 MB without compaction.
        #expect(recordBytes > 6_000, "the flood used the largest records: \(recordBytes) bytes")
        #expect(largest > maxBytes / 2, "the bound was reached and compaction ran (largest \(largest))")
        #expect(!FileManager.default.fileExists(atPath: dir + "/.audit.jsonl.tmp"))
    }

    @Test func memoryStoreIsBoundedToo() throws {
        let store = LocalConfigStore(directory: nil, maxAuditRecords: 50)
        let written = try flood(store, writes: 500) { _ in #expect(store.auditRecordCount <= 50) }
        let kept = try allPages(store, pageSize: 20)
        #expect((45...50).contains(kept.count))
        #expect(kept.first?.version == written.last?.version)
    }

    @Test func pagesFilterBySymbolAndVersion() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = LocalConfigStore(directory: dir, maxAuditRecords: 1_000)
        defer { store.close() }
        _ = try store.load()
        let written = try flood(store, writes: 40)
        let sym3 = written.filter { $0.key.symbol == "SYM3USDT" }.map(\.version)
        let page = try store.auditTrail(strategyId: "orderbook_skew", symbol: "SYM3USDT", limit: 3, beforeVersion: sym3[3])
        #expect(page.map(\.version) == [sym3[2], sym3[1], sym3[0]])
        #expect(try store.auditTrail(strategyId: "trade_momentum", symbol: nil, limit: 10, beforeVersion: nil).isEmpty)
    }

    @Test func newOverridesStopAtTheBoundUpdatesAndDeletesGoOn() async throws {
        let service = StrategyConfigService(store: LocalConfigStore(directory: nil), settings: StrategySettings(),
                                            mailbox: StrategyConfigMailbox(), retrySeconds: 1, maxOverrides: 3,
                                            logger: Logger(label: "test"))
        service.start()
        await service.waitUntilLoaded()
        func set(_ symbol: String, _ value: Int) async throws(ConfigServiceError) {
            _ = try await service.set(strategyId: "orderbook_skew", symbol: symbol,
                                      ConfigWriteRequest(parameters: [("min_total_volume", .int(value))], changedBy: "t"))
        }
        for i in 0..<3 { try await set("SYM\(i)USDT", 1) }
        await #expect(throws: ConfigServiceError.validation([ValidationIssue(
            field: "symbol", code: .tooMany,
            message: "3 overrides are stored, the most CONFIG_MAX_OVERRIDES allows; delete one first")])) {
            try await set("SYM3USDT", 1)
        }
        try await set("SYM0USDT", 2)  // an existing override still changes
        try await service.delete(strategyId: "orderbook_skew", symbol: "SYM1USDT", changedBy: "t", reason: nil, expectedVersion: nil)
        try await set("SYM3USDT", 1)
        #expect(await service.strategies().first { $0.descriptor.id == "orderbook_skew" }?.symbolOverrides.count == 3)
    }
}
