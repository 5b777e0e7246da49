import Foundation
import Testing
@testable import Sidecar
import Strategies

@Suite("Configuration")
struct ConfigurationTests {
    @Test("defaults match the README: seed names, no queue group, all symbols")
    func defaults() throws {
        let configuration = try SidecarConfiguration(environment: [:])
        #expect(configuration.natsURL == "nats://127.0.0.1:4222")
        #expect(configuration.consumerSubjects == [ConsumerSubject(subject: "binance.websocket.data", venue: nil)])
        #expect(configuration.consumerGroup == nil)
        #expect(configuration.publisherTopic == "signals.trading")
        #expect(configuration.engine.allowedSymbols.isEmpty)
        #expect(configuration.minSignalConfidence == 0.6)
        #expect(configuration.httpPort == 8080)
        // The seed's switches: everything on but onchain_metrics (inventory §2.0).
        #expect(configuration.engine.strategies.enabled == Set(StrategySettings.allIds).subtracting([OnchainMetrics.id]))
        #expect(configuration.engine.strategies.parameters.isEmpty)
    }

    @Test("operations variables: heartbeat on every 60 s, 10 s shutdown budget and stall limit, silence check off; parsed and bounded")
    func operationsVariables() throws {
        let defaults = try SidecarConfiguration(environment: [:])
        #expect(defaults.heartbeatEnabled && defaults.heartbeatIntervalSeconds == 60)
        #expect(defaults.shutdownTimeoutSeconds == 10 && defaults.livenessStallSeconds == 10)
        #expect(defaults.readyMaxSilenceSeconds == 0)
        let set = try SidecarConfiguration(environment: [
            "HEARTBEAT_ENABLED": "false", "HEARTBEAT_INTERVAL_SECONDS": "15", "SHUTDOWN_TIMEOUT_SECONDS": "25",
            "READY_MAX_SILENCE_SECONDS": "30", "LIVENESS_STALL_SECONDS": "5",
        ])
        #expect(!set.heartbeatEnabled && set.heartbeatIntervalSeconds == 15)
        #expect(set.shutdownTimeoutSeconds == 25 && set.readyMaxSilenceSeconds == 30 && set.livenessStallSeconds == 5)
        #expect(set.effectiveValues.contains { $0 == ("SHUTDOWN_TIMEOUT_SECONDS", "25") })
        for (name, value) in [("HEARTBEAT_INTERVAL_SECONDS", "0"), ("SHUTDOWN_TIMEOUT_SECONDS", "0"),
                              ("LIVENESS_STALL_SECONDS", "0"), ("READY_MAX_SILENCE_SECONDS", "-1")] {
            #expect(throws: ConfigurationError.self, "\(name)=\(value)") { try SidecarConfiguration(environment: [name: value]) }
        }
    }

