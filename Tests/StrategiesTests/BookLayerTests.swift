import Testing
@testable import Strategies

/// Unit tests of the book layer (docs/BOOKS.md): the local book's sync rules, attribution of
/// partial books without `s`, futures classification and event-time sanity.
@Suite("Local book")
struct LocalBookTests {
    static func levels(_ l: [(Double, Double)]) -> PriceLevels { PriceLevels(l) }

    /// A spot book synced at id 100 from a 3-level snapshot (the whole book).
    func syncedSpot() -> LocalBook {
        var book = LocalBook(venue: .spot, maxLevels: 10)
        let r = book.sync(updateId: 100, bids: Self.levels([(10, 1), (9, 2), (8, 3)]),
                          asks: Self.levels([(11, 1), (12, 2), (13, 3)]), wholeBids: true, wholeAsks: true,
                          eventTimeMs: 1, deep: true)
        #expect(r == .synced(applied: 0))
        return book
    }

    @Test("spot: diffs buffered before the snapshot; covered ones dropped; the straddling one and the rest applied")
    func spotBufferAndSync() {
        var book = LocalBook(venue: .spot, maxLevels: 10)
        #expect(book.apply(firstUpdateId: 95, finalUpdateId: 99, previousFinalUpdateId: -1,
                           bids: Self.levels([(10, 5)]), asks: PriceLevels(), eventTimeMs: 1) == .buffered)
        #expect(book.apply(firstUpdateId: 100, finalUpdateId: 102, previousFinalUpdateId: -1,
                           bids: Self.levels([(10, 7)]), asks: Self.levels([(11, 0)]), eventTimeMs: 2) == .buffered)
        #expect(book.apply(firstUpdateId: 103, finalUpdateId: 103, previousFinalUpdateId: -1,
                           bids: Self.levels([(9.5, 1)]), asks: PriceLevels(), eventTimeMs: 3) == .buffered)
        let r = book.sync(updateId: 100, bids: Self.levels([(10, 1), (9, 2)]), asks: Self.levels([(11, 1), (12, 2)]),
                          wholeBids: true, wholeAsks: true, eventTimeMs: 0, deep: true)
        #expect(r == .synced(applied: 2))
        #expect(book.lastUpdateId == 103)
        #expect(book.bids.prices == [10, 9.5, 9] && book.bids.quantities == [7, 1, 2])
        #expect(book.asks.prices == [12])
    }

    @Test("spot: a buffer that starts after the snapshot means the snapshot is too old")
    func tooOld() {
        var book = LocalBook(venue: .spot, maxLevels: 10)
        _ = book.apply(firstUpdateId: 105, finalUpdateId: 106, previousFinalUpdateId: -1, bids: Self.levels([(10, 1)]),
                       asks: PriceLevels(), eventTimeMs: 1)
        #expect(book.sync(updateId: 100, bids: Self.levels([(10, 1)]), asks: Self.levels([(11, 1)]), wholeBids: true,
                          wholeAsks: true, eventTimeMs: 0) == .tooOld)
        #expect(book.state == .unsynced)
    }

    @Test("spot: U != u + 1 is a gap: cleared and resyncing; an older diff is stale; an old snapshot is discarded")
    func gapStaleOld() {
        var book = syncedSpot()
        #expect(book.apply(firstUpdateId: 90, finalUpdateId: 100, previousFinalUpdateId: -1, bids: PriceLevels(),
                           asks: PriceLevels(), eventTimeMs: 1) == .stale)
        #expect(book.apply(firstUpdateId: 101, finalUpdateId: 101, previousFinalUpdateId: -1, bids: Self.levels([(10, 4)]),
                           asks: PriceLevels(), eventTimeMs: 2) == .applied)
        #expect(book.sync(updateId: 99, bids: PriceLevels(), asks: PriceLevels(), wholeBids: true, wholeAsks: true,
                          eventTimeMs: 0) == .old)
        #expect(book.apply(firstUpdateId: 103, finalUpdateId: 104, previousFinalUpdateId: -1, bids: PriceLevels(),
                           asks: PriceLevels(), eventTimeMs: 3) == .gap)
        #expect(book.state == .resyncing && book.bids.isEmpty && book.asks.isEmpty)
        // The next sync point that the buffered diff straddles heals it.
        #expect(book.sync(updateId: 102, bids: Self.levels([(10, 1)]), asks: Self.levels([(11, 1)]), wholeBids: true,
                          wholeAsks: true, eventTimeMs: 0) == .synced(applied: 1))
        #expect(book.isSynced && book.lastUpdateId == 104)
    }

    @Test("futures: pu must equal the previous u; U <= L <= u straddles the snapshot")
    func futuresChain() {
        var book = LocalBook(venue: .usdm, maxLevels: 10)
        _ = book.apply(firstUpdateId: 90, finalUpdateId: 110, previousFinalUpdateId: 89, bids: Self.levels([(10, 2)]),
                       asks: PriceLevels(), eventTimeMs: 1)
        #expect(book.sync(updateId: 100, bids: Self.levels([(10, 1)]), asks: Self.levels([(11, 1)]), wholeBids: true,
                          wholeAsks: true, eventTimeMs: 0) == .synced(applied: 1))
        #expect(book.apply(firstUpdateId: 111, finalUpdateId: 120, previousFinalUpdateId: 110, bids: PriceLevels(),
                           asks: Self.levels([(11, 3)]), eventTimeMs: 2) == .applied)
        #expect(book.apply(firstUpdateId: 125, finalUpdateId: 130, previousFinalUpdateId: 121, bids: PriceLevels(),
                           asks: PriceLevels(), eventTimeMs: 3) == .gap)
    }

    @Test("a book crossed after a diff is not served: resyncing")
    func crossedAfterUpdate() {
        var book = syncedSpot()
        #expect(book.apply(firstUpdateId: 101, finalUpdateId: 101, previousFinalUpdateId: -1, bids: Self.levels([(11.5, 1)]),
                           asks: PriceLevels(), eventTimeMs: 1) == .crossed)
        #expect(book.state == .resyncing)
    }

    @Test("a partial sync point knows its depth only: deeper diff levels are ignored; running out of levels resyncs")
    func shallowBook() {
        var book = LocalBook(venue: .spot, maxLevels: 100)
        let bids = Self.levels((0..<5).map { (100 - Double($0), 1) })
        let asks = Self.levels((0..<5).map { (101 + Double($0), 1) })
        #expect(book.sync(updateId: 10, bids: bids, asks: asks, wholeBids: false, wholeAsks: false, eventTimeMs: 0)
                == .synced(applied: 0))
        // 90 lies beyond the 5th bid (96): unknown levels in between, so it is not stored.
        #expect(book.apply(firstUpdateId: 11, finalUpdateId: 11, previousFinalUpdateId: -1, bids: Self.levels([(90, 5), (97.5, 2)]),
                           asks: PriceLevels(), eventTimeMs: 1) == .applied)
        #expect(book.bids.prices == [100, 99, 98, 97.5, 97, 96])
        // Removing every known bid leaves the side unknown: not a one-sided book, a lost sync.
        let removeAll = Self.levels([100, 99, 98, 97.5, 97, 96].map { ($0, 0) })
        #expect(book.apply(firstUpdateId: 12, finalUpdateId: 12, previousFinalUpdateId: -1, bids: removeAll,
                           asks: PriceLevels(), eventTimeMs: 2) == .exhausted)
        #expect(book.state == .resyncing)
    }

    @Test("BOOK_MAX_LEVELS bounds each side; the truncated side's depth moves inward")
    func maxLevels() {
        var book = LocalBook(venue: .spot, maxLevels: 3)
        _ = book.sync(updateId: 1, bids: Self.levels([(10, 1), (9, 1), (8, 1), (7, 1)]), asks: Self.levels([(11, 1)]),
                      wholeBids: true, wholeAsks: true, eventTimeMs: 0)
        #expect(book.bids.prices == [10, 9, 8])
        #expect(book.bids.boundary == 8)
        _ = book.apply(firstUpdateId: 2, finalUpdateId: 2, previousFinalUpdateId: -1, bids: Self.levels([(9.5, 1), (7.5, 1)]),
                       asks: PriceLevels(), eventTimeMs: 1)
        #expect(book.bids.prices == [10, 9.5, 9])
    }

    @Test("a partial book at the book's own id confirms or corrects its top levels")
    func confirmAndCorrect() {
        var book = syncedSpot()
        #expect(book.sync(updateId: 100, bids: Self.levels([(10, 1), (9, 2)]), asks: Self.levels([(11, 1), (12, 2)]),
                          wholeBids: false, wholeAsks: false, eventTimeMs: 0) == .confirmed(changed: false))
        #expect(book.sync(updateId: 100, bids: Self.levels([(10, 1), (9, 5)]), asks: Self.levels([(11, 1), (12, 2)]),
                          wholeBids: false, wholeAsks: false, eventTimeMs: 0) == .confirmed(changed: true))
        #expect(book.bids.quantities == [1, 5, 3])
    }

    @Test("an older REST snapshot deepens a book synced from a partial book, through the diffs kept since")
    func deepen() {
        var book = LocalBook(venue: .spot, maxLevels: 100, keepsHistory: true)
        _ = book.apply(firstUpdateId: 51, finalUpdateId: 55, previousFinalUpdateId: -1, bids: Self.levels([(9, 4)]),
                       asks: PriceLevels(), eventTimeMs: 1)
        // Partial book at 55: the top 2 levels a side.
        #expect(book.sync(updateId: 55, bids: Self.levels([(10, 1), (9, 4)]), asks: Self.levels([(11, 1), (12, 1)]),
                          wholeBids: false, wholeAsks: false, eventTimeMs: 0) == .synced(applied: 0))
        _ = book.apply(firstUpdateId: 56, finalUpdateId: 56, previousFinalUpdateId: -1, bids: Self.levels([(10, 0)]),
                       asks: PriceLevels(), eventTimeMs: 2)
        #expect(book.bids.prices == [9])
        // REST at 50: deep; the diffs 51…56 bring it to the book's id.
        let r = book.sync(updateId: 50, bids: Self.levels([(10, 1), (9, 2), (8, 3), (7, 4)]),
                          asks: Self.levels([(11, 1), (12, 1), (13, 1)]), wholeBids: true, wholeAsks: true,
                          eventTimeMs: 0, deep: true)
        #expect(r == .deepened)
        #expect(book.isDeep && book.lastUpdateId == 56)
        #expect(book.bids.prices == [9, 8, 7] && book.bids.quantities == [4, 3, 4])
    }
}

