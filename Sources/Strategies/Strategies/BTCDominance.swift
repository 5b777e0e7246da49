/// `btc_dominance`: rotation signals on BTCUSDT from a BTC-dominance proxy (inventory §2.6).
///
/// The seed's formulas, operation for operation (so the goldens reproduce bit for bit):
/// - `momentum(asset)`: of the asset's prices in the last `window_hours` (a point exactly
///   `window_hours` old counts), `max(0, (last - first) / first · 100 + 10)`; 0 with fewer than
///   two points.
/// - `dominance = 30 + btc / (btc + eth + bnb) · 50`, none when the total is ≤ 0 or BTC has
///   fewer than two points in the window.
/// - `trend`: the last three dominance entries, `rising` if `v[-1] > v[0] + 1`, `falling` if
///   `v[-1] < v[0] - 1`, else `stable` (`unknown` with fewer than three).
/// - `change_24h`: current entry minus the newest entry at least 24 h old (0 if none).
/// - `dominance > high_threshold` and (rising or `change > change_threshold`): BUY BTCUSDT at
///   `base_confidence_high`; `dominance < low_threshold` and (falling or
///   `change < -change_threshold`): SELL at `base_confidence_low`; otherwise
///   `|change| > change_threshold`: BUY/SELL at `min(momentum_confidence, |change| / 10)`.
/// - Global rate limit: one signal per `min_signal_interval` seconds (event time).
///
/// Differences from the seed, and why (inventory §10 items 1 and 19):
/// - Prices come from typed trade and ticker events (`price`, `lastPrice`) of BTCUSDT, ETHUSDT
///   and BNBUSDT on the configured `venue` (the seed's `.c`/`.p` lookup never matched, so it
///   never ran). Every other symbol is ignored and creates no state.
/// - Event time, never the wall clock. History is downsampled to one point per second per
///   asset (a later price in the same second replaces the earlier one) and the dominance
///   history likewise, so state is bounded: at most `window_hours · 3600 + 2` points per asset
///   and 25 h + 3 of dominance entries, in rings allocated (and resident) at init, so memory
///   does not grow with uptime (≈5.3 MiB at the default 24 h window, ≈13 MiB at 72 h). Prices
///   older than the window are dropped at once (the seed kept one extra hour that no
///   computation read); dominance entries older than the newest one at least 25 h old likewise
///   (the seed kept 48 h; `change_24h` reads only the newest entry at least 24 h old, the extra
///   hour covers events of one asset arriving behind another's). An event older than its
///   asset's newest point is ignored.
/// - The signal price is always the latest BTCUSDT price (the seed took the triggering
///   message's price, e.g. an ETH price for a BTCUSDT signal).
/// - `base_confidence_high/low` and `momentum_confidence` are honoured (the seed declared them
///   and hard-coded the same values).
/// - Its own stop-loss / take-profit: `stop_loss_percent` / `take_profit_percent` (2 % / 5 %,
///   the levels the seed's adapter gave a 0.8-confidence signal, so golden E is unchanged).
/// - `suggested_alts` is the string `"ETHUSDT,BNBUSDT"` (metadata values are scalars);
///   `timestamp` in metadata is the event time in ISO-8601 UTC.
public struct BTCDominance: TradeStrategy, TickerStrategy, Sendable {
    public static let id = "btc_dominance"
    public static let constraints: [ParameterConstraint] = [.lessThan(lower: "low_threshold", upper: "high_threshold")]
    public static let supportsSymbolOverrides = false
    /// `STRATEGY_ENABLED_BTC_DOMINANCE=true` (inventory §7.1).
    public static let enabledByDefault = true
    public static let symbols = ["BTCUSDT", "ETHUSDT", "BNBUSDT"]

