/// `trade_momentum`: scores each trade by price momentum, size and aggressor side.
///
/// The seed had only README pseudo-code (inventory §2.2), which is not implementable as written
/// (`previous_price` and `avg_quantity` are not Binance fields) and cannot reach its thresholds.
/// This is the implementable version:
///
/// - `previous_price` is the symbol's previous trade price (same `SymbolKey`, same stream kind);
///   `avg_quantity` is the mean quantity of the last `momentum_window` trades *before* the current
///   one (a left fold, so the value is reproducible bit for bit). No score until the window is
///   full.
/// - `price_score = clamp((price - previous_price) / previous_price · 10 000 / price_scale_bps, -1, 1)`:
///   the move in basis points, normalised so that a move of `price_scale_bps` saturates.
/// - `side = +1` when the buyer was the aggressor (`m == false`), `-1` when the seller was.
/// - `quantity_score = min(1, quantity / avg_quantity)`.
/// - `momentum = price_weight · price_score + quantity_weight · quantity_score · side + maker_weight · side`.
/// - buy when `momentum > buy_threshold`, sell when `momentum < sell_threshold`, with the
///   README confidence `min(0.95, 0.65 + |momentum| · 0.2)`, never below `base_confidence`.
///
/// Why the score differs from the README's `0.4·price + 0.3·quantity + 0.3·maker`:
/// - a raw fractional price change is ~1e-4 per trade, so the price term was always ~0 and
///   0.7 was reachable only with the other two terms at their maximum (0.6) — never, in fact;
///   the basis-point normalisation with `price_scale_bps` (default 10 bp) makes price count;
/// - the README's quantity term is always ≥ 0, so `momentum < -0.7` was arithmetically
///   impossible (with the price term at -1 the sum is ≥ -0.7). Signing the quantity term by the
///   aggressor side makes buy and sell symmetric: a large trade confirms its aggressor's
///   direction. With the defaults a buy needs a buyer-aggressor trade of at least the mean size
///   that lifts the price more than 2.5 bp over the previous trade.
///
/// Other rules:
/// - trades with `quantity < min_quantity` are dust: ignored entirely (no state change);
/// - event time only: a gap of more than `time_decay_seconds` since the symbol's previous trade
///   resets its window and previous price (a gap of exactly `time_decay_seconds` does not);
/// - `aggTrade` is handled like `trade`. A symbol follows one stream kind, the kind of its first
///   trade after a reset; trades of the other kind are ignored, so a symbol subscribed to both
///   `trade` and `aggTrade` is not counted twice;
/// - rate limit per `SymbolKey` (venue + symbol): one signal per `cooldown_seconds` of event
///   time (a signal exactly `cooldown_seconds` after the last one is allowed);
/// - bounded state: at most `max_symbols` symbols (when full, the least recently traded eighth
///   is evicted, ties broken by symbol then venue so replays evict the same ones), each with at
///   most `momentum_window` quantities;
/// - stop-loss / take-profit: `stop_loss_percent` / `take_profit_percent` from the trade price.
public struct TradeMomentum: TradeStrategy, Sendable {
    public static let id = "trade_momentum"
    public static let constraints: [ParameterConstraint] = [.lessThan(lower: "sell_threshold", upper: "buy_threshold"), .sumAtMost(["price_weight", "quantity_weight", "maker_weight"], limit: 1)]
    /// `STRATEGY_ENABLED_TRADE_MOMENTUM=true` (inventory §7.1).
    public static let enabledByDefault = true

