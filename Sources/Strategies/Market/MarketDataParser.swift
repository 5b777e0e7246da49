/// The hot-path parser for Binance market-data frames as they arrive on NATS.
///
/// Input: the upstream envelope `{stream, data, timestamp, message_id, source, version
/// [, _otel_trace_context]}` or a bare combined-stream frame `{stream, data}`. Keys may come in
/// any order; unknown keys are skipped but validated. The whole frame is validated as JSON in
/// the same single pass that extracts the fields (see `JSONScanner`).
///
/// ## Stream kinds (exact match on the suffix after the first `@`)
/// | suffix | outcome |
/// |---|---|
/// | `trade` | `.trade` |
/// | `aggTrade` | `.aggTrade` |
/// | `ticker` | `.ticker` (24hrTicker) |
/// | `bookTicker` | `.bookTicker` |
/// | `depth5`/`depth10`/`depth20`, optionally `@100ms`/`@250ms`/`@500ms` | `.partialDepth` |
/// | `depth`, `depth@0ms`/`@100ms`/`@250ms`/`@500ms`/`@1000ms` | `.diffDepth` |
/// | `kline`, `kline_<anything non-empty>` | `.ignored(.kline)` |
/// | `markPrice`, `markPrice@1s` | `.ignored(.markPrice)` |
/// | anything else, no `stream`, no `@`, empty symbol part | `.rejected(.unknownStream)` |
///
/// ## Rejection order (the first that applies wins)
/// 1. `malformedJSON`: anything that is not one valid JSON object (truncation, bad escapes,
///    invalid UTF-8 in strings, trailing garbage or commas, nesting deeper than 64).
/// 2. `unknownStream`.
/// 3. `invalidNumber` if any JSON *number token* anywhere in the frame is outside the range of
///    `Double` (e.g. `1e999`): it is valid JSON grammar, but Foundation rejects such documents
///    and so do we, whether or not we read that field.
/// 4. kline / markPrice → `.ignored`.
/// 5. `missingField` if `data` is absent or not an object, or `data.s` is not a non-empty string.
/// 6. Per kind, fields in a fixed order, the first problem wins: a required field absent (or
///    null) or any read field of the wrong JSON type → `missingField`; a number that does not
///    parse or is not finite (`"nan"`, `"inf"`, `"1e999"`, a fractional id) → `invalidNumber`;
///    a negative price/quantity → `negativeValue`; then `crossedBook` (partial depth and
///    bookTicker only, when both best prices are > 0 and bid >= ask).
///
/// Optional fields that are absent or `null` take their defaults. Prices and quantities may be
/// JSON strings or JSON numbers; ids and times may be JSON integers or integer strings.
///
/// ## Event time
/// `E`, else `T`, else the envelope `timestamp` (ISO-8601; ignored if unparsable), else
/// `receiveTimeMs`.
///
/// ## Symbol
/// `data.s` (ASCII upper-cased) when present, else the upper-cased part of `stream` before the
/// first `@`. When both exist and differ, `data.s` wins and `.symbolMismatch` is set.
///
/// ## Venue
/// `subjectVenue` when given. Otherwise inferred from the shape of `data` and
/// `.venueInferred` is set. Verified on every frame of `../shared/binance-real` (all
/// `usdm_5symbols_*` frames infer `.usdm`, all spot files `.spot`):
/// - trade: `X` present → usdm (futures trades carry the order type `X`; spot trades never do).
/// - aggTrade: spot sends `M` (ignore flag), USDⓈ-M does not → no `M` → usdm.
/// - bookTicker: `e`, `E` or `T` present → usdm (spot bookTicker has none of them).
/// - depth (partial and diff): `pu` or `T` present → usdm (spot depth has neither).
/// - ticker: genuinely ambiguous in the data set. Binance's real USDⓈ-M 24hrTicker has no
///   best bid/ask, but the replay's DERIVED usdm tickers carry the full spot key set. What does
///   differ is formatting: spot prints every price with exactly 8 decimals, futures with the
///   symbol's precision. Rule: no `b` and no `a` → usdm; otherwise, `c` as a JSON string whose
///   fraction does not have exactly 8 digits → usdm; otherwise spot. (Hand-written spot tickers
///   with short prices such as `"c":"50000.0"` therefore infer usdm: pass `subjectVenue`.)
///
/// ## Allocation
/// None per message in steady state: the scanner works in place, numbers are parsed from the
/// input bytes, symbols of up to 15 UTF-8 bytes are small strings, and depth levels go into two
/// scratch `PriceLevels` owned by the parser whose storage the returned event shares
/// (copy-on-write). Once the caller drops the event, the next depth frame reuses the capacity.
/// Rare paths allocate: numbers needing the `Double(String)` fallback (more than 19 significant
/// digits or exponents beyond ±22), escaped strings longer than the stack budget, symbols of 16
/// bytes the first time they are seen (they are cached) and symbols longer than 16 bytes.
public struct MarketDataParser {
    private var scratchBids: PriceLevels
    private var scratchAsks: PriceLevels
    /// Recently built symbol strings, so steady traffic does not rebuild them.
    private var symbols = SymbolCache()

    public init() {
        scratchBids = PriceLevels(capacity: 64)
        scratchAsks = PriceLevels(capacity: 64)
    }

