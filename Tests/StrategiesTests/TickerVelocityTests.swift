import Testing
@testable import Strategies

extension TickerVelocity {
    /// Runs the strategy outside `#expect`/`#require`, which cannot take mutating calls.
    mutating func run(_ tickers: [TickerEvent]) -> [Signal] {
        var out: [Signal] = []
        for t in tickers { if let s = onTicker(t) { out.append(s) } }
        return out
    }

    mutating func run(_ ticker: TickerEvent) -> Signal? { onTicker(ticker) }
}

@Suite("ticker_velocity")
struct TickerVelocityTests {
    static let btc = SymbolKey(venue: .spot, symbol: "BTCUSDT")

    static func ticker(_ price: Double, volume: Double, at t: Int64, key: SymbolKey = btc) -> TickerEvent {
        TickerEvent(key: key, lastPrice: price, volume: volume, eventTimeMs: t)
    }

    /// The documented score for three points (oldest, mid, now) with the mid exactly halfway.
    static func score(old: Double, mid: Double, now: Double, minutes: Double, weight: Double = 0.5) -> Double {
        let change = (now - old) / old * 100
        let velocity = change / minutes
        let v1 = ((mid - old) / old * 100) / (minutes / 2)
        let v2 = ((now - mid) / mid * 100) / (minutes / 2)
        return velocity + weight * (v2 - v1)
    }

    @Test("the schema covers every seed default and env key with the seed's defaults and ranges")
    func schemaCoversSeedKeys() {
        let byName = Dictionary(uniqueKeysWithValues: TickerVelocity.schema.map { ($0.name, $0) })
        let seed: [(String, ParameterValue, Double?, Double?)] = [
            ("time_window", .int(60), 30, 300), ("buy_threshold", .double(0.5), 0.1, 2.0),
            ("sell_threshold", .double(-0.5), -2.0, -0.1), ("min_price_change", .double(0.1), 0.01, 1.0),
            ("base_confidence", .double(0.65), 0.5, 1.0), ("acceleration_weight", .double(0.5), 0, 1),
            ("volume_confirmation", .bool(true), nil, nil), ("min_volume_change", .double(0.2), 0.1, 2.0),
        ]
        for (name, value, lo, hi) in seed {
            #expect(byName[name]?.defaultValue == value, "\(name)")
            #expect(byName[name]?.minimum == lo, "\(name)")
            #expect(byName[name]?.maximum == hi, "\(name)")
        }
        #expect(byName["volume_confirmation"]?.type == .bool)
        #expect(TickerVelocity.enabledByDefault)
    }

    @Test("a price accelerating up on growing volume buys, with the README confidence")
    func buys() throws {
        var s = TickerVelocity()
        let tickers = [Self.ticker(100, volume: 1000, at: 0), Self.ticker(100, volume: 1000, at: 30_000),
                       Self.ticker(100.6, volume: 1003, at: 60_000)]
        let signals = s.run(tickers)
        #expect(signals.count == 1)
        let signal = try #require(signals.first)
        let score = Self.score(old: 100, mid: 100, now: 100.6, minutes: 1)
        #expect(signal.action == .buy)
        #expect(signal.strategyId == "ticker_velocity")
        #expect(signal.price == 100.6)
        #expect(signal.eventTimeMs == 60_000)
        #expect(signal.indicators.first { $0.0 == "score" }?.1 == score)
        #expect(signal.indicators.first { $0.0 == "velocity" }?.1 == (100.6 - 100) / 100 * 100 / 1)
        #expect(signal.confidence == min(0.95, max(0.65, 0.60 + abs(score) / 10)))
        #expect(signal.stopLoss == 100.6 * (1 - 0.01))
        #expect(signal.takeProfit == 100.6 * (1 + 0.02))
        #expect(signal.metadata.contains { $0.0 == "rate_limit_key" && $0.1 == .string("ticker_velocity:spot:BTCUSDT") })
    }

