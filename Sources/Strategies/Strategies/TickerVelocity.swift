/// `ticker_velocity`: trades the speed of the 24h-ticker's last price over a short window.
///
/// The seed had only README pseudo-code (inventory §2.3). Implemented here on exchange event
/// time, per `SymbolKey`:
///
/// - Each ticker adds a point `(E, c, v)`. Points older than `time_window` are dropped: a point
///   exactly `time_window` seconds old is still in the window, one 1 ms older is not.
/// - The oldest point in the window must be at least `min_window_coverage · time_window` old
///   (the README needed only two points, so two tickers 1 s apart gave a "velocity" of noise).
/// - `change% = (p_now - p_oldest) / p_oldest · 100`; no signal if `|change%| < min_price_change`.
/// - `velocity = change% / minutes_elapsed` (README), in % per minute.
/// - Acceleration: the window from the oldest point to now is split at its midpoint; `p_mid` is
///   the price of the newest point at or before the midpoint, `v1` and `v2` are the velocities
///   of the two halves, `acceleration = v2 - v1` (% per minute).
/// - `score = velocity + acceleration_weight · acceleration`.
/// - buy when `score > buy_threshold` and the price rose; sell when `score < sell_threshold` and
///   it fell. Confidence: the README's `min(0.95, 0.60 + |score| / 10)`, never below
///   `base_confidence`.
/// - Volume confirmation (`volume_confirmation`): the ticker's `v` is the rolling 24h base
///   volume, so its change over the window is the volume traded in the window minus the volume
///   that left the 24h window. `volume_change% = (v_now - v_oldest) / v_oldest · 100` must be at
///   least `min_volume_change` (in percent: the default 0.2 % of a day's volume in 60 s is
///   about three times the average rate). Without a volume (`v_oldest == 0`) there is no
///   confirmation, hence no signal.
///
/// Bounded state: at most `max_symbols` symbols (when full, the least recently updated eighth is
/// evicted, ties broken by symbol then venue), each holding at most 258 points: event time is cut
/// into buckets of `time_window / 256` and a ticker in the same bucket as the newest point
/// replaces it (the oldest point is never replaced). Out-of-order tickers (event time before the
/// newest point) are ignored. Rate limit per `SymbolKey`: `cooldown_seconds` of event time.
public struct TickerVelocity: TickerStrategy, Sendable {
    public static let id = "ticker_velocity"
    public static let constraints: [ParameterConstraint] = [.lessThan(lower: "sell_threshold", upper: "buy_threshold")]
    /// `STRATEGY_ENABLED_TICKER_VELOCITY=true` (inventory §7.1).
    public static let enabledByDefault = true

    public static let schema: [ParameterSpec] = [
        ParameterSpec("time_window", .int, default: .int(60), min: 30, max: 300,
                      "Look-back window in seconds of event time (TICKER_VELOCITY_TIME_WINDOW)."),
        ParameterSpec("buy_threshold", .double, default: .double(0.5), min: 0.1, max: 2.0,
                      "Buy when the score (% per minute) is above this (TICKER_VELOCITY_BUY_THRESHOLD)."),
        ParameterSpec("sell_threshold", .double, default: .double(-0.5), min: -2.0, max: -0.1,
                      "Sell when the score (% per minute) is below this (TICKER_VELOCITY_SELL_THRESHOLD)."),
        ParameterSpec("min_price_change", .double, default: .double(0.1), min: 0.01, max: 1.0,
                      "Minimum |price change| over the window, in percent (TICKER_VELOCITY_MIN_PRICE_CHANGE)."),
        ParameterSpec("base_confidence", .double, default: .double(0.65), min: 0.5, max: 1.0,
                      "Lower bound of the confidence; the README formula 0.60 + |score|/10 (capped 0.95) applies above it."),
        ParameterSpec("acceleration_weight", .double, default: .double(0.5), min: 0, max: 1,
                      "Weight of the acceleration (second-half minus first-half velocity) added to the velocity."),
        ParameterSpec("volume_confirmation", .bool, default: .bool(true),
                      "Require the ticker's 24h volume to grow by min_volume_change percent over the window."),
        ParameterSpec("min_volume_change", .double, default: .double(0.2), min: 0.1, max: 2.0,
                      "Minimum growth of the 24h volume over the window, in percent, when volume_confirmation is on."),
        ParameterSpec("min_window_coverage", .double, default: .double(0.5), min: 0.1, max: 1.0,
                      "The oldest point in the window must be at least this fraction of time_window old."),
        ParameterSpec("cooldown_seconds", .double, default: .double(60), min: 0, max: 86_400,
                      "Rate limit: at most one signal per symbol (venue + symbol) per this many seconds of event time."),
        ParameterSpec("stop_loss_percent", .double, default: .double(1.0), min: 0.01, max: 50,
                      "Stop-loss distance from the last price, in percent."),
        ParameterSpec("take_profit_percent", .double, default: .double(2.0), min: 0.01, max: 100,
                      "Take-profit distance from the last price, in percent."),
        ParameterSpec("max_symbols", .int, default: .int(4096), min: 1, max: 100_000,
                      "Most symbols tracked at once; when full, the least recently updated eighth is evicted."),
    ]