    /// Parses one NATS payload.
    ///
    /// - Parameters:
    ///   - bytes: the payload; only read during the call.
    ///   - subjectVenue: the venue tag configured for the NATS subject; nil means infer from
    ///     the frame's shape.
    ///   - receiveTimeMs: the local receive time, the last-resort event time.
    public mutating func parse(_ bytes: UnsafeRawBufferPointer, subjectVenue: Venue?, receiveTimeMs: Int64)
        -> ParseOutcome
    {
        guard bytes.count < Int(Int32.max) else { return .rejected(.malformedJSON) }
        var sc = JSONScanner(bytes)
        var env = EnvelopeFields()
        var f = DataFields()
        var bidSide = SideState()
        var askSide = SideState()
        guard scanFrame(&sc, &env, &f, &bidSide, &askSide), !sc.failed else {
            return .rejected(.malformedJSON)
        }

        // The stream label: a hint for the kind, and the symbol of frames without `s`.
        var label: StreamInfo? = nil
        if env.stream.kind == .string {
            label = withStringContent(bytes, env.stream) { s -> StreamInfo? in
                guard let at = s.firstIndex(of: 0x40), at > 0 else { return nil }  // '@'
                let kind = classifySuffix(UnsafeRawBufferPointer(rebasing: s[(at + 1)...]))
                // Without escapes the symbol part is a range of the input; otherwise keep a decoded
                // copy (and an empty range: `at` indexes the decoded text, not the input).
                if env.stream.hasEscape {
                    return StreamInfo(kind: kind, symbolStart: 0, symbolEnd: 0,
                                      decodedSymbol: uppercasedString(UnsafeRawBufferPointer(rebasing: s[..<at])))
                }
                return StreamInfo(kind: kind, symbolStart: env.stream.start, symbolEnd: env.stream.start + at,
                                  decodedSymbol: nil)
            }
        }
        // The payload decides the kind (wire-contracts §A3: the upstream mislabels depth).
        let payload: PayloadKind = env.data.kind == .object ? payloadKind(bytes, f) : .unknown
        if case .unknownEvent = payload { return .rejected(.unknownStream) }
        let kind: StreamKind
        var ambiguousDepth = false
        var flags: ParseFlags = subjectVenue == nil ? .venueInferred : []
        switch payload {
        case .kind(let k):
            kind = k
            if let labelled = label?.kind, labelled != k { flags.insert(.labelMismatch) }
            if label?.kind == nil { flags.insert(.labelMismatch) }
        case .depthUpdate:
            // Spot partial books never carry `e`, so a spot depthUpdate is a diff. Futures partial
            // and diff depth share the shape: a diff label is trusted (the upstream never invents
            // one); under any other label the engine decides by update-id continuity.
            let futures = subjectVenue.map { $0 == .usdm } ?? (f.pu.hasValue || f.T.hasValue)
            kind = .diffDepth
            if futures && label?.kind != .diffDepth {
                ambiguousDepth = true
            } else if label?.kind != .diffDepth {
                flags.insert(.labelMismatch)
            }
        case .unknown, .unknownEvent:
            guard let labelled = label?.kind else { return .rejected(.unknownStream) }
            kind = labelled
        }
        guard let label, label.symbolEnd >= label.symbolStart else { return .rejected(.unknownStream) }
        if sc.numberOverflow { return .rejected(.invalidNumber) }
        switch kind {
        case .kline, .markPrice: return .ignored(kind)
        default: break
        }
        guard env.data.kind == .object else { return .rejected(.missingField) }

        // Symbol: `data.s`, else the label's (flagged: the engine attributes such books by evidence).
        let streamSymbol = UnsafeRawBufferPointer(rebasing: bytes[label.symbolStart..<label.symbolEnd])
        let symbol: String
        if f.s.isPresent {
            guard f.s.kind == .string, f.s.length > 0 else { return .rejected(.missingField) }
            symbol = withStringContent(bytes, f.s) { symbols.string(uppercasing: $0) }
            let same: Bool
            if let decoded = label.decodedSymbol {
                same = decoded.utf8.elementsEqual(symbol.utf8)
            } else {
                same = withStringContent(bytes, f.s) { asciiCaseInsensitiveEqual($0, streamSymbol) }
            }
            if !same { flags.insert(.symbolMismatch) }
        } else {
            if kind == .partialDepth { flags.insert(.symbolFromLabel) }
            if let decoded = label.decodedSymbol {
                symbol = decoded
            } else {
                symbol = symbols.string(uppercasing: streamSymbol)
            }
        }
        let stream = (kind: kind, ambiguous: ambiguousDepth)

        let r = FieldReader(bytes: bytes)
        var err: RejectReason? = nil
        switch stream.kind {
        case .trade, .aggTrade:
            let isAgg = stream.kind == .aggTrade
            let price = r.decimal(f.p, required: true, signed: false, &err)
            let qty = r.decimal(f.q, required: true, signed: false, &err)
            let maker = r.bool(f.m, &err)
            let id = r.int64(isAgg ? f.a : f.t, default: 0, &err)
            let time = eventTime(r, f.E, f.T, env.timestamp, receiveTimeMs, &err)
            if let err { return .rejected(err) }
            // Futures trades carry `X`; spot aggTrades carry `M`, futures aggTrades do not.
            let venue = subjectVenue ?? (isAgg ? (f.M.hasValue ? .spot : .usdm) : (f.X.hasValue ? .usdm : .spot))
            let e = TradeEvent(key: SymbolKey(venue: venue, symbol: symbol), price: price, quantity: qty,
                               isBuyerMaker: maker, tradeId: id, isAggregate: isAgg, eventTimeMs: time)
            return .event(.trade(e), kind: stream.kind, flags: flags)

        case .ticker:
            let last = r.decimal(f.c, required: true, signed: false, &err)
            let change = r.decimal(f.p, required: false, signed: true, &err)
            let changePct = r.decimal(f.P, required: false, signed: true, &err)
            let open = r.decimal(f.o, required: false, signed: false, &err)
            let high = r.decimal(f.h, required: false, signed: false, &err)
            let low = r.decimal(f.l, required: false, signed: false, &err)
            let volume = r.decimal(f.v, required: false, signed: false, &err)
            let quoteVolume = r.decimal(f.q, required: false, signed: false, &err)
            let bid = r.decimal(f.b, required: false, signed: false, &err)
            let ask = r.decimal(f.a, required: false, signed: false, &err)
            let time = eventTime(r, f.E, f.T, env.timestamp, receiveTimeMs, &err)
            if let err { return .rejected(err) }
            let venue = subjectVenue ?? inferTickerVenue(bytes, b: f.b, a: f.a, c: f.c)
            let e = TickerEvent(key: SymbolKey(venue: venue, symbol: symbol), lastPrice: last, priceChange: change,
                                priceChangePercent: changePct, openPrice: open, highPrice: high, lowPrice: low,
                                volume: volume, quoteVolume: quoteVolume, bestBid: bid, bestAsk: ask,
                                eventTimeMs: time)
            return .event(.ticker(e), kind: .ticker, flags: flags)

        case .bookTicker:
            let bid = r.decimal(f.b, required: true, signed: false, &err)
            let bidQty = r.decimal(f.B, required: true, signed: false, &err)
            let ask = r.decimal(f.a, required: true, signed: false, &err)
            let askQty = r.decimal(f.A, required: true, signed: false, &err)
            let updateId = r.int64(f.u, default: 0, &err)
            let time = eventTime(r, f.E, f.T, env.timestamp, receiveTimeMs, &err)
            if let err { return .rejected(err) }
            if bid > 0 && ask > 0 && bid >= ask { return .rejected(.crossedBook) }
            let venue = subjectVenue ?? ((f.e.hasValue || f.E.hasValue || f.T.hasValue) ? .usdm : .spot)
            let e = BookTickerEvent(key: SymbolKey(venue: venue, symbol: symbol), bidPrice: bid, bidQuantity: bidQty,
                                    askPrice: ask, askQuantity: askQty, updateId: updateId, eventTimeMs: time)
            return .event(.bookTicker(e), kind: .bookTicker, flags: flags)

        case .partialDepth, .diffDepth:
            let snapshot = stream.kind == .partialDepth
            // Partial depth: spot `{lastUpdateId, bids, asks}` or futures `{..., b, a}`.
            // Diffs always use `b`/`a`.
            let longKeys = snapshot && (f.bids.isPresent || f.asks.isPresent)
            let bidKey: DataKey = longKeys ? .bids : .b
            let askKey: DataKey = longKeys ? .asks : .a
            let bidTok = longKeys ? f.bids : f.b
            let askTok = longKeys ? f.asks : f.a
            guard bidTok.kind == .array, askTok.kind == .array else { return .rejected(.missingField) }
            // The scratch sides hold the last array seen for either key; if a frame carried both
            // spellings and the other one came last, parse the chosen one again (rare).
            if bidSide.filledFrom != bidKey {
                bidSide = SideState(filledFrom: bidKey, error: reparseLevels(bytes, bidTok, into: &scratchBids))
            }
            if askSide.filledFrom != askKey {
                askSide = SideState(filledFrom: askKey, error: reparseLevels(bytes, askTok, into: &scratchAsks))
            }
            if let e = bidSide.error { return .rejected(e) }
            if let e = askSide.error { return .rejected(e) }
            let first = r.int64(f.U, default: 0, &err)
            let final = r.int64(f.lastUpdateId.hasValue ? f.lastUpdateId : f.u, default: 0, &err)
            let previous = r.int64(f.pu, default: -1, &err)
            let time = eventTime(r, f.E, f.T, env.timestamp, receiveTimeMs, &err)
            if let err { return .rejected(err) }
            if snapshot, let bestBid = scratchBids.prices.first, let bestAsk = scratchAsks.prices.first,
                bestBid > 0 && bestAsk > 0 && bestBid >= bestAsk
            {
                return .rejected(.crossedBook)
            }
            let venue = subjectVenue ?? ((f.pu.hasValue || f.T.hasValue) ? .usdm : .spot)
            var e = DepthEvent(key: SymbolKey(venue: venue, symbol: symbol), isSnapshot: snapshot,
                               firstUpdateId: first, finalUpdateId: final, previousFinalUpdateId: previous,
                               bids: scratchBids, asks: scratchAsks, eventTimeMs: time)
            e.isAmbiguous = stream.ambiguous
            return .event(.depth(e), kind: stream.kind, flags: flags)

        case .kline, .markPrice:
            return .ignored(stream.kind)
        }
    }