    @Test("a price accelerating down on growing volume sells")
    func sells() throws {
        var s = TickerVelocity()
        let signals = s.run([Self.ticker(100, volume: 1000, at: 0), Self.ticker(100, volume: 1000, at: 30_000),
                             Self.ticker(99.4, volume: 1003, at: 60_000)])
        let signal = try #require(signals.first)
        #expect(signal.action == .sell)
        #expect(signal.stopLoss == 99.4 * (1 + 0.01))
        #expect(signal.takeProfit == 99.4 * (1 - 0.02))
    }

    @Test("small moves, unconfirmed volume, thin coverage and a decelerating move give no signal")
    func noSignalCases() {
        // Below min_price_change (0.05 % < 0.1 %).
        var small = TickerVelocity()
        let r1 = small.run([Self.ticker(100, volume: 1000, at: 0), Self.ticker(100.05, volume: 1010, at: 60_000)])
        #expect(r1.isEmpty)
        // Volume flat: no confirmation; the same prices signal with volume_confirmation off.
        let flatVolume = [Self.ticker(100, volume: 1000, at: 0), Self.ticker(100, volume: 1000, at: 30_000),
                          Self.ticker(100.6, volume: 1000, at: 60_000)]
        var confirmed = TickerVelocity()
        let r2 = confirmed.run(flatVolume)
        #expect(r2.isEmpty)
        var unconfirmed = TickerVelocity(parameters: ParameterValues(["volume_confirmation": .bool(false)]))
        let r3 = unconfirmed.run(flatVolume)
        #expect(r3.count == 1)
        // Two tickers 1 s apart: far below min_window_coverage of the window.
        var thin = TickerVelocity(parameters: ParameterValues(["volume_confirmation": .bool(false)]))
        let r4 = thin.run([Self.ticker(100, volume: 0, at: 0), Self.ticker(101, volume: 0, at: 1_000)])
        #expect(r4.isEmpty)
        // Up 0.6 % in the first half, flat in the second: velocity 0.6 but acceleration -1.2.
        var decelerating = TickerVelocity()
        let r5 = decelerating.run([Self.ticker(100, volume: 1000, at: 0), Self.ticker(100.6, volume: 1000, at: 30_000),
                                   Self.ticker(100.6, volume: 1003, at: 60_000)])
        #expect(Self.score(old: 100, mid: 100.6, now: 100.6, minutes: 1) < 0.5)
        #expect(r5.isEmpty)
    }

    @Test("a point exactly time_window old is in the window, 1 ms older is not")
    func windowEdge() {
        let parameters = ParameterValues(["acceleration_weight": .double(0)])
        let first = [Self.ticker(100, volume: 1000, at: 0), Self.ticker(100.5, volume: 1000, at: 30_000)]
        // At 60 000 the point at 0 is exactly 60 s old: 0.6 % in one minute, volume +0.3 %.
        var atBoundary = TickerVelocity(parameters: parameters)
        _ = atBoundary.run(first)
        let r1 = atBoundary.run(Self.ticker(100.6, volume: 1003, at: 60_000))
        #expect(r1?.action == .buy)
        #expect(r1?.indicators.first { $0.0 == "window_seconds" }?.1 == 60)
        #expect(atBoundary.pointCount(Self.btc) == 3)
        // At 60 001 it is gone: the oldest is 100.5, a 0.0995 % move, below min_price_change.
        var past = TickerVelocity(parameters: parameters)
        _ = past.run(first)
        let r2 = past.run(Self.ticker(100.6, volume: 1003, at: 60_001))
        #expect(r2 == nil)
        #expect(past.pointCount(Self.btc) == 2)
    }

