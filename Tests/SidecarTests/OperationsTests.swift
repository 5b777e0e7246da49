import Foundation
import Logging
import CoreMetrics
@testable import NATS
import Synchronization
import Testing
@testable import Sidecar
import Strategies

/// Publishes a JSONL recording to `subject` and returns the number of lines.
private func publishRecording(_ url: URL, natsURL: String, subject: String = "binance.websocket.data") throws -> Int {
    let publisher = try NATSClient(options: NATSClientOptions(url: natsURL, name: "test-replay"))
    defer { publisher.close(drainTimeoutMs: 1000) }
    var sent = 0
    _ = try LineReader(path: url.path).forEachLine { line in
        try publisher.publish(subject: subject, payload: line)
        sent += 1
    }
    try publisher.flush(timeoutMs: 10_000)
    return sent
}

private func publishSynthetic(_ natsURL: String, count: Int) throws {
    let publisher = try NATSClient(options: NATSClientOptions(url: natsURL, name: "test-feed"))
    defer { publisher.close(drainTimeoutMs: 1000) }
    var market = SyntheticMarket(.init())
    for _ in 0..<count { try publisher.publish(subject: "binance.websocket.data", bytes: market.next().payload) }
    try publisher.flush(timeoutMs: 5000)
}

private extension RunningSidecar {
    func metrics() async throws -> PrometheusText {
        let response = try await get("/metrics")
        #expect(response.status == 200)
        #expect(response.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true,
                "content-type \(response.headers["content-type"] ?? "none")")
        return try PrometheusText(response.text)
    }

    /// `/ready`'s checks by name: (ok, required, detail).
    func readyChecks() async throws -> (status: Int, body: [String: Any], checks: [String: [String: Any]]) {
        let (status, body) = try await getJSON("/ready")
        let checks = try #require(body["checks"] as? [String: [String: Any]], "checks: \(body)")
        return (status, body, checks)
    }
}

@Suite("Prometheus text reader used by the metrics tests")
struct PrometheusTextTests {
    @Test("well-formed exposition parses; a sample without TYPE, a repeated TYPE or a non-cumulative histogram is refused")
    func parserAcceptsAndRefuses() throws {
        let good = """
            # HELP a_total A counter
            # TYPE a_total counter
            a_total{kind="x"} 3
            # TYPE h histogram
            h_bucket{le="1"} 1
            h_bucket{le="+Inf"} 2
            h_sum 3.5
            h_count 2
            """
        let parsed = try PrometheusText(good)
        #expect(parsed.value("a_total", ["kind": "x"]) == 3)
        #expect(parsed.value("h_count") == 2)
        #expect(throws: PrometheusText.Malformed.self) { try PrometheusText("b_total 1\n") }
        #expect(throws: PrometheusText.Malformed.self) { try PrometheusText("# TYPE b gauge\n# TYPE b gauge\nb 1\n") }
        #expect(throws: PrometheusText.Malformed.self) {
            try PrometheusText("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n")
        }
        #expect(throws: PrometheusText.Malformed.self) { try PrometheusText("# TYPE c counter\nc{x=1} 1\n") }
    }
}

