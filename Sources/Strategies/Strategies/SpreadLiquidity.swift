/// `spread_liquidity`: trades liquidity withdrawal (a sudden widening of the bid-ask spread with
/// the top-5 depth draining: SELL) and its return (a long-lasting wide spread snapping back to
/// normal: BUY). A port of the seed's `SpreadLiquidityStrategy` (inventory §2.4), on exchange event
/// time, with the seed's weaknesses fixed by default (inventory §10.15).
///
/// Per depth update, for each symbol:
/// - no signal and nothing recorded for an empty side, a non-positive price or a crossed or
///   locked book (`best_ask <= best_bid`);
/// - `mid = (bid0 + ask0) / 2`, `spread_bps = (ask0 - bid0) / mid · 10000`,
///   `total_depth` = sum of the first 5 bid and the first 5 ask quantities;
/// - from the history (at least 3 samples, the current one included): `spread_ratio` = spread
///   over the average of the earlier samples, `spread_velocity` (relative spread change per
///   second), `depth_reduction_pct = 1 - total_depth / average depth`;
/// - **narrowing → BUY** when a wide event is open, `velocity < -velocity_threshold`,
///   `ratio < spread_ratio_threshold` and the event has lasted more than
///   `persistence_threshold_seconds`; the event is closed (even if the signal is then
///   rate-limited, as in the seed);
/// - **wide event registration** when `ratio > spread_ratio_threshold` and
///   `spread_bps > spread_threshold_bps` and no event is open;
/// - **widening → SELL** when `velocity > velocity_threshold`,
///   `ratio > spread_ratio_threshold · 1.2` and `depth_reduction_pct > min_depth_reduction_pct`;
/// - one signal per symbol per `min_signal_interval_seconds` of event time (both directions share
///   the key, as in the seed); an event at exactly the interval is allowed;
/// - the signal trades at mid with the seed's ATR proxy `atr = 2 · (ask0 - bid0)`:
///   BUY `SL = mid - atr`, `TP = mid + 2·atr`; SELL `SL = mid + atr`, `TP = mid - 2·atr`.
///
/// Two modes, chosen by `lookback_mode`:
///
/// **`ticks` (seed-compatible).** Reproduces the seed's arithmetic bit for bit (golden payloads
/// A and B of inventory §3.5), only on event time instead of arrival time (for the seed's exact
/// behaviour also set `wide_event_ttl_seconds` to 0):
/// - the history is the last `lookback_ticks` updates, whatever time they span;
/// - averages are plain means of the earlier samples (left-to-right sums);
/// - velocity is measured against the oldest sample of the history:
///   `((s - s0) / s0) / (t - t0)` in seconds, 0 when `t - t0 <= 0`;
/// - confidence: narrowing `base + (ratio - spread_ratio_threshold)·0.05 +
///   min(0.10, persistence/300·0.10)`,
///   widening `base + |velocity|·0.10 + depth_reduction·0.15`, both capped at 0.95;
/// - `persistence_seconds` is `t/1000 - start/1000` on epoch seconds, as the seed subtracted two
///   `datetime.timestamp()` floats (31.09999990463257 rather than 31.1 in golden B).
///
/// **`time` (the default).** The seed's flaws fixed:
/// - the history is every update of the last `lookback_seconds` of event time (a sample exactly
///   `lookback_seconds` old is kept, one a millisecond older is dropped), at most `max_samples`
///   of them (the oldest is dropped beyond that);
/// - averages are time-weighted: each earlier sample counts for as long as it was the current
///   book, so a burst of updates a millisecond apart weighs no more than one update;
/// - velocity is measured over at least `velocity_window_seconds`: against the latest sample at
///   least that old (the oldest sample if none is), dividing by `max(elapsed, window)`. The seed
///   divided by the span of the last 20 ticks, so a BUY could never fire at a 1 s cadence
///   (velocity ≥ -1/19 per s) and millisecond bursts gave velocities in the thousands;
/// - confidence does not saturate: widening `base + 0.10·v/(1+v) + 0.15·depth_reduction` with
///   `v = |velocity|`, narrowing `base + 0.05·(1 - ratio/spread_ratio_threshold) +
///   min(0.10, persistence/300·0.10)` (the seed's narrowing term `(ratio - 2.5)·0.05` was always
///   negative), both capped at 0.95;
/// - a wide event also ends without a signal when the spread is back at or below
///   `spread_threshold_bps` (the seed kept it, so a later blip fired a BUY "after" a long-gone
///   episode);
/// - `persistence_seconds` is exact: `(t - start) / 1000`.
///
/// In both modes:
/// - a wide event older than `wide_event_ttl_seconds` expires (0: never, as in the seed); an
///   event exactly that old is still open;
/// - time is the `eventTimeMs` passed in, clamped to be non-decreasing per symbol (a late frame
///   counts as "now"), never the wall clock; replaying the same input gives the same signals;
/// - at most `max_symbols` symbols are tracked; a new symbol beyond that evicts the least
///   recently updated one. Per symbol the state is a ring of at most `lookback_ticks` or
///   `max_samples` samples, one wide event and one rate-limit time;
/// - the signal's `stopLoss`/`takeProfit` are the ATR-proxy levels above (the seed only put them
///   in metadata and published the adapter's flat 2/3/5 % tiers, inventory §10.10);
///   `quantity` is left nil, so the adapter's price tiers apply, as in the seed;
/// - `strategyId` is `spread_liquidity` (the seed published "Spread Liquidity Monitor").
///
/// Metadata keys, in the seed's order: `strategy_id`, `event_type` (`narrowing`/`widening`),
/// `persistence_seconds` (0 for widening), `best_bid`, `best_ask`, `spread_bps`, `spread_ratio`,
/// `spread_velocity`, `total_depth`, `depth_reduction_pct`, `stop_loss`, `take_profit`,
/// `quantity` (0.001, informational as in the seed), `timeframe` (`tick`), then `lookback_mode`.
/// The seed's `reasoning` key is `Signal.reasoning`, which the encoder writes into metadata.
public struct SpreadLiquidity: BookStrategy, Sendable {
    public static let id = "spread_liquidity"
    public static let enabledByDefault = true

