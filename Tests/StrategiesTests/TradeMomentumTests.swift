import Testing
@testable import Strategies

extension TradeMomentum {
    /// Runs the strategy outside `#expect`/`#require`, which cannot take mutating calls.
    mutating func run(_ trades: [TradeEvent]) -> [Signal] {
        var out: [Signal] = []
        for t in trades { if let s = onTrade(t) { out.append(s) } }
        return out
    }

    mutating func run(_ trade: TradeEvent) -> Signal? { onTrade(trade) }
}

@Suite("trade_momentum")
struct TradeMomentumTests {
    static let btc = SymbolKey(venue: .spot, symbol: "BTCUSDT")

    static func trade(_ price: Double, _ qty: Double, sellerAggressor: Bool = false, at t: Int64,
                      key: SymbolKey = btc, aggregate: Bool = false, id: Int64 = 0) -> TradeEvent {
        TradeEvent(key: key, price: price, quantity: qty, isBuyerMaker: sellerAggressor, tradeId: id,
                   isAggregate: aggregate, eventTimeMs: t)
    }

    /// Ten trades of 1.0 at 100, one a second from `start`: fills the default window.
    static func warmUp(key: SymbolKey = btc, start: Int64 = 0, aggregate: Bool = false) -> [TradeEvent] {
        (0..<10).map { trade(100, 1, at: start + Int64($0) * 1000, key: key, aggregate: aggregate) }
    }

    /// The documented score, for expected values.
    static func momentum(price: Double, previous: Double, qty: Double, avg: Double, side: Double) -> Double {
        let bps = (price - previous) / previous * 10_000
        let priceScore = min(1, max(-1, bps / 10))
        return 0.4 * priceScore + 0.3 * min(1, qty / avg) * side + 0.3 * side
    }

