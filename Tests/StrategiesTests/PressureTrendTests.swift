import Testing
@testable import Strategies

/// Pressure history and trend (inventory §5.2) with the §10.16 fix.
///
/// The seed counted points (its "1m" was the last 60 depth messages). Our history is by event
/// time, one point per second, so the seed's trend goldens are reproduced by feeding the inputs
/// **one per second**, which is what the golden tests below do. The tests after them show the
/// fix: timeframes measured in seconds of event time, whatever the update rate.
@Suite("Pressure history and trend")
struct PressureTrendTests {
    private static let t0: Int64 = 1_704_110_400_000

    private static func metrics(_ bidQty: Double, _ askQty: Double) -> DepthMetrics {
        DepthMetrics.compute(bids: PriceLevels([(100, bidQty)]), asks: PriceLevels([(100.5, askQty)]), eventTimeMs: 0)
    }

    /// Records each book's metrics, one per second of event time (the seed's one point per message).
    private static func historyOnePerSecond(_ books: [(Double, Double)]) -> PressureHistory {
        var h = PressureHistory()
        for (i, book) in books.enumerated() {
            let m = metrics(book.0, book.1)
            h.record(timeMs: t0 + Int64(i) * 1000, netPressure: m.netPressure, imbalanceRatio: m.imbalanceRatio)
        }
        return h
    }

    // MARK: - Seed goldens (fed one per second)

    @Test("50 × (3 vs 1) one per second: avg 50, bullish, strength 1")
    func fiftyBullish() throws {
        let h = Self.historyOnePerSecond(Array(repeating: (3, 1), count: 50))
        let s = try #require(h.summary(for: .oneMinute))
        #expect(s.avgPressure == 50.0)
        #expect(s.maxPressure == 50.0 && s.minPressure == 50.0)
        #expect(s.trend == .bullish)
        #expect(s.trendStrength == 1.0)
        #expect(s.totalPoints == 50)
    }

    @Test("50 × (1 vs 3) one per second: avg -50, bearish, strength 1")
    func fiftyBearish() throws {
        let h = Self.historyOnePerSecond(Array(repeating: (1, 3), count: 50))
        let s = try #require(h.summary(for: .oneMinute))
        #expect(s.avgPressure == -50.0)
        #expect(s.trend == .bearish)
        #expect(s.trendStrength == 1.0)
    }

    @Test("alternating (1.1, 1.0) / (1.0, 1.1) one per second: avg 0, neutral, strength 1")
    func alternatingNeutral() throws {
        let books = (0..<50).map { $0 % 2 == 0 ? (1.1, 1.0) : (1.0, 1.1) }
        let h = Self.historyOnePerSecond(books)
        let s = try #require(h.summary(for: .oneMinute))
        #expect(s.avgPressure == 0.0)
        #expect(s.trend == .neutral)
        #expect(s.trendStrength == 1.0)
        #expect(s.maxPressure == -s.minPressure)
    }

    @Test("9 points are too few for a trend: neutral with strength 0.5, even when strongly bullish")
    func ninePoints() throws {
        let h = Self.historyOnePerSecond(Array(repeating: (3, 1), count: 9))
        let s = try #require(h.summary(for: .oneMinute))
        #expect(s.trend == .neutral)
        #expect(s.trendStrength == 0.5)
        #expect(s.avgPressure == 50.0)
    }

    @Test("10 × (1.3, 0.7): net 30, bullish, strength 0.6")
    func tenAtThirty() throws {
        let h = Self.historyOnePerSecond(Array(repeating: (1.3, 0.7), count: 10))
        let s = try #require(h.summary(for: .oneMinute))
        #expect(s.avgPressure == 30.0)
        #expect(s.trend == .bullish)
        #expect(s.trendStrength == 0.6)
    }

    @Test("10 × (1.1, 0.9): recent mean 10.000000000000005, neutral, 0.4999999999999998 (the API shows 0.5)")
    func tenAtTen() throws {
        let h = Self.historyOnePerSecond(Array(repeating: (1.1, 0.9), count: 10))
        #expect(Self.metrics(1.1, 0.9).netPressure == 10.000000000000007)
        let s = try #require(h.summary(for: .oneMinute))
        #expect(s.avgPressure == 10.000000000000005)
        #expect(s.trend == .neutral)
        #expect(s.trendStrength == 0.4999999999999998)
        #expect(PythonRounding.round(s.trendStrength, 2) == 0.5)
    }

    @Test("1000 points one per second: 1m holds 60, 5m 300, 15m 900")
    func thousandPoints() {
        let h = Self.historyOnePerSecond(Array(repeating: (3, 1), count: 1000))
        #expect(h.points(in: .oneMinute).count == 60)
        #expect(h.points(in: .fiveMinutes).count == 300)
        #expect(h.points(in: .fifteenMinutes).count == 900)
        #expect(h.summary(for: .fiveMinutes)?.totalPoints == 300)
        // The API rejects other timeframes before reaching the history (the seed's fallback to 300 is moot).
        #expect(PressureTimeframe(rawValue: "bogus") == nil)
        #expect(PressureTimeframe(rawValue: "5m") == .fiveMinutes)
    }

