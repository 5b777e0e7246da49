import NATS
import Strategies
import Synchronization

/// `nats-kv:<bucket>`: overrides in a JetStream key-value bucket shared by a fleet of sidecars.
///
/// - One key per override (`<strategy>.global`, `<strategy>.symbol.<SYMBOL>`); each value is the
///   audit record of the write that produced it, so the key's history is its audit trail (the
///   bucket keeps the last 64 revisions per key, JetStream's maximum).
/// - The version of an override is its KV revision: rising on every write of the bucket.
/// - Writes are compare-and-set (`kvStore_Create` / `kvStore_Update` on the revision read), so
///   concurrent writers with the same `expected_version` get exactly one winner.
/// - A delete is written as a record without parameters, so who and why stay in the history.
/// - A watcher applies changes made through any sidecar.
public final class NATSKeyValueConfigStore: ConfigStore, @unchecked Sendable {
    public static let history: UInt8 = 64
    public let name: String
    private let client: NATSClient
    private let bucket: String
    /// Set on the config queue; read by the watcher thread only after it exists.
    private var kv: NATSKeyValue?
    private var watcher: NATSKeyValue.Watcher?
    /// Revision of keys whose latest record is a delete (the next write must name it).
    private let tombstones = Mutex<[ConfigKey: UInt64]>([:])

    public init(client: NATSClient, bucket: String) {
        self.client = client
        self.bucket = bucket
        name = "nats-kv:\(bucket)"
    }

    deinit { close() }

    public func close() {
        watcher?.stop()
        watcher = nil
        kv = nil
    }

    private func bucketHandle() throws(ConfigStoreError) -> NATSKeyValue {
        if let kv { return kv }
        guard client.isConnected else { throw .unavailable("NATS is not connected") }
        do {
            let opened = try NATSKeyValue(client: client, bucket: bucket, history: Self.history)
            kv = opened
            return opened
        } catch {
            throw .unavailable("\(error)")
        }
    }

    public func load() throws(ConfigStoreError) -> [ConfigKey: ConfigDocument] {
        let kv = try bucketHandle()
        var documents: [ConfigKey: ConfigDocument] = [:]
        var dead: [ConfigKey: UInt64] = [:]
        do {
            for name in try kv.keys() {
                guard let key = ConfigKey(storageName: name), let entry = try kv.get(name) else { continue }
                if let doc = Self.record(entry, key)?.document { documents[key] = doc } else { dead[key] = entry.revision }
            }
        } catch {
            throw .unavailable("\(error)")
        }
        tombstones.withLock { $0 = dead }
        return documents
    }

    public func commit(_ change: ConfigChange) throws(ConfigStoreError) -> AuditRecord {
        let kv = try bucketHandle()
        var record = AuditRecord(key: change.key, action: change.action, oldParameters: change.oldParameters,
                                 newParameters: change.newParameters, version: 0, changedBy: change.changedBy,
                                 changedAtMs: change.atMs, reason: change.reason, createdAtMs: change.createdAtMs)
        let last = change.baseVersion != 0 ? UInt64(change.baseVersion) : tombstones.withLock { $0[change.key] ?? 0 }
        do {
            let revision = try kv.update(change.key.storageName, ConfigJSON.audit(record).bytes, lastRevision: last)
            record.version = Int64(revision)
        } catch {
            // Tell a lost race from an outage by reading what is there now.
            let current: NATSKeyValue.Entry?
            do { current = try kv.get(change.key.storageName) } catch { throw .unavailable("\(error)") }
            if let current, current.revision != last {
                let live = Self.record(current, change.key)?.document != nil
                throw .conflict(key: change.key, current: live ? Int64(current.revision) : 0)
            }
            throw .unavailable("\(error)")
        }
        tombstones.withLock { $0[change.key] = record.newParameters == nil ? UInt64(record.version) : nil }
        return record
    }

    public func auditTrail(strategyId: String, symbol: String?, limit: Int, beforeVersion: Int64?) throws(ConfigStoreError) -> [AuditRecord] {
        let kv = try bucketHandle()
        var records: [AuditRecord] = []
        do {
            for name in try kv.keys() {
                guard let key = ConfigKey(storageName: name), key.strategyId == strategyId,
                      symbol == nil || key.symbol == symbol else { continue }
                records += try kv.history(name).compactMap { Self.record($0, key) }
            }
        } catch {
            throw .unavailable("\(error)")
        }
        return Array(records.filter { $0.version < beforeVersion ?? .max }.sorted { $0.version > $1.version }.prefix(limit))
    }

    public func watch(_ onChange: @escaping @Sendable (ConfigKey, ConfigDocument?) -> Void) {
        guard watcher == nil, let kv else { return }
        watcher = try? kv.watchAll { [weak self] entry in
            guard let self, let key = ConfigKey(storageName: entry.key) else { return }
            let doc = Self.record(entry, key)?.document
            self.tombstones.withLock { $0[key] = doc == nil ? entry.revision : nil }
            onChange(key, doc)
        }
    }

    /// The record a KV entry holds, with its revision as version (nil for a KV-level delete).
    static func record(_ entry: NATSKeyValue.Entry, _ key: ConfigKey) -> AuditRecord? {
        guard entry.operation == .put, let json = try? JSONValue.parse(entry.value),
              var record = ConfigJSON.audit(json) else { return nil }
        record.version = Int64(entry.revision)
        record.key = key
        return record
    }
}