    // MARK: - Frame walk

    /// Walks the envelope object, recording `stream`, `data` and `timestamp`; `data` is walked
    /// in place (recording the fields we read and parsing book levels into the scratch sides).
    /// Returns false on any JSON error.
    private mutating func scanFrame(_ sc: inout JSONScanner, _ env: inout EnvelopeFields, _ f: inout DataFields,
                                    _ bidSide: inout SideState, _ askSide: inout SideState) -> Bool
    {
        sc.skipWhitespace()
        guard sc.consume(0x7B) else { return sc.fail() }
        sc.skipWhitespace()
        if !sc.consume(0x7D) {
            members: while true {
                let member: EnvelopeKey
                if let known = knownEnvelopeKey(&sc) {
                    member = known
                } else {
                    guard let key = sc.scanString() else { return false }
                    sc.skipWhitespace()
                    guard sc.consume(0x3A) else { return sc.fail() }
                    member = envelopeKey(sc.bytes, key)
                }
                sc.skipWhitespace()
                if member == .stream {
                    guard let t = sc.scanValue(depth: 1) else { return false }
                    env.stream = t
                } else if member == .data {
                    if sc.peek == 0x7B {
                        let start = sc.pos
                        f = DataFields()
                        bidSide = SideState()
                        askSide = SideState()
                        guard walkData(&sc, &f, &bidSide, &askSide) else { return false }
                        env.data = JSONToken(kind: .object, start: start, end: sc.pos)
                    } else {
                        guard let t = sc.scanValue(depth: 1) else { return false }
                        env.data = t
                    }
                } else if member == .timestamp {
                    guard let t = sc.scanValue(depth: 1) else { return false }
                    env.timestamp = t
                } else {
                    guard sc.skipValue(depth: 1) else { return false }
                }
                switch sc.afterMember(close: 0x7D) {
                case .more: continue members
                case .done: break members
                case .error: return false
                }
            }
        }
        sc.skipWhitespace()
        return sc.atEnd ? true : sc.fail()
    }

