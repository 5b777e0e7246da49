/// Receives signals from the engine, on the ingest thread.
public protocol SignalSink: AnyObject {
    func emit(_ signal: Signal)
}

public struct EngineConfiguration: Sendable {
    /// `TRADING_SYMBOLS`: upper-case allow-list; empty means every symbol.
    public var allowedSymbols: Set<String> = []
    /// `MAX_SYMBOLS`: bound on per-symbol state; the least recently updated symbol is evicted.
    public var maxSymbols: Int = 1000
    /// `SYMBOL_TTL_SECONDS`: state of a symbol with no update for this long (event time) is dropped.
    public var symbolTTLSeconds: Int64 = 300
    /// Which strategies run, with their parameters.
    public var strategies = StrategySettings()
    /// Local books, attribution and event-time sanity (docs/BOOKS.md).
    public var book = BookConfiguration()

    public init() {}

    public var enabledStrategyIds: [String] { strategies.enabledIds }
}

/// The single writer of all per-symbol state. `ingest` is called on one thread only (the NATS
/// delivery thread); readers see depth through the `DepthBoard` and counters through `IngestStats`.
public final class Engine {
    /// Per-symbol state owned by the ingest thread.
    final class SymbolState {
        let key: SymbolKey
        let cell: DepthCell
        var lastEventTimeMs: Int64 = 0
        /// Ingest tick of the last update, for least-recently-updated eviction.
        var lastTouch: UInt64 = 0
        var lastTradePrice = 0.0
        let book: SymbolBook

        init(key: SymbolKey, cell: DepthCell, book configuration: BookConfiguration) {
            self.key = key
            self.cell = cell
            book = SymbolBook(venue: key.venue, maxLevels: configuration.maxLevels,
                              keepsHistory: configuration.requestSnapshots)
        }
    }

    public let configuration: EngineConfiguration
    public let board: DepthBoard
    public let stats: IngestStats
    var books: BookStats { stats.books }
    /// REST snapshot requests out, snapshots in (the runtime's fetcher serves it).
    public let snapshotMailbox = BookSnapshotMailbox()
    var appliedSnapshotGeneration: UInt64 = 0
    /// Reused top-of-book buffers for publishing a local book.
    var topBids = PriceLevels(capacity: 32)
    var topAsks = PriceLevels(capacity: 32)
    private unowned(unsafe) let sink: SignalSink
    private var parser = MarketDataParser()
    private(set) var symbols: [SymbolKey: SymbolState] = [:]
    /// Direct-mapped cache in front of `symbols`: hashing a `String` key costs ~400 instructions
    /// per message, a hit here a few dozen. Entries are verified with `==` and cleared on drop.
    private let recent = UnsafeMutableBufferPointer<SymbolState?>.allocate(capacity: Engine.recentSlots)
    private static let recentSlots = 1024
    // One optional per strategy: concrete types keep dispatch static on the hot path.
    private var orderbookSkew: StrategySlot<OrderbookSkew>?
    private var spreadLiquidity: StrategySlot<SpreadLiquidity>?
    private var icebergDetector: StrategySlot<IcebergDetector>?
    private var tradeMomentum: StrategySlot<TradeMomentum>?
    private var tickerVelocity: StrategySlot<TickerVelocity>?
    private var btcDominance: StrategySlot<BTCDominance>?
    private var crossExchangeSpread: StrategySlot<CrossExchangeSpread>?
    private var onchainMetrics: StrategySlot<OnchainMetrics>?
    private var tick: UInt64 = 0
    private var watermarkMs: Int64 = 0
    /// Counts ingested messages for latency sampling; `sampling` is true while one is timed.
    private var sampleCounter: UInt64 = 0
    private var sampling = false
    // Call counters and latency of each strategy (shared with readers through `IngestStats`).
    private let skewCalls: StrategyCallStats
    private let spreadCalls: StrategyCallStats
    private let icebergCalls: StrategyCallStats
    private let momentumCalls: StrategyCallStats
    private let velocityCalls: StrategyCallStats
    private let dominanceCalls: StrategyCallStats
    private let crossCalls: StrategyCallStats
    private let onchainCalls: StrategyCallStats
    /// Sweep for expired symbols every this many messages: cheap, and bounded work per message.
    private static let sweepInterval: UInt64 = 4096