    @Test("NATS_CONSUMER_TOPIC takes subjects tagged with their venue")
    func venueTaggedSubjects() throws {
        let configuration = try SidecarConfiguration(environment: [
            "NATS_CONSUMER_TOPIC": "binance.websocket.data=spot, binance.futures.websocket.data=usdm,raw.data",
        ])
        #expect(configuration.consumerSubjects == [
            ConsumerSubject(subject: "binance.websocket.data", venue: .spot),
            ConsumerSubject(subject: "binance.futures.websocket.data", venue: .usdm),
            ConsumerSubject(subject: "raw.data", venue: nil),
        ])
    }

    @Test("invalid values are refused with the variable, the value and the reason")
    func invalidValues() {
        let cases: [(String, String)] = [
            ("NATS_CONSUMER_TOPIC", "a=moon"), ("MAX_SYMBOLS", "0"), ("MAX_SYMBOLS", "many"),
            ("SIGNAL_MIN_CONFIDENCE", "1.5"), ("STRATEGY_ENABLED_ORDERBOOK_SKEW", "maybe"),
            ("NATS_PUBLISHER_TOPIC", "signals.*"), ("LOG_FORMAT", "xml"),
            ("ORDERBOOK_SKEW_SELL_THRESHOLD", "1.5"), ("BTC_DOMINANCE_WINDOW_HOURS", "2.5"),
            ("SPREAD_THRESHOLD_PERCENT", "abc"),
        ]
        for (name, value) in cases {
            #expect(throws: ConfigurationError.self, "\(name)=\(value)") {
                try SidecarConfiguration(environment: [name: value])
            }
            do {
                _ = try SidecarConfiguration(environment: [name: value])
            } catch {
                #expect(error.variable == name)
                #expect(!error.reason.isEmpty)
            }
        }
    }

    @Test("TRADING_SYMBOLS is upper-cased and trimmed; the seed's HEALTH_CHECK_PORT is accepted")
    func symbolsAndSeedPort() throws {
        let configuration = try SidecarConfiguration(environment: ["TRADING_SYMBOLS": " btcusdt,ETHUSDT ,", "HEALTH_CHECK_PORT": "9000"])
        #expect(configuration.engine.allowedSymbols == ["BTCUSDT", "ETHUSDT"])
        #expect(configuration.httpPort == 9000)
    }

    @Test("credentials in NATS_URL are redacted in the effective configuration")
    func redactsCredentials() throws {
        let configuration = try SidecarConfiguration(environment: ["NATS_URL": "nats://trader:s3cret@nats:4222"])
        let url = configuration.effectiveValues.first { $0.0 == "NATS_URL" }?.1
        #expect(url == "nats://trader:***@nats:4222")
    }

    @Test("every URL of a NATS_URL list is redacted, tokens and passwords with @ included")
    func redactsEveryURLOfAList() throws {
        let list = "nats://a:pw1@nats-0:4222,tls://tok3n@nats-1:4222,nats://nats-2:4222,nats://b:p@ss@nats-3:4222"
        let configuration = try SidecarConfiguration(environment: ["NATS_URL": list])
        let url = try #require(configuration.effectiveValues.first { $0.0 == "NATS_URL" }?.1)
        #expect(url == "nats://a:***@nats-0:4222,tls://***@nats-1:4222,nats://nats-2:4222,nats://b:***@nats-3:4222")
        for secret in ["pw1", "tok3n", "p@ss"] { #expect(!url.contains(secret)) }
    }

    @Test("the README documents every environment variable the sidecar reads")
    func readmeListsEveryVariable() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        for variable in SidecarConfiguration.variables {
            #expect(readme.contains("| `\(variable.name)` | "), "README is missing \(variable.name)")
        }
    }

    @Test("strategy switches and parameters are read with the seed's names and checked against the schema")
    func strategyEnvironment() throws {
        let configuration = try SidecarConfiguration(environment: [
            "STRATEGY_ENABLED_ONCHAIN_METRICS": "true", "STRATEGY_ENABLED_ICEBERG_DETECTOR": "false",
            "ORDERBOOK_SKEW_TOP_LEVELS": "10", "BTC_DOMINANCE_HIGH_THRESHOLD": "75", "SPREAD_THRESHOLD_PERCENT": "0.8",
        ])
        let strategies = configuration.engine.strategies
        #expect(strategies.isEnabled(OnchainMetrics.id))
        #expect(!strategies.isEnabled(IcebergDetector.id))
        #expect(strategies.values(for: OrderbookSkew.id).values["top_levels"] == .int(10))
        #expect(strategies.values(for: BTCDominance.id).values["high_threshold"] == .double(75))
        #expect(strategies.values(for: CrossExchangeSpread.id).values["spread_threshold_percent"] == .double(0.8))
        // Out of the schema's range: refused by name.
        #expect(throws: ConfigurationError.self) {
            try SidecarConfiguration(environment: ["ORDERBOOK_SKEW_TOP_LEVELS": "500"])
        }
    }

    @Test("every variable the configuration reads is declared in its documented list")
    func everyReadVariableIsDeclared() throws {
        // Set every declared variable to an invalid value: each must be rejected by name, proving
        // the parser reads it; numeric and boolean ones are checked this way.
        let declared = Set(SidecarConfiguration.variables.map(\.name))
        for name in ["NATS_PENDING_MSGS_LIMIT", "NATS_PENDING_BYTES_LIMIT", "NATS_RECONNECT_BUFFER_BYTES", "MAX_SYMBOLS",
                     "SYMBOL_TTL_SECONDS", "SIGNAL_MIN_CONFIDENCE", "SIGNAL_LOG_CAPACITY", "HTTP_PORT",
                     "STRATEGY_ENABLED_ORDERBOOK_SKEW", "STRATEGY_ENABLED_TRADE_MOMENTUM", "STRATEGY_ENABLED_TICKER_VELOCITY",
                     "STRATEGY_ENABLED_SPREAD_LIQUIDITY", "STRATEGY_ENABLED_ICEBERG_DETECTOR",
                     "STRATEGY_ENABLED_BTC_DOMINANCE", "STRATEGY_ENABLED_CROSS_EXCHANGE_SPREAD",
                     "STRATEGY_ENABLED_ONCHAIN_METRICS", "LOG_FORMAT", "HEARTBEAT_ENABLED", "HEARTBEAT_INTERVAL_SECONDS",
                     "SHUTDOWN_TIMEOUT_SECONDS", "READY_MAX_SILENCE_SECONDS", "LIVENESS_STALL_SECONDS"] {
            #expect(declared.contains(name))
            #expect(throws: ConfigurationError.self, "\(name) is not read") {
                try SidecarConfiguration(environment: [name: "-not-a-value-"])
            }
        }
    }
}

