import Foundation
import Testing
@testable import Sidecar
@testable import Strategies

/// The config operations over the real Unix socket, as typed messages, against the same service
/// the HTTP API uses (a change made over one is seen over the other).
@Suite(.serialized) struct SocketConfigTests {
    @Test func configOperationsOverTheSocket() async throws {
        let sidecar = try await RunningSidecar.start(natsURL: "nats://127.0.0.1:1")
        defer { Task { try? await sidecar.stop() } }
        let path = try #require(sidecar.socketPath)
        let http = HTTPJSON(port: try #require(sidecar.adminPort))

        try await offloaded {
            let client = try SocketClient(path: path)
            let list = try client.config(.init(op: .list))
            #expect(list.strategies.count == StrategySettings.catalog.count)
            #expect(list.strategies.first { $0.strategyId == "btc_dominance" }?.supportsSymbolOverrides == false)

            let schema = try client.config(.init(op: .schema, strategyId: "spread_liquidity"))
            let mode = try #require(schema.schema.first { $0.name == "lookback_mode" })
            #expect(mode.allowed == ["time", "ticks"])
            #expect(mode.defaultValue == .string("time"))
            #expect(schema.schema.first { $0.name == "lookback_ticks" }?.minimum == 5)

            var set = SocketProtocol.ConfigCall(op: .set, strategyId: "orderbook_skew", symbol: "btcusdt")
            set.parameters = [.init(name: "top_levels", value: .int(4)), .init(name: "buy_threshold", value: .double(1.8))]
            set.changedBy = "engine"
            set.reason = "socket"
            set.expectedVersion = 0
            let stored = try #require(try client.config(set).config)
            #expect(stored.symbol == "BTCUSDT")
            #expect(stored.isOverride)
            #expect(stored.source == "symbol")
            #expect(stored.storedVersion == 1)
            #expect(stored.parameters.first { $0.name == "top_levels" } == .init(name: "top_levels", value: .int(4), source: "symbol"))
            #expect(stored.parameters.first { $0.name == "sell_threshold" }?.source == "default")

            // Typed errors: validation with every field, conflict, not found.
            var bad = SocketProtocol.ConfigCall(op: .set, strategyId: "orderbook_skew")
            bad.parameters = [.init(name: "top_levels", value: .double(3)), .init(name: "nope", value: .bool(true))]
            bad.changedBy = "engine"
            #expect { try client.config(bad) } throws: { error in
                guard case .server(.invalidArgument, _, let details)? = error as? SocketClientError else { return false }
                return details["top_levels"]?.contains("INVALID_TYPE") == true && details["nope"]?.contains("UNKNOWN_PARAMETER") == true
            }
            #expect { try client.config(set) } throws: { error in
                guard case .server(.aborted, _, let details)? = error as? SocketClientError else { return false }
                return details["current_version"] == "1"
            }
            #expect { try client.config(.init(op: .get, strategyId: "nope")) } throws: { error in
                guard case .server(.notFound, _, _)? = error as? SocketClientError else { return false }
                return true
            }

