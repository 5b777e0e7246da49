/// `iceberg_detector`: detects large hidden orders from how individual price levels of the book
/// behave over time, and trades with them: a hidden buyer (bid) is a BUY, a hidden seller (ask)
/// a SELL. A port of the seed's `IcebergDetectorStrategy` and `OrderBookTracker` (inventory §2.5),
/// on exchange event time, with the weaknesses of inventory §10.14 fixed.
///
/// Per depth update, for each symbol:
/// - no signal for an empty side;
/// - every level of the update (bids, then asks) gets a snapshot of its quantity. A **refill** is
///   counted when the last three snapshots `(q0, q1, q2)` of a level satisfy `q1 < 0.5·q0`,
///   `q2 > 0.8·q0` and were taken less than `refill_speed_threshold_seconds` apart (t2 - t0);
///   `avg_refill_speed` is `(t - first_seen) / refill_count` once there are 2 refills (the seed's
///   formula and name; `mean_refill_interval_seconds` is the real mean time between refills);
/// - volume statistics over the level's last `snapshot_window` snapshots (at least 2): mean and
///   population standard deviation; the volume is consistent when `std / mean <
///   consistency_threshold`; `volume_consistency = 1 - std / mean` (0 with fewer than 2
///   snapshots or a zero mean);
/// - `persistence = t - first_seen`, in event time. Candidates are the levels **of this update**
///   within `level_proximity_pct` % of mid (inclusive), with these patterns:
///   - `refill`: `refill_count >= min_refill_count`, confidence `min(0.85, 0.65 + count·0.05)`;
///   - `consistent_size`: consistent volume and persistence > `persistence_threshold_seconds`,
///     confidence `base_confidence`;
///   - `anchor`: persistence > `anchor_persistence_seconds`, confidence `base_confidence + 0.05`;
///   a level matching several takes the most confident (the seed's order on ties);
/// - the strongest candidate wins: highest confidence, then nearest to mid (equal within a
///   relative 1e-9), then the side opposite to the symbol's previous iceberg signal (before the
///   first one: the side with the larger quantity at its level, then the bid); on equal
///   confidence, distance and side, the first in book order;
/// - rate limit per (symbol, price rounded to 2 decimals as Python's `round`, side) for
///   `min_signal_interval_seconds` of event time (exactly the interval later is allowed). A
///   rate-limited candidate is skipped and the next one is considered. Note the 2-decimal key
///   makes all sub-cent prices of a side share one key, as in the seed;
/// - at most one signal per symbol per `min_symbol_signal_interval_seconds` (60 s by default; 0
///   disables it). With the per-level key alone, a book of steady-size levels (persistent best
///   bid and ask, or a synthetic market) fires on level after level: hundreds a minute;
/// - the signal trades at mid with `atr = max(|mid - level|, mid·0.005)`: BUY
///   `SL = level - atr`, `TP = mid + 2.5·atr`; SELL `SL = level + atr`, `TP = mid - 2.5·atr`.
///
/// Differences from the seed, and why:
/// - **Event time only.** The seed computed persistence as `time.time() - first_seen`, mixing
///   the wall clock with message timestamps (levels first seen with an old timestamp were
///   "persistent" at once; a non-UTC container shifted it by hours). Here every time is the
///   `eventTimeMs` passed in, clamped to be non-decreasing per symbol. Golden C's
///   `persistence_seconds` was 0.0011 (wall-clock noise); here it is 8.0, the event time from
///   the level's first snapshot (update 1) to the signal (update 9) at 1 s spacing.
/// - **Thresholds honoured.** The seed hard-coded 120 s (consistent size) and 180 s (anchor) and
///   ignored `persistence_threshold_seconds` and `base_confidence`; here they are
///   `persistence_threshold_seconds` and the new `anchor_persistence_seconds`, and
///   `base_confidence` sets the consistent-size (base) and anchor (base + 0.05) confidences,
///   which equal the seed's 0.70 and 0.75 at the default.
/// - **Most confident pattern per level.** The seed took the first match, so a consistent level
///   older than 180 s scored 0.70 instead of the anchor's 0.75.
/// - **Only levels present in this update are candidates.** The seed also signalled levels that
///   had left the book (still tracked for `history_window_seconds`), with a persistence that kept
///   growing after they were gone.
/// - **No systematic buy bias.** The seed took the first of equal confidences, scanning bids
///   first, so persistent anchors produced a BUY about every 120 s. Ties now go to the level
///   nearest to mid, then alternate sides.
/// - **A rate-limited candidate no longer suppresses the others.**
/// - **Bounded state.** At most `max_symbols` symbols (the seed declared it and never enforced
///   it), `max_levels_per_symbol` levels per symbol and `max_levels_total` overall, each level
///   holding at most `snapshot_window` snapshots. A new level beyond a bound evicts the oldest:
///   per symbol the level seen least recently (among levels last seen in the same update, the
///   first in book order: bids best first, then asks), kept in O(1) by a recency list; overall
///   the least recently seen level of the least recently updated symbol, which is dropped once
///   it has no level left. A level is never evicted for
///   another level of the same update: if a bound is smaller than one book, the extra levels are
///   not tracked. A new symbol beyond `max_symbols` evicts the least recently updated symbol
///   with all its levels (and its rate-limit times).
/// - **Expiry before update.** Levels not seen for more than `history_window_seconds` (a level
///   seen exactly that long ago is kept) are dropped before the update is applied, so a level
///   that comes back after a long gap starts a new history; the seed appended to the old one
///   when the symbol had no update in between.
/// - `strategyId` is `iceberg_detector` (the seed published "Iceberg Order Detector"); the
///   signal's `stopLoss`/`takeProfit` are the ATR levels above (the seed only put them in
///   metadata, inventory §10.10); `quantity` is nil, so the adapter's price tiers apply.
///
/// Metadata keys, in the seed's order: `strategy_id`, `pattern_type`, `distance_to_level_pct`,
/// `iceberg_price`, `iceberg_side` (`bid`/`ask`), `refill_count`, `avg_refill_speed`,
/// `volume_consistency`, `persistence_seconds`, `current_price`, `stop_loss`, `take_profit`,
/// `quantity` (0.001, informational as in the seed), `timeframe` (`tick`), then
/// `mean_refill_interval_seconds`. The seed's `reasoning` key is `Signal.reasoning`
/// (`Large hidden buyer detected at 50000.0 (refill)`), which the encoder writes into metadata.
public struct IcebergDetector: BookStrategy, Sendable {
    public static let id = "iceberg_detector"
    public static let enabledByDefault = true

