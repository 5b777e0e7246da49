/// Decimal text → `Double`, correctly rounded, without allocating on the common path.
///
/// Grammar (the JSON number grammar, except that leading zeros are tolerated because this
/// also parses the *contents* of JSON strings such as `"0.21437000"`):
///
///     '-'? digit+ ('.' digit+)? (('e' | 'E') ('+' | '-')? digit+)?
///
/// Not accepted: a leading `+`, `.5`, `5.`, whitespace, hex, `nan`, `inf`, `Infinity`, the
/// empty string. Results that are not finite (e.g. `1e999`) are reported as invalid by the
/// public entry points.
///
/// Algorithm: up to 19 significant digits are accumulated in a `UInt64` together with a
/// decimal exponent. When no non-zero digit was dropped, the mantissa is at most 2^53 and the
/// exponent is within ±22, the value is `Double(mantissa)` multiplied or divided by an exactly
/// representable power of ten: one correctly rounded IEEE operation on exact operands
/// (Clinger's fast path). Everything else (more than 19 significant digits, huge or tiny
/// exponents) falls back to `Double(String)`, which is correctly rounded; only that rare path
/// allocates.
///
/// The parser's hot path uses `DecimalText.quotedFast` first: the same arithmetic for the
/// shape every Binance price and quantity has (`digits[.digits]` then a closing quote), with
/// each part's digits located by one 8-byte mask and converted by one SWAR step instead of a
/// per-digit loop (whose exit branch mispredicts as lengths vary).

/// Parses the whole buffer as a decimal. Returns nil for anything outside the grammar and for
/// non-finite results.
public func parseDecimal(_ bytes: UnsafeRawBufferPointer) -> Double? {
    guard let r = DecimalText.scan(bytes, from: 0, limit: bytes.count), r.end == bytes.count, r.value.isFinite else {
        return nil
    }
    return r.value
}

/// String convenience for `parseDecimal(_: UnsafeRawBufferPointer)`.
public func parseDecimal(_ text: String) -> Double? {
    var text = text
    return text.withUTF8 { parseDecimal(UnsafeRawBufferPointer($0)) }
}

/// Internal decimal and integer scanning shared by the JSON scanner and the parser.
enum DecimalText {
    /// Scans the longest prefix of `bytes[from..<limit]` that matches the grammar and returns its
    /// value (possibly ±infinity on overflow) and the index after it. Returns nil if no prefix
    /// matches (no digit, or `.`/exponent without digits).
    @inline(__always)
    static func scan(_ bytes: UnsafeRawBufferPointer, from start: Int, limit: Int) -> (value: Double, end: Int)? {
        let end = min(limit, bytes.count)
        var i = start
        guard i >= 0, i < end else { return nil }
        var negative = false
        if bytes[i] == 0x2D {
            negative = true
            i += 1
        }
        var mantissa: UInt64 = 0
        var significant = 0  // digits held in `mantissa`
        var exponent = 0  // decimal exponent applied to `mantissa`
        var dropped = false  // a non-zero digit did not fit in `mantissa`

        // Integer part.
        let intStart = i
        while i < end {
            if significant <= 11, i &+ 8 <= end, let eight = eightDigits(bytes, at: i) {
                if mantissa != 0 || eight != 0 {
                    mantissa = mantissa &* 100_000_000 &+ eight
                    significant += 8  // may count leading zeros: only narrows the fast path
                }
                i &+= 8
                continue
            }
            let d = bytes[i] &- 0x30
            if d >= 10 { break }
            if significant < 19 {
                if mantissa != 0 || d != 0 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    significant += 1
                }
            } else {
                exponent += 1
                if d != 0 { dropped = true }
            }
            i &+= 1
        }
        guard i > intStart else { return nil }

        // Fraction.
        if i < end && bytes[i] == 0x2E {
            i &+= 1
            let fracStart = i
            while i < end {
                if significant <= 11, i &+ 8 <= end, let eight = eightDigits(bytes, at: i) {
                    if mantissa != 0 || eight != 0 {
                        mantissa = mantissa &* 100_000_000 &+ eight
                        significant += 8
                    }
                    exponent -= 8
                    i &+= 8
                    continue
                }
                let d = bytes[i] &- 0x30
                if d >= 10 { break }
                if significant < 19 {
                    if mantissa != 0 || d != 0 {
                        mantissa = mantissa &* 10 &+ UInt64(d)
                        significant += 1
                    }
                    exponent -= 1
                } else if d != 0 {
                    dropped = true
                }
                i &+= 1
            }
            guard i > fracStart else { return nil }
        }

        // Exponent.
        if i < end && (bytes[i] == 0x65 || bytes[i] == 0x45) {
            i += 1
            var expNegative = false
            if i < end && (bytes[i] == 0x2B || bytes[i] == 0x2D) {
                expNegative = bytes[i] == 0x2D
                i += 1
            }
            let expStart = i
            var e = 0
            while i < end {
                let d = bytes[i] &- 0x30
                if d >= 10 { break }
                if e < 100_000_000 { e = e &* 10 &+ Int(d) }  // saturate: far beyond any finite Double
                i += 1
            }
            guard i > expStart else { return nil }
            exponent = expNegative ? exponent &- e : exponent &+ e
        }

