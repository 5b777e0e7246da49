import Strategies
import Synchronization

/// Hands signals and depth updates from the ingest thread to socket subscribers.
///
/// The ingest thread copies the subscriber list under a short lock, filters, and pushes into
/// each connection's bounded `SocketOutbox`; nothing here waits on a client. Depth costs one
/// atomic load per update while nobody subscribes to depth.
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
        /// Last push time per symbol (monotonic ms). Only the ingest thread touches it.
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

    private let registry = Mutex(Registry())
    private let signalSubscribers = Atomic<Int>(0)
    private let depthSubscribers = Atomic<Int>(0)

    public init() {}

    // MARK: Ingest thread

    /// A signal entered the log (it carries its sequence number).
    public func signalAppended(_ signal: Signal) {
        guard signalSubscribers.load(ordering: .relaxed) > 0 else { return }
        let targets = registry.withLock { $0.signals }
        for target in targets where target.matches(signal) {
            target.outbox.pushSignal(signal, subscriptionId: target.subscriptionId)
        }
    }

    /// A depth cell was published. Reads the snapshot only if some subscription is due.
    public func depthPublished(_ cell: DepthCell) {
        guard depthSubscribers.load(ordering: .relaxed) > 0 else { return }
        let targets = registry.withLock { $0.depth }
        let key = cell.key
        let now = MonotonicClock.nowMs()
        var update: DepthUpdate?
        for target in targets where target.matches(key) && target.due(key.symbol, nowMs: now) {
            if update == nil {
                update = cell.read { snapshot in
                    DepthUpdate(key: snapshot.key, metrics: snapshot.metrics, bids: snapshot.bids, asks: snapshot.asks,
                                trend: SocketMapping.trend(snapshot))
                }
            }
            guard let update else { return }
            target.outbox.pushDepth(update, subscriptionId: target.subscriptionId)
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