extension LocalBookTests {
    @Test("a REST snapshot a little ahead of a shallow book waits for the diff that straddles it, then replaces the book")
    func pendingSnapshot() {
        var book = LocalBook(venue: .spot, maxLevels: 100, keepsHistory: true)
        #expect(book.sync(updateId: 55, bids: Self.levels([(10, 1), (9, 4)]), asks: Self.levels([(11, 1), (12, 1)]),
                          wholeBids: false, wholeAsks: false, eventTimeMs: 0) == .synced(applied: 0))
        let r = book.sync(updateId: 58, bids: Self.levels([(10, 2), (9, 4), (8, 3)]), asks: Self.levels([(11, 1), (12, 1), (13, 5)]),
                          wholeBids: true, wholeAsks: true, eventTimeMs: 0, deep: true)
        #expect(r == .pending)
        #expect(book.apply(firstUpdateId: 56, finalUpdateId: 57, previousFinalUpdateId: -1, bids: Self.levels([(10, 2)]),
                           asks: PriceLevels(), eventTimeMs: 1) == .applied)
        #expect(!book.isDeep)
        #expect(book.apply(firstUpdateId: 58, finalUpdateId: 60, previousFinalUpdateId: -1, bids: Self.levels([(8, 0)]),
                           asks: Self.levels([(13, 6)]), eventTimeMs: 2) == .appliedOnSnapshot)
        #expect(book.isDeep && book.lastUpdateId == 60)
        #expect(book.bids.prices == [10, 9] && book.asks.prices == [11, 12, 13] && book.asks.quantities == [1, 1, 6])
    }

    @Test("a pending snapshot that no diff straddles is dropped; the shallow book goes on")
    func pendingSnapshotSkipped() {
        var book = LocalBook(venue: .spot, maxLevels: 100, keepsHistory: true)
        _ = book.sync(updateId: 55, bids: Self.levels([(10, 1)]), asks: Self.levels([(11, 1)]), wholeBids: false,
                      wholeAsks: false, eventTimeMs: 0)
        #expect(book.sync(updateId: 58, bids: Self.levels([(10, 9)]), asks: Self.levels([(11, 9)]), wholeBids: true,
                          wholeAsks: true, eventTimeMs: 0, deep: true) == .pending)
        // 56…57 then a gap past 58: the chain breaks, and the snapshot is not used.
        #expect(book.apply(firstUpdateId: 56, finalUpdateId: 57, previousFinalUpdateId: -1, bids: PriceLevels(),
                           asks: PriceLevels(), eventTimeMs: 1) == .applied)
        #expect(book.apply(firstUpdateId: 61, finalUpdateId: 62, previousFinalUpdateId: -1, bids: PriceLevels(),
                           asks: PriceLevels(), eventTimeMs: 2) == .gap)
        #expect(!book.isDeep && book.state == .resyncing)
    }
}

