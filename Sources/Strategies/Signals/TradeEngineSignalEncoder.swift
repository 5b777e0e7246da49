/// Encodes a `Signal` as the JSON object petrosa-tradeengine accepts on `signals.trading.<token>`.
///
/// The keys follow the seed adapter `transform_signal_for_tradeengine` (inventory §3.3) in its
/// order: `id, signal_id, strategy_id, strategy_mode, symbol, action, confidence, strength, price,
/// quantity, current_price, target_price, source, strategy, metadata, timeframe, order_type,
/// time_in_force, signal_type, confidence_score, stop_loss, stop_loss_pct, take_profit,
/// take_profit_pct, timestamp`, followed by one key the seed never sent: `indicators` (a declared
/// optional field of the tradeengine `Signal`, wire contracts §B3).
///
/// Deliberate differences from the seed adapter (inventory §10 items 10-12, wire contracts §B8):
/// - `id`/`signal_id` are deterministic (`signalId(_:)`), not a fresh `uuid4()`, so replicas and
///   replays publish the same id for the same signal.
/// - `strategy_id` and `strategy` are the config id (e.g. `orderbook_skew`), not a human name.
/// - `timeframe` is the signal's own timeframe (`tick`), not a hard-coded `"1m"`.
/// - `quantity`, `stop_loss` and `take_profit` come from the strategy when it set them (non-nil and
///   finite); only otherwise do the seed's default tiers apply (`defaultQuantity(price:)`,
///   `riskTier(confidence:)`). Without strategy levels, buy gets `SL = price·(1−sl%)`,
///   `TP = price·(1+tp%)`, sell the mirror image, and hold/close publish `null` levels; the `_pct`
///   fields always carry the tier. When the strategy supplies a level, its `_pct` is derived as
///   `|price − level| / price`, clamped to [0, 1] (tradeengine drops a signal whose pct is
///   outside [0, 1]).
/// - `timestamp` is the signal's exchange event time as ISO-8601 UTC with millisecond precision
///   and a `Z` (e.g. `2026-01-01T00:00:00.000Z`), never a number (a numeric timestamp is dropped
///   by tradeengine) and never the wall clock.
/// - `metadata` is the strategy's ordered pairs plus `reasoning`, `venue` (`spot`/`usdm`) and
///   `event_time_ms`; strategy pairs with those three keys are left out so no key repeats.
/// - Numbers are written as the shortest round-trip decimal, with `.0` on whole numbers like
///   Python's `repr` (`50000.0`). NaN and ±Inf are never written: they become `null`. A
///   non-finite `confidence` is written as 0 and a finite one is clamped to [0, 1]; a non-finite
///   `quantity` falls back to the default tier (tradeengine drops a `null` quantity).
///
/// The encoder does not allocate beyond appending to the caller's buffer, except for the short
/// string `Double.description` produces for each floating-point number.
public struct TradeEngineSignalEncoder: Sendable {
    /// The `source` field. tradeengine only accepts buy/sell from `petrosa-cio` while its
    /// `ENFORCE_CIO_AUDIT` is on (wire contracts §0.3).
    public let source: String

    public init(source: String = "realtime_strategies") {
        self.source = source
    }