    /// The seed's nine keys with its defaults and ranges (inventory §4.2), then ours.
    public static let schema: [ParameterSpec] = [
        ParameterSpec("min_refill_count", .int, default: .int(3), min: 2, max: 10,
                      "Refills (drop below half, back above 80 % within the refill speed) that make a level a refill iceberg."),
        ParameterSpec("refill_speed_threshold_seconds", .double, default: .double(5.0), min: 1, max: 30,
                      "A refill must complete (three snapshots, first to last) in less than this much event time."),
        ParameterSpec("consistency_threshold", .double, default: .double(0.1), min: 0.05, max: 0.5,
                      "A level's volume is consistent when std/mean of its snapshots is below this."),
        ParameterSpec("persistence_threshold_seconds", .double, default: .double(120.0), min: 60, max: 600,
                      "A consistent-size iceberg must have been tracked longer than this (event time)."),
        ParameterSpec("level_proximity_pct", .double, default: .double(1.0), min: 0.1, max: 5.0,
                      "Only levels within this percentage of mid (inclusive) are candidates."),
        ParameterSpec("base_confidence", .double, default: .double(0.70), min: 0.5, max: 1.0,
                      "Confidence of a consistent-size iceberg; an anchor gets base + 0.05."),
        ParameterSpec("history_window_seconds", .int, default: .int(300), min: 60, max: 900,
                      "A level not seen for longer than this (event time) is forgotten."),
        // The seed's 100 (max 200) would make a sidecar with more depth symbols evict every
        // symbol before its next update; the memory bound is max_levels_total anyway.
        ParameterSpec("max_symbols", .int, default: .int(1000), min: 10, max: 100_000,
                      "Most symbols tracked; a new symbol beyond it evicts the least recently updated one."),
        ParameterSpec("min_signal_interval_seconds", .double, default: .double(120.0), min: 60, max: 600,
                      "Minimum event time between two signals for the same (symbol, price rounded to 2 dp, side)."),
        ParameterSpec("anchor_persistence_seconds", .double, default: .double(180.0), min: 60, max: 3600,
                      "An anchor iceberg must have been tracked longer than this (the seed hard-coded 180 s)."),
        ParameterSpec("min_symbol_signal_interval_seconds", .double, default: .double(60.0), min: 0, max: 3600,
                      "Minimum event time between two signals of a symbol, any level or side; 0 disables."),
        ParameterSpec("snapshot_window", .int, default: .int(100), min: 3, max: 1000,
                      "Snapshots kept per level for the refill test and the volume statistics (the seed's deque length)."),
        ParameterSpec("max_levels_per_symbol", .int, default: .int(200), min: 10, max: 10_000,
                      "Most price levels tracked per symbol (bids and asks together); beyond it the least recently seen is evicted."),
        ParameterSpec("max_levels_total", .int, default: .int(10_000), min: 100, max: 1_000_000,
                      "Most price levels tracked over all symbols; beyond it the least recently updated symbol gives up its stalest level."),
    ]