    /// The seed's eight keys with its defaults and ranges (inventory §4.2), then ours.
    public static let schema: [ParameterSpec] = [
        ParameterSpec("spread_threshold_bps", .double, default: .double(10.0), min: 1, max: 100,
                      "Minimum spread, in basis points, for an abnormal spread to open a wide-spread event."),
        ParameterSpec("spread_ratio_threshold", .double, default: .double(2.5), min: 1.5, max: 10,
                      "Spread over its lookback average above which the spread is abnormal; a BUY needs the ratio back below it, a SELL above 1.2 times it."),
        ParameterSpec("velocity_threshold", .double, default: .double(0.5), min: 0.1, max: 2.0,
                      "Relative spread change per second beyond which the spread is widening (> v) or narrowing (< -v)."),
        ParameterSpec("persistence_threshold_seconds", .double, default: .double(30.0), min: 10, max: 300,
                      "A wide-spread event must have lasted longer than this (event time) before its narrowing is a BUY."),
        ParameterSpec("min_depth_reduction_pct", .double, default: .double(0.5), min: 0.1, max: 0.9,
                      "A SELL needs the top-5 depth to have fallen by more than this fraction of its lookback average."),
        ParameterSpec("base_confidence", .double, default: .double(0.70), min: 0.5, max: 1.0,
                      "Confidence before the event-strength terms; the result is capped at 0.95."),
        ParameterSpec("lookback_ticks", .int, default: .int(20), min: 5, max: 100,
                      "lookback_mode=ticks: number of updates in the history (the seed's deque length)."),
        ParameterSpec("min_signal_interval_seconds", .double, default: .double(60.0), min: 30, max: 600,
                      "Minimum event time between two signals of a symbol, buy and sell alike."),
        ParameterSpec("lookback_mode", .string, default: .string("time"), allowed: ["time", "ticks"],
                      "time: time-based window, rate-independent velocity and non-saturating confidence; ticks: the seed's tick window and formulas (golden-compatible)."),
        ParameterSpec("lookback_seconds", .double, default: .double(60.0), min: 1, max: 3600,
                      "lookback_mode=time: event-time span of the history used for the averages."),
        ParameterSpec("velocity_window_seconds", .double, default: .double(1.0), min: 0.1, max: 60,
                      "lookback_mode=time: velocity is measured over at least this much event time."),
        ParameterSpec("max_samples", .int, default: .int(1024), min: 3, max: 10_000,
                      "lookback_mode=time: most samples kept per symbol; beyond it the oldest is dropped."),
        ParameterSpec("wide_event_ttl_seconds", .double, default: .double(300.0), min: 0, max: 86_400,
                      "A wide-spread event older than this expires without a signal; 0 keeps it until it narrows (seed)."),
        ParameterSpec("max_symbols", .int, default: .int(1000), min: 1, max: 100_000,
                      "Most symbols with state; a new symbol beyond it evicts the least recently updated one."),
    ]

