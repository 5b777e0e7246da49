/// Order-book depth metrics, a bit-for-bit port of the seed's `DepthAnalyzer.analyze_depth`
/// (inventory §5.1).
///
/// Parity rules (inventory "Float and parity notes"): every sum is a left fold in book order,
/// `netPressure` is `buyPressure - sellPressure` (not `imbalanceRatio * 100`, which differs in
/// the last bits), and each formula keeps the seed's operation order. The input order is
/// trusted, as in the seed: bids best-first descending, asks best-first ascending. Nothing is
/// sorted or validated here; a crossed book yields a zero or negative spread (rejecting crossed
/// books is the parser's job).

/// One `(price, quantity)` level.
public struct PriceLevel: Sendable, Equatable {
    public var price: Double
    public var quantity: Double

    public init(price: Double, quantity: Double) {
        self.price = price
        self.quantity = quantity
    }
}

public struct DepthMetrics: Sendable, Equatable {
    /// Sum of all level quantities on the side (0 if empty).
    public var bidVolume: Double
    public var askVolume: Double
    /// `bidVolume + askVolume`, in base-asset units.
    public var totalLiquidity: Double
    /// `(bid - ask) / total`, or 0 if the total is not positive; in [-1, 1].
    public var imbalanceRatio: Double
    /// `imbalanceRatio * 100`.
    public var imbalancePercent: Double
    /// `bid / (total or 1) * 100`: 0 for an empty book (not 50).
    public var buyPressure: Double
    /// `ask / (total or 1) * 100`.
    public var sellPressure: Double
    /// `buyPressure - sellPressure`.
    public var netPressure: Double
    /// Sum of the first 5 (10) levels if the side has at least 5 (10), else the side total.
    public var bidDepth5: Double
    public var askDepth5: Double
    public var bidDepth10: Double
    public var askDepth10: Double
    /// Price of the first level, or 0.
    public var bestBid: Double
    public var bestAsk: Double
    /// `bestAsk - bestBid` if both are non-zero, else 0 (negative for a crossed book).
    public var spreadAbs: Double
    /// `(bestBid + bestAsk) / 2` if both are non-zero, else 0.
    public var midPrice: Double
    /// `spreadAbs / midPrice * 10000` if `midPrice > 0`, else 0.
    public var spreadBps: Double
    /// `Σ(p·q) / Σq` over the side, or 0 if `Σq` is 0.
    public var vwapBid: Double
    public var vwapAsk: Double
    public var bidLevels: Int
    public var askLevels: Int
    /// The level with the largest quantity, the first one on ties; nil for an empty side.
    public var strongestBid: PriceLevel?
    public var strongestAsk: PriceLevel?
    /// Exchange event time of the book these metrics were computed from (the seed used
    /// `datetime.utcnow()`; we use event time, inventory §10.17).
    public var eventTimeMs: Int64

    /// All zeros, no strongest levels: the metrics of an empty book at time 0.
    public init() {
        bidVolume = 0; askVolume = 0; totalLiquidity = 0
        imbalanceRatio = 0; imbalancePercent = 0
        buyPressure = 0; sellPressure = 0; netPressure = 0
        bidDepth5 = 0; askDepth5 = 0; bidDepth10 = 0; askDepth10 = 0
        bestBid = 0; bestAsk = 0; spreadAbs = 0; midPrice = 0; spreadBps = 0
        vwapBid = 0; vwapAsk = 0
        bidLevels = 0; askLevels = 0
        strongestBid = nil; strongestAsk = nil
        eventTimeMs = 0
    }

    public var totalLevels: Int { bidLevels + askLevels }

    /// `"bullish"` if `netPressure > 20`, `"bearish"` if `< -20`, else `"neutral"`, on the
    /// unrounded value (the seed's `interpretation`).
    public var interpretation: String {
        if netPressure > 20 { return "bullish" }
        if netPressure < -20 { return "bearish" }
        return "neutral"
    }

    /// The same classification as a `TrendDirection`.
    public var sentiment: TrendDirection {
        if netPressure > 20 { return .bullish }
        if netPressure < -20 { return .bearish }
        return .neutral
    }

    /// `|vwapBid - vwapAsk|`, unrounded (the API shows it rounded to 2 decimals).
    public var vwapSpread: Double { (vwapBid - vwapAsk).magnitude }

