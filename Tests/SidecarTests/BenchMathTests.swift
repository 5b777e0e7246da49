import Testing
@testable import Sidecar

@Suite("Load-tool arithmetic")
struct BenchMathTests {
    @Test func nearestRankQuantiles() {
        let samples = (1...1000).map { UInt64($0) }.shuffled()
        let s = LatencySummary(samplesNs: samples)
        #expect(s.count == 1000)
        #expect(s.minNs == 1)
        #expect(s.p50Ns == 500)
        #expect(s.p90Ns == 900)
        #expect(s.p99Ns == 990)
        #expect(s.p999Ns == 999)
        #expect(s.maxNs == 1000)
        #expect(s.meanNs == 500.5)
    }

    @Test func quantilesOfFewSamples() {
        #expect(LatencySummary.quantile(sorted: [], 0.5) == 0)
        #expect(LatencySummary.quantile(sorted: [7], 0.999) == 7)
        // Ranks ⌈q·n⌉: 0.5·3 → 2nd, 0.99·3 → 3rd.
        #expect(LatencySummary.quantile(sorted: [1, 2, 3], 0.5) == 2)
        #expect(LatencySummary.quantile(sorted: [1, 2, 3], 0.99) == 3)
        #expect(LatencySummary.quantile(sorted: [1, 2, 3, 4], 0.5) == 2)
        let s = LatencySummary(samplesNs: [])
        #expect(s.count == 0 && s.p99Ns == 0 && s.maxNs == 0 && s.meanNs == 0)
    }

    @Test func pacedScheduleIsExactOnAverage() {
        let schedule = PacedSchedule(ratePerSecond: 50_000)
        #expect(schedule.dueNs(0) == 0)
        #expect(schedule.dueNs(1) == 20_000)
        #expect(schedule.dueNs(50_000) == 1_000_000_000)
        #expect(schedule.dueCount(elapsedNs: 0) == 1)
        #expect(schedule.dueCount(elapsedNs: 19_999) == 1)
        #expect(schedule.dueCount(elapsedNs: 20_000) == 2)
        #expect(schedule.dueCount(elapsedNs: 1_000_000_000) == 50_001)
        // Every message due at its own time is counted, none early.
        let slow = PacedSchedule(ratePerSecond: 3)
        for i in 0..<10 {
            #expect(slow.dueCount(elapsedNs: slow.dueNs(i)) == i + 1)
            if slow.dueNs(i) > 0 { #expect(slow.dueCount(elapsedNs: slow.dueNs(i) - 1) == i) }
        }
    }

    @Test func triggerEveryN() {
        let triggers = (0..<30).filter { PacedSchedule.isTrigger($0, every: 10) }
        #expect(triggers == [9, 19, 29])
        #expect(!PacedSchedule.isTrigger(5, every: 0))
        #expect((0..<3).allSatisfy { PacedSchedule.isTrigger($0, every: 1) })
    }

    @Test func triggerPriceRoundTrips() {
        let code = TriggerPriceCode(base: 1000)
        #expect(code.priceText(0) == "1000.00")
        #expect(code.priceText(7) == "1000.07")
        #expect(code.priceText(1234) == "1012.34")
        for k in [0, 1, 9, 10, 99, 100, 12_345, 999_999] {
            let price = Double(code.priceText(k))!
            #expect(code.id(fromPrice: price) == k)
        }
        #expect(code.id(fromPrice: 999.99) == nil)
        #expect(code.id(fromPrice: 1000.005) == nil)
        #expect(code.id(fromPrice: .nan) == nil)
    }
}
