import Logging
import ServiceLifecycle
import Strategies

/// The counters a heartbeat compares between two beats.
public struct HeartbeatSnapshot: Sendable, Equatable {
    public var messagesProcessed = 0
    /// Rejected market-data messages plus rejected feed messages.
    public var consumerErrors = 0
    /// Signals published on NATS (the seed's "orders published", which it never counted).
    public var signalsPublished = 0
    public var publisherErrors = 0
    public var signalsLost = 0
    public var generatedByStrategy: [String: Int] = [:]
    public var publishedByStrategy: [String: Int] = [:]

    public init() {}

    public static func capture(_ stats: IngestStats) -> HeartbeatSnapshot {
        var snapshot = HeartbeatSnapshot()
        snapshot.messagesProcessed = stats.processed.value
        snapshot.consumerErrors = stats.rejected.value + stats.feedRejected.value
        snapshot.publishedByStrategy = stats.signalsPublished.mapValues(\.value)
        snapshot.signalsPublished = snapshot.publishedByStrategy.values.reduce(0, +)
        snapshot.publisherErrors = stats.publishErrors.value
        snapshot.signalsLost = stats.signalsLost.value
        snapshot.generatedByStrategy = stats.signalsGenerated.mapValues(\.value)
        return snapshot
    }
}

/// One heartbeat line: the seed's fields (inventory §6.4) with its bugs fixed: rates divide by
/// the measured time since the previous beat, not the configured interval, and published
/// counts are the signals actually published. Adds per-strategy signal counts.
public struct HeartbeatReport: Sendable, Equatable {
    public var heartbeatCount: Int
    public var uptimeSeconds: Double
    public var uptimeMinutes: Double
    public var uptimeHours: Double
    /// Configured interval.
    public var intervalSeconds: Int
    /// Measured time since the previous beat (or the start).
    public var elapsedSeconds: Double
    public var messagesProcessedDelta: Int
    public var consumerErrorsDelta: Int
    public var ordersPublishedDelta: Int
    public var publisherErrorsDelta: Int
    public var signalsLostDelta: Int
    public var messagesPerSecond: Double
    public var ordersPerSecond: Double
    /// (consumer errors + publisher errors) per second.
    public var errorRatePerSecond: Double
    public var totalMessagesProcessed: Int
    public var totalConsumerErrors: Int
    public var totalOrdersPublished: Int
    public var totalPublisherErrors: Int
    public var totalSignalsLost: Int
    /// Per strategy: signals generated and published since the previous beat.
    public var signalsGeneratedDelta: [String: Int]
    public var signalsPublishedDelta: [String: Int]

    /// Pure: the report for the beat number `heartbeatCount` (1 for the first), from the
    /// counters at the previous beat and now, `elapsedSeconds` apart. Rates and uptimes are
    /// rounded to 2 decimals as the seed did (Python `round(x, 2)`).
    public static func compute(previous: HeartbeatSnapshot, current: HeartbeatSnapshot, elapsedSeconds: Double,
                               heartbeatCount: Int, uptimeSeconds: Double, intervalSeconds: Int) -> HeartbeatReport {
        func r2(_ x: Double) -> Double { PythonRounding.round(x, 2) }
        func rate(_ delta: Int) -> Double { elapsedSeconds > 0 ? r2(Double(delta) / elapsedSeconds) : 0 }
        func deltas(_ now: [String: Int], _ before: [String: Int]) -> [String: Int] {
            now.reduce(into: [:]) { result, entry in result[entry.key] = entry.value - (before[entry.key] ?? 0) }
        }
        let messages = current.messagesProcessed - previous.messagesProcessed
        let consumerErrors = current.consumerErrors - previous.consumerErrors
        let published = current.signalsPublished - previous.signalsPublished
        let publisherErrors = current.publisherErrors - previous.publisherErrors
        return HeartbeatReport(
            heartbeatCount: heartbeatCount,
            uptimeSeconds: r2(uptimeSeconds), uptimeMinutes: r2(uptimeSeconds / 60), uptimeHours: r2(uptimeSeconds / 3600),
            intervalSeconds: intervalSeconds, elapsedSeconds: r2(elapsedSeconds),
            messagesProcessedDelta: messages, consumerErrorsDelta: consumerErrors, ordersPublishedDelta: published,
            publisherErrorsDelta: publisherErrors, signalsLostDelta: current.signalsLost - previous.signalsLost,
            messagesPerSecond: rate(messages), ordersPerSecond: rate(published),
            errorRatePerSecond: rate(consumerErrors + publisherErrors),
            totalMessagesProcessed: current.messagesProcessed, totalConsumerErrors: current.consumerErrors,
            totalOrdersPublished: current.signalsPublished, totalPublisherErrors: current.publisherErrors,
            totalSignalsLost: current.signalsLost,
            signalsGeneratedDelta: deltas(current.generatedByStrategy, previous.generatedByStrategy),
            signalsPublishedDelta: deltas(current.publishedByStrategy, previous.publishedByStrategy))
    }