    /// Resolved parameter values.
    public struct Configuration: Sendable, Equatable {
        public var minRefillCount: Int
        public var refillSpeedThresholdSeconds: Double
        public var consistencyThreshold: Double
        public var persistenceThresholdSeconds: Double
        public var levelProximityPct: Double
        public var baseConfidence: Double
        public var historyWindowSeconds: Int
        public var maxSymbols: Int
        public var minSignalIntervalSeconds: Double
        public var anchorPersistenceSeconds: Double
        public var minSymbolSignalIntervalSeconds: Double
        public var snapshotWindow: Int
        public var maxLevelsPerSymbol: Int
        public var maxLevelsTotal: Int

        /// Values from `parameters`; a missing or mistyped value takes the schema default, and
        /// every number is clamped to its schema range.
        public init(_ parameters: ParameterValues) {
            let p = SchemaReader(schema: IcebergDetector.schema, values: parameters)
            minRefillCount = p.int("min_refill_count")
            refillSpeedThresholdSeconds = p.double("refill_speed_threshold_seconds")
            consistencyThreshold = p.double("consistency_threshold")
            persistenceThresholdSeconds = p.double("persistence_threshold_seconds")
            levelProximityPct = p.double("level_proximity_pct")
            baseConfidence = p.double("base_confidence")
            historyWindowSeconds = p.int("history_window_seconds")
            maxSymbols = p.int("max_symbols")
            minSignalIntervalSeconds = p.double("min_signal_interval_seconds")
            anchorPersistenceSeconds = p.double("anchor_persistence_seconds")
            minSymbolSignalIntervalSeconds = p.double("min_symbol_signal_interval_seconds")
            snapshotWindow = p.int("snapshot_window")
            maxLevelsPerSymbol = p.int("max_levels_per_symbol")
            maxLevelsTotal = p.int("max_levels_total")
        }
    }

    public let configuration: Configuration
    private var symbols: BookSymbolTable<SymbolState>
    /// Level storage shared by all symbols; freed slots keep their snapshot buffers for reuse.
    private var levels: [Level] = []
    private var freeLevels: [Int] = []
    /// Level slots of the current update (-1: not tracked), reused across calls.
    private var currentBids: [Int] = []
    private var currentAsks: [Int] = []
    private let windowMs: Int64
    private let refillSpeedMs: Double
    private let persistenceMs: Double
    private let anchorMs: Double
    private let rateLimitMs: Double
    private let symbolRateLimitMs: Double

    /// Candidate detections, rate-limited ones included (seed `icebergs_detected`).
    public private(set) var icebergsDetected: Int = 0
    /// Signals emitted (seed `signals_generated`).
    public private(set) var signalsGenerated: Int = 0

