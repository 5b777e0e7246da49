/// The OpenAPI 3 description of the whole HTTP API, served at `/openapi.json`. A test checks
/// that it lists exactly the registered routes and that every operation answers as described.
enum OpenAPIDocument {
    struct Operation {
        var method: String
        var path: String
        var summary: String
        var tag: String
        /// `type` is a JSON type name, or a whole schema (enums, bounds, patterns) when it starts with `{`.
        var query: [(name: String, type: String, required: Bool, description: String)] = []
        var body: JSONValue? = nil
        /// Status code → response schema.
        var responses: [(String, String, JSONValue)]
        var contentType = "application/json"
    }

    static let envelopeErrors: [(String, String, JSONValue)] = [
        ("404", "Unknown strategy, or no such stored configuration", ref("Envelope")),
        ("422", "Validation failed; every error is listed in error.details.errors", ref("Envelope")),
        ("503", "Config store unavailable (the sidecar trades on environment and defaults)", ref("Envelope")),
    ]

    static func ref(_ name: String) -> JSONValue { .object([("$ref", .string("#/components/schemas/\(name)"))]) }
    static let anyObject: JSONValue = .object([("type", .string("object"))])

    static let writeBody: JSONValue = .object([
        ("type", .string("object")),
        ("required", .array([.string("parameters"), .string("changed_by")])),
        ("properties", .object([
            ("parameters", .object([("type", .string("object")), ("description", .string("Partial update, merged over the stored override"))])),
            ("changed_by", .object([("type", .string("string")), ("minLength", .int(1))])),
            ("reason", .object([("type", .string("string"))])),
            ("expected_version", .object([("type", .string("integer")), ("minimum", .int(0)), ("maximum", .int(Int64.max)),
                                          ("description", .string("Refused with 409 unless the stored version is this (0: absent)"))])),
            ("validate_only", .object([("type", .string("boolean"))])),
        ])),
    ])

    static let rollbackBody: JSONValue = .object([
        ("type", .string("object")),
        ("required", .array([.string("changed_by")])),
        ("properties", .object([
            ("target_version", .object([("type", .string("integer")), ("minimum", .int(1)), ("maximum", .int(Int64.max))])),
            ("rollback_id", .object([("type", .string("string"))])),
            ("changed_by", .object([("type", .string("string")), ("minLength", .int(1))])),
            ("reason", .object([("type", .string("string"))])),
        ])),
    ])

    static let validateBody: JSONValue = .object([
        ("type", .string("object")),
        ("required", .array([.string("strategy_id"), .string("parameters")])),
        ("properties", .object([
            ("strategy_id", .object([("type", .string("string")), ("minLength", .int(1))])),
            ("symbol", .object([("type", .string("string"))])),
            ("parameters", .object([("type", .string("object"))])),
        ])),
    ])

