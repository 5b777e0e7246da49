import Testing
@testable import Sidecar
import Strategies

@Suite("Heartbeat")
struct HeartbeatTests {
    private func snapshot(processed: Int, consumerErrors: Int, publisherErrors: Int, lost: Int,
                          generated: [String: Int], published: [String: Int]) -> HeartbeatSnapshot {
        var s = HeartbeatSnapshot()
        s.messagesProcessed = processed
        s.consumerErrors = consumerErrors
        s.publisherErrors = publisherErrors
        s.signalsLost = lost
        s.generatedByStrategy = generated
        s.publishedByStrategy = published
        s.signalsPublished = published.values.reduce(0, +)
        return s
    }

    @Test("rates divide the deltas by the measured elapsed time, published counts are the signals published (golden by hand)")
    func reportGolden() {
        let previous = snapshot(processed: 1000, consumerErrors: 5, publisherErrors: 1, lost: 1,
                                generated: ["orderbook_skew": 12, "trade_momentum": 3],
                                published: ["orderbook_skew": 9, "trade_momentum": 1])
        let current = snapshot(processed: 7000, consumerErrors: 11, publisherErrors: 3, lost: 3,
                               generated: ["orderbook_skew": 30, "trade_momentum": 3],
                               published: ["orderbook_skew": 23, "trade_momentum": 2])
        // The beat came 62.5 s after the previous one although the interval is 60 s.
        let report = HeartbeatReport.compute(previous: previous, current: current, elapsedSeconds: 62.5,
                                             heartbeatCount: 3, uptimeSeconds: 187.5, intervalSeconds: 60)
        #expect(report.heartbeatCount == 3)
        #expect(report.intervalSeconds == 60)
        #expect(report.elapsedSeconds == 62.5)
        #expect(report.uptimeSeconds == 187.5)
        #expect(report.uptimeMinutes == 3.12)        // 3.125: Python's round(3.125, 2) is 3.12
        #expect(report.uptimeHours == 0.05)          // 0.05208…
        #expect(report.messagesProcessedDelta == 6000)
        #expect(report.consumerErrorsDelta == 6)
        #expect(report.ordersPublishedDelta == 15)   // 25 − 10; the seed always logged 0
        #expect(report.publisherErrorsDelta == 2)
        #expect(report.signalsLostDelta == 2)
        #expect(report.messagesPerSecond == 96)      // 6000 / 62.5; the seed's 6000 / 60 would be 100
        #expect(report.ordersPerSecond == 0.24)      // 15 / 62.5
        #expect(report.errorRatePerSecond == 0.13)   // (6 + 2) / 62.5 = 0.128
        #expect(report.totalMessagesProcessed == 7000)
        #expect(report.totalConsumerErrors == 11)
        #expect(report.totalOrdersPublished == 25)
        #expect(report.totalPublisherErrors == 3)
        #expect(report.totalSignalsLost == 3)
        #expect(report.signalsGeneratedDelta == ["orderbook_skew": 18, "trade_momentum": 0])
        #expect(report.signalsPublishedDelta == ["orderbook_skew": 14, "trade_momentum": 1])

        let metadata = report.metadata
        for key in ["heartbeat_count", "uptime_seconds", "uptime_minutes", "uptime_hours", "interval_seconds",
                    "messages_processed_delta", "consumer_errors_delta", "orders_published_delta", "publisher_errors_delta",
                    "messages_per_second", "orders_per_second", "error_rate_per_second", "total_messages_processed",
                    "total_consumer_errors", "total_orders_published", "total_publisher_errors",
                    "signals_generated_delta", "signals_published_delta"] {
            #expect(metadata[key] != nil, "\(key) missing")
        }
        #expect(metadata["messages_per_second"] == "96.0")
    }

    @Test("no elapsed time gives zero rates, not a division by zero")
    func zeroElapsed() {
        let s = snapshot(processed: 10, consumerErrors: 0, publisherErrors: 0, lost: 0, generated: [:], published: [:])
        let report = HeartbeatReport.compute(previous: HeartbeatSnapshot(), current: s, elapsedSeconds: 0,
                                             heartbeatCount: 1, uptimeSeconds: 0, intervalSeconds: 60)
        #expect(report.messagesProcessedDelta == 10)
        #expect(report.messagesPerSecond == 0 && report.ordersPerSecond == 0 && report.errorRatePerSecond == 0)
    }

    @Test("a snapshot reads the engine's counters: processed, rejections of both kinds, published and lost by strategy")
    func snapshotReadsStats() {
        let stats = IngestStats(strategyIds: ["orderbook_skew", "trade_momentum"])
        stats.processed.add(40)
        stats.rejected.add(3)
        stats.feedRejected.add(2)
        stats.publishErrors.add(1)
        stats.signalsLost.add(1)
        stats.signalsGenerated["orderbook_skew"]?.add(7)
        stats.signalsPublished["orderbook_skew"]?.add(5)
        stats.signalsPublished["trade_momentum"]?.add(2)
        let s = HeartbeatSnapshot.capture(stats)
        #expect(s.messagesProcessed == 40)
        #expect(s.consumerErrors == 5)
        #expect(s.signalsPublished == 7)
        #expect(s.publisherErrors == 1 && s.signalsLost == 1)
        #expect(s.generatedByStrategy == ["orderbook_skew": 7, "trade_momentum": 0])
        #expect(s.publishedByStrategy == ["orderbook_skew": 5, "trade_momentum": 2])
    }
}
