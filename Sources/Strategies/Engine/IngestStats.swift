import Synchronization

/// A counter written by the ingest thread and read by any thread (HTTP, socket, metrics).
/// Relaxed atomics: readers only need a recent value, never a consistent cut.
public final class StatCounter: Sendable {
    private let storage = Atomic<Int>(0)
    public init() {}
    @inlinable public func increment() { add(1) }
    public func add(_ n: Int) { storage.wrappingAdd(n, ordering: .relaxed) }
    public func set(_ n: Int) { storage.store(n, ordering: .relaxed) }
    public var value: Int { storage.load(ordering: .relaxed) }
}

/// Every counter the ingest path keeps. Fixed at start: kinds and reasons are enums and the
/// strategy ids are known when the engine is built, so nothing here grows with traffic.
public final class IngestStats: Sendable {
    public let received = StatCounter()
    /// Messages fully handled: events, counted-only kinds and symbols outside the allow-list.
    public let processed = StatCounter()
    public let rejected = StatCounter()
    public let rejectedByReason: [StatCounter] = RejectReason.allCases.map { _ in StatCounter() }
    public let byKind: [StatCounter] = StreamKind.allCases.map { _ in StatCounter() }
    /// `data.s` disagreed with the stream name.
    public let symbolMismatches = StatCounter()
    /// Events for symbols outside `TRADING_SYMBOLS`.
    public let filteredSymbols = StatCounter()
    public let symbolsTracked = StatCounter()
    /// Evicted because `MAX_SYMBOLS` was reached (least recently updated first).
    public let symbolsEvicted = StatCounter()
    /// Dropped because no update arrived within the TTL (event time).
    public let symbolsExpired = StatCounter()
    /// Newest exchange event time seen (ms), for consumer lag.
    public let lastEventTimeMs = StatCounter()
    /// Wall-clock receive time of the newest message (ms).
    public let lastReceiveTimeMs = StatCounter()
    /// Signals a strategy produced, by strategy id.
    public let signalsGenerated: [String: StatCounter]
    /// Signals that passed the confidence gate and entered the signal log, by strategy id.
    public let signalsAccepted: [String: StatCounter]
    /// Signals published on NATS, by strategy id.
    public let signalsPublished: [String: StatCounter]
    /// Signals below `SIGNAL_MIN_CONFIDENCE`, not published.
    public let signalsBelowConfidence = StatCounter()
    public let publishErrors = StatCounter()
    /// Messages on the reference-price and on-chain subjects, and those rejected.
    public let feedMessages = StatCounter()
    public let feedRejected = StatCounter()

    public init(strategyIds: [String]) {
        signalsGenerated = Dictionary(uniqueKeysWithValues: strategyIds.map { ($0, StatCounter()) })
        signalsAccepted = Dictionary(uniqueKeysWithValues: strategyIds.map { ($0, StatCounter()) })
        signalsPublished = Dictionary(uniqueKeysWithValues: strategyIds.map { ($0, StatCounter()) })
    }

    public func rejected(_ reason: RejectReason) -> StatCounter { rejectedByReason[reason.rawValue] }
    public func kind(_ kind: StreamKind) -> StatCounter { byKind[kind.rawValue] }
}