    /// Appends one compact UTF-8 JSON object to `out` (caller reuses the buffer).
    public func encode(_ signal: Signal, into out: inout [UInt8]) {
        let price = signal.price
        let confidence = signal.confidence.isFinite ? min(max(signal.confidence, 0), 1) : 0
        let quantity: Double
        if let q = signal.quantity, q.isFinite { quantity = q } else { quantity = Self.defaultQuantity(price: price) }
        let levels = Self.riskLevels(signal, confidence: confidence)

        out.append(UInt8(ascii: "{"))
        SignalJSONWriter.key("id", into: &out, first: true)
        SignalJSONWriter.signalId(signal, into: &out)
        SignalJSONWriter.key("signal_id", into: &out)
        SignalJSONWriter.signalId(signal, into: &out)
        SignalJSONWriter.key("strategy_id", into: &out)
        SignalJSONWriter.string(signal.strategyId, into: &out)
        SignalJSONWriter.key("strategy_mode", into: &out)
        SignalJSONWriter.string("deterministic", into: &out)
        SignalJSONWriter.key("symbol", into: &out)
        SignalJSONWriter.string(signal.key.symbol, into: &out)
        SignalJSONWriter.key("action", into: &out)
        SignalJSONWriter.string(signal.action.rawValue, into: &out)
        SignalJSONWriter.key("confidence", into: &out)
        SignalJSONWriter.double(confidence, into: &out)
        SignalJSONWriter.key("strength", into: &out)
        SignalJSONWriter.string(Signal.strength(forConfidence: confidence), into: &out)
        SignalJSONWriter.key("price", into: &out)
        SignalJSONWriter.double(price, into: &out)
        SignalJSONWriter.key("quantity", into: &out)
        SignalJSONWriter.double(quantity, into: &out)
        SignalJSONWriter.key("current_price", into: &out)
        SignalJSONWriter.double(signal.currentPrice, into: &out)
        SignalJSONWriter.key("target_price", into: &out)
        SignalJSONWriter.double(price, into: &out)
        SignalJSONWriter.key("source", into: &out)
        SignalJSONWriter.string(source, into: &out)
        SignalJSONWriter.key("strategy", into: &out)
        SignalJSONWriter.string(signal.strategyId, into: &out)

        SignalJSONWriter.key("metadata", into: &out)
        out.append(UInt8(ascii: "{"))
        var first = true
        for (name, value) in signal.metadata where !Self.isReservedMetadataKey(name) {
            SignalJSONWriter.key(name, into: &out, first: first)
            first = false
            switch value {
            case .double(let d): SignalJSONWriter.double(d, into: &out)
            case .int(let i): SignalJSONWriter.int(i, into: &out)
            case .string(let s): SignalJSONWriter.string(s, into: &out)
            case .bool(let b): out.append(contentsOf: b ? "true".utf8 : "false".utf8)
            }
        }
        SignalJSONWriter.key("reasoning", into: &out, first: first)
        SignalJSONWriter.string(signal.reasoning, into: &out)
        SignalJSONWriter.key("venue", into: &out)
        SignalJSONWriter.string(signal.key.venue == .spot ? "spot" : "usdm", into: &out)
        SignalJSONWriter.key("event_time_ms", into: &out)
        SignalJSONWriter.int(signal.eventTimeMs, into: &out)
        // The seed README promises this; its code never sent it (inventory §0.5).
        SignalJSONWriter.key("strategy_config", into: &out)
        out.append(UInt8(ascii: "{"))
        SignalJSONWriter.key("version", into: &out, first: true)
        SignalJSONWriter.int(signal.config.version, into: &out)
        SignalJSONWriter.key("source", into: &out)
        SignalJSONWriter.string(signal.config.source.rawValue, into: &out)
        SignalJSONWriter.key("is_override", into: &out)
        out.append(contentsOf: signal.config.isOverride ? "true".utf8 : "false".utf8)
        out.append(UInt8(ascii: "}"))
        out.append(UInt8(ascii: "}"))

        SignalJSONWriter.key("timeframe", into: &out)
        SignalJSONWriter.string(signal.timeframe, into: &out)
        SignalJSONWriter.key("order_type", into: &out)
        SignalJSONWriter.string("market", into: &out)
        SignalJSONWriter.key("time_in_force", into: &out)
        SignalJSONWriter.string("GTC", into: &out)
        SignalJSONWriter.key("signal_type", into: &out)
        SignalJSONWriter.string(signal.action.rawValue, into: &out)
        SignalJSONWriter.key("confidence_score", into: &out)
        SignalJSONWriter.double(confidence, into: &out)
        SignalJSONWriter.key("stop_loss", into: &out)
        SignalJSONWriter.optionalDouble(levels.stopLoss, into: &out)
        SignalJSONWriter.key("stop_loss_pct", into: &out)
        SignalJSONWriter.double(levels.stopLossPct, into: &out)
        SignalJSONWriter.key("take_profit", into: &out)
        SignalJSONWriter.optionalDouble(levels.takeProfit, into: &out)
        SignalJSONWriter.key("take_profit_pct", into: &out)
        SignalJSONWriter.double(levels.takeProfitPct, into: &out)
        SignalJSONWriter.key("timestamp", into: &out)
        out.append(UInt8(ascii: "\""))
        ISO8601Millis.append(signal.eventTimeMs, into: &out)
        out.append(UInt8(ascii: "\""))

        SignalJSONWriter.key("indicators", into: &out)
        out.append(UInt8(ascii: "{"))
        first = true
        for (name, value) in signal.indicators {
            SignalJSONWriter.key(name, into: &out, first: first)
            first = false
            SignalJSONWriter.double(value, into: &out)
        }
        out.append(UInt8(ascii: "}"))
        out.append(UInt8(ascii: "}"))
    }

