import BenchSupport
import Benchmark
import Foundation
@_spi(Benchmarks) import Sidecar
import Strategies

// Protobuf encoding and decoding of the socket's messages, through the project's codec
// (`SocketCodec`, the only Swift code that touches protobuf-c) and the server's own mapping
// from engine values (`SocketMapping`, reached through `@_spi(Benchmarks)`).
//
// Inputs are real: the signal is the first one the replay produces, the depth metrics are the
// cells the engine published after one pass over the replay. Encoding appends to a reused
// buffer, as the server does into its ByteBuffer; decoding reads one frame body, as a client
// does. Time and malloc columns are per message (`scalingFactor: .kilo`), except the
// 100-symbol page (per page).

/// Discards signals except the first.
final class FirstSignal: SignalSink, @unchecked Sendable {
    var first: Signal?
    func emit(_ signal: Signal) { if first == nil { first = signal } }
}

let receiveTimeMs: Int64 = 1_767_225_600_000

/// One pass of the engine over the replay: the first signal, and the published depth cells.
final class Inputs: @unchecked Sendable {
    let signal: Signal
    let cells: [DepthCell]

    init() {
        var configuration = EngineConfiguration()
        configuration.symbolTTLSeconds = 86_400
        let sink = FirstSignal()
        let board = DepthBoard(historySeconds: 900, ttlSeconds: 300)
        let engine = Engine(configuration: configuration, board: board,
                            stats: IngestStats(strategyIds: configuration.enabledStrategyIds), sink: sink)
        let ring = FrameRing(BenchData.all.frames)
        for _ in 0..<ring.count { engine.ingest(ring.take(), subjectVenue: nil, receiveTimeMs: receiveTimeMs) }
        signal = sink.first ?? Signal(
            strategyId: "orderbook_skew", key: SymbolKey(venue: .spot, symbol: "ETHUSDT"), action: .buy,
            confidence: 0.71234, price: 2712.34, currentPrice: 2712.345, eventTimeMs: receiveTimeMs,
            reasoning: "Top-5 bid volume dominates: bid/ask ratio 1.4246913580246914",
            indicators: [("bid_volume", 11.5402), ("ask_volume", 8.1003), ("ratio", 1.4246913580246914),
                         ("spread_percent", 0.0003686)],
            metadata: [("strategy", .string("orderbook_skew")), ("top_bid", .double(2712.34)), ("top_ask", .double(2712.35))])
        cells = board.liveCells(nowMs: receiveTimeMs)
    }

    /// The cell with the most levels (depth20 when the replay has it).
    var richestCell: DepthCell {
        cells.max { ($0.read { $0.bids.count + $0.asks.count } ?? 0) < ($1.read { $0.bids.count + $0.asks.count } ?? 0) }!
    }

    /// A ListDepthMetrics page of `n` rows: the replay's cells, renamed when it has fewer symbols.
    func page(_ n: Int) -> SocketProtocol.DepthMetricsPage {
        let rows = cells.compactMap { cell in cell.read { SocketMapping.depth($0, includeLevels: false) } }
        var page = SocketProtocol.DepthMetricsPage()
        page.metrics = (0..<n).map { i in
            var m = rows[i % rows.count]
            if i >= rows.count { m.symbol = "\(m.symbol.dropLast(4))\(i)USDT" }
            return m
        }
        page.total = UInt32(n)
        page.limit = UInt32(n)
        page.page = 1
        page.pages = 1
        return page
    }
}

let inputs = Lazy { Inputs() }

/// State built on a benchmark's first iteration (so `--filter` builds only what it runs).
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
}

func encoded(_ response: SocketResponse) -> [UInt8] {
    var out: [UInt8] = []
    SocketCodec.encode(response, id: 42, into: &out)
    return out
}

/// Encode into a reused buffer, `scaledIterations` times.
func encodeBenchmark(_ name: String, configuration: Benchmark.Configuration? = nil, _ make: @escaping () -> SocketResponse) {
    let response = Lazy(make)
    Benchmark(name, configuration: configuration ?? Benchmark.defaultConfiguration) { benchmark in
        let r = response.get
        var buffer: [UInt8] = []
        buffer.reserveCapacity(64 * 1024)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            buffer.removeAll(keepingCapacity: true)
            SocketCodec.encode(r, id: 42, into: &buffer)
            blackHole(buffer.count)
        }
        benchmark.stopMeasurement()
    }
}

