import Testing
@testable import Strategies

@Suite("Market summary (§5.2)")
struct MarketSummaryTests {
    private static func book(_ bid: (Double, Double), _ ask: (Double, Double)) -> DepthMetrics {
        DepthMetrics.compute(bids: PriceLevels([bid]), asks: PriceLevels([ask]), eventTimeMs: 0)
    }

    private static func with(net: Double = 0, buy: Double = 0, sell: Double = 0, imbalance: Double = 0,
                             spreadBps: Double = 0, liquidity: Double = 0) -> DepthMetrics {
        var m = DepthMetrics()
        m.netPressure = net
        m.buyPressure = buy
        m.sellPressure = sell
        m.imbalanceRatio = imbalance
        m.spreadBps = spreadBps
        m.totalLiquidity = liquidity
        return m
    }

    @Test("golden: BTC 2 vs 1, ETH 1 vs 2, BNB 1.5 vs 1.5 give one of each sentiment and the seed's rounded averages")
    func golden() throws {
        let entries: [(symbol: String, metrics: DepthMetrics)] = [
            ("BTCUSDT", Self.book((100, 2), (100.5, 1))),
            ("ETHUSDT", Self.book((2000, 1), (2005, 2))),
            ("BNBUSDT", Self.book((300, 1.5), (305, 1.5))),
        ]
        let s = try #require(MarketSummary.compute(entries))
        #expect(s.symbolsTracked == 3)
        #expect(s.bullishSymbols == 1)
        #expect(s.bearishSymbols == 1)
        #expect(s.neutralSymbols == 1)
        #expect(s.avgNetPressure == 0.0)
        #expect(s.avgImbalanceRatio == 0.0)
        #expect(s.avgSpreadBps == 80.04)
        #expect(s.totalLiquidity == 9.0)
        #expect(s.highestBuyPressure == ["BTCUSDT", "BNBUSDT", "ETHUSDT"])
        #expect(s.highestSellPressure == ["ETHUSDT", "BNBUSDT", "BTCUSDT"])
    }

    @Test("no symbols: no summary (the seed answers {\"error\": \"No data available\"})")
    func empty() {
        #expect(MarketSummary.compute([]) == nil)
    }

    @Test("the top lists hold at most 5 symbols, descending, with ties in input order")
    func topFiveStable() throws {
        let buys: [Double] = [10, 50, 30, 50, 10, 70, 30, 50]
        let entries = buys.enumerated().map { (symbol: "S\($0.offset)", metrics: Self.with(buy: $0.element, sell: 100 - $0.element)) }
        let s = try #require(MarketSummary.compute(entries))
        #expect(s.highestBuyPressure == ["S5", "S1", "S3", "S7", "S2"])
        #expect(s.highestSellPressure == ["S0", "S4", "S2", "S6", "S1"])
    }

    @Test("sentiment counts use the unrounded net pressure with strict ±20 thresholds")
    func sentimentCounts() throws {
        let nets = [20.0, 20.000000000000004, -20.0, -20.000000000000004, 0, 99]
        let entries = nets.enumerated().map { (symbol: "S\($0.offset)", metrics: Self.with(net: $0.element)) }
        let s = try #require(MarketSummary.compute(entries))
        #expect(s.bullishSymbols == 2)
        #expect(s.bearishSymbols == 1)
        #expect(s.neutralSymbols == 3)
    }

    @Test("averages are rounded like Python's round(): r2 for pressure and spread, r3 for imbalance, r4 for liquidity")
    func pythonRoundedAverages() throws {
        // Means 0.125 (an exact tie: to even, 0.12), 0.0625 → r3 0.062, 2.675 → 2.67 (binary value below the tie).
        let entries: [(symbol: String, metrics: DepthMetrics)] = [
            ("A", Self.with(net: 0.25, imbalance: 0.125, spreadBps: 2.675, liquidity: 1.00005)),
            ("B", Self.with(net: 0.0, imbalance: 0.0, spreadBps: 2.675, liquidity: 2.0)),
        ]
        let s = try #require(MarketSummary.compute(entries))
        #expect(s.avgNetPressure == 0.12)
        #expect(s.avgImbalanceRatio == 0.062)
        #expect(s.avgSpreadBps == 2.67)
        #expect(s.totalLiquidity == PythonRounding.round(1.00005 + 2.0, 4))
    }
}
