import Testing
@testable import Strategies

extension OnchainMetrics {
    /// Runs the strategy outside `#expect`/`#require`, which cannot take mutating calls.
    mutating func run(_ metrics: [OnchainMetricsEvent]) -> [Signal] {
        var out: [Signal] = []
        for m in metrics { if let s = onMetrics(m) { out.append(s) } }
        return out
    }

    mutating func price(_ symbol: String, _ price: Double, at t: Int64, venue: Venue = .spot) -> Signal? {
        onTrade(TradeEvent(key: SymbolKey(venue: venue, symbol: symbol), price: price, quantity: 1,
                           isBuyerMaker: false, tradeId: 0, isAggregate: false, eventTimeMs: t))
    }
}

@Suite("onchain_metrics")
struct OnchainMetricsTests {
    static let hour: Int64 = 3_600_000
    /// A whole hour, so entry i sits at the start of bucket i.
    static let t0: Int64 = 1_767_225_600_000

    /// The seed's BTC fixture (`test_onchain_btc_bullish_signal_generation`): 25 hourly entries.
    static func btcFixture(start: Int64 = t0, count: Int = 25) -> [OnchainMetricsEvent] {
        (0..<count).map { i in
            OnchainMetricsEvent(asset: "BTC", eventTimeMs: start + Int64(i) * hour,
                                activeAddresses: 1_000_000 + Double(i) * 10_000,
                                transactionVolume: 500_000 + Double(i) * 20_000, hashRate: 200 + Double(i),
                                exchangeInflow: 1_500, exchangeOutflow: 2_500)
        }
    }

    /// The seed's ETH ecosystem fixture.
    static func ethGrowthFixture() -> [OnchainMetricsEvent] {
        (0..<25).map { i in
            OnchainMetricsEvent(asset: "ETH", eventTimeMs: t0 + Int64(i) * hour,
                                activeAddresses: 800_000 + Double(i) * 15_000,
                                transactionVolume: 300_000 + Double(i) * 50_000,
                                defiTVL: 50_000_000_000 + Double(i) * 1_000_000_000,
                                exchangeInflow: 50_000, exchangeOutflow: 60_000)
        }
    }

    /// The seed's ETH inflow fixture: small growth, large net inflow.
    static func ethInflowFixture() -> [OnchainMetricsEvent] {
        (0..<25).map { i in
            OnchainMetricsEvent(asset: "ETH", eventTimeMs: t0 + Int64(i) * hour,
                                activeAddresses: 800_000 + Double(i) * 100,
                                transactionVolume: 300_000 + Double(i) * 100,
                                defiTVL: 50_000_000_000 + Double(i) * 10_000,
                                exchangeInflow: 200_000, exchangeOutflow: 10_000)
        }
    }

    static func metadata(_ s: Signal, _ key: String) -> MetadataValue? { s.metadata.first { $0.0 == key }?.1 }

