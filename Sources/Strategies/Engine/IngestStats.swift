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
    /// The book layer's counters (docs/BOOKS.md).
    public let books = BookStats()
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
    /// Signals that never reached NATS: the publish failed (reconnect buffer full while
    /// disconnected, connection closed, ...). Every publish error loses its signal.
    public let signalsLost = StatCounter()
    /// Signals a strategy produced, by strategy id, action and confidence bucket
    /// (see `SignalBreakdown`). Counted on the signal path, which is rare, not per message.
    public let signalBreakdown: [String: SignalBreakdown]
    /// Calls and sampled latency of each strategy, by strategy id.
    public let strategyCalls: [String: StrategyCallStats]
    /// Sampled whole-message processing time (parse, state, metrics, strategies, signals), by
    /// stream kind (`StreamKind.rawValue`). One message in `LatencyHistogram.sampleEvery`.
    public let messageLatency: [LatencyHistogram] = StreamKind.allCases.map { _ in LatencyHistogram() }

    public init(strategyIds: [String]) {
        signalsGenerated = Dictionary(uniqueKeysWithValues: strategyIds.map { ($0, StatCounter()) })
        signalsAccepted = Dictionary(uniqueKeysWithValues: strategyIds.map { ($0, StatCounter()) })
        signalsPublished = Dictionary(uniqueKeysWithValues: strategyIds.map { ($0, StatCounter()) })
        signalBreakdown = Dictionary(uniqueKeysWithValues: strategyIds.map { ($0, SignalBreakdown()) })
        strategyCalls = Dictionary(uniqueKeysWithValues: strategyIds.map { ($0, StrategyCallStats()) })
    }

    public func rejected(_ reason: RejectReason) -> StatCounter { rejectedByReason[reason.rawValue] }
    public func kind(_ kind: StreamKind) -> StatCounter { byKind[kind.rawValue] }
    public func latency(_ kind: StreamKind) -> LatencyHistogram { messageLatency[kind.rawValue] }
}

/// A latency histogram written by one thread with relaxed atomics and read by any: no lock and
/// no allocation per observation. Buckets are fixed (1 µs to 100 ms); readers export them
/// cumulatively as a Prometheus histogram in milliseconds.
public final class LatencyHistogram: Sendable {
    /// Time one call in this many: a monotonic clock read costs about as much as a small
    /// strategy, so sampling keeps the histograms nearly free.
    public static let sampleEvery: UInt64 = 64
    /// Upper bounds of the finite buckets, in nanoseconds; a last `+Inf` bucket follows.
    public static let upperBoundsNs: [Int] = [
        1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
        1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000, 100_000_000,
    ]
    /// Observations per bucket (not cumulative); the last one is `+Inf`.
    private let buckets: [StatCounter] = (0...LatencyHistogram.upperBoundsNs.count).map { _ in StatCounter() }
    private let sum = StatCounter()

    public init() {}

    /// Records one duration.
    public func observe(nanoseconds: Int) {
        let bounds = Self.upperBoundsNs
        var index = bounds.count
        for i in 0..<bounds.count where nanoseconds <= bounds[i] {
            index = i
            break
        }
        buckets[index].increment()
        sum.add(max(nanoseconds, 0))
    }

    /// Cumulative counts per bucket (the last is the total count) and the sum, in nanoseconds.
    /// Not a consistent cut, but the count is always the `+Inf` bucket.
    public func snapshot() -> (cumulative: [Int], sumNanoseconds: Int) {
        var running = 0
        let cumulative = buckets.map { bucket -> Int in
            running += bucket.value
            return running
        }
        return (cumulative, sum.value)
    }

    public var count: Int { buckets.reduce(0) { $0 + $1.value } }
}

/// Calls of one strategy and their sampled latency. `calls − signals generated` is the number
/// of calls that produced no signal.
public final class StrategyCallStats: Sendable {
    public let calls = StatCounter()
    public let latency = LatencyHistogram()
    public init() {}
}

/// Signals generated by one strategy, by action and confidence bucket.
public final class SignalBreakdown: Sendable {
    /// The seed's `confidence_bucket` attribute (inventory §6.3).
    public enum ConfidenceBucket: Int, CaseIterable, Sendable, CustomStringConvertible {
        case veryHigh = 0, high, medium, low

        public init(confidence: Double) {
            if confidence >= 0.9 { self = .veryHigh }
            else if confidence >= 0.75 { self = .high }
            else if confidence >= 0.5 { self = .medium }
            else { self = .low }
        }

        public var description: String {
            switch self {
            case .veryHigh: "very_high"
            case .high: "high"
            case .medium: "medium"
            case .low: "low"
            }
        }
    }

    private let counters: [StatCounter] =
        (0..<(SignalAction.allCases.count * ConfidenceBucket.allCases.count)).map { _ in StatCounter() }

    public init() {}

    public func counter(_ action: SignalAction, _ bucket: ConfidenceBucket) -> StatCounter {
        let actionIndex = SignalAction.allCases.firstIndex(of: action) ?? 0
        return counters[actionIndex * ConfidenceBucket.allCases.count + bucket.rawValue]
    }

    public func record(_ signal: Signal) {
        counter(signal.action, ConfidenceBucket(confidence: signal.confidence)).increment()
    }
}