@Suite("Book layer in the engine")
struct BookEngineTests {
    /// Held by the test: the engine keeps an unowned reference to its sink.
    let sink = CollectingSink()

    func makeEngine(_ configure: (inout EngineConfiguration) -> Void = { _ in }) -> (Engine, CollectingSink, DepthBoard) {
        var configuration = EngineConfiguration()
        configuration.strategies.enabled = [OrderbookSkew.id]
        configure(&configuration)
        let board = DepthBoard(historySeconds: 900, ttlSeconds: 300)
        let engine = Engine(configuration: configuration, board: board,
                            stats: IngestStats(strategyIds: configuration.enabledStrategyIds), sink: sink)
        return (engine, sink, board)
    }

    static func partial(label: String, id: Int64, bid: Double, ask: Double, timeMs: Int64 = 1_700_000_000_000) -> String {
        #"{"stream":"\#(label.lowercased())@depth20@100ms","data":{"lastUpdateId":\#(id),"bids":[["\#(bid)","1"],["\#(bid - 0.01)","2"]],"asks":[["\#(ask)","1"],["\#(ask + 0.01)","2"]]},"timestamp":"\#(formatISO8601Millis(timeMs))"}"#
    }

    static func trade(_ symbol: String, price: Double, timeMs: Int64 = 1_700_000_000_000) -> String {
        #"{"stream":"\#(symbol.lowercased())@trade","data":{"e":"trade","E":\#(timeMs),"s":"\#(symbol)","t":1,"p":"\#(price)","q":"1","T":\#(timeMs),"m":false}}"#
    }

