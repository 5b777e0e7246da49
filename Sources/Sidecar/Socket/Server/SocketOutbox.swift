import NIOCore
import Strategies
import Synchronization

/// A depth update as handed from the ingest thread to a connection: the published values,
/// converted to protocol values only on the connection's event loop.
///
/// A class: one update is queued for every depth subscriber, and each queue entry then holds a
/// reference instead of a copy (the entry size bounds a never-reading client's queue memory).
final class DepthUpdate: Sendable {
    let key: SymbolKey
    let metrics: DepthMetrics
    let bids: PriceLevels
    let asks: PriceLevels
    let trend: TrendDirection
    let book: BookInfo

    init(key: SymbolKey, metrics: DepthMetrics, bids: PriceLevels, asks: PriceLevels, trend: TrendDirection, book: BookInfo) {
        self.key = key; self.metrics = metrics; self.bids = bids; self.asks = asks; self.trend = trend; self.book = book
    }
}

/// A signal shared by every queue it is pushed to (see `DepthUpdate`).
final class SharedSignal: Sendable {
    let signal: Signal
    init(_ signal: Signal) { self.signal = signal }
}

/// Output beyond the per-connection budget, shared by all connections: a reply larger than what
/// is left of a connection's budget is written only while this pool has room for the excess,
/// so all connections together hold at most `connections × budget + capacity` unsent bytes.
final class SocketOutputPool: Sendable {
    let capacity: Int
    private let used = Atomic<Int>(0)

    init(capacity: Int) { self.capacity = max(0, capacity) }

    var inUse: Int { used.load(ordering: .relaxed) }

