import Strategies

/// The config call: the HTTP config API's operations over the socket, with the same service,
/// validation and semantics. Errors map to socket codes: NOT_FOUND, INVALID_ARGUMENT (details:
/// field → "message [CODE]"), ABORTED (version conflict), UNAVAILABLE (store down).
enum SocketConfigCalls {
    static func run(_ call: SocketProtocol.ConfigCall, _ service: StrategyConfigService) async -> SocketResponse {
        do throws(ConfigServiceError) {
            return .config(try await result(call, service))
        } catch {
            return response(for: error)
        }
    }

    static func result(_ call: SocketProtocol.ConfigCall, _ service: StrategyConfigService)
        async throws(ConfigServiceError) -> SocketProtocol.ConfigResult {
        var result = SocketProtocol.ConfigResult(op: call.op)
        let symbol = call.symbol.isEmpty ? nil : call.symbol.uppercased()
        switch call.op {
        case .list:
            result.strategies = await service.strategies().map { s in
                SocketProtocol.StrategyInfo(
                    strategyId: s.descriptor.id, enabled: s.enabled, hasGlobalConfig: s.hasGlobalConfig,
                    symbolOverrides: s.symbolOverrides, parameterCount: UInt32(s.descriptor.schema.count),
                    supportsSymbolOverrides: s.descriptor.supportsSymbolOverrides)
            }
        case .schema:
            guard let d = StrategySettings.descriptor(call.strategyId) else { throw .unknownStrategy(call.strategyId) }
            result.schema = d.schema.map { spec in
                SocketProtocol.ParameterSchema(
                    name: spec.name, type: spec.type.apiName, defaultValue: spec.defaultValue, minimum: spec.minimum,
                    maximum: spec.maximum, allowed: spec.allowed, description: spec.description,
                    environmentVariable: StrategyEnvironment.variable(strategy: d.id, parameter: spec.name))
            }
        case .get:
            result.config = resolved(try await service.view(strategyId: call.strategyId, symbol: symbol))
        case .set:
            let input: [(String, ParameterInput)] = call.parameters.map { p in (p.name, p.value.map(ParameterInput.init) ?? .null) }
            let request = ConfigWriteRequest(parameters: input, changedBy: call.changedBy, reason: call.reason.isEmpty ? nil : call.reason,
                                             expectedVersion: call.expectedVersion, validateOnly: call.validateOnly)
            try requireChangedBy(call)
            result.config = resolved(try await service.set(strategyId: call.strategyId, symbol: symbol, request))
        case .delete:
            try requireChangedBy(call)
            try await service.delete(strategyId: call.strategyId, symbol: symbol, changedBy: call.changedBy,
                                     reason: call.reason.isEmpty ? nil : call.reason, expectedVersion: call.expectedVersion)
        case .audit:
            let limit = call.limit == 0 ? 50 : Int(call.limit)
            guard (1...1000).contains(limit) else {
                throw .validation([ValidationIssue(field: "limit", code: .outOfRange, message: "limit must be in 1...1000")])
            }
            result.audit = try await service.audit(strategyId: call.strategyId, symbol: symbol, limit: limit).map { r in
                SocketProtocol.AuditEntry(
                    version: r.version, strategyId: r.key.strategyId, symbol: r.key.symbol ?? "", action: r.action.rawValue,
                    oldParameters: r.oldParameters.map(parameters), newParameters: r.newParameters.map(parameters),
                    changedBy: r.changedBy, changedAtMs: r.changedAtMs, reason: r.reason ?? "")
            }
        case .rollback:
            try requireChangedBy(call)
            result.config = resolved(try await service.rollback(
                strategyId: call.strategyId, symbol: symbol, targetVersion: call.targetVersion == 0 ? nil : call.targetVersion,
                rollbackId: nil, changedBy: call.changedBy, reason: call.reason.isEmpty ? nil : call.reason))
        case .unspecified:
            throw .validation([ValidationIssue(field: "op", code: .invalidType, message: "op is required")])
        }
        return result
    }

    static func requireChangedBy(_ call: SocketProtocol.ConfigCall) throws(ConfigServiceError) {
        if call.changedBy.isEmpty {
            throw .validation([ValidationIssue(field: "changed_by", code: .invalidType, message: "changed_by is required")])
        }
    }

    static func response(for error: ConfigServiceError) -> SocketResponse {
        switch error {
        case .unknownStrategy, .notFound:
            return .error(.notFound, error.description)
        case .validation(let issues):
            var details: [String: String] = [:]
            for issue in issues {
                let text = "\(issue.message) [\(issue.code.rawValue)]"
                details[issue.field] = details[issue.field].map { $0 + "; " + text } ?? text
            }
            return .error(.invalidArgument, error.description, details: details)
        case .conflict(_, let expected, let current):
            return .error(.aborted, error.description,
                          details: ["expected_version": "\(expected)", "current_version": "\(current)"])
        case .storeUnavailable:
            return .error(.unavailable, error.description)
        }
    }

    static func resolved(_ view: ResolvedConfigView) -> SocketProtocol.ResolvedConfig {
        var c = SocketProtocol.ResolvedConfig()
        c.strategyId = view.strategyId
        c.symbol = view.symbol ?? ""
        let r = view.resolved
        c.parameters = r.values.values.keys.sorted().map {
            .init(name: $0, value: r.values.values[$0], source: (r.sources[$0] ?? .default).rawValue)
        }
        c.overrides = view.stored.map { parameters($0.parameters) } ?? []
        c.version = r.stamp.version
        c.storedVersion = view.stored?.version ?? 0
        c.source = r.stamp.source.rawValue
        c.isOverride = r.stamp.isOverride
        c.enabled = view.enabled
        c.updatedAtMs = view.stored?.updatedAtMs ?? 0
        c.updatedBy = view.stored?.updatedBy ?? ""
        return c
    }

    static func parameters(_ values: [String: ParameterValue]) -> [SocketProtocol.ConfigParameter] {
        values.keys.sorted().map { .init(name: $0, value: values[$0]) }
    }
}
