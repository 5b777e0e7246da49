import Foundation
import Testing
@testable import Strategies

/// The same recording through two fresh engines must give the same signals, bit for bit:
/// everything runs on exchange event time, nothing on the wall clock.
@Suite("Replay determinism")
struct ReplayDeterminismTests {
    struct Run {
        var signals: [Signal]
        var json: [UInt8]
        var processed: Int
        var rejected: Int
    }

    static func run(_ lines: [Data], receiveTimeMs: Int64) -> Run {
        let sink = CollectingSink()
        let configuration = EngineConfiguration()
        let engine = Engine(configuration: configuration, board: DepthBoard(),
                            stats: IngestStats(strategyIds: configuration.enabledStrategyIds), sink: sink)
        for line in lines {
            line.withUnsafeBytes { engine.ingest($0, subjectVenue: nil, receiveTimeMs: receiveTimeMs) }
        }
        var json: [UInt8] = []
        let encoder = TradeEngineSignalEncoder()
        for signal in sink.signals { encoder.encode(signal, into: &json) }
        return Run(signals: sink.signals, json: json, processed: engine.stats.processed.value,
                   rejected: engine.stats.rejected.value)
    }

    @Test("every replay file processed twice gives identical signals and identical published JSON",
          .enabled(if: SharedData.isAvailable, "needs ../shared/binance-real"))
    func replayTwiceIsIdentical() throws {
        let replays = SharedData.files().filter { $0.name.hasPrefix("replay/") }
        #expect(replays.count == 4)
        for file in replays {
            let lines = try SharedData.lines(of: file.url)
            // Different receive clocks: the result must not depend on them.
            let first = Self.run(lines, receiveTimeMs: 1)
            let second = Self.run(lines, receiveTimeMs: 1_900_000_000_000)
            #expect(first.processed + first.rejected == lines.count, "\(file.name)")
            #expect(first.signals == second.signals, "\(file.name)")
            #expect(first.json == second.json, "\(file.name)")
            let minutes = Self.eventMinutes(first.signals)
            print("determinism \(file.name): \(lines.count) messages, \(first.signals.count) signals over \(minutes) event-minutes")
            // The 60 s per-symbol cooldown bounds the rate: no storm.
            let symbols = Set(first.signals.map(\.key)).count
            #expect(Double(first.signals.count) <= Double(symbols) * (minutes + 1), "\(file.name) storms")
        }
    }

    static func eventMinutes(_ signals: [Signal]) -> Double {
        guard let first = signals.first?.eventTimeMs, let last = signals.last?.eventTimeMs else { return 0 }
        return Double(last - first) / 60_000
    }
}

@Suite("SharedData availability")
struct SharedDataAvailabilityTests {
    @Test("tests that need ../shared/binance-real say so when it is absent")
    func reportsAbsence() {
        if !SharedData.isAvailable { print(SharedData.skipMessage) }
        #expect(SharedData.isAvailable == (SharedData.directory != nil))
    }
}
