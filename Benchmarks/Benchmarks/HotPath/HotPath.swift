import BenchSupport
import Benchmark
import Foundation
import Strategies

// Per-message cost of the hot path, in steady state: each benchmark builds its engine once,
// warms it with a full pass over its frames (symbols, cells, buffers at capacity), then every
// measured iteration handles 1000 messages taken round-robin from the recorded frames.
// With `scalingFactor: .kilo` the time and malloc columns are per message.
//
// Extension points for issue 3 (the socket): protobuf encode/decode of signals and depth
// metrics, GetDepthMetrics round trips and NATS → socket latency belong here (encode/decode)
// and in `sidecarctl bench` (round trips); see docs/PERFORMANCE.md.

/// Discards signals: the benchmarks measure the engine, not a consumer.
final class DiscardingSink: SignalSink, @unchecked Sendable {
    var count = 0
    func emit(_ signal: Signal) { count &+= 1 }
}

/// Keeps the first signal, for the encoder benchmark.
final class FirstSignalSink: SignalSink, @unchecked Sendable {
    var first: Signal?
    func emit(_ signal: Signal) { if first == nil { first = signal } }
}

/// The engine as the sidecar configures it by default, except the TTL: frames from captures
/// years apart are mixed here, and the TTL sweep would re-create their symbols every 4096 messages.
func makeEngine(sink: SignalSink) -> Engine {
    var configuration = EngineConfiguration()
    configuration.symbolTTLSeconds = 100 * 365 * 86_400
    return Engine(configuration: configuration, board: DepthBoard(historySeconds: 900, ttlSeconds: 300),
                  stats: IngestStats(strategyIds: configuration.enabledStrategyIds), sink: sink)
}

let receiveTimeMs: Int64 = 1_722_470_400_000

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .mallocBytesCount],
        timeUnits: .nanoseconds,
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 5_000)

    print("hot-path benchmarks on \(BenchData.all.source): \(BenchData.all.frames.count) frames")

    let kinds: [(String, Set<StreamKind>)] = [
        ("trade", [.trade]), ("aggTrade", [.aggTrade]), ("ticker", [.ticker]), ("bookTicker", [.bookTicker]),
        ("depth20", [.partialDepth]), ("depthDiff", [.diffDepth]),
    ]

    // 1. Parse only, each message kind.
    for (name, set) in kinds {
        let frames = BenchData.frames(of: set)
        guard !frames.isEmpty else { continue }
        Benchmark("parse/\(name)") { benchmark in
            let ring = FrameRing(frames)
            var parser = MarketDataParser()
            for _ in 0..<ring.count { blackHole(parser.parse(ring.take(), subjectVenue: nil, receiveTimeMs: receiveTimeMs)) }
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(parser.parse(ring.take(), subjectVenue: nil, receiveTimeMs: receiveTimeMs))
            }
            benchmark.stopMeasurement()
        }
    }

    // 2. Engine.ingest: parse + state + metrics + the strategies for that kind.
    let engineCases: [(String, Set<StreamKind>)] = [
        ("depth20 (metrics + book strategies)", [.partialDepth]),
        ("trade (trade + aggTrade, trade strategies)", [.trade, .aggTrade]),
        ("ticker", [.ticker]),
        ("bookTicker", [.bookTicker]),
        ("mixed replay (all kinds, recorded order)", Set(StreamKind.allCases)),
    ]
    for (name, set) in engineCases {
        let frames = BenchData.frames(of: set)
        guard !frames.isEmpty else { continue }
        Benchmark("ingest/\(name)") { benchmark in
            let ring = FrameRing(frames)
            let sink = DiscardingSink()
            let engine = makeEngine(sink: sink)
            for _ in 0..<ring.count { engine.ingest(ring.take(), subjectVenue: nil, receiveTimeMs: receiveTimeMs) }
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                engine.ingest(ring.take(), subjectVenue: nil, receiveTimeMs: receiveTimeMs)
            }
            benchmark.stopMeasurement()
            blackHole(sink.count)
        }
    }

    // 3. Signal JSON (tradeengine contract) into a reused buffer, for a real orderbook_skew signal.
    Benchmark("signal/encode tradeengine JSON") { benchmark in
        let signal = firstRealSignal() ?? fallbackSignal()
        let encoder = TradeEngineSignalEncoder(source: "realtime_strategies")
        var buffer: [UInt8] = []
        buffer.reserveCapacity(4096)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            buffer.removeAll(keepingCapacity: true)
            encoder.encode(signal, into: &buffer)
            blackHole(buffer.count)
        }
        benchmark.stopMeasurement()
    }
    Benchmark("signal/deterministic id") { benchmark in
        let signal = firstRealSignal() ?? fallbackSignal()
        for _ in benchmark.scaledIterations { blackHole(TradeEngineSignalEncoder.signalId(signal)) }
    }
}

/// The first signal `orderbook_skew` emits on the depth20 frames.
func firstRealSignal() -> Signal? {
    let sink = FirstSignalSink()
    let engine = makeEngine(sink: sink)
    for frame in BenchData.frames(of: [.partialDepth]) where sink.first == nil {
        frame.withUnsafeBytes { engine.ingest($0, subjectVenue: nil, receiveTimeMs: receiveTimeMs) }
    }
    return sink.first
}

func fallbackSignal() -> Signal {
    Signal(strategyId: "orderbook_skew", key: SymbolKey(venue: .spot, symbol: "ETHUSDT"), action: .buy,
           confidence: 0.71234, price: 2712.34, currentPrice: 2712.345, eventTimeMs: receiveTimeMs,
           reasoning: "Top-5 bid volume dominates: bid/ask ratio 1.4246913580246914",
           indicators: [("bid_volume", 11.5402), ("ask_volume", 8.1003), ("ratio", 1.4246913580246914),
                        ("spread_percent", 0.0003686)],
           metadata: [("strategy", .string("orderbook_skew")), ("top_bid", .double(2712.34)),
                      ("top_ask", .double(2712.35))])
}