    public init(parameters: ParameterValues = .init()) {
        let c = Configuration(parameters)
        configuration = c
        symbols = BookSymbolTable(capacity: c.maxSymbols)
        windowMs = Int64(c.historyWindowSeconds) * 1000
        refillSpeedMs = c.refillSpeedThresholdSeconds * 1000
        persistenceMs = c.persistenceThresholdSeconds * 1000
        anchorMs = c.anchorPersistenceSeconds * 1000
        rateLimitMs = c.minSignalIntervalSeconds * 1000
        symbolRateLimitMs = c.minSymbolSignalIntervalSeconds * 1000
        currentBids.reserveCapacity(64)
        currentAsks.reserveCapacity(64)
    }

    /// Symbols with state.
    public var trackedSymbols: Int { symbols.count }

    /// Price levels tracked over all symbols.
    public var trackedLevels: Int { levels.count - freeLevels.count }

    /// Price levels tracked for one symbol (0 if untracked).
    public func trackedLevels(_ key: SymbolKey) -> Int {
        guard let st = symbols.state(for: key) else { return 0 }
        return st.bids.count + st.asks.count
    }

    /// The tracker's view of one level, for tests and diagnostics.
    public struct LevelInfo: Sendable, Equatable {
        public var refillCount: Int
        public var avgRefillSpeedSeconds: Double
        public var snapshotCount: Int
        public var firstSeenMs: Int64
        public var lastSeenMs: Int64
    }

    public func level(_ key: SymbolKey, price: Double, isBid: Bool) -> LevelInfo? {
        guard let st = symbols.state(for: key) else { return nil }
        let i = (isBid ? st.bids : st.asks).find(price)
        guard i >= 0 else { return nil }
        let l = levels[i]
        return LevelInfo(refillCount: l.refillCount, avgRefillSpeedSeconds: l.avgRefillSpeed,
                         snapshotCount: l.count, firstSeenMs: l.firstSeenMs, lastSeenMs: l.lastSeenMs)
    }

    public mutating func evict(_ key: SymbolKey) {
        if let st = symbols.remove(key) { release(st) }
    }