    /// `sink` must outlive the engine (the runtime owns both).
    public init(configuration: EngineConfiguration, board: DepthBoard, stats: IngestStats, sink: SignalSink) {
        self.configuration = configuration
        self.board = board
        self.stats = stats
        self.sink = sink
        let settings = configuration.strategies
        func make<S>(_ type: S.Type) -> StrategySlot<S>? where S: StrategyDescriptor {
            settings.isEnabled(S.id) ? StrategySlot(values: settings.values(for: S.id)) : nil
        }
        orderbookSkew = make(OrderbookSkew.self)
        spreadLiquidity = make(SpreadLiquidity.self)
        icebergDetector = make(IcebergDetector.self)
        tradeMomentum = make(TradeMomentum.self)
        tickerVelocity = make(TickerVelocity.self)
        btcDominance = make(BTCDominance.self)
        crossExchangeSpread = make(CrossExchangeSpread.self)
        onchainMetrics = make(OnchainMetrics.self)
        func calls(_ id: String) -> StrategyCallStats { stats.strategyCalls[id] ?? StrategyCallStats() }
        skewCalls = calls(OrderbookSkew.id)
        spreadCalls = calls(SpreadLiquidity.id)
        icebergCalls = calls(IcebergDetector.id)
        momentumCalls = calls(TradeMomentum.id)
        velocityCalls = calls(TickerVelocity.id)
        dominanceCalls = calls(BTCDominance.id)
        crossCalls = calls(CrossExchangeSpread.id)
        onchainCalls = calls(OnchainMetrics.id)
        symbols.reserveCapacity(min(configuration.maxSymbols, 4096))
        recent.initialize(repeating: nil)
    }

    deinit {
        recent.deinitialize()
        recent.deallocate()
    }

    public var trackedSymbols: Int { symbols.count }

    /// Configuration changes from the config service, applied on the ingest thread before the
    /// next message.
    public let configMailbox = StrategyConfigMailbox()
    private var appliedConfigGeneration: UInt64 = 0

    @inline(__always)
    private func applyConfigChanges() {
        let generation = configMailbox.generation
        guard generation != appliedConfigGeneration else { return }
        appliedConfigGeneration = generation
        for update in configMailbox.take() {
            switch update.strategyId {
            case OrderbookSkew.id: orderbookSkew?.apply(update)
            case SpreadLiquidity.id: spreadLiquidity?.apply(update)
            case IcebergDetector.id: icebergDetector?.apply(update)
            case TradeMomentum.id: tradeMomentum?.apply(update)
            case TickerVelocity.id: tickerVelocity?.apply(update)
            case BTCDominance.id: btcDominance?.apply(update)
            case CrossExchangeSpread.id: crossExchangeSpread?.apply(update)
            case OnchainMetrics.id: onchainMetrics?.apply(update)
            default: break
            }
        }
    }

    /// Called on the ingest thread for each rejected payload (valid only during the call), so the
    /// runtime can log a sample at a bounded rate. Costs nothing on the accept path.
    public var onRejected: ((RejectReason, UnsafeRawBufferPointer) -> Void)?

    /// Called on the ingest thread for the 1st, 2nd, 4th, 8th, … label mismatch of each kind, with
    /// the count so far and the payload (valid only during the call).
    public var onLabelMismatch: ((StreamKind, Int, UnsafeRawBufferPointer) -> Void)?

    /// Called on the ingest thread after a symbol's depth cell is published, for socket depth
    /// subscribers. Set once before ingestion starts; the callee must not block.
    public var onDepthPublished: ((DepthCell) -> Void)?

