import Foundation
import Metrics
import NATS
import Prometheus
import Strategies
import Synchronization

/// What `/metrics` reads. Everything is an atomic counter or a cheap probe: scraping never
/// touches engine state and never blocks the ingest thread.
public struct MetricsSources: Sendable {
    public var stats: IngestStats
    public var socketStats: SocketStats?
    public var natsConnected: @Sendable () -> Bool
    public var natsCounters: @Sendable () -> NATSClientStats
    public var slowConsumerDrops: @Sendable () -> Int
    /// Wall-clock start of the runtime (ms since the epoch).
    public var startedAtMs: Int64
    /// Config writes refused on the public HTTP listener; nil: not exported.
    public var unauthorizedWrites: StatCounter?

    public init(stats: IngestStats, socketStats: SocketStats?, natsConnected: @escaping @Sendable () -> Bool,
                natsCounters: @escaping @Sendable () -> NATSClientStats, slowConsumerDrops: @escaping @Sendable () -> Int,
                startedAtMs: Int64) {
        self.stats = stats
        self.socketStats = socketStats
        self.natsConnected = natsConnected
        self.natsCounters = natsCounters
        self.slowConsumerDrops = slowConsumerDrops
        self.startedAtMs = startedAtMs
    }
}

/// The process-wide swift-metrics backend: `MetricsSystem` is bootstrapped once per process
/// with a `PrometheusMetricsFactory` over this registry, so metrics other components create
/// through the swift-metrics API (`Counter(label: "realtime_config_changes_total", ...)`)
/// appear on every runtime's `/metrics`.
public enum SwiftMetricsBackend {
    /// nil when something else bootstrapped `MetricsSystem` with another factory first.
    public static let registry: PrometheusCollectorRegistry? = {
        if let prometheus = MetricsSystem.factory as? PrometheusMetricsFactory { return prometheus.registry }
        guard MetricsSystem.factory is NOOPMetricsHandler else { return nil }
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    /// Families another component increments through swift-metrics: their `# TYPE` line is
    /// emitted even before the first increment, so dashboards find the name.
    static let declaredFamilies: [(name: String, type: String, help: String)] = [
        ("realtime_config_changes_total", "counter",
         "Strategy configuration changes, by strategy_id, action (CREATE, UPDATE, DELETE, ROLLBACK) and scope (global or symbol)"),
    ]
}

/// Renders `/metrics` in the Prometheus text format (0.0.4).
///
/// The ingest thread only bumps relaxed atomics (`IngestStats`); at each scrape this brings a
/// runtime-owned `PrometheusCollectorRegistry` up to date from them (counter += delta since the
/// last scrape, gauges set), emits it, then writes the sampled latency histograms, whose
/// buckets are pre-aggregated atomics, in the same text format, then the swift-metrics families.
public final class MetricsExporter: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let sources: MetricsSources
    private let processStart: Double
    private let state: Mutex<State>

    /// A counter fed from a monotonic source; never goes down even if two source counters read
    /// a moment apart briefly disagree.
    private final class SyncedCounter: @unchecked Sendable {
        let counter: Prometheus.Counter
        let source: () -> Int
        var last = 0

        init(_ counter: Prometheus.Counter, _ source: @escaping () -> Int) {
            self.counter = counter
            self.source = source
        }

        func sync() {
            let value = source()
            if value > last {
                counter.increment(by: Int64(value - last))
                last = value
            }
        }
    }

    private struct State: @unchecked Sendable {
        var counters: [SyncedCounter] = []
        var gauges: [(Prometheus.Gauge, () -> Double)] = []
        /// Created on first non-zero value: strategy × action × confidence bucket.
        var signalSeries: [String: SyncedCounter] = [:]
        var cpuCounter: Prometheus.Counter?
        var lastCPU = 0.0
    }