    /// Walks the `data` object (depth 2) whose `{` is at `sc.pos`.
    private mutating func walkData(_ sc: inout JSONScanner, _ f: inout DataFields,
                                   _ bidSide: inout SideState, _ askSide: inout SideState) -> Bool
    {
        guard sc.consume(0x7B) else { return sc.fail() }
        sc.skipWhitespace()
        if sc.consume(0x7D) { return true }
        while true {
            let key: DataKey
            let p = sc.pos
            // Most Binance keys are one plain character: `"X":`.
            if p &+ 3 < sc.count, sc.bytes[p] == 0x22, sc.bytes[p &+ 2] == 0x22, sc.bytes[p &+ 3] == 0x3A,
                sc.bytes[p &+ 1] >= 0x20, sc.bytes[p &+ 1] < 0x80, sc.bytes[p &+ 1] != 0x5C, sc.bytes[p &+ 1] != 0x22
            {
                key = oneByteKey(sc.bytes[p &+ 1])
                sc.pos = p &+ 4
            } else {
                guard let keyTok = sc.scanString() else { return false }
                sc.skipWhitespace()
                guard sc.consume(0x3A) else { return sc.fail() }
                key = dataKey(sc.bytes, keyTok)
            }
            sc.skipWhitespace()
            if key == .none {
                guard sc.skipValue(depth: 2) else { return false }
            } else if key.isLevelKey && sc.peek == 0x5B {
                let start = sc.pos
                var error: RejectReason? = nil
                if key == .b || key == .bids {
                    guard parseLevels(&sc, depth: 3, into: &scratchBids, error: &error) else { return false }
                    bidSide = SideState(filledFrom: key, error: error)
                } else {
                    guard parseLevels(&sc, depth: 3, into: &scratchAsks, error: &error) else { return false }
                    askSide = SideState(filledFrom: key, error: error)
                }
                f.set(key, JSONToken(kind: .array, start: start, end: sc.pos))
            } else {
                guard let t = sc.scanValue(depth: 2) else { return false }
                f.set(key, t)
            }
            switch sc.afterMember(close: 0x7D) {
            case .more: continue
            case .done: return true
            case .error: return false
            }
        }
    }
}

// MARK: - Levels

/// Parses a `[[price, qty, ...], ...]` array whose `[` is at `sc.pos` into `side` (cleared
/// first), validating all of it. `depth` is the depth of the outer array. Semantic problems
/// (a level that is not an array of at least two entries, a non-numeric entry, an unparsable
/// or negative number) are recorded in `error` (first one wins) without stopping validation.
/// Returns false on a JSON error.
private func parseLevels(_ sc: inout JSONScanner, depth: Int, into side: inout PriceLevels,
                         error: inout RejectReason?) -> Bool
{
    side.removeAll()
    guard depth + 1 <= JSONScanner.maxDepth, sc.consume(0x5B) else { return sc.fail() }
    sc.skipWhitespace()
    if sc.consume(0x5D) { return true }
    // Levels are collected on the stack and appended in bulk: one uniqueness check per batch
    // instead of two per level.
    var batch = LevelBatch()
    defer { batch.flush(into: &side) }
    while true {
        // Fast path for the compact shape every Binance level has: ["<decimal>","<decimal>"].
        if let (price, qty, next) = compactLevel(sc.bytes, at: sc.pos) {
            batch.add(price, qty, flushingInto: &side)
            sc.pos = next
        } else if sc.peek == 0x5B {
            sc.pos += 1
            sc.skipWhitespace()
            var n = 0
            var price = 0.0
            var qty = 0.0
            if !sc.consume(0x5D) {
                entries: while true {
                    switch n {
                    case 0: guard readDecimal(&sc, depth: depth + 1, into: &price, error: &error) else { return false }
                    case 1: guard readDecimal(&sc, depth: depth + 1, into: &qty, error: &error) else { return false }
                    default: guard sc.skipValue(depth: depth + 1) else { return false }
                    }
                    n += 1
                    switch sc.afterMember(close: 0x5D) {
                    case .more: continue entries
                    case .done: break entries
                    case .error: return false
                    }
                }
            }
            if n >= 2 {
                batch.add(price, qty, flushingInto: &side)
            } else if error == nil {
                error = .missingField
            }
        } else {
            guard sc.skipValue(depth: depth) else { return false }
            if error == nil { error = .missingField }
        }
        switch sc.afterMember(close: 0x5D) {
        case .more: continue
        case .done: return true
        case .error: return false
        }
    }
}

/// Up to 32 levels buffered on the stack before they are appended to a `PriceLevels`.
private struct LevelBatch {
    private var prices: (SIMD16<Double>, SIMD16<Double>) = (.zero, .zero)
    private var quantities: (SIMD16<Double>, SIMD16<Double>) = (.zero, .zero)
    private var count = 0

    @inline(__always)
    mutating func add(_ price: Double, _ quantity: Double, flushingInto side: inout PriceLevels) {
        if count == 32 { flush(into: &side) }
        let i = count
        withUnsafeMutableBytes(of: &prices) { $0.storeBytes(of: price, toByteOffset: i &* 8, as: Double.self) }
        withUnsafeMutableBytes(of: &quantities) { $0.storeBytes(of: quantity, toByteOffset: i &* 8, as: Double.self) }
        count = i &+ 1
    }

