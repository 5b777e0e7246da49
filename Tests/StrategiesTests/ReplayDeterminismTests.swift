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
            // Both receive times lie after every recording (event times ahead of them are rejected).
            let first = Self.run(lines, receiveTimeMs: 1_800_000_000_000)
            let second = Self.run(lines, receiveTimeMs: 1_900_000_000_000)
            #expect(first.processed + first.rejected == lines.count, "\(file.name)")
            #expect(first.signals == second.signals, "\(file.name)")
            #expect(first.json == second.json, "\(file.name)")
            let minutes = Self.eventMinutes(lines)
            let byStrategy = Dictionary(grouping: first.signals, by: \.strategyId)
            let perMinute = byStrategy.keys.sorted().map {
                "\($0)=\(byStrategy[$0]?.count ?? 0) (\(String(format: "%.2f", Double(byStrategy[$0]?.count ?? 0) / max(minutes, 1e-9)))/min)"
            }
            print("signals \(file.name): \(lines.count) messages over \(String(format: "%.1f", minutes)) event-minutes: \(perMinute.joined(separator: ", "))")
            // Every strategy rate-limits (iceberg per price level, the rest per symbol), so none may
            // storm: a strategy firing on every 100 ms book would give ~600 a minute per symbol; we
            // allow at most 6.
            let symbols = Set(first.signals.map(\.key.symbol)).count
            for (strategy, signals) in byStrategy {
                #expect(Double(signals.count) <= Double(symbols) * (minutes + 1) * 6, "\(strategy) storms on \(file.name)")
            }
        }
    }

    /// The recording's span of envelope time, in minutes.
    static func eventMinutes(_ lines: [Data]) -> Double {
        func time(_ line: Data) -> Int64? {
            guard let text = String(data: line, encoding: .utf8), let range = text.range(of: #""timestamp":""#) else { return nil }
            return parseISO8601Millis(String(text[range.upperBound...].prefix { $0 != "\"" }))
        }
        guard let first = lines.first.flatMap(time), let last = lines.last.flatMap(time) else { return 0 }
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
