import BenchSupport
import Foundation
import Strategies

// Drives one hot-path case for a fixed number of messages, for instruction counts
// (scripts/profile-hot-path):
//   valgrind --tool=callgrind --toggle-collect='*measuredLoop*' HotPathProfile depth20 20000
// Only `measuredLoop` is counted, after a warm-up pass over every frame (steady state), the
// same set-up as the package-benchmark suite.

final class Sink: SignalSink {
    var count = 0
    func emit(_ signal: Signal) { count &+= 1 }
}

let arguments = CommandLine.arguments
let mode = arguments.count > 1 ? arguments[1] : "depth20"
let messages = arguments.count > 2 ? Int(arguments[2]) ?? 20_000 : 20_000
let receiveTimeMs: Int64 = 1_767_225_600_000
let chunk = 1000

let kinds: Set<StreamKind>
switch mode {
case "depth20", "parse-depth20": kinds = [.partialDepth]
case "trade", "parse-trade": kinds = [.trade, .aggTrade]
case "ticker", "parse-ticker": kinds = [.ticker]
case "bookTicker", "parse-bookTicker": kinds = [.bookTicker]
case "diff", "parse-diff": kinds = [.diffDepth]
case "mixed": kinds = Set(StreamKind.allCases)
default:
    FileHandle.standardError.write(Data("usage: HotPathProfile depth20|trade|ticker|bookTicker|diff|mixed|parse-<kind> [messages]\n".utf8))
    exit(64)
}
let ring = FrameRing(BenchData.frames(of: kinds))
FileHandle.standardError.write(Data("\(mode): \(ring.count) frames (\(BenchData.all.source)), \(messages) measured\n".utf8))

@inline(never)
func measuredLoop(_ engine: Engine, _ ring: FrameRing, _ n: Int) {
    for _ in 0..<n { engine.ingest(ring.take(), subjectVenue: nil, receiveTimeMs: receiveTimeMs) }
}

@inline(never)
func measuredLoopParse(_ parser: inout MarketDataParser, _ ring: FrameRing, _ n: Int) -> Int {
    var events = 0
    for _ in 0..<n {
        if case .event = parser.parse(ring.take(), subjectVenue: nil, receiveTimeMs: receiveTimeMs) { events &+= 1 }
    }
    return events
}

if mode.hasPrefix("parse-") {
    var parser = MarketDataParser()
    for _ in 0..<ring.count { _ = parser.parse(ring.take(), subjectVenue: nil, receiveTimeMs: receiveTimeMs) }
    var events = 0
    var left = messages
    while left > 0 {
        let n = min(chunk, left)
        ring.prepare(n)
        events += measuredLoopParse(&parser, ring, n)
        left -= n
    }
    print("events \(events)")
} else {
    var configuration = EngineConfiguration()
    configuration.symbolTTLSeconds = 86_400  // as in the benchmarks (recordings differ in length)
    let sink = Sink()
    let engine = Engine(configuration: configuration, board: DepthBoard(),
                        stats: IngestStats(strategyIds: configuration.enabledStrategyIds), sink: sink)
    for _ in 0..<ring.count { engine.ingest(ring.take(), subjectVenue: nil, receiveTimeMs: receiveTimeMs) }
    var left = messages
    while left > 0 {
        let n = min(chunk, left)
        ring.prepare(n)
        measuredLoop(engine, ring, n)
        left -= n
    }
    print("processed \(engine.stats.processed.value), signals \(sink.count), symbols \(engine.trackedSymbols)")
}
