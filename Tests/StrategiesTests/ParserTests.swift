import Foundation
import Strategies
import Testing

/// Helpers shared by the parser test files.
enum ParserFixtures {
    static let receiveTimeMs: Int64 = 1_234_567

    /// Parses `text` with a fresh parser.
    static func parse(_ text: String, subjectVenue: Venue? = nil, receiveTimeMs: Int64 = receiveTimeMs) -> ParseOutcome {
        var parser = MarketDataParser()
        return parse(text, with: &parser, subjectVenue: subjectVenue, receiveTimeMs: receiveTimeMs)
    }

    static func parse(_ text: String, with parser: inout MarketDataParser, subjectVenue: Venue? = nil,
                      receiveTimeMs: Int64 = receiveTimeMs) -> ParseOutcome
    {
        parse(Array(text.utf8), with: &parser, subjectVenue: subjectVenue, receiveTimeMs: receiveTimeMs)
    }

    static func parse(_ bytes: [UInt8], with parser: inout MarketDataParser, subjectVenue: Venue? = nil,
                      receiveTimeMs: Int64 = receiveTimeMs) -> ParseOutcome
    {
        bytes.withUnsafeBytes { parser.parse($0, subjectVenue: subjectVenue, receiveTimeMs: receiveTimeMs) }
    }

    /// Wraps `data` in the upstream envelope.
    static func envelope(_ stream: String, _ data: String, timestamp: String = "2021-04-05T18:36:37.640000Z") -> String {
        #"{"stream":"\#(stream)","data":\#(data),"timestamp":"\#(timestamp)","message_id":"ac487e87-9dc4-50eb-88c9-934f6d5e9334","source":"binance-websocket","version":"1.0"}"#
    }

    static let envelopeTimeMs: Int64 = 1_617_647_797_640  // 2021-04-05T18:36:37.640Z

    static func trade(_ o: ParseOutcome) -> (TradeEvent, StreamKind, ParseFlags)? {
        if case .event(.trade(let e), let k, let f) = o { return (e, k, f) }
        return nil
    }
    static func ticker(_ o: ParseOutcome) -> (TickerEvent, ParseFlags)? {
        if case .event(.ticker(let e), .ticker, let f) = o { return (e, f) }
        return nil
    }
    static func bookTicker(_ o: ParseOutcome) -> (BookTickerEvent, ParseFlags)? {
        if case .event(.bookTicker(let e), .bookTicker, let f) = o { return (e, f) }
        return nil
    }
    static func depth(_ o: ParseOutcome) -> (DepthEvent, StreamKind, ParseFlags)? {
        if case .event(.depth(let e), let k, let f) = o { return (e, k, f) }
        return nil
    }
}

@Suite("MarketDataParser: one frame per kind and shape")
struct ParserKindTests {
    typealias F = ParserFixtures

