/// Net-pressure and imbalance history of one symbol, and the trend computed from it
/// (inventory §5.2, with the §10.16 fix).
///
/// The seed kept one point per depth message in a 900-point deque and called the last 60 / 300 /
/// 900 points "1m" / "5m" / "15m", so at 100 ms updates its "15m" was 90 s. Here history is keyed
/// by **event time**: one point per second (the last update seen in that second), kept for
/// `capacitySeconds` (15 minutes), in a ring allocated once in `init`. A timeframe selects the
/// last N one-second buckets of event time, the newest one included, so `1m` holds at most 60
/// points and exactly 60 when updates arrive at least once a second. Fed one update per second,
/// the seed's point-counted results are reproduced exactly.

public enum PressureTimeframe: String, CaseIterable, Sendable {
    case oneMinute = "1m"
    case fiveMinutes = "5m"
    case fifteenMinutes = "15m"

    /// Length of the timeframe in seconds of event time.
    public var seconds: Int64 {
        switch self {
        case .oneMinute: 60
        case .fiveMinutes: 300
        case .fifteenMinutes: 900
        }
    }
}

public enum TrendDirection: String, Sendable, CaseIterable {
    case bullish, bearish, neutral
}

public struct PressurePoint: Sendable, Equatable {
    /// Event time of the last update recorded in this point's second.
    public var timeMs: Int64
    public var netPressure: Double
    public var imbalanceRatio: Double

    public init(timeMs: Int64, netPressure: Double, imbalanceRatio: Double) {
        self.timeMs = timeMs
        self.netPressure = netPressure
        self.imbalanceRatio = imbalanceRatio
    }
}

/// The seed's `get_pressure_history` summary, unrounded (the API rounds avg/max/min and the
/// strength to 2 decimals).
public struct PressureSummary: Sendable, Equatable {
    /// Mean, max and min of `netPressure` over the selected points.
    public var avgPressure: Double
    public var maxPressure: Double
    public var minPressure: Double
    public var trend: TrendDirection
    public var trendStrength: Double
    /// Number of points in the timeframe.
    public var totalPoints: Int

    public init(avgPressure: Double, maxPressure: Double, minPressure: Double, trend: TrendDirection,
                trendStrength: Double, totalPoints: Int) {
        self.avgPressure = avgPressure
        self.maxPressure = maxPressure
        self.minPressure = minPressure
        self.trend = trend
        self.trendStrength = trendStrength
        self.totalPoints = totalPoints
    }

    /// The seed's trend rule over the last 10 pressures (fewer than 10: neutral, 0.5).
    /// `recent` is their left-fold sum divided by 10.
    public static func trend(recentMean recent: Double) -> (TrendDirection, Double) {
        if recent > 20 { return (.bullish, min(1.0, recent / 50)) }
        if recent < -20 { return (.bearish, min(1.0, recent.magnitude / 50)) }
        return (.neutral, 1 - recent.magnitude / 20)
    }
}

public struct PressureHistory: Sendable {
    /// Window length in seconds, which is also the ring's capacity in points.
    public let capacitySeconds: Int
    private var storage: ContiguousArray<PressurePoint>
    /// Ring index of the oldest point.
    private var head = 0
    public private(set) var count = 0
    /// Second (floor of `timeMs / 1000`) of the newest point; meaningful when `count > 0`.
    private var newestSecond: Int64 = 0
    /// Updates dropped because their event time fell in a second older than the newest point's.
    public private(set) var outOfOrderDropped = 0

    public init(capacitySeconds: Int = 900) {
        precondition(capacitySeconds > 0, "capacitySeconds must be positive")
        self.capacitySeconds = capacitySeconds
        storage = ContiguousArray(repeating: PressurePoint(timeMs: 0, netPressure: 0, imbalanceRatio: 0),
                                  count: capacitySeconds)
    }

    public var isEmpty: Bool { count == 0 }

    /// The newest point, if any.
    public var newest: PressurePoint? { count > 0 ? storage[slot(count - 1)] : nil }