    /// A deterministic, UUID-shaped id (8-4-4-4-12 lower-case hex, version nibble 5, RFC 4122
    /// variant) from the strategy id, venue, symbol, action and event time. The same signal always
    /// gets the same id, so every replica and every replay publishes the same `signal_id`.
    ///
    /// The 128 bits are two FNV-1a-64 hashes of the same bytes with different offset bases, each
    /// passed through the SplitMix64 finaliser for avalanche. The venue is included besides the
    /// four named inputs so spot and perpetual signals of one symbol never share an id.
    public static func signalId(_ signal: Signal) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(36)
        SignalJSONWriter.uuidBytes(signal, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The seed's default quantity tiers (inventory §3.3), rounded like Python's `round()`:
    /// ≤ 0 → 0; > 10000 → `round(100/price, 4)`; > 100 → `round(50/price, 2)`;
    /// else `round(20/price, 2)`. A non-finite price gives 0.
    public static func defaultQuantity(price: Double) -> Double {
        guard price.isFinite, price > 0 else { return 0 }
        if price > 10_000 { return PythonRounding.round(100 / price, 4) }
        if price > 100 { return PythonRounding.round(50 / price, 2) }
        return PythonRounding.round(20 / price, 2)
    }

    /// The seed's default stop-loss / take-profit fractions by confidence (inventory §3.3):
    /// ≥ 0.8 → (0.02, 0.05); ≥ 0.6 → (0.03, 0.04); else (0.05, 0.03).
    public static func riskTier(confidence: Double) -> (stopLossPct: Double, takeProfitPct: Double) {
        if confidence >= 0.8 { return (0.02, 0.05) }
        if confidence >= 0.6 { return (0.03, 0.04) }
        return (0.05, 0.03)
    }

    // MARK: - Internals

    struct RiskLevels {
        var stopLoss: Double?
        var stopLossPct: Double
        var takeProfit: Double?
        var takeProfitPct: Double
    }

    static func riskLevels(_ signal: Signal, confidence: Double) -> RiskLevels {
        let tier = riskTier(confidence: confidence)
        let price = signal.price
        var result = RiskLevels(stopLoss: nil, stopLossPct: tier.stopLossPct, takeProfit: nil,
                                takeProfitPct: tier.takeProfitPct)
        // Same operation order as the seed, so the goldens reproduce bit for bit.
        switch signal.action {
        case .buy:
            result.stopLoss = price * (1 - tier.stopLossPct)
            result.takeProfit = price * (1 + tier.takeProfitPct)
        case .sell:
            result.stopLoss = price * (1 + tier.stopLossPct)
            result.takeProfit = price * (1 - tier.takeProfitPct)
        case .hold, .close:
            break
        }
        if let level = signal.stopLoss, level.isFinite {
            result.stopLoss = level
            if let pct = derivedPct(price: price, level: level) { result.stopLossPct = pct }
        }
        if let level = signal.takeProfit, level.isFinite {
            result.takeProfit = level
            if let pct = derivedPct(price: price, level: level) { result.takeProfitPct = pct }
        }
        return result
    }

    static func derivedPct(price: Double, level: Double) -> Double? {
        guard price.isFinite, price > 0 else { return nil }
        let pct = abs(price - level) / price
        guard pct.isFinite else { return nil }
        return min(pct, 1)
    }

    static func isReservedMetadataKey(_ name: String) -> Bool {
        name == "reasoning" || name == "venue" || name == "event_time_ms" || name == "strategy_config"
    }

}

// MARK: - JSON writing

/// Low-level JSON output into a byte buffer. Private to this file.
private enum SignalJSONWriter {
    @inline(__always)
    static func key(_ name: String, into out: inout [UInt8], first: Bool = false) {
        if !first { out.append(UInt8(ascii: ",")) }
        string(name, into: &out)
        out.append(UInt8(ascii: ":"))
    }