    public static let schema: [ParameterSpec] = [
        ParameterSpec("price_weight", .double, default: .double(0.4), min: 0, max: 1,
                      "Weight of the normalised price momentum (TRADE_MOMENTUM_PRICE_WEIGHT)."),
        ParameterSpec("quantity_weight", .double, default: .double(0.3), min: 0, max: 1,
                      "Weight of min(1, qty / mean qty), signed by the aggressor side (TRADE_MOMENTUM_QUANTITY_WEIGHT)."),
        ParameterSpec("maker_weight", .double, default: .double(0.3), min: 0, max: 1,
                      "Weight of the aggressor side: +1 buyer, -1 seller (TRADE_MOMENTUM_MAKER_WEIGHT)."),
        ParameterSpec("buy_threshold", .double, default: .double(0.7), min: 0.3, max: 1.0,
                      "Buy when the momentum score is above this (TRADE_MOMENTUM_BUY_THRESHOLD)."),
        ParameterSpec("sell_threshold", .double, default: .double(-0.7), min: -1.0, max: -0.3,
                      "Sell when the momentum score is below this (TRADE_MOMENTUM_SELL_THRESHOLD)."),
        ParameterSpec("min_quantity", .double, default: .double(0.001), min: 0.0001, max: 1.0,
                      "Trades below this base-asset quantity are dust and ignored (TRADE_MOMENTUM_MIN_QUANTITY)."),
        ParameterSpec("base_confidence", .double, default: .double(0.68), min: 0.5, max: 1.0,
                      "Lower bound of the confidence; the README formula 0.65 + |score|·0.2 (capped 0.95) applies above it."),
        ParameterSpec("time_decay_seconds", .int, default: .int(300), min: 60, max: 600,
                      "A gap longer than this (event time) since the symbol's previous trade resets its state."),
        ParameterSpec("momentum_window", .int, default: .int(10), min: 5, max: 50,
                      "Number of previous trades whose mean quantity is the reference; no score until full."),
        ParameterSpec("price_scale_bps", .double, default: .double(10), min: 0.1, max: 1000,
                      "Price move versus the previous trade, in basis points, at which the price score saturates at ±1."),
        ParameterSpec("cooldown_seconds", .double, default: .double(60), min: 0, max: 86_400,
                      "Rate limit: at most one signal per symbol (venue + symbol) per this many seconds of event time."),
        ParameterSpec("stop_loss_percent", .double, default: .double(0.5), min: 0.01, max: 50,
                      "Stop-loss distance from the trade price, in percent."),
        ParameterSpec("take_profit_percent", .double, default: .double(1.0), min: 0.01, max: 100,
                      "Take-profit distance from the trade price, in percent."),
        ParameterSpec("max_symbols", .int, default: .int(4096), min: 1, max: 100_000,
                      "Most symbols tracked at once; when full, the least recently traded eighth is evicted."),
    ]

    /// Resolved parameters (configured value clamped to the schema range, else the default).
    public struct Parameters: Sendable, Equatable {
        public var priceWeight, quantityWeight, makerWeight: Double
        public var buyThreshold, sellThreshold, minQuantity, baseConfidence: Double
        public var timeDecaySeconds, momentumWindow: Int
        public var priceScaleBps, cooldownSeconds, stopLossPercent, takeProfitPercent: Double
        public var maxSymbols: Int

        public init(_ values: ParameterValues = .init()) {
            let r = SchemaReader(schema: TradeMomentum.schema, values: values)
            priceWeight = r.double("price_weight"); quantityWeight = r.double("quantity_weight")
            makerWeight = r.double("maker_weight"); buyThreshold = r.double("buy_threshold")
            sellThreshold = r.double("sell_threshold"); minQuantity = r.double("min_quantity")
            baseConfidence = r.double("base_confidence"); timeDecaySeconds = r.int("time_decay_seconds")
            momentumWindow = r.int("momentum_window"); priceScaleBps = r.double("price_scale_bps")
            cooldownSeconds = r.double("cooldown_seconds"); stopLossPercent = r.double("stop_loss_percent")
            takeProfitPercent = r.double("take_profit_percent"); maxSymbols = r.int("max_symbols")
        }
    }

    struct SymbolState: Sendable {
        /// Quantities of the last `momentumWindow` trades, as a ring.
        var quantities: [Double] = []
        var next = 0
        var previousPrice: Double = 0
        var lastTradeMs: Int64 = 0
        /// The stream kind this symbol follows (nil right after a reset).
        var followsAggregate: Bool? = nil
        var lastSignalMs: Int64? = nil

        mutating func resetWindow() {
            quantities.removeAll(keepingCapacity: true)
            next = 0
            previousPrice = 0
            followsAggregate = nil
        }
    }