    @Test("one point: neutral with strength 0.5; no points: no summary")
    func onePoint() throws {
        var h = PressureHistory()
        #expect(h.summary(for: .oneMinute) == nil)
        #expect(h.points(in: .oneMinute).isEmpty)
        h.record(timeMs: Self.t0, netPressure: 8.852459016393446, imbalanceRatio: 0.08852459016393452)
        let s = try #require(h.summary(for: .fiveMinutes))
        #expect(s.trend == .neutral && s.trendStrength == 0.5)
        #expect(s.avgPressure == 8.852459016393446 && s.totalPoints == 1)
    }

    @Test("trend uses the mean of the last 10 points, avg/max/min use all points of the timeframe")
    func trendUsesLastTen() throws {
        // 40 bearish seconds then 10 bullish ones: the trend follows the last 10.
        let books = Array(repeating: (1.0, 3.0), count: 40) + Array(repeating: (3.0, 1.0), count: 10)
        let h = Self.historyOnePerSecond(books)
        let s = try #require(h.summary(for: .oneMinute))
        #expect(s.trend == .bullish && s.trendStrength == 1.0)
        #expect(s.avgPressure == (-50.0 * 40 + 50.0 * 10) / 50)
        #expect(s.maxPressure == 50 && s.minPressure == -50)
    }

    @Test("the trend rule: > 20 bullish min(1, r/50), < -20 bearish, else neutral 1 - |r|/20")
    func trendRule() {
        #expect(PressureSummary.trend(recentMean: 30) == (.bullish, 0.6))
        #expect(PressureSummary.trend(recentMean: 80) == (.bullish, 1.0))
        #expect(PressureSummary.trend(recentMean: -40) == (.bearish, 0.8))
        #expect(PressureSummary.trend(recentMean: 20) == (.neutral, 0.0))
        #expect(PressureSummary.trend(recentMean: -20) == (.neutral, 0.0))
        #expect(PressureSummary.trend(recentMean: 0) == (.neutral, 1.0))
        #expect(PressureSummary.trend(recentMean: -5) == (.neutral, 0.75))
    }

    // MARK: - The §10.16 fix: time, not point count

    @Test("600 updates 100 ms apart span 60 s of event time and give 60 one-second points for 1m")
    func hundredMillisecondUpdates() {
        var h = PressureHistory()
        for i in 0..<600 {
            h.record(timeMs: Self.t0 + Int64(i) * 100, netPressure: Double(i), imbalanceRatio: Double(i) / 1000)
        }
        let points = h.points(in: .oneMinute)
        #expect(points.count == 60)
        #expect(h.count == 60)
        // Each point is the last update seen in its second.
        #expect(points.first == PressurePoint(timeMs: Self.t0 + 900, netPressure: 9, imbalanceRatio: 0.009))
        #expect(points.last == PressurePoint(timeMs: Self.t0 + 59_900, netPressure: 599, imbalanceRatio: 0.599))
        // The seed would have called the last 60 messages (6 s) "1m" and these 600 messages "15m" minus 300.
        #expect(h.points(in: .fiveMinutes).count == 60)
        #expect(h.points(in: .fifteenMinutes).count == 60)
    }

    @Test("1m covers only the last 60 s of event time, whatever the number of points before")
    func oneMinuteIsSixtySeconds() {
        var h = PressureHistory()
        for i in 0..<100 {
            h.record(timeMs: Self.t0 + Int64(i) * 1000, netPressure: Double(i), imbalanceRatio: 0)
        }
        let oneMinute = h.points(in: .oneMinute)
        #expect(oneMinute.map(\.netPressure) == (40..<100).map(Double.init))
        #expect(h.points(in: .fiveMinutes).count == 100)
        #expect(h.summary(for: .oneMinute)?.avgPressure == (40..<100).reduce(0.0) { $0 + Double($1) } / 60)
    }

    @Test("seconds without updates have no point: after a 100 s gap, 1m holds only the newest point")
    func gapsInEventTime() {
        var h = PressureHistory()
        for i in 0..<10 {
            h.record(timeMs: Self.t0 + Int64(i) * 1000, netPressure: 50, imbalanceRatio: 0.5)
        }
        h.record(timeMs: Self.t0 + 110_000, netPressure: -50, imbalanceRatio: -0.5)
        #expect(h.points(in: .oneMinute).count == 1)
        #expect(h.points(in: .fiveMinutes).count == 11)
        #expect(h.summary(for: .oneMinute)?.trend == .neutral)  // 1 point: too few
        // 5m: the last 10 points are nine 50s and one -50, mean 40.
        #expect(h.summary(for: .fiveMinutes)?.trend == .bullish)
        #expect(h.summary(for: .fiveMinutes)?.trendStrength == 0.8)
    }

