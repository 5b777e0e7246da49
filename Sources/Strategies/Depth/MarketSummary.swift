/// The seed's `get_market_summary` (inventory §5.2 "Summary").
///
/// The averages and the liquidity total are stored **rounded**, as the seed's dict holds them:
/// `avgNetPressure` r2, `avgImbalanceRatio` r3, `avgSpreadBps` r2, `totalLiquidity` r4, with
/// `PythonRounding`. Averages are a left-fold sum divided by the count, in input order.
/// `totalLiquidity` sums base-asset quantities of different assets, which is meaningless
/// (inventory §10.16); it is kept for parity.
public struct MarketSummary: Sendable, Equatable {
    public var symbolsTracked: Int
    /// Counts by unrounded net pressure: > 20, < -20, otherwise.
    public var bullishSymbols: Int
    public var bearishSymbols: Int
    public var neutralSymbols: Int
    /// r2
    public var avgNetPressure: Double
    /// r3
    public var avgImbalanceRatio: Double
    /// r2
    public var avgSpreadBps: Double
    /// r4
    public var totalLiquidity: Double
    /// Up to 5 symbols by buy (sell) pressure descending; ties keep input order.
    public var highestBuyPressure: [String]
    public var highestSellPressure: [String]

    public init(symbolsTracked: Int, bullishSymbols: Int, bearishSymbols: Int, neutralSymbols: Int,
                avgNetPressure: Double, avgImbalanceRatio: Double, avgSpreadBps: Double, totalLiquidity: Double,
                highestBuyPressure: [String], highestSellPressure: [String]) {
        self.symbolsTracked = symbolsTracked
        self.bullishSymbols = bullishSymbols
        self.bearishSymbols = bearishSymbols
        self.neutralSymbols = neutralSymbols
        self.avgNetPressure = avgNetPressure
        self.avgImbalanceRatio = avgImbalanceRatio
        self.avgSpreadBps = avgSpreadBps
        self.totalLiquidity = totalLiquidity
        self.highestBuyPressure = highestBuyPressure
        self.highestSellPressure = highestSellPressure
    }

    /// How many symbols the top lists hold.
    public static let topCount = 5

    /// The summary of `entries` in their (insertion) order; nil when empty (the seed answers
    /// `{"error": "No data available"}`).
    public static func compute(_ entries: [(symbol: String, metrics: DepthMetrics)]) -> MarketSummary? {
        guard !entries.isEmpty else { return nil }
        var bullish = 0
        var bearish = 0
        var netSum = 0.0
        var imbalanceSum = 0.0
        var spreadSum = 0.0
        var liquidity = 0.0
        for entry in entries {
            let m = entry.metrics
            if m.netPressure > 20 {
                bullish += 1
            } else if m.netPressure < -20 {
                bearish += 1
            }
            netSum += m.netPressure
            imbalanceSum += m.imbalanceRatio
            spreadSum += m.spreadBps
            liquidity += m.totalLiquidity
        }
        let n = Double(entries.count)
        return MarketSummary(
            symbolsTracked: entries.count,
            bullishSymbols: bullish,
            bearishSymbols: bearish,
            neutralSymbols: entries.count - bullish - bearish,
            avgNetPressure: PythonRounding.round(netSum / n, 2),
            avgImbalanceRatio: PythonRounding.round(imbalanceSum / n, 3),
            avgSpreadBps: PythonRounding.round(spreadSum / n, 2),
            totalLiquidity: PythonRounding.round(liquidity, 4),
            highestBuyPressure: top(entries, by: \.buyPressure),
            highestSellPressure: top(entries, by: \.sellPressure)
        )
    }

    /// Python `sorted(..., key=..., reverse=True)[:5]`: descending, stable (ties keep input order).
    private static func top(_ entries: [(symbol: String, metrics: DepthMetrics)],
                            by key: KeyPath<DepthMetrics, Double>) -> [String] {
        let order = DepthSorting.stableOrder(count: entries.count, descending: true) { i, j in
            entries[i].metrics[keyPath: key] < entries[j].metrics[keyPath: key]
        }
        return order.prefix(topCount).map { entries[$0].symbol }
    }
}

enum DepthSorting {
    /// Indices `0..<count` sorted by `less`, stable: equal elements keep their input order in
    /// both directions, as Python's `sorted(reverse=True)` does.
    static func stableOrder(count: Int, descending: Bool, less: (Int, Int) -> Bool) -> [Int] {
        var indices = Array(0..<count)
        indices.sort { i, j in
            if descending ? less(j, i) : less(i, j) { return true }
            if descending ? less(i, j) : less(j, i) { return false }
            return i < j
        }
        return indices
    }
}