    /// Records one update. A later update in the same second replaces that second's point; an
    /// update in an earlier second than the newest point is dropped (returns false). Points
    /// older than `capacitySeconds` before the newest are evicted. Does not allocate.
    @discardableResult
    public mutating func record(timeMs: Int64, netPressure: Double, imbalanceRatio: Double) -> Bool {
        let second = Self.second(of: timeMs)
        let point = PressurePoint(timeMs: timeMs, netPressure: netPressure, imbalanceRatio: imbalanceRatio)
        if count > 0 {
            if second < newestSecond {
                outOfOrderDropped &+= 1
                return false
            }
            if second == newestSecond {
                storage[slot(count - 1)] = point
                return true
            }
        }
        if count == capacitySeconds {
            head = advance(head)
            count -= 1
        }
        storage[slot(count)] = point
        count += 1
        newestSecond = second
        // Keep only seconds in (newest - capacity, newest].
        let cutoff = second.subtractingSaturated(Int64(capacitySeconds))
        while count > 0, Self.second(of: storage[head].timeMs) <= cutoff {
            head = advance(head)
            count -= 1
        }
        return true
    }

    /// Points of the timeframe, oldest first: those whose second is within the last
    /// `timeframe.seconds` seconds of event time, the newest second included. With `last`,
    /// only the newest `last` of them (the API returns the last 100).
    public func points(in timeframe: PressureTimeframe, last: Int = .max) -> [PressurePoint] {
        let n = min(selectionCount(timeframe), max(0, last))
        var result: [PressurePoint] = []
        result.reserveCapacity(n)
        for offset in (count - n)..<count {
            result.append(storage[slot(offset)])
        }
        return result
    }

    /// Avg/max/min over the timeframe's points and the trend of the last 10; nil when there are
    /// no points. Does not allocate.
    public func summary(for timeframe: PressureTimeframe) -> PressureSummary? {
        let n = selectionCount(timeframe)
        guard n > 0 else { return nil }
        let start = count - n
        let first = storage[slot(start)].netPressure
        var sum = 0.0
        var maxValue = first
        var minValue = first
        for offset in start..<count {
            let v = storage[slot(offset)].netPressure
            sum += v
            // Python max()/min() keep the first extreme: replace on strict comparison only.
            if v > maxValue { maxValue = v }
            if v < minValue { minValue = v }
        }
        let avg = sum / Double(n)

        var trend = TrendDirection.neutral
        var strength = 0.5
        if n >= 10 {
            var recentSum = 0.0
            for offset in (count - 10)..<count {
                recentSum += storage[slot(offset)].netPressure
            }
            (trend, strength) = PressureSummary.trend(recentMean: recentSum / 10)
        }
        return PressureSummary(avgPressure: avg, maxPressure: maxValue, minPressure: minValue, trend: trend,
                               trendStrength: strength, totalPoints: n)
    }

    /// Clears the history, keeping the storage.
    public mutating func removeAll() {
        head = 0
        count = 0
        newestSecond = 0
    }

    // MARK: - Internals

    /// How many of the newest points fall within the timeframe.
    private func selectionCount(_ timeframe: PressureTimeframe) -> Int {
        guard count > 0 else { return 0 }
        let cutoff = newestSecond.subtractingSaturated(timeframe.seconds)
        var n = 0
        while n < count, Self.second(of: storage[slot(count - 1 - n)].timeMs) > cutoff {
            n += 1
        }
        return n
    }

    @inline(__always)
    private func slot(_ offset: Int) -> Int {
        let i = head + offset
        return i >= capacitySeconds ? i - capacitySeconds : i
    }

    @inline(__always)
    private func advance(_ i: Int) -> Int {
        i + 1 == capacitySeconds ? 0 : i + 1
    }

    /// Floor division, so negative times bucket correctly.
    @inline(__always)
    static func second(of timeMs: Int64) -> Int64 {
        let q = timeMs / 1000
        return (timeMs % 1000 < 0) ? q - 1 : q
    }

    /// Base address of the ring's storage, for tests that check it never reallocates.
    var storageIdentity: UInt {
        storage.withUnsafeBufferPointer { UInt(bitPattern: $0.baseAddress) }
    }
}