    /// A JSON string with `"`, `\` and control characters escaped; other UTF-8 is copied as is.
    static func string(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { utf8 in
            var runStart = 0
            var i = 0
            while i < utf8.count {
                let b = utf8[i]
                if b >= 0x20 && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") {
                    i += 1
                    continue
                }
                if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
                out.append(UInt8(ascii: "\\"))
                switch b {
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case 0x0A: out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "t"))
                case 0x08: out.append(UInt8(ascii: "b"))
                case 0x0C: out.append(UInt8(ascii: "f"))
                default:
                    out.append(UInt8(ascii: "u"))
                    out.append(UInt8(ascii: "0"))
                    out.append(UInt8(ascii: "0"))
                    out.append(hexDigit(b >> 4))
                    out.append(hexDigit(b & 0xF))
                }
                i += 1
                runStart = i
            }
            if runStart < utf8.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Shortest round-trip decimal with `.0` on whole numbers (Swift's `description` does both);
    /// `null` for NaN and ±Inf.
    static func double(_ d: Double, into out: inout [UInt8]) {
        guard d.isFinite else {
            out.append(contentsOf: "null".utf8)
            return
        }
        var text = d.description
        text.withUTF8 { out.append(contentsOf: $0) }
    }

    static func optionalDouble(_ d: Double?, into out: inout [UInt8]) {
        if let d { double(d, into: &out) } else { out.append(contentsOf: "null".utf8) }
    }

    /// Decimal digits of an integer, without a heap allocation.
    static func int(_ value: Int64, into out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[19 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            out.append(contentsOf: buffer[(20 - count)...])
        }
    }

    @inline(__always)
    static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    /// The quoted signal id.
    static func signalId(_ signal: Signal, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        uuidBytes(signal, into: &out)
        out.append(UInt8(ascii: "\""))
    }

    /// The 36 characters of the signal id (see `TradeEngineSignalEncoder.signalId`).
    static func uuidBytes(_ signal: Signal, into out: inout [UInt8]) {
        var h1 = Hash128.fnvOffsetA
        var h2 = Hash128.fnvOffsetB
        Hash128.feed(signal.strategyId, &h1, &h2)
        Hash128.feed(signal.key.venue.rawValue, &h1, &h2)
        Hash128.feed(signal.key.symbol, &h1, &h2)
        Hash128.feed(signal.action.rawValue, &h1, &h2)
        var t = UInt64(bitPattern: signal.eventTimeMs)
        for _ in 0..<8 {
            Hash128.feed(UInt8(truncatingIfNeeded: t), &h1, &h2)
            t >>= 8
        }
        var hi = Hash128.mix(h1)
        var lo = Hash128.mix(h2 ^ hi)
        hi = (hi & ~0x0000_0000_0000_F000) | 0x0000_0000_0000_5000  // version 5
        lo = (lo & ~0xC000_0000_0000_0000) | 0x8000_0000_0000_0000  // RFC 4122 variant
        appendUUID(hi: hi, lo: lo, into: &out)
    }

    /// `hi`/`lo` as 8-4-4-4-12 lower-case hex.
    static func appendUUID(hi: UInt64, lo: UInt64, into out: inout [UInt8]) {
        for i in 0..<16 {
            if i == 8 || i == 12 { out.append(UInt8(ascii: "-")) }
            let nibble = UInt8(truncatingIfNeeded: hi >> UInt64(60 - 4 * i)) & 0xF
            out.append(hexDigit(nibble))
        }
        for i in 0..<16 {
            if i == 0 || i == 4 { out.append(UInt8(ascii: "-")) }
            let nibble = UInt8(truncatingIfNeeded: lo >> UInt64(60 - 4 * i)) & 0xF
            out.append(hexDigit(nibble))
        }
    }
}

/// Two FNV-1a-64 lanes with different offset bases, finalised with SplitMix64's mixer.
private enum Hash128 {
    static let fnvOffsetA: UInt64 = 0xcbf2_9ce4_8422_2325
    static let fnvOffsetB: UInt64 = 0x84222325_cbf29ce4 ^ 0x9e37_79b9_7f4a_7c15
    static let fnvPrime: UInt64 = 0x0000_0100_0000_01b3

