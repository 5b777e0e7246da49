import Synchronization

/// What readers (HTTP, socket) see of one symbol: the latest depth metrics and the pressure
/// history. Readers never touch engine state; they read these cells.
public struct DepthSnapshot: Sendable {
    public var key: SymbolKey
    public var metrics: DepthMetrics
    public var history: PressureHistory
    /// The book behind `metrics`, best first (storage reused across updates).
    public var bids: PriceLevels
    public var asks: PriceLevels
    /// Depth updates applied since the symbol was first seen.
    public var updates: Int
    /// Wall-clock receive time of the last update (ms), for the reader-side TTL.
    public var lastReceiveMs: Int64
    /// Where the book comes from and how fresh it is (docs/BOOKS.md).
    public var book: BookInfo
}

/// One symbol's published depth state. The ingest thread is the only writer; the lock is
/// held for a copy of ~30 doubles, so readers never hold up ingestion for long.
public final class DepthCell: Sendable {
    public let key: SymbolKey
    private let state: Mutex<DepthSnapshot?>

    init(key: SymbolKey) {
        self.key = key
        state = Mutex(nil)
    }

    func publish(_ metrics: DepthMetrics, bids: PriceLevels, asks: PriceLevels, receiveMs: Int64, historySeconds: Int,
                 book: BookInfo) {
        state.withLock { snapshot in
            if snapshot == nil {
                snapshot = DepthSnapshot(key: key, metrics: metrics,
                                         history: PressureHistory(capacitySeconds: historySeconds),
                                         bids: PriceLevels(capacity: 32), asks: PriceLevels(capacity: 32),
                                         updates: 0, lastReceiveMs: receiveMs, book: book)
            }
            snapshot!.book = book
            snapshot!.metrics = metrics
            copyLevels(bids, into: &snapshot!.bids)
            copyLevels(asks, into: &snapshot!.asks)
            snapshot!.updates += 1
            snapshot!.lastReceiveMs = receiveMs
            snapshot!.history.record(timeMs: metrics.eventTimeMs, netPressure: metrics.netPressure,
                                     imbalanceRatio: metrics.imbalanceRatio)
        }
    }

    /// A partial book confirmed the published local book at its own id: only the freshness moves.
    func refresh(book: BookInfo) {
        state.withLock { snapshot in
            guard snapshot != nil else { return }
            snapshot!.book = book
            snapshot!.lastReceiveMs = book.receiveMs
        }
    }

    /// Runs `body` on the current snapshot under the lock; compute what you need inside
    /// (copying the history out would make the writer copy it on its next update).
    public func read<R: Sendable>(_ body: (DepthSnapshot) -> R) -> R? {
        state.withLock { snapshot in snapshot.map(body) }
    }
}

/// `dst = src` in `dst`'s storage. With equal level counts (every update of a depth20 stream) it
/// is a plain element copy, without the remove-all/append pair of `assign`.
@inline(__always)
private func copyLevels(_ src: PriceLevels, into dst: inout PriceLevels) {
    let n = src.prices.count
    guard n > 0, dst.prices.count == n, dst.quantities.count == n, src.quantities.count == n else {
        dst.assign(src)
        return
    }
    src.prices.withUnsafeBufferPointer { s in
        dst.prices.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: s.baseAddress!, count: n) }
    }
    src.quantities.withUnsafeBufferPointer { s in
        dst.quantities.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: s.baseAddress!, count: n) }
    }
}

/// The registry of published depth cells, in first-seen order (the seed's stable ordering).
public final class DepthBoard: Sendable {
    private struct Registry: Sendable {
        var cells: [SymbolKey: DepthCell] = [:]
        var order: [SymbolKey] = []
    }

    private let registry = Mutex(Registry())
    /// Seconds of pressure history kept per symbol.
    public let historySeconds: Int
    /// Readers hide symbols with no update for this long (wall clock), so stale data is never served.
    public let ttlMs: Int64

    public init(historySeconds: Int = 900, ttlSeconds: Int64 = 300) {
        self.historySeconds = historySeconds
        self.ttlMs = ttlSeconds * 1000
    }

    func cell(for key: SymbolKey) -> DepthCell {
        registry.withLock { registry in
            if let cell = registry.cells[key] { return cell }
            let cell = DepthCell(key: key)
            registry.cells[key] = cell
            registry.order.append(key)
            return cell
        }
    }

    func remove(_ key: SymbolKey) {
        registry.withLock { registry in
            if registry.cells.removeValue(forKey: key) != nil {
                registry.order.removeAll { $0 == key }
            }
        }
    }

    /// The cells with data that is not older than the TTL at `nowMs`, in first-seen order.
    public func liveCells(nowMs: Int64) -> [DepthCell] {
        let cells = registry.withLock { registry in registry.order.compactMap { registry.cells[$0] } }
        return cells.filter { cell in
            cell.read { nowMs - $0.lastReceiveMs <= ttlMs } ?? false
        }
    }

    public func cell(_ key: SymbolKey, nowMs: Int64) -> DepthCell? {
        guard let cell = registry.withLock({ $0.cells[key] }) else { return nil }
        return (cell.read { nowMs - $0.lastReceiveMs <= ttlMs } ?? false) ? cell : nil
    }

    public var count: Int { registry.withLock { $0.cells.count } }
}
