import Foundation
import NIOCore
import Testing
@_spi(Benchmarks) @testable import Sidecar
import Strategies

@Suite("Socket codec")
struct SocketCodecTests {
    static func sampleSignal() -> SocketProtocol.Signal {
        var s = SocketProtocol.Signal()
        s.seq = 42
        s.id = "0f0e0d0c-0b0a-5908-8706-050403020100"
        s.strategyId = "orderbook_skew"
        s.symbol = "BTCUSDT"
        s.venue = "spot"
        s.action = .sell
        s.confidence = 0.85
        s.strength = "strong"
        s.price = 50_000.5
        s.currentPrice = 50_001.25
        s.quantity = 0.002
        s.stopLoss = 51_000
        s.takeProfit = 47_500
        s.stopLossPct = 0.02
        s.takeProfitPct = 0.05
        s.eventTimeMs = 1_767_225_600_123
        s.timeframe = "tick"
        s.reasoning = "bid/ask ratio 0.5 — ünïcode"
        s.indicators = [.init(name: "ratio", value: 0.5), .init(name: "spread_pct", value: 0.01)]
        s.metadataJSON = #"{"ratio":0.5,"reasoning":"x"}"#
        return s
    }

    static func sampleDepth(levels: Bool) -> SocketProtocol.DepthMetrics {
        var d = SocketProtocol.DepthMetrics()
        d.symbol = "ETHUSDT"
        d.venue = "usdm"
        d.eventTimeMs = 1_767_225_600_000
        d.imbalanceRatio = 0.1234
        d.imbalancePercent = 12.34
        d.bidVolume = 10.5
        d.askVolume = 8.25
        d.buyPressure = 56.0
        d.sellPressure = 44.0
        d.netPressure = 12.0
        d.interpretation = "neutral"
        d.totalLiquidity = 18.75
        d.bidDepth5 = 5
        d.askDepth5 = 4
        d.bidDepth10 = 9
        d.askDepth10 = 8
        d.bestBid = 3000.1
        d.bestAsk = 3000.2
        d.spreadAbs = 0.1
        d.spreadBps = 0.33
        d.midPrice = 3000.15
        d.vwapBid = 2999.5
        d.vwapAsk = 3000.9
        d.vwapSpread = 1.4
        d.bidLevels = 20
        d.askLevels = 19
        d.hasStrongestBid = true
        d.strongestBidPrice = 2999
        d.strongestBidVolume = 3.5
        d.hasStrongestAsk = false
        d.trend = "bullish"
        if levels {
            d.bidPrices = [3000.1, 3000.0]
            d.bidQuantities = [1, 2.5]
            d.askPrices = [3000.2]
            d.askQuantities = [0.75]
        }
        return d
    }

    static let requests: [SocketRequest] = [
        .hello(.init(protocolVersion: 1, clientName: "tradeengine/1.4")),
        .getSignals(.init(afterSeq: 17, max: 250, symbols: ["BTCUSDT", "ETHUSDT"], strategies: ["orderbook_skew"])),
        .subscribe(.init(stream: .signals, symbols: ["BTCUSDT"], strategies: ["a", "b"], afterSeq: 99)),
        .subscribe(.init(stream: .depth, symbols: ["ETHUSDT"], minIntervalMs: 250, venue: "usdm")),
        .unsubscribe(subscriptionId: 7),
        .getDepthMetrics(.init(symbol: "BTCUSDT", venue: "spot", includeLevels: true)),
        .listDepthMetrics({
            var v = SocketProtocol.ListDepthMetrics()
            v.symbols = ["A", "B"]
            v.minPressure = -12.5
            v.maxPressure = 0
            v.trend = "bullish"
            v.limit = 20
            v.offset = 40
            v.sortBy = "pressure"
            v.sortOrder = "desc"
            v.venue = "usdm"
            return v
        }()),
        .listDepthMetrics(.init()),
        .getPressureHistory(.init(symbol: "BTCUSDT", timeframe: "15m", venue: "spot")),
        .getMarketSummary(venue: "usdm"),
        .getStats,
        .healthCheck,
        .unknown,
    ]