    @Test("spot trade (2024 shape, no b/a) yields every field, venue inferred spot")
    func spotTrade() throws {
        let data = #"{"e":"trade","E":1723161255612,"s":"ETHUSDT","t":1520538925,"p":"2683.80000000","q":"0.00200000","T":1723161255611,"m":true,"M":true}"#
        let (e, kind, flags) = try #require(F.trade(F.parse(F.envelope("ethusdt@trade", data))))
        #expect(kind == .trade)
        #expect(flags == [.venueInferred])
        #expect(e == TradeEvent(key: SymbolKey(venue: .spot, symbol: "ETHUSDT"), price: 2683.8, quantity: 0.002,
                                isBuyerMaker: true, tradeId: 1_520_538_925, isAggregate: false,
                                eventTimeMs: 1_723_161_255_612))
    }

    @Test("futures trade carries X and infers usdm")
    func futuresTrade() throws {
        let data = #"{"e":"trade","E":1617647797641,"T":1617647797640,"s":"BTCUSDT","t":123,"p":"58001.10","q":"0.005","X":"MARKET","m":false}"#
        let (e, kind, flags) = try #require(F.trade(F.parse(F.envelope("btcusdt@trade", data))))
        #expect(kind == .trade)
        #expect(flags == [.venueInferred])
        #expect(e == TradeEvent(key: SymbolKey(venue: .usdm, symbol: "BTCUSDT"), price: 58001.10, quantity: 0.005,
                                isBuyerMaker: false, tradeId: 123, isAggregate: false, eventTimeMs: 1_617_647_797_641))
    }

    @Test("spot aggTrade (has M) uses a as the trade id and infers spot")
    func spotAggTrade() throws {
        let data = #"{"e":"aggTrade","E":1617566591315,"s":"BTCUSDT","a":665076760,"p":"58001.03000000","q":"0.08620500","f":745522877,"l":745522877,"T":1617566591314,"m":true,"M":true}"#
        let (e, kind, flags) = try #require(F.trade(F.parse(F.envelope("btcusdt@aggTrade", data))))
        #expect(kind == .aggTrade)
        #expect(flags == [.venueInferred])
        #expect(e == TradeEvent(key: SymbolKey(venue: .spot, symbol: "BTCUSDT"), price: 58001.03, quantity: 0.086205,
                                isBuyerMaker: true, tradeId: 665_076_760, isAggregate: true,
                                eventTimeMs: 1_617_566_591_315))
    }

    @Test("futures aggTrade (no M) infers usdm")
    func futuresAggTrade() throws {
        let data = #"{"e":"aggTrade","E":1617647797640,"a":9445517,"s":"SANDUSDT","p":"0.69067","q":"369","f":12821738,"l":12821738,"T":1617647797485,"m":true}"#
        let (e, kind, flags) = try #require(F.trade(F.parse(F.envelope("sandusdt@aggTrade", data))))
        #expect(kind == .aggTrade)
        #expect(flags == [.venueInferred])
        #expect(e == TradeEvent(key: SymbolKey(venue: .usdm, symbol: "SANDUSDT"), price: 0.69067, quantity: 369,
                                isBuyerMaker: true, tradeId: 9_445_517, isAggregate: true,
                                eventTimeMs: 1_617_647_797_640))
    }

    @Test("trade without m, t: isBuyerMaker false and tradeId 0")
    func tradeOptionalFieldsDefault() throws {
        let (e, _, _) = try #require(F.trade(F.parse(#"{"stream":"btcusdt@trade","data":{"p":"1.5","q":"2"}}"#)))
        #expect(e.isBuyerMaker == false)
        #expect(e.tradeId == 0)
        #expect(e.eventTimeMs == F.receiveTimeMs)
    }

    @Test("spot 24hrTicker: every field, price change read from p (not P)")
    func spotTicker() throws {
        let data = #"{"e":"24hrTicker","E":1723161256000,"s":"ETHUSDT","p":"-0.89000000","P":"-0.033","w":"2683.35266928","x":"2683.80000000","c":"2682.91000000","Q":"0.30180000","b":"2682.91000000","B":"2.39180000","a":"2682.92000000","A":"23.51980000","o":"2683.80000000","h":"2683.90000000","l":"2682.10000000","v":"1.04410000","q":"2801.69","O":1723161255611,"C":1723161256000,"F":1520538925,"L":1520538962,"n":38}"#
        let (e, flags) = try #require(F.ticker(F.parse(F.envelope("ethusdt@ticker", data))))
        #expect(flags == [.venueInferred])
        #expect(e == TickerEvent(key: SymbolKey(venue: .spot, symbol: "ETHUSDT"), lastPrice: 2682.91,
                                 priceChange: -0.89, priceChangePercent: -0.033, openPrice: 2683.8, highPrice: 2683.9,
                                 lowPrice: 2682.1, volume: 1.0441, quoteVolume: 2801.69, bestBid: 2682.91,
                                 bestAsk: 2682.92, eventTimeMs: 1_723_161_256_000))
    }

    @Test("futures 24hrTicker (no best bid/ask) infers usdm and leaves them 0")
    func futuresTicker() throws {
        let data = #"{"e":"24hrTicker","E":1617647798000,"s":"BTCUSDT","p":"10.5","P":"0.02","w":"58000.1","c":"58010.2","Q":"0.010","o":"57999.7","h":"58100.0","l":"57900.0","v":"12.5","q":"725000.5","O":1617561398000,"C":1617647798000,"F":1,"L":9,"n":9}"#
        let (e, flags) = try #require(F.ticker(F.parse(F.envelope("btcusdt@ticker", data))))
        #expect(flags == [.venueInferred])
        #expect(e == TickerEvent(key: SymbolKey(venue: .usdm, symbol: "BTCUSDT"), lastPrice: 58010.2, priceChange: 10.5,
                                 priceChangePercent: 0.02, openPrice: 57999.7, highPrice: 58100, lowPrice: 57900,
                                 volume: 12.5, quoteVolume: 725000.5, bestBid: 0, bestAsk: 0,
                                 eventTimeMs: 1_617_647_798_000))
    }

    @Test("derived usdm ticker with b/a but symbol-precision prices infers usdm")
    func derivedFuturesTicker() throws {
        let data = #"{"e":"24hrTicker","E":1617647798000,"s":"SANDUSDT","p":"0.00007","P":"0.010","w":"0.69069","x":"0.69067","c":"0.69074","Q":"122","b":"0.69029","B":"560","a":"0.69076","A":"560","o":"0.69067","h":"0.69074","l":"0.69067","v":"491","q":"339.13","O":1617647797485,"C":1617647798000,"F":9445517,"L":9445518,"n":2}"#
        let (e, _) = try #require(F.ticker(F.parse(F.envelope("sandusdt@ticker", data))))
        #expect(e.key == SymbolKey(venue: .usdm, symbol: "SANDUSDT"))
        #expect(e.bestBid == 0.69029 && e.bestAsk == 0.69076)
    }

    @Test("ticker with only c: other fields 0")
    func minimalTicker() throws {
        let (e, _) = try #require(F.ticker(F.parse(#"{"stream":"btcusdt@ticker","data":{"c":"5"}}"#, subjectVenue: .spot)))
        #expect(e == TickerEvent(key: SymbolKey(venue: .spot, symbol: "BTCUSDT"), lastPrice: 5,
                                 eventTimeMs: F.receiveTimeMs))
    }

    @Test("spot bookTicker (no e/E/T): spot, event time from the envelope timestamp")
    func spotBookTicker() throws {
        let data = #"{"u":499822861,"s":"ZILUSDT","b":"0.21437000","B":"2800.00000000","a":"0.21449000","A":"11400.00000000"}"#
        let (e, flags) = try #require(F.bookTicker(F.parse(F.envelope("zilusdt@bookTicker", data))))
        #expect(flags == [.venueInferred])
        #expect(e == BookTickerEvent(key: SymbolKey(venue: .spot, symbol: "ZILUSDT"), bidPrice: 0.21437,
                                     bidQuantity: 2800, askPrice: 0.21449, askQuantity: 11400, updateId: 499_822_861,
                                     eventTimeMs: F.envelopeTimeMs))
    }

    @Test("futures bookTicker (e, E, T): usdm, E is the event time")
    func futuresBookTicker() throws {
        let data = #"{"e":"bookTicker","u":303212650041,"s":"NEOUSDT","b":"57.273","B":"1.89","a":"57.289","A":"6.10","T":1617647797639,"E":1617647797643}"#
        let (e, flags) = try #require(F.bookTicker(F.parse(F.envelope("neousdt@bookTicker", data))))
        #expect(flags == [.venueInferred])
        #expect(e == BookTickerEvent(key: SymbolKey(venue: .usdm, symbol: "NEOUSDT"), bidPrice: 57.273, bidQuantity: 1.89,
                                     askPrice: 57.289, askQuantity: 6.10, updateId: 303_212_650_041,
                                     eventTimeMs: 1_617_647_797_643))
    }

    @Test("spot partial depth {lastUpdateId,bids,asks}: symbol from the stream, every level, envelope time")
    func spotPartialDepth() throws {
        let data = #"{"lastUpdateId":499822903,"bids":[["0.21436000","5897.80000000"],["0.21435000","10920.80000000"]],"asks":[["0.21449000","11400.00000000"],["0.21450000","0.00000000"],["0.21451000","7.5"]]}"#
        let (e, kind, flags) = try #require(F.depth(F.parse(F.envelope("zilusdt@depth20@100ms", data))))
        #expect(kind == .partialDepth)
        #expect(flags == [.venueInferred, .symbolFromLabel])
        #expect(e == DepthEvent(key: SymbolKey(venue: .spot, symbol: "ZILUSDT"), isSnapshot: true, firstUpdateId: 0,
                                finalUpdateId: 499_822_903, previousFinalUpdateId: -1,
                                bids: PriceLevels([(0.21436, 5897.8), (0.21435, 10920.8)]),
                                asks: PriceLevels([(0.21449, 11400), (0.2145, 0), (0.21451, 7.5)]),
                                eventTimeMs: F.envelopeTimeMs))
    }

    @Test("futures depthUpdate under a depth20 label {e,E,T,s,U,u,pu,b,a}: usdm, ids, E, left ambiguous for the engine")
    func futuresPartialDepth() throws {
        let data = #"{"e":"depthUpdate","E":1617647797984,"T":1617647797973,"s":"BATUSDT","U":303212654508,"u":303212656228,"pu":303212651104,"b":[["1.2236","49.4"],["1.2234","290.0"]],"a":[["1.2237","80.5"]]}"#
        let (e, kind, flags) = try #require(F.depth(F.parse(F.envelope("batusdt@depth20@100ms", data))))
        #expect(kind == .diffDepth)
        #expect(flags == [.venueInferred])
        #expect(e.isAmbiguous)
        #expect({ var plain = e; plain.isAmbiguous = false; return plain }() == DepthEvent(key: SymbolKey(venue: .usdm, symbol: "BATUSDT"), isSnapshot: false,
                                firstUpdateId: 303_212_654_508, finalUpdateId: 303_212_656_228,
                                previousFinalUpdateId: 303_212_651_104,
                                bids: PriceLevels([(1.2236, 49.4), (1.2234, 290)]), asks: PriceLevels([(1.2237, 80.5)]),
                                eventTimeMs: 1_617_647_797_984))
    }

    @Test("spot diff depth: not a snapshot, zero quantities kept, pu -1, spot")
    func spotDiffDepth() throws {
        let data = #"{"e":"depthUpdate","E":1617566591307,"s":"DOTUSDT","U":1513939202,"u":1513939205,"b":[["43.50830000","7.00000000"],["43.50500000","0.00000000"]],"a":[]}"#
        let (e, kind, flags) = try #require(F.depth(F.parse(F.envelope("dotusdt@depth@100ms", data))))
        #expect(kind == .diffDepth)
        #expect(flags == [.venueInferred])
        #expect(e == DepthEvent(key: SymbolKey(venue: .spot, symbol: "DOTUSDT"), isSnapshot: false,
                                firstUpdateId: 1_513_939_202, finalUpdateId: 1_513_939_205, previousFinalUpdateId: -1,
                                bids: PriceLevels([(43.5083, 7), (43.505, 0)]), asks: PriceLevels([]),
                                eventTimeMs: 1_617_566_591_307))
    }

    @Test("futures diff depth (pu) infers usdm; diffs are never checked for crossing")
    func futuresDiffDepth() throws {
        let data = #"{"e":"depthUpdate","E":1617647797599,"T":1617647797571,"s":"BATUSDT","U":10,"u":20,"pu":9,"b":[["1.3","425.9"]],"a":[["1.2","475.3"]]}"#
        let (e, kind, _) = try #require(F.depth(F.parse(F.envelope("batusdt@depth@100ms", data))))
        #expect(kind == .diffDepth)
        #expect(e == DepthEvent(key: SymbolKey(venue: .usdm, symbol: "BATUSDT"), isSnapshot: false, firstUpdateId: 10,
                                finalUpdateId: 20, previousFinalUpdateId: 9, bids: PriceLevels([(1.3, 425.9)]),
                                asks: PriceLevels([(1.2, 475.3)]), eventTimeMs: 1_617_647_797_599))
    }

    @Test("REST-style snapshot with E/T under a partial stream infers usdm")
    func futuresRestSnapshotShape() throws {
        let data = #"{"lastUpdateId":7,"E":1617647797886,"T":1617647797881,"bids":[["1.2236","49.4"]],"asks":[["1.2237","1"]]}"#
        let (e, _, _) = try #require(F.depth(F.parse(#"{"stream":"batusdt@depth20","data":\#(data)}"#)))
        #expect(e.key.venue == .usdm)
        #expect(e.finalUpdateId == 7)
        #expect(e.eventTimeMs == 1_617_647_797_886)
    }

    @Test("stream suffixes are matched exactly", arguments: [
        ("btcusdt@depth", StreamKind.diffDepth), ("btcusdt@depth@0ms", .diffDepth), ("btcusdt@depth@100ms", .diffDepth),
        ("btcusdt@depth@250ms", .diffDepth), ("btcusdt@depth@500ms", .diffDepth), ("btcusdt@depth@1000ms", .diffDepth),
        ("btcusdt@depth5", .partialDepth), ("btcusdt@depth10", .partialDepth), ("btcusdt@depth20", .partialDepth),
        ("btcusdt@depth5@100ms", .partialDepth), ("btcusdt@depth10@250ms", .partialDepth),
        ("btcusdt@depth20@500ms", .partialDepth),
    ])
    func depthSuffixes(stream: String, kind: StreamKind) throws {
        // A payload that names no kind (no `e`, not the spot partial shape): the label decides.
        let data = #"{"U":1,"u":1,"b":[["1","1"]],"a":[["2","1"]]}"#
        let (_, parsedKind, _) = try #require(F.depth(F.parse(#"{"stream":"\#(stream)","data":\#(data)}"#)))
        #expect(parsedKind == kind)
    }

    @Test("kline and markPrice streams are recognised and ignored", arguments: [
        ("ethusdt@kline_1m", StreamKind.kline), ("btcusdt@kline_1h", .kline), ("btcusdt@kline", .kline),
        ("btcusdt@kline_15m", .kline), ("btcusdt@kline_1h@+08:00", .kline), ("btcusdt@markPrice", .markPrice),
        ("btcusdt@markPrice@1s", .markPrice),
    ])
    func ignoredKinds(stream: String, kind: StreamKind) {
        // The label decides when the payload has no `e`; a payload's `e` wins over the label.
        let bare = #"{"E":1617566591776,"s":"ETHUSDT","k":{"t":1617566580000,"i":"1m","o":"2063.88000000","x":false}}"#
        #expect(F.parse(F.envelope(stream, bare)) == .ignored(kind))
        let kline = #"{"e":"kline","E":1617566591776,"s":"ETHUSDT","k":{"t":1617566580000,"i":"1m","o":"2063.88000000","x":false}}"#
        #expect(F.parse(F.envelope(stream, kline)) == .ignored(.kline))
    }
}