    @inline(__always)
    mutating func flush(into side: inout PriceLevels) {
        guard count > 0 else { return }
        let n = count
        withUnsafeBytes(of: &prices) {
            side.prices.append(contentsOf: UnsafeBufferPointer(start: $0.bindMemory(to: Double.self).baseAddress, count: n))
        }
        withUnsafeBytes(of: &quantities) {
            side.quantities.append(contentsOf: UnsafeBufferPointer(start: $0.bindMemory(to: Double.self).baseAddress, count: n))
        }
        count = 0
    }
}

/// `["<decimal>","<decimal>"]` at `p` with nothing else in it (no whitespace, sign, exponent,
/// escape or extra entry): the two values and the index after `]`. Anything else → nil, and
/// the caller parses the level the general way (which also validates it).
@inline(__always)
private func compactLevel(_ bytes: UnsafeRawBufferPointer, at p: Int) -> (Double, Double, Int)? {
    let n = bytes.count
    guard p &+ 2 < n, bytes[p] == 0x5B, bytes[p &+ 1] == 0x22,
        let (price, q1) = DecimalText.quotedFast(bytes, from: p &+ 2),
        q1 &+ 2 < n, bytes[q1 &+ 1] == 0x2C, bytes[q1 &+ 2] == 0x22,
        let (qty, q2) = DecimalText.quotedFast(bytes, from: q1 &+ 3),
        q2 &+ 1 < n, bytes[q2 &+ 1] == 0x5D
    else { return nil }
    return (price, qty, q2 &+ 2)
}

/// Parses the level array of `tok` again (its JSON was already validated).
private func reparseLevels(_ bytes: UnsafeRawBufferPointer, _ tok: JSONToken, into side: inout PriceLevels)
    -> RejectReason?
{
    var sc = JSONScanner(bytes)
    sc.pos = tok.start
    var error: RejectReason? = nil
    if !parseLevels(&sc, depth: 3, into: &side, error: &error) { return .malformedJSON }
    return error
}

/// Reads a price or quantity (JSON string or number) at `sc.pos`: must be finite and >= 0.
/// Returns false only on a JSON error; semantic problems go to `error`.
@inline(__always)
private func readDecimal(_ sc: inout JSONScanner, depth: Int, into value: inout Double,
                         error: inout RejectReason?) -> Bool
{
    let c = sc.peek
    var parsed: Double?
    if c == 0x22 {
        // Fast paths: the string content is a plain decimal immediately closed by a quote.
        if let (v, quote) = DecimalText.quotedFast(sc.bytes, from: sc.pos &+ 1) {
            sc.pos = quote &+ 1
            parsed = v
        } else if let r = DecimalText.scan(sc.bytes, from: sc.pos + 1, limit: sc.count), sc.byte(at: r.end) == 0x22 {
            sc.pos = r.end + 1
            parsed = r.value
        } else {
            guard let tok = sc.scanString() else { return false }
            parsed = decimalFromString(sc.bytes, tok)
        }
    } else if c == 0x2D || JSONScanner.isDigit(c) {
        guard let tok = sc.scanNumber() else { return false }
        parsed = decimalFromNumber(sc.bytes, tok)
    } else {
        guard sc.skipValue(depth: depth) else { return false }
        if error == nil { error = .missingField }
        return true
    }
    if let v = parsed, v.isFinite {
        if v < 0 {
            if error == nil { error = .negativeValue }
        } else {
            value = v
        }
    } else if error == nil {
        error = .invalidNumber
    }
    return true
}

// MARK: - Field access

/// Parses a number token; nil if not finite.
private func decimalFromNumber(_ bytes: UnsafeRawBufferPointer, _ tok: JSONToken) -> Double? {
    guard let r = DecimalText.scan(bytes, from: tok.start, limit: tok.end), r.end == tok.end, r.value.isFinite else {
        return nil
    }
    return r.value
}

/// Parses the content of a string token as a decimal; nil if it is not one or not finite.
private func decimalFromString(_ bytes: UnsafeRawBufferPointer, _ tok: JSONToken) -> Double? {
    if !tok.hasEscape, let (v, quote) = DecimalText.quotedFast(bytes, from: tok.start), quote == tok.end { return v }
    return withStringContent(bytes, tok) { parseDecimal($0) }
}

/// Calls `body` with the decoded content of a string token: the input bytes themselves when
/// there are no escapes, else a decoded copy in temporary (stack, when small) memory.
@inline(__always)
private func withStringContent<R>(_ bytes: UnsafeRawBufferPointer, _ tok: JSONToken,
                                  _ body: (UnsafeRawBufferPointer) -> R) -> R
{
    let start = max(0, min(tok.start, bytes.count))
    let end = max(start, min(tok.end, bytes.count))
    let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
    if !tok.hasEscape { return body(raw) }
    // Decoding never lengthens: every escape is longer than the UTF-8 it stands for.
    return withUnsafeTemporaryAllocation(byteCount: max(raw.count, 1), alignment: 1) { buf in
        let n = JSONScanner.decodeString(bytes, JSONToken(kind: .string, start: start, end: end, hasEscape: true), into: buf) ?? 0
        return body(UnsafeRawBufferPointer(rebasing: buf[0..<n]))
    }
}

/// An upper-cased (ASCII) copy of `src` as a `String`; up to 15 bytes it is a small string
/// built from a stack buffer, so nothing is allocated.
private func uppercasedString(_ src: UnsafeRawBufferPointer) -> String {
    if src.count <= 32 {
        var buf: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        return withUnsafeMutableBytes(of: &buf) { dst in
            for i in 0..<src.count { dst[i] = asciiUpper(src[i]) }
            return String(decoding: UnsafeRawBufferPointer(rebasing: dst[0..<src.count]), as: UTF8.self)
        }
    }
    return String(decoding: src.map(asciiUpper), as: UTF8.self)
}