    public enum LookbackMode: String, Sendable, Equatable {
        /// Time-based window with the fixes (default).
        case time
        /// The seed's tick window and formulas.
        case ticks
    }

    /// Resolved parameter values.
    public struct Configuration: Sendable, Equatable {
        public var spreadThresholdBps: Double
        public var spreadRatioThreshold: Double
        public var velocityThreshold: Double
        public var persistenceThresholdSeconds: Double
        public var minDepthReductionPct: Double
        public var baseConfidence: Double
        public var lookbackTicks: Int
        public var minSignalIntervalSeconds: Double
        public var lookbackMode: LookbackMode
        public var lookbackSeconds: Double
        public var velocityWindowSeconds: Double
        public var maxSamples: Int
        public var wideEventTTLSeconds: Double
        public var maxSymbols: Int

        /// Values from `parameters`; a missing or mistyped value takes the schema default, and
        /// every number is clamped to its schema range.
        public init(_ parameters: ParameterValues) {
            let p = SchemaReader(schema: SpreadLiquidity.schema, values: parameters)
            spreadThresholdBps = p.double("spread_threshold_bps")
            spreadRatioThreshold = p.double("spread_ratio_threshold")
            velocityThreshold = p.double("velocity_threshold")
            persistenceThresholdSeconds = p.double("persistence_threshold_seconds")
            minDepthReductionPct = p.double("min_depth_reduction_pct")
            baseConfidence = p.double("base_confidence")
            lookbackTicks = p.int("lookback_ticks")
            minSignalIntervalSeconds = p.double("min_signal_interval_seconds")
            lookbackMode = LookbackMode(rawValue: p.string("lookback_mode")) ?? .time
            lookbackSeconds = p.double("lookback_seconds")
            velocityWindowSeconds = p.double("velocity_window_seconds")
            maxSamples = p.int("max_samples")
            wideEventTTLSeconds = p.double("wide_event_ttl_seconds")
            maxSymbols = p.int("max_symbols")
        }
    }

    public let configuration: Configuration
    private var symbols: BookSymbolTable<SymbolState>
    /// Events detected (narrowing or widening), rate-limited ones included (seed `events_detected`).
    public private(set) var eventsDetected: Int = 0
    /// Signals emitted (seed `signals_generated`).
    public private(set) var signalsGenerated: Int = 0

    public init(parameters: ParameterValues = .init()) {
        configuration = Configuration(parameters)
        symbols = BookSymbolTable(capacity: configuration.maxSymbols)
    }

    /// Symbols with state.
    public var trackedSymbols: Int { symbols.count }

    /// Wide-spread events currently open (seed `active_wide_events`).
    public var activeWideEvents: Int {
        var n = 0
        symbols.forEachState { if $0.wideStartMs != nil { n += 1 } }
        return n
    }

