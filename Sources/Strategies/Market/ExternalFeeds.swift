/// Events from non-Binance feeds on NATS, and their parsers.
///
/// Nothing here fetches anything: other processes publish JSON on two NATS subjects and the
/// sidecar only parses it. Both parsers take the raw payload bytes, validate the whole document
/// with `JSONScanner` (any JSON error → `.malformedJSON`), never crash, and return a typed
/// `FeedRejectReason` for bad input.
///
/// ## `REFERENCE_PRICES_SUBJECT` (default `reference.prices`): `ReferencePriceEvent`
///
/// ```json
/// {"venue": "coinbase", "symbol": "BTC-USD", "price": 50400.5, "ts": 1767225600000}
/// ```
///
/// | key | type | rule |
/// |---|---|---|
/// | `venue` | string, required | lower-cased; 1-32 bytes of `a-z 0-9 _ . -` |
/// | `symbol` | string, required | upper-cased, separators `-` `/` `_` `:` removed; then 2-20 ASCII letters or digits |
/// | `price` | number or numeric string, required | finite and > 0 |
/// | `ts` | integer (ms since the epoch), integer string, or ISO-8601 string with a zone | ≥ 10^11 ms (1973-03-03), so a timestamp in seconds is rejected rather than misread |
///
/// Unknown keys are ignored (but must be valid JSON); `null` counts as absent; for a repeated
/// key the last one wins. The Binance symbol it is compared with is `binanceSymbol`: a symbol
/// quoted in `USD` maps to the `USDT` pair (`BTCUSD` → `BTCUSDT`, `quotedInUSD == true`), any
/// other symbol maps to itself (`BTCUSDT`, `ETHBTC`).
///
/// ## `ONCHAIN_METRICS_SUBJECT` (default `onchain.metrics`): `OnchainMetricsEvent`
///
/// ```json
/// {"asset": "BTC", "ts": "2026-01-01T00:00:00Z", "active_addresses": 1010000,
///  "transaction_volume": 520000, "hash_rate": 201, "exchange_inflow": 1500,
///  "exchange_outflow": 2500}
/// ```
///
/// | key (aliases) | type | rule |
/// |---|---|---|
/// | `asset` | string, required | upper-cased; 1-10 ASCII letters or digits (`BTC`, `ETH`) |
/// | `ts` | as above, required | the time the metrics describe |
/// | `active_addresses` | number, required | ≥ 0 |
/// | `transaction_volume` (`transaction_volume_btc`, `transaction_volume_eth`) | number, required | ≥ 0, native units |
/// | `hash_rate` (`hash_rate_eh`) | number, optional | ≥ 0, EH/s (BTC rule) |
/// | `defi_tvl` (`defi_tvl_usd`) | number, optional | ≥ 0, USD (ETH rule) |
/// | `exchange_inflow` (`exchange_inflow_btc`, `exchange_inflow_eth`) | number, optional | ≥ 0, native units |
/// | `exchange_outflow` (`exchange_outflow_btc`, `exchange_outflow_eth`) | number, optional | ≥ 0, native units |
///
/// The aliases are the seed's simulated metric names, so the seed's dictionaries parse as is.
/// Numbers may be JSON numbers or numeric strings. Absent optional metrics are `nil`; the
/// strategy treats them as 0, as the seed's `.get(key, 0)` did.

/// Why a feed payload was rejected.
public enum FeedRejectReason: Error, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    /// Not one valid JSON object (or 2 GiB or more).
    case malformedJSON
    /// A required key is absent or `null`.
    case missingField
    /// A key holds the wrong JSON type (e.g. an object where a number belongs).
    case wrongType
    /// A number that does not parse or is not finite (also any JSON number token out of the
    /// range of `Double`, anywhere in the document).
    case invalidNumber
    /// A price ≤ 0, or a negative metric.
    case outOfRange
    /// `ts` is not an integer of milliseconds ≥ 10^11 or a valid ISO-8601 timestamp.
    case invalidTimestamp
    /// `venue`, `symbol` or `asset` is empty, too long or has characters outside its alphabet.
    case invalidName

    public var description: String {
        switch self {
        case .malformedJSON: "malformed_json"
        case .missingField: "missing_field"
        case .wrongType: "wrong_type"
        case .invalidNumber: "invalid_number"
        case .outOfRange: "out_of_range"
        case .invalidTimestamp: "invalid_timestamp"
        case .invalidName: "invalid_name"
        }
    }

    /// The closest market-data reason, for shared counters.
    public var rejectReason: RejectReason {
        switch self {
        case .malformedJSON: .malformedJSON
        case .missingField, .wrongType, .invalidName: .missingField
        case .invalidNumber, .invalidTimestamp: .invalidNumber
        case .outOfRange: .negativeValue
        }
    }
}