/// A small round-robin cache of upper-cased symbol strings (up to 16 bytes, keyed by those
/// bytes and the length). Building a `String` costs a few hundred instructions (UTF-8
/// validation); a hit costs a few dozen, and a cached 16-byte (heap) string is not rebuilt.
private struct SymbolCache {
    private struct Entry {
        var lo: UInt64 = 0
        var hi: UInt64 = 0
        var count: Int = -1
        var string: String = ""
    }
    private var entries: (Entry, Entry, Entry, Entry, Entry, Entry, Entry, Entry) =
        (Entry(), Entry(), Entry(), Entry(), Entry(), Entry(), Entry(), Entry())
    private var next = 0

    /// The ASCII upper-cased `src` as a `String`.
    mutating func string(uppercasing src: UnsafeRawBufferPointer) -> String {
        guard src.count <= 16 else { return uppercasedString(src) }
        var lo: UInt64 = 0
        var hi: UInt64 = 0
        for i in 0..<src.count {
            let c = UInt64(asciiUpper(src[i]))
            if i < 8 { lo |= c << UInt64(i &* 8) } else { hi |= c << UInt64((i &- 8) &* 8) }
        }
        let n = src.count
        return withUnsafeMutableBytes(of: &entries) { raw -> String in
            let table = raw.bindMemory(to: Entry.self)
            for i in 0..<table.count where table[i].count == n && table[i].lo == lo && table[i].hi == hi {
                return table[i].string
            }
            let s = uppercasedString(src)
            table[next] = Entry(lo: lo, hi: hi, count: n, string: s)
            next = (next &+ 1) & 7
            return s
        }
    }
}

/// Typed reads of recorded tokens. Each records the first problem in `err`.
private struct FieldReader {
    let bytes: UnsafeRawBufferPointer

    /// A price, quantity or change: a JSON string or number. Absent or null → 0, or
    /// `missingField` if required. `signed: false` rejects negatives.
    @inline(__always)
    func decimal(_ t: JSONToken, required: Bool, signed: Bool, _ err: inout RejectReason?) -> Double {
        var parsed: Double?
        switch t.kind {
        case .absent, .null:
            if required && err == nil { err = .missingField }
            return 0
        case .string:
            parsed = decimalFromString(bytes, t)
        case .number:
            parsed = decimalFromNumber(bytes, t)
        default:
            if err == nil { err = .missingField }
            return 0
        }
        guard let v = parsed else {
            if err == nil { err = .invalidNumber }
            return 0
        }
        if !signed && v < 0 {
            if err == nil { err = .negativeValue }
            return 0
        }
        return v
    }

    /// An id or time: a JSON integer or an integer string. Absent or null → `default`.
    @inline(__always)
    func int64(_ t: JSONToken, default d: Int64, _ err: inout RejectReason?) -> Int64 {
        var parsed: Int64?
        switch t.kind {
        case .absent, .null:
            return d
        case .number:
            parsed = t.isInteger ? DecimalText.parseInt64(bytes, from: t.start, to: t.end) : nil
        case .string:
            parsed = withStringContent(bytes, t) { DecimalText.parseInt64($0, from: 0, to: $0.count) }
        default:
            if err == nil { err = .missingField }
            return d
        }
        guard let v = parsed else {
            if err == nil { err = .invalidNumber }
            return d
        }
        return v
    }

    /// A flag: `true`/`false`; absent or null → false.
    @inline(__always)
    func bool(_ t: JSONToken, _ err: inout RejectReason?) -> Bool {
        switch t.kind {
        case .trueValue: return true
        case .falseValue, .absent, .null: return false
        default:
            if err == nil { err = .missingField }
            return false
        }
    }
}

/// `E`, else `T`, else the envelope timestamp, else the receive time.
@inline(__always)
private func eventTime(_ r: FieldReader, _ E: JSONToken, _ T: JSONToken, _ timestamp: JSONToken,
                       _ receiveTimeMs: Int64, _ err: inout RejectReason?) -> Int64
{
    if E.hasValue { return r.int64(E, default: receiveTimeMs, &err) }
    if T.hasValue { return r.int64(T, default: receiveTimeMs, &err) }
    if timestamp.kind == .string {
        if let ms = withStringContent(r.bytes, timestamp, { parseISO8601Millis($0) }) { return ms }
    }
    return receiveTimeMs
}

/// See the type documentation: ticker venue is decided by shape, then by price formatting.
private func inferTickerVenue(_ bytes: UnsafeRawBufferPointer, b: JSONToken, a: JSONToken, c: JSONToken) -> Venue {
    if !b.hasValue && !a.hasValue { return .usdm }
    guard c.kind == .string else { return .spot }
    return withStringContent(bytes, c) { s -> Venue in
        guard let dot = s.firstIndex(of: 0x2E) else { return .usdm }
        var digits = 0
        var i = dot + 1
        while i < s.count && JSONScanner.isDigit(s[i]) {
            digits += 1
            i += 1
        }
        return digits == 8 ? .spot : .usdm
    }
}

// MARK: - Payload kinds

private enum PayloadKind {
    /// The payload names its kind.
    case kind(StreamKind)
    /// `e: depthUpdate`: a diff, or (futures) a partial book in the diff's shape.
    case depthUpdate
    /// `e` names an event we do not handle.
    case unknownEvent
    /// Nothing in the payload decides: the label does.
    case unknown
}