    public static let schema: [ParameterSpec] = [
        ParameterSpec("high_threshold", .double, default: .double(70.0), min: 60, max: 90,
                      "Dominance above this (with a rising trend or 24h change) buys BTC (BTC_DOMINANCE_HIGH_THRESHOLD)."),
        ParameterSpec("low_threshold", .double, default: .double(40.0), min: 30, max: 50,
                      "Dominance below this (with a falling trend or 24h change) sells BTC (BTC_DOMINANCE_LOW_THRESHOLD)."),
        ParameterSpec("change_threshold", .double, default: .double(5.0), min: 1, max: 15,
                      "24h dominance change, in points, that confirms or triggers a signal (BTC_DOMINANCE_CHANGE_THRESHOLD)."),
        ParameterSpec("window_hours", .int, default: .int(24), min: 12, max: 72,
                      "Window of the price momentum, in hours of event time (BTC_DOMINANCE_WINDOW_HOURS)."),
        ParameterSpec("min_signal_interval", .int, default: .int(14_400), min: 3600, max: 86_400,
                      "Global rate limit: seconds of event time between two signals (BTC_DOMINANCE_MIN_SIGNAL_INTERVAL)."),
        ParameterSpec("base_confidence_high", .double, default: .double(0.80), min: 0.5, max: 1.0,
                      "Confidence of the high-dominance rotation BUY."),
        ParameterSpec("base_confidence_low", .double, default: .double(0.75), min: 0.5, max: 1.0,
                      "Confidence of the low-dominance rotation SELL."),
        ParameterSpec("momentum_confidence", .double, default: .double(0.70), min: 0.1, max: 1.0,
                      "Cap of the momentum-branch confidence min(cap, |change_24h| / 10)."),
        ParameterSpec("venue", .string, default: .string("spot"), allowed: ["spot", "usdm"],
                      "Binance market whose BTCUSDT/ETHUSDT/BNBUSDT prices are read and whose BTCUSDT is signalled."),
        ParameterSpec("stop_loss_percent", .double, default: .double(2.0), min: 0.01, max: 50,
                      "Stop-loss distance from the BTC price, in percent."),
        ParameterSpec("take_profit_percent", .double, default: .double(5.0), min: 0.01, max: 100,
                      "Take-profit distance from the BTC price, in percent."),
    ]

    public struct Parameters: Sendable, Equatable {
        public var highThreshold, lowThreshold, changeThreshold: Double
        public var windowHours, minSignalIntervalSeconds: Int
        public var baseConfidenceHigh, baseConfidenceLow, momentumConfidence: Double
        public var venue: Venue
        public var stopLossPercent, takeProfitPercent: Double

        public init(_ values: ParameterValues = .init()) {
            let r = SchemaReader(schema: BTCDominance.schema, values: values)
            highThreshold = r.double("high_threshold"); lowThreshold = r.double("low_threshold")
            changeThreshold = r.double("change_threshold"); windowHours = r.int("window_hours")
            minSignalIntervalSeconds = r.int("min_signal_interval")
            baseConfidenceHigh = r.double("base_confidence_high"); baseConfidenceLow = r.double("base_confidence_low")
            momentumConfidence = r.double("momentum_confidence")
            venue = Venue(name: r.string("venue")) ?? .spot
            stopLossPercent = r.double("stop_loss_percent"); takeProfitPercent = r.double("take_profit_percent")
        }
    }

    static let dominanceRetentionMs: Int64 = 48 * 3_600_000
    static let dayMs: Int64 = 24 * 3_600_000

    public let parameters: Parameters
    /// Prices of BTC, ETH, BNB (index as in `symbols`), one point per second, in rings sized for
    /// the window (allocated at init: the memory does not grow with uptime).
    private var prices: [EventTimeSeries<Double>]
    /// Dominance entries, one per second: the last 25 h and the newest entry older than that.
    private var dominanceHistory = EventTimeSeries<Double>(capacity: dominanceCapacity, filler: 0)
    private var lastSignalMs: Int64? = nil
    /// The dominance computed on the last event that produced one.
    public private(set) var lastDominance: Double? = nil

    public init(parameters: ParameterValues = .init()) {
        let resolved = Parameters(parameters)
        self.parameters = resolved
        let capacity = Self.priceCapacity(windowHours: resolved.windowHours)
        // Three separate rings (copies of one would share storage until their first append).
        prices = (0..<3).map { _ in EventTimeSeries<Double>(capacity: capacity, filler: 0) }
    }

