/// A local order book kept from diff depth, synced by update ids the way Binance documents it
/// ("How to manage a local order book correctly", spot and USDⓈ-M; docs/BOOKS.md):
///
/// 1. Diffs are buffered until a sync point: a REST snapshot, or a partial book (exact for its
///    top levels at its `lastUpdateId`/`u`).
/// 2. At the sync point, buffered diffs it already covers are dropped (spot `u <= L`, futures
///    `u < L`); the first one applied must straddle it (spot `U <= L + 1 <= u`, futures
///    `U <= L <= u`, or `pu == L` after a partial book that copied a diff's ids). A buffer that
///    starts after that means the snapshot is too old: wait for another.
/// 3. Later diffs must chain: spot `U == previous u + 1`, futures `pu == previous u`. A break, or
///    a book crossed after an update, marks the book resyncing and clears it.
///
/// Memory is bounded: `maxLevels` per side and `maxBufferedLevels` level entries in the buffer
/// (the oldest buffered diffs are dropped first; a newer sync point is needed then anyway).
/// Owned by the ingest thread.
public struct LocalBook: Sendable {
    public enum State: UInt8, Sendable, CustomStringConvertible {
        /// No sync point seen yet.
        case unsynced = 0
        case synced = 1
        /// Lost its sync (gap, `pu` break, crossed after an update); waiting for a sync point.
        case resyncing = 2

        public var description: String {
            switch self {
            case .unsynced: "unsynced"
            case .synced: "synced"
            case .resyncing: "resyncing"
            }
        }
    }

    /// What one diff did to the book.
    public enum DiffResult: Equatable, Sendable {
        /// Applied; the book changed.
        case applied
        /// Already covered by the book (`u` at or below its id): dropped.
        case stale
        /// Not synced: kept for the next sync point.
        case buffered
        /// Broke the chain (or crossed the book): the book is now resyncing.
        case gap
        /// The book crossed after applying it: now resyncing.
        case crossed
        /// Applied on top of a deeper snapshot taken a little ahead of the book, which this diff
        /// straddled: the book now has the snapshot's depth.
        case appliedOnSnapshot
        /// A side ran out of known levels (removals beyond a shallow sync point's depth): the book
        /// no longer knows its best level there; now resyncing.
        case exhausted
    }

    /// What one sync point did.
    public enum SyncResult: Equatable, Sendable {
        /// The book is synced from it (plus `applied` buffered diffs).
        case synced(applied: Int)
        /// Older than the book's state: discarded.
        case old
        /// A partial book at the book's own id, matching (or correcting, `changed`) its top levels.
        case confirmed(changed: Bool)
        /// The buffered diffs start after it: too old to bridge; another one is needed.
        case tooOld
        /// The book is synced and the sync point is newer: the diffs will get there; not needed.
        case unneeded
        /// Synced, but a buffered diff after it broke the chain: resyncing again.
        case gapAfterSync
        /// A REST snapshot older than a book synced from a partial book, bridged by the diffs
        /// kept since: the book now has the snapshot's depth at its own id.
        case deepened
        /// A REST snapshot a little ahead of a book synced from a partial book: kept until the
        /// diff that straddles it arrives, which then applies on top of it.
        case pending
    }

    public let venue: Venue
    public let maxLevels: Int
    public let maxBufferedLevels: Int
    public private(set) var bids: BookSide
    public private(set) var asks: BookSide
    public private(set) var state: State = .unsynced
    /// The id of the last update the book holds (its `u`); 0 before the first sync.
    public private(set) var lastUpdateId: Int64 = 0
    /// Event time of the last update applied (ms).
    public private(set) var eventTimeMs: Int64 = 0
    /// After a sync point with no buffered diff to follow it, the next diff must straddle it.
    private var awaitingFirstDiff = false
    private var buffer = DiffBuffer()
    /// Synced from a deep sync point (a REST snapshot), not from a partial book's top levels.
    public private(set) var isDeep = false
    /// While shallow: the diffs since before the sync point, so that an older REST snapshot can
    /// still deepen the book (kept only when snapshots are requested; same bound as the buffer).
    private var history = DiffBuffer()
    private let keepsHistory: Bool
    /// A deep snapshot ahead of a shallow book, waiting for its straddling diff.
    private var pendingSnapshot: SyncPoint?