    func reserve(_ bytes: Int) -> Bool {
        var current = used.load(ordering: .relaxed)
        while current + bytes <= capacity {
            let (exchanged, original) = used.compareExchange(expected: current, desired: current + bytes, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func release(_ bytes: Int) {
        if bytes > 0 { used.subtract(bytes, ordering: .acquiringAndReleasing) }
    }
}

/// A pushed event waiting in a connection's queue.
enum QueuedEvent: Sendable {
    case signal(subscriptionId: UInt64, signal: SharedSignal)
    case depth(subscriptionId: UInt64, seq: UInt64, update: DepthUpdate)
    /// Events lost before they reached this queue (the hub's ring was full), in stream order.
    case gap(subscriptionId: UInt64, gap: SocketOutbox.PendingGap)

    var subscriptionId: UInt64 {
        switch self {
        case .signal(let id, _), .depth(let id, _, _), .gap(let id, _): id
        }
    }

    /// Memory this entry keeps alive, counted as if not shared with other queues (an upper
    /// bound): the entry, the update or signal object and its arrays.
    var cost: Int {
        let entry = MemoryLayout<QueuedEvent>.stride
        switch self {
        case .signal: return entry + Self.signalCost
        case .depth(_, _, let u):
            return entry + Self.depthCost + 8 * (u.bids.prices.capacity + u.bids.quantities.capacity
                + u.asks.prices.capacity + u.asks.quantities.capacity)
        case .gap: return entry
        }
    }

    /// A signal object with its strings and indicator values (generous).
    static let signalCost = 1024
    /// A depth update object without its level arrays, plus four array headers.
    static let depthCost = 512
}

/// One connection's bounded queue of pushed events, filled by the hub's fan-out and drained by
/// the connection's event loop.
///
/// The lock is held only to push or pop (never across I/O), so ingestion never waits for a
/// client. When the queue is full the OLDEST event is dropped and counted, and the dropped
/// sequence range is remembered per subscription; the connection sends it as a `Gap` before
/// that subscription's next event.
final class SocketOutbox: @unchecked Sendable {
    struct PendingGap: Sendable, Equatable {
        var stream: SocketProtocol.Stream
        var fromSeq: UInt64
        var toSeq: UInt64
    }

    private struct State {
        var queue: CircularBuffer<QueuedEvent>
        /// Sum of the queued events' `cost`.
        var bytes = 0
        var gaps: [UInt64: PendingGap] = [:]
        /// Signal subscriptions replaying from the log: drops are not gaps (the replay re-reads
        /// the log); the value is the highest sequence dropped meanwhile.
        var replaying: [UInt64: UInt64] = [:]
        var depthSeq: [UInt64: UInt64] = [:]
        var closed = false
        /// Runs one drain on the event loop; nil once closed (breaks the cycle with the handler).
        var drain: (@Sendable () -> Void)?
    }

    let capacity: Int
    /// Bound on the queued events' `cost`: the oldest are dropped beyond it too.
    let maxBytes: Int
    let eventLoop: EventLoop
    private let stats: SocketStats
    private let state: Mutex<State>
    /// True while a drain is scheduled, or while the channel is unwritable (the writability
    /// change drains): pushes then do not schedule more work.
    private let scheduled = Atomic<Bool>(false)

    init(capacity: Int, maxBytes: Int = .max, eventLoop: EventLoop, stats: SocketStats) {
        self.capacity = max(1, capacity)
        self.maxBytes = maxBytes
        self.eventLoop = eventLoop
        self.stats = stats
        state = Mutex(State(queue: CircularBuffer(initialCapacity: min(self.capacity, 64))))
    }

    /// Sets the drain callback (the connection, once its handler is in place).
    func setDrain(_ drain: @escaping @Sendable () -> Void) {
        state.withLock { $0.drain = drain }
    }

    /// Stops accepting events and frees the queue. Idempotent.
    func close() {
        state.withLock { state in
            state.closed = true
            state.queue.removeAll()
            state.bytes = 0
            state.gaps.removeAll()
            state.drain = nil
        }
    }

    var count: Int { state.withLock { $0.queue.count } }

    // MARK: Hub fan-out

    func pushSignal(_ signal: SharedSignal, subscriptionId: UInt64) {
        let drain: (@Sendable () -> Void)? = state.withLock { state in
            guard !state.closed else { return nil }
            let event = QueuedEvent.signal(subscriptionId: subscriptionId, signal: signal)
            makeRoom(&state, for: event.cost)
            state.queue.append(event)
            state.bytes += event.cost
            return state.drain
        }
        schedule(drain)
    }

    func pushDepth(_ update: DepthUpdate, subscriptionId: UInt64) {
        let drain: (@Sendable () -> Void)? = state.withLock { state in
            guard !state.closed else { return nil }
            let seq = (state.depthSeq[subscriptionId] ?? 0) + 1
            state.depthSeq[subscriptionId] = seq
            let event = QueuedEvent.depth(subscriptionId: subscriptionId, seq: seq, update: update)
            makeRoom(&state, for: event.cost)
            state.queue.append(event)
            state.bytes += event.cost
            return state.drain
        }
        schedule(drain)
    }

    /// Events of `subscriptionId` in `fromSeq...toSeq` were lost before reaching this queue:
    /// queued as a `Gap` in its place among the events.
    func pushGap(subscriptionId: UInt64, stream: SocketProtocol.Stream, fromSeq: UInt64, toSeq: UInt64) {
        let drain: (@Sendable () -> Void)? = state.withLock { state in
            guard !state.closed else { return nil }
            if let highest = state.replaying[subscriptionId] {
                state.replaying[subscriptionId] = max(highest, toSeq)  // the replay re-reads the log
                return nil
            }
            let event = QueuedEvent.gap(subscriptionId: subscriptionId,
                                        gap: PendingGap(stream: stream, fromSeq: fromSeq, toSeq: toSeq))
            makeRoom(&state, for: event.cost)
            state.queue.append(event)
            state.bytes += event.cost
            return state.drain
        }
        schedule(drain)
    }

    private func makeRoom(_ state: inout State, for cost: Int) {
        while state.queue.count >= capacity || state.bytes + cost > maxBytes, let dropped = state.queue.popFirst() {
            state.bytes -= dropped.cost
            switch dropped {
            case .signal(let id, let shared):
                if let highest = state.replaying[id] {
                    state.replaying[id] = max(highest, shared.signal.sequence)
                } else {
                    Self.extend(&state.gaps, id, .signals, shared.signal.sequence)
                    stats.eventsDropped.increment()
                }
            case .depth(let id, let seq, _):
                Self.extend(&state.gaps, id, .depth, seq)
                stats.eventsDropped.increment()
            case .gap(let id, let gap):  // every event still queued is newer: it merges into the next gap
                Self.extend(&state.gaps, id, gap.stream, gap.fromSeq)
                Self.extend(&state.gaps, id, gap.stream, gap.toSeq)
            }
        }
    }

    private static func extend(_ gaps: inout [UInt64: PendingGap], _ id: UInt64, _ stream: SocketProtocol.Stream, _ seq: UInt64) {
        if var gap = gaps[id] {
            gap.fromSeq = min(gap.fromSeq, seq)
            gap.toSeq = max(gap.toSeq, seq)
            gaps[id] = gap
        } else {
            gaps[id] = PendingGap(stream: stream, fromSeq: seq, toSeq: seq)
        }
    }

    private func schedule(_ drain: (@Sendable () -> Void)?) {
        guard let drain, !scheduled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        eventLoop.execute(drain)
    }

    // MARK: Event loop

    /// Called at the start of a drain: later pushes schedule another one.
    func drainStarted() { scheduled.store(false, ordering: .releasing) }

    /// The channel is unwritable: pushes only queue until `resume()`.
    func park() { scheduled.store(true, ordering: .releasing) }

    /// The pending gaps (all of them: every queued event is newer than every dropped one) and up
    /// to `max` events, oldest first.
    func take(max: Int) -> (gaps: [(UInt64, PendingGap)], events: [QueuedEvent]) {
        state.withLock { state in
            var gaps: [(UInt64, PendingGap)] = []
            if !state.gaps.isEmpty {
                gaps = state.gaps.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
                state.gaps.removeAll()
            }
            var events: [QueuedEvent] = []
            let n = min(max, state.queue.count)
            events.reserveCapacity(n)
            for _ in 0..<n {
                if let event = state.queue.popFirst() {
                    state.bytes -= event.cost
                    events.append(event)
                }
            }
            return (gaps, events)
        }
    }

    func beginReplay(subscriptionId: UInt64) {
        state.withLock { $0.replaying[subscriptionId] = 0 }
    }

    /// Ends a replay that reached `cursor`, unless events above it were dropped meanwhile (then
    /// the caller reads the log again).
    func finishReplay(subscriptionId: UInt64, cursor: UInt64) -> Bool {
        state.withLock { state in
            guard let highest = state.replaying[subscriptionId] else { return true }
            guard highest <= cursor else { return false }
            state.replaying[subscriptionId] = nil
            return true
        }
    }

    /// Forgets a subscription: its queued events, pending gap and replay state.
    func remove(subscriptionId: UInt64) {
        state.withLock { state in
            state.queue.removeAll { $0.subscriptionId == subscriptionId }
            state.bytes = state.queue.reduce(0) { $0 + $1.cost }
            state.gaps[subscriptionId] = nil
            state.replaying[subscriptionId] = nil
            state.depthSeq[subscriptionId] = nil
        }
    }
}