/// The kind from the frame's own fields: `e`, else the spot shapes `{lastUpdateId, bids, asks}`
/// (partial book) and `{u, b, a}` (bookTicker).
@inline(__always)
private func payloadKind(_ bytes: UnsafeRawBufferPointer, _ f: DataFields) -> PayloadKind {
    if f.e.kind == .string {
        return withStringContent(bytes, f.e) { e -> PayloadKind in
            switch e.count {
            case 5 where equals(e, "trade"): .kind(.trade)
            case 8 where equals(e, "aggTrade"): .kind(.aggTrade)
            case 10 where equals(e, "24hrTicker"): .kind(.ticker)
            case 10 where equals(e, "bookTicker"): .kind(.bookTicker)
            case 11 where equals(e, "depthUpdate"): .depthUpdate
            case 5 where equals(e, "kline"): .kind(.kline)
            case 15 where equals(e, "markPriceUpdate"): .kind(.markPrice)
            default: .unknownEvent
            }
        }
    }
    if f.e.hasValue { return .unknown }
    if f.lastUpdateId.hasValue && f.bids.isPresent && f.asks.isPresent { return .kind(.partialDepth) }
    if f.u.hasValue && f.b.isPresent && f.a.isPresent && f.B.isPresent && f.A.isPresent { return .kind(.bookTicker) }
    return .unknown
}

// MARK: - Stream names

private struct StreamInfo {
    var kind: StreamKind?
    /// The part before the first `@`, as a range of the input (raw, when there are no escapes).
    var symbolStart: Int
    var symbolEnd: Int
    /// The upper-cased part before the first `@`, when the stream name had escapes.
    var decodedSymbol: String?
}

@inline(__always)
private func asciiUpper(_ c: UInt8) -> UInt8 { (c &- 0x61) < 26 ? c &- 0x20 : c }

/// Equal after ASCII upper-casing.
private func asciiCaseInsensitiveEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    for i in 0..<a.count where asciiUpper(a[i]) != asciiUpper(b[i]) { return false }
    return true
}

/// Matches the stream suffix exactly; nil for an unknown stream.
private func classifySuffix(_ s: UnsafeRawBufferPointer) -> StreamKind? {
    switch s.count {
    case 5 where equals(s, "trade"): return .trade
    case 8 where equals(s, "aggTrade"): return .aggTrade
    case 6 where equals(s, "ticker"): return .ticker
    case 10 where equals(s, "bookTicker"): return .bookTicker
    case 9 where equals(s, "markPrice"): return .markPrice
    case 12 where equals(s, "markPrice@1s"): return .markPrice
    default: break
    }
    if hasPrefix(s, "kline") {
        let rest = UnsafeRawBufferPointer(rebasing: s[5...])
        if rest.isEmpty { return .kline }
        // `kline_<interval>` with anything non-empty after the underscore (`1m`, `1h`, and the
        // spot time-zone form `1h@+08:00`): it is only counted, so the interval is not checked.
        return rest.count >= 2 && rest[0] == 0x5F ? .kline : nil
    }
    if hasPrefix(s, "depth") {
        var rest = UnsafeRawBufferPointer(rebasing: s[5...])
        var levels = 0
        if hasPrefix(rest, "5") {
            levels = 1
        } else if hasPrefix(rest, "10") || hasPrefix(rest, "20") {
            levels = 2
        }
        if levels > 0 {
            rest = UnsafeRawBufferPointer(rebasing: rest[levels...])
            if rest.isEmpty || equals(rest, "@100ms") || equals(rest, "@250ms") || equals(rest, "@500ms") {
                return .partialDepth
            }
            return nil
        }
        if rest.isEmpty || equals(rest, "@0ms") || equals(rest, "@100ms") || equals(rest, "@250ms")
            || equals(rest, "@500ms") || equals(rest, "@1000ms")
        {
            return .diffDepth
        }
    }
    return nil
}

@inline(__always)
private func equals(_ s: UnsafeRawBufferPointer, _ lit: StaticString) -> Bool {
    s.count == lit.utf8CodeUnitCount && hasPrefix(s, lit)
}

@inline(__always)
private func hasPrefix(_ s: UnsafeRawBufferPointer, _ lit: StaticString) -> Bool {
    let n = lit.utf8CodeUnitCount
    guard s.count >= n else { return false }
    let p = lit.utf8Start
    for i in 0..<n where s[i] != p[i] { return false }
    return true
}

// MARK: - Keys and recorded fields

private enum EnvelopeKey { case stream, data, timestamp, other }

