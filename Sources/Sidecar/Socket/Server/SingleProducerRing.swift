#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Bounded single-producer, single-consumer queue: lock-free, no allocation after `init`.
/// One thread pushes (the ingest thread), one pops at a time (the hub's fan-out on its event
/// loop); a full ring refuses the push instead of waiting.
final class SingleProducerRing<Element>: @unchecked Sendable {
    let capacity: Int
    private let slots: UnsafeMutablePointer<Element>
    private let mask: Int
    /// Next slot to pop; written by the consumer only.
    private let head = Atomic<Int>(0)
    /// Next slot to fill; written by the producer only.
    private let tail = Atomic<Int>(0)

    /// `capacity` is rounded up to a power of two (at least 2).
    init(capacity: Int) {
        var size = 2
        while size < capacity { size <<= 1 }
        self.capacity = size
        mask = size - 1
        slots = .allocate(capacity: size)
        // Written once so the pages are resident from the start: RSS does not creep up over
        // the ring's first lap.
        memset(UnsafeMutableRawPointer(slots), 0, size * MemoryLayout<Element>.stride)
    }

    deinit {
        var index = head.load(ordering: .relaxed)
        let end = tail.load(ordering: .relaxed)
        while index != end {
            (slots + (index & mask)).deinitialize(count: 1)
            index += 1
        }
        slots.deallocate()
    }

    /// Producer only. False when full (the element is not stored).
    func push(_ element: Element) -> Bool {
        let end = tail.load(ordering: .relaxed)
        guard end - head.load(ordering: .acquiring) < capacity else { return false }
        (slots + (end & mask)).initialize(to: element)
        tail.store(end + 1, ordering: .releasing)
        return true
    }

    /// Consumer only.
    func pop() -> Element? {
        let index = head.load(ordering: .relaxed)
        guard index != tail.load(ordering: .acquiring) else { return nil }
        let element = (slots + (index & mask)).move()
        head.store(index + 1, ordering: .releasing)
        return element
    }

    var count: Int { tail.load(ordering: .acquiring) - head.load(ordering: .acquiring) }
}
