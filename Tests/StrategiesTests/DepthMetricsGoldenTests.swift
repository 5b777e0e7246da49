import Testing
@testable import Strategies

/// Golden cases of inventory §5.5, asserted with exact `==`: the seed's `analyze_depth` is
/// reproduced bit for bit because every formula keeps its operation order.
@Suite("Depth metrics goldens (§5.5)")
struct DepthMetricsGoldenTests {
    private static let t: Int64 = 1_704_110_400_000  // 2024-01-01T12:00:00Z

    private static func metrics(_ bids: [(Double, Double)], _ asks: [(Double, Double)]) -> DepthMetrics {
        DepthMetrics.compute(bids: PriceLevels(bids), asks: PriceLevels(asks), eventTimeMs: t)
    }

    /// The `BTCUSDT_DEPTH_SNAPSHOT` fixture: 5 bids from 50000 down by 50, 5 asks from 50050 up by 50.
    static let fixtureBids: [(Double, Double)] = [(50000, 1.5), (49950, 2.3), (49900, 3.1), (49850, 4.2), (49800, 5.5)]
    static let fixtureAsks: [(Double, Double)] = [(50050, 1.2), (50100, 2.1), (50150, 2.8), (50200, 3.5), (50250, 4.3)]

    @Test("basic3: three levels a side give the seed's exact values, and depth_5/10 fall back to the totals")
    func basic3() {
        let m = Self.metrics([(100, 1.0), (99.5, 2.0), (99, 1.5)], [(100.5, 0.5), (101, 1.0), (101.5, 0.8)])
        #expect(m.bidVolume == 4.5)
        #expect(m.askVolume == 2.3)
        #expect(m.totalLiquidity == 6.8)
        #expect(m.imbalanceRatio == 0.3235294117647059)
        #expect(m.imbalancePercent == 32.35294117647059)
        #expect(m.buyPressure == 66.17647058823529)
        #expect(m.sellPressure == 33.8235294117647)
        #expect(m.netPressure == 32.35294117647059)
        #expect(m.bestBid == 100)
        #expect(m.bestAsk == 100.5)
        #expect(m.spreadAbs == 0.5)
        #expect(m.midPrice == 100.25)
        #expect(m.spreadBps == 49.87531172069826)
        #expect(m.vwapBid == 99.44444444444444)
        #expect(m.vwapAsk == 101.06521739130434)
        #expect(m.strongestBid == PriceLevel(price: 99.5, quantity: 2.0))
        #expect(m.strongestAsk == PriceLevel(price: 101.0, quantity: 1.0))
        #expect(m.bidDepth5 == m.bidVolume && m.bidDepth10 == m.bidVolume)
        #expect(m.askDepth5 == m.askVolume && m.askDepth10 == m.askVolume)
        #expect(m.bidLevels == 3 && m.askLevels == 3 && m.totalLevels == 6)
        #expect(m.eventTimeMs == Self.t)
        #expect(m.interpretation == "bullish")
    }

    @Test("3 vs 1: imbalance 0.5 (50%), buy 75, sell 25, net 50")
    func threeVersusOne() {
        let m = Self.metrics([(100, 3)], [(100.5, 1)])
        #expect(m.imbalanceRatio == 0.5)
        #expect(m.imbalancePercent == 50.0)
        #expect(m.buyPressure == 75.0)
        #expect(m.sellPressure == 25.0)
        #expect(m.netPressure == 50.0)
    }

    @Test("2 vs 1: thirds come out with the seed's last-digit rounding")
    func twoVersusOne() {
        let m = Self.metrics([(100, 2)], [(100.5, 1)])
        #expect(m.imbalanceRatio == 0.3333333333333333)
        #expect(m.buyPressure == 66.66666666666666)
        #expect(m.sellPressure == 33.33333333333333)
        #expect(m.netPressure == 33.33333333333333)
    }

    @Test("vwap: volume-weighted prices, spread 1.0 and its bps, strongest ask deeper in the book")
    func vwap() {
        let m = Self.metrics([(100, 2), (99, 1)], [(101, 1), (102, 2)])
        #expect(m.spreadAbs == 1.0)
        #expect(m.spreadBps == 99.50248756218905)
        #expect(m.vwapBid == 99.66666666666667)
        #expect(m.vwapAsk == 101.66666666666667)
        #expect(m.strongestAsk == PriceLevel(price: 102, quantity: 2))
        #expect(m.strongestBid == PriceLevel(price: 100, quantity: 2))
    }