@Suite("Operations: /metrics, liveness, readiness, NATS faults", .serialized)
struct OperationsTests {
    @Test("/metrics after a replay through nats-server: valid Prometheus text whose values match /api/v1/stats",
          .timeLimit(.minutes(3)))
    func metricsAfterReplay() async throws {
        guard let replay = SharedReplay.file("spot_10symbols_20210405.nats.jsonl.gz") else { return }
        let server = try NATSServerProcess()
        let sidecar = try await RunningSidecar.start(natsURL: server.url)
        try await waitUntil("sidecar ready", timeout: 15) { sidecar.runtime.ingest.isReady }
        let sent = try await offloaded { try publishRecording(replay, natsURL: server.url) }
        let stats = sidecar.runtime.stats
        try await waitUntil("all \(sent) messages received", timeout: 60) { stats.received.value >= sent }

        let root = try await sidecar.getJSON("/").object
        #expect((root["endpoints"] as? [String: Any])?["metrics"] as? String == "/metrics")

        let m = try await sidecar.metrics()
        let (_, statsJSON) = try await sidecar.getJSON("/api/v1/stats")
        let messages = try #require(statsJSON["messages"] as? [String: Any])
        let byKind = try #require(messages["by_kind"] as? [String: Int])

        // Messages, by the stream kinds of /api/v1/stats.
        #expect(m.value("realtime_messages_received_total") == Double(sent))
        for (kind, count) in byKind {
            #expect(m.value("realtime_messages_processed_total", ["message_type": kind]) == Double(count), "\(kind)")
        }
        #expect(m.value("realtime_messages_processed_total", ["message_type": "depth_partial"]) == 4_642)
        #expect(m.sum("realtime_messages_processed_total") == Double(messages["processed"] as? Int ?? -1))
        #expect(m.sum("realtime_messages_rejected_total") == 0)
        #expect(m.value("realtime_errors_total", ["error_type": "invalid_message"]) == 0)
        #expect(m.all("realtime_messages_rejected_total").count == RejectReason.allCases.count)

        // Lag from the newest exchange event time: the recording is from April 2021, so the lag
        // is years, not the ≈0 the seed measured from parse time.
        let lag = try #require(m.value("realtime_consumer_lag_seconds"))
        #expect(lag > 365 * 86_400, "lag \(lag) s")
        let eventMs = Double(stats.lastEventTimeMs.value)
        #expect(abs(lag - (Date().timeIntervalSince1970 - eventMs / 1000)) < 60)

        // Sampled latency histograms: about 1 in 64 messages, and every depth message ran orderbook_skew.
        let depthCount = try #require(m.value("realtime_message_processing_latency_count", ["message_type": "depth_partial"]))
        #expect(depthCount >= 4_642 / 64 / 2 && depthCount <= 4_642, "sampled \(depthCount)")
        #expect((m.value("realtime_message_processing_latency_sum", ["message_type": "depth_partial"]) ?? 0) > 0)
        #expect(m.value("realtime_message_processing_latency_bucket", ["message_type": "depth_partial", "le": "+Inf"]) == depthCount)
        #expect(m.types["realtime_message_processing_latency"] == "histogram")
        #expect(m.types["realtime_strategy_latency"] == "histogram")
        #expect((m.value("realtime_strategy_latency_count", ["strategy": "orderbook_skew"]) ?? 0) > 0)
        #expect(m.all("realtime_strategy_latency_count").count == sidecar.runtime.configuration.engine.enabledStrategyIds.count)

        // Strategy executions and signals agree with the counters.
        let generated = try #require(((statsJSON["signals"] as? [String: Any])?["generated"] as? [String: Int]))
        let published = try #require(((statsJSON["signals"] as? [String: Any])?["published"] as? [String: Int]))
        let skewSignals = try #require(generated["orderbook_skew"])
        #expect(skewSignals > 0, "the replay produces orderbook_skew signals")
        #expect(m.value("realtime_strategy_executions_total", ["strategy": "orderbook_skew", "result": "success"]) == Double(skewSignals))
        // orderbook_skew runs once per change of the served book (docs/BOOKS.md), less the skips.
        let books = try #require(statsJSON["books"] as? [String: Any])
        let skips = try #require(books["strategy_skips"] as? [String: Int])
        let served = try #require(books["book_updates_served"] as? Int)
        #expect(served > 4_000, "the replay's 4,709 diffs and 4,642 partial books change the served book")
        #expect(m.sum("realtime_strategy_executions_total", matching: ["strategy": "orderbook_skew"])
                == Double(served - (skips["one_sided"] ?? 0) - (skips["stale"] ?? 0)))
        #expect(m.sum("realtime_signals_generated_total", matching: ["strategy": "orderbook_skew"]) == Double(skewSignals))
        for sample in m.all("realtime_signals_generated_total") {
            #expect(["buy", "sell", "hold", "close"].contains(sample.labels["signal_type"] ?? ""))
            #expect(["very_high", "high", "medium", "low"].contains(sample.labels["confidence_bucket"] ?? ""))
        }
        #expect(m.value("realtime_signals_published_total", ["strategy": "orderbook_skew"]) == Double(published["orderbook_skew"] ?? -1))
        #expect(m.value("realtime_signals_lost_total") == 0)