@Suite("MarketDataParser: envelope, key order, number forms, symbol, venue, time")
struct ParserEnvelopeTests {
    typealias F = ParserFixtures
    static let tradeData = #"{"e":"trade","E":1723161255612,"s":"ETHUSDT","t":1520538925,"p":"2683.80000000","q":"0.00200000","T":1723161255611,"m":true,"M":true}"#

    @Test("bare {stream,data} and the full envelope give the same event")
    func envelopeVersusBare() {
        let bare = F.parse(#"{"stream":"ethusdt@trade","data":\#(Self.tradeData)}"#)
        let full = F.parse(F.envelope("ethusdt@trade", Self.tradeData))
        #expect(F.trade(bare) != nil)
        #expect(bare == full)
    }

    @Test("envelope with _otel_trace_context and unknown nested keys is accepted")
    func otelAndUnknownKeys() {
        let text = #"{"stream":"ethusdt@trade","data":\#(Self.tradeData),"timestamp":"2024-08-08T23:54:15Z","message_id":"x","source":"binance-websocket","version":"1.0","extra":[1,{"z":[null,true,false,-0.5e-3]}],"_otel_trace_context":{"traceparent":"00-2489e02cdd46151648188d82c9201b56-cd4b90b1761a40e5-03"}}"#
        #expect(F.parse(text) == F.parse(F.envelope("ethusdt@trade", Self.tradeData)))
    }

    @Test("key order does not matter: data before stream, data keys reversed")
    func keyOrderSwapped() {
        let reversed = #"{"M":true,"m":true,"T":1723161255611,"q":"0.00200000","p":"2683.80000000","t":1520538925,"s":"ETHUSDT","E":1723161255612,"e":"trade"}"#
        let swapped = #"{"version":"1.0","data":\#(reversed),"timestamp":"2021-04-05T18:36:37.640000Z","stream":"ethusdt@trade"}"#
        let normal = F.parse(F.envelope("ethusdt@trade", Self.tradeData))
        #expect(F.trade(normal) != nil)
        #expect(F.parse(swapped) == normal)
    }

    @Test("envelope timestamp after data is still used for event time")
    func timestampAfterData() throws {
        let text = #"{"data":{"lastUpdateId":5,"bids":[["1","1"]],"asks":[["2","1"]]},"stream":"btcusdt@depth5","timestamp":"2024-02-29T12:00:00.5Z"}"#
        let (e, _, _) = try #require(F.depth(F.parse(text)))
        #expect(e.eventTimeMs == 1_709_208_000_500)
    }

    @Test("prices as JSON numbers equal prices as strings; ids as strings equal ids as numbers")
    func numbersVersusStrings() {
        let strings = #"{"stream":"btcusdt@bookTicker","data":{"u":42,"s":"BTCUSDT","b":"58000.01","B":"1.5","a":"58000.02","A":"0.25"}}"#
        let numbers = #"{"stream":"btcusdt@bookTicker","data":{"u":"42","s":"BTCUSDT","b":58000.01,"B":1.5,"a":5.800002e4,"A":0.25}}"#
        #expect(F.bookTicker(F.parse(strings)) != nil)
        #expect(F.parse(strings) == F.parse(numbers))
        let depthStrings = #"{"stream":"btcusdt@depth","data":{"U":1,"u":2,"b":[["1.5","2"]],"a":[["1.6","0"]]}}"#
        let depthNumbers = #"{"stream":"btcusdt@depth","data":{"U":1,"u":2,"b":[[1.5,2]],"a":[[1.6,0]]}}"#
        #expect(F.depth(F.parse(depthStrings)) != nil)
        #expect(F.parse(depthStrings) == F.parse(depthNumbers))
    }

    @Test("pretty-printed frames with whitespace everywhere parse")
    func whitespace() throws {
        let text = " \n{ \"stream\" : \"ethusdt@trade\" ,\r\n\t\"data\" : { \"p\" : \"2683.8\" , \"q\" : 0.002 , \"E\" : 7 , \"s\" : \"ETHUSDT\" } } \n"
        let (e, _, _) = try #require(F.trade(F.parse(text)))
        #expect(e.price == 2683.8 && e.quantity == 0.002 && e.eventTimeMs == 7)
    }

    @Test("escaped characters in keys and strings are decoded")
    func escapes() throws {
        let text = #"{"str\u0065am":"ethusdt\u0040trade","data":{"\u0070":"\u0032683.8","q":"0.5","s":"ETH\/USDT"}}"#
        let (e, kind, flags) = try #require(F.trade(F.parse(text)))
        #expect(kind == .trade)
        #expect(e.price == 2683.8)
        #expect(e.key.symbol == "ETH/USDT")
        #expect(flags.contains(.symbolMismatch))
    }

    @Test("extra entries in a level are ignored")
    func extraLevelEntries() throws {
        let text = #"{"stream":"btcusdt@depth","data":{"b":[["1.5","2","x",[1,{"y":null}]]],"a":[]}}"#
        let (e, _, _) = try #require(F.depth(F.parse(text)))
        #expect(e.bids == PriceLevels([(1.5, 2)]))
    }

    @Test("data.s wins over the stream symbol and sets symbolMismatch")
    func symbolMismatch() throws {
        let text = #"{"stream":"btcusdt@trade","data":{"s":"ETHUSDT","p":"1","q":"1"}}"#
        let (e, _, flags) = try #require(F.trade(F.parse(text)))
        #expect(e.key.symbol == "ETHUSDT")
        #expect(flags == [.symbolMismatch, .venueInferred])
    }

    @Test("matching symbols in any case set no mismatch; the stream symbol is upper-cased")
    func symbolCase() throws {
        let (e1, _, f1) = try #require(F.trade(F.parse(#"{"stream":"ethusdt@trade","data":{"s":"ethUSDT","p":"1","q":"1"}}"#)))
        #expect(e1.key.symbol == "ETHUSDT")
        #expect(!f1.contains(.symbolMismatch))
        let (e2, _, f2) = try #require(F.depth(F.parse(#"{"stream":"1000shibusdt@depth5","data":{"lastUpdateId":1,"bids":[],"asks":[]}}"#)))
        #expect(e2.key.symbol == "1000SHIBUSDT")
        #expect(!f2.contains(.symbolMismatch))
    }

    @Test("a symbol longer than 15 bytes still works")
    func longSymbol() throws {
        let long = "averyveryverylongsymbolname0123456789usdt"
        let (e, _, _) = try #require(F.trade(F.parse(#"{"stream":"\#(long)@trade","data":{"p":"1","q":"1"}}"#)))
        #expect(e.key.symbol == long.uppercased())
    }

    @Test("subjectVenue overrides the frame's shape and clears venueInferred")
    func subjectVenueWins() throws {
        let futures = #"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":1,"u":2,"pu":0,"b":[],"a":[]}}"#
        let (e1, _, f1) = try #require(F.depth(F.parse(futures, subjectVenue: .spot)))
        #expect(e1.key.venue == .spot)
        #expect(f1 == [])
        let (e2, _, f2) = try #require(F.depth(F.parse(futures)))
        #expect(e2.key.venue == .usdm)
        #expect(f2 == [.venueInferred])
    }

    @Test("event time precedence: E > T > envelope timestamp > receive time")
    func eventTimePrecedence() throws {
        let ts = "2021-04-05T18:36:37.640000Z"
        let both = F.envelope("btcusdt@trade", #"{"p":"1","q":"1","E":111,"T":222}"#, timestamp: ts)
        let onlyT = F.envelope("btcusdt@trade", #"{"p":"1","q":"1","T":222}"#, timestamp: ts)
        let none = F.envelope("btcusdt@trade", #"{"p":"1","q":"1"}"#, timestamp: ts)
        let bare = #"{"stream":"btcusdt@trade","data":{"p":"1","q":"1"}}"#
        let badTimestamp = F.envelope("btcusdt@trade", #"{"p":"1","q":"1"}"#, timestamp: "yesterday")
        #expect(try #require(F.trade(F.parse(both))).0.eventTimeMs == 111)
        #expect(try #require(F.trade(F.parse(onlyT))).0.eventTimeMs == 222)
        #expect(try #require(F.trade(F.parse(none))).0.eventTimeMs == F.envelopeTimeMs)
        #expect(try #require(F.trade(F.parse(bare, receiveTimeMs: 999))).0.eventTimeMs == 999)
        #expect(try #require(F.trade(F.parse(badTimestamp, receiveTimeMs: 998))).0.eventTimeMs == 998)
    }

    @Test("null optional fields take their defaults")
    func nullOptionals() throws {
        let text = #"{"stream":"btcusdt@trade","data":{"p":"1","q":"1","m":null,"t":null,"E":null,"T":5}}"#
        let (e, _, _) = try #require(F.trade(F.parse(text)))
        #expect(e.isBuyerMaker == false && e.tradeId == 0 && e.eventTimeMs == 5)
    }

    @Test("nesting 64 deep is accepted, 65 is malformed")
    func nestingLimit() {
        // The envelope is depth 1, so 63 more levels reach 64.
        let ok = #"{"stream":"btcusdt@trade","x":"# + String(repeating: "[", count: 63) + String(repeating: "]", count: 63)
            + #","data":{"p":"1","q":"1"}}"#
        let tooDeep = #"{"stream":"btcusdt@trade","x":"# + String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
            + #","data":{"p":"1","q":"1"}}"#
        #expect(F.trade(F.parse(ok)) != nil)
        #expect(F.parse(tooDeep) == .rejected(.malformedJSON))
    }

    @Test("a held depth event keeps its levels after the parser reuses its scratch buffers")
    func scratchReuseIsCopyOnWrite() throws {
        var parser = MarketDataParser()
        let first = F.parse(#"{"stream":"btcusdt@depth5","data":{"lastUpdateId":1,"bids":[["10","1"],["9","2"]],"asks":[["11","3"]]}}"#, with: &parser)
        let second = F.parse(#"{"stream":"btcusdt@depth5","data":{"lastUpdateId":2,"bids":[["20","1"]],"asks":[["21","3"],["22","4"]]}}"#, with: &parser)
        let (e1, _, _) = try #require(F.depth(first))
        let (e2, _, _) = try #require(F.depth(second))
        #expect(e1.bids == PriceLevels([(10, 1), (9, 2)]))
        #expect(e1.asks == PriceLevels([(11, 3)]))
        #expect(e2.bids == PriceLevels([(20, 1)]))
        #expect(e2.asks == PriceLevels([(21, 3), (22, 4)]))
    }

    @Test("a frame with both b and bids under a partial stream uses bids/asks whatever the order")
    func bothLevelSpellings() throws {
        let text = #"{"stream":"btcusdt@depth5","data":{"bids":[["5","1"]],"asks":[["6","1"]],"b":[["1","1"]],"a":[["2","1"]]}}"#
        let (e, _, _) = try #require(F.depth(F.parse(text)))
        #expect(e.bids == PriceLevels([(5, 1)]))
        #expect(e.asks == PriceLevels([(6, 1)]))
    }
}

@Suite("Decimal parsing")
struct DecimalParserTests {
    @Test("matches Double(String) exactly on typical and awkward decimals")
    func matchesStandardLibrary() {
        let fixed = ["0", "-0", "0.0", "1", "0.1", "0.2", "0.3", "2683.80000000", "0.21437000", "58001.03000000",
                     "146321.71560700", "0.00000001", "99999999.99999999", "1e22", "1e23", "1.7976931348623157e308",
                     "4.9e-324", "2.2250738585072014e-308", "9007199254740993", "9007199254740992.5",
                     "123456789012345678901234567890", "0.1234567890123456789012", "1e-400", "00012.5",
                     "3.14159265358979323846264338327950288", "1E5", "1e+5", "1e-5", "-42.125", "8.98846567431158e307"]
        for s in fixed {
            #expect(parseDecimal(s) == Double(s), "\(s)")
        }
        var rng = SplitMix64(seed: 7)
        for _ in 0..<20_000 {
            let intDigits = Int(rng.next() % 12)
            let fracDigits = Int(rng.next() % 12)
            var s = String(rng.next() % 1_000_000_000_000).prefix(max(1, intDigits))
            if fracDigits > 0 { s += "." + String(String(rng.next()).prefix(fracDigits)) }
            if rng.next() % 5 == 0 { s += "e" + String(Int(rng.next() % 60) - 30) }
            let text = String(s)
            #expect(parseDecimal(text) == Double(text), "\(text)")
        }
    }

    @Test("rejects anything outside the decimal grammar and non-finite values", arguments: [
        "", "-", "+1", ".5", "5.", "1e", "1e+", "0x10", "nan", "NaN", "inf", "-inf", "Infinity", " 1", "1 ", "1,5",
        "1e999", "-1e999", "1.2.3", "--1", "1_000",
    ])
    func rejects(text: String) {
        #expect(parseDecimal(text) == nil)
    }
}

@Suite("ISO-8601 timestamps")
struct TimestampTests {
    @Test("parses upstream formats with 0 to 9 fractional digits", arguments: [
        ("2021-04-05T18:36:37Z", Int64(1_617_647_797_000)), ("2021-04-05T18:36:37.6Z", 1_617_647_797_600),
        ("2021-04-05T18:36:37.64Z", 1_617_647_797_640), ("2021-04-05T18:36:37.640Z", 1_617_647_797_640),
        ("2021-04-05T18:36:37.6401Z", 1_617_647_797_640), ("2021-04-05T18:36:37.64019Z", 1_617_647_797_640),
        ("2021-04-05T18:36:37.640000Z", 1_617_647_797_640), ("2021-04-05T18:36:37.6409999Z", 1_617_647_797_640),
        ("2021-04-05T18:36:37.64099999Z", 1_617_647_797_640), ("2021-04-05T18:36:37.640999999Z", 1_617_647_797_640),
        ("2021-04-05T18:36:37.640000+00:00", 1_617_647_797_640), ("2021-04-05T20:36:37.640+02:00", 1_617_647_797_640),
        ("2021-04-05T17:06:37.640-0130", 1_617_647_797_640), ("2021-04-05t18:36:37.640z", 1_617_647_797_640),
        ("1970-01-01T00:00:00Z", 0), ("1969-12-31T23:59:59.999Z", -1), ("1900-01-01T00:00:00Z", -2_208_988_800_000),
        ("2024-02-29T00:00:00Z", 1_709_164_800_000), ("2000-02-29T12:00:00Z", 951_825_600_000),
        ("9999-12-31T23:59:59.999Z", 253_402_300_799_999), ("0000-01-01T00:00:00Z", -62_167_219_200_000),
    ])
    func parses(text: String, ms: Int64) {
        #expect(parseISO8601Millis(text) == ms)
    }

    @Test("rejects malformed or out-of-range timestamps", arguments: [
        "", "2021-04-05", "2021-04-05T18:36:37", "2021-04-05T18:36:37.Z", "2021-04-05T18:36:37.6400000000Z",
        "2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2021-13-01T00:00:00Z", "2021-00-01T00:00:00Z",
        "2021-04-31T00:00:00Z", "2021-04-05T24:00:00Z", "2021-04-05T18:60:00Z", "2021-04-05T18:36:60Z",
        "2021-04-05T18:36:37+24:00", "2021-04-05T18:36:37Zx", "2021-04-05X18:36:37Z", "21-04-05T18:36:37Z",
        "2021-04-05T18:36:37+0", "yesterday",
    ])
    func rejects(text: String) {
        #expect(parseISO8601Millis(text) == nil)
    }

    @Test("formats milliseconds as YYYY-MM-DDTHH:MM:SS.mmmZ", arguments: [
        (Int64(1_617_647_797_640), "2021-04-05T18:36:37.640Z"), (0, "1970-01-01T00:00:00.000Z"),
        (-1, "1969-12-31T23:59:59.999Z"), (1_709_164_800_000, "2024-02-29T00:00:00.000Z"),
        (-2_208_988_800_000, "1900-01-01T00:00:00.000Z"), (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
    ])
    func formats(ms: Int64, text: String) {
        #expect(formatISO8601Millis(ms) == text)
    }

    @Test("formatting extreme values does not trap and keeps the shape")
    func extremes() {
        #expect(formatISO8601Millis(Int64.max).hasSuffix(".807Z"))
        #expect(formatISO8601Millis(Int64.min).hasPrefix("-"))
        #expect(formatISO8601Millis(-62_167_219_200_001) == "-0001-12-31T23:59:59.999Z")
    }

    @Test("format then parse round-trips, before and after 1970, across leap days")
    func roundTrip() {
        var rng = SplitMix64(seed: 99)
        let span: UInt64 = 253_402_300_799_999 + 62_167_219_200_000
        for _ in 0..<20_000 {
            let ms = Int64(rng.next() % span) - 62_167_219_200_000
            #expect(parseISO8601Millis(formatISO8601Millis(ms)) == ms, "\(ms)")
        }
        for day in stride(from: Int64(-800), through: 800, by: 1) {  // every day around 1970
            let ms = day * 86_400_000 + 12_345
            #expect(parseISO8601Millis(formatISO8601Millis(ms)) == ms)
        }
    }

    @Test("agrees with Foundation's ISO8601DateFormatter on millisecond timestamps")
    func agreesWithFoundation() {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        for ms in [Int64(1_617_647_797_640), 1_723_161_255_612, 951_825_600_123, 1_709_164_800_001] {
            let date = Date(timeIntervalSince1970: Double(ms) / 1000)
            #expect(formatISO8601Millis(ms) == formatter.string(from: date))
        }
    }
}
