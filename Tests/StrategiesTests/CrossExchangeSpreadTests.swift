import Testing
@testable import Strategies

/// One input of the strategy: a Binance price or a reference price.
enum SpreadInput {
    case binance(Venue, String, Double, Int64)
    case reference(String, String, Double, Int64)
}

extension CrossExchangeSpread {
    /// Runs the strategy outside `#expect`/`#require`, which cannot take mutating calls.
    mutating func run(_ inputs: [SpreadInput]) -> [Signal] {
        var out: [Signal] = []
        for input in inputs { if let s = run(input) { out.append(s) } }
        return out
    }

    mutating func run(_ input: SpreadInput) -> Signal? {
        switch input {
        case .binance(let venue, let symbol, let price, let t):
            return onTrade(TradeEvent(key: SymbolKey(venue: venue, symbol: symbol), price: price, quantity: 1,
                                      isBuyerMaker: false, tradeId: 0, isAggregate: false, eventTimeMs: t))
        case .reference(let venue, let symbol, let price, let t):
            return onReferencePrice(ReferencePriceEvent(venue: venue, symbol: symbol, price: price, eventTimeMs: t))
        }
    }
}

@Suite("cross_exchange_spread")
struct CrossExchangeSpreadTests {
    static let t0: Int64 = 1_767_225_600_000

    static func metadata(_ s: Signal, _ key: String) -> MetadataValue? { s.metadata.first { $0.0 == key }?.1 }

    @Test("the schema covers every seed env and config key")
    func schemaCoversSeedKeys() {
        let byName = Dictionary(uniqueKeysWithValues: CrossExchangeSpread.schema.map { ($0.name, $0) })
        #expect(byName["spread_threshold_percent"]?.defaultValue == .double(0.5))
        #expect(byName["min_signal_interval"]?.defaultValue == .int(300))
        #expect(byName["max_position_size"]?.defaultValue == .int(500))
        #expect(byName["max_position_size"]?.type == .int)
        #expect(byName["exchanges"]?.type == .string)
        for key in ["persistent_spread_periods", "base_confidence", "high_spread_threshold", "high_spread_confidence"] {
            #expect(byName[key] != nil, "\(key)")
        }
        #expect(byName["base_confidence"]?.defaultValue == .double(0.75))
        #expect(byName["high_spread_threshold"]?.defaultValue == .double(1.0))
        #expect(byName["high_spread_confidence"]?.defaultValue == .double(0.85))
        #expect(CrossExchangeSpread.enabledByDefault)
    }

    @Test("golden: binance 50000 vs coinbase 50400 is a 0.8 % spread, confidence 0.4, position 200, one BUY at 50000")
    func golden() throws {
        var s = CrossExchangeSpread()
        let signals = s.run([.binance(.spot, "BTCUSDT", 50_000, Self.t0),
                             .reference("coinbase", "BTC-USD", 50_400, Self.t0 + 500)])
        #expect(signals.count == 1)
        let signal = try #require(signals.first)
        #expect(signal.action == .buy)
        #expect(signal.key == SymbolKey(venue: .spot, symbol: "BTCUSDT"))
        #expect(signal.price == 50_000.0)
        #expect(signal.currentPrice == 50_000.0)
        #expect(signal.confidence == 0.4)
        #expect(Self.metadata(signal, "spread_percent") == .double(0.8))
        #expect(Self.metadata(signal, "potential_profit") == .double(0.8))
        #expect(Self.metadata(signal, "position_size_usdt") == .double(200.0))
        #expect(Self.metadata(signal, "buy_exchange") == .string("binance"))
        #expect(Self.metadata(signal, "sell_exchange") == .string("coinbase"))
        #expect(Self.metadata(signal, "buy_price") == .double(50_000))
        #expect(Self.metadata(signal, "sell_price") == .double(50_400))
        #expect(Self.metadata(signal, "arbitrage_type") == .string("cross_exchange"))
        #expect(Self.metadata(signal, "reference_quote") == .string("USD"))
        #expect(Self.metadata(signal, "rate_limit_key") == .string("BTCUSDT_coinbase_binance"))
        // Take profit at convergence, stop loss the same distance below.
        #expect(signal.takeProfit == 50_400)
        #expect(signal.stopLoss == 49_600)
        #expect(signal.reasoning == "Arbitrage buy on binance: 0.80% spread versus coinbase")
        #expect(signal.eventTimeMs == Self.t0 + 500)
    }

