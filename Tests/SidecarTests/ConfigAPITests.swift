import Foundation
@testable import NATS
import Testing
@testable import Sidecar
@testable import Strategies

/// The configuration API on a real in-process sidecar (HTTP on a real port), with honest
/// status codes and the seed's envelope; the OpenAPI document against the routes; a change
/// reaching a running replay within a second; the store down at start and recovering.
@Suite(.serialized) struct ConfigAPITests {
    static let unreachableNATS = "nats://127.0.0.1:1"

    @Test func endpointsStatusCodesAndEnvelope() async throws {
        let sidecar = try await RunningSidecar.start(natsURL: Self.unreachableNATS)
        defer { Task { try? await sidecar.stop() } }
        let http = HTTPJSON(port: try #require(sidecar.adminPort))

        let list = try await http.call("GET", "/api/v1/strategies")
        #expect(list.status == 200)
        #expect(list.json["success"] == .bool(true))
        #expect(list.json[path: "data"]?.arrayItems?.count == StrategySettings.catalog.count)
        #expect(list.json[path: "metadata.total_count"] == .int(8))

        let schema = try await http.call("GET", "/api/v1/strategies/orderbook_skew/schema")
        #expect(schema.status == 200)
        #expect(schema.json[path: "data"]?.arrayItems?.count == OrderbookSkew.schema.count)
        #expect(schema.json[path: "data.0.environment_variable"] == .string("ORDERBOOK_SKEW_TOP_LEVELS"))
        let defaults = try await http.call("GET", "/api/v1/strategies/spread_liquidity/defaults")
        #expect(defaults.json[path: "data.lookback_ticks"] == .int(20))

        // 404 for an unknown strategy on every kind of endpoint.
        for (method, path, body) in [("GET", "/api/v1/strategies/nope/schema", nil), ("GET", "/api/v1/strategies/nope/config", nil),
                                     ("POST", "/api/v1/strategies/nope/config", #"{"parameters":{"a":1},"changed_by":"t"}"#),
                                     ("GET", "/api/v1/strategies/nope/audit", nil),
                                     ("POST", "/api/v1/config/validate", #"{"strategy_id":"nope","parameters":{}}"#)] as [(String, String, String?)] {
            let r = try await http.call(method, path, body)
            #expect(r.status == 404, "\(method) \(path)")
            #expect(r.json[path: "error.code"] == .string("NOT_FOUND"))
            #expect(r.json["success"] == .bool(false))
        }

        // 422 with every error.
        let bad = try await http.call("POST", "/api/v1/strategies/orderbook_skew/config",
                                      #"{"parameters":{"top_levels":3.0,"sell_threshold":true,"x":1,"buy_threshold":99},"changed_by":"t"}"#)
        #expect(bad.status == 422)
        #expect(bad.json[path: "error.details.errors"]?.arrayItems?.count == 4)
        let conflict = try await http.call("POST", "/api/v1/strategies/orderbook_skew/config",
                                           #"{"parameters":{"sell_threshold":0.9,"buy_threshold":1.0,"imbalance_weight":0.9},"changed_by":"t"}"#)
        #expect(conflict.status == 422, "sell < buy holds, but the weights sum to 1.3")
        #expect(conflict.json[path: "error.details.errors.0.code"] == .string("CONFLICT"))
        #expect(try await http.call("POST", "/api/v1/strategies/orderbook_skew/config", #"{"parameters":{"top_levels":3}}"#).status == 422,
                "changed_by is required")
        #expect(try await http.call("POST", "/api/v1/strategies/orderbook_skew/config", "{nope").status == 400)
        #expect(try await http.call("POST", "/api/v1/strategies/btc_dominance/config/BTCUSDT",
                                    #"{"parameters":{"window_hours":24},"changed_by":"t"}"#).status == 422, "market-wide")
        // The audit record's free text is bounded: 1,024 characters of reason, 128 of changed_by.
        let longReason = String(repeating: "r", count: 1025)
        let longWho = String(repeating: "w", count: 129)
        for body in [#"{"parameters":{"top_levels":3},"changed_by":"t","reason":"\#(longReason)"}"#,
                     #"{"parameters":{"top_levels":3},"changed_by":"\#(longWho)"}"#] {
            let tooLong = try await http.call("POST", "/api/v1/strategies/orderbook_skew/config", body)
            #expect(tooLong.status == 422)
            #expect(tooLong.json[path: "error.details.errors.0.code"] == .string("TOO_LONG"))
        }
        #expect(try await http.call("DELETE", "/api/v1/strategies/orderbook_skew/config?changed_by=\(longWho)").status == 422)
        let unchanged = try await http.call("GET", "/api/v1/strategies/orderbook_skew/config")
        #expect(unchanged.json[path: "data.source"] == .string("default"), "nothing was stored by failed writes")

        // Writes merge; versions rise; sources are reported.
        let w1 = try await http.call("POST", "/api/v1/strategies/orderbook_skew/config",
                                     #"{"parameters":{"buy_threshold":1.5},"changed_by":"alice","reason":"wider"}"#)
        #expect(w1.status == 200)
        let v1 = try #require(w1.json[path: "data.version"]?.int64Value)
        let w2 = try await http.call("POST", "/api/v1/strategies/orderbook_skew/config",
                                     #"{"parameters":{"top_levels":7},"changed_by":"bob","expected_version":\#(v1)}"#)
        #expect(w2.status == 200)
        let v2 = try #require(w2.json[path: "data.version"]?.int64Value)
        #expect(v2 > v1)
        #expect(w2.json[path: "data.overrides"] == .object([("buy_threshold", .double(1.5)), ("top_levels", .int(7))]),
                "a partial update merges over the stored values")
        #expect(w2.json[path: "data.parameter_sources.buy_threshold"] == .string("global"))
        #expect(w2.json[path: "data.parameter_sources.sell_threshold"] == .string("default"))

        let stale = try await http.call("POST", "/api/v1/strategies/orderbook_skew/config",
                                        #"{"parameters":{"top_levels":8},"changed_by":"carol","expected_version":\#(v1)}"#)
        #expect(stale.status == 409)
        #expect(stale.json[path: "error.details.current_version"] == .int(v2))

        // A symbol override wins over the global one.
        let s1 = try await http.call("POST", "/api/v1/strategies/orderbook_skew/config/btcusdt",
                                     #"{"parameters":{"buy_threshold":2.0},"changed_by":"alice"}"#)
        #expect(s1.status == 200)
        #expect(s1.json[path: "data.symbol"] == .string("BTCUSDT"))
        #expect(s1.json[path: "data.is_override"] == .bool(true))
        #expect(s1.json[path: "data.parameters.buy_threshold"] == .double(2.0))
        #expect(s1.json[path: "data.parameters.top_levels"] == .int(7), "inherits the global override")
        #expect(s1.json[path: "data.parameter_sources.top_levels"] == .string("global"))
        let eth = try await http.call("GET", "/api/v1/strategies/orderbook_skew/config/ETHUSDT")
        #expect(eth.json[path: "data.is_override"] == .bool(false))
        #expect(eth.json[path: "data.parameters.buy_threshold"] == .double(1.5))

        // validate_only stores nothing.
        let dry = try await http.call("POST", "/api/v1/strategies/orderbook_skew/config",
                                      #"{"parameters":{"top_levels":9},"changed_by":"t","validate_only":true}"#)
        #expect(dry.status == 200)
        #expect(dry.json[path: "metadata.validation"] == .string("passed"))
        let validate = try await http.call("POST", "/api/v1/config/validate",
                                           #"{"strategy_id":"orderbook_skew","parameters":{"top_levels":99}}"#)
        #expect(validate.status == 200)
        #expect(validate.json[path: "data.validation_passed"] == .bool(false))
        #expect(validate.json[path: "data.errors.0.code"] == .string("OUT_OF_RANGE"))

        // Audit, rollback (recorded as ROLLBACK), delete.
        let audit = try await http.call("GET", "/api/v1/strategies/orderbook_skew/audit")
        let records = try #require(audit.json[path: "data"]?.arrayItems)
        #expect(records.count == 3)
        #expect(records.map { $0["action"]?.stringValue } == ["CREATE", "UPDATE", "CREATE"])
        #expect(records[1]["changed_by"] == .string("bob"))
        #expect(records[1]["old_parameters"] == .object([("buy_threshold", .double(1.5))]))
        #expect(records[2]["reason"] == .string("wider"))
        #expect(try await http.call("GET", "/api/v1/strategies/orderbook_skew/audit?limit=0").status == 400)

        let back = try await http.call("POST", "/api/v1/strategies/orderbook_skew/rollback",
                                       #"{"target_version":\#(v1),"changed_by":"ops","reason":"revert"}"#)
        #expect(back.status == 200)
        #expect(back.json[path: "data.overrides"] == .object([("buy_threshold", .double(1.5))]))
        let previous = try await http.call("POST", "/api/v1/strategies/orderbook_skew/restore", #"{"changed_by":"ops"}"#)
        #expect(previous.json[path: "data.overrides.top_levels"] == .int(7), "previous state = before the rollback")
        #expect(try await http.call("POST", "/api/v1/strategies/orderbook_skew/rollback",
                                    #"{"target_version":99999,"changed_by":"ops"}"#).status == 404)
        let afterRollback = try await http.call("GET", "/api/v1/strategies/orderbook_skew/audit?limit=2")
        #expect(afterRollback.json[path: "data.0.action"] == .string("ROLLBACK"))
        #expect(afterRollback.json[path: "data.1.action"] == .string("ROLLBACK"))

        #expect(try await http.call("DELETE", "/api/v1/strategies/orderbook_skew/config/BTCUSDT").status == 400,
                "changed_by is required")
        #expect(try await http.call("DELETE", "/api/v1/strategies/orderbook_skew/config/BTCUSDT?changed_by=ops").status == 200)
        #expect(try await http.call("DELETE", "/api/v1/strategies/orderbook_skew/config/BTCUSDT?changed_by=ops").status == 404)
        let symbolTrail = try await http.call("GET", "/api/v1/strategies/orderbook_skew/audit?symbol=BTCUSDT")
        #expect(symbolTrail.json[path: "data"]?.arrayItems?.map { $0["action"]?.stringValue } == ["DELETE", "CREATE"])
        #expect(try await http.call("POST", "/api/v1/strategies/cache/refresh").status == 200)
        let ready = try await http.call("GET", "/ready")
        #expect(ready.json[path: "checks.config.ok"] == .bool(true))
        #expect(ready.json[path: "checks.config.required"] == .bool(false))
    }

    @Test func openAPIDocumentMatchesTheRoutes() async throws {
        let sidecar = try await RunningSidecar.start(natsURL: Self.unreachableNATS)
        defer { Task { try? await sidecar.stop() } }
        let http = HTTPJSON(port: try #require(sidecar.adminPort))
        let doc = try await http.call("GET", "/openapi.json")
        #expect(doc.status == 200)
        #expect(doc.json["openapi"]?.stringValue?.hasPrefix("3.") == true)
        let paths = try #require(doc.json["paths"]?.objectMembers)
        var documented: Set<String> = []
        var responses: [String: Set<String>] = [:]
        for (path, operations) in paths {
            for (method, operation) in operations.objectMembers ?? [] {
                documented.insert("\(method.uppercased()) \(path)")
                responses["\(method.uppercased()) \(path)"] = Set((operation["responses"]?.objectMembers ?? []).map(\.0))
            }
        }
        let served = Set(HTTPAPI.routes(sidecar.runtime.httpContext()).routes.map { "\($0.method) \($0.path)" })
        #expect(documented == served, "undocumented: \(served.subtracting(documented)); not served: \(documented.subtracting(served))")

        // Every operation answers with a status its document lists.
        for entry in documented.sorted() {
            let parts = entry.split(separator: " ", maxSplits: 1).map(String.init)
            let path = parts[1].replacingOccurrences(of: "{strategy_id}", with: "orderbook_skew")
                .replacingOccurrences(of: "{symbol}", with: "BTCUSDT")
            var body: String? = nil
            if parts[0] == "POST" {
                body = path.hasSuffix("/validate") ? #"{"strategy_id":"orderbook_skew","parameters":{"top_levels":3}}"#
                    : path.contains("/config") ? #"{"parameters":{"top_levels":3},"changed_by":"openapi"}"#
                    : #"{"changed_by":"openapi"}"#
            }
            let query = parts[0] == "DELETE" ? "?changed_by=openapi" : ""
            let r = try await http.call(parts[0], path + query, body)
            #expect(responses[entry]?.contains(String(r.status)) == true, "\(entry) answered \(r.status), documented \(responses[entry] ?? [])")
        }
    }

    @Test func aChangeReachesTheReplayWithinOneSecond() async throws {
        guard let replay = SharedReplay.file("spot_10symbols_20210405.nats.jsonl.gz") else { return }
        let server = try NATSServerProcess()
        let sidecar = try await RunningSidecar.start(natsURL: server.url) {
            $0.engine.strategies.enabled = [OrderbookSkew.id]
            $0.minSignalConfidence = 0
        }
        defer { Task { try? await sidecar.stop() } }
        let http = HTTPJSON(port: try #require(sidecar.adminPort))
        // Effectively off: thresholds no real book reaches, one signal a day per symbol at most.
        let quiet = try await http.call("POST", "/api/v1/strategies/orderbook_skew/config",
            #"{"parameters":{"buy_threshold":10,"sell_threshold":0.1,"cooldown_seconds":86400},"changed_by":"test"}"#)
        #expect(quiet.status == 200)
        try await waitUntil("NATS subscribed", timeout: 15) { sidecar.runtime.ingest.isReady }

        let stop = Flag()
        let publisher = try NATSClient(options: NATSClientOptions(url: server.url, name: "test-replay-loop"))
        let feed = Task.detached {
            while !stop.isSet {
                _ = try LineReader(path: replay.path).forEachLine { line in
                    if stop.isSet { return }
                    try publisher.publish(subject: "binance.websocket.data", payload: line)
                    usleep(100)
                }
            }
        }
        defer { stop.set(); publisher.close(drainTimeoutMs: 1000) }
        try await Task.sleep(for: .seconds(1.5))
        let log = sidecar.runtime.signalLog
        let quietCount = log.read(after: 0, limit: 10_000).signals.count
        #expect(sidecar.runtime.stats.processed.value > 1000, "the replay is flowing")

        // Any imbalance now signals, with no cooldown.
        let before = log.lastSequence
        let change = try await http.call("POST", "/api/v1/strategies/orderbook_skew/config",
            #"{"parameters":{"buy_threshold":1.0,"sell_threshold":0.999,"cooldown_seconds":0,"min_spread_percent":5,"min_total_volume":0},"changed_by":"test","reason":"go"}"#)
        let acknowledged = Date()
        #expect(change.status == 200)
        let version = try #require(change.json[path: "data.version"]?.int64Value)
        let first = try await waitFor("a signal produced by the new configuration", timeout: 5) {
            log.read(after: before, limit: 10_000).signals.first { $0.config.version == version }
        }
        let elapsed = Date().timeIntervalSince(acknowledged)
        #expect(elapsed < 1.0, "applied \(elapsed) s after the write was acknowledged")
        #expect(first.config == StrategyConfigStamp(version: version, source: .global, isOverride: false))
        #expect(quietCount <= 10, "before the change at most one signal per symbol: \(quietCount)")
        stop.set()
        _ = try? await feed.value
    }

    @Test func storeDownAtStartThenRecovering() async throws {
        let server = try NATSServerProcess(start: false)
        let sidecar = try await RunningSidecar.start(natsURL: server.url) {
            $0.configStore = .natsKV("recovering")
            $0.configRetrySeconds = 0.3
        }
        defer { Task { try? await sidecar.stop() } }
        let http = HTTPJSON(port: try #require(sidecar.adminPort))
        try await waitUntil("config degraded", timeout: 10) {
            try await http.call("GET", "/ready").json[path: "checks.config.detail"]?.stringValue?.hasPrefix("degraded") == true
        }
        let down = try await http.call("POST", "/api/v1/strategies/orderbook_skew/config",
                                       #"{"parameters":{"top_levels":3},"changed_by":"t"}"#)
        #expect(down.status == 503)
        #expect(down.json[path: "error.code"] == .string("STORE_UNAVAILABLE"))
        let read = try await http.call("GET", "/api/v1/strategies/orderbook_skew/config")
        #expect(read.status == 200, "reads still answer from environment and defaults")
        #expect(read.json[path: "data.source"] == .string("default"))

        try server.start()
        try await waitUntil("config store recovered", timeout: 20) {
            try await http.call("GET", "/ready").json[path: "checks.config.ok"] == .bool(true)
        }
        let up = try await http.call("POST", "/api/v1/strategies/orderbook_skew/config",
                                     #"{"parameters":{"top_levels":3},"changed_by":"t"}"#)
        #expect(up.status == 200)
    }
}

/// A flag shared with a detached task.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