        // NATS, socket, symbols.
        #expect(m.value("realtime_nats_connected") == 1)
        #expect(m.value("realtime_nats_disconnects_total") == 0)
        #expect(m.value("realtime_nats_reconnects_total") == 0)
        #expect(m.value("realtime_nats_slow_consumer_dropped_total") == 0)
        #expect(m.value("realtime_socket_clients") == 0)
        #expect(m.all("realtime_socket_requests_total").count == SocketStats.Call.allCases.count)
        #expect(m.value("realtime_socket_events_dropped_total") == 0)
        #expect(m.value("realtime_socket_gaps_total") == 0)
        let symbols = try #require(statsJSON["symbols"] as? [String: Int])
        #expect(m.value("realtime_symbols_tracked") == Double(symbols["tracked"] ?? -1))
        #expect((m.value("realtime_symbols_tracked") ?? 0) >= 10)
        #expect(m.value("realtime_symbols_evicted_total") == 0)

        // Process.
        let rss = try #require(m.value("process_resident_memory_bytes"))
        #expect(rss > Double(1 << 20) && rss < Double(1 << 30), "RSS \(rss)")
        #expect((m.value("process_cpu_seconds_total") ?? 0) > 0)
        let start = try #require(m.value("process_start_time_seconds"))
        #expect(start <= Date().timeIntervalSince1970 && start > Date().timeIntervalSince1970 - 86_400)
        #expect((m.value("realtime_uptime_seconds") ?? 0) > 0)
        // Declared for the config store before its first change.
        #expect(m.types["realtime_config_changes_total"] == "counter")

