import Foundation
import Strategies
import Testing

/// Differential tests: every recorded frame in `../shared/binance-real` is decoded twice, by
/// the fast `MarketDataParser` and by `JSONSerialization` plus the slow `Reference` mapping
/// below (written from the parser's specification, not from its code), and the outcomes must
/// be identical: kind, symbol, venue, every price and quantity of every level, ids, event time,
/// flags, rejection reason.
///
/// The venue is checked against the file the frame came from (`usdm_*` → usdm, else spot), so
/// these tests also verify the venue-inference rules on every frame.
@Suite("Parser differential tests on real Binance data")
struct ParserDifferentialTests {
    /// Arbitrary receive time, distinct from any event time in the data.
    static let receiveTimeMs: Int64 = 1_999_999_999_999

    // Skipped (reported as such by Swift Testing) when the data set is not checked out next to
    // the project; `dataSetAbsentNotice` then prints why.
    @Test("every recorded frame parses exactly as JSONSerialization plus the reference mapping",
          .enabled(if: SharedData.isAvailable))
    func everyRecordedFrameMatchesReference() throws {
        var parser = MarketDataParser()
        var grandTotal = 0
        var grandMismatches = 0
        let files = SharedData.files()
        #expect(files.count >= 11, "expected the cryptofeed, hftbacktest, replay and REST snapshot files")
        for file in files {
            let frames = try Self.frames(of: file)
            let fileVenue: Venue = file.venue == "usdm" ? .usdm : .spot
            var tally: [String: Int] = [:]
            var mismatches = 0
            var foundationFailures = 0
            for frame in frames {
                guard let json = try? JSONSerialization.jsonObject(with: frame) else {
                    foundationFailures += 1
                    continue
                }
                for subjectVenue in [nil, fileVenue] {
                    let expected = Reference.outcome(json, subjectVenue: subjectVenue, fileVenue: fileVenue,
                                                     receiveTimeMs: Self.receiveTimeMs)
                    let actual = frame.withUnsafeBytes {
                        parser.parse($0, subjectVenue: subjectVenue, receiveTimeMs: Self.receiveTimeMs)
                    }
                    if actual != expected {
                        mismatches += 1
                        if mismatches <= 3 {
                            print("MISMATCH \(file.name) venue=\(String(describing: subjectVenue)):\n  frame: \(String(decoding: frame.prefix(400), as: UTF8.self))\n  fast:  \(actual)\n  ref:   \(expected)")
                        }
                    }
                    if subjectVenue == nil { tally[Self.label(actual), default: 0] += 1 }
                }
            }
            grandTotal += frames.count
            grandMismatches += mismatches
            let breakdown = tally.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            print("differential \(file.name): \(frames.count) frames, \(mismatches) mismatches [\(breakdown)]")
            #expect(foundationFailures == 0, "\(file.name): JSONSerialization rejected recorded frames")
            #expect(mismatches == 0, "\(file.name): fast parser and reference disagree")
            #expect(frames.count > 0, "\(file.name) is empty")
        }
        print("differential total: \(grandTotal) frames, \(grandMismatches) mismatches")
        #expect(grandTotal > 100_000)
    }