    @Test("a partial book labelled with another symbol goes to the one symbol whose price it matches")
    func attributesByEvidence() throws {
        let (engine, _, board) = makeEngine()
        engine.ingest(Self.trade("BTCUSDT", price: 50_000))
        engine.ingest(Self.trade("ETHUSDT", price: 3_000))
        // The upstream labels every partial book with its first symbol (BTCUSDT).
        engine.ingest(Self.partial(label: "BTCUSDT", id: 7, bid: 2_999.99, ask: 3_000.01))
        engine.ingest(Self.partial(label: "BTCUSDT", id: 9, bid: 49_999.99, ask: 50_000.01))
        let eth = try #require(board.cell(SymbolKey(venue: .spot, symbol: "ETHUSDT"), nowMs: 1)?.read { $0.metrics })
        let btc = try #require(board.cell(SymbolKey(venue: .spot, symbol: "BTCUSDT"), nowMs: 1)?.read { $0.metrics })
        #expect(eth.bestBid == 2_999.99)
        #expect(btc.bestBid == 49_999.99)
        #expect(engine.stats.books.attributedByEvidence.value == 1)
        #expect(engine.stats.books.attributedToLabel.value == 1)
    }

    @Test("no symbol consistent, or two: rejected symbol_ambiguous, nothing merged")
    func ambiguous() {
        let (engine, _, board) = makeEngine()
        engine.ingest(Self.trade("USDCUSDT", price: 1.0))
        engine.ingest(Self.trade("BUSDUSDT", price: 1.0))
        engine.ingest(Self.trade("BTCUSDT", price: 50_000))
        // Matches both stablecoins, labelled BTCUSDT whose price contradicts it.
        engine.ingest(Self.partial(label: "BTCUSDT", id: 5, bid: 0.9999, ask: 1.0001))
        // Matches nobody.
        engine.ingest(Self.partial(label: "BTCUSDT", id: 6, bid: 700, ask: 701))
        #expect(engine.stats.rejected(.symbolAmbiguous).value == 2)
        #expect(board.cell(SymbolKey(venue: .spot, symbol: "BTCUSDT"), nowMs: 1) == nil)
        #expect(board.cell(SymbolKey(venue: .spot, symbol: "USDCUSDT"), nowMs: 1) == nil)
    }

    @Test("a diff labelled depth20 is applied as a diff, never read as a book; label mismatch counted")
    func diffUnderPartialLabel() throws {
        let (engine, _, board) = makeEngine()
        engine.ingest(Self.trade("BTCUSDT", price: 100))
        engine.ingest(Self.partial(label: "BTCUSDT", id: 10, bid: 99.99, ask: 100.01))
        let diff = #"{"stream":"btcusdt@depth20@100ms","data":{"e":"depthUpdate","E":1700000000100,"s":"BTCUSDT","U":11,"u":11,"b":[["99.99","0"]],"a":[]}}"#
        engine.ingest(diff)
        let m = try #require(board.cell(SymbolKey(venue: .spot, symbol: "BTCUSDT"), nowMs: 1)?.read { ($0.metrics, $0.book) })
        #expect(m.0.bestBid == 99.99 - 0.01)  // the second level as the frame wrote it
        #expect(m.0.askLevels == 2)
        #expect(m.1.source == .local && m.1.synced && m.1.lastUpdateId == 11)
        #expect(engine.stats.books.labelMismatch(.diffDepth).value == 1)
    }

