import Foundation
import Testing
@testable import Strategies

/// The local book against an independent rebuild, on the real recordings (docs/BOOKS.md).
///
/// The replays' `depth20@100ms` frames were built by the data set's author from the REST
/// snapshot and the recorded diffs (Binance's documented procedure), top 20 after each diff, and
/// they follow their diff with the same update id. The engine here sees the REST snapshots (as
/// the runtime's fetcher delivers them) and the diffs only, never those frames; after every diff
/// its local book's top 20 must equal the next derived frame of that symbol, level for level.
@Suite("Local book on the recordings")
struct LocalBookRecordingTests {
    struct Outcome {
        var compared = 0
        /// Comparisons where the local book had all 20 levels (a REST-synced book).
        var fullDepth = 0
        /// Comparisons made after the book had resynced from a partial book.
        var afterResync = 0
        var mismatches: [String] = []
        var stats: BookStats
    }

    /// `feedPartials`: the derived frames are also given to the engine (after the comparison), as
    /// the sync points a live feed's partial books are.
    static func run(replay name: String, capture: String, dropEvery: Int = 0, feedPartials: Bool = false) throws -> Outcome? {
        guard let dir = SharedData.directory else { return nil }
        let lines = try SharedData.lines(of: dir.appendingPathComponent("replay/\(name).nats.jsonl.gz"))
        let venue: Venue = name.hasPrefix("usdm") ? .usdm : .spot
        var configuration = EngineConfiguration()
        configuration.strategies.enabled = []
        configuration.book.attribution = .label
        configuration.book.maxLevels = 1000
        let stats = IngestStats(strategyIds: [])
        let board = DepthBoard()
        let sink = CollectingSink()  // the engine holds it unowned
        let engine = Engine(configuration: configuration, board: board, stats: stats, sink: sink)
        // REST snapshots, delivered before the first frame (they were taken as the capture began).
        let snapshotLines = try String(contentsOf: dir.appendingPathComponent("\(capture).rest_depth_snapshots.jsonl"),
                                       encoding: .utf8).split(separator: "\n")
        let meta = try String(contentsOf: dir.appendingPathComponent("\(capture).rest_depth_snapshots.meta.txt"),
                              encoding: .utf8).split(separator: "\n")
        var snapshots: [BookSnapshot] = []
        for (line, info) in zip(snapshotLines, meta) {
            // The hftbacktest capture did not record the URL: its one symbol is in the file name.
            let named = info.contains("symbol=") ? info.split(separator: "symbol=").last?.split(separator: "&").first
                : name.split(separator: "_").dropFirst().first.map { Substring($0.uppercased()) }
            guard let symbol = named,
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let id = (object["lastUpdateId"] as? NSNumber)?.int64Value,
                let bids = object["bids"] as? [[String]], let asks = object["asks"] as? [[String]]
            else { continue }
            func levels(_ rows: [[String]]) -> PriceLevels {
                PriceLevels(rows.map { (Double($0[0])!, Double($0[1])!) })
            }
            snapshots.append(BookSnapshot(key: SymbolKey(venue: venue, symbol: String(symbol)), lastUpdateId: id,
                                          bids: levels(bids), asks: levels(asks), limit: 1000, eventTimeMs: 0))
        }
        var outcome = Outcome(stats: stats.books)
        var parser = MarketDataParser()
        var diffs = 0
        var droppedFor = Set<String>()
        var expectedTop: [SymbolKey: (PriceLevels, PriceLevels)] = [:]
        let receive: Int64 = 1_800_000_000_000
        for line in lines {
            let text = String(decoding: line, as: UTF8.self)
            let derived = text.contains("@depth20@100ms")
            let label = text.split(separator: "\"")[3].split(separator: "@")[0]
            if derived && droppedFor.remove(String(label)) != nil { continue }  // lost with its diff
            if derived {
                // The reference: compare with the local book right after its diff.
                guard case .event(.depth(let d), _, _) = line.withUnsafeBytes({
                    parser.parse($0, subjectVenue: venue, receiveTimeMs: receive)
                }) else { continue }
                expectedTop[SymbolKey(venue: venue, symbol: d.key.symbol)] = (d.bids, d.asks)
                let key = SymbolKey(venue: venue, symbol: d.key.symbol)
                if let state = engine.symbols[key], state.book.local.isSynced,
                    state.book.local.lastUpdateId == d.finalUpdateId
                {
                    // A book synced from a partial book knows fewer levels after a removal: what it
                    // has must be the rebuild's best levels exactly.
                    var bids = PriceLevels()
                    var asks = PriceLevels()
                    state.book.local.bids.copyTop(20, into: &bids)
                    state.book.local.asks.copyTop(20, into: &asks)
                    outcome.compared += 1
                    if stats.books.syncedFromPartial.value > 0 { outcome.afterResync += 1 }
                    if bids.count == d.bids.count && asks.count == d.asks.count { outcome.fullDepth += 1 }
                    if bids.isEmpty || asks.isEmpty
                        || bids.prices != Array(d.bids.prices.prefix(bids.count))
                        || bids.quantities != Array(d.bids.quantities.prefix(bids.count))
                        || asks.prices != Array(d.asks.prices.prefix(asks.count))
                        || asks.quantities != Array(d.asks.quantities.prefix(asks.count))
                    {
                        outcome.mismatches.append("\(key) u=\(d.finalUpdateId)")
                    }
                }
                if !feedPartials { continue }
            }
            if text.contains("@depth@100ms") {
                diffs += 1
                if dropEvery > 0 && diffs % dropEvery == 0 {
                    // An injected gap: the diff and the partial book built from it are lost.
                    droppedFor.insert(String(label))
                    continue
                }
            }
            line.withUnsafeBytes { engine.ingest($0, subjectVenue: venue, receiveTimeMs: receive) }
            // Each symbol's snapshot as soon as the engine tracks it (the runtime fetches on request).
            if !snapshots.isEmpty {
                snapshots.removeAll { s in
                    guard engine.symbols[s.key] != nil else { return false }
                    engine.snapshotMailbox.deliver(s)
                    return true
                }
            }
        }
        return withExtendedLifetime(sink) { outcome }
    }