    public mutating func onBook(key: SymbolKey, bids: PriceLevels, asks: PriceLevels, eventTimeMs: Int64) -> Signal? {
        guard let bestBid = bids.prices.first, let bestAsk = asks.prices.first else { return nil }
        let c = configuration

        let touched = symbols.touch(key) { SymbolState() }
        if let (_, old) = touched.evicted { release(old) }
        let slot = touched.slot
        var st = symbols.take(slot)
        defer { symbols.put(slot, st) }

        let now = max(eventTimeMs, st.lastEventMs)
        st.lastEventMs = now
        expire(&st, now: now)

        currentBids.removeAll(keepingCapacity: true)
        currentAsks.removeAll(keepingCapacity: true)
        for i in 0..<bids.count {
            currentBids.append(record(&st, slot: slot, isBid: true, price: bids.prices[i], quantity: bids.quantities[i], now: now))
        }
        for i in 0..<asks.count {
            currentAsks.append(record(&st, slot: slot, isBid: false, price: asks.prices[i], quantity: asks.quantities[i], now: now))
        }

        if symbolRateLimitMs > 0, let last = st.lastSignalMs, Double(now.subtractingSaturated(last)) < symbolRateLimitMs { return nil }

        let mid = (bestBid + bestAsk) / 2
        let range = mid * (c.levelProximityPct / 100.0)
        let lo = mid - range
        let hi = mid + range
        var best: Candidate? = nil
        for side in 0..<2 {
            let isBid = side == 0
            let count = isBid ? currentBids.count : currentAsks.count
            for j in 0..<count {
                let idx = isBid ? currentBids[j] : currentAsks[j]
                guard idx >= 0 else { continue }
                let price = levels[idx].price
                guard lo <= price && price <= hi else { continue }
                guard let (confidence, pattern) = classify(idx, now: now) else { continue }
                icebergsDetected += 1
                let candidate = Candidate(index: idx, isBid: isBid, price: price, confidence: confidence,
                                          pattern: pattern, distance: abs(mid - price))
                // `best` is the preferred candidate that is not rate-limited so far: a candidate
                // that does not beat it cannot win, whether rate-limited or not.
                if let b = best, !prefers(candidate, over: b, mid: mid, lastSide: st.lastSide) { continue }
                if !st.rateLimits.isEmpty {
                    let rateKey = RateKey(price: PythonRounding.round(price, 2), isBid: isBid)
                    if let last = st.rateLimits[rateKey], Double(now.subtractingSaturated(last)) < rateLimitMs { continue }
                }
                best = candidate
            }
        }
        guard let winner = best else { return nil }

        // Emit.
        let rateKey = RateKey(price: PythonRounding.round(winner.price, 2), isBid: winner.isBid)
        if st.rateLimits.count >= 8 {
            let limit = rateLimitMs
            st.rateLimits = st.rateLimits.filter { Double(now.subtractingSaturated($0.value)) < limit }
        }
        st.rateLimits[rateKey] = now
        st.lastSignalMs = now
        st.lastSide = winner.isBid
        signalsGenerated += 1

        let level = levels[winner.index]
        let stats = volumeStats(winner.index)
        let distance = winner.distance
        let atr = max(distance, mid * 0.005)
        let stopLoss: Double
        let takeProfit: Double
        if winner.isBid {
            stopLoss = winner.price - atr
            takeProfit = mid + (atr * 2.5)
        } else {
            stopLoss = winner.price + atr
            takeProfit = mid - (atr * 2.5)
        }
        let persistence = Double(now.subtractingSaturated(level.firstSeenMs)) / 1000
        let meanRefillInterval = level.refillCount > 1
            ? Double(level.lastRefillMs.subtractingSaturated(level.firstRefillMs)) / 1000 / Double(level.refillCount - 1) : 0
        let patternName = winner.pattern.rawValue
        let reasoning = "Large hidden \(winner.isBid ? "buyer" : "seller") detected at \(winner.price) (\(patternName))"
        return Signal(
            strategyId: Self.id, key: key, action: winner.isBid ? .buy : .sell, confidence: winner.confidence,
            price: mid, currentPrice: mid, stopLoss: stopLoss, takeProfit: takeProfit,
            eventTimeMs: eventTimeMs, timeframe: "tick", reasoning: reasoning,
            indicators: [("iceberg_price", winner.price), ("refill_count", Double(level.refillCount)),
                         ("avg_refill_speed", level.avgRefillSpeed), ("volume_consistency", stats.score),
                         ("persistence_seconds", persistence)],
            metadata: [
                ("strategy_id", .string(Self.id)),
                ("pattern_type", .string(patternName)),
                ("distance_to_level_pct", .double((distance / mid) * 100)),
                ("iceberg_price", .double(winner.price)),
                ("iceberg_side", .string(winner.isBid ? "bid" : "ask")),
                ("refill_count", .int(Int64(level.refillCount))),
                ("avg_refill_speed", .double(level.avgRefillSpeed)),
                ("volume_consistency", .double(stats.score)),
                ("persistence_seconds", .double(persistence)),
                ("current_price", .double(mid)),
                ("stop_loss", .double(stopLoss)),
                ("take_profit", .double(takeProfit)),
                ("quantity", .double(0.001)),
                ("timeframe", .string("tick")),
                ("mean_refill_interval_seconds", .double(meanRefillInterval)),
            ])
    }

    // MARK: - Internals

    enum Pattern: String, Sendable {
        case refill
        case consistentSize = "consistent_size"
        case anchor
    }

    struct Candidate {
        var index: Int
        var isBid: Bool
        var price: Double
        var confidence: Double
        var pattern: Pattern
        var distance: Double
    }

    struct RateKey: Hashable, Sendable {
        var price: Double
        var isBid: Bool
    }

    /// One tracked price level. `quantities` is a ring of `snapshot_window` entries; the last
    /// three snapshots are also kept in fields for the refill test.
    struct Level: Sendable {
        var price: Double = 0
        var isBid: Bool = true
        var quantities: [Double]
        /// Where the next snapshot goes; the oldest is at `next - count` (mod the window).
        var next = 0
        var count = 0
        /// The last three snapshots, oldest first.
        var q0 = 0.0, q1 = 0.0, q2 = 0.0
        var t0: Int64 = 0, t1: Int64 = 0, t2: Int64 = 0
        var refillCount = 0
        var firstRefillMs: Int64 = 0
        var lastRefillMs: Int64 = 0
        var avgRefillSpeed = 0.0
        var firstSeenMs: Int64 = 0
        var lastSeenMs: Int64 = 0
        /// Neighbours in the symbol's recency list (-1: none).
        var lruPrev = -1
        var lruNext = -1

