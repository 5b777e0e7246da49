/// `orderbook_skew`: trades the imbalance of resting volume near the top of the book.
///
/// The seed's README algorithm (inventory §2.1): with `ratio = Σ top-N bid qty / Σ top-N ask qty`
/// and `spread% = (ask - bid) / bid · 100`:
/// - no signal if the ask volume is 0 or the spread is wider than `min_spread_percent`;
/// - buy when `ratio > buy_threshold`, confidence `min(0.95, 0.60 + (ratio - buy_threshold) · 0.5)`;
/// - sell when `ratio < sell_threshold`, confidence `min(0.95, 0.60 + (sell_threshold - ratio) · 0.5)`.
///
/// Differences from the seed, and why:
/// - a per-symbol cooldown on event time (`cooldown_seconds`): the README had none, so a
///   lasting imbalance on a 100 ms depth stream would emit ten signals a second;
/// - `min_total_volume` is honoured (the seed declared it and never read it);
/// - quantity is left to the adapter's price tiers, because the README's fixed 0.001 means
///   $50 of BTC and $0.0006 of XRP.
public struct OrderbookSkewParameters: Sendable, Equatable {
    public var topLevels: Int = 5
    public var buyThreshold: Double = 1.2
    public var sellThreshold: Double = 0.8
    public var minSpreadPercent: Double = 0.1
    public var minTotalVolume: Double = 0.001
    public var cooldownSeconds: Double = 60
    public init() {}
}

public struct OrderbookSkew: Sendable {
    public static let id = "orderbook_skew"
    public var parameters: OrderbookSkewParameters
    /// Event time of the last signal per symbol; evicted with the symbol.
    private var lastSignalMs: [SymbolKey: Int64] = [:]

    public init(parameters: OrderbookSkewParameters = .init()) {
        self.parameters = parameters
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
        let confidence: Double
        if ratio > p.buyThreshold {
            action = .buy
            confidence = min(0.95, 0.60 + (ratio - p.buyThreshold) * 0.5)
        } else if ratio < p.sellThreshold {
            action = .sell
            confidence = min(0.95, 0.60 + (p.sellThreshold - ratio) * 0.5)
        } else {
            return nil
        }
        if let last = lastSignalMs[key], Double(eventTimeMs - last) < p.cooldownSeconds * 1000 { return nil }
        lastSignalMs[key] = eventTimeMs

        let side = action == .buy ? "bid" : "ask"
        return Signal(
            strategyId: Self.id, key: key, action: action, confidence: confidence,
            price: action == .buy ? topBid : topAsk, currentPrice: (topBid + topAsk) / 2,
            eventTimeMs: eventTimeMs,
            reasoning: "Top-\(p.topLevels) \(side) volume dominates: bid/ask ratio \(ratio)",
            indicators: [("bid_volume", bidVolume), ("ask_volume", askVolume), ("ratio", ratio),
                         ("spread_percent", spreadPercent)],
            metadata: [("strategy", .string(Self.id)), ("top_bid", .double(topBid)), ("top_ask", .double(topAsk))])
    }

    public mutating func evict(_ key: SymbolKey) { lastSignalMs.removeValue(forKey: key) }
    public var trackedSymbols: Int { lastSignalMs.count }
}
