import CSidecarProto
import Strategies

/// The runtime-configuration call (`ConfigCall` / `ConfigResult`), mirroring the HTTP config API.
extension SocketProtocol {
    public enum ConfigOp: Int32, Sendable, Equatable, CaseIterable {
        case unspecified = 0, list, schema, get, set, delete, audit, rollback
    }

    public struct ConfigParameter: Sendable, Equatable {
        public var name: String
        public var value: ParameterValue?
        /// In results: symbol, global, environment or default.
        public var source: String

        public init(name: String, value: ParameterValue?, source: String = "") {
            self.name = name; self.value = value; self.source = source
        }
    }

    public struct ConfigCall: Sendable, Equatable {
        public var op: ConfigOp
        public var strategyId = ""
        /// Empty: the global scope.
        public var symbol = ""
        public var parameters: [ConfigParameter] = []
        public var changedBy = ""
        public var reason = ""
        public var expectedVersion: Int64?
        public var validateOnly = false
        public var limit: UInt32 = 0
        public var targetVersion: Int64 = 0

        public init(op: ConfigOp, strategyId: String = "", symbol: String = "") {
            self.op = op; self.strategyId = strategyId; self.symbol = symbol
        }
    }

    public struct StrategyInfo: Sendable, Equatable {
        public var strategyId: String
        public var enabled: Bool
        public var hasGlobalConfig: Bool
        public var symbolOverrides: [String]
        public var parameterCount: UInt32
        public var supportsSymbolOverrides: Bool
    }

    public struct ParameterSchema: Sendable, Equatable {
        public var name: String
        public var type: String
        public var defaultValue: ParameterValue?
        public var minimum: Double?
        public var maximum: Double?
        public var allowed: [String]
        public var description: String
        public var environmentVariable: String
    }

    public struct ResolvedConfig: Sendable, Equatable {
        public var strategyId = ""
        public var symbol = ""
        public var parameters: [ConfigParameter] = []
        public var overrides: [ConfigParameter] = []
        public var version: Int64 = 0
        public var storedVersion: Int64 = 0
        public var source = ""
        public var isOverride = false
        public var enabled = false
        public var updatedAtMs: Int64 = 0
        public var updatedBy = ""
        public init() {}
    }

    public struct AuditEntry: Sendable, Equatable {
        public var version: Int64
        public var strategyId: String
        public var symbol: String
        public var action: String
        public var oldParameters: [ConfigParameter]?
        public var newParameters: [ConfigParameter]?
        public var changedBy: String
        public var changedAtMs: Int64
        public var reason: String
    }

    public struct ConfigResult: Sendable, Equatable {
        public var op: ConfigOp
        public var strategies: [StrategyInfo] = []
        public var schema: [ParameterSchema] = []
        public var config: ResolvedConfig?
        public var audit: [AuditEntry] = []
        public init(op: ConfigOp) { self.op = op }
    }
}

/// protobuf-c mapping of the config messages (part of `SocketCodec`, the only protobuf-c user).
extension SocketCodec {
    static func makeConfigCall(_ v: SocketProtocol.ConfigCall, _ a: ProtobufArena) -> UnsafeMutablePointer<Realtime__V1__ConfigCall> {
        a.message { (p: UnsafeMutablePointer<Realtime__V1__ConfigCall>) in
            realtime__v1__config_call__init(p)
            p.pointee.op = Realtime__V1__ConfigOp(rawValue: numericCast(v.op.rawValue))
            p.pointee.strategy_id = a.string(v.strategyId)
            p.pointee.symbol = a.string(v.symbol)
            (p.pointee.n_parameters, p.pointee.parameters) = a.messages(v.parameters) { makeParameter($0, a) }
            p.pointee.changed_by = a.string(v.changedBy)
            p.pointee.reason = a.string(v.reason)
            p.pointee.has_expected_version = (v.expectedVersion != nil).protobufC
            p.pointee.expected_version = v.expectedVersion ?? 0
            p.pointee.validate_only = v.validateOnly.protobufC
            p.pointee.limit = v.limit
            p.pointee.target_version = v.targetVersion
        }
    }

    static func readConfigCall(_ p: UnsafeMutablePointer<Realtime__V1__ConfigCall>?) -> SocketProtocol.ConfigCall {
        guard let p else { return .init(op: .unspecified) }
        var v = SocketProtocol.ConfigCall(op: SocketProtocol.ConfigOp(rawValue: numericCast(p.pointee.op.rawValue)) ?? .unspecified,
                                          strategyId: CRead.string(p.pointee.strategy_id), symbol: CRead.string(p.pointee.symbol))
        v.parameters = CRead.messages(p.pointee.n_parameters, p.pointee.parameters, readParameter)
        v.changedBy = CRead.string(p.pointee.changed_by)
        v.reason = CRead.string(p.pointee.reason)
        v.expectedVersion = CRead.bool(p.pointee.has_expected_version) ? p.pointee.expected_version : nil
        v.validateOnly = CRead.bool(p.pointee.validate_only)
        v.limit = p.pointee.limit
        v.targetVersion = p.pointee.target_version
        return v
    }

