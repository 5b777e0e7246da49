import Testing
@testable import Strategies

/// Collects what the engine emits.
final class CollectingSink: SignalSink {
    var signals: [Signal] = []
    func emit(_ signal: Signal) { signals.append(signal) }
}

/// Builds upstream envelope frames for engine tests.
enum Frames {
    static func depth20(_ symbol: String, bids: [(Double, Double)], asks: [(Double, Double)], timeMs: Int64) -> String {
        func levels(_ l: [(Double, Double)]) -> String { l.map { "[\"\($0.0)\",\"\($0.1)\"]" }.joined(separator: ",") }
        // Spot partial depth has no E; the envelope timestamp carries the time.
        return #"{"stream":"\#(symbol.lowercased())@depth20@100ms","data":{"lastUpdateId":1,"bids":[\#(levels(bids))],"asks":[\#(levels(asks))]},"timestamp":"\#(formatISO8601Millis(timeMs))","message_id":"m","source":"binance-websocket","version":"1.0"}"#
    }

    static func balancedBook(_ symbol: String, timeMs: Int64, bidQty: Double = 1, askQty: Double = 1) -> String {
        depth20(symbol, bids: (0..<20).map { (100 - 0.01 * Double($0), bidQty) },
                asks: (0..<20).map { (100.01 + 0.01 * Double($0), askQty) }, timeMs: timeMs)
    }
}

extension Engine {
    /// Receive time after every test frame's event time (a later one would be `event_time_in_future`).
    func ingest(_ text: String, receiveTimeMs: Int64 = 4_102_444_800_000) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { ingest(UnsafeRawBufferPointer($0), subjectVenue: nil, receiveTimeMs: receiveTimeMs) }
    }
}

@Suite("Engine")
struct EngineTests {
    func makeEngine(_ configure: (inout EngineConfiguration) -> Void = { _ in }) -> (Engine, CollectingSink, DepthBoard) {
        var configuration = EngineConfiguration()
        // Only orderbook_skew, so each test knows which strategy a signal came from.
        configuration.strategies.enabled = [OrderbookSkew.id]
        // These tests feed partial books for several symbols with true labels.
        configuration.book.attribution = .label
        configure(&configuration)
        let sink = CollectingSink()
        let board = DepthBoard(historySeconds: 900, ttlSeconds: 300)
        let engine = Engine(configuration: configuration, board: board,
                            stats: IngestStats(strategyIds: configuration.enabledStrategyIds), sink: sink)
        return (engine, sink, board)
    }

    @Test("a partial book publishes the seed's depth metrics for its symbol")
    func publishesDepthMetrics() throws {
        let (engine, _, board) = makeEngine()
        let bids: [(Double, Double)] = [(100, 1.0), (99.5, 2.0), (99, 1.5)]
        let asks: [(Double, Double)] = [(100.5, 0.5), (101, 1.0), (101.5, 0.8)]
        engine.ingest(Frames.depth20("BTCUSDT", bids: bids, asks: asks, timeMs: 1_704_110_400_000))
        let cell = try #require(board.cell(SymbolKey(venue: .spot, symbol: "BTCUSDT"), nowMs: 1))
        let metrics = try #require(cell.read { $0.metrics })
        // Golden "basic3" (inventory §5.5).
        #expect(metrics.imbalanceRatio == 0.3235294117647059)
        #expect(metrics.spreadBps == 49.87531172069826)
        #expect(metrics.vwapAsk == 101.06521739130434)
        #expect(metrics.eventTimeMs == 1_704_110_400_000)
        #expect(engine.stats.processed.value == 1)
        #expect(engine.stats.kind(.partialDepth).value == 1)
    }

    @Test("every message is either processed or rejected, and a bad one does not stop the next")
    func accountsForEveryMessage() {
        let (engine, _, _) = makeEngine()
        let inputs = [
            Frames.balancedBook("BTCUSDT", timeMs: 1000),
            "{not json",
            #"{"stream":"btcusdt@miniTicker","data":{"s":"BTCUSDT"}}"#,
            Frames.depth20("ETHUSDT", bids: [(101, 1)], asks: [(100, 1)], timeMs: 2000),  // crossed
            #"{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1,"s":"BTCUSDT","k":{}}}"#,
            Frames.balancedBook("BTCUSDT", timeMs: 3000),
        ]
        for input in inputs { engine.ingest(input) }
        let stats = engine.stats
        #expect(stats.received.value == 6)
        #expect(stats.processed.value + stats.rejected.value == 6)
        #expect(stats.rejected.value == 3)
        #expect(stats.rejected(.malformedJSON).value == 1)
        #expect(stats.rejected(.unknownStream).value == 1)
        #expect(stats.rejected(.crossedBook).value == 1)
        #expect(stats.kind(.kline).value == 1)
        #expect(stats.kind(.partialDepth).value == 2)
    }

    @Test("the rejection hook sees each rejected payload with its reason, and nothing else")
    func rejectionHook() {
        let (engine, _, _) = makeEngine()
        var seen: [(RejectReason, String)] = []
        engine.onRejected = { reason, payload in seen.append((reason, String(decoding: payload, as: UTF8.self))) }
        engine.ingest(Frames.balancedBook("BTCUSDT", timeMs: 1000))
        engine.ingest("[1,2")
        #expect(seen.count == 1)
        #expect(seen.first?.0 == .malformedJSON)
        #expect(seen.first?.1 == "[1,2")
    }