    @Test("fixture snapshot: net pressure is buy - sell (8.852459016393446), not imbalance * 100 (8.852459016393452)")
    func fixtureSnapshot() {
        let m = Self.metrics(Self.fixtureBids, Self.fixtureAsks)
        #expect(m.bidVolume == 16.6)
        #expect(m.askVolume == 13.899999999999999)
        #expect(m.imbalanceRatio == 0.08852459016393452)
        #expect(m.imbalancePercent == 8.852459016393452)
        #expect(m.buyPressure == 54.42622950819672)
        #expect(m.sellPressure == 45.57377049180327)
        #expect(m.netPressure == 8.852459016393446)
        #expect(m.netPressure != m.imbalancePercent)
        #expect(m.spreadAbs == 50.0)
        #expect(m.spreadBps == 9.995002498750624)
        #expect(m.midPrice == 50025.0)
        #expect(m.vwapBid == 49870.180722891564)
        #expect(m.vwapAsk == 50177.338129496406)
        #expect(m.strongestBid == PriceLevel(price: 49800, quantity: 5.5))
        #expect(m.strongestAsk == PriceLevel(price: 50250, quantity: 4.3))
        // Exactly 5 levels: depth_5 is the sum of all 5; depth_10 falls back to the total.
        #expect(m.bidDepth5 == 16.6 && m.bidDepth10 == 16.6)
        #expect(m.askDepth5 == 13.899999999999999 && m.askDepth10 == 13.899999999999999)
        #expect(m.interpretation == "neutral")
    }

    @Test("10 levels of qty 1, crossed at 100: still computed, depth_5 5, depth_10 10, spread 0, mid 100")
    func tenLevelsCrossed() {
        let bids = (0..<10).map { (100 - 0.5 * Double($0), 1.0) }
        let asks = (0..<10).map { (100 + 0.5 * Double($0), 1.0) }
        let m = Self.metrics(bids, asks)
        #expect(m.bidDepth5 == 5.0 && m.askDepth5 == 5.0)
        #expect(m.bidDepth10 == 10.0 && m.askDepth10 == 10.0)
        #expect(m.spreadAbs == 0.0)
        #expect(m.midPrice == 100.0)
        #expect(m.spreadBps == 0.0)
        #expect(m.vwapBid == 97.75)
        #expect(m.vwapAsk == 102.25)
        // The first of the equal quantities.
        #expect(m.strongestBid == PriceLevel(price: 100, quantity: 1))
        #expect(m.strongestAsk == PriceLevel(price: 100, quantity: 1))
    }

    @Test("7 levels: depth_5 is the first five, depth_10 the total, strongest ask is the first of the ties")
    func sevenLevels() {
        let bids = (0..<7).map { (100 - 0.5 * Double($0), 1 + Double($0)) }
        let asks = (0..<7).map { (100.5 + 0.5 * Double($0), 2.0) }
        let m = Self.metrics(bids, asks)
        #expect(m.bidDepth5 == 15.0)
        #expect(m.bidDepth10 == 28.0)
        #expect(m.askDepth5 == 10.0)
        #expect(m.askDepth10 == 14.0)
        #expect(m.strongestBid == PriceLevel(price: 97.0, quantity: 7.0))
        #expect(m.strongestAsk == PriceLevel(price: 100.5, quantity: 2.0))
    }

    @Test("empty book: every metric is 0 (buy and sell pressure 0, not 50/50) and no strongest levels")
    func emptyBook() {
        let m = Self.metrics([], [])
        var expected = DepthMetrics()
        expected.eventTimeMs = Self.t
        #expect(m == expected)
        #expect(m.buyPressure == 0 && m.sellPressure == 0 && m.netPressure == 0)
        #expect(m.strongestBid == nil && m.strongestAsk == nil)
        #expect(m.totalLevels == 0)
        #expect(m.interpretation == "neutral")
    }

    @Test("bids only: imbalance 1, buy 100, sell 0, and no ask-side spread, mid or vwap")
    func bidsOnly() {
        let m = Self.metrics([(100, 1)], [])
        #expect(m.imbalanceRatio == 1.0)
        #expect(m.buyPressure == 100)
        #expect(m.sellPressure == 0)
        #expect(m.netPressure == 100)
        #expect(m.bestBid == 100 && m.bestAsk == 0)
        #expect(m.midPrice == 0 && m.spreadAbs == 0 && m.spreadBps == 0)
        #expect(m.vwapBid == 100 && m.vwapAsk == 0)
        #expect(m.strongestAsk == nil)
        #expect(m.askLevels == 0 && m.bidLevels == 1)
    }