    static func makeConfigResult(_ v: SocketProtocol.ConfigResult, _ a: ProtobufArena) -> UnsafeMutablePointer<Realtime__V1__ConfigResult> {
        a.message { (p: UnsafeMutablePointer<Realtime__V1__ConfigResult>) in
            realtime__v1__config_result__init(p)
            p.pointee.op = Realtime__V1__ConfigOp(rawValue: numericCast(v.op.rawValue))
            (p.pointee.n_strategies, p.pointee.strategies) = a.messages(v.strategies) { s in
                a.message { (q: UnsafeMutablePointer<Realtime__V1__StrategyInfo>) in
                    realtime__v1__strategy_info__init(q)
                    q.pointee.strategy_id = a.string(s.strategyId)
                    q.pointee.enabled = s.enabled.protobufC
                    q.pointee.has_global_config = s.hasGlobalConfig.protobufC
                    (q.pointee.n_symbol_overrides, q.pointee.symbol_overrides) = a.strings(s.symbolOverrides)
                    q.pointee.parameter_count = s.parameterCount
                    q.pointee.supports_symbol_overrides = s.supportsSymbolOverrides.protobufC
                }
            }
            (p.pointee.n_schema, p.pointee.schema) = a.messages(v.schema) { s in
                a.message { (q: UnsafeMutablePointer<Realtime__V1__ParameterSpec>) in
                    realtime__v1__parameter_spec__init(q)
                    q.pointee.name = a.string(s.name)
                    q.pointee.type = a.string(s.type)
                    q.pointee.default_value = s.defaultValue.map { makeValue($0, a) }
                    q.pointee.has_min = (s.minimum != nil).protobufC
                    q.pointee.min = s.minimum ?? 0
                    q.pointee.has_max = (s.maximum != nil).protobufC
                    q.pointee.max = s.maximum ?? 0
                    (q.pointee.n_allowed, q.pointee.allowed) = a.strings(s.allowed)
                    q.pointee.description = a.string(s.description)
                    q.pointee.environment_variable = a.string(s.environmentVariable)
                }
            }
            p.pointee.config = v.config.map { c in
                a.message { (q: UnsafeMutablePointer<Realtime__V1__ResolvedConfig>) in
                    realtime__v1__resolved_config__init(q)
                    q.pointee.strategy_id = a.string(c.strategyId)
                    q.pointee.symbol = a.string(c.symbol)
                    (q.pointee.n_parameters, q.pointee.parameters) = a.messages(c.parameters) { makeParameter($0, a) }
                    (q.pointee.n_overrides, q.pointee.overrides) = a.messages(c.overrides) { makeParameter($0, a) }
                    q.pointee.version = c.version
                    q.pointee.stored_version = c.storedVersion
                    q.pointee.source = a.string(c.source)
                    q.pointee.is_override = c.isOverride.protobufC
                    q.pointee.enabled = c.enabled.protobufC
                    q.pointee.updated_at_ms = c.updatedAtMs
                    q.pointee.updated_by = a.string(c.updatedBy)
                }
            }
            (p.pointee.n_audit, p.pointee.audit) = a.messages(v.audit) { e in
                a.message { (q: UnsafeMutablePointer<Realtime__V1__AuditEntry>) in
                    realtime__v1__audit_entry__init(q)
                    q.pointee.version = e.version
                    q.pointee.strategy_id = a.string(e.strategyId)
                    q.pointee.symbol = a.string(e.symbol)
                    q.pointee.action = a.string(e.action)
                    (q.pointee.n_old_parameters, q.pointee.old_parameters) = a.messages(e.oldParameters ?? []) { makeParameter($0, a) }
                    (q.pointee.n_new_parameters, q.pointee.new_parameters) = a.messages(e.newParameters ?? []) { makeParameter($0, a) }
                    q.pointee.has_old = (e.oldParameters != nil).protobufC
                    q.pointee.has_new = (e.newParameters != nil).protobufC
                    q.pointee.changed_by = a.string(e.changedBy)
                    q.pointee.changed_at_ms = e.changedAtMs
                    q.pointee.reason = a.string(e.reason)
                }
            }
        }
    }

