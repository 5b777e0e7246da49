import NIOCore
import NIOPosix
import Strategies
import Synchronization

/// Hands signals and depth updates from the ingest thread to socket subscribers.
///
/// The ingest thread only pushes each event once into a bounded lock-free ring and, when no
/// fan-out is pending, schedules one on the hub's event loop: its cost does not depend on how
/// many clients subscribe or how slow they are. The fan-out filters, throttles and pushes into
/// each connection's bounded `SocketOutbox`. Depth costs one atomic load per update while nobody
/// subscribes to depth. A full ring drops the event (counted); a dropped signal becomes a `Gap`
/// for every signal subscription.
public final class SocketHub: Sendable {
    final class SignalTarget: Sendable {
        let outbox: SocketOutbox
        let subscriptionId: UInt64
        let symbols: Set<String>
        let strategies: Set<String>

        init(outbox: SocketOutbox, subscriptionId: UInt64, symbols: Set<String>, strategies: Set<String>) {
            self.outbox = outbox
            self.subscriptionId = subscriptionId
            self.symbols = symbols
            self.strategies = strategies
        }

        func matches(_ signal: Signal) -> Bool {
            (symbols.isEmpty || symbols.contains(signal.key.symbol))
                && (strategies.isEmpty || strategies.contains(signal.strategyId))
        }
    }

    final class DepthTarget: Sendable {
        let outbox: SocketOutbox
        let subscriptionId: UInt64
        let venue: Venue
        let symbols: Set<String>
        let minIntervalMs: Int64
        /// Last push time per symbol (monotonic ms). Only the hub's fan-out touches it.
        private let lastPush = Mutex<[String: Int64]>([:])

        init(outbox: SocketOutbox, subscriptionId: UInt64, venue: Venue, symbols: Set<String>, minIntervalMs: Int64) {
            self.outbox = outbox
            self.subscriptionId = subscriptionId
            self.venue = venue
            self.symbols = symbols
            self.minIntervalMs = minIntervalMs
        }

        func matches(_ key: SymbolKey) -> Bool {
            key.venue == venue && (symbols.isEmpty || symbols.contains(key.symbol))
        }

        /// Per-symbol throttle: true (and the time recorded) when a push is due.
        func due(_ symbol: String, nowMs: Int64) -> Bool {
            guard minIntervalMs > 0 else { return true }
            return lastPush.withLock { last in
                if let previous = last[symbol], nowMs - previous < minIntervalMs { return false }
                last[symbol] = nowMs
                return true
            }
        }
    }

    private struct Registry: Sendable {
        var signals: [SignalTarget] = []
        var depth: [DepthTarget] = []
    }

    /// Boxed (`indirect`): a ring slot is one pointer instead of a whole signal or depth
    /// snapshot (≈270 B), so the ring costs 128 KiB rather than 4 MiB; pushing allocates one box,
    /// and only while somebody subscribes.
    indirect enum Event {
        case signal(Signal)
        /// `atMs`: monotonic ms at publication, for the per-symbol throttles.
        case depth(DepthUpdate, atMs: Int64)
    }

    private let registry = Mutex(Registry())
    private let signalSubscribers = Atomic<Int>(0)
    private let depthSubscribers = Atomic<Int>(0)
    private let ring: SingleProducerRing<Event>
    private let fanOutLoop: EventLoop
    private let fanOutScheduled = Atomic<Bool>(false)
    /// Events refused by the full ring.
    private let ringDrops = Atomic<Int>(0)
    private let stats: SocketStats?
    /// Sequences of signals refused by the full ring, not yet reported as a gap (rare path).
    private let droppedSignals = Mutex<ClosedRange<UInt64>?>(nil)
    /// Fan-out passes handle at most this many events before yielding the event loop.
    private static let fanOutBatch = 1024
    /// The fan-out pass, made once (scheduling it then allocates nothing). Set in `init`.
    nonisolated(unsafe) private var fanOutTask: @Sendable () -> Void = {}

    /// `capacity`: events between the ingest thread and the fan-out (rounded up to a power of 2).
    /// `stats`: where the ring's drops are counted too (`eventsDropped`).
    public init(capacity: Int = 16_384, eventLoop: EventLoop = MultiThreadedEventLoopGroup.singleton.next(),
                stats: SocketStats? = nil) {
        self.stats = stats
        ring = SingleProducerRing(capacity: capacity)
        fanOutLoop = eventLoop
        fanOutTask = { [weak self] in self?.fanOut() }
    }

    /// Events the full ring refused since start.
    public var droppedEvents: Int { ringDrops.load(ordering: .relaxed) }

    // MARK: Ingest thread

    /// A signal entered the log (it carries its sequence number).
    public func signalAppended(_ signal: Signal) {
        guard signalSubscribers.load(ordering: .relaxed) > 0 else { return }
        if !ring.push(.signal(signal)) {
            countDrop()
            let seq = signal.sequence
            noteLost(seq...seq)
        }
        scheduleFanOut()
    }