    public let parameters: Parameters
    private var states: [SymbolKey: SymbolState] = [:]

    public init(parameters: ParameterValues = .init()) {
        self.parameters = Parameters(parameters)
    }

    public mutating func onTrade(_ trade: TradeEvent) -> Signal? {
        let p = parameters
        let price = trade.price, quantity = trade.quantity, now = trade.eventTimeMs
        guard price.isFinite, price > 0, quantity.isFinite, quantity >= p.minQuantity else { return nil }
        let key = trade.key
        if states[key] == nil {
            evictLeastRecentlyUsed(&states, maxCount: p.maxSymbols, lastUsed: { $0.lastTradeMs }, keyLess: symbolKeyLess)
            states[key] = SymbolState()
        }
        return states[key]!.withTrade(trade, key: key, now: now, p)
    }

    public mutating func evict(_ key: SymbolKey) { states.removeValue(forKey: key) }

    /// Symbols with state.
    public var trackedSymbols: Int { states.count }
    /// Quantities held for `key` (at most `momentum_window`).
    public func windowCount(_ key: SymbolKey) -> Int { states[key]?.quantities.count ?? 0 }
}

extension TradeMomentum.SymbolState {
    fileprivate mutating func withTrade(_ trade: TradeEvent, key: SymbolKey, now: Int64,
                                        _ p: TradeMomentum.Parameters) -> Signal? {
        if !quantities.isEmpty, timeDelta(now, lastTradeMs) > Int64(p.timeDecaySeconds) * 1000 { resetWindow() }
        if let follows = followsAggregate, follows != trade.isAggregate { return nil }
        followsAggregate = trade.isAggregate

        var candidate: (action: SignalAction, momentum: Double, bps: Double, priceScore: Double,
                        quantityScore: Double, side: Double, avg: Double, previous: Double)? = nil
        if quantities.count == p.momentumWindow, previousPrice > 0 {
            var sum = 0.0
            // Oldest first, a left fold: the mean does not depend on where the ring starts.
            for i in 0..<quantities.count { sum += quantities[(next + i) % quantities.count] }
            let avg = sum / Double(quantities.count)
            let bps = (trade.price - previousPrice) / previousPrice * 10_000
            let priceScore = min(1, max(-1, bps / p.priceScaleBps))
            let quantityScore = avg > 0 ? min(1, trade.quantity / avg) : 1
            let side: Double = trade.isBuyerMaker ? -1 : 1
            let momentum = p.priceWeight * priceScore + p.quantityWeight * quantityScore * side + p.makerWeight * side
            if momentum > p.buyThreshold {
                candidate = (.buy, momentum, bps, priceScore, quantityScore, side, avg, previousPrice)
            } else if momentum < p.sellThreshold {
                candidate = (.sell, momentum, bps, priceScore, quantityScore, side, avg, previousPrice)
            }
        }

        // Update the window with the current trade.
        if quantities.count < p.momentumWindow {
            quantities.append(trade.quantity)
        } else {
            quantities[next] = trade.quantity
            next = (next + 1) % quantities.count
        }
        previousPrice = trade.price
        lastTradeMs = now

        guard let c = candidate else { return nil }
        if let last = lastSignalMs, Double(timeDelta(now, last)) < p.cooldownSeconds * 1000 { return nil }
        lastSignalMs = now

        let price = trade.price
        let confidence = min(0.95, max(p.baseConfidence, 0.65 + abs(c.momentum) * 0.2))
        let sl = p.stopLossPercent / 100, tp = p.takeProfitPercent / 100
        let stopLoss = c.action == .buy ? price * (1 - sl) : price * (1 + sl)
        let takeProfit = c.action == .buy ? price * (1 + tp) : price * (1 - tp)
        let aggressor = c.side > 0 ? "buyer" : "seller"
        return Signal(
            strategyId: TradeMomentum.id, key: key, action: c.action, confidence: confidence,
            price: price, currentPrice: price, stopLoss: stopLoss, takeProfit: takeProfit, eventTimeMs: now,
            reasoning: "Trade momentum \(DecimalFormat.fixed(c.momentum, 3)): \(aggressor) aggressor, "
                + "\(DecimalFormat.fixed(c.bps, 2)) bp versus the previous trade, quantity "
                + "\(DecimalFormat.fixed(trade.quantity / c.avg, 2))x the \(p.momentumWindow)-trade mean",
            indicators: [("momentum", c.momentum), ("price_momentum_bps", c.bps), ("price_score", c.priceScore),
                         ("quantity_score", c.quantityScore), ("maker_score", c.side), ("avg_quantity", c.avg)],
            metadata: [("strategy", .string(TradeMomentum.id)), ("previous_price", .double(c.previous)),
                       ("quantity", .double(trade.quantity)), ("trade_id", .int(trade.tradeId)),
                       ("is_aggregate", .bool(trade.isAggregate)),
                       ("rate_limit_key", .string("\(TradeMomentum.id):\(key.venue):\(key.symbol)"))])
    }
}

