import Testing
@testable import Strategies

/// Runtime configuration reaching the engine: global and per-symbol overrides change the
/// signals of the next message, and signals carry the configuration that produced them.
@Suite struct EngineConfigTests {
    func makeEngine() -> (Engine, CollectingSink) {
        var configuration = EngineConfiguration()
        configuration.strategies.enabled = [OrderbookSkew.id]
        configuration.book.attribution = .label  // partial books of two symbols with true labels
        let sink = CollectingSink()
        let engine = Engine(configuration: configuration, board: DepthBoard(historySeconds: 900, ttlSeconds: 300),
                            stats: IngestStats(strategyIds: [OrderbookSkew.id]), sink: sink)
        return (engine, sink)
    }

    /// Bid volume 3× the ask volume: ratio 3, past the default buy threshold 1.2.
    func skewedBook(_ symbol: String, _ t: Int64) -> String { Frames.balancedBook(symbol, timeMs: t, bidQty: 3, askQty: 1) }

    func update(_ global: [String: ParameterValue], globalVersion: Int64,
                symbols: [String: ([String: ParameterValue], Int64)] = [:]) -> StrategyConfigUpdate {
        let g = ResolvedParameters.resolve(strategyId: OrderbookSkew.id, environment: ParameterValues(),
                                           global: (global, globalVersion), symbol: nil)
        var s: [String: ResolvedParameters] = [:]
        for (symbol, (values, version)) in symbols {
            s[symbol] = ResolvedParameters.resolve(strategyId: OrderbookSkew.id, environment: ParameterValues(),
                                                   global: (global, globalVersion), symbol: (values, version))
        }
        return StrategyConfigUpdate(strategyId: OrderbookSkew.id, global: g, symbols: s)
    }

    @Test func defaultsThenGlobalThenSymbolOverride() {
        let (engine, sink) = makeEngine()
        let base: Int64 = 1_763_000_000_000
        engine.ingest(skewedBook("BTCUSDT", base))
        #expect(sink.signals.count == 1)
        #expect(sink.signals.last?.config == .defaults, "no stored override yet")

        // Global: threshold 5 and no cooldown: ratio 3 no longer signals, for any symbol.
        engine.configMailbox.post([update(["buy_threshold": .double(5), "cooldown_seconds": .double(0)], globalVersion: 7)])
        engine.ingest(skewedBook("BTCUSDT", base + 1000))
        engine.ingest(skewedBook("ETHUSDT", base + 1000))
        #expect(sink.signals.count == 1, "applied before the next message")

        // BTCUSDT alone goes back to 1.5.
        engine.configMailbox.post([update(["buy_threshold": .double(5), "cooldown_seconds": .double(0)], globalVersion: 7,
                                          symbols: ["BTCUSDT": (["buy_threshold": .double(1.5)], 9)])])
        engine.ingest(skewedBook("BTCUSDT", base + 2000))
        engine.ingest(skewedBook("ETHUSDT", base + 2000))
        #expect(sink.signals.count == 2)
        let signal = sink.signals.last
        #expect(signal?.key.symbol == "BTCUSDT")
        #expect(signal?.config == StrategyConfigStamp(version: 9, source: .symbol, isOverride: true))

        // The global scope's signals carry the global version.
        engine.configMailbox.post([update(["buy_threshold": .double(2), "cooldown_seconds": .double(0)], globalVersion: 11,
                                          symbols: ["BTCUSDT": (["buy_threshold": .double(1.5)], 9)])])
        engine.ingest(skewedBook("ETHUSDT", base + 3000))
        #expect(sink.signals.last?.key.symbol == "ETHUSDT")
        #expect(sink.signals.last?.config == StrategyConfigStamp(version: 11, source: .global, isOverride: false))

        // Removing the override returns BTCUSDT to the global values.
        engine.configMailbox.post([update(["buy_threshold": .double(5), "cooldown_seconds": .double(0)], globalVersion: 12)])
        let before = sink.signals.count
        engine.ingest(skewedBook("BTCUSDT", base + 4000))
        #expect(sink.signals.count == before)
    }

    @Test func signalJSONCarriesStrategyConfig() {
        var signal = Signal(strategyId: OrderbookSkew.id, key: SymbolKey(venue: .spot, symbol: "BTCUSDT"), action: .buy,
                            confidence: 0.8, price: 100, currentPrice: 100, eventTimeMs: 1_763_000_000_000, reasoning: "r")
        signal.config = StrategyConfigStamp(version: 42, source: .symbol, isOverride: true)
        var bytes: [UInt8] = []
        TradeEngineSignalEncoder(source: "realtime_strategies").encode(signal, into: &bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains(#""strategy_config":{"version":42,"source":"symbol","is_override":true}"#), "\(text)")
    }
}