    /// A depth cell was published: one snapshot for every depth subscription.
    public func depthPublished(_ cell: DepthCell) {
        guard depthSubscribers.load(ordering: .relaxed) > 0 else { return }
        let update = cell.read { snapshot in
            DepthUpdate(key: snapshot.key, metrics: snapshot.metrics, bids: snapshot.bids, asks: snapshot.asks,
                        trend: SocketMapping.trend(snapshot), book: snapshot.book)
        }
        guard let update else { return }
        if !ring.push(.depth(update, atMs: MonotonicClock.nowMs())) {
            countDrop()  // a newer snapshot of the symbol follows
        }
        scheduleFanOut()
    }

    private func countDrop() {
        ringDrops.add(1, ordering: .relaxed)
        stats?.eventsDropped.increment()
    }

    private func scheduleFanOut() {
        guard !fanOutScheduled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        fanOutLoop.execute(fanOutTask)
    }

    // MARK: Fan-out (hub event loop)

    private func fanOut() {
        fanOutScheduled.store(false, ordering: .releasing)  // later pushes schedule another pass
        let targets = registry.withLock { $0 }
        // Signals the full ring refused: reported where they would have been, before the first
        // later signal (or at the end of the pass once the ring is empty).
        var lost = droppedSignals.withLock { range in defer { range = nil }; return range }
        var handled = 0
        while handled < Self.fanOutBatch, let event = ring.pop() {
            handled += 1
            switch event {
            case .signal(let signal):
                if let range = lost, signal.sequence > range.lowerBound {
                    reportLost(range, targets.signals)
                    lost = nil
                }
                let shared = SharedSignal(signal)
                for target in targets.signals where target.matches(signal) {
                    target.outbox.pushSignal(shared, subscriptionId: target.subscriptionId)
                }
            case .depth(let update, let atMs):
                let key = update.key
                for target in targets.depth where target.matches(key) && target.due(key.symbol, nowMs: atMs) {
                    target.outbox.pushDepth(update, subscriptionId: target.subscriptionId)
                }
            }
        }
        if handled == Self.fanOutBatch {
            if let range = lost { noteLost(range) }  // not reached yet: keep it for the next pass
            scheduleFanOut()  // more may wait: let other work on this loop run first
        } else if let range = lost {
            reportLost(range, targets.signals)
        }
    }

    private func noteLost(_ range: ClosedRange<UInt64>) {
        droppedSignals.withLock { pending in
            pending = pending.map { min($0.lowerBound, range.lowerBound)...max($0.upperBound, range.upperBound) } ?? range
        }
    }

    /// Every signal subscription hears of the lost range (their filters cannot be applied to
    /// signals that were never seen); clients re-read the range from the log if they need it.
    private func reportLost(_ range: ClosedRange<UInt64>, _ targets: [SignalTarget]) {
        for target in targets {
            target.outbox.pushGap(subscriptionId: target.subscriptionId, stream: .signals,
                                  fromSeq: range.lowerBound, toSeq: range.upperBound)
        }
    }

    // MARK: Connections

    func add(_ target: SignalTarget) {
        registry.withLock { $0.signals.append(target) }
        signalSubscribers.add(1, ordering: .relaxed)
    }

    func add(_ target: DepthTarget) {
        registry.withLock { $0.depth.append(target) }
        depthSubscribers.add(1, ordering: .relaxed)
    }

    /// Removes one subscription of `outbox`.
    func remove(outbox: SocketOutbox, subscriptionId: UInt64) {
        let (s, d) = registry.withLock { registry in
            let s = registry.signals.count
            let d = registry.depth.count
            registry.signals.removeAll { $0.outbox === outbox && $0.subscriptionId == subscriptionId }
            registry.depth.removeAll { $0.outbox === outbox && $0.subscriptionId == subscriptionId }
            return (s - registry.signals.count, d - registry.depth.count)
        }
        signalSubscribers.subtract(s, ordering: .relaxed)
        depthSubscribers.subtract(d, ordering: .relaxed)
    }

    /// Removes every subscription of `outbox` (the connection closed).
    func removeAll(outbox: SocketOutbox) {
        let (s, d) = registry.withLock { registry in
            let s = registry.signals.count
            let d = registry.depth.count
            registry.signals.removeAll { $0.outbox === outbox }
            registry.depth.removeAll { $0.outbox === outbox }
            return (s - registry.signals.count, d - registry.depth.count)
        }
        signalSubscribers.subtract(s, ordering: .relaxed)
        depthSubscribers.subtract(d, ordering: .relaxed)
    }

    /// Queued events per subscribed connection (diagnostics and tests).
    func queueDepths() -> [Int] {
        let outboxes = registry.withLock { registry in registry.signals.map(\.outbox) + registry.depth.map(\.outbox) }
        var seen = Set<ObjectIdentifier>()
        return outboxes.filter { seen.insert(ObjectIdentifier($0)).inserted }.map(\.count)
    }

    var depthSubscriberCount: Int { depthSubscribers.load(ordering: .relaxed) }
    var signalSubscriberCount: Int { signalSubscribers.load(ordering: .relaxed) }
}

/// Monotonic milliseconds, for throttles.
enum MonotonicClock {
    static func nowMs() -> Int64 {
        let d = ContinuousClock.now - start
        return d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
    }

    private static let start = ContinuousClock.now
}
