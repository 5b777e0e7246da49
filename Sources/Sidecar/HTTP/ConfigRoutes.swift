import Hummingbird
import Strategies

/// The strategy configuration API (the seed's 14 endpoints, inventory §4.7), with the seed's
/// paths and `{success, data, error, metadata}` envelope but honest status codes:
/// 404 unknown strategy or missing target, 422 validation (every error listed), 409 version
/// conflict, 503 store unavailable, 400 malformed body.
enum ConfigRoutes {
    static let maxBodyBytes = 1 << 20

    static func register(on router: RouteTable, _ config: StrategyConfigService) {
        router.get("/api/v1/strategies") { _, _ in
            let items: [JSONValue] = await config.strategies().map { s in
                .object([
                    ("strategy_id", .string(s.descriptor.id)),
                    ("name", .string(displayName(s.descriptor.id))),
                    ("enabled", .bool(s.enabled)),
                    ("has_global_config", .bool(s.hasGlobalConfig)),
                    ("symbol_overrides", .array(s.symbolOverrides.map { .string($0) })),
                    ("parameter_count", .int(s.descriptor.schema.count)),
                    ("supports_symbol_overrides", .bool(s.descriptor.supportsSymbolOverrides)),
                ])
            }
            return envelope(.array(items), metadata: .object([("total_count", .int(items.count))]))
        }
        router.post("/api/v1/strategies/cache/refresh") { _, _ in
            try await respond {
                try await config.refresh()
                return envelope(.object([("message", .string("cache refreshed successfully"))]),
                                metadata: .object([("action", .string("cache_refresh"))]))
            }
        }
        router.get("/api/v1/strategies/{strategy_id}/schema") { _, context in
            try await respond {
                let d = try descriptor(context)
                return envelope(.array(d.schema.map { schemaJSON($0, strategyId: d.id) }),
                                metadata: .object([("strategy_id", .string(d.id))]))
            }
        }
        router.get("/api/v1/strategies/{strategy_id}/defaults") { _, context in
            try await respond {
                let d = try descriptor(context)
                return envelope(.object(d.schema.map { ($0.name, $0.defaultValue.json) }),
                                metadata: .object([("strategy_name", .string(displayName(d.id)))]))
            }
        }
        for scoped in [false, true] {
            let path = scoped ? "/api/v1/strategies/{strategy_id}/config/{symbol}" : "/api/v1/strategies/{strategy_id}/config"
            router.get(path) { _, context in
                try await respond {
                    let view = try await config.view(strategyId: try strategyId(context), symbol: try symbol(context, scoped))
                    return envelope(viewJSON(view))
                }
            }
            router.post(path) { request, context in
                try await respond {
                    let body = try await jsonBody(request, context)
                    let write = try writeRequest(body)
                    let view = try await config.set(strategyId: try strategyId(context), symbol: try symbol(context, scoped), write)
                    if write.validateOnly {
                        return envelope(.null, metadata: .object([("validation", .string("passed"))]))
                    }
                    return envelope(viewJSON(view), metadata: .object([("action", .string("updated"))]))
                }
            }
            router.delete(path) { request, context in
                try await respond {
                    let q = request.uri.queryParameters
                    guard let changedBy = q.get("changed_by"), !changedBy.isEmpty else {
                        throw RequestError("query parameter changed_by is required")
                    }
                    let expected = try q.get("expected_version").map { text throws(RequestError) -> Int64 in
                        guard let v = Int64(text) else { throw RequestError("expected_version must be an integer") }
                        return v
                    }
                    let sym = try symbol(context, scoped)
                    try await config.delete(strategyId: try strategyId(context), symbol: sym, changedBy: changedBy,
                                            reason: q.get("reason"), expectedVersion: expected)
                    return envelope(.object([("message", .string("deleted successfully"))]),
                                    metadata: sym.map { .object([("symbol", .string($0))]) } ?? .null)
                }
            }
        }
        router.get("/api/v1/strategies/{strategy_id}/audit") { request, context in
            try await respond {
                let q = request.uri.queryParameters
                var limit = 50
                if let text = q.get("limit") {
                    guard let v = Int(text), (1...1000).contains(v) else { throw RequestError("limit must be an integer in 1...1000") }
                    limit = v
                }
                var before: Int64?
                if let text = q.get("before_version") {
                    guard let v = Int64(text), v >= 1 else { throw RequestError("before_version must be an integer >= 1") }
                    before = v
                }
                let sym = try q.get("symbol").map { s throws(ConfigServiceError) -> String in
                    let upper = s.uppercased()
                    if let issue = ParameterValidation.checkSymbol(upper) { throw .validation([issue]) }
                    return upper
                }
                let records = try await config.audit(strategyId: try strategyId(context), symbol: sym, limit: limit,
                                                     beforeVersion: before)
                // A full page may have more behind it: the next page asks for versions below its last.
                let next: JSONValue = records.count == limit ? records.last.map { .int($0.version) } ?? .null : .null
                return envelope(.array(records.map(auditJSON)),
                                metadata: .object([("count", .int(records.count)), ("next_before_version", next)]))
            }
        }
        for name in ["rollback", "restore"] {
            router.post("/api/v1/strategies/{strategy_id}/\(name)") { request, context in
                try await respond {
                    let body = try await jsonBody(request, context)
                    let changedBy = try requiredString(body, "changed_by")
                    var target: Int64?
                    if let v = body["target_version"], v != .null {
                        guard let i = v.int64Value else { throw RequestError("target_version must be an integer") }
                        target = i
                    }
                    let rollbackId = body["rollback_id"]?.stringValue
                    let sym = request.uri.queryParameters.get("symbol")?.uppercased()
                    let view = try await config.rollback(strategyId: try strategyId(context), symbol: sym, targetVersion: target,
                                                         rollbackId: rollbackId, changedBy: changedBy,
                                                         reason: body["reason"]?.stringValue)
                    return envelope(viewJSON(view), metadata: .object([("action", .string("rollback"))]))
                }
            }
        }
        router.post("/api/v1/config/validate") { request, context in
            try await respond {
                let body = try await jsonBody(request, context)
                let id = try requiredString(body, "strategy_id")
                let parameters = try parameterInput(body)
                let sym = body["symbol"]?.stringValue?.uppercased()
                let issues = try await config.validate(strategyId: id, symbol: sym, parameters: parameters)
                return envelope(.object([
                    ("validation_passed", .bool(issues.isEmpty)),
                    ("errors", .array(issues.map(issueJSON))),
                    ("warnings", .array([])),
                    ("estimated_impact", .object([("parameter_count", .int(parameters.count))])),
                ]))
            }
        }
    }

