/// `orderbook_skew`: trades the imbalance of resting volume near the top of the book.
///
/// With `ratio = Σ top-N bid qty / Σ top-N ask qty` and `spread% = (ask - bid) / bid · 100`:
/// - no signal if the ask volume is 0, the top-N volume is below `min_total_volume`, or the
///   spread is wider than `min_spread_percent`;
/// - buy when `ratio > buy_threshold`, sell when `ratio < sell_threshold`;
/// - confidence = `min(0.95, base + (1 - base) · (imbalance_weight · s_i + spread_weight · s_s))`
///   where `s_i` is how far past the threshold the ratio is, relative to the threshold
///   (`(ratio - buy) / buy` or `(sell - ratio) / sell`, capped at 1), and `s_s = 1 - spread% /
///   min_spread_percent` rewards a tight spread. So a ratio just past the threshold with a spread
///   at the limit gives `base_confidence`, and a strong skew at a tight spread approaches 0.95.
///
/// Differences from the seed (inventory §2.1), and why:
/// - the seed's README confidence `0.60 + (ratio - 1.2) · 0.5` ignored the declared
///   `base_confidence`, `imbalance_weight` and `spread_weight`; the formula above uses them;
/// - a per-symbol cooldown on event time (`cooldown_seconds`, rate-limit key: venue + symbol):
///   the README had none, so a lasting imbalance on a 100 ms depth stream would emit ten signals
///   a second;
/// - `min_total_volume` is honoured (declared and never read by the seed);
/// - quantity is left to the adapter's price tiers, because the README's fixed 0.001 means
///   $50 of BTC and $0.0006 of XRP; stop-loss and take-profit are the strategy's own
///   (`stop_loss_percent`, `take_profit_percent` from the entry price).
public struct OrderbookSkewParameters: Sendable, Equatable {
    public var topLevels = 5
    public var buyThreshold = 1.2
    public var sellThreshold = 0.8
    public var minSpreadPercent = 0.1
    public var minTotalVolume = 0.001
    public var baseConfidence = 0.70
    public var imbalanceWeight = 0.6
    public var spreadWeight = 0.4
    public var cooldownSeconds = 60.0
    public var stopLossPercent = 0.5
    public var takeProfitPercent = 1.0
    public var maxSymbols = 4096

    public init() {}

    public init(_ values: ParameterValues) {
        let r = SchemaReader(schema: OrderbookSkew.schema, values: values)
        topLevels = r.int("top_levels")
        buyThreshold = r.double("buy_threshold")
        sellThreshold = r.double("sell_threshold")
        minSpreadPercent = r.double("min_spread_percent")
        minTotalVolume = r.double("min_total_volume")
        baseConfidence = r.double("base_confidence")
        imbalanceWeight = r.double("imbalance_weight")
        spreadWeight = r.double("spread_weight")
        cooldownSeconds = r.double("cooldown_seconds")
        stopLossPercent = r.double("stop_loss_percent")
        takeProfitPercent = r.double("take_profit_percent")
        maxSymbols = r.int("max_symbols")
    }
}

public struct OrderbookSkew: BookStrategy, Sendable {
    public static let id = "orderbook_skew"
    public static let constraints: [ParameterConstraint] = [.lessThan(lower: "sell_threshold", upper: "buy_threshold"), .sumAtMost(["imbalance_weight", "spread_weight"], limit: 1)]
    public static let enabledByDefault = true
    public static let schema: [ParameterSpec] = [
        ParameterSpec("top_levels", .int, default: .int(5), min: 1, max: 20, "Levels summed per side"),
        ParameterSpec("buy_threshold", .double, default: .double(1.2), min: 1.0, max: 10,
                      "Bid/ask volume ratio above which it buys"),
        ParameterSpec("sell_threshold", .double, default: .double(0.8), min: 0.1, max: 1.0,
                      "Bid/ask volume ratio below which it sells"),
        ParameterSpec("min_spread_percent", .double, default: .double(0.1), min: 0.001, max: 5,
                      "No signal when the spread is wider than this percentage of the bid"),
        ParameterSpec("min_total_volume", .double, default: .double(0.001), min: 0, max: 1e12,
                      "No signal when the top-N bid plus ask volume is below this"),
        ParameterSpec("base_confidence", .double, default: .double(0.70), min: 0.5, max: 0.95,
                      "Confidence of a signal just past the threshold at the widest allowed spread"),
        ParameterSpec("imbalance_weight", .double, default: .double(0.6), min: 0, max: 1,
                      "Weight of the imbalance strength in the confidence (with spread_weight ≤ 1)"),
        ParameterSpec("spread_weight", .double, default: .double(0.4), min: 0, max: 1,
                      "Weight of the spread tightness in the confidence (with imbalance_weight ≤ 1)"),
        ParameterSpec("cooldown_seconds", .double, default: .double(60), min: 0, max: 86_400,
                      "Minimum event time between two signals of one symbol"),
        ParameterSpec("stop_loss_percent", .double, default: .double(0.5), min: 0.01, max: 50,
                      "Stop-loss distance from the entry price, percent"),
        ParameterSpec("take_profit_percent", .double, default: .double(1.0), min: 0.01, max: 100,
                      "Take-profit distance from the entry price, percent"),
        ParameterSpec("max_symbols", .int, default: .int(4096), min: 1, max: 100_000,
                      "Bound on per-symbol cooldown state"),
    ]