/// A price of one symbol on another venue (Coinbase, Kraken, ...).
public struct ReferencePriceEvent: Sendable, Equatable {
    /// Environment variable naming the subject, and its default.
    public static let subjectVariable = "REFERENCE_PRICES_SUBJECT"
    public static let defaultSubject = "reference.prices"

    /// Lower-case venue name, e.g. `coinbase`.
    public var venue: String
    /// Normalised symbol, e.g. `BTCUSD`.
    public var symbol: String
    /// The Binance symbol it is compared with, e.g. `BTCUSDT`.
    public var binanceSymbol: String
    /// True when the price is in USD and is compared with a USDT pair.
    public var quotedInUSD: Bool
    public var price: Double
    public var eventTimeMs: Int64

    /// `venue` and `symbol` are normalised as the parser does (no validation).
    public init(venue: String, symbol: String, price: Double, eventTimeMs: Int64) {
        self.venue = venue.lowercased()
        var s = ""
        for c in symbol.uppercased() where !FeedNames.isSeparator(c) { s.append(c) }
        self.symbol = s
        if s.hasSuffix("USD") {
            binanceSymbol = s + "T"
            quotedInUSD = true
        } else {
            binanceSymbol = s
            quotedInUSD = false
        }
        self.price = price
        self.eventTimeMs = eventTimeMs
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Result<ReferencePriceEvent, FeedRejectReason> {
        var venue = JSONToken(), symbol = JSONToken(), price = JSONToken(), ts = JSONToken()
        let scanned = FeedJSON.scanObject(bytes) { key, value in
            if FeedJSON.equals(key, "venue") { venue = value }
            else if FeedJSON.equals(key, "symbol") { symbol = value }
            else if FeedJSON.equals(key, "price") { price = value }
            else if FeedJSON.equals(key, "ts") { ts = value }
        }
        if let scanned { return .failure(scanned) }
        let r = FeedJSON(bytes: bytes)
        do {
            let v = try r.name(venue, maxLength: 32, lower: true, stripSeparators: false, extra: "_.-")
            let s = try r.name(symbol, maxLength: 40, lower: false, stripSeparators: true, extra: "")
            guard s.utf8.count >= 2 && s.utf8.count <= 20 else { throw FeedRejectReason.invalidName }
            let p = try r.number(price, required: true)!
            guard p > 0 else { throw FeedRejectReason.outOfRange }
            let t = try r.timestamp(ts)
            return .success(ReferencePriceEvent(venue: v, symbol: s, price: p, eventTimeMs: t))
        } catch let e as FeedRejectReason {
            return .failure(e)
        } catch {
            return .failure(.malformedJSON)
        }
    }

    public static func parse(_ bytes: [UInt8]) -> Result<ReferencePriceEvent, FeedRejectReason> {
        bytes.withUnsafeBytes { parse($0) }
    }

    public static func parse(_ text: String) -> Result<ReferencePriceEvent, FeedRejectReason> {
        var text = text
        return text.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }
}

/// One snapshot of on-chain metrics for an asset.
public struct OnchainMetricsEvent: Sendable, Equatable {
    public static let subjectVariable = "ONCHAIN_METRICS_SUBJECT"
    public static let defaultSubject = "onchain.metrics"

    /// Upper-case asset, e.g. `BTC`.
    public var asset: String
    public var eventTimeMs: Int64
    public var activeAddresses: Double
    public var transactionVolume: Double
    public var hashRate: Double?
    public var defiTVL: Double?
    public var exchangeInflow: Double?
    public var exchangeOutflow: Double?

