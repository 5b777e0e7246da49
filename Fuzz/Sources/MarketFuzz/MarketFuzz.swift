// libFuzzer entry point: every input is one NATS payload. It goes to a long-lived `Engine` with
// every strategy enabled, through `Engine.ingest` and so its `MarketDataParser` (venue chosen from
// the input length, so spot, usdm and inferred shapes are all exercised), and to the two feed
// parsers (reference prices, on-chain metrics). Invariants checked after each input (a violation aborts, which libFuzzer reports as a
// crash and saves the input):
// - the engine tracks at most `maxSymbols` symbols, and the depth board holds no more cells;
// - every signal has finite numbers, a confidence in [0, 1], and encodes to valid JSON.
// The engine is recreated every `recreateEvery` inputs, so state from millions of inputs cannot
// accumulate beyond what one engine lifetime allows (libFuzzer's -rss_limit_mb/-malloc_limit_mb
// catch anything that still grows).
import Foundation
import Strategies

private let maxSymbols = 64
private let recreateEvery = 50_000

private final class CheckingSink: SignalSink {
    let encoder = TradeEngineSignalEncoder()
    var buffer: [UInt8] = []
    var signals = 0

    func emit(_ signal: Signal) {
        signals += 1
        func check(_ ok: Bool, _ what: @autoclosure () -> String) {
            if !ok {
                FileHandle.standardError.write(Data("FUZZ INVARIANT: \(what()) in \(signal)\n".utf8))
                abort()
            }
        }
        check(signal.confidence.isFinite && signal.confidence >= 0 && signal.confidence <= 1, "confidence outside [0, 1]")
        check(signal.price.isFinite && signal.currentPrice.isFinite, "non-finite price")
        for (name, value) in signal.indicators { check(value.isFinite, "non-finite indicator \(name)") }
        buffer.removeAll(keepingCapacity: true)
        encoder.encode(signal, into: &buffer)
        let valid = (try? JSONSerialization.jsonObject(with: Data(buffer))) != nil
        check(valid, "signal JSON does not parse: \(String(decoding: buffer, as: UTF8.self))")
    }
}

private struct FuzzState {
    let sink = CheckingSink()
    var engine: Engine
    var inputs = 0
    var clockMs: Int64 = 1_700_000_000_000

    init() { engine = Self.makeEngine(sink) }

    static func makeEngine(_ sink: CheckingSink) -> Engine {
        var configuration = EngineConfiguration()
        configuration.maxSymbols = maxSymbols
        configuration.strategies.enabled = Set(StrategySettings.allIds)
        // No cooldown: signals fire as often as the inputs allow, so their paths get covered.
        configuration.strategies.parameters["orderbook_skew", default: ParameterValues()].values["cooldown_seconds"] = .double(0)
        return Engine(configuration: configuration, board: DepthBoard(historySeconds: 900, ttlSeconds: 300),
                      stats: IngestStats(strategyIds: configuration.enabledStrategyIds), sink: sink)
    }
}

nonisolated(unsafe) private var state = FuzzState()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)
    state.inputs += 1
    if state.inputs % recreateEvery == 0 { state.engine = FuzzState.makeEngine(state.sink) }
    state.clockMs += 100

    // The engine parses with its own `MarketDataParser`: venue inferred for a third of the sizes,
    // spot or usdm (as a subject's venue tag) for the others.
    let venue: Venue? = switch size % 3 { case 0: nil; case 1: .spot; default: .usdm }
    state.engine.ingest(bytes, subjectVenue: venue, receiveTimeMs: state.clockMs)
    // The feed parsers on half the sizes (each is a full scan; the fuzzer varies sizes freely).
    if size % 2 == 0 {
        state.engine.ingestReferencePrice(bytes)
        state.engine.ingestOnchainMetrics(bytes)
    }

    if state.engine.trackedSymbols > maxSymbols || state.engine.board.count > maxSymbols {
        FileHandle.standardError.write(Data(
            "FUZZ INVARIANT: \(state.engine.trackedSymbols) symbols tracked, \(state.engine.board.count) depth cells, bound \(maxSymbols)\n".utf8))
        abort()
    }
    return 0
}

// SwiftPM links an executable target with `main` aliased to `<Module>_main`, which a
// -parse-as-library module without `@main` does not define; libFuzzer's own `main` is therefore
// not used, and this entry point hands control to libFuzzer's driver instead.
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@_cdecl("MarketFuzz_main")
public func marketFuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { data, size in fuzzOneInput(data, size) }
}