    static let responses: [SocketResponse] = [
        .error(.invalidArgument, "bad timeframe", details: ["field": "timeframe", "value": "2m"]),
        .error(.badFrame, ""),
        .hello(.init(protocolVersion: 1, serverVersion: "0.1.0", capabilities: ["signals", "depth"],
                     strategies: ["orderbook_skew"], venues: ["spot", "usdm"], maxFrameBytes: 4 << 20, lastSignalSeq: 12)),
        .signals(.init(signals: [sampleSignal(), SocketProtocol.Signal()], nextSeq: 43, truncated: true, oldestSeq: 3)),
        .signals(.init()),
        .subscribed(subscriptionId: 5),
        .unsubscribed(subscriptionId: 5),
        .depthMetrics(sampleDepth(levels: true)),
        .depthMetricsPage({
            var page = SocketProtocol.DepthMetricsPage()
            page.metrics = [sampleDepth(levels: false), sampleDepth(levels: true)]
            page.total = 120
            page.limit = 50
            page.offset = 50
            page.page = 2
            page.pages = 3
            page.hasNext = true
            page.hasPrevious = true
            return page
        }()),
        .pressureHistory({
            var h = SocketProtocol.PressureHistory()
            h.symbol = "BTCUSDT"
            h.venue = "spot"
            h.timeframe = "5m"
            h.avgPressure = 1.5
            h.maxPressure = 30
            h.minPressure = -40.25
            h.trend = "bearish"
            h.trendStrength = 0.75
            h.totalDataPoints = 300
            h.timeMs = [1, 2, -3]
            h.pressure = [1.5, -2]
            h.imbalance = [0.1234]
            return h
        }()),
        .marketSummary({
            var m = SocketProtocol.MarketSummary()
            m.timeMs = 1_767_225_600_000
            m.symbolsTracked = 10
            m.bullishSymbols = 3
            m.bearishSymbols = 2
            m.neutralSymbols = 5
            m.avgNetPressure = 1.25
            m.avgImbalanceRatio = -0.01
            m.avgSpreadBps = 2.5
            m.totalLiquidity = 1e6
            m.highestBuyPressure = ["A", "B"]
            m.highestSellPressure = ["C"]
            return m
        }()),
        .stats({
            var s = SocketProtocol.Stats()
            s.messagesReceived = 100
            s.messagesProcessed = 98
            s.messagesRejected = 2
            s.rejectedByReason = [.init(name: "malformed_json", value: 2)]
            s.messagesByKind = [.init(name: "partial_depth", value: 50), .init(name: "trade", value: 48)]
            s.signalsGenerated = [.init(name: "orderbook_skew", value: 4)]
            s.signalsPublished = [.init(name: "orderbook_skew", value: 3)]
            s.slowConsumerDropped = 1
            s.symbolsTracked = 5
            s.natsConnected = true
            s.lastSignalSeq = 3
            s.socketClients = 2
            s.socketEventsDropped = 10
            s.socketGaps = 1
            s.lastEventTimeMs = 1_767_225_600_000
            s.uptimeSeconds = 12.5
            return s
        }()),
        .health(.init(live: true, ready: false, natsConnected: true, natsSubscribed: false, version: "0.1.0")),
        .signalEvent(sampleSignal()),
        .depthEvent(seq: 9, metrics: sampleDepth(levels: true)),
        .gap(.init(subscriptionId: 4, fromSeq: 10, toSeq: 20, stream: .signals)),
        .gap(.init(subscriptionId: 4, fromSeq: 1, toSeq: 2, stream: .depth)),
        .goodbye(reason: "server shutting down"),
    ]

    @Test("every request survives an encode/decode round trip, id included")
    func requestRoundTrips() throws {
        for (i, request) in Self.requests.enumerated() {
            var bytes: [UInt8] = []
            let id = UInt64(i) * 1_000_003 + 1
            SocketCodec.encodeRequest(request, id: id, into: &bytes)
            if request == .unknown {
                // An empty oneof encodes only the id.
                let (decodedId, decoded) = try bytes.withUnsafeBytes { try SocketCodec.decodeRequest($0) }
                #expect(decodedId == id)
                #expect(decoded == .unknown)
                continue
            }
            let (decodedId, decoded) = try bytes.withUnsafeBytes { try SocketCodec.decodeRequest($0) }
            #expect(decodedId == id)
            #expect(decoded == request, "request \(i)")
        }
    }

    @Test("every response survives an encode/decode round trip, id included")
    func responseRoundTrips() throws {
        for (i, response) in Self.responses.enumerated() {
            var bytes: [UInt8] = []
            let id = UInt64.max - UInt64(i)
            SocketCodec.encode(response, id: id, into: &bytes)
            let (decodedId, decoded) = try bytes.withUnsafeBytes { try SocketCodec.decodeResponse($0) }
            #expect(decodedId == id)
            #expect(decoded == response, "response \(i)")
        }
    }

    @Test("encodeFrame writes the big-endian length and the same bytes as encode")
    func frameMatchesEncode() throws {
        for response in Self.responses {
            var plain: [UInt8] = []
            SocketCodec.encode(response, id: 9, into: &plain)
            var buffer = ByteBufferAllocator().buffer(capacity: 16)
            SocketCodec.encodeFrame(response, id: 9, into: &buffer)
            let framed = buffer.readBytes(length: buffer.readableBytes) ?? []
            #expect(SocketFraming.length(ofHeader: framed) == plain.count)
            #expect(Array(framed.dropFirst(4)) == plain)
        }
    }

