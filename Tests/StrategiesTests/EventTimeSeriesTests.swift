import Testing
@testable import Strategies

@Suite("EventTimeSeries")
struct EventTimeSeriesTests {
    /// Random appends, replacements and front removals against a plain array, through many laps of
    /// a small ring.
    @Test("a ring behaves like a plain array over many laps (growable, and preallocated for 8 and 64 points)", arguments: [0, 8, 64])
    func matchesPlainArray(capacity: Int) {
        var series = capacity == 0 ? EventTimeSeries<Double>() : EventTimeSeries<Double>(capacity: capacity, filler: -1)
        var model: [(Int64, Double)] = []
        var rng = SplitMix64(seed: UInt64(capacity) &+ 17)
        var clock: Int64 = 0
        for step in 0..<20_000 {
            clock += Int64(rng.next() % 5)
            let value = Double(step)
            switch rng.next() % 10 {
            case 0..<5:
                series.append(clock, value)
                model.append((clock, value))
            case 5:
                if !model.isEmpty {
                    series.replaceLast(clock, value)
                    model[model.count - 1] = (clock, value)
                }
            case 6..<8:
                // Keep the series short enough that a preallocated ring of 8 or 64 never grows.
                let cutoff = clock - Int64(rng.next() % 12)
                series.removeBefore(cutoff)
                model.removeAll { $0.0 < cutoff }
            default:
                let cutoff = clock - Int64(rng.next() % 12)
                series.removeThrough(cutoff)
                model.removeAll { $0.0 <= cutoff }
            }
            if model.count > max(4, capacity / 2) {
                series.removeFirst()
                model.removeFirst()
            }
            #expect(series.count == model.count)
            if series.count != model.count { return }
            for i in 0..<model.count where series.time(i) != model[i].0 || series.element(i) != model[i].1 {
                Issue.record("step \(step): point \(i) is (\(series.time(i)), \(series.element(i))), expected \(model[i])")
                return
            }
            #expect(series.lastTime == model.last?.0)
            let probe = clock - Int64(rng.next() % 15)
            #expect(series.lastIndex(atOrBefore: probe) == model.lastIndex { $0.0 <= probe }, "step \(step)")
        }
        if capacity > 0 { #expect(series.capacity == capacity) }
    }

    @Test("a preallocated ring that is overfilled grows and keeps every point in order")
    func overfilledRingGrows() {
        var series = EventTimeSeries<Int>(capacity: 4, filler: 0)
        for i in 0..<3 { series.append(Int64(i), i) }
        series.removeFirst()  // the oldest now sits at physical index 1
        for i in 3..<10 { series.append(Int64(i), i) }
        #expect(series.count == 9)
        #expect((0..<9).map { series.element($0) } == Array(1..<10))
        #expect(series.capacity >= 9)
        series.removeAll()
        #expect(series.isEmpty && series.lastTime == nil && series.lastIndex(atOrBefore: 100) == nil)
    }
}