    public init(asset: String, eventTimeMs: Int64, activeAddresses: Double, transactionVolume: Double,
                hashRate: Double? = nil, defiTVL: Double? = nil, exchangeInflow: Double? = nil,
                exchangeOutflow: Double? = nil) {
        self.asset = asset.uppercased(); self.eventTimeMs = eventTimeMs
        self.activeAddresses = activeAddresses; self.transactionVolume = transactionVolume
        self.hashRate = hashRate; self.defiTVL = defiTVL
        self.exchangeInflow = exchangeInflow; self.exchangeOutflow = exchangeOutflow
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Result<OnchainMetricsEvent, FeedRejectReason> {
        var asset = JSONToken(), ts = JSONToken(), active = JSONToken(), volume = JSONToken()
        var hash = JSONToken(), tvl = JSONToken(), inflow = JSONToken(), outflow = JSONToken()
        let scanned = FeedJSON.scanObject(bytes) { key, value in
            if FeedJSON.equals(key, "asset") { asset = value }
            else if FeedJSON.equals(key, "ts") { ts = value }
            else if FeedJSON.equals(key, "active_addresses") { active = value }
            else if FeedJSON.equals(key, "transaction_volume") || FeedJSON.equals(key, "transaction_volume_btc")
                || FeedJSON.equals(key, "transaction_volume_eth") { volume = value }
            else if FeedJSON.equals(key, "hash_rate") || FeedJSON.equals(key, "hash_rate_eh") { hash = value }
            else if FeedJSON.equals(key, "defi_tvl") || FeedJSON.equals(key, "defi_tvl_usd") { tvl = value }
            else if FeedJSON.equals(key, "exchange_inflow") || FeedJSON.equals(key, "exchange_inflow_btc")
                || FeedJSON.equals(key, "exchange_inflow_eth") { inflow = value }
            else if FeedJSON.equals(key, "exchange_outflow") || FeedJSON.equals(key, "exchange_outflow_btc")
                || FeedJSON.equals(key, "exchange_outflow_eth") { outflow = value }
        }
        if let scanned { return .failure(scanned) }
        let r = FeedJSON(bytes: bytes)
        do {
            let a = try r.name(asset, maxLength: 10, lower: false, stripSeparators: false, extra: "")
            let t = try r.timestamp(ts)
            func metric(_ tok: JSONToken, required: Bool) throws -> Double? {
                guard let v = try r.number(tok, required: required) else { return nil }
                guard v >= 0 else { throw FeedRejectReason.outOfRange }
                return v
            }
            let aa = try metric(active, required: true)!
            let tv = try metric(volume, required: true)!
            let e = OnchainMetricsEvent(
                asset: a, eventTimeMs: t, activeAddresses: aa, transactionVolume: tv,
                hashRate: try metric(hash, required: false), defiTVL: try metric(tvl, required: false),
                exchangeInflow: try metric(inflow, required: false), exchangeOutflow: try metric(outflow, required: false))
            return .success(e)
        } catch let e as FeedRejectReason {
            return .failure(e)
        } catch {
            return .failure(.malformedJSON)
        }
    }

    public static func parse(_ bytes: [UInt8]) -> Result<OnchainMetricsEvent, FeedRejectReason> {
        bytes.withUnsafeBytes { parse($0) }
    }

    public static func parse(_ text: String) -> Result<OnchainMetricsEvent, FeedRejectReason> {
        var text = text
        return text.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }
}

// MARK: - Internals

enum FeedNames {
    static func isSeparator(_ c: Character) -> Bool { c == "-" || c == "/" || c == "_" || c == ":" }
}

/// Field access for the two feed parsers.
struct FeedJSON {
    let bytes: UnsafeRawBufferPointer

    /// Smallest accepted `ts`: 10^11 ms is 1973-03-03; anything smaller is almost certainly seconds.
    static let minimumTimestampMs: Int64 = 100_000_000_000

    /// Walks one top-level object, calling `member` with each key (raw bytes; escaped keys are
    /// decoded, up to 64 bytes, longer ones are passed as an empty key) and its value token.
    /// Returns nil on success.
    static func scanObject(_ bytes: UnsafeRawBufferPointer,
                           _ member: (UnsafeRawBufferPointer, JSONToken) -> Void) -> FeedRejectReason? {
        guard bytes.count < Int(Int32.max) else { return .malformedJSON }
        var sc = JSONScanner(bytes)
        sc.skipWhitespace()
        guard sc.consume(0x7B) else { return .malformedJSON }
        sc.skipWhitespace()
        if !sc.consume(0x7D) {
            loop: while true {
                guard let k = sc.scanString() else { return .malformedJSON }
                sc.skipWhitespace()
                guard sc.consume(0x3A) else { return .malformedJSON }
                sc.skipWhitespace()
                guard let v = sc.scanValue(depth: 1) else { return .malformedJSON }
                if k.hasEscape {
                    withUnsafeTemporaryAllocation(byteCount: 64, alignment: 1) { buf in
                        let n = JSONScanner.decodeString(bytes, k, into: buf) ?? 0
                        member(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buf)[0..<n]), v)
                    }
                } else {
                    member(UnsafeRawBufferPointer(rebasing: bytes[k.start..<k.end]), v)
                }
                switch sc.afterMember(close: 0x7D) {
                case .more: continue
                case .done: break loop
                case .error: return .malformedJSON
                }
            }
        }
        sc.skipWhitespace()
        guard sc.atEnd, !sc.failed else { return .malformedJSON }
        if sc.numberOverflow { return .invalidNumber }
        return nil
    }