    @Test("mutated frames: whenever JSONSerialization rejects, the parser rejects as malformedJSON; otherwise it matches the reference",
          .enabled(if: SharedData.isAvailable))
    func mutatedFramesAreRejectedLikeFoundation() throws {
        var parser = MarketDataParser()
        var rng = SplitMix64(seed: 0x5EED_B1A9)
        var mutated = 0
        var rejectedByFoundation = 0
        var acceptedByFoundation = 0
        var failures = 0
        let palette: [UInt8] = Array(#"{}[]",:\-+.eE0519 tnu"#.utf8) + [0x00, 0x7F, 0x80, 0xC3, 0xFF, 0x0A, 0x09]
        for file in SharedData.files() {
            let frames = try Self.frames(of: file)
            let fileVenue: Venue = file.venue == "usdm" ? .usdm : .spot
            let stride = max(1, frames.count / 400)
            for index in Swift.stride(from: 0, to: frames.count, by: stride) {
                let original = frames[index]
                guard let originalJSON = try? JSONSerialization.jsonObject(with: original) else { continue }
                let originalExpected = Reference.outcome(originalJSON, subjectVenue: fileVenue, fileVenue: fileVenue,
                                                         receiveTimeMs: Self.receiveTimeMs)
                var variants: [Data] = []
                let n = original.count
                guard n > 0 else { continue }
                for cut in [0, 1, n / 4, n / 2, n - 2, n - 1, Int(rng.next() % UInt64(max(n, 1)))] where cut >= 0 && cut < n {
                    variants.append(original.prefix(cut))
                }
                for k in 0..<8 {
                    var bytes = [UInt8](original)
                    let at = Int(rng.next() % UInt64(n))
                    bytes[at] = k < 5 ? palette[Int(rng.next() % UInt64(palette.count))] : UInt8(truncatingIfNeeded: rng.next())
                    variants.append(Data(bytes))
                }
                variants.append(original + Data(" x".utf8))
                variants.append(original + Data("}".utf8))
                variants.append(Data(original.reversed()))
                for variant in variants {
                    mutated += 1
                    let actual = variant.withUnsafeBytes {
                        parser.parse($0, subjectVenue: fileVenue, receiveTimeMs: Self.receiveTimeMs)
                    }
                    var ok: Bool
                    var expectedText: String
                    do {
                        let json = try JSONSerialization.jsonObject(with: variant)
                        acceptedByFoundation += 1
                        let expected = Reference.outcome(json, subjectVenue: fileVenue, fileVenue: fileVenue,
                                                         receiveTimeMs: Self.receiveTimeMs)
                        ok = actual == expected
                        expectedText = "\(expected)"
                    } catch {
                        rejectedByFoundation += 1
                        if "\(error)".contains("not representable") {
                            // A number beyond Double's range: valid JSON grammar that Foundation
                            // refuses. We reject it too (invalidNumber), unless something else
                            // rejected the frame first.
                            if case .rejected(let reason) = actual {
                                ok = [.malformedJSON, .invalidNumber, .unknownStream].contains(reason)
                            } else {
                                ok = false
                            }
                            expectedText = "a rejection"
                        } else {
                            ok = actual == .rejected(.malformedJSON)
                            expectedText = "malformedJSON (\(error))"
                        }
                    }
                    if !ok {
                        failures += 1
                        if failures <= 5 {
                            print("MUTATION MISMATCH \(file.name):\n  bytes: \(String(decoding: variant.prefix(300), as: UTF8.self))\n  fast:  \(actual)\n  want:  \(expectedText)")
                        }
                    }
                    // The parser keeps no state between messages: the good frame still parses.
                    let again = original.withUnsafeBytes {
                        parser.parse($0, subjectVenue: fileVenue, receiveTimeMs: Self.receiveTimeMs)
                    }
                    if again != originalExpected {
                        failures += 1
                        if failures <= 5 { print("STATE LEAK after mutation in \(file.name): \(again)") }
                    }
                }
            }
        }
        print("mutations: \(mutated) variants, \(rejectedByFoundation) rejected by JSONSerialization, \(acceptedByFoundation) accepted, \(failures) failures")
        #expect(failures == 0)
        #expect(rejectedByFoundation > 1000)
    }

    @Test("data set absent: say so", .enabled(if: !SharedData.isAvailable))
    func dataSetAbsentNotice() {
        print(SharedData.skipMessage)
    }

    // MARK: - Helpers

    /// The frames of a file; REST snapshot lines are wrapped as `<sym>@depth20` frames.
    static func frames(of file: SharedData.DataFile) throws -> [Data] {
        let lines = try SharedData.lines(of: file.url)
        guard file.isRestSnapshot else { return lines }
        let symbols = SharedData.restSnapshotSymbols(for: file, count: lines.count)
        return zip(lines, symbols).map { line, symbol in
            Data("{\"stream\":\"\(symbol.lowercased())@depth20\",\"data\":".utf8) + line + Data("}".utf8)
        }
    }

    static func label(_ outcome: ParseOutcome) -> String {
        switch outcome {
        case .event(_, let kind, _): "\(kind)"
        case .ignored(let kind): "ignored_\(kind)"
        case .rejected(let reason): "rejected_\(reason)"
        }
    }
}

/// Deterministic pseudo-random numbers for reproducible mutations.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: - Reference mapping

/// The parser's specification, implemented slowly over Foundation's decoded objects.
enum Reference {
    struct Reject: Error { let reason: RejectReason }

    static func outcome(_ json: Any, subjectVenue: Venue?, fileVenue: Venue, receiveTimeMs: Int64) -> ParseOutcome {
        do {
            return try mapped(json, subjectVenue: subjectVenue, fileVenue: fileVenue, receiveTimeMs: receiveTimeMs)
        } catch let e as Reject {
            return .rejected(e.reason)
        } catch {
            return .rejected(.malformedJSON)
        }
    }

