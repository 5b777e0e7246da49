/// Pure arithmetic of the load tool (`sidecarctl bench`): latency percentiles, the paced
/// publisher's schedule and the trigger-price code that maps a signal back to the message that
/// caused it. It lives in the library so it is unit-tested; the tool itself never runs in tests.

/// Nearest-rank percentiles of a set of latency samples, in nanoseconds.
///
/// Exact (the samples are sorted, not bucketed): a 10 s window at 1000 samples/s is 10,000
/// values, so a sort costs nothing next to the run, and p99.9 is an actual sample.
public struct LatencySummary: Sendable, Equatable {
    public var count: Int
    public var minNs: UInt64
    public var p50Ns: UInt64
    public var p90Ns: UInt64
    public var p99Ns: UInt64
    public var p999Ns: UInt64
    public var maxNs: UInt64
    public var meanNs: Double

    public init(samplesNs: [UInt64]) {
        let sorted = samplesNs.sorted()
        count = sorted.count
        minNs = sorted.first ?? 0
        maxNs = sorted.last ?? 0
        p50Ns = Self.quantile(sorted: sorted, 0.50)
        p90Ns = Self.quantile(sorted: sorted, 0.90)
        p99Ns = Self.quantile(sorted: sorted, 0.99)
        p999Ns = Self.quantile(sorted: sorted, 0.999)
        meanNs = sorted.isEmpty ? 0 : Double(sorted.reduce(0.0) { $0 + Double($1) }) / Double(sorted.count)
    }

    /// Nearest rank: the smallest sample with at least `q` of the samples at or below it
    /// (rank ⌈q·n⌉, 1-based). 0 for no samples.
    public static func quantile(sorted: [UInt64], _ q: Double) -> UInt64 {
        guard !sorted.isEmpty else { return 0 }
        // The epsilon keeps q·n that should be an integer (0.999 · 1000) from rounding up a rank.
        let rank = Int((q * Double(sorted.count) - 1e-9).rounded(.up))
        return sorted[min(max(rank - 1, 0), sorted.count - 1)]
    }

    /// Microseconds, for tables and JSON.
    public var microseconds: [String: Double] {
        ["n": Double(count), "min_us": Double(minNs) / 1000, "p50_us": Double(p50Ns) / 1000,
         "p90_us": Double(p90Ns) / 1000, "p99_us": Double(p99Ns) / 1000, "p999_us": Double(p999Ns) / 1000,
         "max_us": Double(maxNs) / 1000, "mean_us": meanNs / 1000]
    }
}

/// A fixed offered rate: message `i` (0-based) is due `i / rate` seconds after the start. The
/// publisher sends every message that is due, then sleeps until the next one is (a token bucket
/// refilled by the clock), so a late wake-up is caught up in a burst and the average rate stays
/// exact over the window.
public struct PacedSchedule: Sendable, Equatable {
    public let ratePerSecond: Double

    public init(ratePerSecond: Double) {
        precondition(ratePerSecond > 0, "rate must be positive")
        self.ratePerSecond = ratePerSecond
    }

    /// The first whole nanosecond after the start at which message `index` is due (the inverse
    /// of `dueCount`).
    public func dueNs(_ index: Int) -> UInt64 {
        UInt64((Double(index) * 1e9 / ratePerSecond).rounded(.up))
    }

    /// How many messages are due `elapsedNs` after the start (message 0 is due at once).
    public func dueCount(elapsedNs: UInt64) -> Int {
        Int((Double(elapsedNs) * ratePerSecond / 1e9).rounded(.down)) + 1
    }

    /// Whether message `index` is a trigger when one message in `every` is (the first is not,
    /// so the first trigger follows a warm book).
    public static func isTrigger(_ index: Int, every: Int) -> Bool {
        every > 0 && index % every == every - 1
    }
}

/// Encodes a trigger's number in the best bid of the book that triggers it, as a decimal
/// string with two decimals: trigger `k` has best bid `base + k / 100`. The signal's price is
/// that best bid (orderbook_skew buys at the top bid), so `id(fromPrice:)` maps a received
/// signal back to the publish time of its message without any clock in the payload.
public struct TriggerPriceCode: Sendable, Equatable {
    public let base: Int

    public init(base: Int = 1000) { self.base = base }

    /// The best-bid text of trigger `k`, e.g. base 1000, k 1234 → "1012.34".
    public func priceText(_ k: Int) -> String {
        let cents = base * 100 + k
        let fraction = cents % 100
        return "\(cents / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// The trigger number of a signal price, nil when it is not one of ours.
    public func id(fromPrice price: Double) -> Int? {
        guard price.isFinite else { return nil }
        let k = ((price - Double(base)) * 100).rounded()
        guard k >= 0, k < 1e9, abs(price - (Double(base) + k / 100)) < 0.001 else { return nil }
        return Int(k)
    }
}