    @Test("Binance above the reference sells Binance at its own price")
    func sells() throws {
        var s = CrossExchangeSpread()
        let signals = s.run([.reference("coinbase", "BTC-USD", 50_000, Self.t0),
                             .binance(.spot, "BTCUSDT", 50_500, Self.t0 + 10)])
        let signal = try #require(signals.first)
        #expect(signals.count == 1)
        #expect(signal.action == .sell)
        #expect(signal.price == 50_500)
        #expect(signal.confidence == min(0.95, (50_500.0 - 50_000.0) / 50_000.0 * 100 / 2))
        #expect(signal.takeProfit == 50_000)
        #expect(signal.stopLoss == 51_000)
    }

    @Test("a narrow spread, a single venue, stale or unlisted venues and non-Binance pairs give no signal")
    func noSignalCases() {
        var narrow = CrossExchangeSpread()
        let r1 = narrow.run([.binance(.spot, "BTCUSDT", 50_000, Self.t0), .reference("coinbase", "BTCUSD", 50_200, Self.t0)])
        #expect(r1.isEmpty)
        var single = CrossExchangeSpread()
        let r2 = single.run([.binance(.spot, "BTCUSDT", 50_000, Self.t0), .binance(.spot, "BTCUSDT", 51_000, Self.t0 + 1)])
        #expect(r2.isEmpty)
        var unlisted = CrossExchangeSpread()
        let r3 = unlisted.run([.binance(.spot, "BTCUSDT", 50_000, Self.t0), .reference("kraken", "BTC/USD", 51_000, Self.t0)])
        #expect(r3.isEmpty)
        // Two reference venues far apart, no Binance price: nothing to trade on Binance.
        var others = CrossExchangeSpread(parameters: ParameterValues(["exchanges": .string("binance,coinbase,kraken")]))
        let r4 = others.run([.reference("coinbase", "BTC-USD", 50_000, Self.t0), .reference("kraken", "BTC-USD", 51_000, Self.t0)])
        #expect(r4.isEmpty)
        // Binance prices on the reference subject are ignored.
        var binanceRef = CrossExchangeSpread()
        let r5 = binanceRef.run([.binance(.spot, "BTCUSDT", 50_000, Self.t0), .reference("binance", "BTCUSDT", 51_000, Self.t0)])
        #expect(r5.isEmpty)
    }

    @Test("a venue price exactly max_price_age_seconds old counts, 1 ms older does not")
    func ageEdge() {
        var atEdge = CrossExchangeSpread()
        let r1 = atEdge.run([.reference("coinbase", "BTC-USD", 50_400, Self.t0),
                             .binance(.spot, "BTCUSDT", 50_000, Self.t0 + 60_000)])
        #expect(r1.count == 1)
        var stale = CrossExchangeSpread()
        let r2 = stale.run([.reference("coinbase", "BTC-USD", 50_400, Self.t0),
                            .binance(.spot, "BTCUSDT", 50_000, Self.t0 + 60_001)])
        #expect(r2.isEmpty)
    }

    @Test("rate limit per symbol and venue pair for min_signal_interval, the boundary allowed")
    func rateLimitPerPair() {
        let parameters = ParameterValues(["exchanges": .string("binance,coinbase,kraken")])
        var s = CrossExchangeSpread(parameters: parameters)
        let first = s.run([.binance(.spot, "BTCUSDT", 50_000, Self.t0), .reference("coinbase", "BTC-USD", 50_400, Self.t0)])
        #expect(first.count == 1)
        // Same pair, both prices fresh, 1 ms before the interval ends: suppressed.
        let early = s.run([.binance(.spot, "BTCUSDT", 50_000, Self.t0 + 299_998),
                           .reference("coinbase", "BTC-USD", 50_400, Self.t0 + 299_999)])
        #expect(early.isEmpty)
        // Another symbol is not limited.
        let eth = s.run([.binance(.spot, "ETHUSDT", 3000, Self.t0 + 1), .reference("coinbase", "ETH-USD", 3030, Self.t0 + 1)])
        #expect(eth.count == 1)
        // Exactly min_signal_interval later: allowed (the Binance price refreshed too).
        let onTime = s.run([.binance(.spot, "BTCUSDT", 50_000, Self.t0 + 300_000),
                            .reference("coinbase", "BTC-USD", 50_400, Self.t0 + 300_000)])
        #expect(onTime.count == 1)
    }