/// Decode one frame body into Swift values, `scaledIterations` times.
func decodeBenchmark(_ name: String, configuration: Benchmark.Configuration? = nil, _ make: @escaping () -> SocketResponse) {
    let bytes = Lazy { encoded(make()) }
    Benchmark(name, configuration: configuration ?? Benchmark.defaultConfiguration) { benchmark in
        let b = bytes.get
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            b.withUnsafeBytes { raw in blackHole(try? SocketCodec.decodeResponse(raw)) }
        }
        benchmark.stopMeasurement()
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
    let perPage = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .mallocBytesCount],
        timeUnits: .microseconds, warmupIterations: 3, scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 3_000)

    print("protobuf benchmarks on \(BenchData.all.source)")

    // Signals: the push path of a subscriber (engine Signal → protocol value → protobuf bytes).
    Benchmark("protobuf/signal map+encode (server push path)") { benchmark in
        let s = inputs.get.signal
        var buffer: [UInt8] = []
        buffer.reserveCapacity(4096)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            buffer.removeAll(keepingCapacity: true)
            SocketCodec.encode(.signalEvent(SocketMapping.signal(s)), id: 7, into: &buffer)
            blackHole(buffer.count)
        }
        benchmark.stopMeasurement()
    }
    Benchmark("protobuf/signal map") { benchmark in
        let s = inputs.get.signal
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations { blackHole(SocketMapping.signal(s)) }
        benchmark.stopMeasurement()
    }
    encodeBenchmark("protobuf/signal encode") { .signalEvent(SocketMapping.signal(inputs.get.signal)) }
    decodeBenchmark("protobuf/signal decode") { .signalEvent(SocketMapping.signal(inputs.get.signal)) }

    // Depth metrics: GetDepthMetrics answers (snapshot → protocol value → protobuf).
    Benchmark("protobuf/depth metrics read+map+encode (GetDepthMetrics answer)") { benchmark in
        let cell = inputs.get.richestCell
        var buffer: [UInt8] = []
        buffer.reserveCapacity(4096)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            buffer.removeAll(keepingCapacity: true)
            if let m = cell.read({ SocketMapping.depth($0, includeLevels: false) }) {
                SocketCodec.encode(.depthMetrics(m), id: 7, into: &buffer)
            }
            blackHole(buffer.count)
        }
        benchmark.stopMeasurement()
    }
    encodeBenchmark("protobuf/depth metrics encode") {
        .depthMetrics(inputs.get.richestCell.read { SocketMapping.depth($0, includeLevels: false) }!)
    }
    decodeBenchmark("protobuf/depth metrics decode") {
        .depthMetrics(inputs.get.richestCell.read { SocketMapping.depth($0, includeLevels: false) }!)
    }
    encodeBenchmark("protobuf/depth metrics with levels encode") {
        .depthMetrics(inputs.get.richestCell.read { SocketMapping.depth($0, includeLevels: true) }!)
    }
    decodeBenchmark("protobuf/depth metrics with levels decode") {
        .depthMetrics(inputs.get.richestCell.read { SocketMapping.depth($0, includeLevels: true) }!)
    }
    encodeBenchmark("protobuf/ListDepthMetrics 100 symbols encode", configuration: perPage) {
        .depthMetricsPage(inputs.get.page(100))
    }
    decodeBenchmark("protobuf/ListDepthMetrics 100 symbols decode", configuration: perPage) {
        .depthMetricsPage(inputs.get.page(100))
    }

    // The server's side of a GetDepthMetrics request.
    let request = Lazy { () -> [UInt8] in
        var out: [UInt8] = []
        SocketCodec.encodeRequest(.getDepthMetrics(.init(symbol: "BTCUSDT")), id: 12_345, into: &out)
        return out
    }
    Benchmark("protobuf/GetDepthMetrics request decode") { benchmark in
        let b = request.get
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            b.withUnsafeBytes { raw in blackHole(try? SocketCodec.decodeRequest(raw)) }
        }
        benchmark.stopMeasurement()
    }
}