    @Test("the schema covers every seed default and env key with the seed's defaults and ranges")
    func schemaCoversSeedKeys() {
        let byName = Dictionary(uniqueKeysWithValues: TradeMomentum.schema.map { ($0.name, $0) })
        let seed: [(String, ParameterValue, Double, Double)] = [
            ("price_weight", .double(0.4), 0, 1), ("quantity_weight", .double(0.3), 0, 1),
            ("maker_weight", .double(0.3), 0, 1), ("buy_threshold", .double(0.7), 0.3, 1.0),
            ("sell_threshold", .double(-0.7), -1.0, -0.3), ("min_quantity", .double(0.001), 0.0001, 1.0),
            ("base_confidence", .double(0.68), 0.5, 1.0), ("time_decay_seconds", .int(300), 60, 600),
            ("momentum_window", .int(10), 5, 50),
        ]
        for (name, value, lo, hi) in seed {
            #expect(byName[name]?.defaultValue == value, "\(name)")
            #expect(byName[name]?.minimum == lo, "\(name)")
            #expect(byName[name]?.maximum == hi, "\(name)")
        }
        for spec in TradeMomentum.schema { #expect(!spec.description.isEmpty) }
        #expect(TradeMomentum.id == "trade_momentum")
        #expect(TradeMomentum.enabledByDefault)
    }

    @Test("configured values are read and clamped to the schema range")
    func parametersAreClamped() {
        let p = TradeMomentum.Parameters(ParameterValues(["momentum_window": .int(0), "buy_threshold": .double(0.5),
                                                          "cooldown_seconds": .int(5), "time_decay_seconds": .double(120)]))
        #expect(p.momentumWindow == 5)
        #expect(p.buyThreshold == 0.5)
        #expect(p.cooldownSeconds == 5)
        #expect(p.timeDecaySeconds == 120)
        #expect(TradeMomentum.Parameters().priceScaleBps == 10)
    }

    @Test("a buyer-aggressor trade of twice the mean size lifting the price 5 bp buys")
    func buys() throws {
        var s = TradeMomentum()
        let r3 = s.run(Self.warmUp())

        #expect(r3.isEmpty)
        let r1 = s.run(Self.trade(100.05, 2, at: 10_000, id: 42))

        let signal = try #require(r1)
        let m = Self.momentum(price: 100.05, previous: 100, qty: 2, avg: 1, side: 1)
        #expect(signal.action == .buy)
        #expect(signal.strategyId == "trade_momentum")
        #expect(signal.key == Self.btc)
        #expect(signal.price == 100.05)
        #expect(signal.currentPrice == 100.05)
        #expect(signal.eventTimeMs == 10_000)
        #expect(signal.confidence == min(0.95, max(0.68, 0.65 + abs(m) * 0.2)))
        #expect(signal.indicators.first { $0.0 == "momentum" }?.1 == m)
        #expect(signal.stopLoss == 100.05 * (1 - 0.005))
        #expect(signal.takeProfit == 100.05 * (1 + 0.01))
        #expect(signal.reasoning.hasPrefix("Trade momentum 0.800: buyer aggressor"))
        #expect(signal.metadata.contains { $0.0 == "trade_id" && $0.1 == .int(42) })
        #expect(signal.metadata.contains { $0.0 == "rate_limit_key" && $0.1 == .string("trade_momentum:spot:BTCUSDT") })
    }

    @Test("a seller-aggressor trade of twice the mean size dropping the price 5 bp sells")
    func sells() throws {
        var s = TradeMomentum()
        _ = s.run(Self.warmUp())
        let r2 = s.run(Self.trade(99.95, 2, sellerAggressor: true, at: 10_000))

        let signal = try #require(r2)
        let m = Self.momentum(price: 99.95, previous: 100, qty: 2, avg: 1, side: -1)
        #expect(m < -0.7)
        #expect(signal.action == .sell)
        #expect(signal.confidence == min(0.95, max(0.68, 0.65 + abs(m) * 0.2)))
        #expect(signal.stopLoss == 99.95 * (1 + 0.005))
        #expect(signal.takeProfit == 99.95 * (1 - 0.01))
    }

    @Test("flat prices, contradicting aggressors, warm-up and dust give no signal")
    func noSignalCases() {
        var s = TradeMomentum()
        // Warm-up: the window is not full yet, even with strong trades.
        let r4 = s.run((0..<10).map { Self.trade(100 + Double($0), 5, at: Int64($0) * 1000) })

        #expect(r4.isEmpty)
        var flat = TradeMomentum()
        _ = flat.run(Self.warmUp())
        // Buyer aggressor, full size, no price move: 0.3 + 0.3 = 0.6 ≤ 0.7.
        let r5 = flat.run(Self.trade(100, 2, at: 10_000))

        #expect(r5 == nil)
        // Price up but the seller was the aggressor.
        let r6 = flat.run(Self.trade(100.05, 2, sellerAggressor: true, at: 11_000))

        #expect(r6 == nil)
        // Dust is ignored entirely: no signal and no state change.
        let before = flat.windowCount(Self.btc)
        let r7 = flat.run(Self.trade(200, 0.0005, at: 12_000))

        #expect(r7 == nil)
        #expect(flat.windowCount(Self.btc) == before)
    }

    @Test("rate limit per venue and symbol: cooldown_seconds of event time, the boundary allowed")
    func rateLimitPerSymbol() {
        var s = TradeMomentum()
        let usdm = SymbolKey(venue: .usdm, symbol: "BTCUSDT")
        _ = s.run(Self.warmUp() + Self.warmUp(key: usdm))
        let r8 = s.run(Self.trade(100.05, 2, at: 10_000))

        #expect(r8 != nil)
        // 1 ms before the cooldown ends: suppressed although it qualifies.
        let r9 = s.run(Self.trade(100.10, 2, at: 69_999))

        #expect(r9 == nil)
        // The other venue's BTCUSDT has its own key.
        let r10 = s.run(Self.trade(100.05, 2, at: 69_999, key: usdm))

        #expect(r10 != nil)
        // Exactly cooldown_seconds later: allowed.
        let r11 = s.run(Self.trade(100.15, 2, at: 70_000))

        #expect(r11?.action == .buy)
    }

    @Test("a gap of exactly time_decay_seconds keeps the state, 1 ms more resets it")
    func timeDecayEdge() {
        var kept = TradeMomentum()
        _ = kept.run(Self.warmUp())  // last trade at 9 000
        let r12 = kept.run(Self.trade(100.05, 2, at: 9_000 + 300_000))

        #expect(r12 != nil)

        var reset = TradeMomentum()
        _ = reset.run(Self.warmUp())
        let r13 = reset.run(Self.trade(100.05, 2, at: 9_000 + 300_001))

        #expect(r13 == nil)
        #expect(reset.windowCount(Self.btc) == 1)
    }

    @Test("aggTrade is handled like trade, and a symbol follows one trade stream kind")
    func aggTradeLikeTrade() {
        var s = TradeMomentum()
        _ = s.run(Self.warmUp(aggregate: true))
        let r14 = s.run(Self.trade(100.05, 2, at: 10_000, aggregate: true))

        #expect(r14?.action == .buy)

        var mixed = TradeMomentum()
        _ = mixed.run(Self.warmUp())
        let before = mixed.windowCount(Self.btc)
        let r15 = mixed.run(Self.trade(100.05, 2, at: 10_000, aggregate: true))

        #expect(r15 == nil)
        #expect(mixed.windowCount(Self.btc) == before)
        let r16 = mixed.run(Self.trade(100.05, 2, at: 10_001))

        #expect(r16 != nil)
    }

    @Test("state stays bounded under 10,000 symbols and a long stream")
    func boundedState() {
        var s = TradeMomentum()
        for i in 0..<10_000 {
            let key = SymbolKey(venue: .spot, symbol: "SYM\(i)USDT")
            _ = s.run(Self.trade(1, 1, at: Int64(i), key: key))
        }
        #expect(s.trackedSymbols <= 4096 && s.trackedSymbols > 4096 - 512)
        // The least recently traded symbols went first.
        #expect(s.windowCount(SymbolKey(venue: .spot, symbol: "SYM0USDT")) == 0)
        #expect(s.windowCount(SymbolKey(venue: .spot, symbol: "SYM9999USDT")) == 1)

        var one = TradeMomentum(parameters: ParameterValues(["max_symbols": .int(10)]))
        for i in 0..<5_000 { _ = one.run(Self.trade(100 + Double(i % 7), 1, at: Int64(i) * 10)) }
        #expect(one.windowCount(Self.btc) == 10)
        #expect(one.trackedSymbols == 1)
        one.evict(Self.btc)
        #expect(one.trackedSymbols == 0)
    }

    @Test("garbage event times such as Int64.min and Int64.max never trap")
    func extremeTimes() {
        var s = TradeMomentum(parameters: ParameterValues(["momentum_window": .int(5)]))
        let times: [Int64] = [.min, .max, 0, .min, -1, .max, .max, .min, 1, .max - 1]
        for (i, t) in (times + times + times).enumerated() {
            _ = s.run(Self.trade(100 + Double(i % 3), 1 + Double(i % 2), sellerAggressor: i % 2 == 0, at: t))
        }
        #expect(s.trackedSymbols == 1)
    }

    @Test("replaying the same trades gives the same signals")
    func deterministic() {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return seed >> 33
        }
        var trades: [TradeEvent] = []
        var price = 100.0
        for i in 0..<20_000 {
            price *= 1 + (Double(next() % 21) - 10) / 20_000
            let key = SymbolKey(venue: next() % 2 == 0 ? .spot : .usdm, symbol: "S\(next() % 10)USDT")
            trades.append(Self.trade(price, Double(next() % 400) / 100 + 0.01, sellerAggressor: next() % 2 == 0,
                                     at: Int64(i) * 250, key: key, id: Int64(i)))
        }
        var a = TradeMomentum(), b = TradeMomentum()
        let first = a.run(trades), second = b.run(trades)
        #expect(!first.isEmpty)
        #expect(first == second)
        // With eviction churn (20 keys, room for 12) too: the evicted key never depends on
        // dictionary order.
        var c = TradeMomentum(parameters: ParameterValues(["max_symbols": .int(12)]))
        var d = TradeMomentum(parameters: ParameterValues(["max_symbols": .int(12)]))
        let r17 = c.run(trades)

        let r18 = d.run(trades)
        #expect(r17 == r18)
    }
}