    /// A sync point's levels, and whether each side lists everything there is.
    private struct SyncPoint {
        var id: Int64
        var bids: PriceLevels
        var asks: PriceLevels
        var wholeBids: Bool
        var wholeAsks: Bool
    }

    public init(venue: Venue, maxLevels: Int, maxBufferedLevels: Int = 8192, keepsHistory: Bool = false) {
        self.venue = venue
        self.maxLevels = max(1, maxLevels)
        self.maxBufferedLevels = max(1, maxBufferedLevels)
        self.keepsHistory = keepsHistory
        bids = BookSide(descending: true, capacity: min(self.maxLevels, 1024))
        asks = BookSide(descending: false, capacity: min(self.maxLevels, 1024))
    }

    public var isSynced: Bool { state == .synced }

    // MARK: - Diffs

    /// Applies (or buffers) one diff. `bids`/`asks` hold absolute quantities (0 removes).
    public mutating func apply(firstUpdateId U: Int64, finalUpdateId u: Int64, previousFinalUpdateId pu: Int64,
                               bids b: PriceLevels, asks a: PriceLevels, eventTimeMs: Int64) -> DiffResult
    {
        guard state == .synced else {
            buffer.append(U: U, u: u, pu: pu, bids: b, asks: a, eventTimeMs: eventTimeMs, maxLevels: maxBufferedLevels)
            return .buffered
        }
        if u <= lastUpdateId { return .stale }
        var onSnapshot = false
        if let p = pendingSnapshot, venue == .usdm ? u >= p.id : u > p.id {
            pendingSnapshot = nil
            if straddles(U: U, u: u, pu: pu, snapshotId: p.id) {
                // The deeper snapshot replaces the shallow book; this diff applies on top of it.
                take(p)
                isDeep = true
                history.removeAll()
                awaitingFirstDiff = true
                onSnapshot = true
            }
        }
        let continues: Bool
        if awaitingFirstDiff {
            continues = straddles(U: U, u: u, pu: pu, snapshotId: lastUpdateId)
        } else {
            continues = venue == .usdm ? pu == lastUpdateId : U == lastUpdateId &+ 1
        }
        guard continues else {
            loseSync()
            buffer.append(U: U, u: u, pu: pu, bids: b, asks: a, eventTimeMs: eventTimeMs, maxLevels: maxBufferedLevels)
            return .gap
        }
        let result = applyLevels(u: u, bids: b, asks: a, eventTimeMs: eventTimeMs)
        if result == .applied && keepsHistory && !isDeep {
            history.append(U: U, u: u, pu: pu, bids: b, asks: a, eventTimeMs: eventTimeMs, maxLevels: maxBufferedLevels)
        }
        return result == .applied && onSnapshot ? .appliedOnSnapshot : result
    }