        if mantissa == 0 && !dropped {
            return (negative ? -0.0 : 0.0, i)
        }
        if !dropped {
            var m = mantissa
            var e = exponent
            // Trailing zeros are free precision: fold them into the exponent if it helps.
            while m > (1 << 53) && m % 10 == 0 {
                m /= 10
                e += 1
            }
            if m <= (1 << 53) {
                var v: Double?
                if e == 0 {
                    v = Double(m)
                } else if e < 0 && e >= -22 {
                    v = Double(m) / exactPowerOfTen(-e)
                } else if e > 0 && e <= 22 {
                    v = Double(m) * exactPowerOfTen(e)
                } else if e > 22 && e <= 22 + 15 {
                    // m * 10^(e-22) may still be an exact integer below 2^53.
                    let (scaled, overflow) = m.multipliedReportingOverflow(by: exactIntegerPowerOfTen(e - 22))
                    if !overflow && scaled <= (1 << 53) {
                        v = Double(scaled) * 1e22
                    }
                }
                if let v { return (negative ? -v : v, i) }
            }
        }
        // Slow path: correctly rounded by the standard library. The text matched our grammar, so
        // `Double(String)` accepts it.
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        guard let v = Double(text) else { return nil }
        return (v, i)
    }

    /// Fast path for the common case inside JSON strings: `digit+ ('.' digit+)?` of at most 19
    /// digits whose integer mantissa is at most 2^53, immediately followed by a closing quote.
    /// Returns the value and the index of the quote, or nil when the text is anything else (the
    /// caller then takes the general path). No sign: negatives take the general path too.
    @inline(__always)
    static func quotedFast(_ bytes: UnsafeRawBufferPointer, from start: Int) -> (value: Double, quote: Int)? {
        let n = bytes.count
        // Word-at-a-time when 16 bytes are readable: each part's digits are found with one mask
        // and converted with one SWAR step, no per-digit loop for up to 7 integer digits and up
        // to 8 fraction digits (every Binance price and quantity).
        guard start >= 0, start &+ 16 <= n else { return quotedFastScalar(bytes, from: start) }
        let w1 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: start, as: UInt64.self))
        let k = firstNonDigit(w1)
        guard k > 0 && k < 8 else { return quotedFastScalar(bytes, from: start) }
        var m = digitsValue(w1, count: k)
        var i = start &+ k
        var fracDigits = 0
        if bytes[i] == 0x2E {
            i &+= 1
            guard i &+ 8 <= n else { return quotedFastScalar(bytes, from: start) }
            let w2 = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let j = firstNonDigit(w2)
            guard j > 0 else { return nil }
            if j < 8 {
                m = m &* exactIntegerPowerOfTen(j) &+ digitsValue(w2, count: j)
                i &+= j
                fracDigits = j
            } else {
                m = m &* 100_000_000 &+ digitsValue(w2, count: 8)
                i &+= 8
                fracDigits = 8
                while i < n {
                    let d = bytes[i] &- 0x30
                    if d >= 10 { break }
                    m = m &* 10 &+ UInt64(d)
                    i &+= 1
                    fracDigits &+= 1
                }
            }
        }
        guard i < n, bytes[i] == 0x22, k &+ fracDigits <= 19, m <= (1 << 53) else { return nil }
        let v = fracDigits == 0 ? Double(m) : Double(m) / exactPowerOfTen(fracDigits)
        return (v, i)
    }

    /// Index (0...8) of the first byte of `v` (first byte in the low bits) that is not an ASCII
    /// digit; 8 if all are digits.
    @inline(__always)
    static func firstNonDigit(_ v: UInt64) -> Int {
        // Zero bytes exactly where the byte is a digit (a carry out of a non-digit byte >= 0xFA
        // can only disturb later bytes, so the first non-digit is still found exactly).
        let x = ((v & 0xF0F0_F0F0_F0F0_F0F0) ^ 0x3030_3030_3030_3030)
            | (((v &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0) ^ 0x3030_3030_3030_3030)
        // High bit of each byte set iff the byte is non-zero (no carries between bytes).
        let nonZero = (x | ((x & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F)) & 0x8080_8080_8080_8080
        return nonZero.trailingZeroBitCount >> 3
    }

    /// The value of the first `count` (1...8) bytes of `v`, which must be ASCII digits.
    @inline(__always)
    static func digitsValue(_ v: UInt64, count: Int) -> UInt64 {
        // Right-align the digits in the word and fill the leading positions with '0'.
        let shift = UInt64(truncatingIfNeeded: (8 &- count) &* 8)
        let aligned = count == 8 ? v : (v << shift) | (0x3030_3030_3030_3030 >> UInt64(truncatingIfNeeded: count &* 8))
        var x = aligned &- 0x3030_3030_3030_3030
        x = (x &* 10) &+ (x >> 8)
        x = ((x & 0x0000_00FF_0000_00FF) &* (100 &+ (1_000_000 << 32))
            &+ ((x >> 16) & 0x0000_00FF_0000_00FF) &* (1 &+ (10_000 << 32))) >> 32
        return x
    }

    /// `quotedFast` one byte at a time, near the end of the buffer or for long integer parts.
    static func quotedFastScalar(_ bytes: UnsafeRawBufferPointer, from start: Int) -> (value: Double, quote: Int)? {
        let end = bytes.count
        var i = start
        var m: UInt64 = 0
        while i < end {
            let d = bytes[i] &- 0x30
            if d >= 10 { break }
            m = m &* 10 &+ UInt64(d)
            i &+= 1
        }
        let intDigits = i &- start
        guard intDigits > 0, i < end else { return nil }
        var fracDigits = 0
        if bytes[i] == 0x2E {
            i &+= 1
            let fracStart = i
            if i &+ 8 <= end, let eight = eightDigits(bytes, at: i) {
                m = m &* 100_000_000 &+ eight
                i &+= 8
            }
            while i < end {
                let d = bytes[i] &- 0x30
                if d >= 10 { break }
                m = m &* 10 &+ UInt64(d)
                i &+= 1
            }
            fracDigits = i &- fracStart
            guard fracDigits > 0, i < end else { return nil }
        }
        // At most 19 digits: `m` did not wrap; at most 2^53: `Double(m)` is exact.
        guard bytes[i] == 0x22, intDigits &+ fracDigits <= 19, m <= (1 << 53) else { return nil }
        let v = fracDigits == 0 ? Double(m) : Double(m) / exactPowerOfTen(fracDigits)
        return (v, i)
    }

    /// True if the eight bytes at `i` are all ASCII digits (caller ensures `i + 8 <= count`).
    @inline(__always)
    static func allDigits(_ bytes: UnsafeRawBufferPointer, at i: Int) -> Bool {
        let v = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        return v & 0xF0F0_F0F0_F0F0_F0F0 == 0x3030_3030_3030_3030
            && (v &+ 0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0 == 0x3030_3030_3030_3030
    }

    /// The value of eight ASCII digits at `i` (caller ensures `i + 8 <= count`), or nil if any
    /// of them is not a digit. SWAR: three multiplications instead of eight steps.
    @inline(__always)
    static func eightDigits(_ bytes: UnsafeRawBufferPointer, at i: Int) -> UInt64? {
        let v = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        // Every byte in 0x30...0x39: high nibble 3, and adding 6 does not carry out of the nibble.
        guard allDigits(bytes, at: i) else { return nil }
        var x = v &- 0x3030_3030_3030_3030
        x = (x &* 10) &+ (x >> 8)  // pairs: byte 2k holds digits 2k,2k+1 as a number < 100
        x = ((x & 0x0000_00FF_0000_00FF) &* (100 &+ (1_000_000 << 32))
            &+ ((x >> 16) & 0x0000_00FF_0000_00FF) &* (1 &+ (10_000 << 32))) >> 32
        return x
    }

    /// 10^k for 0 <= k <= 22, all exactly representable as `Double`. A table lookup rather
    /// than a `switch`: the jump table's indirect branch mispredicts as decimal counts vary.
    @inline(__always)
    static func exactPowerOfTen(_ k: Int) -> Double {
        powersOfTen[k < 0 ? 0 : (k > 22 ? 22 : k)]
    }

    static let powersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
        1e19, 1e20, 1e21, 1e22,
    ]

    /// 10^k as an integer for 0 <= k <= 19.
    @inline(__always)
    static func exactIntegerPowerOfTen(_ k: Int) -> UInt64 {
        integerPowersOfTen[k < 0 ? 0 : (k > 19 ? 19 : k)]
    }

    static let integerPowersOfTen: [UInt64] = [
        1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000, 10_000_000_000,
        100_000_000_000, 1_000_000_000_000, 10_000_000_000_000, 100_000_000_000_000, 1_000_000_000_000_000,
        10_000_000_000_000_000, 100_000_000_000_000_000, 1_000_000_000_000_000_000, 10_000_000_000_000_000_000,
    ]

    /// Parses `-?digit+` in `bytes[start..<end]` as an `Int64`; nil on anything else or overflow.
    @inline(__always)
    static func parseInt64(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int64? {
        var i = start
        let end = min(end, bytes.count)
        guard i >= 0, i < end else { return nil }
        var negative = false
        if bytes[i] == 0x2D {
            negative = true
            i += 1
            guard i < end else { return nil }
        }
        // Up to 18 digits cannot overflow: no checks needed.
        if end - i <= 18 {
            var v: Int64 = 0
            while i < end {
                let d = bytes[i] &- 0x30
                guard d < 10 else { return nil }
                v = v &* 10 &+ Int64(d)
                i += 1
            }
            return negative ? -v : v
        }
        // Accumulate as a negative number so Int64.min parses.
        var v: Int64 = 0
        while i < end {
            let d = bytes[i] &- 0x30
            guard d < 10 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.subtractingReportingOverflow(Int64(d))
            if o1 || o2 { return nil }
            v = s
            i += 1
        }
        if negative { return v }
        if v == Int64.min { return nil }
        return -v
    }
}