    @Test("rate limit per venue and symbol: cooldown_seconds of event time, the boundary allowed")
    func rateLimit() {
        // A steady 0.6 %/min climb with volume growing 0.3 %/min.
        func at(_ t: Int64, key: SymbolKey = TickerVelocityTests.btc) -> TickerEvent {
            Self.ticker(100 + Double(t) / 100_000, volume: 1000 * (1 + 0.003 * Double(t) / 60_000), at: t, key: key)
        }
        var s = TickerVelocity()
        let first = s.run([at(0), at(30_000), at(60_000), at(90_000)])
        #expect(first.map(\.eventTimeMs) == [60_000])
        let r1 = s.run(at(119_999))
        #expect(r1 == nil)
        let r2 = s.run(at(120_000))
        #expect(r2?.action == .buy)
        // Another key is not limited by BTCUSDT spot.
        let eth = SymbolKey(venue: .spot, symbol: "ETHUSDT")
        let other = s.run([at(0, key: eth), at(30_000, key: eth), at(60_000, key: eth)])
        #expect(other.count == 1)
    }

    @Test("state stays bounded under 10,000 symbols and a fast stream")
    func boundedState() {
        var s = TickerVelocity()
        for i in 0..<10_000 {
            let key = SymbolKey(venue: .spot, symbol: "SYM\(i)USDT")
            _ = s.run(Self.ticker(1, volume: 1, at: Int64(i), key: key))
        }
        #expect(s.trackedSymbols <= 4096)
        #expect(s.pointCount(SymbolKey(venue: .spot, symbol: "SYM0USDT")) == 0)
        #expect(s.pointCount(SymbolKey(venue: .spot, symbol: "SYM9999USDT")) == 1)

        // 10 ms tickers for 10 minutes: downsampled to about 256 points a window.
        var fast = TickerVelocity()
        var maxPoints = 0
        for i in 0..<60_000 {
            _ = fast.run(Self.ticker(100 + Double(i % 100) / 100, volume: 1000, at: Int64(i) * 10))
            maxPoints = max(maxPoints, fast.pointCount(Self.btc))
        }
        #expect(maxPoints <= 258)
        fast.evict(Self.btc)
        #expect(fast.trackedSymbols == 0)
    }

    @Test("out-of-order tickers are ignored")
    func outOfOrder() {
        var s = TickerVelocity()
        _ = s.run([Self.ticker(100, volume: 1000, at: 10_000), Self.ticker(100, volume: 1000, at: 20_000)])
        let r = s.run(Self.ticker(200, volume: 2000, at: 15_000))
        #expect(r == nil)
        #expect(s.pointCount(Self.btc) == 2)
    }

    @Test("garbage event times such as Int64.min and Int64.max never trap")
    func extremeTimes() {
        var s = TickerVelocity(parameters: ParameterValues(["volume_confirmation": .bool(false)]))
        let times: [Int64] = [.min, .min + 1, -1, 0, 30_000, .max - 1, .max, .max]
        for (i, t) in times.enumerated() { _ = s.run(Self.ticker(100 + Double(i), volume: 1000, at: t)) }
        for (i, t) in times.enumerated() {
            _ = s.run(Self.ticker(100 + Double(i), volume: 1000, at: t, key: SymbolKey(venue: .usdm, symbol: "X\(i)")))
        }
        #expect(s.pointCount(Self.btc) >= 1)
    }

    @Test("replaying the same tickers gives the same signals")
    func deterministic() {
        var seed: UInt64 = 12345
        func next() -> UInt64 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return seed >> 33
        }
        var tickers: [TickerEvent] = []
        var prices = [Double](repeating: 100, count: 8)
        var volumes = [Double](repeating: 1000, count: 8)
        for i in 0..<20_000 {
            let k = Int(next() % 8)
            prices[k] *= 1 + (Double(next() % 41) - 20) / 10_000
            volumes[k] *= 1 + Double(next() % 10) / 2_000
            tickers.append(Self.ticker(prices[k], volume: volumes[k], at: Int64(i) * 125,
                                       key: SymbolKey(venue: .spot, symbol: "S\(k)USDT")))
        }
        var a = TickerVelocity(), b = TickerVelocity()
        let first = a.run(tickers), second = b.run(tickers)
        #expect(!first.isEmpty)
        #expect(first == second)
    }
}