    /// Sync point: a REST snapshot or a partial book at update id `id`. `wholeBids`/`wholeAsks`:
    /// the source listed every level of that side (so nothing lies beyond its last level).
    /// `deep`: a REST snapshot (deep), not a partial book (its top levels only).
    public mutating func sync(updateId id: Int64, bids b: PriceLevels, asks a: PriceLevels, wholeBids: Bool,
                              wholeAsks: Bool, eventTimeMs: Int64, deep: Bool = false) -> SyncResult
    {
        if state == .synced && deep && !isDeep {
            if id <= lastUpdateId {
                return deepen(updateId: id, bids: b, asks: a, wholeBids: wholeBids, wholeAsks: wholeAsks)
            }
            pendingSnapshot = SyncPoint(id: id, bids: b, asks: a, wholeBids: wholeBids, wholeAsks: wholeAsks)
            return .pending
        }
        if state == .synced {
            if id < lastUpdateId { return .old }
            if id == lastUpdateId {
                let bidChanged = bids.overlay(prices: b.prices, quantities: b.quantities, wholeSide: wholeBids, maxLevels: maxLevels)
                let askChanged = asks.overlay(prices: a.prices, quantities: a.quantities, wholeSide: wholeAsks, maxLevels: maxLevels)
                return .confirmed(changed: bidChanged || askChanged)
            }
            return .unneeded
        }
        // Drop what the snapshot already covers (a shallow book keeps it, for a deeper snapshot).
        let kept = keepsHistory && !deep ? buffer : DiffBuffer()
        buffer.dropCovered(by: id, venue: venue)
        if let first = buffer.first, !straddles(U: first.U, u: first.u, pu: first.pu, snapshotId: id) {
            return .tooOld
        }
        take(SyncPoint(id: id, bids: b, asks: a, wholeBids: wholeBids, wholeAsks: wholeAsks))
        if eventTimeMs > 0 { self.eventTimeMs = eventTimeMs }
        state = .synced
        isDeep = deep
        awaitingFirstDiff = true
        // Apply the buffer in order; it may break again.
        var applied = 0
        var pending = DiffBuffer()
        swap(&pending, &buffer)
        var scratchBids = PriceLevels(capacity: 32)
        var scratchAsks = PriceLevels(capacity: 32)
        for i in 0..<pending.count {
            let d = pending.diff(i, bids: &scratchBids, asks: &scratchAsks)
            switch apply(firstUpdateId: d.U, finalUpdateId: d.u, previousFinalUpdateId: d.pu, bids: scratchBids,
                         asks: scratchAsks, eventTimeMs: d.eventTimeMs) {
            case .applied, .appliedOnSnapshot: applied += 1
            case .stale, .buffered, .gap, .crossed, .exhausted: break
            }
        }
        history = kept  // every buffered diff once, covered ones included
        return state == .synced ? .synced(applied: applied) : .gapAfterSync
    }

    /// Forgets the book and its buffer (the symbol was dropped, or the caller gave up on it).
    public mutating func reset() {
        bids.removeAll()
        asks.removeAll()
        buffer.removeAll()
        history.removeAll()
        pendingSnapshot = nil
        isDeep = false
        state = .unsynced
        lastUpdateId = 0
        awaitingFirstDiff = false
    }

    // MARK: - Internals

    /// The sync point's levels become the book, at its id.
    private mutating func take(_ point: SyncPoint) {
        bids.reset(prices: point.bids.prices, quantities: point.bids.quantities, wholeSide: point.wholeBids,
                   maxLevels: maxLevels)
        asks.reset(prices: point.asks.prices, quantities: point.asks.quantities, wholeSide: point.wholeAsks,
                   maxLevels: maxLevels)
        lastUpdateId = point.id
    }

    /// Rebuilds the book from an older deep snapshot and the diffs kept since, on a copy: the
    /// book changes only if they chain up to its own id.
    private mutating func deepen(updateId id: Int64, bids b: PriceLevels, asks a: PriceLevels, wholeBids: Bool,
                                 wholeAsks: Bool) -> SyncResult {
        var kept = history
        kept.dropCovered(by: id, venue: venue)
        if let first = kept.first {
            guard straddles(U: first.U, u: first.u, pu: first.pu, snapshotId: id) else { return .old }
        } else if id != lastUpdateId {
            return .old
        }
        var trial = LocalBook(venue: venue, maxLevels: maxLevels, maxBufferedLevels: maxBufferedLevels)
        trial.take(SyncPoint(id: id, bids: b, asks: a, wholeBids: wholeBids, wholeAsks: wholeAsks))
        trial.state = .synced
        trial.isDeep = true
        trial.awaitingFirstDiff = true
        var scratchBids = PriceLevels(capacity: 32)
        var scratchAsks = PriceLevels(capacity: 32)
        for i in 0..<kept.count {
            let d = kept.diff(i, bids: &scratchBids, asks: &scratchAsks)
            switch trial.apply(firstUpdateId: d.U, finalUpdateId: d.u, previousFinalUpdateId: d.pu, bids: scratchBids,
                               asks: scratchAsks, eventTimeMs: d.eventTimeMs) {
            case .applied, .appliedOnSnapshot, .stale: continue
            case .buffered, .gap, .crossed, .exhausted: return .old
            }
        }
        guard trial.state == .synced, trial.lastUpdateId == lastUpdateId else { return .old }
        trial.eventTimeMs = eventTimeMs
        self = trial
        return .deepened
    }