    @Test("the API golden: GET /depth/BTCUSDT after the fixture snapshot shows these rounded fields")
    func apiGolden() {
        let m = Self.metrics(Self.fixtureBids, Self.fixtureAsks)
        let api = m.apiFields
        #expect(api.imbalanceRatio == 0.0885)
        #expect(api.imbalancePercent == 8.85)
        #expect(api.bidVolume == 16.6)
        #expect(api.askVolume == 13.9)
        #expect(api.buyPressure == 54.43)
        #expect(api.sellPressure == 45.57)
        #expect(api.netPressure == 8.85)
        #expect(m.interpretation == "neutral")
        #expect(api.totalLiquidity == 30.5)
        #expect(api.bidDepth5 == 16.6 && api.askDepth5 == 13.9)
        #expect(api.bidDepth10 == 16.6 && api.askDepth10 == 13.9)
        #expect(m.bestBid == 50000.0 && m.bestAsk == 50050.0)
        #expect(api.spreadAbs == 50.0)
        #expect(api.spreadBps == 10.0)
        #expect(m.midPrice == 50025.0)
        #expect(api.vwapBid == 49870.18)
        #expect(api.vwapAsk == 50177.34)
        #expect(api.vwapSpread == 307.16)
        #expect(PythonRounding.round((m.vwapBid - m.vwapAsk).magnitude, 2) == 307.16)
        #expect(m.bidLevels == 5 && m.askLevels == 5 && m.totalLevels == 10)
        #expect(m.strongestBid?.price == 49800.0 && api.strongestBidVolume == 5.5)
        #expect(m.strongestAsk?.price == 50250.0 && api.strongestAskVolume == 4.3)
    }

    @Test("interpretation uses the unrounded net pressure with strict thresholds at ±20")
    func interpretationThresholds() {
        var m = DepthMetrics()
        m.netPressure = 20
        #expect(m.interpretation == "neutral" && m.sentiment == .neutral)
        m.netPressure = 20.000000000000004
        #expect(m.interpretation == "bullish" && m.sentiment == .bullish)
        m.netPressure = -20
        #expect(m.interpretation == "neutral")
        m.netPressure = -20.000000000000004
        #expect(m.interpretation == "bearish" && m.sentiment == .bearish)
        m.netPressure = 25
        #expect(m.interpretation == "bullish")
    }

    @Test("a crossed book is not rejected here: the spread and its bps come out negative")
    func crossedBookNegativeSpread() {
        let m = Self.metrics([(101, 1)], [(100, 1)])
        #expect(m.spreadAbs == -1)
        #expect(m.midPrice == 100.5)
        #expect(m.spreadBps < 0)
    }

    @Test("the strongest level is the first maximum on ties, on both sides")
    func strongestFirstOnTies() {
        let m = Self.metrics([(100, 1), (99, 3), (98, 3), (97, 2)], [(101, 5), (102, 5)])
        #expect(m.strongestBid == PriceLevel(price: 99, quantity: 3))
        #expect(m.strongestAsk == PriceLevel(price: 101, quantity: 5))
    }

    @Test("depth sums are left folds: depth_5 equals the seed's sum of the first five quantities")
    func depthIsLeftFold() {
        let qs = [0.1, 0.2, 0.3, 0.7, 1.1, 0.9, 1e-9, 3.3, 0.01, 2.2, 5.5, 0.07]
        let bids = qs.enumerated().map { (100 - Double($0.offset), $0.element) }
        let m = Self.metrics(bids, [])
        var five = 0.0
        for q in qs.prefix(5) { five += q }
        var ten = 0.0
        for q in qs.prefix(10) { ten += q }
        var all = 0.0
        for q in qs { all += q }
        #expect(m.bidDepth5 == five)
        #expect(m.bidDepth10 == ten)
        #expect(m.bidVolume == all)
    }

    @Test("computing from reused level buffers gives the same metrics as fresh ones")
    func reusedBuffers() {
        var bids = PriceLevels(capacity: 20)
        var asks = PriceLevels(capacity: 20)
        for (p, q) in Self.fixtureBids { bids.append(price: p, quantity: q) }
        for (p, q) in Self.fixtureAsks { asks.append(price: p, quantity: q) }
        let first = DepthMetrics.compute(bids: bids, asks: asks, eventTimeMs: 1)
        bids.removeAll()
        asks.removeAll()
        for (p, q) in Self.fixtureBids { bids.append(price: p, quantity: q) }
        for (p, q) in Self.fixtureAsks { asks.append(price: p, quantity: q) }
        let second = DepthMetrics.compute(bids: bids, asks: asks, eventTimeMs: 1)
        #expect(first == second)
        #expect(first.netPressure == 8.852459016393446)
    }
}