    public var parameters: OrderbookSkewParameters
    /// Event time of the last signal per symbol: the rate-limit key is venue + symbol.
    private var lastSignalMs: [SymbolKey: Int64] = [:]

    public init(parameters: OrderbookSkewParameters = .init()) {
        self.parameters = parameters
    }

    public init(parameters: ParameterValues) {
        self.init(parameters: OrderbookSkewParameters(parameters))
    }

    public mutating func onBook(key: SymbolKey, bids: PriceLevels, asks: PriceLevels, eventTimeMs: Int64) -> Signal? {
        let p = parameters
        guard let topBid = bids.prices.first, let topAsk = asks.prices.first, topBid > 0 else { return nil }
        var bidVolume = 0.0
        for i in 0..<min(p.topLevels, bids.count) { bidVolume += bids.quantities[i] }
        var askVolume = 0.0
        for i in 0..<min(p.topLevels, asks.count) { askVolume += asks.quantities[i] }
        guard askVolume > 0, bidVolume + askVolume >= p.minTotalVolume else { return nil }
        let ratio = bidVolume / askVolume
        let spreadPercent = (topAsk - topBid) / topBid * 100
        guard spreadPercent <= p.minSpreadPercent else { return nil }

        let action: SignalAction
        let imbalanceStrength: Double
        if ratio > p.buyThreshold {
            action = .buy
            imbalanceStrength = min(1, (ratio - p.buyThreshold) / p.buyThreshold)
        } else if ratio < p.sellThreshold {
            action = .sell
            imbalanceStrength = min(1, (p.sellThreshold - ratio) / p.sellThreshold)
        } else {
            return nil
        }
        if let last = lastSignalMs[key], Double(eventTimeMs.subtractingSaturated(last)) < p.cooldownSeconds * 1000 { return nil }
        if lastSignalMs[key] == nil && lastSignalMs.count >= p.maxSymbols {
            // Bounded state: forget the symbol that signalled longest ago.
            if let oldest = lastSignalMs.min(by: { $0.value < $1.value })?.key { lastSignalMs.removeValue(forKey: oldest) }
        }
        lastSignalMs[key] = eventTimeMs

        let spreadQuality = max(0, 1 - spreadPercent / p.minSpreadPercent)
        let confidence = min(0.95, p.baseConfidence + (1 - p.baseConfidence)
            * (p.imbalanceWeight * imbalanceStrength + p.spreadWeight * spreadQuality))
        let price = action == .buy ? topBid : topAsk
        let direction = action == .buy ? 1.0 : -1.0
        let side = action == .buy ? "bid" : "ask"
        return Signal(
            strategyId: Self.id, key: key, action: action, confidence: confidence,
            price: price, currentPrice: (topBid + topAsk) / 2,
            stopLoss: price * (1 - direction * p.stopLossPercent / 100),
            takeProfit: price * (1 + direction * p.takeProfitPercent / 100),
            eventTimeMs: eventTimeMs,
            reasoning: "Top-\(p.topLevels) \(side) volume dominates: bid/ask ratio \(ratio)",
            indicators: [("bid_volume", bidVolume), ("ask_volume", askVolume), ("ratio", ratio),
                         ("spread_percent", spreadPercent)],
            metadata: [("strategy", .string(Self.id)), ("top_bid", .double(topBid)), ("top_ask", .double(topAsk)),
                       ("imbalance_strength", .double(imbalanceStrength)), ("spread_quality", .double(spreadQuality))])
    }

    public mutating func evict(_ key: SymbolKey) { lastSignalMs.removeValue(forKey: key) }
    public var trackedSymbols: Int { lastSignalMs.count }
}