        init(window: Int) { quantities = [Double](repeating: 0, count: window) }

        /// Index of the oldest snapshot in `quantities`.
        var start: Int { next - count < 0 ? next - count + quantities.count : next - count }

        /// The seed's `_update_level` for one snapshot: append, then the refill test on the last
        /// three snapshots (`q1 < 0.5·q0`, `q2 > 0.8·q0`, `t2 - t0 < refill speed`).
        mutating func append(_ quantity: Double, now: Int64, refillSpeedMs: Double) {
            quantities[next] = quantity
            next += 1
            if next == quantities.count { next = 0 }
            if count < quantities.count { count += 1 }
            q0 = q1; q1 = q2; q2 = quantity
            t0 = t1; t1 = t2; t2 = now
            lastSeenMs = now
            guard count >= 3, q1 < q0 * 0.5, q2 > q0 * 0.8, Double(now.subtractingSaturated(t0)) < refillSpeedMs else { return }
            refillCount += 1
            if refillCount == 1 { firstRefillMs = now }
            lastRefillMs = now
            if refillCount > 1 {
                let sinceFirst = Double(now.subtractingSaturated(firstSeenMs)) / 1000
                avgRefillSpeed = sinceFirst / Double(refillCount)
            }
        }

        mutating func reset(price: Double, isBid: Bool, now: Int64) {
            self.price = price
            self.isBid = isBid
            next = 0
            count = 0
            refillCount = 0
            firstRefillMs = 0
            lastRefillMs = 0
            avgRefillSpeed = 0
            firstSeenMs = now
            lastSeenMs = now
        }
    }

    /// The level slots of one side of a symbol by price: an open-addressing table (linear
    /// probing, backward-shift deletion, at most half full). Keys compare with `==` as a
    /// `[Double: Int]` does (0.0 and -0.0 are one key; a NaN is never found), without hashing
    /// through `Hasher` on every level of every update.
    struct PriceIndex: Sendable {
        private var keys: [Double] = []
        /// Level slots (-1: empty bucket); the capacity is a power of two.
        private var slots: [Int32] = []
        private(set) var count = 0

        @inline(__always)
        private static func bucket(_ price: Double, _ mask: Int) -> Int {
            let bits = price == 0 ? 0 : price.bitPattern
            let h = (bits ^ (bits >> 29)) &* 0x9E37_79B9_7F4A_7C15
            return Int(truncatingIfNeeded: h >> 40) & mask
        }

        /// The slot of the level at `price`, or -1.
        @inline(__always)
        func find(_ price: Double) -> Int {
            guard count > 0 else { return -1 }
            let mask = slots.count - 1
            var b = Self.bucket(price, mask)
            while true {
                let v = Int(slots[b])
                if v < 0 { return -1 }
                if keys[b] == price { return v }
                b = (b + 1) & mask
            }
        }

        /// Adds `slot` for `price`, which must not be present.
        mutating func insert(_ price: Double, _ slot: Int) {
            if (count + 1) * 2 > slots.count { grow() }
            let mask = slots.count - 1
            var b = Self.bucket(price, mask)
            while slots[b] >= 0 { b = (b + 1) & mask }
            keys[b] = price
            slots[b] = Int32(slot)
            count += 1
        }

        private mutating func grow() {
            let oldKeys = keys, oldSlots = slots
            let capacity = Swift.max(16, oldSlots.count * 2)
            keys = [Double](repeating: 0, count: capacity)
            slots = [Int32](repeating: -1, count: capacity)
            count = 0
            for i in 0..<oldSlots.count where oldSlots[i] >= 0 { insert(oldKeys[i], Int(oldSlots[i])) }
        }