    // MARK: - Request reading

    struct RequestError: Error { var message: String; init(_ m: String) { message = m } }

    static func strategyId(_ context: BasicRequestContext) throws -> String {
        try context.parameters.require("strategy_id")
    }

    static func descriptor(_ context: BasicRequestContext) throws -> any StrategyDescriptor.Type {
        let id = try strategyId(context)
        guard let d = StrategySettings.descriptor(id) else { throw ConfigServiceError.unknownStrategy(id) }
        return d
    }

    static func symbol(_ context: BasicRequestContext, _ scoped: Bool) throws -> String? {
        scoped ? try context.parameters.require("symbol").uppercased() : nil
    }

    static func jsonBody(_ request: Request, _ context: BasicRequestContext) async throws -> JSONValue {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maxBodyBytes)
        } catch {
            throw RequestError("request body larger than \(maxBodyBytes) bytes")
        }
        let value: JSONValue
        do {
            value = try JSONValue.parse(Array(buffer.readableBytesView))
        } catch {
            throw RequestError("\(error)")
        }
        guard value.objectMembers != nil else { throw RequestError("the body must be a JSON object") }
        return value
    }

    static func requiredString(_ body: JSONValue, _ name: String) throws -> String {
        guard let s = body[name]?.stringValue, !s.isEmpty else {
            throw ConfigServiceError.validation([ValidationIssue(field: name, code: .invalidType,
                                                                 message: "\(name) is required (a non-empty string)")])
        }
        return s
    }

    static func parameterInput(_ body: JSONValue) throws -> [(String, ParameterInput)] {
        guard let members = body["parameters"]?.objectMembers else {
            throw ConfigServiceError.validation([ValidationIssue(field: "parameters", code: .invalidType,
                                                                 message: "parameters is required (a JSON object)")])
        }
        return members.map { ($0.0, ParameterInput(json: $0.1)) }
    }

    static func writeRequest(_ body: JSONValue) throws -> ConfigWriteRequest {
        var issues: [ValidationIssue] = []
        func collect<T>(_ body: () throws -> T) -> T? {
            do { return try body() } catch ConfigServiceError.validation(let found) { issues += found; return nil } catch { return nil }
        }
        let parameters = collect { try parameterInput(body) }
        let changedBy = collect { try requiredString(body, "changed_by") }
        var expected: Int64?
        if let v = body["expected_version"], v != .null {
            if let i = v.int64Value, i >= 0 { expected = i } else {
                issues.append(ValidationIssue(field: "expected_version", code: .invalidType,
                                              message: "expected_version must be a non-negative integer"))
            }
        }
        var validateOnly = false
        if let v = body["validate_only"], v != .null {
            if let b = v.boolValue { validateOnly = b } else {
                issues.append(ValidationIssue(field: "validate_only", code: .invalidType, message: "validate_only must be a boolean"))
            }
        }
        guard issues.isEmpty, let parameters, let changedBy else { throw ConfigServiceError.validation(issues) }
        return ConfigWriteRequest(parameters: parameters, changedBy: changedBy, reason: body["reason"]?.stringValue,
                                  expectedVersion: expected, validateOnly: validateOnly)
    }

    // MARK: - Responses

    /// Maps typed errors to the envelope and an honest status.
    static func respond(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as ConfigServiceError {
            var details: JSONValue = .null
            switch error {
            case .validation(let issues): details = .object([("errors", .array(issues.map(issueJSON)))])
            case .conflict(_, let expected, let current):
                details = .object([("expected_version", .int(expected)), ("current_version", .int(current))])
            default: break
            }
            return failure(code: error.code, message: error.description, details: details,
                           status: HTTPResponse.Status(code: error.httpStatus))
        } catch let error as RequestError {
            return failure(code: "BAD_REQUEST", message: error.message, details: .null, status: .badRequest)
        }
    }

    static func envelope(_ data: JSONValue, metadata: JSONValue = .null) -> Response {
        HTTPAPI.json(.object([("success", .bool(true)), ("data", data), ("error", .null), ("metadata", metadata)]))
    }

    static func failure(code: String, message: String, details: JSONValue, status: HTTPResponse.Status) -> Response {
        HTTPAPI.json(.object([
            ("success", .bool(false)), ("data", .null),
            ("error", .object([("code", .string(code)), ("message", .string(message)), ("details", details)])),
            ("metadata", .null),
        ]), status: status)
    }

    static func displayName(_ id: String) -> String {
        id.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: " ")
    }

    static func schemaJSON(_ spec: ParameterSpec, strategyId: String) -> JSONValue {
        .object([
            ("name", .string(spec.name)),
            ("type", .string(spec.type.apiName)),
            ("description", .string(spec.description)),
            ("default", spec.defaultValue.json),
            ("min", .number(spec.minimum)),
            ("max", .number(spec.maximum)),
            ("allowed_values", spec.allowed.isEmpty ? .null : .array(spec.allowed.map { .string($0) })),
            ("environment_variable", .string(StrategyEnvironment.variable(strategy: strategyId, parameter: spec.name))),
        ])
    }

    static func timestamp(_ ms: Int64?) -> JSONValue {
        guard let ms, ms > 0 else { return .null }
        return .string(formatISO8601Millis(ms))
    }

    static func viewJSON(_ view: ResolvedConfigView) -> JSONValue {
        let r = view.resolved
        let names = r.values.values.keys.sorted()
        return .object([
            ("strategy_id", .string(view.strategyId)),
            ("symbol", view.symbol.map { .string($0) } ?? .null),
            ("parameters", .object(names.compactMap { n in r.values.values[n].map { (n, $0.json) } })),
            ("parameter_sources", .object(names.map { ($0, .string((r.sources[$0] ?? .default).rawValue)) })),
            ("overrides", view.stored.map { ConfigJSON.parameters($0.parameters) } ?? .null),
            ("version", .int(r.stamp.version)),
            ("stored_version", .int(view.stored?.version ?? 0)),
            ("source", .string(r.stamp.source.rawValue)),
            ("is_override", .bool(r.stamp.isOverride)),
            ("enabled", .bool(view.enabled)),
            ("created_at", timestamp(view.stored?.createdAtMs)),
            ("updated_at", timestamp(view.stored?.updatedAtMs)),
            ("updated_by", view.stored.map { .string($0.updatedBy) } ?? .null),
            ("reason", view.stored?.reason.map { .string($0) } ?? .null),
        ])
    }

    static func auditJSON(_ r: AuditRecord) -> JSONValue {
        .object([
            ("id", .string(r.id)),
            ("strategy_id", .string(r.key.strategyId)),
            ("symbol", r.key.symbol.map { .string($0) } ?? .null),
            ("action", .string(r.action.rawValue)),
            ("old_parameters", r.oldParameters.map(ConfigJSON.parameters) ?? .null),
            ("new_parameters", r.newParameters.map(ConfigJSON.parameters) ?? .null),
            ("version", .int(r.version)),
            ("changed_by", .string(r.changedBy)),
            ("changed_at", timestamp(r.changedAtMs)),
            ("reason", r.reason.map { .string($0) } ?? .null),
        ])
    }

    static func issueJSON(_ issue: ValidationIssue) -> JSONValue {
        .object([("field", .string(issue.field)), ("message", .string(issue.message)), ("code", .string(issue.code.rawValue))])
    }
}