    static func readConfigResult(_ p: UnsafeMutablePointer<Realtime__V1__ConfigResult>?) -> SocketProtocol.ConfigResult {
        guard let p else { return .init(op: .unspecified) }
        var v = SocketProtocol.ConfigResult(op: SocketProtocol.ConfigOp(rawValue: numericCast(p.pointee.op.rawValue)) ?? .unspecified)
        v.strategies = CRead.messages(p.pointee.n_strategies, p.pointee.strategies) { q in
            SocketProtocol.StrategyInfo(
                strategyId: CRead.string(q.pointee.strategy_id), enabled: CRead.bool(q.pointee.enabled),
                hasGlobalConfig: CRead.bool(q.pointee.has_global_config),
                symbolOverrides: CRead.strings(q.pointee.n_symbol_overrides, q.pointee.symbol_overrides),
                parameterCount: q.pointee.parameter_count, supportsSymbolOverrides: CRead.bool(q.pointee.supports_symbol_overrides))
        }
        v.schema = CRead.messages(p.pointee.n_schema, p.pointee.schema) { q in
            SocketProtocol.ParameterSchema(
                name: CRead.string(q.pointee.name), type: CRead.string(q.pointee.type),
                defaultValue: readValue(q.pointee.default_value),
                minimum: CRead.bool(q.pointee.has_min) ? q.pointee.min : nil,
                maximum: CRead.bool(q.pointee.has_max) ? q.pointee.max : nil,
                allowed: CRead.strings(q.pointee.n_allowed, q.pointee.allowed),
                description: CRead.string(q.pointee.description),
                environmentVariable: CRead.string(q.pointee.environment_variable))
        }
        if let q = p.pointee.config {
            var c = SocketProtocol.ResolvedConfig()
            c.strategyId = CRead.string(q.pointee.strategy_id)
            c.symbol = CRead.string(q.pointee.symbol)
            c.parameters = CRead.messages(q.pointee.n_parameters, q.pointee.parameters, readParameter)
            c.overrides = CRead.messages(q.pointee.n_overrides, q.pointee.overrides, readParameter)
            c.version = q.pointee.version
            c.storedVersion = q.pointee.stored_version
            c.source = CRead.string(q.pointee.source)
            c.isOverride = CRead.bool(q.pointee.is_override)
            c.enabled = CRead.bool(q.pointee.enabled)
            c.updatedAtMs = q.pointee.updated_at_ms
            c.updatedBy = CRead.string(q.pointee.updated_by)
            v.config = c
        }
        v.audit = CRead.messages(p.pointee.n_audit, p.pointee.audit) { q in
            SocketProtocol.AuditEntry(
                version: q.pointee.version, strategyId: CRead.string(q.pointee.strategy_id), symbol: CRead.string(q.pointee.symbol),
                action: CRead.string(q.pointee.action),
                oldParameters: CRead.bool(q.pointee.has_old) ? CRead.messages(q.pointee.n_old_parameters, q.pointee.old_parameters, readParameter) : nil,
                newParameters: CRead.bool(q.pointee.has_new) ? CRead.messages(q.pointee.n_new_parameters, q.pointee.new_parameters, readParameter) : nil,
                changedBy: CRead.string(q.pointee.changed_by), changedAtMs: q.pointee.changed_at_ms, reason: CRead.string(q.pointee.reason))
        }
        return v
    }

    static func makeParameter(_ v: SocketProtocol.ConfigParameter, _ a: ProtobufArena) -> UnsafeMutablePointer<Realtime__V1__Parameter> {
        a.message { (p: UnsafeMutablePointer<Realtime__V1__Parameter>) in
            realtime__v1__parameter__init(p)
            p.pointee.name = a.string(v.name)
            p.pointee.value = v.value.map { makeValue($0, a) }
            p.pointee.source = a.string(v.source)
        }
    }

    static func readParameter(_ p: UnsafeMutablePointer<Realtime__V1__Parameter>) -> SocketProtocol.ConfigParameter {
        .init(name: CRead.string(p.pointee.name), value: readValue(p.pointee.value), source: CRead.string(p.pointee.source))
    }

    static func makeValue(_ v: ParameterValue, _ a: ProtobufArena) -> UnsafeMutablePointer<Realtime__V1__ParameterValue> {
        a.message { (p: UnsafeMutablePointer<Realtime__V1__ParameterValue>) in
            realtime__v1__parameter_value__init(p)
            switch v {
            case .double(let d):
                p.pointee.kind_case = REALTIME__V1__PARAMETER_VALUE__KIND_NUMBER
                p.pointee.number = d
            case .int(let i):
                p.pointee.kind_case = REALTIME__V1__PARAMETER_VALUE__KIND_INTEGER
                p.pointee.integer = Int64(i)
            case .bool(let b):
                p.pointee.kind_case = REALTIME__V1__PARAMETER_VALUE__KIND_BOOLEAN
                p.pointee.boolean = b.protobufC
            case .string(let s):
                p.pointee.kind_case = REALTIME__V1__PARAMETER_VALUE__KIND_TEXT
                p.pointee.text = a.string(s)
            }
        }
    }

    static func readValue(_ p: UnsafeMutablePointer<Realtime__V1__ParameterValue>?) -> ParameterValue? {
        guard let p else { return nil }
        switch p.pointee.kind_case {
        case REALTIME__V1__PARAMETER_VALUE__KIND_NUMBER: return .double(p.pointee.number)
        case REALTIME__V1__PARAMETER_VALUE__KIND_INTEGER:
            return p.pointee.integer >= Int64(Int.min) && p.pointee.integer <= Int64(Int.max) ? .int(Int(p.pointee.integer)) : nil
        case REALTIME__V1__PARAMETER_VALUE__KIND_BOOLEAN: return .bool(CRead.bool(p.pointee.boolean))
        case REALTIME__V1__PARAMETER_VALUE__KIND_TEXT: return .string(CRead.string(p.pointee.text))
        default: return nil
        }
    }
}