        /// Removes the entry of `slot`, stored under `price`.
        mutating func remove(_ price: Double, _ slot: Int) {
            guard count > 0 else { return }
            let mask = slots.count - 1
            var b = Self.bucket(price, mask)
            while true {
                let v = Int(slots[b])
                if v < 0 { return }
                if v == slot { break }
                b = (b + 1) & mask
            }
            // Backward-shift deletion: move later entries of the probe run into the hole.
            var hole = b
            var j = b
            while true {
                j = (j + 1) & mask
                if slots[j] < 0 { break }
                let home = Self.bucket(keys[j], mask)
                // An entry stays when its home lies cyclically in (hole, j].
                let stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j)
                if !stays {
                    keys[hole] = keys[j]
                    slots[hole] = slots[j]
                    hole = j
                }
            }
            slots[hole] = -1
            count -= 1
        }
    }

    struct SymbolState: Sendable {
        var bids = PriceIndex()
        var asks = PriceIndex()
        var lastEventMs: Int64 = .min
        /// The symbol's levels from least to most recently seen (slots in `levels`, -1: none).
        /// `lastSeenMs` never decreases along it, so expiry and eviction take from the head.
        var lruHead = -1
        var lruTail = -1
        var rateLimits: [RateKey: Int64] = [:]
        var lastSignalMs: Int64? = nil
        /// Side of the last signal (true: bid).
        var lastSide: Bool? = nil
        var levelCount: Int { bids.count + asks.count }
    }

    /// Drops the symbol's levels not seen for longer than the history window.
    private mutating func expire(_ st: inout SymbolState, now: Int64) {
        let cutoff = now.subtractingSaturated(windowMs)
        while st.lruHead >= 0 && levels[st.lruHead].lastSeenMs < cutoff { removeLevel(&st, st.lruHead) }
    }

    /// Appends a snapshot to the level at `price`, creating it if there is room; returns its slot
    /// or -1 when a bound leaves no room.
    private mutating func record(_ st: inout SymbolState, slot: Int, isBid: Bool, price: Double,
                                 quantity: Double, now: Int64) -> Int {
        var idx = isBid ? st.bids.find(price) : st.asks.find(price)
        if idx < 0 {
            if st.levelCount >= configuration.maxLevelsPerSymbol && !evictStalest(&st, now: now) { return -1 }
            if trackedLevels >= configuration.maxLevelsTotal && !evictGlobally(&st, currentSlot: slot, now: now) {
                return -1
            }
            idx = allocate(price: price, isBid: isBid, now: now)
            if isBid { st.bids.insert(price, idx) } else { st.asks.insert(price, idx) }
            linkTail(&st, idx)
        } else if st.lruTail != idx {
            unlink(&st, idx)
            linkTail(&st, idx)
        }
        append(idx, quantity: quantity, now: now)
        return idx
    }

    private mutating func linkTail(_ st: inout SymbolState, _ idx: Int) {
        levels[idx].lruPrev = st.lruTail
        levels[idx].lruNext = -1
        if st.lruTail >= 0 { levels[st.lruTail].lruNext = idx } else { st.lruHead = idx }
        st.lruTail = idx
    }

    private mutating func unlink(_ st: inout SymbolState, _ idx: Int) {
        let p = levels[idx].lruPrev, n = levels[idx].lruNext
        if p >= 0 { levels[p].lruNext = n } else { st.lruHead = n }
        if n >= 0 { levels[n].lruPrev = p } else { st.lruTail = p }
        levels[idx].lruPrev = -1
        levels[idx].lruNext = -1
    }

    /// Forgets a level of the symbol and returns its slot to the pool.
    private mutating func removeLevel(_ st: inout SymbolState, _ idx: Int) {
        unlink(&st, idx)
        let price = levels[idx].price
        if levels[idx].isBid { st.bids.remove(price, idx) } else { st.asks.remove(price, idx) }
        freeLevels.append(idx)
    }

    private mutating func allocate(price: Double, isBid: Bool, now: Int64) -> Int {
        let idx: Int
        if let reused = freeLevels.popLast() {
            idx = reused
        } else {
            idx = levels.count
            levels.append(Level(window: configuration.snapshotWindow))
        }
        levels[idx].reset(price: price, isBid: isBid, now: now)
        return idx
    }

    private mutating func append(_ idx: Int, quantity: Double, now: Int64) {
        levels[idx].append(quantity, now: now, refillSpeedMs: refillSpeedMs)
    }

    /// Mean and population std of the level's snapshots, summed oldest first like the seed.
    private func volumeStats(_ idx: Int) -> (consistent: Bool, score: Double) {
        let n = levels[idx].count
        guard n >= 2 else { return (false, 0) }
        let start = levels[idx].start
        let (sum, squares) = levels[idx].quantities.withUnsafeBufferPointer { q -> (Double, Double) in
            // Oldest first: start..<end, then the wrapped part.
            let end = min(start + n, q.count)
            let wrapped = n - (end - start)
            var sum = 0.0
            for i in start..<end { sum += q[i] }
            for i in 0..<wrapped { sum += q[i] }
            let mean = sum / Double(n)
            var squares = 0.0
            for i in start..<end {
                let d = q[i] - mean
                squares += d * d
            }
            for i in 0..<wrapped {
                let d = q[i] - mean
                squares += d * d
            }
            return (sum, squares)
        }
        let mean = sum / Double(n)
        let std = (squares / Double(n)).squareRoot()
        guard mean > 0 else { return (false, 0) }
        return (std / mean < configuration.consistencyThreshold, 1.0 - (std / mean))
    }

    /// The most confident pattern of a level, if any (the seed's order on equal confidence).
    private func classify(_ idx: Int, now: Int64) -> (Double, Pattern)? {
        let c = configuration
        let age = Double(now.subtractingSaturated(levels[idx].firstSeenMs))
        let refills = levels[idx].refillCount
        var best: (Double, Pattern)? = nil
        if refills >= c.minRefillCount {
            best = (min(0.85, 0.65 + Double(refills) * 0.05), .refill)
        }
        // Anchor before consistent size: base + 0.05 beats base, so the volume statistics (the
        // costly part) are computed only when the anchor does not apply.
        let anchorConfidence = c.baseConfidence + 0.05
        var anchor: (Double, Pattern)? = nil
        if age > anchorMs && (best == nil || anchorConfidence > best!.0) { anchor = (anchorConfidence, .anchor) }
        if anchor == nil && age > persistenceMs && (best == nil || c.baseConfidence > best!.0)
            && volumeStats(idx).consistent {
            best = (c.baseConfidence, .consistentSize)
        }
        return anchor ?? best
    }

    /// Higher confidence, then nearer to mid, then the preferred side.
    private func prefers(_ a: Candidate, over b: Candidate, mid: Double, lastSide: Bool?) -> Bool {
        if a.confidence != b.confidence { return a.confidence > b.confidence }
        let tolerance = abs(mid) * 1e-9
        if abs(a.distance - b.distance) > tolerance { return a.distance < b.distance }
        if a.isBid == b.isBid { return false }
        let preferBid: Bool
        if let lastSide {
            preferBid = !lastSide
        } else {
            let qa = lastQuantity(a.index), qb = lastQuantity(b.index)
            preferBid = qa == qb ? true : (qa > qb) == a.isBid
        }
        return a.isBid == preferBid
    }

    private func lastQuantity(_ idx: Int) -> Double { levels[idx].q2 }

    /// Evicts the symbol's least recently seen level, unless it belongs to the current update.
    private mutating func evictStalest(_ st: inout SymbolState, now: Int64) -> Bool {
        let victim = st.lruHead
        guard victim >= 0, levels[victim].lastSeenMs < now else { return false }
        removeLevel(&st, victim)
        return true
    }

    /// Frees one level for the overall bound: from the least recently updated symbol that has
    /// levels, else from the current symbol. A least recently updated symbol left without levels
    /// is dropped, so the walk stays short.
    private mutating func evictGlobally(_ current: inout SymbolState, currentSlot: Int, now: Int64) -> Bool {
        var s = symbols.leastRecentSlot
        while let other = s, other != currentSlot {
            let next = symbols.moreRecent(than: other)
            var st = symbols.take(other)
            let freed = st.levelCount > 0 && evictStalest(&st, now: .max)
            symbols.put(other, st)
            if st.levelCount == 0, let key = symbols.key(at: other) { symbols.remove(key) }
            if freed { return true }
            s = next
        }
        return evictStalest(&current, now: now)
    }

    /// Returns an evicted symbol's levels to the pool.
    private mutating func release(_ st: SymbolState) {
        var idx = st.lruHead
        while idx >= 0 {
            let next = levels[idx].lruNext
            levels[idx].lruPrev = -1
            levels[idx].lruNext = -1
            freeLevels.append(idx)
            idx = next
        }
    }
}
