import Foundation
@testable import NATS
import Testing
@testable import Sidecar
import Strategies

@Suite("External feeds on a real nats-server", .serialized)
struct FeedIntegrationTests {
    static let hour: Int64 = 3_600_000
    static let t0: Int64 = 1_767_225_600_000

    static func trade(_ symbol: String, price: Double, at timeMs: Int64) -> [UInt8] {
        Array(#"{"stream":"\#(symbol.lowercased())@trade","data":{"e":"trade","E":\#(timeMs),"s":"\#(symbol)","t":1,"p":"\#(price)","q":"0.5","T":\#(timeMs),"m":false,"M":true}}"#.utf8)
    }

    @Test("reference prices and on-chain metrics published on NATS lead to signals on the configured subject")
    func feedsProduceSignals() async throws {
        let server = try NATSServerProcess()
        let sidecar = try await RunningSidecar.start(natsURL: server.url) {
            $0.publisherTopic = "signals.trading.{strategy_id}"
            $0.engine.strategies.enabled = [CrossExchangeSpread.id, OnchainMetrics.id]
        }
        try await waitUntil("ready", timeout: 15) { sidecar.runtime.ingest.isReady }
        let listener = try NATSClient(options: NATSClientOptions(url: server.url, name: "test-listener"))
        let capture = SignalCapture()
        _ = try listener.subscribe(subject: "signals.trading.>") { capture.record($0) }
        try listener.flush(timeoutMs: 5000)

        let feed = try NATSClient(options: NATSClientOptions(url: server.url, name: "test-feed"))
        let last = Self.t0 + 24 * Self.hour
        // Binance BTCUSDT at 50,000; Coinbase 1.6 % richer → buy Binance (confidence 0.8).
        try feed.publish(subject: "binance.websocket.data", bytes: Self.trade("BTCUSDT", price: 50_000, at: last - 1000))
        try feed.publish(subject: "reference.prices",
                         bytes: Array(#"{"venue":"coinbase","symbol":"BTC-USD","price":50800,"ts":\#(last - 900)}"#.utf8))
        // A day of hourly BTC metrics with strong address and volume growth (the seed's fixture).
        for i in 0..<25 {
            let metrics = #"{"asset":"BTC","ts":\#(Self.t0 + Int64(i) * Self.hour),"active_addresses":\#(1_000_000 + i * 10_000),"transaction_volume":\#(500_000 + i * 20_000),"hash_rate":\#(200 + i),"exchange_inflow":1500,"exchange_outflow":2500}"#
            try feed.publish(subject: "onchain.metrics", bytes: Array(metrics.utf8))
        }
        try feed.publish(subject: "reference.prices", bytes: Array(#"{"venue":"coinbase","price":"x"}"#.utf8))
        try feed.flush(timeoutMs: 5000)

        try await waitUntil("two signals", timeout: 15) { capture.all.count >= 2 }
        let bySubject = Dictionary(grouping: capture.all, by: \.subject)
        #expect(bySubject["signals.trading.cross_exchange_spread"]?.count == 1)
        #expect(bySubject["signals.trading.onchain_metrics"]?.count == 1)
        for signal in capture.all { try checkTradeEngineContract(signal) }
        let cross = try #require(bySubject["signals.trading.cross_exchange_spread"]?.first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(cross.payload)) as? [String: Any])
        #expect(object["action"] as? String == "buy")
        #expect(object["symbol"] as? String == "BTCUSDT")
        #expect(object["price"] as? Double == 50_000)
        try await waitUntil("feed messages counted", timeout: 5) { sidecar.runtime.stats.feedMessages.value == 27 }
        #expect(sidecar.runtime.stats.feedRejected.value == 1)
        let info = try await sidecar.getJSON("/info").object
        let strategies = try #require(info["strategies"] as? [String: Any])
        #expect(strategies["enabled"] as? [String] == [CrossExchangeSpread.id, OnchainMetrics.id])
        #expect(strategies["available"] as? [String] == StrategySettings.allIds)
        let endpoints = try #require(try await sidecar.getJSON("/").object["endpoints"] as? [String: String])
        #expect(endpoints["readiness"] == "/ready")

        listener.close(drainTimeoutMs: 1000)
        feed.close(drainTimeoutMs: 1000)
        try await sidecar.stop()
    }
}
