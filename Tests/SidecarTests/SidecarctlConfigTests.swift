import Foundation
import Testing
@testable import Sidecar

/// `sidecarctl config …` against a real sidecar's HTTP port: human and JSON output, exit codes.
@Suite(.serialized) struct SidecarctlConfigTests {
    @Test func configCommands() async throws {
        let sidecar = try await RunningSidecar.start(natsURL: "nats://127.0.0.1:1")
        defer { Task { try? await sidecar.stop() } }
        let url = "http://127.0.0.1:\(try #require(sidecar.adminPort))"
        func ctl(_ args: String...) async throws -> CtlResult {
            try await sidecarctl(["config"] + args + ["--url", url])
        }

        let list = try await ctl("list")
        #expect(list.status == 0, "\(list)")
        #expect(list.stdout.contains("orderbook_skew"))
        #expect(list.stdout.contains("onchain_metrics"))

        let schema = try await ctl("schema", "spread_liquidity")
        #expect(schema.status == 0)
        #expect(schema.stdout.contains("lookback_mode"))
        #expect(schema.stdout.contains("time|ticks"))

        let set = try await ctl("set", "orderbook_skew", "buy_threshold=2", "top_levels=10", "--reason", "calmer", "--changed-by", "ci")
        #expect(set.status == 0, "\(set)")
        #expect(set.stdout.contains("stored version 1"))
        #expect(set.stdout.contains("source global"))

        let get = try await ctl("get", "orderbook_skew", "--json")
        #expect(get.status == 0)
        let data = try JSONValue.parse(get.stdout)
        #expect(data["parameters"]?["buy_threshold"] == .double(2), "typed by the schema: 2 is sent as a number")
        #expect(data["parameters"]?["top_levels"] == .int(10))
        #expect(data["parameter_sources"]?["cooldown_seconds"] == .string("default"))

        let symbol = try await ctl("set", "orderbook_skew", "--symbol", "ethusdt", "top_levels=3")
        #expect(symbol.status == 0, "\(symbol)")
        let symbolGet = try await ctl("get", "orderbook_skew", "--symbol", "ETHUSDT")
        #expect(symbolGet.stdout.contains("(ETHUSDT): source symbol"))

        let invalid = try await ctl("set", "orderbook_skew", "top_levels=3.5", "sell_threshold=yes")
        #expect(invalid.status == 65, "\(invalid)")
        #expect(invalid.stderr.contains("top_levels"))
        #expect(invalid.stderr.contains("sell_threshold"))
        #expect(try await ctl("get", "no_such_strategy").status == 66)
        #expect(try await ctl("set", "orderbook_skew", "top_levels=4", "--expected-version", "99").status == 75)

        let audit = try await ctl("audit", "orderbook_skew")
        #expect(audit.status == 0)
        #expect(audit.stdout.contains("CREATE"))
        #expect(audit.stdout.contains("calmer"))

        let rollback = try await ctl("rollback", "orderbook_skew", "--symbol", "ETHUSDT")
        #expect(rollback.status == 0, "\(rollback)")
        #expect(try await ctl("delete", "orderbook_skew", "--symbol", "ETHUSDT").status == 66, "the rollback removed it")
        #expect(try await ctl("delete", "orderbook_skew").status == 0)
        let trail = try await ctl("audit", "orderbook_skew", "--json")
        let actions = try JSONValue.parse(trail.stdout).arrayItems?.compactMap { $0["action"]?.stringValue }
        #expect(actions == ["DELETE", "ROLLBACK", "CREATE", "CREATE"])

        let down = try await sidecarctl(["config", "list", "--url", "http://127.0.0.1:1"])
        #expect(down.status == 69)
    }
}