/// The upstream envelope's keys, written exactly as the socket client writes them (quote, key,
/// quote, colon): recognised by comparing bytes, without the generic string scan. On a match
/// `sc.pos` moves past the colon; otherwise nothing moves and the caller scans the key.
@inline(__always)
private func knownEnvelopeKey(_ sc: inout JSONScanner) -> EnvelopeKey? {
    let p = sc.pos
    guard p &+ 1 < sc.count, sc.bytes[p] == 0x22 else { return nil }
    let lit: StaticString
    let key: EnvelopeKey
    // A compare chain in the upstream key order (a `switch` becomes an indirect jump).
    let c = sc.bytes[p &+ 1]
    if c == UInt8(ascii: "s") {
        if sc.byte(at: p &+ 2) == UInt8(ascii: "t") { (lit, key) = (#""stream":"#, .stream) } else { (lit, key) = (#""source":"#, .other) }
    } else if c == UInt8(ascii: "d") {
        (lit, key) = (#""data":"#, .data)
    } else if c == UInt8(ascii: "t") {
        (lit, key) = (#""timestamp":"#, .timestamp)
    } else if c == UInt8(ascii: "m") {
        (lit, key) = (#""message_id":"#, .other)
    } else if c == UInt8(ascii: "v") {
        (lit, key) = (#""version":"#, .other)
    } else {
        return nil
    }
    let n = lit.utf8CodeUnitCount
    guard p &+ n <= sc.count, bytesEqual(sc.bytes, at: p, lit) else { return nil }
    sc.pos = p &+ n
    return key
}

/// `bytes[p..<p + lit.count] == lit`, for literals of 7 to 16 bytes (two overlapping words);
/// the caller ensures the range is inside `bytes`.
@inline(__always)
private func bytesEqual(_ bytes: UnsafeRawBufferPointer, at p: Int, _ lit: StaticString) -> Bool {
    let n = lit.utf8CodeUnitCount
    let l = UnsafeRawPointer(lit.utf8Start)
    guard n >= 8 else { return hasPrefix(UnsafeRawBufferPointer(rebasing: bytes[p..<(p &+ n)]), lit) }
    return bytes.loadUnaligned(fromByteOffset: p, as: UInt64.self) == l.loadUnaligned(as: UInt64.self)
        && bytes.loadUnaligned(fromByteOffset: p &+ n &- 8, as: UInt64.self)
            == l.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
}

@inline(__always)
private func envelopeKey(_ bytes: UnsafeRawBufferPointer, _ tok: JSONToken) -> EnvelopeKey {
    if !tok.hasEscape { return envelopeKey(UnsafeRawBufferPointer(rebasing: bytes[tok.start..<tok.end])) }
    return withStringContent(bytes, tok) { envelopeKey($0) }
}

@inline(__always)
private func envelopeKey(_ k: UnsafeRawBufferPointer) -> EnvelopeKey {
    switch k.count {
    case 6 where equals(k, "stream"): .stream
    case 4 where equals(k, "data"): .data
    case 9 where equals(k, "timestamp"): .timestamp
    default: .other
    }
}

/// The `data` keys the parser reads.
private enum DataKey: UInt8 {
    case none
    case e, E, T, s, U, u, pu, b, B, a, A, p, P, q, t, m, M, X, c, o, h, l, v, lastUpdateId, bids, asks

    var isLevelKey: Bool { self == .b || self == .a || self == .bids || self == .asks }
}

@inline(__always)
private func dataKey(_ bytes: UnsafeRawBufferPointer, _ tok: JSONToken) -> DataKey {
    if !tok.hasEscape && tok.length == 1 { return oneByteKey(bytes[tok.start]) }
    return withStringContent(bytes, tok) { k -> DataKey in
        switch k.count {
        case 1: oneByteKey(k[0])
        case 2 where equals(k, "pu"): .pu
        case 4 where equals(k, "bids"): .bids
        case 4 where equals(k, "asks"): .asks
        case 12 where equals(k, "lastUpdateId"): .lastUpdateId
        default: .none
        }
    }
}

/// The key for a one-character key: a table lookup (a `switch` here compiles to an indirect
/// jump that mispredicts as keys alternate).
@inline(__always)
private func oneByteKey(_ c: UInt8) -> DataKey {
    c < 128 ? oneByteKeys[Int(c)] : .none
}

/// `oneByteKeys[c]` is the key named by the ASCII character `c`.
private let oneByteKeys: [DataKey] = [
    .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none,
    .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none,
    .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none,
    .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none, .none,
    .none, .A, .B, .none, .none, .E, .none, .none, .none, .none, .none, .none, .none, .M, .none, .none,
    .P, .none, .none, .none, .T, .U, .none, .none, .X, .none, .none, .none, .none, .none, .none, .none,
    .none, .a, .b, .c, .none, .e, .none, .none, .h, .none, .none, .none, .l, .m, .none, .o,
    .p, .q, .none, .s, .t, .u, .v, .none, .none, .none, .none, .none, .none, .none, .none, .none,
]

private struct EnvelopeFields {
    var stream = JSONToken()
    var data = JSONToken()
    var timestamp = JSONToken()
}

/// Tokens of the `data` keys we read (the last occurrence wins for duplicates), stored by
/// `DataKey` index: setting a field is a store, not a `switch`.
private struct DataFields {
    private var slots: (JSONToken, JSONToken, JSONToken, JSONToken, JSONToken, JSONToken, JSONToken, JSONToken, JSONToken, JSONToken, JSONToken, JSONToken, JSONToken, JSONToken, JSONToken, JSONToken, JSONToken, JSONToken, JSONToken, JSONToken, JSONToken, JSONToken, JSONToken, JSONToken, JSONToken, JSONToken, JSONToken) =
        (JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken(), JSONToken())

    @inline(__always)
    subscript(key: DataKey) -> JSONToken {
        withUnsafeBytes(of: slots) {
            $0.load(fromByteOffset: Int(key.rawValue) &* MemoryLayout<JSONToken>.stride, as: JSONToken.self)
        }
    }

    @inline(__always)
    mutating func set(_ key: DataKey, _ tok: JSONToken) {
        withUnsafeMutableBytes(of: &slots) {
            $0.storeBytes(of: tok, toByteOffset: Int(key.rawValue) &* MemoryLayout<JSONToken>.stride, as: JSONToken.self)
        }
    }

    var e: JSONToken { self[.e] }
    var E: JSONToken { self[.E] }
    var T: JSONToken { self[.T] }
    var s: JSONToken { self[.s] }
    var U: JSONToken { self[.U] }
    var u: JSONToken { self[.u] }
    var pu: JSONToken { self[.pu] }
    var b: JSONToken { self[.b] }
    var B: JSONToken { self[.B] }
    var a: JSONToken { self[.a] }
    var A: JSONToken { self[.A] }
    var p: JSONToken { self[.p] }
    var P: JSONToken { self[.P] }
    var q: JSONToken { self[.q] }
    var t: JSONToken { self[.t] }
    var m: JSONToken { self[.m] }
    var M: JSONToken { self[.M] }
    var X: JSONToken { self[.X] }
    var c: JSONToken { self[.c] }
    var o: JSONToken { self[.o] }
    var h: JSONToken { self[.h] }
    var l: JSONToken { self[.l] }
    var v: JSONToken { self[.v] }
    var lastUpdateId: JSONToken { self[.lastUpdateId] }
    var bids: JSONToken { self[.bids] }
    var asks: JSONToken { self[.asks] }
}

/// Which key's array a scratch side holds, and the first problem found in it.
private struct SideState {
    var filledFrom: DataKey = .none
    var error: RejectReason? = nil
}