    @Test("futures: a depthUpdate under a depth20 label chaining by pu is a diff; one with the last diff's ids is a partial book")
    func futuresClassification() {
        let (engine, _, _) = makeEngine { $0.book.attribution = .label }
        func frame(U: Int64, u: Int64, pu: Int64, bid: String) -> String {
            #"{"stream":"btcusdt@depth20@100ms","data":{"e":"depthUpdate","E":1700000000000,"T":1700000000000,"s":"BTCUSDT","U":\#(U),"u":\#(u),"pu":\#(pu),"b":[["\#(bid)","1"]],"a":[["101","1"]]}}"#
        }
        engine.ingest(frame(U: 1, u: 5, pu: 0, bid: "100"))  // no chain yet: unclassified
        engine.ingest(frame(U: 6, u: 9, pu: 5, bid: "100"))  // chains: diff
        engine.ingest(frame(U: 6, u: 9, pu: 5, bid: "100"))  // the same ids: partial book
        let books = engine.stats.books
        #expect(books.futuresUnclassified.value == 1)
        #expect(books.futuresAsDiff.value == 1)
        #expect(books.futuresAsPartial.value == 1)
        #expect(books.labelMismatch(.diffDepth).value == 1)  // only the diff was mislabelled
    }

    @Test("a bookTicker newer than the synced book refreshes the published best levels; an older one does not")
    func bookTickerRefresh() throws {
        let (engine, _, board) = makeEngine { $0.book.attribution = .label }
        let key = SymbolKey(venue: .spot, symbol: "BTCUSDT")
        engine.ingest(Self.partial(label: "BTCUSDT", id: 10, bid: 99.99, ask: 100.01))
        engine.ingest(#"{"stream":"btcusdt@bookTicker","data":{"u":12,"s":"BTCUSDT","b":"99.995","B":"3","a":"100.01","A":"7"}}"#)
        let after = try #require(board.cell(key, nowMs: 1)?.read { ($0.metrics, $0.book, $0.bids, $0.asks) })
        #expect(after.0.bestBid == 99.995 && after.2.prices == [99.995, 99.99, 99.99 - 0.01])
        #expect(after.3.quantities == [7, 2] && after.1.lastUpdateId == 12)
        engine.ingest(#"{"stream":"btcusdt@bookTicker","data":{"u":9,"s":"BTCUSDT","b":"50","B":"3","a":"150","A":"7"}}"#)
        #expect(board.cell(key, nowMs: 1)?.read { $0.metrics.bestBid } == 99.995)
        #expect(engine.stats.books.bookTickerRefreshes.value == 1)
    }

    @Test("an event time years ahead of the receive time is rejected and never moves the watermark or expires symbols")
    func futureTimestamp() {
        let (engine, _, board) = makeEngine { $0.book.attribution = .label }
        let now: Int64 = 1_700_000_000_000
        engine.ingest(Frames.balancedBook("BTCUSDT", timeMs: now), receiveTimeMs: now)
        // Microseconds read as milliseconds: ~53,000 years ahead.
        engine.ingest(Self.trade("ETHUSDT", price: 3000, timeMs: now * 1000), receiveTimeMs: now)
        #expect(engine.stats.rejected(.eventTimeInFuture).value == 1)
        #expect(engine.stats.lastEventTimeMs.value == Int(now))
        // Enough messages for a TTL sweep: BTCUSDT stays.
        for i in 0..<5000 { engine.ingest(Frames.balancedBook("BTCUSDT", timeMs: now + Int64(i)), receiveTimeMs: now + 10_000) }
        #expect(engine.stats.symbolsExpired.value == 0)
        #expect(board.cell(SymbolKey(venue: .spot, symbol: "BTCUSDT"), nowMs: now) != nil)
        // 299 s ahead is accepted (MAX_EVENT_TIME_SKEW_SECONDS 300), old times too.
        engine.ingest(Self.trade("ETHUSDT", price: 3000, timeMs: now + 10_000 + 299_000), receiveTimeMs: now + 10_000)
        engine.ingest(Self.trade("ETHUSDT", price: 3000, timeMs: 1_500_000_000_000), receiveTimeMs: now + 10_000)
        #expect(engine.stats.rejected(.eventTimeInFuture).value == 1)
    }
}