    @Test("symbols outside TRADING_SYMBOLS are counted and skipped")
    func allowListFilters() {
        let (engine, _, board) = makeEngine { $0.allowedSymbols = ["ETHUSDT"] }
        engine.ingest(Frames.balancedBook("BTCUSDT", timeMs: 1000))
        engine.ingest(Frames.balancedBook("ETHUSDT", timeMs: 1000))
        #expect(engine.stats.filteredSymbols.value == 1)
        #expect(engine.stats.processed.value == 2)
        #expect(board.count == 1)
        #expect(engine.trackedSymbols == 1)
    }

    @Test("MAX_SYMBOLS evicts the least recently updated symbol")
    func evictsLeastRecentlyUpdated() {
        let (engine, _, board) = makeEngine { $0.maxSymbols = 3 }
        for (i, symbol) in ["AAAUSDT", "BBBUSDT", "CCCUSDT"].enumerated() {
            engine.ingest(Frames.balancedBook(symbol, timeMs: Int64(i) * 1000))
        }
        engine.ingest(Frames.balancedBook("AAAUSDT", timeMs: 4000))  // AAA is now the freshest
        engine.ingest(Frames.balancedBook("DDDUSDT", timeMs: 5000))  // evicts BBB
        #expect(engine.trackedSymbols == 3)
        #expect(engine.stats.symbolsEvicted.value == 1)
        #expect(board.cell(SymbolKey(venue: .spot, symbol: "BBBUSDT"), nowMs: 1) == nil)
        #expect(board.cell(SymbolKey(venue: .spot, symbol: "AAAUSDT"), nowMs: 1) != nil)
        #expect(board.cell(SymbolKey(venue: .spot, symbol: "DDDUSDT"), nowMs: 1) != nil)
    }

    @Test("state stays bounded under 10,000 distinct symbols")
    func boundedUnderManySymbols() {
        let (engine, _, board) = makeEngine { $0.maxSymbols = 500 }
        for i in 0..<10_000 {
            engine.ingest(Frames.balancedBook("S\(i)USDT", timeMs: Int64(i)))
        }
        #expect(engine.trackedSymbols == 500)
        #expect(board.count == 500)
        #expect(engine.stats.symbolsEvicted.value == 9_500)
    }

    @Test("a symbol idle longer than the TTL in event time is expired")
    func expiresIdleSymbols() {
        let (engine, _, board) = makeEngine { $0.symbolTTLSeconds = 60 }
        engine.ingest(Frames.balancedBook("OLDUSDT", timeMs: 0))
        // 4096 messages trigger a sweep; event time moves 120 s past OLDUSDT's last update.
        for i in 0..<4096 {
            engine.ingest(Frames.balancedBook("NEWUSDT", timeMs: 120_000 + Int64(i)))
        }
        #expect(engine.stats.symbolsExpired.value == 1)
        #expect(board.cell(SymbolKey(venue: .spot, symbol: "OLDUSDT"), nowMs: 1) == nil)
        #expect(engine.trackedSymbols == 1)
    }

    @Test("a skewed book reaches the sink as an orderbook_skew signal with event time")
    func emitsSignals() throws {
        let (engine, sink, _) = makeEngine()
        engine.ingest(Frames.balancedBook("BTCUSDT", timeMs: 5_000, bidQty: 3, askQty: 1))
        let signal = try #require(sink.signals.first)
        #expect(signal.strategyId == "orderbook_skew")
        #expect(signal.action == .buy)
        #expect(signal.eventTimeMs == 5_000)
        #expect(engine.stats.signalsGenerated["orderbook_skew"]?.value == 1)
    }

    @Test("a disabled strategy emits nothing")
    func disabledStrategy() {
        let (engine, sink, _) = makeEngine { $0.strategies.enabled = [] }
        engine.ingest(Frames.balancedBook("BTCUSDT", timeMs: 5_000, bidQty: 3, askQty: 1))
        #expect(sink.signals.isEmpty)
    }
}

@Suite("SignalLog")
struct SignalLogTests {
    func signal(_ symbol: String, _ strategy: String = "orderbook_skew") -> Signal {
        Signal(strategyId: strategy, key: SymbolKey(venue: .spot, symbol: symbol), action: .buy, confidence: 0.7,
               price: 1, currentPrice: 1, eventTimeMs: 0, reasoning: "r")
    }

    @Test("sequence numbers start at 1 and pages continue from the cursor")
    func cursorPaging() {
        let log = SignalLog(capacity: 10)
        for i in 0..<5 { log.append(signal("S\(i)")) }
        let first = log.read(after: 0, limit: 2)
        #expect(first.signals.map(\.sequence) == [1, 2])
        #expect(first.nextSequence == 2)
        #expect(!first.truncated)
        let rest = log.read(after: first.nextSequence, limit: 10)
        #expect(rest.signals.map(\.sequence) == [3, 4, 5])
        #expect(rest.nextSequence == 5)
        #expect(log.read(after: 5, limit: 10).signals.isEmpty)
    }

    @Test("a cursor that fell out of the ring is flagged truncated and resumes at the oldest kept")
    func truncatedCursor() {
        let log = SignalLog(capacity: 3)
        for i in 0..<7 { log.append(signal("S\(i)")) }
        let page = log.read(after: 1, limit: 10)
        #expect(page.truncated)
        #expect(page.signals.map(\.sequence) == [5, 6, 7])
        #expect(!log.read(after: 4, limit: 10).truncated)
    }

    @Test("filters by symbol and strategy while advancing the cursor past non-matching signals")
    func filters() {
        let log = SignalLog(capacity: 10)
        log.append(signal("BTCUSDT"))
        log.append(signal("ETHUSDT"))
        log.append(signal("BTCUSDT", "other"))
        let page = log.read(after: 0, limit: 10, symbols: ["BTCUSDT"], strategies: ["orderbook_skew"])
        #expect(page.signals.map(\.sequence) == [1])
        #expect(page.nextSequence == 3)
    }
}