    /// Samples in a symbol's history (0 if untracked).
    public func historyCount(_ key: SymbolKey) -> Int {
        symbols.state(for: key)?.samples.count ?? 0
    }

    public mutating func evict(_ key: SymbolKey) {
        _ = symbols.remove(key)
    }

    public mutating func onBook(key: SymbolKey, bids: PriceLevels, asks: PriceLevels, eventTimeMs: Int64) -> Signal? {
        guard let bestBid = bids.prices.first, let bestAsk = asks.prices.first else { return nil }
        guard bestBid > 0, bestAsk > 0, bestAsk > bestBid else { return nil }
        let c = configuration

        let mid = (bestBid + bestAsk) / 2
        let spreadAbs = bestAsk - bestBid
        let spreadBps = (spreadAbs / mid) * 10000
        var bidTop5 = 0.0
        for i in 0..<min(5, bids.count) { bidTop5 += bids.quantities[i] }
        var askTop5 = 0.0
        for i in 0..<min(5, asks.count) { askTop5 += asks.quantities[i] }
        let totalDepth = bidTop5 + askTop5

        let capacity = c.lookbackMode == .ticks ? c.lookbackTicks : c.maxSamples
        let slot = symbols.touch(key) { SymbolState(capacity: capacity) }.slot
        var st = symbols.take(slot)
        defer { symbols.put(slot, st) }

        let now = max(eventTimeMs, st.lastEventMs)
        st.lastEventMs = now
        st.samples.push(Sample(timeMs: now, spreadBps: spreadBps, depth: totalDepth))
        if c.lookbackMode == .time {
            let cutoff = now.subtractingSaturated(millisecondsSaturated(c.lookbackSeconds))
            while st.samples.count > 1, st.samples[0].timeMs < cutoff { st.samples.removeFirst() }
        }
        if c.wideEventTTLSeconds > 0, let start = st.wideStartMs,
           Double(now.subtractingSaturated(start)) > c.wideEventTTLSeconds * 1000 {
            st.wideStartMs = nil
        }
        guard st.samples.count >= 3 else { return nil }

        let snap = c.lookbackMode == .ticks
            ? Self.tickSnapshot(st.samples, spreadBps: spreadBps, depth: totalDepth, now: now)
            : Self.timeSnapshot(st.samples, spreadBps: spreadBps, depth: totalDepth, now: now,
                                velocityWindowMs: millisecondsSaturated(c.velocityWindowSeconds))
        let isWidening = snap.velocity > c.velocityThreshold
        let isNarrowing = snap.velocity < -c.velocityThreshold
        let isAbnormal = snap.ratio > c.spreadRatioThreshold

        // Event detection, in the seed's order: narrowing, registration, widening.
        var event: EventKind? = nil
        var persistence = 0.0
        if let start = st.wideStartMs {
            let p = c.lookbackMode == .ticks
                ? Double(now) / 1000 - Double(start) / 1000
                : Double(now.subtractingSaturated(start)) / 1000
            if isNarrowing && snap.ratio < c.spreadRatioThreshold && p > c.persistenceThresholdSeconds {
                event = .narrowing
                persistence = p
                st.wideStartMs = nil
            } else if c.lookbackMode == .time && spreadBps <= c.spreadThresholdBps {
                st.wideStartMs = nil  // back to normal without a snap: the episode is over
            }
        }
        if event == nil {
            if isAbnormal && spreadBps > c.spreadThresholdBps && st.wideStartMs == nil {
                st.wideStartMs = now
            }
            if isWidening && snap.ratio > c.spreadRatioThreshold * 1.2
                && snap.depthReduction > c.minDepthReductionPct {
                event = .widening
            }
        }
        guard let event else { return nil }
        eventsDetected += 1

        let confidence = Self.confidence(event, snap, persistence: persistence, c)
        if let last = st.lastSignalMs, Double(now.subtractingSaturated(last)) < c.minSignalIntervalSeconds * 1000 { return nil }
        st.lastSignalMs = now
        signalsGenerated += 1

        let atr = spreadAbs * 2
        let action: SignalAction
        let stopLoss: Double
        let takeProfit: Double
        let reasoning: String
        switch event {
        case .narrowing:
            action = .buy
            stopLoss = mid - atr
            takeProfit = mid + (atr * 2)
            reasoning = "Liquidity returning after withdrawal (spread normalizing)"
        case .widening:
            action = .sell
            stopLoss = mid + atr
            takeProfit = mid - (atr * 2)
            reasoning = "Smart money liquidity withdrawal (rapid spread widening + depth reduction)"
        }
        return Signal(
            strategyId: Self.id, key: key, action: action, confidence: confidence,
            price: mid, currentPrice: mid, stopLoss: stopLoss, takeProfit: takeProfit,
            eventTimeMs: eventTimeMs, timeframe: "tick", reasoning: reasoning,
            indicators: [("spread_bps", spreadBps), ("spread_ratio", snap.ratio),
                         ("spread_velocity", snap.velocity), ("depth_reduction_pct", snap.depthReduction)],
            metadata: [
                ("strategy_id", .string(Self.id)),
                ("event_type", .string(event == .narrowing ? "narrowing" : "widening")),
                ("persistence_seconds", .double(persistence)),
                ("best_bid", .double(bestBid)),
                ("best_ask", .double(bestAsk)),
                ("spread_bps", .double(spreadBps)),
                ("spread_ratio", .double(snap.ratio)),
                ("spread_velocity", .double(snap.velocity)),
                ("total_depth", .double(totalDepth)),
                ("depth_reduction_pct", .double(snap.depthReduction)),
                ("stop_loss", .double(stopLoss)),
                ("take_profit", .double(takeProfit)),
                ("quantity", .double(0.001)),
                ("timeframe", .string("tick")),
                ("lookback_mode", .string(c.lookbackMode.rawValue)),
            ])
    }