@Suite("Strategy documentation")
struct StrategyDocumentationTests {
    @Test("docs/STRATEGIES.md has a section per strategy and lists every parameter with its variable")
    func strategiesDocMatchesSchemas() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let doc = try String(contentsOf: root.appendingPathComponent("docs/STRATEGIES.md"), encoding: .utf8)
        for descriptor in StrategySettings.catalog {
            #expect(doc.contains("## `\(descriptor.id)`"), "no section for \(descriptor.id)")
            #expect(doc.contains("`\(StrategyEnvironment.enabledVariable(descriptor.id))`"))
            for spec in descriptor.schema {
                let variable = StrategyEnvironment.variable(strategy: descriptor.id, parameter: spec.name)
                #expect(doc.contains("| `\(spec.name)` | `\(variable)` |"), "\(descriptor.id).\(spec.name) missing")
            }
        }
    }

    @Test("every strategy's schema covers the seed's env names for it")
    func seedEnvironmentNamesMap() {
        // inventory §7.1: the seed's variables that configured these strategies.
        let seedNames = ["ORDERBOOK_SKEW_TOP_LEVELS", "ORDERBOOK_SKEW_BUY_THRESHOLD", "ORDERBOOK_SKEW_SELL_THRESHOLD",
                         "ORDERBOOK_SKEW_MIN_SPREAD_PERCENT", "TRADE_MOMENTUM_PRICE_WEIGHT", "TRADE_MOMENTUM_QUANTITY_WEIGHT",
                         "TRADE_MOMENTUM_MAKER_WEIGHT", "TRADE_MOMENTUM_BUY_THRESHOLD", "TRADE_MOMENTUM_SELL_THRESHOLD",
                         "TRADE_MOMENTUM_MIN_QUANTITY", "TICKER_VELOCITY_TIME_WINDOW", "TICKER_VELOCITY_BUY_THRESHOLD",
                         "TICKER_VELOCITY_SELL_THRESHOLD", "TICKER_VELOCITY_MIN_PRICE_CHANGE", "BTC_DOMINANCE_HIGH_THRESHOLD",
                         "BTC_DOMINANCE_LOW_THRESHOLD", "BTC_DOMINANCE_CHANGE_THRESHOLD", "BTC_DOMINANCE_WINDOW_HOURS",
                         "BTC_DOMINANCE_MIN_SIGNAL_INTERVAL", "SPREAD_THRESHOLD_PERCENT", "SPREAD_MIN_SIGNAL_INTERVAL",
                         "SPREAD_MAX_POSITION_SIZE", "SPREAD_EXCHANGES", "ONCHAIN_NETWORK_GROWTH_THRESHOLD",
                         "ONCHAIN_VOLUME_THRESHOLD", "ONCHAIN_MIN_SIGNAL_INTERVAL"]
        let ours = Set(StrategySettings.catalog.flatMap { descriptor in
            descriptor.schema.map { StrategyEnvironment.variable(strategy: descriptor.id, parameter: $0.name) }
        })
        for name in seedNames { #expect(ours.contains(name), "\(name) is not read") }
    }
}