    @Test("empty, oversized and garbage input is a typed error, never a crash")
    func badInput() throws {
        #expect(throws: SocketProtocolError.emptyFrame) {
            try [UInt8]().withUnsafeBytes { try SocketCodec.decodeRequest($0) }
        }
        let big = [UInt8](repeating: 0x0A, count: 2048)
        #expect(throws: SocketProtocolError.frameTooLarge(length: 2048, maximum: 1024)) {
            try big.withUnsafeBytes { try SocketCodec.decodeRequest($0, maxBytes: 1024) }
        }
        for garbage: [UInt8] in [[0xFF], [0xFF, 0xFF, 0xFF, 0xFF], [0x0A, 0x7F], [0x08], Array("hello world".utf8)] {
            #expect(throws: SocketProtocolError.undecodable(length: garbage.count), "\(garbage)") {
                try garbage.withUnsafeBytes { try SocketCodec.decodeRequest($0) }
            }
        }
        // Random bytes: any result is fine except a crash.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let bytes = (0..<Int.random(in: 1...64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? bytes.withUnsafeBytes { try SocketCodec.decodeRequest($0) }
            _ = try? bytes.withUnsafeBytes { try SocketCodec.decodeResponse($0) }
        }
    }

    @Test("unknown fields are ignored and an unknown call decodes as unknown")
    func unknownFields() throws {
        var bytes: [UInt8] = []
        SocketCodec.encodeRequest(.getSignals(.init(afterSeq: 5, max: 10)), id: 3, into: &bytes)
        // Field 99 (varint 150) and field 98 (length-delimited "xy") appended.
        bytes += [0x98, 0x06, 0x96, 0x01, 0x92, 0x06, 0x02, 0x78, 0x79]
        let (id, request) = try bytes.withUnsafeBytes { try SocketCodec.decodeRequest($0) }
        #expect(id == 3)
        #expect(request == .getSignals(.init(afterSeq: 5, max: 10)))

        // id = 8, then field 50 (a call this server does not know) as an empty message.
        let future: [UInt8] = [0x08, 0x08, 0x92, 0x03, 0x00]
        let (futureId, futureRequest) = try future.withUnsafeBytes { try SocketCodec.decodeRequest($0) }
        #expect(futureId == 8)
        #expect(futureRequest == .unknown)
    }

    @Test("book levels are packed repeated doubles")
    func packedLevels() {
        var d = SocketProtocol.DepthMetrics()
        d.bidPrices = [1, 2, 3]
        var bytes: [UInt8] = []
        SocketCodec.encode(.depthMetrics(d), id: 0, into: &bytes)
        // Response.depth_metrics (14) → DepthMetrics.bid_prices (33), wire type 2, 24 bytes.
        let packed: [UInt8] = [0x8A, 0x02, 0x18]
        #expect(bytes.firstRange(of: packed) != nil, "bid_prices is not packed: \(bytes)")
    }

    @Test("a socket signal carries the id, quantity, stop-loss, take-profit and metadata published on NATS")
    func signalMatchesNATS() throws {
        let signals = [
            Signal(strategyId: "orderbook_skew", key: SymbolKey(venue: .spot, symbol: "BTCUSDT"), action: .buy,
                   confidence: 0.73, price: 50_000, currentPrice: 50_010, eventTimeMs: 1_767_225_600_000,
                   reasoning: "skew \"quoted\"", indicators: [("ratio", 1.4)],
                   metadata: [("ratio", .double(1.4)), ("note", .string("a}b{")), ("venue", .string("ignored"))],
                   sequence: 7),
            Signal(strategyId: "orderbook_skew", key: SymbolKey(venue: .usdm, symbol: "ETHUSDT"), action: .hold,
                   confidence: 1.5, price: 3000, currentPrice: 3000, quantity: 0.5, stopLoss: 2900,
                   eventTimeMs: 1_767_225_600_500, reasoning: "r", sequence: 8),
        ]
        for signal in signals {
            var json: [UInt8] = []
            TradeEngineSignalEncoder().encode(signal, into: &json)
            let nats = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
            let socket = SocketMapping.signal(signal)
            #expect(socket.seq == signal.sequence)
            #expect(socket.id == nats["id"] as? String)
            #expect(socket.quantity == nats["quantity"] as? Double)
            #expect(socket.confidence == nats["confidence"] as? Double)
            #expect(socket.strength == nats["strength"] as? String)
            #expect(socket.stopLoss == (nats["stop_loss"] as? Double ?? 0))
            #expect(socket.takeProfit == (nats["take_profit"] as? Double ?? 0))
            #expect(socket.stopLossPct == nats["stop_loss_pct"] as? Double)
            #expect(socket.takeProfitPct == nats["take_profit_pct"] as? Double)
            let metadata = try #require(try JSONSerialization.jsonObject(with: Data(socket.metadataJSON.utf8)) as? NSDictionary)
            #expect(metadata == nats["metadata"] as? NSDictionary)
            #expect(socket.indicators.map(\.name) == signal.indicators.map(\.0))
        }
    }
}