    /// Parses and processes one NATS payload. Never throws: bad input is counted by reason.
    public func ingest(_ payload: UnsafeRawBufferPointer, subjectVenue: Venue?, receiveTimeMs: Int64) {
        // One message in `sampleEvery` is timed, with its strategy calls: no clock read otherwise.
        sampleCounter &+= 1
        sampling = sampleCounter % LatencyHistogram.sampleEvery == 0
        let start = sampling ? Self.monotonicNs() : 0
        defer { sampling = false }
        stats.received.increment()
        stats.lastReceiveTimeMs.set(Int(receiveTimeMs))
        switch parser.parse(payload, subjectVenue: subjectVenue, receiveTimeMs: receiveTimeMs) {
        case .rejected(let reason):
            reject(reason, payload)
        case .ignored(let kind):
            stats.kind(kind).increment()
            stats.processed.increment()
            if start != 0 { stats.latency(kind).observe(nanoseconds: Self.monotonicNs() - start) }
        case .event(var event, let kind, let flags):
            // A future (or mis-scaled) event time never reaches state: it would hold the
            // event-time watermark up and make the TTL sweep drop every symbol.
            if event.eventTimeMs.subtractingSaturated(receiveTimeMs) > configuration.book.maxEventTimeSkewMs {
                reject(.eventTimeInFuture, payload)
                return
            }
            stats.kind(kind).increment()
            if flags.contains(.symbolMismatch) { stats.symbolMismatches.increment() }
            if flags.contains(.labelMismatch) {
                let counter = books.labelMismatch(kind)
                counter.increment()
                // Logged at a bounded rate: the 1st, 2nd, 4th, 8th, … of each kind.
                let n = counter.value
                if n & (n &- 1) == 0 { onLabelMismatch?(kind, n, payload) }
            }
            var trusted = true
            if case .depth(var depth) = event, depth.isSnapshot, flags.contains(.symbolFromLabel),
                configuration.book.attribution == .evidence
            {
                guard let (key, verified) = attribute(depth) else {
                    reject(.symbolAmbiguous, payload)
                    return
                }
                trusted = verified
                depth.key = key
                event = .depth(depth)
            }
            process(event, receiveTimeMs: receiveTimeMs, trustedBook: trusted)
            stats.processed.increment()
            if start != 0 { stats.latency(kind).observe(nanoseconds: Self.monotonicNs() - start) }
        }
    }

    private func reject(_ reason: RejectReason, _ payload: UnsafeRawBufferPointer) {
        stats.rejected.increment()
        stats.rejected(reason).increment()
        onRejected?(reason, payload)
    }

    private static let clockOrigin = ContinuousClock.now

    /// Monotonic nanoseconds since the first call (never 0). Only read for sampled messages; the
    /// other messages carry a plain 0, not an optional `Instant` (a resilient type whose copies
    /// go through value witnesses).
    static func monotonicNs() -> Int {
        let elapsed = (ContinuousClock.now - clockOrigin).components
        return Int(elapsed.seconds) &* 1_000_000_000 &+ Int(elapsed.attoseconds / 1_000_000_000) &+ 1
    }

    /// The start of a strategy call when this message is sampled, else 0.
    @inline(__always)
    private func callStart() -> Int { sampling ? Self.monotonicNs() : 0 }

    /// Counts a strategy call (and records its latency when sampled), then emits its signal:
    /// the signal's routing is not part of the strategy's latency.
    @inline(__always)
    private func finish(_ calls: StrategyCallStats, _ start: Int, _ signal: Signal?) {
        if start != 0 { calls.latency.observe(nanoseconds: Self.monotonicNs() - start) }
        if let signal { emit(signal) }
        calls.calls.increment()
    }

    /// Applies one typed event to its symbol's state and runs the strategies subscribed to its kind.
    public func process(_ event: MarketEvent, receiveTimeMs: Int64) {
        process(event, receiveTimeMs: receiveTimeMs, trustedBook: true)
    }

