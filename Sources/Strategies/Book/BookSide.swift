/// One side of a local order book: levels best first (bids descending, asks ascending), all of
/// them known to be exact.
///
/// A sync point only tells the book down to some depth (a partial book: 20 levels; a REST
/// snapshot: 1,000). Below that the book knows nothing, so a diff level beyond the deepest known
/// price is ignored instead of stored: storing it would claim levels in between that were never
/// seen. `boundary` is that deepest known price; it moves inward when the side is truncated to
/// `maxLevels`, and outward only at a new sync point. Every stored level is therefore complete.
public struct BookSide: Sendable, Equatable {
    public private(set) var prices: [Double] = []
    public private(set) var quantities: [Double] = []
    /// True for bids (best = highest price).
    public let descending: Bool
    /// The deepest price this side is exact to: bids are complete for prices >= boundary, asks
    /// for prices <= boundary. ±infinity when the whole side is known.
    public private(set) var boundary: Double

    public init(descending: Bool, capacity: Int = 0) {
        self.descending = descending
        boundary = descending ? .infinity : -.infinity  // nothing known yet
        prices.reserveCapacity(capacity)
        quantities.reserveCapacity(capacity)
    }

    @inlinable public var count: Int { prices.count }
    @inlinable public var isEmpty: Bool { prices.isEmpty }
    public var best: Double? { prices.first }

    /// Replaces the side with `levels` (best first, as the exchange sends them). `wholeSide`:
    /// the source listed every level it has (fewer than it was asked for), so nothing lies beyond.
    /// Levels with zero quantity are skipped; the input order is trusted, duplicates are merged
    /// by keeping the side sorted. Keeps at most `maxLevels`.
    public mutating func reset(prices src: [Double], quantities qty: [Double], wholeSide: Bool, maxLevels: Int) {
        prices.removeAll(keepingCapacity: true)
        quantities.removeAll(keepingCapacity: true)
        boundary = descending ? -.infinity : .infinity
        for i in 0..<min(src.count, qty.count) where qty[i] > 0 {
            insertOrUpdate(price: src[i], quantity: qty[i])
        }
        if !wholeSide, let last = src.last {
            boundary = last
        }
        truncate(to: maxLevels)
    }

    /// Applies one absolute level update from a diff (quantity 0 removes the level).
    /// A level beyond the known depth is ignored.
    @inline(__always)
    public mutating func apply(price: Double, quantity: Double, maxLevels: Int) {
        if isBeyondBoundary(price) { return }
        if quantity == 0 {
            let (index, found) = search(price)
            if found {
                prices.remove(at: index)
                quantities.remove(at: index)
            }
            return
        }
        insertOrUpdate(price: price, quantity: quantity)
        if prices.count > maxLevels { truncate(to: maxLevels) }
    }

    /// Replaces the levels from the best down to `boundaryPrice` (inclusive) with `levels`,
    /// keeping what lies deeper: a partial book at the book's own update id is exact for its
    /// range. Returns whether the side's levels in that range differed from `levels`.
    public mutating func overlay(prices src: [Double], quantities qty: [Double], wholeSide: Bool, maxLevels: Int) -> Bool {
        let limit = wholeSide ? (descending ? -Double.infinity : Double.infinity) : (src.last ?? boundary)
        // Current levels inside the overlaid range.
        var inRange = 0
        while inRange < prices.count && !isWorse(prices[inRange], than: limit) { inRange += 1 }
        var differs = inRange != src.count
        if !differs {
            for i in 0..<inRange where prices[i] != src[i] || quantities[i] != qty[i] {
                differs = true
                break
            }
        }
        guard differs else { return false }
        prices.removeSubrange(0..<inRange)
        quantities.removeSubrange(0..<inRange)
        prices.insert(contentsOf: src, at: 0)
        quantities.insert(contentsOf: qty.prefix(src.count), at: 0)
        if isWorse(limit, than: boundary) { boundary = limit }
        truncate(to: maxLevels)
        return true
    }

    public mutating func removeAll() {
        prices.removeAll(keepingCapacity: true)
        quantities.removeAll(keepingCapacity: true)
        boundary = descending ? .infinity : -.infinity
    }

    /// The first `n` levels into `out` (reusing its storage).
    public func copyTop(_ n: Int, into out: inout PriceLevels) {
        out.removeAll()
        let k = min(n, prices.count)
        for i in 0..<k { out.append(price: prices[i], quantity: quantities[i]) }
    }

    // MARK: - Ordering

    /// `a` lies deeper in the book than `b`.
    @inline(__always)
    func isWorse(_ a: Double, than b: Double) -> Bool { descending ? a < b : a > b }

    @inline(__always)
    func isBeyondBoundary(_ price: Double) -> Bool { isWorse(price, than: boundary) }

    /// Binary search: the index of `price`, or where it would be inserted.
    @inline(__always)
    func search(_ price: Double) -> (Int, Bool) {
        var lo = 0
        var hi = prices.count
        while lo < hi {
            let mid = (lo &+ hi) >> 1
            let p = prices[mid]
            if p == price { return (mid, true) }
            if isWorse(price, than: p) { lo = mid &+ 1 } else { hi = mid }
        }
        return (lo, false)
    }

    @inline(__always)
    private mutating func insertOrUpdate(price: Double, quantity: Double) {
        let (index, found) = search(price)
        if found {
            quantities[index] = quantity
        } else {
            prices.insert(price, at: index)
            quantities.insert(quantity, at: index)
        }
    }

    private mutating func truncate(to maxLevels: Int) {
        let keep = max(1, maxLevels)
        guard prices.count > keep else { return }
        prices.removeSubrange(keep...)
        quantities.removeSubrange(keep...)
        boundary = prices[keep - 1]
    }
}
