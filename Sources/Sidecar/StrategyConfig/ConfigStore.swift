import Strategies

/// Why a store operation failed.
public enum ConfigStoreError: Error, Equatable, CustomStringConvertible {
    /// The store cannot be reached or written (I/O error, NATS down, no JetStream).
    case unavailable(String)
    /// Compare-and-set failed: the key is at `current` (0: absent), not at the expected version.
    case conflict(key: ConfigKey, current: Int64)

    public var description: String {
        switch self {
        case .unavailable(let reason): "config store unavailable: \(reason)"
        case .conflict(let key, let current): "\(key) changed concurrently (now at version \(current))"
        }
    }
}

/// One change to commit: the new override values of a key (nil deletes it), based on the
/// version the caller read (0: the key was absent). The store refuses it if the key moved.
public struct ConfigChange: Sendable {
    public var key: ConfigKey
    public var action: AuditAction
    public var baseVersion: Int64
    public var oldParameters: [String: ParameterValue]?
    public var newParameters: [String: ParameterValue]?
    public var changedBy: String
    public var reason: String?
    public var atMs: Int64
    public var createdAtMs: Int64
}

/// Persistence of overrides and their audit trail. Calls are blocking and made from the config
/// service's own thread, never from the ingest thread or the async pool.
public protocol ConfigStore: AnyObject {
    /// `CONFIG_STORE` form, e.g. `file:/var/lib/realtime-sidecar/config`.
    var name: String { get }
    /// Connects or opens, and returns every stored override.
    func load() throws(ConfigStoreError) -> [ConfigKey: ConfigDocument]
    /// Commits atomically with compare-and-set; the returned record carries the new version.
    /// Once it returns, the change is durable.
    func commit(_ change: ConfigChange) throws(ConfigStoreError) -> AuditRecord
    /// Newest first, at most `limit`, only versions below `beforeVersion` when given (the next page).
    func auditTrail(strategyId: String, symbol: String?, limit: Int, beforeVersion: Int64?) throws(ConfigStoreError) -> [AuditRecord]
    /// Changes made elsewhere (other sidecars); `nil` document: deleted. Local stores never call it.
    func watch(_ onChange: @escaping @Sendable (ConfigKey, ConfigDocument?) -> Void)
    func close()
}

/// `CONFIG_STORE`: `file:<dir>`, `nats-kv:<bucket>` or `memory`.
public enum ConfigStoreLocation: Sendable, Equatable, CustomStringConvertible {
    case file(String)
    case natsKV(String)
    case memory

    public init(parsing text: String) throws(ConfigurationError) {
        if text == "memory" {
            self = .memory
        } else if text.hasPrefix("file:"), text.count > 5 {
            self = .file(String(text.dropFirst(5)))
        } else if text.hasPrefix("nats-kv:") {
            let bucket = String(text.dropFirst(8))
            let valid = !bucket.isEmpty && bucket.utf8.allSatisfy {
                (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) || $0 == 0x2D || $0 == 0x5F
            }
            guard valid else {
                throw ConfigurationError(variable: "CONFIG_STORE", value: text,
                                         reason: "a bucket name is letters, digits, '-' and '_'")
            }
            self = .natsKV(bucket)
        } else {
            throw ConfigurationError(variable: "CONFIG_STORE", value: text,
                                     reason: "expected file:<dir>, nats-kv:<bucket> or memory")
        }
    }

    public var description: String {
        switch self {
        case .file(let dir): "file:\(dir)"
        case .natsKV(let bucket): "nats-kv:\(bucket)"
        case .memory: "memory"
        }
    }
}
