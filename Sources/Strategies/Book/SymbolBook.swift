import Synchronization

/// Settings of the book layer (docs/BOOKS.md).
public struct BookConfiguration: Sendable {
    /// `BOOK_MAX_LEVELS`: levels kept per side of a local book.
    public var maxLevels = 100
    /// Levels per side the depth metrics and the book strategies read (the seed's depth20).
    public var metricsLevels = 20
    /// `BOOK_STALE_MS`: a book older than this (receive time) is stale in answers; strategies
    /// skip a book whose event time lags the symbol's newest event by more than this.
    public var staleMs: Int64 = 5000
    /// `MAX_EVENT_TIME_SKEW_SECONDS`, in ms: event times further ahead of receive time are rejected.
    public var maxEventTimeSkewMs: Int64 = 300_000
    /// `BOOK_ATTRIBUTION`: how a partial book without `s` finds its symbol.
    public var attribution = Attribution.evidence
    /// `BOOK_ATTRIBUTION_TOLERANCE_BPS`: a book's mid within this of the symbol's recent price is evidence.
    public var priceToleranceBps = 100.0
    /// A book's update id within this of the symbol's known id is evidence (spot ids are per symbol).
    public var updateIdWindow: Int64 = 1_000_000
    /// Prices older than this (event time) are no evidence.
    public var priceEvidenceMaxAgeMs: Int64 = 60_000
    /// Ask for a REST snapshot when a book needs a sync point (the runtime fetches it).
    public var requestSnapshots = false
    /// Minimum time between two snapshot requests for one book (receive time).
    public var snapshotRetryMs: Int64 = 10_000

    public enum Attribution: String, Sendable {
        /// Only on evidence: the label's symbol when its state agrees, else the one symbol that does.
        case evidence
        /// The label is trusted (a feed with Binance's own stream names only).
        case label
    }

    public init() {}
}

/// A REST depth snapshot for one book, fetched by the runtime.
public struct BookSnapshot: Sendable {
    public var key: SymbolKey
    public var lastUpdateId: Int64
    public var bids: PriceLevels
    public var asks: PriceLevels
    /// The request's `limit`: a side with fewer levels is the whole side.
    public var limit: Int
    public var eventTimeMs: Int64

    public init(key: SymbolKey, lastUpdateId: Int64, bids: PriceLevels, asks: PriceLevels, limit: Int, eventTimeMs: Int64) {
        self.key = key; self.lastUpdateId = lastUpdateId; self.bids = bids; self.asks = asks
        self.limit = limit; self.eventTimeMs = eventTimeMs
    }
}

/// Book state of one venue and symbol, owned by the ingest thread: the local book, the latest
/// partial book, and the evidence used to attribute partial books without `s`.
final class SymbolBook {
    var local: LocalBook
    /// Receive time of the local book's last change.
    var localReceiveMs: Int64 = 0
    /// Ids of the last diff-shaped frame seen (futures classification: `pu` chains to it).
    var lastDiffU: Int64 = -1
    var lastDiffPU: Int64 = -1
    /// Evidence for attribution: an update id from frames that name this symbol, and a recent price.
    var knownUpdateId: Int64 = 0
    var referencePrice = 0.0
    var referencePriceTimeMs: Int64 = 0
    /// Receive time of the last snapshot request (0: none).
    var snapshotRequestedMs: Int64 = 0
    /// The strategies last ran on a diff at this update id (-1: not on a diff): a partial book
    /// confirming that same state does not run them twice.
    var strategiesRanOnDiffAt: Int64 = -1
    /// A diff arrived since the last partial book: the diffs carry the book forward. Without
    /// any (a partial-only feed), each newer partial book re-syncs the book.
    var diffSincePartial = false
    /// Reported in the synced/resyncing gauges.
    var countedState = LocalBook.State.unsynced

    init(venue: Venue, maxLevels: Int, keepsHistory: Bool) {
        local = LocalBook(venue: venue, maxLevels: maxLevels, keepsHistory: keepsHistory)
    }

    var hasEvidence: Bool { knownUpdateId != 0 || referencePrice > 0 }

    /// Whether a partial book with update id `id`, mid `mid`, at `eventTimeMs` agrees with this
    /// symbol's state: at least one piece of evidence matches and none contradicts.
    func isConsistent(id: Int64, mid: Double, eventTimeMs: Int64, config: BookConfiguration) -> Bool {
        var matches = false
        if knownUpdateId != 0 {
            let distance = id.subtractingSaturated(knownUpdateId)
            if distance.magnitude <= config.updateIdWindow.magnitude { matches = true } else { return false }
        }
        if referencePrice > 0, mid > 0,
            eventTimeMs.subtractingSaturated(referencePriceTimeMs).magnitude <= config.priceEvidenceMaxAgeMs.magnitude
        {
            let deviationBps = abs(mid - referencePrice) / referencePrice * 10_000
            if deviationBps <= config.priceToleranceBps { matches = true } else { return false }
        }
        return matches
    }

    func notePrice(_ price: Double, eventTimeMs: Int64) {
        guard price > 0, price.isFinite else { return }
        referencePrice = price
        referencePriceTimeMs = eventTimeMs
    }

    func noteUpdateId(_ id: Int64) {
        if id > knownUpdateId { knownUpdateId = id }
    }
}

/// Snapshot requests from the ingest thread to the runtime's fetcher, and the snapshots back.
/// Requests are rare (a book needing a sync point), so a lock is fine here; the ingest thread
/// checks for answers with one atomic load per message.
public final class BookSnapshotMailbox: Sendable {
    private struct Queues: Sendable {
        var requests: [SymbolKey] = []
        var snapshots: [BookSnapshot] = []
    }

    private let queues = Mutex(Queues())
    private let answered = Atomic<UInt64>(0)
    private let requested = Atomic<UInt64>(0)
    /// Bound on queued requests and answers: a fetcher that falls behind drops the oldest.
    public let capacity: Int

    public init(capacity: Int = 4096) { self.capacity = max(1, capacity) }

    /// Bumped on every request, so a fetcher can wait cheaply.
    public var requestGeneration: UInt64 { requested.load(ordering: .acquiring) }
    var answerGeneration: UInt64 { answered.load(ordering: .acquiring) }

    func request(_ key: SymbolKey) {
        queues.withLock { q in
            if q.requests.contains(key) { return }
            if q.requests.count >= capacity { q.requests.removeFirst() }
            q.requests.append(key)
        }
        requested.wrappingAdd(1, ordering: .releasing)
    }

    /// The fetcher takes the pending requests.
    public func takeRequests() -> [SymbolKey] {
        queues.withLock { q in
            defer { q.requests.removeAll(keepingCapacity: true) }
            return q.requests
        }
    }

    /// The fetcher hands a snapshot to the ingest thread.
    public func deliver(_ snapshot: BookSnapshot) {
        queues.withLock { q in
            if q.snapshots.count >= capacity { q.snapshots.removeFirst() }
            q.snapshots.append(snapshot)
        }
        answered.wrappingAdd(1, ordering: .releasing)
    }

    func takeSnapshots() -> [BookSnapshot] {
        queues.withLock { q in
            defer { q.snapshots.removeAll(keepingCapacity: true) }
            return q.snapshots
        }
    }
}