    // MARK: - Internals

    enum EventKind: Equatable { case narrowing, widening }

    struct Sample: Sendable {
        var timeMs: Int64
        var spreadBps: Double
        var depth: Double
    }

    struct SymbolState: Sendable {
        var samples: SampleRing
        var lastEventMs: Int64 = .min
        /// Start of the open wide-spread event, if any.
        var wideStartMs: Int64? = nil
        var lastSignalMs: Int64? = nil

        init(capacity: Int) { samples = SampleRing(capacity: capacity) }
    }

    struct Snapshot {
        var ratio: Double
        var velocity: Double
        var depthReduction: Double
    }

    /// The seed's `_create_snapshot`, operation for operation.
    static func tickSnapshot(_ h: SampleRing, spreadBps: Double, depth: Double, now: Int64) -> Snapshot {
        let earlier = h.count - 1
        var spreadSum = 0.0
        var depthSum = 0.0
        var seen = 0
        h.forEach { s in
            if seen < earlier {
                spreadSum += s.spreadBps
                depthSum += s.depth
            }
            seen += 1
        }
        let avgSpread = spreadSum / Double(max(1, earlier))
        let ratio = avgSpread > 0 ? spreadBps / avgSpread : 1.0
        var velocity = 0.0
        let old = h[0]
        let dt = Double(now.subtractingSaturated(old.timeMs)) / 1000  // timedelta.total_seconds(): exact ms / 1000
        if dt > 0 { velocity = ((spreadBps - old.spreadBps) / old.spreadBps) / dt }
        let avgDepth = depthSum / Double(max(1, earlier))
        let reduction = avgDepth > 0 ? 1.0 - (depth / avgDepth) : 0.0
        return Snapshot(ratio: ratio, velocity: velocity, depthReduction: reduction)
    }