    public init(sources: MetricsSources) {
        self.sources = sources
        self.processStart = ProcessMetrics.startTimeSeconds() ?? Double(sources.startedAtMs) / 1000
        var state = State()
        Self.register(into: &state, registry: registry, sources: sources, processStart: processStart)
        self.state = Mutex(state)
        _ = SwiftMetricsBackend.registry
    }

    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// One scrape: update, then render.
    public func scrape() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 << 10)
        state.withLock { state in
            update(&state)
            registry.emit(into: &buffer)
            // Declared before the first signal too, so dashboards and checks find the name.
            if state.signalSeries.isEmpty {
                buffer.append(contentsOf: "# HELP realtime_signals_generated_total \(Self.signalsGeneratedHelp)\n# TYPE realtime_signals_generated_total counter\n".utf8)
            }
        }
        appendHistograms(into: &buffer)
        appendSwiftMetrics(into: &buffer)
        return buffer
    }

    // MARK: Registration

    private static func register(into state: inout State, registry: PrometheusCollectorRegistry,
                                 sources: MetricsSources, processStart: Double) {
        let s = sources.stats
        func counter(_ name: String, _ help: String, _ labels: [(String, String)] = [], _ source: @escaping () -> Int) {
            let c = labels.isEmpty ? registry.makeCounter(name: name, help: help)
                : registry.makeCounter(name: name, labels: labels, help: help)
            state.counters.append(SyncedCounter(c, source))
        }
        func gauge(_ name: String, _ help: String, _ labels: [(String, String)] = [], _ source: @escaping () -> Double) {
            let g = labels.isEmpty ? registry.makeGauge(name: name, help: help)
                : registry.makeGauge(name: name, labels: labels, help: help)
            state.gauges.append((g, source))
        }

        // Messages
        counter("realtime_messages_received_total", "Market-data messages received from NATS") { s.received.value }
        for kind in StreamKind.allCases {
            counter("realtime_messages_processed_total", "Market-data messages processed, by stream kind",
                    [("message_type", kind.description)]) { s.kind(kind).value }
        }
        for reason in RejectReason.allCases {
            counter("realtime_messages_rejected_total", "Market-data messages rejected, by reason",
                    [("reason", reason.description)]) { s.rejected(reason).value }
        }
        // Books (docs/BOOKS.md)
        let b = s.books
        for kind in StreamKind.allCases {
            counter("realtime_book_label_mismatch_total", "Frames whose stream label names another kind than the payload, by the payload's kind",
                    [("kind", kind.description)]) { b.labelMismatch(kind).value }
        }
        for (state, source) in [("synced", { b.booksSynced.value }), ("resyncing", { b.booksResyncing.value })] {
            gauge("realtime_books", "Local order books by sync state", [("state", state)]) { Double(source()) }
        }
        for (decision, source) in [("label", { b.attributedToLabel.value }), ("evidence", { b.attributedByEvidence.value }),
                                   ("unverified", { b.attributedUnverified.value }), ("ambiguous", { s.rejected(.symbolAmbiguous).value })] {
            counter("realtime_book_attributions_total", "Partial books without a symbol, by attribution decision",
                    [("decision", decision)], source)
        }
        for (event, source) in [("gap", { b.gaps.value }), ("crossed", { b.crossedAfterUpdate.value }),
                                ("exhausted", { b.exhausted.value })] {
            counter("realtime_book_resyncs_total", "Local books that lost their sync, by cause", [("cause", event)], source)
        }
        for (source, value) in [("snapshot", { b.syncedFromSnapshot.value }), ("partial", { b.syncedFromPartial.value }),
                                ("deepened", { b.deepened.value })] {
            counter("realtime_book_syncs_total", "Local books synced, by sync point", [("source", source)], value)
        }
        counter("realtime_book_diffs_applied_total", "Diffs applied to local books") { b.diffsApplied.value }
        counter("realtime_book_snapshot_requests_total", "REST depth snapshot requests") { b.snapshotRequests.value }
        counter("realtime_book_snapshot_failures_total", "REST depth snapshot requests that failed") { b.snapshotFailures.value }
        for (reason, source) in [("stale", { b.skippedStale.value }), ("resyncing", { b.skippedResyncing.value }),
                                 ("one_sided", { b.skippedOneSided.value })] {
            counter("realtime_book_strategy_skips_total", "Book strategy runs skipped, by reason", [("reason", reason)], source)
        }
        let errorHelp = "Errors by type: invalid_message (rejected market data), invalid_feed_message, publish_error, nats_async_error"
        counter("realtime_errors_total", errorHelp, [("error_type", "invalid_message")]) { s.rejected.value }
        counter("realtime_errors_total", errorHelp, [("error_type", "invalid_feed_message")]) { s.feedRejected.value }
        counter("realtime_errors_total", errorHelp, [("error_type", "publish_error")]) { s.publishErrors.value }
        counter("realtime_errors_total", errorHelp, [("error_type", "nats_async_error")]) {
            Int(clamping: sources.natsCounters().asyncErrors)
        }
        gauge("realtime_consumer_lag_seconds",
              "Wall clock now minus the newest exchange event time processed, in seconds (0 before the first event)") {
            let event = s.lastEventTimeMs.value
            guard event > 0 else { return 0 }
            return max(Double(WallClock.nowMs() - Int64(event)) / 1000, 0)
        }

        // Strategies and signals
        for id in s.signalsGenerated.keys.sorted() {
            let generated = s.signalsGenerated[id]!
            let calls = s.strategyCalls[id]
            let executionsHelp = "Strategy calls, by result: success (produced a signal) or no_signal"
            counter("realtime_strategy_executions_total", executionsHelp, [("strategy", id), ("result", "success")]) {
                generated.value
            }
            counter("realtime_strategy_executions_total", executionsHelp, [("strategy", id), ("result", "no_signal")]) {
                max((calls?.calls.value ?? 0) - generated.value, 0)
            }
            if let published = s.signalsPublished[id] {
                counter("realtime_signals_published_total", "Signals published on NATS, by strategy",
                        [("strategy", id)]) { published.value }
            }
        }
        counter("realtime_signals_lost_total",
                "Signals that never reached NATS: publish failed (reconnect buffer full while disconnected, connection closed)") {
            s.signalsLost.value
        }
        counter("realtime_signals_below_confidence_total", "Signals below SIGNAL_MIN_CONFIDENCE, not published") {
            s.signalsBelowConfidence.value
        }

        // NATS
        gauge("realtime_nats_connected", "1 while connected to NATS, else 0") { sources.natsConnected() ? 1 : 0 }
        counter("realtime_nats_reconnects_total", "NATS reconnections") { Int(clamping: sources.natsCounters().reconnects) }
        counter("realtime_nats_disconnects_total", "NATS disconnections") { Int(clamping: sources.natsCounters().disconnects) }
        counter("realtime_nats_slow_consumer_dropped_total",
                "Messages dropped by the NATS client because the subscription's pending limits were reached") {
            sources.slowConsumerDrops()
        }

        // Socket
        if let socket = sources.socketStats {
            gauge("realtime_socket_clients", "Unix-socket clients connected") { Double(socket.clients.value) }
            for call in SocketStats.Call.allCases {
                counter("realtime_socket_requests_total", "Unix-socket requests, by call", [("call", call.description)]) {
                    socket.requests(call).value
                }
            }
            counter("realtime_socket_events_dropped_total", "Pushed events dropped from full socket client queues or the full hub ring") {
                socket.eventsDropped.value
            }
            counter("realtime_socket_gaps_total", "Gap notices sent to socket clients") { socket.gaps.value }
            for (reason, refused) in socket.refusals {
                counter("realtime_socket_refused_total",
                        "Socket refusals: peer UID, config write, connection limit, oversized request, output budget",
                        [("reason", reason)]) { refused.value }
            }
        }

        // HTTP
        if let refused = sources.unauthorizedWrites {
            counter("realtime_http_unauthorized_total",
                    "Config writes refused on the public HTTP listener (no or wrong bearer token)") { refused.value }
        }

        // Symbols
        gauge("realtime_symbols_tracked", "Symbols with state") { Double(s.symbolsTracked.value) }
        counter("realtime_symbols_evicted_total", "Symbols evicted because MAX_SYMBOLS was reached") { s.symbolsEvicted.value }
        counter("realtime_symbols_expired_total", "Symbols dropped after SYMBOL_TTL_SECONDS without an update") {
            s.symbolsExpired.value
        }

        // Process
        gauge("process_resident_memory_bytes", "Resident memory size in bytes") { Double(ProcessMetrics.residentBytes()) }
        gauge("process_start_time_seconds", "Start time of the process since the epoch, in seconds") { processStart }
        gauge("realtime_uptime_seconds", "Seconds since the sidecar started") {
            Double(WallClock.nowMs() - sources.startedAtMs) / 1000
        }
        state.cpuCounter = registry.makeCounter(name: "process_cpu_seconds_total", help: "User and system CPU time, in seconds")
    }

    // MARK: Scrape

    private func update(_ state: inout State) {
        for counter in state.counters { counter.sync() }
        for (gauge, source) in state.gauges { gauge.set(source()) }
        if let cpu = state.cpuCounter {
            let now = ProcessMetrics.cpuSeconds()
            if now > state.lastCPU {
                cpu.increment(by: now - state.lastCPU)
                state.lastCPU = now
            }
        }
        // Signals generated by strategy, action and confidence bucket: series appear with their first signal.
        let s = sources.stats
        for (id, breakdown) in s.signalBreakdown {
            for action in SignalAction.allCases {
                for bucket in SignalBreakdown.ConfidenceBucket.allCases {
                    let source = breakdown.counter(action, bucket)
                    let key = "\(id)/\(action.rawValue)/\(bucket)"
                    if let series = state.signalSeries[key] {
                        series.sync()
                    } else if source.value > 0 {
                        let counter = registry.makeCounter(
                            name: "realtime_signals_generated_total",
                            labels: [("strategy", id), ("signal_type", action.rawValue), ("confidence_bucket", bucket.description)],
                            help: Self.signalsGeneratedHelp)
                        let series = SyncedCounter(counter) { source.value }
                        series.sync()
                        state.signalSeries[key] = series
                    }
                }
            }
        }
    }

    static let signalsGeneratedHelp =
        "Signals generated, by strategy, signal_type (action) and confidence_bucket (very_high >= 0.9, high >= 0.75, medium >= 0.5, low)"

    private func appendHistograms(into buffer: inout [UInt8]) {
        let s = sources.stats
        var text = ""
        text.reserveCapacity(8 << 10)
        Self.histogramHeader(&text, "realtime_message_processing_latency",
                             "Processing time of one market-data message (parse, state, metrics, strategies, signals) in milliseconds, sampled 1 in \(LatencyHistogram.sampleEvery), by message_type")
        for kind in StreamKind.allCases where s.latency(kind).count > 0 {
            Self.histogramSeries(&text, "realtime_message_processing_latency", label: ("message_type", kind.description),
                                 s.latency(kind))
        }
        Self.histogramHeader(&text, "realtime_strategy_latency",
                             "Time of one strategy call in milliseconds, sampled 1 in \(LatencyHistogram.sampleEvery), by strategy")
        for id in s.strategyCalls.keys.sorted() {
            Self.histogramSeries(&text, "realtime_strategy_latency", label: ("strategy", id), s.strategyCalls[id]!.latency)
        }
        buffer.append(contentsOf: text.utf8)
    }

    static func histogramHeader(_ text: inout String, _ name: String, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
    }

    static func histogramSeries(_ text: inout String, _ name: String, label: (String, String), _ histogram: LatencyHistogram) {
        let (cumulative, sumNs) = histogram.snapshot()
        let labels = "\(label.0)=\"\(label.1)\""
        for (index, boundNs) in LatencyHistogram.upperBoundsNs.enumerated() {
            text += "\(name)_bucket{\(labels),le=\"\(formatMilliseconds(boundNs))\"} \(cumulative[index])\n"
        }
        let count = cumulative.last ?? 0
        text += "\(name)_bucket{\(labels),le=\"+Inf\"} \(count)\n"
        text += "\(name)_sum{\(labels)} \(Double(sumNs) / 1_000_000)\n"
        text += "\(name)_count{\(labels)} \(count)\n"
    }

    /// 2_500 ns → "0.0025"; 1_000_000 ns → "1".
    static func formatMilliseconds(_ ns: Int) -> String {
        let ms = Double(ns) / 1_000_000
        if ms == ms.rounded() { return String(Int(ms)) }
        var text = String(format: "%.6f", ms)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }

    private func appendSwiftMetrics(into buffer: inout [UInt8]) {
        var text: [UInt8] = []
        SwiftMetricsBackend.registry?.emit(into: &text)
        buffer.append(contentsOf: text)
        let emitted = String(decoding: text, as: UTF8.self)
        for family in SwiftMetricsBackend.declaredFamilies where !emitted.contains("# TYPE \(family.name) ") {
            buffer.append(contentsOf: "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) \(family.type)\n".utf8)
        }
    }
}
