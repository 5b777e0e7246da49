import Foundation
@testable import NATS
import Synchronization
import Testing
@testable import Sidecar
import Strategies

/// Signals captured from NATS with their subject and `Nats-Msg-Id` header.
final class SignalCapture: Sendable {
    struct Captured: Sendable {
        var subject: String
        var messageId: String?
        var payload: [UInt8]
    }

    private let captured = Mutex<[Captured]>([])
    var all: [Captured] { captured.withLock { $0 } }

    func record(_ view: NATSMessageView) {
        let entry = Captured(subject: view.subjectString, messageId: view.header("Nats-Msg-Id"), payload: Array(view.payload))
        captured.withLock { $0.append(entry) }
    }
}

/// The trade engine's `Signal` contract (wire-contracts §B3/B4): what it needs to accept a message.
func checkTradeEngineContract(_ signal: SignalCapture.Captured) throws {
    let object = try #require(try JSONSerialization.jsonObject(with: Data(signal.payload)) as? [String: Any])
    for field in ["strategy_id", "symbol", "source", "strategy", "action", "strength", "timeframe", "timestamp"] {
        #expect(object[field] is String, "\(field) must be a string")
    }
    for field in ["confidence", "price", "quantity", "current_price", "stop_loss", "take_profit",
                  "stop_loss_pct", "take_profit_pct"] {
        #expect(object[field] is Double || object[field] is Int, "\(field) must be a number")
    }
    #expect(["buy", "sell", "hold", "close"].contains(object["action"] as? String ?? ""))
    #expect(["weak", "medium", "strong", "extreme"].contains(object["strength"] as? String ?? ""))
    let confidence = try #require(object["confidence"] as? Double)
    #expect(confidence >= 0.6 && confidence <= 1, "below SIGNAL_MIN_CONFIDENCE or out of range")
    for pct in ["stop_loss_pct", "take_profit_pct"] {
        let value = try #require(object[pct] as? Double)
        #expect(value >= 0 && value <= 1)
    }
    #expect((object["quantity"] as? Double ?? 0) > 0)
    #expect(object["metadata"] is [String: Any])
    let timestamp = try #require(object["timestamp"] as? String)
    let isoMillisZ = try Regex(#"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"#)
    #expect(timestamp.wholeMatch(of: isoMillisZ) != nil, "timestamp \(timestamp)")
    let id = try #require(object["id"] as? String)
    #expect(object["signal_id"] as? String == id)
    #expect(signal.messageId == id, "Nats-Msg-Id header must carry the signal id")
    #expect(signal.subject == "signals.trading.\(object["strategy_id"] as? String ?? "")")
}

@Suite("Ingest on a real nats-server", .serialized)
struct IngestIntegrationTests {
    @Test("a replayed recording is fully accounted for, served over HTTP, and yields contract-valid signals")
    func replayEndToEnd() async throws {
        guard let replay = SharedReplay.file("spot_10symbols_20210405.nats.jsonl.gz") else { return }
        let server = try NATSServerProcess()
        let sidecar = try await RunningSidecar.start(natsURL: server.url) {
            $0.publisherTopic = "signals.trading.{strategy_id}"
        }
        try await waitUntil("sidecar ready", timeout: 15) { sidecar.runtime.ingest.isReady }
        #expect(try await sidecar.get("/ready").status == 200)

        let listener = try NATSClient(options: NATSClientOptions(url: server.url, name: "test-listener"))
        let capture = SignalCapture()
        _ = try listener.subscribe(subject: "signals.trading.>") { capture.record($0) }
        try listener.flush(timeoutMs: 5000)

        // Publish the recording and remember what it holds.
        let publisher = try NATSClient(options: NATSClientOptions(url: server.url, name: "test-replay"))
        var sent = 0
        var depthSymbols = Set<String>()
        _ = try LineReader(path: replay.path).forEachLine { line in
            try publisher.publish(subject: "binance.websocket.data", payload: line)
            sent += 1
            if let range = line.firstRange(of: Array(#"@depth20"#.utf8)),
               let start = line.firstRange(of: Array(#""stream":""#.utf8)) {
                depthSymbols.insert(String(decoding: line[start.upperBound..<range.lowerBound], as: UTF8.self).uppercased())
            }
        }
        try publisher.flush(timeoutMs: 10_000)
        #expect(sent == 16_786)

        let stats = sidecar.runtime.stats
        try await waitUntil("all \(sent) messages received", timeout: 60) { stats.received.value >= sent }
        #expect(stats.received.value == sent)
        #expect(stats.processed.value + stats.rejected.value == sent)
        #expect(sidecar.runtime.ingest.droppedMessages == 0)
        // The replay holds only well-formed frames of known kinds.
        #expect(stats.rejected.value == 0)
        #expect(stats.kind(.partialDepth).value == 4_642)
        #expect(stats.kind(.bookTicker).value == 5_408)
        #expect(stats.kind(.diffDepth).value == 4_709)
        #expect(stats.kind(.aggTrade).value == 1_240)
        #expect(stats.kind(.ticker).value == 787)

        // The metrics endpoints answer for every symbol that had a book.
        #expect(depthSymbols.count == 10)
        for symbol in depthSymbols.sorted() {
            let (status, depth) = try await sidecar.getJSON("/api/v1/metrics/depth/\(symbol.lowercased())")
            #expect(status == 200, "depth for \(symbol)")
            #expect(depth["symbol"] as? String == symbol)
            let spread = try #require(depth["spread"] as? [String: Any])
            #expect((spread["best_bid"] as? Double ?? 0) > 0)
            #expect((spread["best_bid"] as? Double ?? 0) < (spread["best_ask"] as? Double ?? 0))
            let (pressureStatus, pressure) = try await sidecar.getJSON("/api/v1/metrics/pressure/\(symbol)?timeframe=15m")
            #expect(pressureStatus == 200)
            #expect((pressure["total_data_points"] as? Int ?? 0) > 0)
        }
        let (allStatus, all) = try await sidecar.getJSON("/api/v1/metrics/all?limit=200")
        #expect(allStatus == 200)
        #expect((all["data"] as? [String: Any])?.count == depthSymbols.count)
        #expect(try await sidecar.getJSON("/api/v1/metrics/summary").object["symbols_tracked"] as? Int == depthSymbols.count)
        #expect(try await sidecar.get("/api/v1/metrics/depth/NOPEUSDT").status == 404)
        #expect(try await sidecar.get("/api/v1/metrics/pressure/BTCUSDT?timeframe=2m").status == 400)
        #expect(try await sidecar.get("/api/v1/metrics/all?limit=0").status == 422)
        let (_, statsJSON) = try await sidecar.getJSON("/api/v1/stats")
        #expect((statsJSON["messages"] as? [String: Any])?["received"] as? Int == sent)
        // The socket's counters are served too (no socket client in this test).
        let socketStats = try #require(statsJSON["socket"] as? [String: Any])
        #expect(socketStats["clients"] as? Int == 0)
        #expect(socketStats["requests"] is [String: Any])

        // Every published signal reaches NATS and passes the trade engine's contract.
        let published = stats.signalsPublished.values.reduce(0) { $0 + $1.value }
        #expect(published > 0, "the replay should produce orderbook_skew signals")
        try await waitUntil("\(published) signals on NATS", timeout: 10) { capture.all.count >= published }
        #expect(capture.all.count == published)
        for signal in capture.all { try checkTradeEngineContract(signal) }

        listener.close(drainTimeoutMs: 1000)
        publisher.close(drainTimeoutMs: 1000)
        try await sidecar.stop()
    }

    @Test("readiness follows NATS: 503 while the server is down, 200 once it is up, and processing starts")
    func readinessFollowsNATS() async throws {
        let server = try NATSServerProcess(start: false)
        let sidecar = try await RunningSidecar.start(natsURL: server.url)
        #expect(try await sidecar.get("/healthz").status == 200)
        #expect(try await sidecar.get("/ready").status == 503)

        try server.start()
        try await waitUntil("ready after NATS comes up", timeout: 15) { try await sidecar.get("/ready").status == 200 }
        let publisher = try NATSClient(options: NATSClientOptions(url: server.url, name: "test-feed"))
        var market = SyntheticMarket(.init())
        for _ in 0..<200 { try publisher.publish(subject: "binance.websocket.data", bytes: market.next().payload) }
        try publisher.flush(timeoutMs: 5000)
        try await waitUntil("200 messages processed", timeout: 15) { sidecar.runtime.stats.processed.value == 200 }
        publisher.close(drainTimeoutMs: 1000)

        // The server goes away and comes back: each disconnect and reconnect is counted.
        func nats() async throws -> [String: Any] {
            try #require(try await sidecar.getJSON("/api/v1/stats").object["nats"] as? [String: Any])
        }
        #expect(try await nats()["disconnects"] as? Int == 0)
        #expect(try await nats()["reconnects"] as? Int == 0)
        try await offloaded { server.stop() }
        try await waitUntil("503 while NATS is down", timeout: 15) { try await sidecar.get("/ready").status == 503 }
        #expect(try await nats()["disconnects"] as? Int == 1)
        try await offloaded { try server.start() }
        try await waitUntil("ready after NATS is back", timeout: 20) { try await sidecar.get("/ready").status == 200 }
        let counters = try await nats()
        #expect(counters["reconnects"] as? Int == 1 && counters["disconnects"] as? Int == 1, "\(counters)")
        let metrics = try PrometheusText(try await sidecar.get("/metrics").text)
        #expect(metrics.value("realtime_nats_disconnects_total") == 1)
        #expect(metrics.value("realtime_nats_reconnects_total") == 1)
        #expect(metrics.value("realtime_nats_connected") == 1)
        try await sidecar.stop()
    }

    @Test("a venue-tagged subject keeps spot and usdm books of the same symbol apart")
    func venueTaggedSubjects() async throws {
        let server = try NATSServerProcess()
        let sidecar = try await RunningSidecar.start(natsURL: server.url) {
            $0.consumerSubjects = [ConsumerSubject(subject: "spot.data", venue: .spot),
                                   ConsumerSubject(subject: "perp.data", venue: .usdm)]
        }
        try await waitUntil("ready", timeout: 15) { sidecar.runtime.ingest.isReady }
        let publisher = try NATSClient(options: NATSClientOptions(url: server.url, name: "test-feed"))
        func book(_ bid: Double) -> [UInt8] {
            Array(#"{"stream":"btcusdt@depth20@100ms","data":{"lastUpdateId":1,"bids":[["\#(bid)","1"]],"asks":[["\#(bid + 1)","1"]]}}"#.utf8)
        }
        try publisher.publish(subject: "spot.data", bytes: book(100))
        try publisher.publish(subject: "perp.data", bytes: book(200))
        try publisher.flush(timeoutMs: 5000)
        try await waitUntil("both books processed", timeout: 10) { sidecar.runtime.stats.processed.value == 2 }
        let spot = try await sidecar.getJSON("/api/v1/metrics/depth/BTCUSDT").object["spread"] as? [String: Any]
        let perp = try await sidecar.getJSON("/api/v1/metrics/depth/BTCUSDT?venue=usdm").object["spread"] as? [String: Any]
        #expect(spot?["best_bid"] as? Double == 100)
        #expect(perp?["best_bid"] as? Double == 200)
        #expect(try await sidecar.get("/api/v1/metrics/depth/BTCUSDT?venue=moon").status == 400)
        publisher.close(drainTimeoutMs: 1000)
        try await sidecar.stop()
    }
}