    @Test("another pair in the same direction may signal; the opposite direction on the same market may not")
    func pairsAndDirections() {
        let parameters = ParameterValues(["exchanges": .string("binance,coinbase,kraken")])
        var s = CrossExchangeSpread(parameters: parameters)
        let r1 = s.run([.binance(.spot, "BTCUSDT", 50_000, Self.t0), .reference("coinbase", "BTC-USD", 50_300, Self.t0)])
        #expect(r1.map(\.action) == [.buy])
        // Kraken wider, same direction: a new pair, allowed.
        let r2 = s.run(.reference("kraken", "BTC/USD", 50_400, Self.t0 + 1000))
        #expect(r2?.action == .buy)
        #expect(r2.map { Self.metadata($0, "rate_limit_key") } == .string("BTCUSDT_kraken_binance"))
        // Binance jumps above both: a sell of the same market within the interval is suppressed.
        var t = CrossExchangeSpread(parameters: parameters)
        _ = t.run([.binance(.spot, "BTCUSDT", 50_000, Self.t0), .reference("coinbase", "BTC-USD", 50_300, Self.t0)])
        let r3 = t.run(.binance(.spot, "BTCUSDT", 50_700, Self.t0 + 2000))
        #expect(r3 == nil)
    }

    @Test("Binance spot and futures count as two venues: the cheaper market is bought")
    func spotVersusFutures() throws {
        var s = CrossExchangeSpread()
        let signals = s.run([.binance(.spot, "BTCUSDT", 50_000, Self.t0), .binance(.usdm, "BTCUSDT", 50_300, Self.t0 + 1)])
        let signal = try #require(signals.first)
        #expect(signals.count == 1)
        #expect(signal.action == .buy)
        #expect(signal.key == SymbolKey(venue: .spot, symbol: "BTCUSDT"))
        #expect(Self.metadata(signal, "reference_exchange") == .string("binance_futures"))
        #expect(Self.metadata(signal, "reference_quote") == .string("USDT"))
        var spotOnly = CrossExchangeSpread(parameters: ParameterValues(["exchanges": .string("binance,coinbase")]))
        let r = spotOnly.run([.binance(.spot, "BTCUSDT", 50_000, Self.t0), .binance(.usdm, "BTCUSDT", 50_300, Self.t0 + 1)])
        #expect(r.isEmpty)
    }

    @Test("USD prices are compared with USDT pairs through usdt_usd_rate")
    func usdVersusUsdt() throws {
        // At 1.006 USD per USDT, 50 400 USD is 50 099.4 USDT: 0.2 % over 50 000, no signal.
        var rated = CrossExchangeSpread(parameters: ParameterValues(["usdt_usd_rate": .double(1.006)]))
        let r1 = rated.run([.binance(.spot, "BTCUSDT", 50_000, Self.t0), .reference("coinbase", "BTC-USD", 50_400, Self.t0)])
        #expect(r1.isEmpty)
        // A USDT-quoted reference is compared as is.
        var usdt = CrossExchangeSpread(parameters: ParameterValues(["usdt_usd_rate": .double(1.006)]))
        let r2 = usdt.run([.binance(.spot, "ETHUSDT", 3000, Self.t0), .reference("coinbase", "eth/usdt", 3030, Self.t0)])
        let signal = try #require(r2.first)
        #expect(Self.metadata(signal, "reference_quote") == .string("USDT"))
        #expect(signal.key.symbol == "ETHUSDT")
    }