    @Test("the ring stays at 900 points after 10,000 s of updates and never reallocates")
    func ringIsBounded() {
        var h = PressureHistory()
        let storage = h.storageIdentity
        for i in 0..<10_000 {
            for j in 0..<2 {  // two updates per second
                h.record(timeMs: Self.t0 + Int64(i) * 1000 + Int64(j) * 500, netPressure: Double(i), imbalanceRatio: 0)
            }
        }
        #expect(h.count == 900)
        #expect(h.storageIdentity == storage)
        let all = h.points(in: .fifteenMinutes)
        #expect(all.count == 900)
        #expect(all.first?.netPressure == 9100)
        #expect(all.last?.netPressure == 9999)
        #expect(all.last?.timeMs == Self.t0 + 9_999_500)
    }

    @Test("points older than the window are evicted by time: after a 20-minute gap only the new point remains")
    func evictionByTime() {
        var h = PressureHistory()
        for i in 0..<100 {
            h.record(timeMs: Self.t0 + Int64(i) * 1000, netPressure: 1, imbalanceRatio: 0)
        }
        h.record(timeMs: Self.t0 + 1_300_000, netPressure: 2, imbalanceRatio: 0)
        #expect(h.count == 1)
        #expect(h.newest?.netPressure == 2)
        // Exactly 900 s after the first point: that point drops out of (newest - 900, newest].
        var g = PressureHistory()
        g.record(timeMs: 0, netPressure: 1, imbalanceRatio: 0)
        g.record(timeMs: 899_999, netPressure: 2, imbalanceRatio: 0)
        #expect(g.count == 2)
        g.record(timeMs: 900_000, netPressure: 3, imbalanceRatio: 0)
        #expect(g.count == 2)
        #expect(g.points(in: .fifteenMinutes).map(\.netPressure) == [2, 3])
    }

    @Test("a later update in the same second replaces that second's point; an older second is dropped")
    func sameSecondAndOutOfOrder() {
        var h = PressureHistory()
        let first = h.record(timeMs: 10_000, netPressure: 1, imbalanceRatio: 0.01)
        let sameSecond = h.record(timeMs: 10_999, netPressure: 2, imbalanceRatio: 0.02)
        #expect(first && sameSecond)
        #expect(h.count == 1)
        #expect(h.newest == PressurePoint(timeMs: 10_999, netPressure: 2, imbalanceRatio: 0.02))
        let next = h.record(timeMs: 11_000, netPressure: 3, imbalanceRatio: 0.03)
        let older = h.record(timeMs: 10_500, netPressure: 99, imbalanceRatio: 0.99)
        #expect(next && !older)
        #expect(h.outOfOrderDropped == 1)
        #expect(h.points(in: .oneMinute).map(\.netPressure) == [2, 3])
    }

    @Test("removeAll empties the history and keeps its storage")
    func removeAllKeepsStorage() {
        var h = PressureHistory(capacitySeconds: 120)
        let storage = h.storageIdentity
        for i in 0..<500 {
            h.record(timeMs: Int64(i) * 1000, netPressure: 1, imbalanceRatio: 0)
        }
        #expect(h.count == 120)
        h.removeAll()
        #expect(h.count == 0 && h.isEmpty)
        #expect(h.summary(for: .oneMinute) == nil)
        h.record(timeMs: 5, netPressure: 7, imbalanceRatio: 0)
        #expect(h.points(in: .oneMinute).map(\.netPressure) == [7])
        #expect(h.storageIdentity == storage)
    }

    @Test("a shorter capacity caps every timeframe; the API's last-100 view takes the newest points")
    func capacityAndLastN() {
        var h = PressureHistory(capacitySeconds: 120)
        for i in 0..<1000 {
            h.record(timeMs: Int64(i) * 1000, netPressure: Double(i), imbalanceRatio: 0)
        }
        #expect(h.points(in: .fifteenMinutes).count == 120)
        #expect(h.points(in: .oneMinute).count == 60)
        let last = h.points(in: .fifteenMinutes, last: 100)
        #expect(last.count == 100)
        #expect(last.first?.netPressure == 900 && last.last?.netPressure == 999)
    }

    @Test("negative event times bucket by floor division")
    func negativeTimes() {
        #expect(PressureHistory.second(of: -1) == -1)
        #expect(PressureHistory.second(of: -1000) == -1)
        #expect(PressureHistory.second(of: -1001) == -2)
        #expect(PressureHistory.second(of: 999) == 0)
        var h = PressureHistory()
        h.record(timeMs: -1, netPressure: 1, imbalanceRatio: 0)
        h.record(timeMs: 0, netPressure: 2, imbalanceRatio: 0)
        #expect(h.count == 2)
    }

    @Test("timeframes are 60, 300 and 900 seconds")
    func timeframeSeconds() {
        #expect(PressureTimeframe.allCases.map(\.seconds) == [60, 300, 900])
        #expect(PressureTimeframe.allCases.map(\.rawValue) == ["1m", "5m", "15m"])
    }
}