    @Test("the schema covers the env keys, the config keys and fetch_interval; disabled by default")
    func schemaCoversSeedKeys() {
        let byName = Dictionary(uniqueKeysWithValues: OnchainMetrics.schema.map { ($0.name, $0) })
        #expect(byName["network_growth_threshold"]?.defaultValue == .double(10))
        #expect(byName["volume_threshold"]?.defaultValue == .double(15))
        #expect(byName["min_signal_interval"]?.defaultValue == .int(86_400))
        #expect(byName["fetch_interval"]?.defaultValue == .int(3600))
        let config: [(String, ParameterValue)] = [
            ("whale_threshold_btc", .double(100)), ("whale_threshold_eth", .double(1000)),
            ("exchange_flow_threshold_percent", .double(10)), ("accumulation_periods", .int(24)),
            ("distribution_periods", .int(12)), ("base_confidence", .double(0.77)),
            ("strong_signal_confidence", .double(0.85)),
        ]
        for (name, value) in config { #expect(byName[name]?.defaultValue == value, "\(name)") }
        #expect(!OnchainMetrics.enabledByDefault)
    }

    @Test("golden: the seed's BTC fixture gives the seed's growth values")
    func goldenGrowth() throws {
        var s = OnchainMetrics()
        _ = s.run(Self.btcFixture())
        let g = try #require(s.growth("BTC"))
        #expect(g.activeAddresses24h == 22.772277227722775)
        #expect(g.transactionVolume24h == 88.46153846153845)
        #expect(g.hashRate24h == 11.442786069651742)
        #expect(g.netExchangeFlow == -1000)
        #expect(g.defiTVL24h == nil)
    }

    @Test("BTC network growth with a rising hash rate buys BTCUSDT at the latest price")
    func btcBuys() throws {
        var s = OnchainMetrics()
        let last = Self.t0 + 24 * Self.hour
        _ = s.price("BTCUSDT", 50_000, at: last - 1000)
        let signals = s.run(Self.btcFixture())
        #expect(signals.count == 1)
        let signal = try #require(signals.first)
        #expect(signal.action == .buy)
        #expect(signal.strategyId == "onchain_metrics")
        #expect(signal.key == SymbolKey(venue: .spot, symbol: "BTCUSDT"))
        #expect(signal.confidence == min(0.8, (22.772277227722775 + 88.46153846153845) / 30))
        #expect(signal.price == 50_000)
        #expect(signal.eventTimeMs == last)
        #expect(signal.stopLoss == 50_000 * (1 - 0.02))
        #expect(signal.takeProfit == 50_000 * (1 + 0.04))
        #expect(signal.reasoning == "Strong BTC network fundamentals: 22.8% address growth")
        #expect(Self.metadata(signal, "signal_type") == .string("network_growth"))
        #expect(Self.metadata(signal, "hash_rate_growth_24h") == .double(11.442786069651742))
        #expect(Self.metadata(signal, "rate_limit_key") == .string("BTC_onchain"))
    }

    @Test("ETH ecosystem growth buys; a large ETH net inflow sells")
    func ethBuysAndSells() throws {
        let last = Self.t0 + 24 * Self.hour
        var growth = OnchainMetrics()
        _ = growth.price("ETHUSDT", 3000, at: last)
        let buy = try #require(growth.run(Self.ethGrowthFixture()).first)
        #expect(buy.action == .buy)
        #expect(buy.confidence == 0.75)
        #expect(Self.metadata(buy, "signal_type") == .string("ecosystem_growth"))
        #expect(buy.reasoning == "Strong ETH ecosystem growth: 45.1% DeFi TVL growth")

        var inflow = OnchainMetrics()
        _ = inflow.price("ETHUSDT", 3000, at: last)
        let sell = try #require(inflow.run(Self.ethInflowFixture()).first)
        #expect(sell.action == .sell)
        #expect(sell.confidence == 0.7)
        #expect(sell.stopLoss == 3000 * (1 + 0.02))
        #expect(Self.metadata(sell, "net_exchange_flow") == .double(190_000))
        #expect(sell.reasoning == "Large ETH exchange inflows indicate selling pressure")
    }

    @Test("idle without metrics; no signal with short history, a flat hash rate or other assets")
    func noSignalCases() {
        var s = OnchainMetrics()
        for i in 0..<100 {
            let r = s.price("BTCUSDT", 50_000 + Double(i), at: Self.t0 + Int64(i) * 1000)
            #expect(r == nil)
        }
        // 23 entries: one short of accumulation_periods.
        let short = s.run(Self.btcFixture(count: 23))
        #expect(short.isEmpty)
        // Strong growth but a flat hash rate: no BUY, and no fall-through to the inflow rule.
        var flat = OnchainMetrics()
        _ = flat.price("BTCUSDT", 50_000, at: Self.t0 + 24 * Self.hour)
        let flatHash = Self.btcFixture().map { e -> OnchainMetricsEvent in
            var e = e; e.hashRate = 200; e.exchangeInflow = 100_000; e.exchangeOutflow = 0; return e
        }
        let r2 = flat.run(flatHash)
        #expect(r2.isEmpty)
        var other = OnchainMetrics()
        let r3 = other.run(Self.btcFixture().map { var e = $0; e.asset = "SOL"; return e })
        #expect(r3.isEmpty)
        #expect(other.historyCount("SOL") == 0)
    }

    @Test("metrics before any price wait for the first price of that market, once")
    func waitsForPrice() throws {
        var s = OnchainMetrics()
        let r1 = s.run(Self.btcFixture())
        #expect(r1.isEmpty)
        let last = Self.t0 + 24 * Self.hour
        let r2 = s.price("ETHUSDT", 3000, at: last + 1000)
        #expect(r2 == nil)
        let r3 = s.price("BTCUSDT", 51_000, at: last + 2000)
        let signal = try #require(r3)
        #expect(signal.price == 51_000)
        #expect(signal.eventTimeMs == last + 2000)
        let r4 = s.price("BTCUSDT", 51_000, at: last + 3000)
        #expect(r4 == nil)
    }

    @Test("a price exactly max_price_age_seconds old is used, 1 ms older is not")
    func priceAgeEdge() {
        let last = Self.t0 + 24 * Self.hour
        var atEdge = OnchainMetrics()
        _ = atEdge.price("BTCUSDT", 50_000, at: last - 300_000)
        let r1 = atEdge.run(Self.btcFixture())
        #expect(r1.count == 1)
        var stale = OnchainMetrics()
        _ = stale.price("BTCUSDT", 50_000, at: last - 300_001)
        let r2 = stale.run(Self.btcFixture())
        #expect(r2.isEmpty)
    }

    @Test("history holds one entry per fetch_interval bucket: the boundary starts a new one, 1 ms before does not")
    func bucketEdge() {
        var s = OnchainMetrics()
        _ = s.run(Self.btcFixture(count: 2))
        #expect(s.historyCount("BTC") == 2)
        // 1 ms before the next bucket: replaces the newest entry.
        _ = s.run([Self.btcFixture(start: Self.t0 + 2 * Self.hour - 1, count: 1)[0]])
        #expect(s.historyCount("BTC") == 2)
        // Exactly on the boundary: a new entry.
        _ = s.run([Self.btcFixture(start: Self.t0 + 2 * Self.hour, count: 1)[0]])
        #expect(s.historyCount("BTC") == 3)
        // Older than the newest bucket: ignored.
        _ = s.run([Self.btcFixture(start: Self.t0, count: 1)[0]])
        #expect(s.historyCount("BTC") == 3)
    }

    @Test("rate limit per asset: min_signal_interval of event time, the boundary allowed")
    func rateLimitPerAsset() {
        var s = OnchainMetrics()
        // A fresh price with every snapshot.
        let fixture = Self.btcFixture(count: 60)
        var signals: [Signal] = []
        for m in fixture {
            _ = s.price("BTCUSDT", 50_000, at: m.eventTimeMs)
            _ = s.price("ETHUSDT", 3000, at: m.eventTimeMs)
            if let sig = s.onMetrics(m) { signals.append(sig) }
        }
        // The first signal at the 24th entry (index 23), the next exactly 24 h later (index 47), none at 46.
        #expect(signals.map(\.eventTimeMs) == [Self.t0 + 23 * Self.hour, Self.t0 + 47 * Self.hour])
        // ETH is not limited by BTC's signals.
        let eth = s.run(Self.ethInflowFixture().map { var e = $0; e.eventTimeMs += 35 * Self.hour; return e })
        #expect(eth.count == 1)
    }

    @Test("state stays bounded: 168 entries per asset, nothing for 10,000 other symbols")
    func boundedState() {
        var s = OnchainMetrics()
        _ = s.run(Self.btcFixture(count: 500))
        #expect(s.historyCount("BTC") == 168)
        for i in 0..<10_000 {
            let r = s.price("SYM\(i)USDT", 1, at: Self.t0 + Int64(i))
            #expect(r == nil)
        }
        s.evict(SymbolKey(venue: .spot, symbol: "BTCUSDT"))
        #expect(s.historyCount("BTC") == 168)
    }

    @Test("garbage event times such as Int64.min and Int64.max never trap")
    func extremeTimes() {
        var s = OnchainMetrics(parameters: ParameterValues(["accumulation_periods": .int(2)]))
        let times: [Int64] = [.min, .min + 1, 0, .max - 1, .max]
        for t in times {
            _ = s.price("BTCUSDT", 50_000, at: t)
            _ = s.run([OnchainMetricsEvent(asset: "BTC", eventTimeMs: t, activeAddresses: 1, transactionVolume: 1,
                                           exchangeInflow: 9_000)])
        }
        #expect(s.historyCount("BTC") <= times.count)
    }

    @Test("replaying the same metrics and prices gives the same signals")
    func deterministic() {
        var seed: UInt64 = 5
        func next() -> UInt64 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return seed >> 33
        }
        func replay() -> [Signal] {
            seed = 5
            var s = OnchainMetrics(parameters: ParameterValues(["min_signal_interval": .int(1800)]))
            var out: [Signal] = []
            var aa = 1_000_000.0, tv = 500_000.0, hr = 200.0
            for i in 0..<500 {
                let t = Self.t0 + Int64(i) * Self.hour
                _ = s.price("BTCUSDT", 50_000 + Double(next() % 1000), at: t)
                aa *= 1 + (Double(next() % 100) - 30) / 1000
                tv *= 1 + (Double(next() % 100) - 30) / 1000
                hr *= 1 + (Double(next() % 100) - 45) / 1000
                let m = OnchainMetricsEvent(asset: "BTC", eventTimeMs: t, activeAddresses: aa, transactionVolume: tv,
                                            hashRate: hr, exchangeInflow: Double(next() % 5000),
                                            exchangeOutflow: Double(next() % 5000))
                if let sig = s.onMetrics(m) { out.append(sig) }
            }
            return out
        }
        let first = replay(), second = replay()
        #expect(!first.isEmpty)
        #expect(first == second)
    }
}