    @inline(__always)
    static func feed(_ byte: UInt8, _ a: inout UInt64, _ b: inout UInt64) {
        a = (a ^ UInt64(byte)) &* fnvPrime
        b = (b ^ UInt64(byte)) &* fnvPrime
    }

    /// A string followed by a 0xFF separator (never a UTF-8 byte), so field boundaries count.
    static func feed(_ s: String, _ a: inout UInt64, _ b: inout UInt64) {
        for byte in s.utf8 { feed(byte, &a, &b) }
        feed(0xFF, &a, &b)
    }

    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

// MARK: - Timestamps

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` from milliseconds since the epoch (proleptic Gregorian, UTC).
/// Private to this file; the module's public formatter lives in `TimestampParser.swift`.
private enum ISO8601Millis {
    /// Times are clamped to 0000-01-01T00:00:00.000Z … 9999-12-31T23:59:59.999Z.
    static func append(_ epochMs: Int64, into out: inout [UInt8]) {
        let minMs: Int64 = -62_167_219_200_000  // 0000-01-01
        let maxMs: Int64 = 253_402_300_799_999  // 9999-12-31T23:59:59.999
        let ms = min(max(epochMs, minMs), maxMs)
        var days = ms / 86_400_000
        var msOfDay = ms % 86_400_000
        if msOfDay < 0 {
            msOfDay += 86_400_000
            days -= 1
        }
        let (year, month, day) = CivilCalendar.civilFromDays(days)
        digits(year, 4, &out)
        out.append(UInt8(ascii: "-"))
        digits(Int64(month), 2, &out)
        out.append(UInt8(ascii: "-"))
        digits(Int64(day), 2, &out)
        out.append(UInt8(ascii: "T"))
        digits(msOfDay / 3_600_000, 2, &out)
        out.append(UInt8(ascii: ":"))
        digits(msOfDay / 60_000 % 60, 2, &out)
        out.append(UInt8(ascii: ":"))
        digits(msOfDay / 1000 % 60, 2, &out)
        out.append(UInt8(ascii: "."))
        digits(msOfDay % 1000, 3, &out)
        out.append(UInt8(ascii: "Z"))
    }

    @inline(__always)
    static func digits(_ value: Int64, _ width: Int, _ out: inout [UInt8]) {
        var divisor: Int64 = 1
        for _ in 1..<width { divisor *= 10 }
        var v = value
        while divisor > 0 {
            out.append(UInt8(ascii: "0") + UInt8(v / divisor))
            v %= divisor
            divisor /= 10
        }
    }
}
