import Foundation
import Strategies
import Testing

/// One bad input and the exact rejection it must get.
struct MalformedCase: Sendable, CustomTestStringConvertible {
    var name: String
    var bytes: [UInt8]
    var reason: RejectReason
    var testDescription: String { "\(reason): \(name)" }

    init(_ name: String, _ text: String, _ reason: RejectReason) {
        self.name = name
        self.bytes = Array(text.utf8)
        self.reason = reason
    }

    init(_ name: String, bytes: [UInt8], _ reason: RejectReason) {
        self.name = name
        self.bytes = bytes
        self.reason = reason
    }
}

enum MalformedTable {
    static let goodTrade = ParserFixtures.envelope("ethusdt@trade", #"{"e":"trade","E":1723161255612,"s":"ETHUSDT","t":1520538925,"p":"2683.80000000","q":"0.00200000","T":1723161255611,"m":true,"M":true}"#)
    static let goodTradeEvent = ParseOutcome.event(
        .trade(TradeEvent(key: SymbolKey(venue: .spot, symbol: "ETHUSDT"), price: 2683.8, quantity: 0.002,
                          isBuyerMaker: true, tradeId: 1_520_538_925, isAggregate: false,
                          eventTimeMs: 1_723_161_255_612)),
        kind: .trade, flags: [.venueInferred])
    static let goodDepth = ParserFixtures.envelope("zilusdt@depth20@100ms", #"{"lastUpdateId":499822903,"bids":[["0.21436000","5897.80000000"],["0.21435000","10920.80000000"]],"asks":[["0.21449000","11400.00000000"]]}"#)
    static let goodDepthEvent = ParseOutcome.event(
        .depth(DepthEvent(key: SymbolKey(venue: .spot, symbol: "ZILUSDT"), isSnapshot: true, finalUpdateId: 499_822_903,
                          bids: PriceLevels([(0.21436, 5897.8), (0.21435, 10920.8)]),
                          asks: PriceLevels([(0.21449, 11400)]), eventTimeMs: ParserFixtures.envelopeTimeMs)),
        kind: .partialDepth, flags: [.venueInferred, .symbolFromLabel])

    static func trade(_ data: String, stream: String = "btcusdt@trade") -> String {
        #"{"stream":"\#(stream)","data":\#(data)}"#
    }

    static func withString(_ prefix: String, _ raw: [UInt8], _ suffix: String) -> [UInt8] {
        Array(prefix.utf8) + raw + Array(suffix.utf8)
    }

    static let cases: [MalformedCase] = [
        // Malformed JSON, anywhere in the frame.
        .init("empty input", "", .malformedJSON),
        .init("only whitespace", "  \n\t", .malformedJSON),
        .init("truncated in the middle", String(goodTrade.prefix(goodTrade.utf8.count / 2)), .malformedJSON),
        .init("truncated before the final brace", String(goodTrade.dropLast()), .malformedJSON),
        .init("unterminated string", #"{"stream":"btcusdt@trade"#, .malformedJSON),
        .init("trailing garbage", goodTrade + " x", .malformedJSON),
        .init("two documents", goodTrade + "{}", .malformedJSON),
        .init("NUL after the document", goodTrade + "\u{0}", .malformedJSON),
        .init("trailing comma in object", trade(#"{"p":"1","q":"1",}"#), .malformedJSON),
        .init("trailing comma in level array", #"{"stream":"btcusdt@depth","data":{"b":[["1","1"],],"a":[]}}"#, .malformedJSON),
        .init("empty value in array", #"{"stream":"btcusdt@depth","data":{"b":[,],"a":[]}}"#, .malformedJSON),
        .init("invalid escape", trade(#"{"p":"1","q":"1","s":"BTC\xUSDT"}"#), .malformedJSON),
        .init("short unicode escape", trade(#"{"p":"1","q":"1","s":"BTC\u12"}"#), .malformedJSON),
        .init("lone high surrogate", trade(#"{"p":"1","q":"1","s":"\ud800"}"#), .malformedJSON),
        .init("high surrogate followed by a non-surrogate", trade(#"{"p":"1","q":"1","s":"\ud800\u0041"}"#), .malformedJSON),
        .init("lone low surrogate", trade(#"{"p":"1","q":"1","z":"\udc00"}"#), .malformedJSON),
        .init("invalid UTF-8 byte in a string", bytes: withString(#"{"stream":"btcusdt@trade","data":{"p":"1","q":"1","z":""#, [0xFF], #""}}"#), .malformedJSON),
        .init("overlong UTF-8", bytes: withString(#"{"stream":"btcusdt@trade","data":{"p":"1","q":"1","z":""#, [0xC0, 0xAF], #""}}"#), .malformedJSON),
        .init("UTF-8 encoded surrogate", bytes: withString(#"{"stream":"btcusdt@trade","data":{"p":"1","q":"1","z":""#, [0xED, 0xA0, 0x80], #""}}"#), .malformedJSON),
        .init("truncated UTF-8 sequence", bytes: withString(#"{"stream":"btcusdt@trade","data":{"p":"1","q":"1","z":""#, [0xE2, 0x82], #""}}"#), .malformedJSON),
        .init("code point above U+10FFFF", bytes: withString(#"{"stream":"btcusdt@trade","data":{"p":"1","q":"1","z":""#, [0xF4, 0x90, 0x80, 0x80], #""}}"#), .malformedJSON),
        .init("non-ASCII byte outside strings", bytes: withString(#"{"stream":"btcusdt@trade","data":{"p":"1","q":"1"}"#, [0xC3, 0xA9], "}"), .malformedJSON),
        .init("raw tab inside a string", trade("{\"p\":\"1\",\"q\":\"1\",\"s\":\"BTC\tUSDT\"}"), .malformedJSON),
        .init("number with a leading zero", trade(#"{"p":"1","q":"1","E":0123}"#), .malformedJSON),
        .init("number ending in a dot", trade(#"{"p":"1","q":"1","E":1.}"#), .malformedJSON),
        .init("exponent without digits", trade(#"{"p":1e,"q":"1"}"#), .malformedJSON),
        .init("number with a leading plus", trade(#"{"p":+1,"q":"1"}"#), .malformedJSON),
        .init("bare NaN literal", trade(#"{"p":NaN,"q":"1"}"#), .malformedJSON),
        .init("bare Infinity literal", trade(#"{"p":Infinity,"q":"1"}"#), .malformedJSON),
        .init("misspelled literal", trade(#"{"p":"1","q":"1","m":tru}"#), .malformedJSON),
        .init("single quotes", #"{'stream':'btcusdt@trade','data':{'p':'1','q':'1'}}"#, .malformedJSON),
        .init("unquoted key", #"{stream:"btcusdt@trade","data":{"p":"1","q":"1"}}"#, .malformedJSON),
        .init("missing colon", #"{"stream" "btcusdt@trade","data":{"p":"1","q":"1"}}"#, .malformedJSON),
        .init("missing comma", #"{"stream":"btcusdt@trade" "data":{"p":"1","q":"1"}}"#, .malformedJSON),
        .init("comment", #"{"stream":"btcusdt@trade",/*x*/"data":{"p":"1","q":"1"}}"#, .malformedJSON),
        .init("top-level array", "[" + trade(#"{"p":"1","q":"1"}"#) + "]", .malformedJSON),
        .init("top-level string", #""btcusdt@trade""#, .malformedJSON),
        .init("top-level number", "42", .malformedJSON),
        .init("vertical tab as whitespace", "{\u{0B}\"stream\":\"btcusdt@trade\",\"data\":{\"p\":\"1\",\"q\":\"1\"}}", .malformedJSON),
        .init("nesting 65 deep", #"{"stream":"btcusdt@trade","data":{"p":"1","q":"1","k":"# + String(repeating: "[", count: 63) + String(repeating: "]", count: 63) + "}}", .malformedJSON),
        .init("bad JSON after an unknown stream", #"{"stream":"btcusdt@miniTicker","data":{"p":"1",}}"#, .malformedJSON),

        // Unknown streams: exact suffix matching.
        .init("miniTicker", trade(#"{"p":"1","q":"1"}"#, stream: "btcusdt@miniTicker"), .unknownStream),
        .init("tradex", trade(#"{"p":"1","q":"1"}"#, stream: "btcusdt@tradex"), .unknownStream),
        .init("Trade (case)", trade(#"{"p":"1","q":"1"}"#, stream: "btcusdt@Trade"), .unknownStream),
        .init("trade with a trailing space", trade(#"{"p":"1","q":"1"}"#, stream: "btcusdt@trade "), .unknownStream),
        .init("24hrTicker", trade(#"{"c":"1"}"#, stream: "btcusdt@24hrTicker"), .unknownStream),
        .init("ticker_1h", trade(#"{"c":"1"}"#, stream: "btcusdt@ticker_1h"), .unknownStream),
        .init("depth30", trade(#"{"b":[],"a":[]}"#, stream: "btcusdt@depth30"), .unknownStream),
        .init("depth20@200ms", trade(#"{"b":[],"a":[]}"#, stream: "btcusdt@depth20@200ms"), .unknownStream),
        .init("depth@100ms@x", trade(#"{"b":[],"a":[]}"#, stream: "btcusdt@depth@100ms@x"), .unknownStream),
        .init("kline_ without interval", trade("{}", stream: "btcusdt@kline_"), .unknownStream),
        .init("markPrice@3s", trade("{}", stream: "btcusdt@markPrice@3s"), .unknownStream),
        .init("forceOrder", trade("{}", stream: "btcusdt@forceOrder"), .unknownStream),
        .init("no @", trade(#"{"p":"1","q":"1"}"#, stream: "btcusdt"), .unknownStream),
        .init("empty symbol", trade(#"{"p":"1","q":"1"}"#, stream: "@trade"), .unknownStream),
        .init("empty suffix", trade(#"{"p":"1","q":"1"}"#, stream: "btcusdt@"), .unknownStream),
        .init("missing stream", #"{"data":{"p":"1","q":"1"}}"#, .unknownStream),
        .init("stream is a number", #"{"stream":5,"data":{"p":"1","q":"1"}}"#, .unknownStream),
        .init("stream is null", #"{"stream":null,"data":{"p":"1","q":"1"}}"#, .unknownStream),
        .init("empty object", "{}", .unknownStream),

        // Missing fields or wrong JSON types.
        .init("no data", #"{"stream":"btcusdt@trade"}"#, .missingField),
        .init("data is null", #"{"stream":"btcusdt@trade","data":null}"#, .missingField),
        .init("data is a string", #"{"stream":"btcusdt@trade","data":"{}"}"#, .missingField),
        .init("data is an array", #"{"stream":"btcusdt@trade","data":[{"p":"1","q":"1"}]}"#, .missingField),
        .init("empty data", trade("{}"), .missingField),
        .init("trade without p", trade(#"{"q":"1"}"#), .missingField),
        .init("trade without q", trade(#"{"p":"1"}"#), .missingField),
        .init("aggTrade without q", trade(#"{"p":"1","a":5}"#, stream: "btcusdt@aggTrade"), .missingField),
        .init("p is a boolean", trade(#"{"p":true,"q":"1"}"#), .missingField),
        .init("p is null", trade(#"{"p":null,"q":"1"}"#), .missingField),
        .init("p is an object", trade(#"{"p":{"v":"1"},"q":"1"}"#), .missingField),
        .init("m is a string", trade(#"{"p":"1","q":"1","m":"true"}"#), .missingField),
        .init("E is a boolean", trade(#"{"p":"1","q":"1","E":true}"#), .missingField),
        .init("s is a number", trade(#"{"p":"1","q":"1","s":5}"#), .missingField),
        .init("s is empty", trade(#"{"p":"1","q":"1","s":""}"#), .missingField),
        .init("ticker without c", trade(#"{"p":"1","o":"2"}"#, stream: "btcusdt@ticker"), .missingField),
        .init("bookTicker without A", trade(#"{"b":"1","B":"1","a":"2"}"#, stream: "btcusdt@bookTicker"), .missingField),
        .init("bookTicker b is an array", trade(#"{"b":["1"],"B":"1","a":"2","A":"1"}"#, stream: "btcusdt@bookTicker"), .missingField),
        .init("spot partial without asks", trade(#"{"lastUpdateId":1,"bids":[]}"#, stream: "btcusdt@depth20"), .missingField),
        .init("futures partial without a", trade(#"{"u":1,"pu":0,"b":[]}"#, stream: "btcusdt@depth20@100ms"), .missingField),
        .init("diff with bids/asks instead of b/a", trade(#"{"bids":[],"asks":[]}"#, stream: "btcusdt@depth@100ms"), .missingField),
        .init("levels are a string", trade(#"{"b":"x","a":[]}"#, stream: "btcusdt@depth"), .missingField),
        .init("level with one entry", trade(#"{"b":[["1"]],"a":[]}"#, stream: "btcusdt@depth"), .missingField),
        .init("empty level", trade(#"{"b":[],"a":[[]]}"#, stream: "btcusdt@depth"), .missingField),
        .init("level is not an array", trade(#"{"b":["1","2"],"a":[]}"#, stream: "btcusdt@depth"), .missingField),
        .init("level price is null", trade(#"{"b":[[null,"2"]],"a":[]}"#, stream: "btcusdt@depth"), .missingField),
        .init("level quantity is a boolean", trade(#"{"b":[],"a":[["1",false]]}"#, stream: "btcusdt@depth"), .missingField),

        // Numbers that do not parse or are not finite.
        .init("price \"nan\"", trade(#"{"p":"nan","q":"1"}"#), .invalidNumber),
        .init("price \"NaN\"", trade(#"{"p":"NaN","q":"1"}"#), .invalidNumber),
        .init("price \"inf\"", trade(#"{"p":"inf","q":"1"}"#), .invalidNumber),
        .init("price \"-inf\"", trade(#"{"p":"-inf","q":"1"}"#), .invalidNumber),
        .init("price \"Infinity\"", trade(#"{"p":"Infinity","q":"1"}"#), .invalidNumber),
        .init("price \"1e999\"", trade(#"{"p":"1e999","q":"1"}"#), .invalidNumber),
        .init("price 1e999 as a JSON number", trade(#"{"p":1e999,"q":"1"}"#), .invalidNumber),
        .init("1e999 in a field we do not read", trade(#"{"p":"1","q":"1","f":1e999}"#), .invalidNumber),
        .init("price empty string", trade(#"{"p":"","q":"1"}"#), .invalidNumber),
        .init("price \"1.2.3\"", trade(#"{"p":"1.2.3","q":"1"}"#), .invalidNumber),
        .init("price hex", trade(#"{"p":"0x10","q":"1"}"#), .invalidNumber),
        .init("price with a leading plus", trade(#"{"p":"+1","q":"1"}"#), .invalidNumber),
        .init("price \".5\"", trade(#"{"p":".5","q":"1"}"#), .invalidNumber),
        .init("price with a leading space", trade(#"{"p":" 1","q":"1"}"#), .invalidNumber),
        .init("fractional event time", trade(#"{"p":"1","q":"1","E":1.5}"#), .invalidNumber),
        .init("event time with an exponent", trade(#"{"p":"1","q":"1","E":1e3}"#), .invalidNumber),
        .init("trade id \"12a\"", trade(#"{"p":"1","q":"1","t":"12a"}"#), .invalidNumber),
        .init("trade id beyond Int64", trade(#"{"p":"1","q":"1","t":9223372036854775808}"#), .invalidNumber),
        .init("level price \"abc\"", trade(#"{"b":[["abc","1"]],"a":[]}"#, stream: "btcusdt@depth"), .invalidNumber),
        .init("level quantity \"inf\"", trade(#"{"b":[],"a":[["1","inf"]]}"#, stream: "btcusdt@depth"), .invalidNumber),
        .init("ticker c \"nan\"", trade(#"{"c":"nan"}"#, stream: "btcusdt@ticker"), .invalidNumber),
        .init("bookTicker u fractional", trade(#"{"u":1.5,"b":"1","B":"1","a":"2","A":"1"}"#, stream: "btcusdt@bookTicker"), .invalidNumber),

        // Negative prices and quantities.
        .init("negative price", trade(#"{"p":"-1","q":"1"}"#), .negativeValue),
        .init("negative quantity", trade(#"{"p":"1","q":"-0.5"}"#), .negativeValue),
        .init("negative price as a JSON number", trade(#"{"p":-3,"q":"1"}"#), .negativeValue),
        .init("negative bookTicker quantity", trade(#"{"b":"1","B":"-1","a":"2","A":"1"}"#, stream: "btcusdt@bookTicker"), .negativeValue),
        .init("negative level price", trade(#"{"b":[["-1","1"]],"a":[]}"#, stream: "btcusdt@depth"), .negativeValue),
        .init("negative level quantity", trade(#"{"lastUpdateId":1,"bids":[],"asks":[["1","-2"]]}"#, stream: "btcusdt@depth10"), .negativeValue),
        .init("negative ticker volume", trade(#"{"c":"1","v":"-1"}"#, stream: "btcusdt@ticker"), .negativeValue),
        .init("negative ticker last price", trade(#"{"c":"-5"}"#, stream: "btcusdt@ticker"), .negativeValue),

        // Crossed books.
        .init("bookTicker bid equals ask", trade(#"{"b":"2","B":"1","a":"2","A":"1"}"#, stream: "btcusdt@bookTicker"), .crossedBook),
        .init("bookTicker bid above ask", trade(#"{"b":"2.5","B":"1","a":"2","A":"1"}"#, stream: "btcusdt@bookTicker"), .crossedBook),
        .init("spot partial depth crossed", trade(#"{"lastUpdateId":1,"bids":[["10","1"],["9","1"]],"asks":[["9.5","1"]]}"#, stream: "btcusdt@depth5"), .crossedBook),
        // A futures depthUpdate is a diff to the parser (docs/BOOKS.md): only partial books are checked.
        .init("spot partial depth locked", trade(#"{"lastUpdateId":1,"bids":[["10","1"]],"asks":[["10","1"]]}"#, stream: "btcusdt@depth20@100ms"), .crossedBook),
    ]
}

@Suite("MalformedInputTests: every bad input is rejected with its exact reason")
struct MalformedInputTests {
    @Test("bad input is rejected with its reason and the next good messages still parse", arguments: MalformedTable.cases)
    func rejectsThenRecovers(_ c: MalformedCase) {
        var parser = MarketDataParser()
        #expect(ParserFixtures.parse(c.bytes, with: &parser) == .rejected(c.reason))
        #expect(ParserFixtures.parse(MalformedTable.goodDepth, with: &parser) == MalformedTable.goodDepthEvent)
        #expect(ParserFixtures.parse(c.bytes, with: &parser) == .rejected(c.reason))
        #expect(ParserFixtures.parse(MalformedTable.goodTrade, with: &parser) == MalformedTable.goodTradeEvent)
    }

    @Test("the whole table through one parser instance, interleaved with good frames")
    func oneInstanceThroughTheTable() {
        var parser = MarketDataParser()
        var held: [ParseOutcome] = []
        for c in MalformedTable.cases {
            #expect(ParserFixtures.parse(c.bytes, with: &parser) == .rejected(c.reason), "\(c.name)")
            let good = ParserFixtures.parse(MalformedTable.goodDepth, with: &parser)
            #expect(good == MalformedTable.goodDepthEvent, "after \(c.name)")
            held.append(good)  // keep events alive: the scratch buffers must copy, not corrupt them
            #expect(ParserFixtures.parse(MalformedTable.goodTrade, with: &parser) == MalformedTable.goodTradeEvent)
        }
        #expect(held.allSatisfy { $0 == MalformedTable.goodDepthEvent })
    }

    @Test("edge cases that are NOT rejections: zero prices/quantities, crossed diffs, negative ticker change")
    func acceptedEdgeCases() {
        let zeroBid = ParserFixtures.parse(MalformedTable.trade(#"{"b":"0","B":"0","a":"2","A":"1"}"#, stream: "btcusdt@bookTicker"))
        #expect(ParserFixtures.bookTicker(zeroBid)?.0.bidPrice == 0)
        let emptyBids = ParserFixtures.parse(MalformedTable.trade(#"{"lastUpdateId":1,"bids":[],"asks":[["1","1"]]}"#, stream: "btcusdt@depth5"))
        #expect(ParserFixtures.depth(emptyBids)?.0.bids.isEmpty == true)
        let crossedDiff = ParserFixtures.parse(MalformedTable.trade(#"{"b":[["10","1"]],"a":[["9","1"]]}"#, stream: "btcusdt@depth"))
        #expect(ParserFixtures.depth(crossedDiff)?.0.bids.prices == [10])
        let zeroQty = ParserFixtures.parse(MalformedTable.trade(#"{"p":"0","q":"0"}"#))
        #expect(ParserFixtures.trade(zeroQty)?.0.quantity == 0)
        let negativeChange = ParserFixtures.parse(MalformedTable.trade(#"{"c":"1","p":"-0.5","P":"-1.2"}"#, stream: "btcusdt@ticker"))
        #expect(ParserFixtures.ticker(negativeChange)?.0.priceChange == -0.5)
        let negativeZero = ParserFixtures.parse(MalformedTable.trade(#"{"p":"-0","q":"-0.0"}"#))
        #expect(ParserFixtures.trade(negativeZero)?.0.price == 0)
        let tinyNumber = ParserFixtures.parse(MalformedTable.trade(#"{"p":1e-999,"q":"1"}"#))
        #expect(ParserFixtures.trade(tinyNumber)?.0.price == 0)
    }

    @Test("random bytes and random splices never crash; whatever JSONSerialization rejects is malformedJSON")
    func randomGarbage() {
        var parser = MarketDataParser()
        var rng = SplitMix64(seed: 42)
        let seeds = [Array(MalformedTable.goodTrade.utf8), Array(MalformedTable.goodDepth.utf8)]
        var checked = 0
        // PARSER_FUZZ_ROUNDS raises the count for a longer local run (debug builds bounds-check
        // every raw buffer read, so an out-of-bounds read would trap here).
        let rounds = Int(ProcessInfo.processInfo.environment["PARSER_FUZZ_ROUNDS"] ?? "") ?? 20_000
        for round in 0..<rounds {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                bytes = seeds[Int(rng.next() % 2)]
                for _ in 0..<Int(1 + rng.next() % 4) {
                    switch rng.next() % 3 {
                    case 0: bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
                    case 1: bytes.remove(at: Int(rng.next() % UInt64(bytes.count)))
                    default: bytes.insert(Array(#"{}[]",:"#.utf8)[Int(rng.next() % 7)], at: Int(rng.next() % UInt64(bytes.count)))
                    }
                }
            }
            let outcome = ParserFixtures.parse(bytes, with: &parser)
            do {
                _ = try JSONSerialization.jsonObject(with: Data(bytes))
            } catch {
                if !"\(error)".contains("not representable") {
                    checked += 1
                    #expect(outcome == .rejected(.malformedJSON), "\(bytes)")
                }
            }
        }
        #expect(checked > rounds / 2)
        #expect(ParserFixtures.parse(MalformedTable.goodTrade, with: &parser) == MalformedTable.goodTradeEvent)
    }
}