    /// Time-weighted averages over the window and a velocity over at least `velocityWindowMs`.
    /// Each earlier sample weighs the time until the next one (the last: until now).
    static func timeSnapshot(_ h: SampleRing, spreadBps: Double, depth: Double, now: Int64,
                             velocityWindowMs: Int64) -> Snapshot {
        let earlier = h.count - 1
        var spreadSum = 0.0, depthSum = 0.0
        var weightedSpread = 0.0, weightedDepth = 0.0, totalWeight = 0.0
        var ref = h[0]
        var previous = ref
        var seen = 0
        h.forEach { s in
            if seen > 0 {
                let w = Double(s.timeMs.subtractingSaturated(previous.timeMs))
                spreadSum += previous.spreadBps
                depthSum += previous.depth
                weightedSpread += previous.spreadBps * w
                weightedDepth += previous.depth * w
                totalWeight += w
                if now.subtractingSaturated(previous.timeMs) >= velocityWindowMs { ref = previous }
            }
            previous = s
            seen += 1
        }
        let avgSpread: Double
        let avgDepth: Double
        if totalWeight > 0 {
            avgSpread = weightedSpread / totalWeight
            avgDepth = weightedDepth / totalWeight
        } else {
            avgSpread = spreadSum / Double(earlier)
            avgDepth = depthSum / Double(earlier)
        }
        let ratio = avgSpread > 0 ? spreadBps / avgSpread : 1.0
        let span = max(Double(now.subtractingSaturated(ref.timeMs)), Double(velocityWindowMs)) / 1000
        let velocity = ref.spreadBps > 0 && span > 0 ? ((spreadBps - ref.spreadBps) / ref.spreadBps) / span : 0
        let reduction = avgDepth > 0 ? 1.0 - (depth / avgDepth) : 0.0
        return Snapshot(ratio: ratio, velocity: velocity, depthReduction: reduction)
    }

    static func confidence(_ event: EventKind, _ s: Snapshot, persistence: Double, _ c: Configuration) -> Double {
        var confidence = c.baseConfidence
        switch (event, c.lookbackMode) {
        case (.narrowing, .ticks):
            confidence += (s.ratio - c.spreadRatioThreshold) * 0.05
            confidence += min(0.10, persistence / 300.0 * 0.10)
        case (.widening, .ticks):
            confidence += abs(s.velocity) * 0.10
            confidence += s.depthReduction * 0.15
        case (.narrowing, .time):
            confidence += (1 - s.ratio / c.spreadRatioThreshold) * 0.05
            confidence += min(0.10, persistence / 300.0 * 0.10)
        case (.widening, .time):
            let v = abs(s.velocity)
            confidence += v / (1 + v) * 0.10
            confidence += s.depthReduction * 0.15
        }
        return min(0.95, confidence)
    }
}

// MARK: - Sample ring

extension SpreadLiquidity {
    /// A ring of spread samples, oldest first. Storage grows by doubling up to `capacity`, then
    /// stays fixed: pushing onto a full ring drops the oldest sample.
    struct SampleRing: Sendable {
        private var buffer: [Sample] = []
        private var start = 0
        private(set) var count = 0
        let capacity: Int

        init(capacity: Int) { self.capacity = max(1, capacity) }

        subscript(i: Int) -> Sample {
            buffer[(start + i) % buffer.count]
        }

        mutating func push(_ s: Sample) {
            if count == buffer.count {
                if buffer.count < capacity {
                    grow()
                } else {
                    buffer[start] = s
                    start = (start + 1) % buffer.count
                    return
                }
            }
            buffer[(start + count) % buffer.count] = s
            count += 1
        }

        /// Calls `body` on every sample, oldest first, without index arithmetic per element.
        @inline(__always)
        func forEach(_ body: (Sample) -> Void) {
            buffer.withUnsafeBufferPointer { b in
                let firstEnd = Swift.min(start + count, b.count)
                for i in start..<firstEnd { body(b[i]) }
                let wrapped = count - (firstEnd - start)
                for i in 0..<wrapped { body(b[i]) }
            }
        }

        mutating func removeFirst() {
            start = (start + 1) % buffer.count
            count -= 1
        }

