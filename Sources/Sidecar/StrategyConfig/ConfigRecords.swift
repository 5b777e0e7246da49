import Strategies

/// One stored configuration: a strategy's global override or one symbol's override.
public struct ConfigKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var strategyId: String
    /// Upper case; nil for the global override.
    public var symbol: String?

    public init(strategyId: String, symbol: String?) {
        self.strategyId = strategyId; self.symbol = symbol
    }

    public var scope: String { symbol == nil ? "global" : "symbol" }
    public var description: String { "\(strategyId)/\(symbol ?? "global")" }

    public static func < (a: ConfigKey, b: ConfigKey) -> Bool {
        (a.strategyId, a.symbol ?? "") < (b.strategyId, b.symbol ?? "")
    }

    /// Store key: `<strategy>.global` or `<strategy>.symbol.<SYMBOL>` (valid NATS KV key and file name).
    public var storageName: String {
        symbol.map { "\(strategyId).symbol.\($0)" } ?? "\(strategyId).global"
    }

    public init?(storageName: String) {
        let parts = storageName.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 2, parts[1] == "global", StrategySettings.descriptor(parts[0]) != nil {
            self.init(strategyId: parts[0], symbol: nil)
        } else if parts.count == 3, parts[1] == "symbol", StrategySettings.descriptor(parts[0]) != nil,
                  ParameterValidation.checkSymbol(parts[2]) == nil {
            self.init(strategyId: parts[0], symbol: parts[2])
        } else {
            return nil
        }
    }
}

/// The stored override values of one key (a partial parameter set) and its version.
public struct ConfigDocument: Sendable, Equatable {
    public var parameters: [String: ParameterValue]
    /// Rises on every write of any key of the store (monotonic, not consecutive per key).
    public var version: Int64
    public var createdAtMs: Int64
    public var updatedAtMs: Int64
    public var updatedBy: String
    public var reason: String?
}

public enum AuditAction: String, Sendable, CaseIterable {
    case create = "CREATE", update = "UPDATE", delete = "DELETE", rollback = "ROLLBACK"
}

/// One change, as the audit trail records it: who, when, why, old and new values, version.
public struct AuditRecord: Sendable, Equatable {
    public var key: ConfigKey
    public var action: AuditAction
    public var oldParameters: [String: ParameterValue]?
    /// nil after a delete (or a rollback to "no override").
    public var newParameters: [String: ParameterValue]?
    public var version: Int64
    public var changedBy: String
    public var changedAtMs: Int64
    public var reason: String?
    /// When the key was first created (carried so a store can rebuild its document from the log).
    public var createdAtMs: Int64

    /// Versions are unique within a store, so they identify records.
    public var id: String { String(version) }

    public var document: ConfigDocument? {
        newParameters.map {
            ConfigDocument(parameters: $0, version: version, createdAtMs: createdAtMs, updatedAtMs: changedAtMs,
                           updatedBy: changedBy, reason: reason)
        }
    }
}

// MARK: - JSON forms (store files, KV values, API)

extension ParameterValue {
    var json: JSONValue {
        switch self {
        case .double(let d): .double(d)
        case .int(let i): .int(Int64(i))
        case .bool(let b): .bool(b)
        case .string(let s): .string(s)
        }
    }

    /// Reads a stored value, typed by the schema when the parameter is known.
    init?(json: JSONValue) {
        switch json {
        case .double(let d): self = .double(d)
        case .int(let i): self = .int(Int(i))
        case .bool(let b): self = .bool(b)
        case .string(let s): self = .string(s)
        default: return nil
        }
    }
}

extension ParameterInput {
    init(json: JSONValue) {
        switch json {
        case .null: self = .null
        case .bool(let b): self = .bool(b)
        case .int(let i): self = i >= Int64(Int.min) && i <= Int64(Int.max) ? .int(Int(i)) : .double(Double(i))
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array: self = .composite("array")
        case .object: self = .composite("object")
        }
    }
}

enum ConfigJSON {
    static func parameters(_ values: [String: ParameterValue]) -> JSONValue {
        .object(values.sorted { $0.key < $1.key }.map { ($0.key, $0.value.json) })
    }

    static func parameters(_ json: JSONValue?) -> [String: ParameterValue]? {
        guard let members = json?.objectMembers else { return nil }
        var out: [String: ParameterValue] = [:]
        for (name, value) in members {
            if let v = ParameterValue(json: value) { out[name] = v }
        }
        return out
    }

    static func audit(_ r: AuditRecord) -> JSONValue {
        .object([
            ("strategy_id", .string(r.key.strategyId)),
            ("symbol", r.key.symbol.map { .string($0) } ?? .null),
            ("action", .string(r.action.rawValue)),
            ("old_parameters", r.oldParameters.map(parameters) ?? .null),
            ("new_parameters", r.newParameters.map(parameters) ?? .null),
            ("version", .int(r.version)),
            ("changed_by", .string(r.changedBy)),
            ("changed_at_ms", .int(r.changedAtMs)),
            ("reason", r.reason.map { .string($0) } ?? .null),
            ("created_at_ms", .int(r.createdAtMs)),
        ])
    }

    static func audit(_ json: JSONValue) -> AuditRecord? {
        guard let strategy = json["strategy_id"]?.stringValue,
              let actionText = json["action"]?.stringValue, let action = AuditAction(rawValue: actionText),
              let version = json["version"]?.int64Value, let changedAt = json["changed_at_ms"]?.int64Value
        else { return nil }
        return AuditRecord(key: ConfigKey(strategyId: strategy, symbol: json["symbol"]?.stringValue),
                           action: action, oldParameters: parameters(json["old_parameters"]),
                           newParameters: parameters(json["new_parameters"]), version: version,
                           changedBy: json["changed_by"]?.stringValue ?? "", changedAtMs: changedAt,
                           reason: json["reason"]?.stringValue,
                           createdAtMs: json["created_at_ms"]?.int64Value ?? changedAt)
    }
}