    /// The log line's fields, with the seed's names.
    public var metadata: Logger.Metadata {
        var m: Logger.Metadata = [
            "heartbeat_count": "\(heartbeatCount)",
            "uptime_seconds": "\(uptimeSeconds)", "uptime_minutes": "\(uptimeMinutes)", "uptime_hours": "\(uptimeHours)",
            "interval_seconds": "\(intervalSeconds)", "elapsed_seconds": "\(elapsedSeconds)",
            "messages_processed_delta": "\(messagesProcessedDelta)", "consumer_errors_delta": "\(consumerErrorsDelta)",
            "orders_published_delta": "\(ordersPublishedDelta)", "publisher_errors_delta": "\(publisherErrorsDelta)",
            "signals_lost_delta": "\(signalsLostDelta)",
            "messages_per_second": "\(messagesPerSecond)", "orders_per_second": "\(ordersPerSecond)",
            "error_rate_per_second": "\(errorRatePerSecond)",
            "total_messages_processed": "\(totalMessagesProcessed)", "total_consumer_errors": "\(totalConsumerErrors)",
            "total_orders_published": "\(totalOrdersPublished)", "total_publisher_errors": "\(totalPublisherErrors)",
            "total_signals_lost": "\(totalSignalsLost)",
        ]
        m["signals_generated_delta"] = .dictionary(signalsGeneratedDelta.mapValues { .string("\($0)") })
        m["signals_published_delta"] = .dictionary(signalsPublishedDelta.mapValues { .string("\($0)") })
        return m
    }
}

/// Logs a `HeartbeatReport` every `HEARTBEAT_INTERVAL_SECONDS`; the first after one interval.
/// A `Service` of the runtime's group: it stops at once on graceful shutdown.
public final class HeartbeatService: Service, Sendable {
    public static let message: Logger.Message = "💓 HEARTBEAT - System Statistics"
    private let stats: IngestStats
    private let intervalSeconds: Int
    private let logger: Logger
    private let started: ContinuousClock.Instant

    public init(stats: IngestStats, intervalSeconds: Int, logger: Logger, started: ContinuousClock.Instant = .now) {
        self.stats = stats
        self.intervalSeconds = intervalSeconds
        self.logger = logger
        self.started = started
    }

    public func run() async throws {
        let stats = stats
        let interval = intervalSeconds
        let logger = logger
        let started = started
        try? await cancelWhenGracefulShutdown {
            var previous = HeartbeatSnapshot.capture(stats)
            var previousTime = ContinuousClock.now
            var count = 0
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(interval))
                let now = ContinuousClock.now
                let current = HeartbeatSnapshot.capture(stats)
                count += 1
                let report = HeartbeatReport.compute(
                    previous: previous, current: current, elapsedSeconds: Self.seconds(now - previousTime),
                    heartbeatCount: count, uptimeSeconds: Self.seconds(now - started), intervalSeconds: interval)
                logger.info(Self.message, metadata: report.metadata)
                previous = current
                previousTime = now
            }
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        let c = duration.components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