            var audit = SocketProtocol.ConfigCall(op: .audit, strategyId: "orderbook_skew", symbol: "BTCUSDT")
            audit.limit = 10
            let trail = try client.config(audit).audit
            #expect(trail.count == 1)
            #expect(trail.first?.action == "CREATE")
            #expect(trail.first?.oldParameters == nil)
            #expect(trail.first?.newParameters?.count == 2)
            #expect(trail.first?.reason == "socket")
        }

        // The HTTP API sees the socket's write.
        let viaHTTP = try await http.call("GET", "/api/v1/strategies/orderbook_skew/config/BTCUSDT")
        #expect(viaHTTP.json[path: "data.parameters.top_levels"] == .int(4))

        try await offloaded {
            let client = try SocketClient(path: path)
            var rollback = SocketProtocol.ConfigCall(op: .rollback, strategyId: "orderbook_skew", symbol: "BTCUSDT")
            rollback.changedBy = "engine"
            let restored = try client.config(rollback)
            #expect(restored.config?.isOverride == false, "rolled back to no override")
            var delete = SocketProtocol.ConfigCall(op: .delete, strategyId: "orderbook_skew", symbol: "BTCUSDT")
            delete.changedBy = "engine"
            #expect { try client.config(delete) } throws: { error in
                guard case .server(.notFound, _, _)? = error as? SocketClientError else { return false }
                return true
            }
            // Other calls keep being answered on the same connection.
            #expect(try client.health().ready == false, "NATS is unreachable in this test")
        }
    }

    /// Tests run as one UID, so SIDECAR_CONFIG_UIDS names another: this client is then "someone else".
    @Test("config writes from a UID outside SIDECAR_CONFIG_UIDS get PERMISSION_DENIED, change nothing and are counted; reads stay open")
    func configWritesNeedAConfigUID() async throws {
        let other = getuid() &+ 1
        let sidecar = try await RunningSidecar.start(natsURL: "nats://127.0.0.1:1") { $0.configUIDs = [other] }
        defer { Task { try? await sidecar.stop() } }
        let path = try #require(sidecar.socketPath)
        let http = HTTPJSON(port: sidecar.httpPort)
        let me = getuid()

        try await offloaded {
            let client = try SocketClient(path: path)
            func refused(_ call: SocketProtocol.ConfigCall) {
                #expect { try client.config(call) } throws: { error in
                    guard case .server(.permissionDenied, let message, let details)? = error as? SocketClientError else { return false }
                    return message.contains("SIDECAR_CONFIG_UIDS") && message.contains("\(me)") && details["uid"] == "\(me)"
                }
            }
            var set = SocketProtocol.ConfigCall(op: .set, strategyId: "orderbook_skew", symbol: "BTCUSDT")
            set.parameters = [.init(name: "top_levels", value: .int(4))]
            set.changedBy = "engine"
            refused(set)
            var delete = SocketProtocol.ConfigCall(op: .delete, strategyId: "orderbook_skew")
            delete.changedBy = "engine"
            refused(delete)
            var rollback = SocketProtocol.ConfigCall(op: .rollback, strategyId: "orderbook_skew")
            rollback.changedBy = "engine"
            refused(rollback)

            // A validate-only set changes nothing: answered like a read.
            var check = set
            check.validateOnly = true
            #expect(try client.config(check).config?.isOverride == false)
            // Reads stay open, on the same connection.
            #expect(try client.config(.init(op: .list)).strategies.count == StrategySettings.catalog.count)
            #expect(try client.config(.init(op: .get, strategyId: "orderbook_skew", symbol: "BTCUSDT")).config?.isOverride == false)
            #expect(try client.config(.init(op: .audit, strategyId: "orderbook_skew")).audit.isEmpty)

            // Too many parameters: refused before any work, whoever asks.
            var flood = SocketProtocol.ConfigCall(op: .get, strategyId: "orderbook_skew")
            flood.parameters = (0...256).map { .init(name: "p\($0)", value: nil) }
            #expect { try client.config(flood) } throws: { error in
                guard case .server(.invalidArgument, _, let details)? = error as? SocketClientError else { return false }
                return details["field"] == "parameters" && details["count"] == "257"
            }
        }

        // Nothing changed, as the HTTP API sees it; the refusals are counted by reason.
        let view = try await http.call("GET", "/api/v1/strategies/orderbook_skew/config/BTCUSDT")
        #expect(view.json[path: "data.is_override"] == .bool(false))
        let metrics = try PrometheusText(try await sidecar.get("/metrics").text)
        let denied = metrics.samples.first { $0.name == "realtime_socket_refused_total" && $0.labels["reason"] == "config_write" }
        #expect(denied?.value == 3)
    }
}
