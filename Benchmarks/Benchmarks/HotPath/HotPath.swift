import BenchSupport
import Benchmark
import Foundation
import Strategies

// Per-message cost of the hot path in steady state. Each benchmark builds its engine once (on
// its first, warm-up iteration), warms it with a full pass over its frames (symbols, cells and
// buffers at capacity, strategy windows filled), and every measured iteration then handles 1000
// messages taken round-robin from the recorded frames, event time moving forward across passes.
// With `scalingFactor: .kilo` the time and malloc columns are per message.
//
// The socket's protobuf encode/decode is the `Protobuf` suite; GetDepthMetrics round trips and
// NATS → socket latency are phases of `sidecarctl bench`. See docs/PERFORMANCE.md.

/// Discards signals: the benchmarks measure the engine, not a consumer.
final class DiscardingSink: SignalSink, @unchecked Sendable {
    var count = 0
    func emit(_ signal: Signal) { count &+= 1 }
}

/// Keeps the first signal, for the encoder benchmarks.
final class FirstSignalSink: SignalSink, @unchecked Sendable {
    var first: Signal?
    func emit(_ signal: Signal) { if first == nil { first = signal } }
}

/// The engine as the sidecar configures it by default, except the symbol TTL: the recordings
/// differ in length, so at every pass the shorter ones' symbols would idle past 300 s and be
/// dropped and re-created, which a live feed does not do.
func makeEngine(sink: SignalSink) -> Engine {
    var configuration = EngineConfiguration()
    configuration.symbolTTLSeconds = 86_400
    return Engine(configuration: configuration, board: DepthBoard(historySeconds: 900, ttlSeconds: 300),
                  stats: IngestStats(strategyIds: configuration.enabledStrategyIds), sink: sink)
}

let receiveTimeMs: Int64 = 1_767_225_600_000

/// State built on a benchmark's first iteration and dropped in its teardown.
final class Lazy<T>: @unchecked Sendable {
    private let make: () -> T
    private var value: T?
    init(_ make: @escaping () -> T) { self.make = make }
    var get: T {
        if let value { return value }
        let v = make()
        value = v
        return v
    }
    func drop() { value = nil }
}

/// An engine warmed by one pass over its frames.
final class EngineCase: @unchecked Sendable {
    let ring: FrameRing
    let sink = DiscardingSink()
    let engine: Engine
    init(_ frames: [BenchData.Frame]) {
        ring = FrameRing(frames)
        engine = makeEngine(sink: sink)
        for _ in 0..<ring.count { engine.ingest(ring.take(), subjectVenue: nil, receiveTimeMs: receiveTimeMs) }
    }
}

final class ParserCase: @unchecked Sendable {
    let ring: FrameRing
    var parser = MarketDataParser()
    init(_ frames: [BenchData.Frame]) {
        ring = FrameRing(frames)
        for _ in 0..<ring.count { blackHole(parser.parse(ring.take(), subjectVenue: nil, receiveTimeMs: receiveTimeMs)) }
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .mallocBytesCount],
        timeUnits: .nanoseconds,
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 3_000)

    print("hot-path benchmarks on \(BenchData.all.source): \(BenchData.all.frames.count) frames")

    let kinds: [(String, Set<StreamKind>)] = [
        ("trade", [.trade]), ("aggTrade", [.aggTrade]), ("ticker", [.ticker]), ("bookTicker", [.bookTicker]),
        ("depth20", [.partialDepth]), ("depthDiff", [.diffDepth]),
    ]

    // 1. Parse only, each message kind.
    for (name, set) in kinds {
        let state = Lazy { ParserCase(BenchData.frames(of: set)) }
        Benchmark("parse/\(name)", closure: { benchmark in
            let c = state.get
            c.ring.prepare(benchmark.scaledIterations.count)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(c.parser.parse(c.ring.take(), subjectVenue: nil, receiveTimeMs: receiveTimeMs))
            }
            benchmark.stopMeasurement()
        }, teardown: { state.drop() })
    }

    // 2. Engine.ingest: parse + per-symbol state + depth metrics + the strategies of that kind.
    let engineCases: [(String, Set<StreamKind>)] = [
        ("depth20 (metrics + book strategies)", [.partialDepth]),
        ("trade (trade + aggTrade, trade strategies)", [.trade, .aggTrade]),
        ("ticker (ticker strategies)", [.ticker]),
        ("bookTicker", [.bookTicker]),
        ("mixed replay (all kinds, recorded order)", Set(StreamKind.allCases)),
    ]
    for (name, set) in engineCases {
        let state = Lazy { EngineCase(BenchData.frames(of: set)) }
        Benchmark("ingest/\(name)", closure: { benchmark in
            let c = state.get
            c.ring.prepare(benchmark.scaledIterations.count)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                c.engine.ingest(c.ring.take(), subjectVenue: nil, receiveTimeMs: receiveTimeMs)
            }
            benchmark.stopMeasurement()
        }, teardown: { state.drop() })
    }

    // 3. Signal JSON (tradeengine contract) into a reused buffer, for a real signal of the replay.
    let signal = Lazy { firstRealSignal() ?? fallbackSignal() }
    Benchmark("signal/encode tradeengine JSON") { benchmark in
        let s = signal.get
        let encoder = TradeEngineSignalEncoder(source: "realtime_strategies")
        var buffer: [UInt8] = []
        buffer.reserveCapacity(4096)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            buffer.removeAll(keepingCapacity: true)
            encoder.encode(s, into: &buffer)
            blackHole(buffer.count)
        }
        benchmark.stopMeasurement()
    }
    Benchmark("signal/deterministic id") { benchmark in
        let s = signal.get
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(TradeEngineSignalEncoder.signalId(s)) }
        benchmark.stopMeasurement()
    }
}

/// The first signal any strategy emits on the mixed replay.
func firstRealSignal() -> Signal? {
    let sink = FirstSignalSink()
    let engine = makeEngine(sink: sink)
    let ring = FrameRing(BenchData.all.frames)
    for _ in 0..<ring.count where sink.first == nil {
        engine.ingest(ring.take(), subjectVenue: nil, receiveTimeMs: receiveTimeMs)
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