    /// `trustedBook`: a partial book's symbol is confirmed (by `s`, a trusted label or evidence),
    /// so its update id may serve as evidence for later books.
    func process(_ event: MarketEvent, receiveTimeMs: Int64, trustedBook: Bool) {
        applyConfigChanges()
        applySnapshots(receiveTimeMs: receiveTimeMs)
        let key = event.key
        if !configuration.allowedSymbols.isEmpty && !configuration.allowedSymbols.contains(key.symbol) {
            stats.filteredSymbols.increment()
            return
        }
        let eventTimeMs = event.eventTimeMs
        if eventTimeMs > watermarkMs {
            watermarkMs = eventTimeMs
            stats.lastEventTimeMs.set(Int(eventTimeMs))
        }
        tick &+= 1
        let state = self.state(for: key)
        state.lastTouch = tick
        state.lastEventTimeMs = max(state.lastEventTimeMs, eventTimeMs)

        switch event {
        case .depth(let depth):
            processDepth(depth, state: state, receiveTimeMs: receiveTimeMs, trusted: trustedBook)
        case .trade(let trade):
            state.lastTradePrice = trade.price
            state.book.notePrice(trade.price, eventTimeMs: trade.eventTimeMs)
            if tradeMomentum != nil {
                let start = callStart()
                let signal = tradeMomentum?.run(key.symbol, { $0.onTrade(trade) })
                finish(momentumCalls, start, signal)
            }
            if btcDominance != nil {
                let start = callStart()
                let signal = btcDominance?.run(key.symbol, { $0.onTrade(trade) })
                finish(dominanceCalls, start, signal)
            }
            if crossExchangeSpread != nil {
                let start = callStart()
                let signal = crossExchangeSpread?.run(key.symbol, { $0.onTrade(trade) })
                finish(crossCalls, start, signal)
            }
            if onchainMetrics != nil {
                let start = callStart()
                let signal = onchainMetrics?.run(key.symbol, { $0.onTrade(trade) })
                finish(onchainCalls, start, signal)
            }
        case .ticker(let ticker):
            state.book.notePrice(ticker.lastPrice, eventTimeMs: ticker.eventTimeMs)
            if tickerVelocity != nil {
                let start = callStart()
                let signal = tickerVelocity?.run(key.symbol, { $0.onTicker(ticker) })
                finish(velocityCalls, start, signal)
            }
            if btcDominance != nil {
                let start = callStart()
                let signal = btcDominance?.run(key.symbol, { $0.onTicker(ticker) })
                finish(dominanceCalls, start, signal)
            }
            if crossExchangeSpread != nil {
                let start = callStart()
                let signal = crossExchangeSpread?.run(key.symbol, { $0.onTicker(ticker) })
                finish(crossCalls, start, signal)
            }
            if onchainMetrics != nil {
                let start = callStart()
                let signal = onchainMetrics?.run(key.symbol, { $0.onTicker(ticker) })
                finish(onchainCalls, start, signal)
            }
        case .bookTicker(let ticker):
            processBookTicker(ticker, state: state, receiveTimeMs: receiveTimeMs)
        }
        if tick % Self.sweepInterval == 0 { expireIdleSymbols() }
    }

    /// Whether a feed strategy is enabled, so the runtime subscribes to its subject only then.
    public var consumesReferencePrices: Bool { crossExchangeSpread != nil }
    public var consumesOnchainMetrics: Bool { onchainMetrics != nil }

    /// A reference price from another venue (`REFERENCE_PRICES_SUBJECT`), for cross_exchange_spread.
    public func ingestReferencePrice(_ payload: UnsafeRawBufferPointer) {
        applyConfigChanges()
        stats.feedMessages.increment()
        switch ReferencePriceEvent.parse(payload) {
        case .success(let event):
            if crossExchangeSpread != nil {
                let signal = crossExchangeSpread?.run("", { $0.onReferencePrice(event) })
                finish(crossCalls, 0, signal)
            }
        case .failure(let reason):
            stats.feedRejected.increment()
            onRejected?(reason.rejectReason, payload)
        }
    }

    /// On-chain metrics (`ONCHAIN_METRICS_SUBJECT`), for onchain_metrics.
    public func ingestOnchainMetrics(_ payload: UnsafeRawBufferPointer) {
        applyConfigChanges()
        stats.feedMessages.increment()
        switch OnchainMetricsEvent.parse(payload) {
        case .success(let event):
            if onchainMetrics != nil {
                let signal = onchainMetrics?.run("", { $0.onMetrics(event) })
                finish(onchainCalls, 0, signal)
            }
        case .failure(let reason):
            stats.feedRejected.increment()
            onRejected?(reason.rejectReason, payload)
        }
    }

    private var runsBookStrategies: Bool { orderbookSkew != nil || spreadLiquidity != nil || icebergDetector != nil }

    /// A book update the strategies do not see: the local book is not synced.
    func skippedWhileResyncing() {
        if runsBookStrategies { books.skippedResyncing.increment() }
    }

