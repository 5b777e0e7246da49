/// Counters of the book layer (docs/BOOKS.md), written by the ingest thread, read by HTTP,
/// `/metrics` and the socket. Fixed at start; nothing grows with traffic.
public final class BookStats: Sendable {
    /// The label named another kind than the payload, by the payload's kind (`StreamKind`).
    public let labelMismatch: [StatCounter] = StreamKind.allCases.map { _ in StatCounter() }
    /// Spot partial books (no `s`) attributed to the labelled symbol on evidence.
    public let attributedToLabel = StatCounter()
    /// Attributed to another tracked symbol whose state was the only one consistent with it.
    public let attributedByEvidence = StatCounter()
    /// Attributed to the label with no evidence at all, the only spot symbol tracked (start-up).
    public let attributedUnverified = StatCounter()
    /// Futures depthUpdate frames under a partial-depth label, by what the update ids made of them.
    public let futuresAsDiff = StatCounter()
    public let futuresAsPartial = StatCounter()
    public let futuresUnclassified = StatCounter()
    public let diffsApplied = StatCounter()
    public let diffsBuffered = StatCounter()
    /// Diffs at or below the book's update id: already in the book.
    public let diffsStale = StatCounter()
    /// Chain breaks (spot `U != u + 1`, futures `pu != u`): the book went resyncing.
    public let gaps = StatCounter()
    /// A book crossed after an update: resyncing.
    public let crossedAfterUpdate = StatCounter()
    /// A side ran out of known levels (a shallow book after removals): resyncing.
    public let exhausted = StatCounter()
    /// Books synced from a partial book that an older REST snapshot deepened (with the diffs kept since).
    public let deepened = StatCounter()
    public let syncedFromSnapshot = StatCounter()
    public let syncedFromPartial = StatCounter()
    /// Sync points older than the book (discarded) or older than the buffered diffs (too old).
    public let oldSnapshots = StatCounter()
    public let tooOldSnapshots = StatCounter()
    /// Partial books at the local book's own id: matching, or correcting its top levels.
    public let partialConfirmed = StatCounter()
    public let partialCorrected = StatCounter()
    public let bookTickerRefreshes = StatCounter()
    public let snapshotRequests = StatCounter()
    public let snapshotFailures = StatCounter()
    /// Partial books not usable as a sync point (levels out of order).
    public let unsortedPartials = StatCounter()
    /// Changes of the served book handed to the book strategies (before the skips below).
    public let bookUpdatesServed = StatCounter()
    /// Strategy runs skipped, by reason.
    public let skippedStale = StatCounter()
    public let skippedResyncing = StatCounter()
    public let skippedOneSided = StatCounter()
    /// Books currently synced, resyncing (gauges, per venue and symbol summed).
    public let booksSynced = StatCounter()
    public let booksResyncing = StatCounter()

    public init() {}

    public func labelMismatch(_ kind: StreamKind) -> StatCounter { labelMismatch[kind.rawValue] }
}

/// Which book a published snapshot comes from, and how good it is.
public struct BookInfo: Sendable, Equatable {
    public enum Source: UInt8, Sendable, CustomStringConvertible {
        /// The local book kept from diff depth, synced by update ids.
        case local = 0
        /// The latest partial book (depth5/10/20) as received.
        case partial = 1
        public var description: String { self == .local ? "local" : "partial" }
    }

    public var source: Source
    /// The local book is synced (false: it is unsynced or resyncing, and the partial book is served).
    public var synced: Bool
    public var lastUpdateId: Int64
    /// Exchange event time of the book's last update (ms).
    public var eventTimeMs: Int64
    /// Local receive time of the book's last update (ms): `age_ms` is measured from it.
    public var receiveMs: Int64

    public init(source: Source, synced: Bool, lastUpdateId: Int64, eventTimeMs: Int64, receiveMs: Int64) {
        self.source = source; self.synced = synced; self.lastUpdateId = lastUpdateId
        self.eventTimeMs = eventTimeMs; self.receiveMs = receiveMs
    }

    /// Age at `nowMs` by receive time, never negative.
    public func ageMs(nowMs: Int64) -> Int64 { max(0, nowMs.subtractingSaturated(receiveMs)) }
    public func isStale(nowMs: Int64, staleMs: Int64) -> Bool { ageMs(nowMs: nowMs) > staleMs }
}