        // Counters only grow between scrapes.
        let again = try await sidecar.metrics()
        #expect((again.value("process_cpu_seconds_total") ?? 0) >= (m.value("process_cpu_seconds_total") ?? 0))
        #expect(again.value("realtime_messages_received_total") == Double(sent))
        try await sidecar.stop()
    }

    @Test("a config change counted through swift-metrics appears on /metrics with its labels")
    func swiftMetricsCounterAppears() async throws {
        let server = try NATSServerProcess()
        let sidecar = try await RunningSidecar.start(natsURL: server.url)
        let strategy = "test_\(UInt32.random(in: 0...UInt32.max))"
        let changes = CoreMetrics.Counter(label: "realtime_config_changes_total",
                                      dimensions: [("strategy_id", strategy), ("action", "UPDATE"), ("scope", "global")])
        changes.increment()
        changes.increment()
        let m = try await sidecar.metrics()
        #expect(m.types["realtime_config_changes_total"] == "counter")
        #expect(m.value("realtime_config_changes_total", ["strategy_id": strategy, "action": "UPDATE", "scope": "global"]) == 2)
        try await sidecar.stop()
    }

    @Test("/healthz answers 503 while an ingest callback is stuck past LIVENESS_STALL_SECONDS, 200 once it returns",
          .timeLimit(.minutes(1)))
    func livenessDetectsStuckIngest() async throws {
        let server = try NATSServerProcess()
        let sidecar = try await RunningSidecar.start(natsURL: server.url) { $0.livenessStallSeconds = 2 }
        try await waitUntil("ready", timeout: 15) { sidecar.runtime.ingest.isReady }
        let healthy = try await sidecar.getJSON("/healthz")
        #expect(healthy.status == 200 && healthy.object["status"] as? String == "healthy")

        let gate = DispatchSemaphore(value: 0)
        let entered = Atomic<Int>(0)
        sidecar.runtime.ingest.watch.setHookForTesting {
            entered.add(1, ordering: .relaxed)
            gate.wait()
        }
        try await offloaded { try publishSynthetic(server.url, count: 1) }
        try await waitUntil("callback entered", timeout: 10) { entered.load(ordering: .relaxed) == 1 }
        // Inside, but not yet for 2 s: still live.
        #expect(try await sidecar.get("/healthz").status == 200)
        try await waitUntil("healthz 503", timeout: 10) { try await sidecar.get("/healthz").status == 503 }
        let stuck = try await sidecar.getJSON("/healthz").object
        #expect(stuck["status"] as? String == "unhealthy")
        #expect((stuck["reason"] as? String)?.contains("stuck") == true, "\(stuck)")

        sidecar.runtime.ingest.watch.setHookForTesting(nil)
        gate.signal()
        try await waitUntil("message processed", timeout: 10) { sidecar.runtime.stats.processed.value == 1 }
        #expect(try await sidecar.get("/healthz").status == 200)
        try await sidecar.stop()
    }

    @Test("/ready reports each check; recent_message follows READY_MAX_SILENCE_SECONDS", .timeLimit(.minutes(1)))
    func readinessChecks() async throws {
        let server = try NATSServerProcess()
        let sidecar = try await RunningSidecar.start(natsURL: server.url) { $0.readyMaxSilenceSeconds = 2 }
        try await waitUntil("subscribed", timeout: 15) { sidecar.runtime.ingest.isReady }

        // Connected and subscribed, but no message yet: not ready because of recent_message only.
        var (status, body, checks) = try await sidecar.readyChecks()
        #expect(status == 503 && body["ready"] as? Bool == false)
        #expect(Set(checks.keys) == ["nats_connected", "nats_subscribed", "config", "socket_listening", "recent_message"])
        for name in ["nats_connected", "nats_subscribed", "config", "socket_listening"] {
            #expect(checks[name]?["ok"] as? Bool == true, "\(name): \(checks[name] ?? [:])")
            // The config store is reported, not required: without it the sidecar trades on environment and defaults.
            #expect(checks[name]?["required"] as? Bool == (name != "config"))
        }
        #expect(checks["config"]?["detail"] as? String == "memory loaded")
        #expect(checks["recent_message"]?["ok"] as? Bool == false)

        try await offloaded { try publishSynthetic(server.url, count: 5) }
        try await waitUntil("ready after a message", timeout: 10) { try await sidecar.get("/ready").status == 200 }
        (status, body, checks) = try await sidecar.readyChecks()
        #expect(checks["recent_message"]?["ok"] as? Bool == true)
        #expect(body["shutting_down"] as? Bool == false)

        // Silence for longer than 2 s: not ready again.
        try await waitUntil("not ready after silence", timeout: 10) { try await sidecar.get("/ready").status == 503 }
        (status, body, checks) = try await sidecar.readyChecks()
        #expect(checks["recent_message"]?["ok"] as? Bool == false)
        #expect(checks["nats_connected"]?["ok"] as? Bool == true)

        // Extensible: a registered check joins the list and, when required and failing, gates readiness.
        sidecar.runtime.readiness.register(name: "config", required: true) { .failed("degraded: store unreachable") }
        try await offloaded { try publishSynthetic(server.url, count: 1) }
        try await waitUntil("message processed", timeout: 10) { sidecar.runtime.stats.processed.value == 6 }
        (status, body, checks) = try await sidecar.readyChecks()
        #expect(status == 503)
        #expect(checks["config"]?["detail"] as? String == "degraded: store unreachable")
        #expect(checks["recent_message"]?["ok"] as? Bool == true)
        try await sidecar.stop()
    }

    @Test("on shutdown the sidecar is not ready before ingest has drained, while HTTP still answers", .timeLimit(.minutes(1)))
    func notReadyFirstOnShutdown() async throws {
        let server = try NATSServerProcess()
        let sidecar = try await RunningSidecar.start(natsURL: server.url) { $0.shutdownTimeoutSeconds = 10 }
        try await waitUntil("ready", timeout: 15) { try await sidecar.get("/ready").status == 200 }
        // Hold the ingest thread inside a callback so the drain cannot finish.
        let gate = DispatchSemaphore(value: 0)
        let entered = Atomic<Int>(0)
        sidecar.runtime.ingest.watch.setHookForTesting {
            entered.add(1, ordering: .relaxed)
            gate.wait()
        }
        try await offloaded { try publishSynthetic(server.url, count: 3) }
        try await waitUntil("callback entered", timeout: 10) { entered.load(ordering: .relaxed) >= 1 }

        let stopping = Task { try await sidecar.stop() }
        try await waitUntil("not ready", timeout: 10) { try await sidecar.get("/ready").status == 503 }
        let (_, body, _) = try await sidecar.readyChecks()
        #expect(body["shutting_down"] as? Bool == true)
        #expect(sidecar.runtime.stats.processed.value == 0, "ingest is still held")
        // The socket no longer accepts connections: the listener is closed (which unlinks its file).
        let socketPath = try #require(sidecar.socketPath)
        try await waitUntil("socket closed to new clients", timeout: 10) {
            await sidecar.runtime.readyCheck("socket_listening")?.ok == false
        }
        #expect(!FileManager.default.fileExists(atPath: socketPath))
        #expect(throws: (any Error).self) { try SocketTestClient(path: socketPath, receiveTimeout: 1) }

        sidecar.runtime.ingest.watch.setHookForTesting(nil)
        gate.signal()
        try await stopping.value
        // The drain let the held message and those queued behind it finish.
        #expect(sidecar.runtime.stats.processed.value == 3)
    }

    @Test("while NATS is down signals go to the reconnect buffer; those that overflow it are counted as lost in stats and metrics",
          .timeLimit(.minutes(1)))
    func lostSignalsAreCounted() async throws {
        let server = try NATSServerProcess()
        let sidecar = try await RunningSidecar.start(natsURL: server.url) { $0.reconnectBufferBytes = 4096 }
        try await waitUntil("ready", timeout: 15) { sidecar.runtime.ingest.isReady }
        try await offloaded { server.stop() }
        try await waitUntil("disconnected", timeout: 15) { !sidecar.runtime.client.isConnected }
        let publisher = SignalPublisher(client: sidecar.runtime.client, subjects: try SignalSubjectTemplate("signals.trading"),
                                        source: "test", stats: sidecar.runtime.stats, logger: Logger(label: "test"))
        for i in 0..<20 {
            publisher.publish(Signal(strategyId: "orderbook_skew", key: SymbolKey(venue: .spot, symbol: "BTCUSDT"),
                                     action: .buy, confidence: 0.8, price: 100, currentPrice: 100.5,
                                     eventTimeMs: 1_700_000_000_000 + Int64(i), reasoning: "buffer test"))
        }
        let published = sidecar.runtime.stats.signalsPublished["orderbook_skew"]?.value ?? 0
        let lost = sidecar.runtime.stats.signalsLost.value
        #expect(published > 0, "the first signals fit in the reconnect buffer")
        #expect(lost > 0 && published + lost == 20, "published \(published), lost \(lost)")
        let signals = try #require(try await sidecar.getJSON("/api/v1/stats").object["signals"] as? [String: Any])
        #expect(signals["lost"] as? Int == lost)
        let m = try await sidecar.metrics()
        #expect(m.value("realtime_signals_lost_total") == Double(lost))
        #expect(m.value("realtime_errors_total", ["error_type": "publish_error"]) == Double(lost))
        #expect(m.value("realtime_nats_connected") == 0)
        #expect((m.value("realtime_nats_disconnects_total") ?? 0) >= 1)

        // Reconnected: counted, and connected again.
        try await offloaded { try server.start() }
        try await waitUntil("reconnected", timeout: 20) { sidecar.runtime.client.isConnected }
        let after = try await sidecar.metrics()
        #expect((after.value("realtime_nats_reconnects_total") ?? 0) >= 1)
        #expect(after.value("realtime_nats_connected") == 1)
        try await sidecar.stop()
    }
}

extension SidecarRuntime {
    /// One readiness check's result, for tests.
    func readyCheck(_ name: String) async -> CheckResult? {
        readiness.evaluate().results.first { $0.name == name }?.result
    }
}