    /// Runs the book strategies on `bids`/`asks` (best first), unless the book is one-sided or
    /// lags the symbol's other streams.
    func runBookStrategies(_ key: SymbolKey, state: SymbolState, bids: PriceLevels, asks: PriceLevels,
                           eventTimeMs: Int64) {
        guard runsBookStrategies else { return }
        books.bookUpdatesServed.increment()
        if bids.isEmpty || asks.isEmpty {
            books.skippedOneSided.increment()
            return
        }
        if state.lastEventTimeMs.subtractingSaturated(eventTimeMs) > configuration.book.staleMs {
            books.skippedStale.increment()
            return
        }
        if orderbookSkew != nil {
            let start = callStart()
            let signal = orderbookSkew?.run(key.symbol, { $0.onBook(key: key, bids: bids, asks: asks, eventTimeMs: eventTimeMs) })
            finish(skewCalls, start, signal)
        }
        if spreadLiquidity != nil {
            let start = callStart()
            let signal = spreadLiquidity?.run(key.symbol, { $0.onBook(key: key, bids: bids, asks: asks, eventTimeMs: eventTimeMs) })
            finish(spreadCalls, start, signal)
        }
        if icebergDetector != nil {
            let start = callStart()
            let signal = icebergDetector?.run(key.symbol, { $0.onBook(key: key, bids: bids, asks: asks, eventTimeMs: eventTimeMs) })
            finish(icebergCalls, start, signal)
        }
    }

    private func emit(_ signal: Signal) {
        stats.signalsGenerated[signal.strategyId]?.increment()
        stats.signalBreakdown[signal.strategyId]?.record(signal)
        sink.emit(signal)
    }

    /// The state of a tracked symbol, through the recent-key cache; nil if untracked.
    func existingState(for key: SymbolKey) -> SymbolState? {
        let slot = Self.recentSlot(key)
        if let state = recent[slot], state.key == key { return state }
        guard let state = symbols[key] else { return nil }
        recent[slot] = state
        return state
    }

    private func state(for key: SymbolKey) -> SymbolState {
        if let state = existingState(for: key) { return state }
        let slot = Self.recentSlot(key)
        if symbols.count >= max(1, configuration.maxSymbols) { evictLeastRecentlyUpdated() }
        let state = SymbolState(key: key, cell: board.cell(for: key), book: configuration.book)
        symbols[key] = state
        recent[slot] = state
        stats.symbolsTracked.set(symbols.count)
        return state
    }

    /// A cheap hash of the key's bits. Symbols of up to 15 UTF-8 bytes are stored inline in the
    /// `String`, so equal symbols from the parser's cache have equal bits; any other string just
    /// misses the cache (hits are verified with `==`).
    @inline(__always)
    private static func recentSlot(_ key: SymbolKey) -> Int {
        let bits = unsafeBitCast(key.symbol, to: (UInt64, UInt64).self)
        var h = (bits.0 ^ (bits.1 &* 0x9E37_79B9_7F4A_7C15) ^ UInt64(key.venue.rawValue)) &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 31
        return Int(truncatingIfNeeded: h) & (recentSlots - 1)
    }

    private func evictLeastRecentlyUpdated() {
        guard let victim = symbols.values.min(by: { $0.lastTouch < $1.lastTouch }) else { return }
        drop(victim.key)
        stats.symbolsEvicted.increment()
    }

    private func expireIdleSymbols() {
        let cutoff = watermarkMs - configuration.symbolTTLSeconds * 1000
        let expired = symbols.values.filter { $0.lastEventTimeMs < cutoff }.map(\.key)
        for key in expired {
            drop(key)
            stats.symbolsExpired.increment()
        }
    }

    private func drop(_ key: SymbolKey) {
        let slot = Self.recentSlot(key)
        if let cached = recent[slot], cached.key == key { recent[slot] = nil }
        if let state = symbols[key] { forgetBook(state.book) }
        symbols.removeValue(forKey: key)
        board.remove(key)
        orderbookSkew?.evict(key)
        spreadLiquidity?.evict(key)
        icebergDetector?.evict(key)
        tradeMomentum?.evict(key)
        tickerVelocity?.evict(key)
        btcDominance?.evict(key)
        crossExchangeSpread?.evict(key)
        onchainMetrics?.evict(key)
        stats.symbolsTracked.set(symbols.count)
    }
}