        private mutating func grow() {
            let newCount = min(capacity, max(8, buffer.count * 2))
            var next = [Sample](repeating: .init(timeMs: 0, spreadBps: 0, depth: 0), count: newCount)
            for i in 0..<count { next[i] = self[i] }
            buffer = next
            start = 0
        }
    }
}

// MARK: - Shared helpers of the book strategies (also used by IcebergDetector.swift)

/// Per-symbol state with a fixed capacity and least-recently-updated eviction, in O(1) per
/// operation (slots in arrays, an intrusive doubly linked list for recency).
///
/// `take`/`put` move a state out of the table and back, so the caller mutates a uniquely
/// referenced value (no copy-on-write of the arrays inside it).
struct BookSymbolTable<State>: Sendable where State: Sendable {
    let capacity: Int
    private var slotOf: [SymbolKey: Int] = [:]
    private var keys: [SymbolKey?] = []
    private var states: [State?] = []
    private var prev: [Int] = []
    private var next: [Int] = []
    /// Most and least recently touched slots (-1: none).
    private var head = -1
    private var tail = -1
    private var free: [Int] = []

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        slotOf.reserveCapacity(min(self.capacity, 1024))
    }

    var count: Int { slotOf.count }

    func slot(of key: SymbolKey) -> Int? { slotOf[key] }

    func state(for key: SymbolKey) -> State? {
        guard let slot = slotOf[key] else { return nil }
        return states[slot]
    }

    func key(at slot: Int) -> SymbolKey? { keys[slot] }

    /// The least recently touched slot, if any.
    var leastRecentSlot: Int? { tail >= 0 ? tail : nil }

    /// The slot touched just after `slot`, if any (walks from `leastRecentSlot` to the newest).
    func moreRecent(than slot: Int) -> Int? { prev[slot] >= 0 ? prev[slot] : nil }

    /// The slot of `key`, now the most recently used; created with `make()` if absent. When the
    /// table is full, the least recently used entry is removed first and returned.
    mutating func touch(_ key: SymbolKey, make: () -> State) -> (slot: Int, evicted: (SymbolKey, State)?) {
        if let slot = slotOf[key] {
            moveToFront(slot)
            return (slot, nil)
        }
        var evicted: (SymbolKey, State)? = nil
        if slotOf.count >= capacity, tail >= 0, let oldKey = keys[tail], let old = remove(oldKey) {
            evicted = (oldKey, old)
        }
        let slot: Int
        if let reused = free.popLast() {
            slot = reused
            keys[slot] = key
            states[slot] = make()
        } else {
            slot = keys.count
            keys.append(key)
            states.append(make())
            prev.append(-1)
            next.append(-1)
        }
        slotOf[key] = slot
        linkFront(slot)
        return (slot, evicted)
    }

    /// Moves the state out of `slot`; `put` it back before touching the table again.
    mutating func take(_ slot: Int) -> State {
        let s = states[slot]!
        states[slot] = nil
        return s
    }

    mutating func put(_ slot: Int, _ state: State) { states[slot] = state }

    /// Drops `key`, returning its state.
    @discardableResult
    mutating func remove(_ key: SymbolKey) -> State? {
        guard let slot = slotOf.removeValue(forKey: key) else { return nil }
        unlink(slot)
        let s = states[slot]
        states[slot] = nil
        keys[slot] = nil
        free.append(slot)
        return s
    }

    func forEachState(_ body: (State) -> Void) {
        for s in states { if let s { body(s) } }
    }

    private mutating func moveToFront(_ slot: Int) {
        guard head != slot else { return }
        unlink(slot)
        linkFront(slot)
    }

    private mutating func linkFront(_ slot: Int) {
        prev[slot] = -1
        next[slot] = head
        if head >= 0 { prev[head] = slot }
        head = slot
        if tail < 0 { tail = slot }
    }

    private mutating func unlink(_ slot: Int) {
        let p = prev[slot], n = next[slot]
        if p >= 0 { next[p] = n } else { head = n }
        if n >= 0 { prev[n] = p } else { tail = p }
        prev[slot] = -1
        next[slot] = -1
    }
}