    @Test("spot and futures: after every diff the local book equals the independent rebuild",
          .enabled(if: SharedData.isAvailable, "needs ../shared/binance-real"),
          arguments: [("usdm_5symbols_20210405", "cryptofeed/usdm_5symbols_20210405"),
                      ("spot_10symbols_20210405", "cryptofeed/spot_10symbols_20210405"),
                      ("spot_btcusdt-ethusdt-dotusdt_20210404", "cryptofeed/spot_btcusdt-ethusdt-dotusdt_20210404"),
                      ("spot_ethusdt_20240808", "hftbacktest/spot_ethusdt_20240808")])
    func matchesRebuild(replay: String, capture: String) throws {
        let outcome = try #require(try Self.run(replay: replay, capture: capture))
        #expect(outcome.compared > 500, "compared \(outcome.compared)")
        #expect(outcome.fullDepth == outcome.compared)
        #expect(outcome.mismatches.isEmpty, "\(outcome.mismatches.prefix(5))")
        #expect(outcome.stats.syncedFromSnapshot.value > 0)
        #expect(outcome.stats.gaps.value == 0)
        #expect(outcome.stats.diffsApplied.value > 500, "applied \(outcome.stats.diffsApplied.value)")
    }

    @Test("a dropped diff is detected as a gap; the book resyncs from the next partial book and matches again",
          .enabled(if: SharedData.isAvailable, "needs ../shared/binance-real"))
    func injectedGapsResync() throws {
        // Spot only: the futures recording's derived partial frames copy their diff's ids, so
        // after a dropped diff the next one chains by `pu` and passes for it (docs/BOOKS.md, limits).
        for (replay, capture) in [("spot_10symbols_20210405", "cryptofeed/spot_10symbols_20210405"),
                                  ("spot_btcusdt-ethusdt-dotusdt_20210404", "cryptofeed/spot_btcusdt-ethusdt-dotusdt_20210404")] {
            let outcome = try #require(try Self.run(replay: replay, capture: capture, dropEvery: 97, feedPartials: true))
            #expect(outcome.stats.gaps.value > 10, "\(replay)")
            #expect(outcome.stats.syncedFromPartial.value > 10, "\(replay): resynced from partial books")
            #expect(outcome.afterResync > 100, "\(replay): compared after resyncs \(outcome.afterResync)")
            #expect(outcome.mismatches.isEmpty, "\(replay): \(outcome.mismatches.prefix(5))")
        }
    }

    @Test("SKIPPED message when ../shared is absent", .enabled(if: !SharedData.isAvailable))
    func reportsSkip() { print(SharedData.skipMessage) }
}