    /// One point per second over a window whose both ends count (`window · 3600 + 1` seconds),
    /// plus the point appended before the window is pruned.
    static func priceCapacity(windowHours: Int) -> Int { windowHours * 3600 + 2 }
    /// One-per-second entries over a day and `pruneSlackMs` (both ends), the older entry that
    /// `change_24h` reads, and the entry appended before pruning.
    static let dominanceCapacity = Int((dayMs + pruneSlackMs) / 1000) + 3
    /// Entries are pruned this long after `change_24h` stops needing them, so an event whose
    /// time is behind the newest (another asset's trade arriving late) reads what 48 h of
    /// retention would give it.
    static let pruneSlackMs: Int64 = 3_600_000

    public mutating func onTrade(_ trade: TradeEvent) -> Signal? {
        onPrice(key: trade.key, price: trade.price, eventTimeMs: trade.eventTimeMs)
    }

    public mutating func onTicker(_ ticker: TickerEvent) -> Signal? {
        onPrice(key: ticker.key, price: ticker.lastPrice, eventTimeMs: ticker.eventTimeMs)
    }

    /// One price of one of the three assets; anything else is ignored.
    public mutating func onPrice(key: SymbolKey, price: Double, eventTimeMs now: Int64) -> Signal? {
        guard key.venue == parameters.venue, price.isFinite, price > 0,
              let asset = Self.symbols.firstIndex(of: key.symbol) else { return nil }
        guard record(asset: asset, price: price, at: now) else { return nil }
        let windowStart = timeDelta(now, Int64(parameters.windowHours) * 3_600_000)
        for i in 0..<3 { prices[i].removeBefore(windowStart) }
        guard let dominance = computeDominance() else { return nil }
        lastDominance = dominance
        recordDominance(dominance, at: now)
        return generateSignal(dominance: dominance, now: now)
    }

    public mutating func evict(_ key: SymbolKey) {
        guard key.venue == parameters.venue, let asset = Self.symbols.firstIndex(of: key.symbol) else { return }
        prices[asset].removeAll()
    }

    /// Points held per asset (BTC, ETH, BNB) and dominance entries.
    public var pointCounts: [Int] { prices.map(\.count) }
    /// Points the preallocated rings hold (prices per asset, then dominance): fixed at init.
    public var capacities: [Int] { prices.map(\.capacity) + [dominanceHistory.capacity] }
    public var dominanceCount: Int { dominanceHistory.count }

    // MARK: - Steps (internal so tests can seed state as the seed's goldens did)

    /// Adds a price point, one per second; false if the event is older than the newest point.
    mutating func record(asset: Int, price: Double, at now: Int64) -> Bool {
        if let last = prices[asset].lastTime {
            if now < last { return false }
            if floorDivide(now, 1000) == floorDivide(last, 1000) {
                prices[asset].replaceLast(now, price)
                return true
            }
        }
        prices[asset].append(now, price)
        return true
    }

    /// The seed's `_calculate_momentum` over the (already pruned) window.
    func momentum(_ asset: Int) -> Double {
        let series = prices[asset]
        guard series.count >= 2 else { return 0 }
        let start = series.element(0), end = series.element(series.count - 1)
        let momentum = ((end - start) / start) * 100
        return max(0, momentum + 10)
    }

    /// The seed's `_calculate_btc_dominance`.
    func computeDominance() -> Double? {
        guard prices[0].count >= 2 else { return nil }
        let btc = momentum(0), eth = momentum(1), bnb = momentum(2)
        let total = btc + eth + bnb
        guard total > 0 else { return nil }
        let ratio = btc / total
        return 30 + (ratio * 50)
    }

    /// Appends a dominance entry (one per second) and drops entries 48 h old or older, and those
    /// older than the newest entry at least 25 h old.
    mutating func recordDominance(_ dominance: Double, at now: Int64) {
        if let last = dominanceHistory.lastTime, floorDivide(now, 1000) == floorDivide(last, 1000), now >= last {
            dominanceHistory.replaceLast(now, dominance)
        } else if dominanceHistory.lastTime.map({ now > $0 }) ?? true {
            dominanceHistory.append(now, dominance)
        }
        dominanceHistory.removeThrough(timeDelta(now, Self.dominanceRetentionMs))
        // `change_24h` reads only the newest entry at least 24 h old: older ones are never read
        // again (the seed kept all 48 h).
        let horizon = timeDelta(now, Self.dayMs + Self.pruneSlackMs)
        while dominanceHistory.count >= 2 && dominanceHistory.time(1) <= horizon { dominanceHistory.removeFirst() }
    }