    private func straddles(U: Int64, u: Int64, pu: Int64, snapshotId id: Int64) -> Bool {
        if venue == .usdm { return (U <= id && id <= u) || pu == id }
        return U <= id &+ 1 && id &+ 1 <= u
    }

    private mutating func loseSync() {
        state = .resyncing
        isDeep = false
        history.removeAll()
        pendingSnapshot = nil
        awaitingFirstDiff = false
        bids.removeAll()
        asks.removeAll()
    }

    /// Applies the levels; resyncing if the book is crossed afterwards or a side ran out of
    /// known levels.
    private mutating func applyLevels(u: Int64, bids b: PriceLevels, asks a: PriceLevels, eventTimeMs: Int64) -> DiffResult {
        for i in 0..<b.count { bids.apply(price: b.prices[i], quantity: b.quantities[i], maxLevels: maxLevels) }
        for i in 0..<a.count { asks.apply(price: a.prices[i], quantity: a.quantities[i], maxLevels: maxLevels) }
        lastUpdateId = u
        awaitingFirstDiff = false
        if eventTimeMs > self.eventTimeMs { self.eventTimeMs = eventTimeMs }
        if let bid = bids.best, let ask = asks.best, bid >= ask {
            loseSync()
            return .crossed
        }
        if (bids.isEmpty && bids.boundary.isFinite) || (asks.isEmpty && asks.boundary.isFinite) {
            loseSync()
            return .exhausted
        }
        return .applied
    }
}

/// Diffs held until a sync point, their levels in flat arrays (no allocation per diff once the
/// capacity is reached). Bounded by level entries: the oldest diffs are dropped first.
struct DiffBuffer: Sendable {
    struct Entry: Sendable {
        var U: Int64
        var u: Int64
        var pu: Int64
        var eventTimeMs: Int64
        var bidStart: Int
        var bidCount: Int
        var askCount: Int
    }

    private var entries: [Entry] = []
    private var prices: [Double] = []
    private var quantities: [Double] = []

    var count: Int { entries.count }
    var first: Entry? { entries.first }

    mutating func append(U: Int64, u: Int64, pu: Int64, bids: PriceLevels, asks: PriceLevels, eventTimeMs: Int64,
                         maxLevels: Int)
    {
        let levels = bids.count &+ asks.count
        if levels > maxLevels {
            // One diff larger than the whole bound: nothing before it can be used either.
            removeAll()
            return
        }
        while !entries.isEmpty && prices.count &+ levels > maxLevels { dropFirst() }
        entries.append(Entry(U: U, u: u, pu: pu, eventTimeMs: eventTimeMs, bidStart: prices.count, bidCount: bids.count,
                             askCount: asks.count))
        prices.append(contentsOf: bids.prices)
        quantities.append(contentsOf: bids.quantities)
        prices.append(contentsOf: asks.prices)
        quantities.append(contentsOf: asks.quantities)
    }

    /// Drops the diffs a snapshot at `id` already covers (spot `u <= id`, futures `u < id`).
    mutating func dropCovered(by id: Int64, venue: Venue) {
        while let e = entries.first, venue == .usdm ? e.u < id : e.u <= id { dropFirst() }
    }

    func diff(_ i: Int, bids: inout PriceLevels, asks: inout PriceLevels) -> Entry {
        let e = entries[i]
        bids.removeAll()
        asks.removeAll()
        for k in 0..<e.bidCount { bids.append(price: prices[e.bidStart + k], quantity: quantities[e.bidStart + k]) }
        let askStart = e.bidStart + e.bidCount
        for k in 0..<e.askCount { asks.append(price: prices[askStart + k], quantity: quantities[askStart + k]) }
        return e
    }

    mutating func removeAll() {
        entries.removeAll(keepingCapacity: true)
        prices.removeAll(keepingCapacity: true)
        quantities.removeAll(keepingCapacity: true)
    }

    private mutating func dropFirst() {
        let e = entries.removeFirst()
        let n = e.bidCount &+ e.askCount
        prices.removeFirst(n)
        quantities.removeFirst(n)
        for i in entries.indices { entries[i].bidStart &-= n }
    }
}