    @Test("persistent_spread_periods requires consecutive evaluations above the threshold")
    func persistence() {
        var s = CrossExchangeSpread(parameters: ParameterValues(["persistent_spread_periods": .int(3)]))
        let r = s.run([.binance(.spot, "BTCUSDT", 50_000, Self.t0), .reference("coinbase", "BTC-USD", 50_400, Self.t0),
                       .binance(.spot, "BTCUSDT", 50_000, Self.t0 + 1), .binance(.spot, "BTCUSDT", 50_000, Self.t0 + 2)])
        #expect(r.map(\.eventTimeMs) == [Self.t0 + 2])
        var broken = CrossExchangeSpread(parameters: ParameterValues(["persistent_spread_periods": .int(3)]))
        let r2 = broken.run([.binance(.spot, "BTCUSDT", 50_000, Self.t0), .reference("coinbase", "BTC-USD", 50_400, Self.t0),
                             .binance(.spot, "BTCUSDT", 50_300, Self.t0 + 1), .binance(.spot, "BTCUSDT", 50_000, Self.t0 + 2)])
        #expect(r2.isEmpty)
    }

    @Test("state stays bounded under 10,000 symbols, many venues and many signals")
    func boundedState() {
        var s = CrossExchangeSpread()
        for i in 0..<10_000 {
            _ = s.run(.binance(.spot, "SYM\(i)USDT", 1, Self.t0 + Int64(i)))
        }
        #expect(s.trackedSymbols <= 4096)
        #expect(s.venueCount("SYM0USDT") == 0)
        #expect(s.venueCount("SYM9999USDT") == 1)

        let venues = (0..<20).map { "venue\($0)" }
        var many = CrossExchangeSpread(parameters: ParameterValues(["exchanges": .string((["binance"] + venues).joined(separator: ","))]))
        _ = many.run(.binance(.spot, "BTCUSDT", 50_000, Self.t0))
        for (i, v) in venues.enumerated() { _ = many.run(.reference(v, "BTCUSDT", 50_000 + Double(i), Self.t0)) }
        #expect(many.venueCount("BTCUSDT") == 16)
        // Rate-limit entries older than the interval are dropped.
        for k in 0..<50 {
            let t = Self.t0 + Int64(k) * 301_000
            _ = many.run([.binance(.spot, "BTCUSDT", 50_000, t), .reference("venue0", "BTCUSDT", 50_400, t)])
        }
        #expect(many.rateLimitEntries("BTCUSDT") <= 1)
        many.evict(SymbolKey(venue: .spot, symbol: "BTCUSDT"))
        #expect(many.venueCount("BTCUSDT") == 15)
    }

    @Test("garbage event times such as Int64.min and Int64.max never trap")
    func extremeTimes() {
        var s = CrossExchangeSpread()
        let times: [Int64] = [.min, .max, 0, .min, .max, -1]
        var inputs: [SpreadInput] = []
        for (i, t) in times.enumerated() {
            inputs.append(.binance(.spot, "BTCUSDT", 50_000 + Double(i) * 300, t))
            inputs.append(.reference("coinbase", "BTC-USD", 50_000 - Double(i) * 300, t))
            inputs.append(.binance(.usdm, "BTCUSDT", 51_000, t / 2))
        }
        _ = s.run(inputs)
        #expect(s.venueCount("BTCUSDT") == 3)
    }

    @Test("replaying the same prices gives the same signals")
    func deterministic() {
        var seed: UInt64 = 99
        func next() -> UInt64 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return seed >> 33
        }
        var inputs: [SpreadInput] = []
        for i in 0..<20_000 {
            let t = Self.t0 + Int64(i) * 100
            let symbol = ["BTCUSDT", "ETHUSDT", "SOLUSDT"][Int(next() % 3)]
            let price = 100 * (1 + (Double(next() % 200) - 100) / 10_000)
            switch next() % 3 {
            case 0: inputs.append(.binance(.spot, symbol, price, t))
            case 1: inputs.append(.binance(.usdm, symbol, price, t))
            default: inputs.append(.reference("coinbase", String(symbol.dropLast()), price, t))
            }
        }
        var a = CrossExchangeSpread(), b = CrossExchangeSpread()
        let first = a.run(inputs), second = b.run(inputs)
        #expect(!first.isEmpty)
        #expect(first == second)
    }
}