    static let partialSuffixes: Set<String> = {
        var s: Set<String> = []
        for n in ["5", "10", "20"] {
            for speed in ["", "@100ms", "@250ms", "@500ms"] { s.insert("depth\(n)\(speed)") }
        }
        return s
    }()
    static let diffSuffixes: Set<String> = ["depth", "depth@0ms", "depth@100ms", "depth@250ms", "depth@500ms",
                                            "depth@1000ms"]

    static func kind(ofSuffix s: String) -> StreamKind? {
        switch s {
        case "trade": return .trade
        case "aggTrade": return .aggTrade
        case "ticker": return .ticker
        case "bookTicker": return .bookTicker
        case "markPrice", "markPrice@1s": return .markPrice
        default: break
        }
        if partialSuffixes.contains(s) { return .partialDepth }
        if diffSuffixes.contains(s) { return .diffDepth }
        if s == "kline" { return .kline }
        if s.hasPrefix("kline_") && s.utf8.count > 6 { return .kline }
        return nil
    }

    static func asciiUpper(_ s: String) -> String {
        String(decoding: s.utf8.map { (0x61...0x7A).contains($0) ? $0 - 0x20 : $0 }, as: UTF8.self)
    }

    static func mapped(_ json: Any, subjectVenue: Venue?, fileVenue: Venue, receiveTimeMs: Int64) throws -> ParseOutcome {
        guard let env = json as? [String: Any] else { throw Reject(reason: .malformedJSON) }
        // Split on the first '@' byte (not Character: a combining mark could merge into it).
        // The payload decides the kind (docs/BOOKS.md), the label is a hint: `e`, else the spot
        // partial-book and bookTicker shapes, else the label. A depthUpdate is a diff; under a
        // non-diff label a futures one is left to the engine (ambiguous).
        let streamText = env["stream"] as? String
        let at = streamText?.utf8.firstIndex(of: 0x40)
        var labelKind: StreamKind? = nil
        if let streamText, let at {
            labelKind = kind(ofSuffix: String(decoding: streamText.utf8[streamText.utf8.index(after: at)...], as: UTF8.self))
        }
        var kind: StreamKind? = labelKind
        var ambiguous = false
        var mismatch = false
        if let d = env["data"] as? [String: Any] {
            func has(_ k: String) -> Bool { d[k] != nil && !(d[k] is NSNull) }
            func present(_ k: String) -> Bool { d[k] != nil }
            var payload: StreamKind? = nil
            if let e = d["e"] as? String {
                switch e {
                case "trade": payload = .trade
                case "aggTrade": payload = .aggTrade
                case "24hrTicker": payload = .ticker
                case "bookTicker": payload = .bookTicker
                case "kline": payload = .kline
                case "markPriceUpdate": payload = .markPrice
                case "depthUpdate":
                    payload = .diffDepth
                    let futures = subjectVenue.map { $0 == .usdm } ?? (has("pu") || has("T"))
                    if futures && labelKind != .diffDepth { ambiguous = true }
                default: throw Reject(reason: .unknownStream)
                }
                if !ambiguous && payload != labelKind { mismatch = true }
            } else if !has("e") {
                if has("lastUpdateId") && present("bids") && present("asks") {
                    payload = .partialDepth
                } else if has("u") && present("b") && present("a") && present("B") && present("A") {
                    payload = .bookTicker
                }
                if let payload, payload != labelKind { mismatch = true }
            }
            if let payload { kind = payload }
        }
        guard let streamText, let at, at != streamText.utf8.startIndex, let kind else {
            throw Reject(reason: .unknownStream)
        }
        let stream = streamText
        _ = mismatch
        if kind == .kline || kind == .markPrice { return .ignored(kind) }
        guard let d = env["data"] as? [String: Any] else { throw Reject(reason: .missingField) }

        var flags: ParseFlags = subjectVenue == nil ? [.venueInferred] : []
        if mismatch { flags.insert(.labelMismatch) }
        let streamSymbol = asciiUpper(String(decoding: stream.utf8[..<at], as: UTF8.self))
        var symbol = streamSymbol
        if d.keys.contains("s") {
            guard let s = d["s"] as? String, !s.isEmpty else { throw Reject(reason: .missingField) }
            symbol = asciiUpper(s)
            if !symbol.utf8.elementsEqual(streamSymbol.utf8) { flags.insert(.symbolMismatch) }
        } else if kind == .partialDepth {
            flags.insert(.symbolFromLabel)
        }
        let key = SymbolKey(venue: subjectVenue ?? fileVenue, symbol: symbol)

        func eventTime() throws -> Int64 {
            if let e = d["E"], !(e is NSNull) { return try int64(e, default: 0) }
            if let t = d["T"], !(t is NSNull) { return try int64(t, default: 0) }
            if let ts = env["timestamp"] as? String, let ms = isoMillis(ts) { return ms }
            return receiveTimeMs
        }

        switch kind {
        case .trade, .aggTrade:
            let price = try decimal(d["p"], required: true, signed: false)
            let qty = try decimal(d["q"], required: true, signed: false)
            let maker = try bool(d["m"])
            let id = try int64(d[kind == .aggTrade ? "a" : "t"], default: 0)
            let time = try eventTime()
            return .event(.trade(TradeEvent(key: key, price: price, quantity: qty, isBuyerMaker: maker, tradeId: id,
                                            isAggregate: kind == .aggTrade, eventTimeMs: time)),
                          kind: kind, flags: flags)
        case .ticker:
            let c = try decimal(d["c"], required: true, signed: false)
            let p = try decimal(d["p"], required: false, signed: true)
            let pp = try decimal(d["P"], required: false, signed: true)
            let o = try decimal(d["o"], required: false, signed: false)
            let h = try decimal(d["h"], required: false, signed: false)
            let l = try decimal(d["l"], required: false, signed: false)
            let v = try decimal(d["v"], required: false, signed: false)
            let q = try decimal(d["q"], required: false, signed: false)
            let b = try decimal(d["b"], required: false, signed: false)
            let a = try decimal(d["a"], required: false, signed: false)
            let time = try eventTime()
            return .event(.ticker(TickerEvent(key: key, lastPrice: c, priceChange: p, priceChangePercent: pp,
                                              openPrice: o, highPrice: h, lowPrice: l, volume: v, quoteVolume: q,
                                              bestBid: b, bestAsk: a, eventTimeMs: time)),
                          kind: kind, flags: flags)
        case .bookTicker:
            let b = try decimal(d["b"], required: true, signed: false)
            let bq = try decimal(d["B"], required: true, signed: false)
            let a = try decimal(d["a"], required: true, signed: false)
            let aq = try decimal(d["A"], required: true, signed: false)
            let u = try int64(d["u"], default: 0)
            let time = try eventTime()
            if b > 0 && a > 0 && b >= a { throw Reject(reason: .crossedBook) }
            return .event(.bookTicker(BookTickerEvent(key: key, bidPrice: b, bidQuantity: bq, askPrice: a,
                                                      askQuantity: aq, updateId: u, eventTimeMs: time)),
                          kind: kind, flags: flags)
        case .partialDepth, .diffDepth:
            let snapshot = kind == .partialDepth
            let long = snapshot && (d.keys.contains("bids") || d.keys.contains("asks"))
            guard let bidArray = d[long ? "bids" : "b"] as? [Any], let askArray = d[long ? "asks" : "a"] as? [Any] else {
                throw Reject(reason: .missingField)
            }
            let bids = try levels(bidArray)
            let asks = try levels(askArray)
            let first = try int64(d["U"], default: 0)
            let finalValue: Any? = (d["lastUpdateId"].map { !($0 is NSNull) } ?? false) ? d["lastUpdateId"] : d["u"]
            let final = try int64(finalValue, default: 0)
            let previous = try int64(d["pu"], default: -1)
            let time = try eventTime()
            if snapshot, let bb = bids.first?.0, let ba = asks.first?.0, bb > 0, ba > 0, bb >= ba {
                throw Reject(reason: .crossedBook)
            }
            var event = DepthEvent(key: key, isSnapshot: snapshot, firstUpdateId: first, finalUpdateId: final,
                                   previousFinalUpdateId: previous, bids: PriceLevels(bids),
                                   asks: PriceLevels(asks), eventTimeMs: time)
            event.isAmbiguous = ambiguous
            return .event(.depth(event), kind: kind, flags: flags)
        case .kline, .markPrice:
            return .ignored(kind)
        }
    }