// MARK: - Helpers shared by the event-time strategies


/// Makes room for one more symbol when `states` holds `maxCount` or more: removes the least
/// recently used eighth (at least one entry) in one pass, sorted by (last use, key), so the
/// choice never depends on `Dictionary` iteration order (randomly seeded per process) and the
/// cost is amortised O(log n) per new symbol instead of a scan per insertion.
func evictLeastRecentlyUsed<K: Hashable, V>(_ states: inout [K: V], maxCount: Int, lastUsed: (V) -> Int64,
                              keyLess: (K, K) -> Bool) {
    guard states.count >= maxCount else { return }
    let keep = max(0, maxCount - max(1, maxCount / 8))
    let order = states.map { (key: $0.key, time: lastUsed($0.value)) }.sorted {
        $0.time != $1.time ? $0.time < $1.time : keyLess($0.key, $1.key)
    }
    for entry in order.prefix(states.count - keep) { states.removeValue(forKey: entry.key) }
}

/// `a - b` saturated to the range of `Int64`: event times come from untrusted frames, and a
/// garbage time such as `Int64.min` must not trap.
@inline(__always)
func timeDelta(_ a: Int64, _ b: Int64) -> Int64 {
    a.subtractingSaturated(b)
}

/// `seconds · 1000` rounded to the nearest millisecond (ties away from zero), as an `Int64`
/// clamped to its range; NaN gives 0. Identical to `Int64((seconds * 1000).rounded())` whenever
/// that does not trap, i.e. for every schema-clamped duration.
func millisecondsSaturated(_ seconds: Double) -> Int64 {
    let ms = (seconds * 1000).rounded()
    if ms.isNaN { return 0 }
    // 2^63 is the first Double above Int64.max; -2^63 is Int64.min exactly.
    if ms >= 9_223_372_036_854_775_808.0 { return .max }
    if ms <= -9_223_372_036_854_775_808.0 { return .min }
    return Int64(ms)
}

/// `a / b` rounded towards negative infinity (`b > 0`).
func floorDivide(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}

func symbolKeyLess(_ a: SymbolKey, _ b: SymbolKey) -> Bool {
    a.symbol != b.symbol ? a.symbol < b.symbol : a.venue.rawValue < b.venue.rawValue
}

/// Fixed-point formatting like Python's `format(x, ".Nf")`: correctly rounded (ties to even on
/// the exact binary value, via `PythonRounding`), exactly N digits, `-0.0` kept.
enum DecimalFormat {
    static func fixed(_ x: Double, _ digits: Int) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : (x < 0 ? "-inf" : "inf") }
        let d = max(0, min(digits, 15))
        let r = PythonRounding.round(x, d)
        var scale = 1.0
        for _ in 0..<d { scale *= 10 }
        let scaled = (abs(r) * scale).rounded()
        guard scaled < 9.0e15 else { return "\(r)" }
        let n = UInt64(scaled), s = UInt64(scale)
        var text = r.sign == .minus ? "-" : ""
        text += String(n / s)
        if d > 0 {
            let frac = String(n % s)
            text += "." + String(repeating: "0", count: d - frac.count) + frac
        }
        return text
    }
}