    static let operations: [Operation] = {
        let ok: (String) -> [(String, String, JSONValue)] = { [("200", $0, anyObject)] }
        let depthQuery: [(String, String, Bool, String)] = [("venue", #"{"type":"string","enum":["spot","usdm"]}"#, false, "spot or usdm")]
        var ops: [Operation] = [
            Operation(method: "GET", path: "/", summary: "Service and endpoint list", tag: "service", responses: ok("Endpoints")),
            Operation(method: "GET", path: "/healthz", summary: "Liveness", tag: "health",
                      responses: ok("Alive") + [("503", "Unhealthy", anyObject)]),
            Operation(method: "GET", path: "/ready", summary: "Readiness with each check", tag: "health",
                      responses: ok("Ready") + [("503", "Not ready", anyObject)]),
            Operation(method: "GET", path: "/info", summary: "Version, effective configuration (secrets redacted), strategies",
                      tag: "service", responses: ok("Info")),
            Operation(method: "GET", path: "/openapi.json", summary: "This document", tag: "service", responses: ok("OpenAPI 3")),
            Operation(method: "GET", path: "/metrics", summary: "Prometheus metrics (text format 0.0.4)", tag: "health",
                      responses: [("200", "Metrics", .object([("type", .string("string"))]))],
                      contentType: "text/plain"),
            Operation(method: "GET", path: "/api/v1/stats", summary: "Ingest, signal, symbol, NATS and socket counters",
                      tag: "stats", responses: ok("Counters")),
            Operation(method: "GET", path: "/api/v1/metrics/depth/{symbol}", summary: "Depth metrics of one symbol",
                      tag: "metrics", query: depthQuery,
                      responses: ok("Depth metrics") + [("404", "Symbol not tracked", anyObject), ("400", "Unknown venue", anyObject)]),
            Operation(method: "GET", path: "/api/v1/metrics/pressure/{symbol}", summary: "Pressure history of one symbol",
                      tag: "metrics", query: depthQuery + [("timeframe", #"{"type":"string","enum":["1m","5m","15m"]}"#, false, "1m, 5m or 15m")],
                      responses: ok("Pressure") + [("404", "Symbol not tracked", anyObject), ("400", "Bad timeframe or venue", anyObject)]),
            Operation(method: "GET", path: "/api/v1/metrics/summary", summary: "Market-wide depth summary", tag: "metrics",
                      query: depthQuery, responses: ok("Summary") + [("400", "Unknown venue", anyObject)]),
            Operation(method: "GET", path: "/api/v1/metrics/all", summary: "Depth metrics of all tracked symbols, filtered",
                      tag: "metrics",
                      query: depthQuery + [("symbols", "string", false, "Comma-separated"),
                                           ("min_pressure", "number", false, ""), ("max_pressure", "number", false, ""),
                                           ("trend", "string", false, "bullish, bearish or neutral; like the seed, another value is accepted and matches no row"),
                                           ("limit", #"{"type":"integer","minimum":1,"maximum":200}"#, false, "1 to 200"),
                                           ("offset", #"{"type":"integer","minimum":0,"maximum":9223372036854775807}"#, false, ""),
                                           ("sort_by", "string", false, "symbol, pressure, imbalance or liquidity; like the seed, another value keeps the unsorted order"),
                                           ("sort_order", "string", false, "desc for descending; any other value sorts ascending")],
                      responses: ok("Rows") + [("422", "Bad query", anyObject), ("400", "Unknown venue", anyObject)]),
            Operation(method: "GET", path: "/api/v1/strategies", summary: "Strategies with their stored overrides",
                      tag: "config", responses: [("200", "Strategies", ref("Envelope"))]),
            Operation(method: "POST", path: "/api/v1/strategies/cache/refresh", summary: "Reload every override from the store",
                      tag: "config", responses: [("200", "Reloaded", ref("Envelope")), ("503", "Store unavailable", ref("Envelope"))]),
            Operation(method: "GET", path: "/api/v1/strategies/{strategy_id}/schema", summary: "Parameter schema", tag: "config",
                      responses: [("200", "Schema", ref("Envelope")), ("404", "Unknown strategy", ref("Envelope"))]),
            Operation(method: "GET", path: "/api/v1/strategies/{strategy_id}/defaults", summary: "Schema defaults", tag: "config",
                      responses: [("200", "Defaults", ref("Envelope")), ("404", "Unknown strategy", ref("Envelope"))]),
            Operation(method: "GET", path: "/api/v1/strategies/{strategy_id}/audit", summary: "Audit trail, newest first",
                      tag: "config",
                      query: [("symbol", #"{"type":"string","pattern":"^[A-Za-z0-9]{2,32}$"}"#, false, "Only this symbol's overrides"),
                              ("limit", #"{"type":"integer","minimum":1,"maximum":1000}"#, false, "1 to 1000, default 50"),
                              ("before_version", #"{"type":"integer","minimum":1}"#, false,
                               "Only versions below this: the previous page's metadata.next_before_version")],
                      responses: [("200", "Records", ref("Envelope")), ("400", "Bad limit", ref("Envelope"))] + envelopeErrors),
            Operation(method: "POST", path: "/api/v1/config/validate", summary: "Validate parameters without storing",
                      tag: "config", body: validateBody,
                      responses: [("200", "Validation result", ref("Envelope")), ("400", "Malformed body", ref("Envelope"))]
                        + envelopeErrors),
        ]
        for (suffix, scope) in [("", "global"), ("/{symbol}", "per-symbol")] {
            let path = "/api/v1/strategies/{strategy_id}/config\(suffix)"
            ops.append(Operation(method: "GET", path: path, summary: "Resolved \(scope) configuration with sources",
                                 tag: "config", responses: [("200", "Configuration", ref("Envelope"))] + envelopeErrors))
            ops.append(Operation(method: "POST", path: path, summary: "Merge parameters into the \(scope) override",
                                 tag: "config", body: writeBody,
                                 responses: [("200", "Stored", ref("Envelope")), ("400", "Malformed body", ref("Envelope")),
                                             ("409", "Version conflict", ref("Envelope"))] + envelopeErrors))
            ops.append(Operation(method: "DELETE", path: path, summary: "Delete the \(scope) override", tag: "config",
                                 query: [("changed_by", #"{"type":"string","minLength":1}"#, true, "Who"), ("reason", "string", false, "Why"),
                                         ("expected_version", #"{"type":"integer","minimum":-9223372036854775808,"maximum":9223372036854775807}"#, false, "Compare-and-set")],
                                 responses: [("200", "Deleted", ref("Envelope")), ("400", "Missing changed_by", ref("Envelope")),
                                             ("409", "Version conflict", ref("Envelope"))] + envelopeErrors))
        }
        for name in ["rollback", "restore"] {
            ops.append(Operation(method: "POST", path: "/api/v1/strategies/{strategy_id}/\(name)",
                                 summary: "Restore the previous state or a version (audited as ROLLBACK)", tag: "config",
                                 query: [("symbol", #"{"type":"string","pattern":"^[A-Za-z0-9]{2,32}$"}"#, false, "Roll back this symbol's override")],
                                 body: rollbackBody,
                                 responses: [("200", "Restored", ref("Envelope")), ("400", "Malformed body", ref("Envelope")),
                                             ("409", "Version conflict", ref("Envelope"))] + envelopeErrors))
        }
        return ops
    }()

    static func build() -> JSONValue {
        var paths: [(String, [(String, JSONValue)])] = []
        for op in operations {
            var parameters: [JSONValue] = []
            var rest = Substring(op.path)
            while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
                parameters.append(.object([
                    ("name", .string(String(rest[rest.index(after: open)..<close]))), ("in", .string("path")),
                    ("required", .bool(true)), ("schema", .object([("type", .string("string"))])),
                ]))
                rest = rest[rest.index(after: close)...]
            }
            for q in op.query {
                parameters.append(.object([
                    ("name", .string(q.name)), ("in", .string("query")), ("required", .bool(q.required)),
                    ("description", .string(q.description)), ("schema", querySchema(q.type)),
                ]))
            }
            var operation: [(String, JSONValue)] = [
                ("summary", .string(op.summary)), ("tags", .array([.string(op.tag)])),
                ("operationId", .string(operationId(op))), ("parameters", .array(parameters)),
            ]
            if let body = op.body {
                operation.append(("requestBody", .object([
                    ("required", .bool(true)),
                    ("content", .object([("application/json", .object([("schema", body)]))])),
                ])))
            }
            // Every POST and DELETE is a write: on the public listener it needs the bearer token.
            var responses = op.responses
            if op.method != "GET" {
                operation.append(("security", .array([.object([("bearerAuth", .array([]))])])))
                responses.append(("401", "No or wrong bearer token (writes on HTTP_PORT need SIDECAR_API_TOKEN; the admin listener needs none)",
                                  ref("Envelope")))
            }
            operation.append(("responses", .object(responses.map { code, description, schema in
                (code, .object([("description", .string(description)),
                                ("content", .object([(op.contentType, .object([("schema", schema)]))]))]))
            })))
            let entry = (op.method.lowercased(), JSONValue.object(operation))
            if let i = paths.firstIndex(where: { $0.0 == op.path }) { paths[i].1.append(entry) } else { paths.append((op.path, [entry])) }
        }
        return .object([
            ("openapi", .string("3.0.3")),
            ("info", .object([("title", .string("realtime-sidecar")), ("version", .string(SidecarRuntime.version)),
                              ("description", .string("Depth metrics, stats, health and runtime strategy configuration"))])),
            ("paths", .object(paths.map { ($0.0, .object($0.1)) })),
            ("components", .object([
                ("schemas", .object([("Envelope", envelope)])),
                ("securitySchemes", .object([("bearerAuth", .object([
                    ("type", .string("http")), ("scheme", .string("bearer")),
                    ("description", .string("SIDECAR_API_TOKEN, for writes on HTTP_PORT. The admin listener (ADMIN_HTTP_HOST:ADMIN_HTTP_PORT, loopback) serves the same API and takes writes without it.")),
                ]))])),
            ])),
        ])
    }

    static let envelope: JSONValue = .object([
        ("type", .string("object")),
        ("required", .array([.string("success"), .string("data"), .string("error"), .string("metadata")])),
        ("properties", .object([
            ("success", .object([("type", .string("boolean"))])),
            ("data", .object([("nullable", .bool(true))])),
            ("error", .object([
                ("type", .string("object")), ("nullable", .bool(true)),
                ("properties", .object([
                    ("code", .object([("type", .string("string"))])),
                    ("message", .object([("type", .string("string"))])),
                    ("details", .object([("nullable", .bool(true))])),
                ])),
            ])),
            ("metadata", .object([("nullable", .bool(true))])),
        ])),
    ])

    /// A query parameter's schema: a plain type name, or a JSON schema text.
    static func querySchema(_ type: String) -> JSONValue {
        if type.hasPrefix("{"), let schema = try? JSONValue.parse(Array(type.utf8)) { return schema }
        return .object([("type", .string(type))])
    }

    static func operationId(_ op: Operation) -> String {
        let words = op.path.split(whereSeparator: { "/{}.".contains($0) }).map(String.init)
        return op.method.lowercased() + words.map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }
}