    /// Computes every metric in one pass per side. Does not allocate.
    public static func compute(bids: PriceLevels, asks: PriceLevels, eventTimeMs: Int64) -> DepthMetrics {
        let b = SideStats(bids)
        let a = SideStats(asks)
        var r = DepthMetrics()
        r.eventTimeMs = eventTimeMs

        r.bidVolume = b.volume
        r.askVolume = a.volume
        let total = b.volume + a.volume
        r.totalLiquidity = total

        r.imbalanceRatio = total > 0 ? (b.volume - a.volume) / total : 0
        r.imbalancePercent = r.imbalanceRatio * 100

        // Python `x / (total or 1) * 100`: only an exact 0 is replaced.
        let divisor = total != 0 ? total : 1
        r.buyPressure = b.volume / divisor * 100
        r.sellPressure = a.volume / divisor * 100
        r.netPressure = r.buyPressure - r.sellPressure

        r.bidDepth5 = b.count >= 5 ? b.depth5 : b.volume
        r.askDepth5 = a.count >= 5 ? a.depth5 : a.volume
        r.bidDepth10 = b.count >= 10 ? b.depth10 : b.volume
        r.askDepth10 = a.count >= 10 ? a.depth10 : a.volume

        r.bestBid = b.best
        r.bestAsk = a.best
        // Python truthiness: a non-zero float (NaN included) is true.
        let bothSides = b.best != 0 && a.best != 0
        r.spreadAbs = bothSides ? a.best - b.best : 0
        r.midPrice = bothSides ? (b.best + a.best) / 2 : 0
        r.spreadBps = r.midPrice > 0 ? r.spreadAbs / r.midPrice * 10000 : 0

        r.vwapBid = b.volume > 0 ? b.notional / b.volume : 0
        r.vwapAsk = a.volume > 0 ? a.notional / a.volume : 0

        r.bidLevels = b.count
        r.askLevels = a.count
        r.strongestBid = b.strongest
        r.strongestAsk = a.strongest
        return r
    }
}

/// One pass over a side, with the seed's left-fold order for every sum.
private struct SideStats {
    var count = 0
    var volume = 0.0
    var notional = 0.0
    var depth5 = 0.0
    var depth10 = 0.0
    var best = 0.0
    var strongest: PriceLevel? = nil

    @inline(__always)
    init(_ side: PriceLevels) {
        let n = min(side.prices.count, side.quantities.count)
        count = n
        guard n > 0 else { return }
        best = side.prices[0]
        var strongestIndex = 0
        var strongestQty = side.quantities[0]
        for i in 0..<n {
            let p = side.prices[i]
            let q = side.quantities[i]
            volume += q
            notional += p * q
            // Python `max(levels, key=qty)` keeps the first maximum: replace on strictly greater.
            if q > strongestQty {
                strongestQty = q
                strongestIndex = i
            }
            // The prefix of a left fold is the fold of the prefix: sum(q[:5]) == volume after 5.
            if i == 4 { depth5 = volume }
            if i == 9 { depth10 = volume }
        }
        strongest = PriceLevel(price: side.prices[strongestIndex], quantity: side.quantities[strongestIndex])
    }
}

/// The rounded fields of `GET /api/v1/metrics/depth/{symbol}` (inventory §5.3), rounded with
/// `PythonRounding` exactly as the seed does. Raw fields (`bestBid`, `bestAsk`, `midPrice`,
/// strongest prices, level counts) are not repeated here: read them from `DepthMetrics`.
public struct DepthAPIFields: Sendable, Equatable {
    /// r4
    public var imbalanceRatio: Double
    /// r2
    public var imbalancePercent: Double
    /// r4
    public var bidVolume: Double
    public var askVolume: Double
    /// r2
    public var buyPressure: Double
    public var sellPressure: Double
    public var netPressure: Double
    /// r4
    public var totalLiquidity: Double
    public var bidDepth5: Double
    public var askDepth5: Double
    public var bidDepth10: Double
    public var askDepth10: Double
    /// r2
    public var spreadAbs: Double
    public var spreadBps: Double
    /// r2
    public var vwapBid: Double
    public var vwapAsk: Double
    /// `round(|vwapBid - vwapAsk|, 2)` from the unrounded VWAPs.
    public var vwapSpread: Double
    /// Strongest level quantities, r4 (nil for an empty side).
    public var strongestBidVolume: Double?
    public var strongestAskVolume: Double?

    public init(_ m: DepthMetrics) {
        typealias R = PythonRounding
        imbalanceRatio = R.round(m.imbalanceRatio, 4)
        imbalancePercent = R.round(m.imbalancePercent, 2)
        bidVolume = R.round(m.bidVolume, 4)
        askVolume = R.round(m.askVolume, 4)
        buyPressure = R.round(m.buyPressure, 2)
        sellPressure = R.round(m.sellPressure, 2)
        netPressure = R.round(m.netPressure, 2)
        totalLiquidity = R.round(m.totalLiquidity, 4)
        bidDepth5 = R.round(m.bidDepth5, 4)
        askDepth5 = R.round(m.askDepth5, 4)
        bidDepth10 = R.round(m.bidDepth10, 4)
        askDepth10 = R.round(m.askDepth10, 4)
        spreadAbs = R.round(m.spreadAbs, 2)
        spreadBps = R.round(m.spreadBps, 2)
        vwapBid = R.round(m.vwapBid, 2)
        vwapAsk = R.round(m.vwapAsk, 2)
        vwapSpread = R.round(m.vwapSpread, 2)
        strongestBidVolume = m.strongestBid.map { R.round($0.quantity, 4) }
        strongestAskVolume = m.strongestAsk.map { R.round($0.quantity, 4) }
    }
}

extension DepthMetrics {
    /// The API's rounded view of these metrics.
    public var apiFields: DepthAPIFields { DepthAPIFields(self) }
}