    /// Levels: each an array of >= 2 entries, price then quantity; the first problem wins
    /// (price, then quantity, then a short level).
    static func levels(_ array: [Any]) throws -> [(Double, Double)] {
        var out: [(Double, Double)] = []
        for element in array {
            guard let entry = element as? [Any] else { throw Reject(reason: .missingField) }
            let price = try entry.count > 0 ? levelNumber(entry[0]) : 0
            let qty = try entry.count > 1 ? levelNumber(entry[1]) : 0
            guard entry.count >= 2 else { throw Reject(reason: .missingField) }
            out.append((price, qty))
        }
        return out
    }

    static func levelNumber(_ v: Any) throws -> Double {
        if v is NSNull { throw Reject(reason: .missingField) }
        return try decimal(v, required: true, signed: false)
    }

    static func isBool(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

    /// `-?digit+(.digit+)?([eE][+-]?digit+)?`
    static func isDecimalText(_ s: String) -> Bool {
        var it = Array(s.utf8)[...]
        func digits() -> Int {
            var n = 0
            while let c = it.first, (0x30...0x39).contains(c) { it.removeFirst(); n += 1 }
            return n
        }
        if it.first == UInt8(ascii: "-") { it.removeFirst() }
        guard digits() > 0 else { return false }
        if it.first == UInt8(ascii: ".") {
            it.removeFirst()
            guard digits() > 0 else { return false }
        }
        if it.first == UInt8(ascii: "e") || it.first == UInt8(ascii: "E") {
            it.removeFirst()
            if it.first == UInt8(ascii: "+") || it.first == UInt8(ascii: "-") { it.removeFirst() }
            guard digits() > 0 else { return false }
        }
        return it.isEmpty
    }

    static func decimal(_ v: Any?, required: Bool, signed: Bool) throws -> Double {
        guard let v, !(v is NSNull) else {
            if required { throw Reject(reason: .missingField) }
            return 0
        }
        let x: Double
        if let s = v as? String {
            guard isDecimalText(s), let parsed = Double(s) else { throw Reject(reason: .invalidNumber) }
            x = parsed
        } else if let n = v as? NSNumber, !isBool(n) {
            x = n.doubleValue
        } else {
            throw Reject(reason: .missingField)
        }
        guard x.isFinite else { throw Reject(reason: .invalidNumber) }
        if !signed && x < 0 { throw Reject(reason: .negativeValue) }
        return x
    }

    static func int64(_ v: Any?, default d: Int64) throws -> Int64 {
        guard let v, !(v is NSNull) else { return d }
        if let s = v as? String {
            let body = s.hasPrefix("-") ? s.dropFirst() : s[...]
            guard !body.isEmpty, body.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let x = Int64(s) else {
                throw Reject(reason: .invalidNumber)
            }
            return x
        }
        guard let n = v as? NSNumber, !isBool(n) else { throw Reject(reason: .missingField) }
        if n is NSDecimalNumber { throw Reject(reason: .invalidNumber) }
        switch String(cString: n.objCType) {
        case "d", "f": throw Reject(reason: .invalidNumber)
        case "Q": if n.uint64Value > UInt64(Int64.max) { throw Reject(reason: .invalidNumber) }
        default: break
        }
        return n.int64Value
    }

    static func bool(_ v: Any?) throws -> Bool {
        guard let v, !(v is NSNull) else { return false }
        guard let n = v as? NSNumber, isBool(n) else { throw Reject(reason: .missingField) }
        return n.boolValue
    }

    nonisolated(unsafe) static let isoPattern = try! Regex(
        #"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$"#)

    /// ISO-8601 → ms, by counting days year by year (independent of the parser's arithmetic).
    static func isoMillis(_ s: String) -> Int64? {
        guard s.utf8.allSatisfy({ $0 < 0x80 }), let m = try? isoPattern.wholeMatch(in: s) else { return nil }
        func int(_ i: Int) -> Int? { m.output[i].substring.flatMap { Int($0) } }
        guard let y = int(1), let mo = int(2), let d = int(3), let h = int(4), let mi = int(5), let se = int(6) else {
            return nil
        }
        func leap(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }
        let monthDays = [31, leap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...12).contains(mo), (1...monthDays[mo - 1]).contains(d), h < 24, mi < 60, se < 60 else { return nil }
        var days = 0
        if y >= 1970 {
            for year in 1970..<y { days += leap(year) ? 366 : 365 }
        } else {
            for year in y..<1970 { days -= leap(year) ? 366 : 365 }
        }
        days += monthDays[..<(mo - 1)].reduce(0, +) + d - 1
        var seconds = Int64(days) * 86_400 + Int64(h * 3600 + mi * 60 + se)
        if let sign = m.output[9].substring, let oh = int(10), let om = int(11) {
            guard oh < 24, om < 60 else { return nil }
            seconds -= Int64((oh * 3600 + om * 60) * (sign == "-" ? -1 : 1))
        }
        var ms = seconds * 1000
        if let frac = m.output[7].substring {
            ms += Int64(String((frac + "00").prefix(3)))!
        }
        return ms
    }
}