    public struct Parameters: Sendable, Equatable {
        public var timeWindowSeconds: Int
        public var buyThreshold, sellThreshold, minPriceChange, baseConfidence, accelerationWeight: Double
        public var volumeConfirmation: Bool
        public var minVolumeChange, minWindowCoverage, cooldownSeconds, stopLossPercent, takeProfitPercent: Double
        public var maxSymbols: Int

        public init(_ values: ParameterValues = .init()) {
            let r = SchemaReader(schema: TickerVelocity.schema, values: values)
            timeWindowSeconds = r.int("time_window"); buyThreshold = r.double("buy_threshold")
            sellThreshold = r.double("sell_threshold"); minPriceChange = r.double("min_price_change")
            baseConfidence = r.double("base_confidence"); accelerationWeight = r.double("acceleration_weight")
            volumeConfirmation = r.bool("volume_confirmation"); minVolumeChange = r.double("min_volume_change")
            minWindowCoverage = r.double("min_window_coverage"); cooldownSeconds = r.double("cooldown_seconds")
            stopLossPercent = r.double("stop_loss_percent"); takeProfitPercent = r.double("take_profit_percent")
            maxSymbols = r.int("max_symbols")
        }
    }

    struct Point: Sendable {
        var price: Double
        var volume: Double
    }

    struct SymbolState: Sendable {
        var points = EventTimeSeries<Point>()
        var lastSignalMs: Int64? = nil
        var lastUpdateMs: Int64 = 0
    }

    /// Retained points per symbol are at most `downsampleSlots + 2`.
    static let downsampleSlots: Int64 = 256

    public let parameters: Parameters
    private var states: [SymbolKey: SymbolState] = [:]

    public init(parameters: ParameterValues = .init()) {
        self.parameters = Parameters(parameters)
    }

    public mutating func onTicker(_ ticker: TickerEvent) -> Signal? {
        let price = ticker.lastPrice
        guard price.isFinite, price > 0, ticker.volume.isFinite else { return nil }
        let key = ticker.key
        if states[key] == nil {
            evictLeastRecentlyUsed(&states, maxCount: parameters.maxSymbols, lastUsed: { $0.lastUpdateMs }, keyLess: symbolKeyLess)
            states[key] = SymbolState()
        }
        return states[key]!.withTicker(ticker, parameters)
    }

    public mutating func evict(_ key: SymbolKey) { states.removeValue(forKey: key) }

    public var trackedSymbols: Int { states.count }
    /// Points held for `key`.
    public func pointCount(_ key: SymbolKey) -> Int { states[key]?.points.count ?? 0 }
}

