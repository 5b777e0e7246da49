/// Points in event-time order in a ring: O(1) append and front removal, O(log n) search, and
/// no memmove of the survivors when old points leave (a compacting array moved up to half a
/// day of points at once).
///
/// `init()` grows by doubling when full, for small per-symbol series. `init(capacity:filler:)`
/// allocates and writes the whole ring up front, for a series whose bound is set by
/// configuration: its memory is all resident from the start, so it does not grow with uptime
/// (btc_dominance's day of one-per-second points took 48 h of event time to fill otherwise).
struct EventTimeSeries<Element: Sendable>: Sendable {
    private var times: [Int64]
    private var elements: [Element]
    /// Physical index of the oldest point.
    private var start = 0
    private(set) var count = 0
    /// Empty storage that grows on the first append.
    init() {
        times = []
        elements = []
    }

    /// A ring of `capacity` points, written once now so its pages are resident from the start.
    init(capacity: Int, filler: Element) {
        times = Array(repeating: 0, count: Swift.max(1, capacity))
        elements = Array(repeating: filler, count: Swift.max(1, capacity))
    }

    /// Points the storage holds without growing.
    var capacity: Int { times.count }
    var isEmpty: Bool { count == 0 }

    @inline(__always)
    private func physical(_ i: Int) -> Int {
        let index = start + i
        return index < times.count ? index : index - times.count
    }

    func time(_ i: Int) -> Int64 { times[physical(i)] }
    func element(_ i: Int) -> Element { elements[physical(i)] }
    var lastTime: Int64? { isEmpty ? nil : times[physical(count - 1)] }
    var lastElement: Element? { isEmpty ? nil : elements[physical(count - 1)] }

    mutating func append(_ t: Int64, _ e: Element) {
        if count == times.count { grow(with: e) }
        let index = physical(count)
        times[index] = t
        elements[index] = e
        count += 1
    }

    /// Replaces the newest point (which must exist).
    mutating func replaceLast(_ t: Int64, _ e: Element) {
        let index = physical(count - 1)
        times[index] = t
        elements[index] = e
    }

    /// Removes the oldest point (which must exist).
    mutating func removeFirst() {
        start = physical(1)
        count -= 1
        if count == 0 { start = 0 }
    }

    /// Removes points with `time < cutoff`.
    mutating func removeBefore(_ cutoff: Int64) {
        while count > 0 && times[start] < cutoff { removeFirst() }
    }

    /// Removes points with `time <= cutoff`.
    mutating func removeThrough(_ cutoff: Int64) {
        while count > 0 && times[start] <= cutoff { removeFirst() }
    }

    /// Index (0-based from the oldest) of the newest point with `time <= t`.
    func lastIndex(atOrBefore t: Int64) -> Int? {
        var lo = 0, hi = count  // first index with time > t
        while lo < hi {
            let mid = (lo + hi) / 2
            if time(mid) <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo > 0 ? lo - 1 : nil
    }

    /// Empties the series; the storage is kept.
    mutating func removeAll() {
        start = 0
        count = 0
    }

    /// Doubles the storage, the oldest point moving to index 0. A preallocated ring only gets
    /// here if its bound was wrong, and then keeps every point rather than losing one.
    private mutating func grow(with sample: Element) {
        let newCapacity = Swift.max(16, times.count * 2)
        var newTimes = [Int64]()
        var newElements = [Element]()
        newTimes.reserveCapacity(newCapacity)
        newElements.reserveCapacity(newCapacity)
        for i in 0..<count {
            newTimes.append(time(i))
            newElements.append(element(i))
        }
        let pad = newCapacity - count
        newTimes.append(contentsOf: repeatElement(0, count: pad))
        newElements.append(contentsOf: repeatElement(sample, count: pad))
        times = newTimes
        elements = newElements
        start = 0
    }
}