    func trend() -> String {
        let n = dominanceHistory.count
        guard n >= 3 else { return "unknown" }
        let first = dominanceHistory.element(n - 3), last = dominanceHistory.element(n - 1)
        if last > first + 1 { return "rising" }
        if last < first - 1 { return "falling" }
        return "stable"
    }

    func change24h(now: Int64) -> Double {
        let n = dominanceHistory.count
        guard n >= 2, let i = dominanceHistory.lastIndex(atOrBefore: timeDelta(now, Self.dayMs)) else { return 0 }
        return dominanceHistory.element(n - 1) - dominanceHistory.element(i)
    }

    /// The seed's `_generate_dominance_signal`, on event time.
    mutating func generateSignal(dominance: Double, now: Int64) -> Signal? {
        let p = parameters
        if let last = lastSignalMs, timeDelta(now, last) < Int64(p.minSignalIntervalSeconds) * 1000 { return nil }
        guard let btcPrice = prices[0].lastElement, btcPrice > 0 else { return nil }
        let trend = trend()
        let change = change24h(now: now)

        let action: SignalAction
        let confidence: Double
        let reasoning: String
        var metadata: [(String, MetadataValue)] = [
            ("dominance", .double(dominance)), ("trend", .string(trend)), ("change_24h", .double(change)),
        ]
        if dominance > p.highThreshold {
            guard trend == "rising" || change > p.changeThreshold else { return nil }
            action = .buy
            confidence = p.baseConfidenceHigh
            reasoning = "High BTC dominance (\(DecimalFormat.fixed(dominance, 1))%) with rising trend"
            metadata += [("strategy_type", .string("dominance_rotation")), ("rotation_direction", .string("to_btc"))]
        } else if dominance < p.lowThreshold {
            guard trend == "falling" || change < -p.changeThreshold else { return nil }
            action = .sell
            confidence = p.baseConfidenceLow
            reasoning = "Low BTC dominance (\(DecimalFormat.fixed(dominance, 1))%) - alt season"
            metadata += [("strategy_type", .string("dominance_rotation")), ("rotation_direction", .string("to_alts")),
                         ("suggested_alts", .string("ETHUSDT,BNBUSDT"))]
        } else if abs(change) > p.changeThreshold {
            confidence = min(p.momentumConfidence, abs(change) / 10)
            if change > 0 {
                action = .buy
                reasoning = "BTC dominance momentum: \(DecimalFormat.fixed(change, 1))% change"
            } else {
                action = .sell
                reasoning = "BTC dominance decline: \(DecimalFormat.fixed(change, 1))% change"
            }
            metadata.append(("strategy_type", .string("dominance_momentum")))
        } else {
            return nil
        }
        lastSignalMs = now
        metadata += [("timestamp", .string(formatISO8601Millis(now))),
                     ("rate_limit_key", .string(Self.id))]
        let sl = p.stopLossPercent / 100, tp = p.takeProfitPercent / 100
        let stopLoss = action == .buy ? btcPrice * (1 - sl) : btcPrice * (1 + sl)
        let takeProfit = action == .buy ? btcPrice * (1 + tp) : btcPrice * (1 - tp)
        return Signal(
            strategyId: Self.id, key: SymbolKey(venue: p.venue, symbol: "BTCUSDT"), action: action,
            confidence: confidence, price: btcPrice, currentPrice: btcPrice, stopLoss: stopLoss,
            takeProfit: takeProfit, eventTimeMs: now, timeframe: "1m", reasoning: reasoning,
            indicators: [("dominance", dominance), ("change_24h", change), ("btc_momentum", momentum(0)),
                         ("eth_momentum", momentum(1)), ("bnb_momentum", momentum(2))],
            metadata: metadata)
    }
}