extension TickerVelocity.SymbolState {
    fileprivate mutating func withTicker(_ t: TickerEvent, _ p: TickerVelocity.Parameters) -> Signal? {
        let now = t.eventTimeMs
        if let last = points.lastTime, now < last { return nil }
        lastUpdateMs = now
        let windowMs = Int64(p.timeWindowSeconds) * 1000
        let spacing = windowMs / TickerVelocity.downsampleSlots
        let point = TickerVelocity.Point(price: t.lastPrice, volume: t.volume)
        // One point per `spacing` bucket of event time: the newest ticker of a bucket wins.
        if points.count >= 2, let last = points.lastTime, floorDivide(now, spacing) == floorDivide(last, spacing) {
            points.replaceLast(now, point)
        } else {
            points.append(now, point)
        }
        points.removeBefore(timeDelta(now, windowMs))

        guard points.count >= 2 else { return nil }
        let oldTime = points.time(0)
        let elapsedMs = timeDelta(now, oldTime)
        guard elapsedMs > 0, Double(elapsedMs) >= p.minWindowCoverage * Double(windowMs) else { return nil }
        let old = points.element(0)
        let pNow = t.lastPrice
        let changePercent = (pNow - old.price) / old.price * 100
        guard abs(changePercent) >= p.minPriceChange else { return nil }
        let minutes = Double(elapsedMs) / 60_000
        let velocity = changePercent / minutes

        let mid = oldTime.addingSaturated(elapsedMs / 2)
        let midIndex = points.lastIndex(atOrBefore: mid) ?? 0
        let pMid = points.element(midIndex).price
        let firstMinutes = Double(timeDelta(mid, oldTime)) / 60_000
        let secondMinutes = Double(timeDelta(now, mid)) / 60_000
        let v1 = firstMinutes > 0 ? ((pMid - old.price) / old.price * 100) / firstMinutes : 0
        let v2 = secondMinutes > 0 ? ((pNow - pMid) / pMid * 100) / secondMinutes : 0
        let acceleration = v2 - v1
        let score = velocity + p.accelerationWeight * acceleration

        let action: SignalAction
        if score > p.buyThreshold && changePercent > 0 {
            action = .buy
        } else if score < p.sellThreshold && changePercent < 0 {
            action = .sell
        } else {
            return nil
        }
        var volumeChangePercent = 0.0
        if old.volume > 0 { volumeChangePercent = (t.volume - old.volume) / old.volume * 100 }
        if p.volumeConfirmation && (old.volume <= 0 || volumeChangePercent < p.minVolumeChange) { return nil }
        if let last = lastSignalMs, Double(timeDelta(now, last)) < p.cooldownSeconds * 1000 { return nil }
        lastSignalMs = now

        let confidence = min(0.95, max(p.baseConfidence, 0.60 + abs(score) / 10))
        let sl = p.stopLossPercent / 100, tp = p.takeProfitPercent / 100
        let stopLoss = action == .buy ? pNow * (1 - sl) : pNow * (1 + sl)
        let takeProfit = action == .buy ? pNow * (1 + tp) : pNow * (1 - tp)
        let seconds = Double(elapsedMs) / 1000
        return Signal(
            strategyId: TickerVelocity.id, key: t.key, action: action, confidence: confidence,
            price: pNow, currentPrice: pNow, stopLoss: stopLoss, takeProfit: takeProfit, eventTimeMs: now,
            reasoning: "Price velocity \(DecimalFormat.fixed(velocity, 3))%/min over \(DecimalFormat.fixed(seconds, 1)) s "
                + "(change \(DecimalFormat.fixed(changePercent, 3))%, acceleration "
                + "\(DecimalFormat.fixed(acceleration, 3))%/min², score \(DecimalFormat.fixed(score, 3)))",
            indicators: [("change_percent", changePercent), ("velocity", velocity), ("velocity_first_half", v1),
                         ("velocity_second_half", v2), ("acceleration", acceleration), ("score", score),
                         ("volume_change_percent", volumeChangePercent), ("window_seconds", seconds)],
            metadata: [("strategy", .string(TickerVelocity.id)), ("oldest_price", .double(old.price)),
                       ("mid_price", .double(pMid)), ("volume_confirmed", .bool(p.volumeConfirmation)),
                       ("rate_limit_key", .string("\(TickerVelocity.id):\(t.key.venue):\(t.key.symbol)"))])
    }
}