    static func equals(_ key: UnsafeRawBufferPointer, _ name: StaticString) -> Bool {
        guard key.count == name.utf8CodeUnitCount else { return false }
        let p = name.utf8Start
        for i in 0..<key.count where key[i] != p[i] { return false }
        return true
    }

    /// The decoded content of a string token.
    func stringContent(_ tok: JSONToken) -> [UInt8] {
        if !tok.hasEscape { return Array(bytes[tok.start..<tok.end]) }
        var out = [UInt8](repeating: 0, count: tok.length)
        let n = out.withUnsafeMutableBytes { JSONScanner.decodeString(bytes, tok, into: $0) } ?? 0
        out.removeLast(out.count - n)
        return out
    }

    /// A name: ASCII letters and digits plus `extra`, upper- or lower-cased, optionally with
    /// `- / _ :` removed first.
    func name(_ tok: JSONToken, maxLength: Int, lower: Bool, stripSeparators: Bool, extra: String) throws -> String {
        guard tok.hasValue else { throw FeedRejectReason.missingField }
        guard tok.kind == .string else { throw FeedRejectReason.wrongType }
        guard tok.length <= maxLength * 6 else { throw FeedRejectReason.invalidName }
        let extraBytes = Array(extra.utf8)
        var out = [UInt8]()
        out.reserveCapacity(tok.length)
        for var b in stringContent(tok) {
            if stripSeparators && (b == 0x2D || b == 0x2F || b == 0x5F || b == 0x3A) { continue }
            if b >= 0x41 && b <= 0x5A { if lower { b += 0x20 } }
            else if b >= 0x61 && b <= 0x7A { if !lower { b -= 0x20 } }
            else if !(b >= 0x30 && b <= 0x39) && !extraBytes.contains(b) { throw FeedRejectReason.invalidName }
            out.append(b)
        }
        guard !out.isEmpty, out.count <= maxLength else { throw FeedRejectReason.invalidName }
        return String(decoding: out, as: UTF8.self)
    }

    /// A finite number from a JSON number or a numeric string; nil when optional and absent.
    func number(_ tok: JSONToken, required: Bool) throws -> Double? {
        guard tok.hasValue else {
            if required { throw FeedRejectReason.missingField }
            return nil
        }
        let value: Double?
        switch tok.kind {
        case .number:
            if let r = DecimalText.scan(bytes, from: tok.start, limit: tok.end), r.end == tok.end { value = r.value }
            else { value = nil }
        case .string:
            value = tok.hasEscape ? nil : parseDecimal(UnsafeRawBufferPointer(rebasing: bytes[tok.start..<tok.end]))
        default:
            throw FeedRejectReason.wrongType
        }
        guard let v = value, v.isFinite else { throw FeedRejectReason.invalidNumber }
        return v
    }

    /// Milliseconds since the epoch from an integer, an integer string or an ISO-8601 string.
    func timestamp(_ tok: JSONToken) throws -> Int64 {
        guard tok.hasValue else { throw FeedRejectReason.missingField }
        let ms: Int64?
        switch tok.kind {
        case .number:
            ms = tok.isInteger ? DecimalText.parseInt64(bytes, from: tok.start, to: tok.end) : nil
        case .string:
            let content = stringContent(tok)
            ms = content.withUnsafeBytes { raw -> Int64? in
                if !raw.isEmpty && raw.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
                    return DecimalText.parseInt64(raw, from: 0, to: raw.count)
                }
                return parseISO8601Millis(raw)
            }
        default:
            throw FeedRejectReason.wrongType
        }
        guard let ms, ms >= Self.minimumTimestampMs else { throw FeedRejectReason.invalidTimestamp }
        return ms
    }
}
