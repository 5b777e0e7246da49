/// A validating, allocation-free JSON scanner over raw bytes.
///
/// The scanner walks RFC 8259 JSON in place: it never builds a tree and never copies. Callers
/// drive it token by token (`scanString`, `scanNumber`, `skipValue`, ...) and get back
/// `JSONToken`s, i.e. byte ranges into the input, that they interpret themselves.
///
/// Validation is complete for everything the scanner passes over, including values it only
/// skips: string escapes (`\uXXXX` with paired surrogates), UTF-8 well-formedness inside
/// strings, unescaped control characters, the number grammar (no leading zeros, digits after
/// `.` and in exponents), literals, separators, trailing commas (rejected) and nesting depth
/// (at most `maxDepth` containers). Every read is bounds-checked: reading past the end yields
/// the byte 0, which is invalid in every JSON context, so truncated input always fails.
///
/// Errors are sticky: the first failure sets `failed`, and every scanning method then returns
/// `false`/`nil`; callers just propagate.
///
/// One deliberate extension beyond the grammar: a number token whose value is not a finite
/// `Double` (e.g. `1e999`) sets `numberOverflow` (the token itself is grammatically valid).
/// Foundation's `JSONSerialization` rejects such documents; the parser reports them as
/// `invalidNumber`.
struct JSONScanner {
    /// Maximum nesting depth of objects and arrays; the top-level container has depth 1.
    static let maxDepth = 64

    let bytes: UnsafeRawBufferPointer
    let count: Int
    /// Index of the next unread byte.
    var pos: Int = 0
    /// Set on the first syntax error.
    var failed = false
    /// Set when a number token does not fit in a finite `Double`.
    var numberOverflow = false

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        self.count = bytes.count
    }

    // MARK: - Byte access

    /// The byte at `i`, or 0 when `i` is outside the buffer.
    @inline(__always)
    func byte(at i: Int) -> UInt8 {
        (i >= 0 && i < count) ? bytes[i] : 0
    }

    /// The byte at `pos`, or 0 at the end.
    @inline(__always)
    var peek: UInt8 { pos < count ? bytes[pos] : 0 }

    @inline(__always)
    var atEnd: Bool { pos >= count }

    @inline(__always)
    mutating func fail() -> Bool {
        failed = true
        return false
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while pos < count {
            let c = bytes[pos]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { pos += 1 } else { return }
        }
    }

    /// Consumes `c` if it is the next byte.
    @inline(__always)
    mutating func consume(_ c: UInt8) -> Bool {
        if pos < count && bytes[pos] == c {
            pos += 1
            return true
        }
        return false
    }

    /// After a member value: skips whitespace and consumes `,` (returns `.more`) or `close`
    /// (returns `.done`); anything else fails. After `,` the whitespace is skipped too.
    @inline(__always)
    mutating func afterMember(close: UInt8) -> Separator {
        skipWhitespace()
        let c = peek
        if c == 0x2C {  // ,
            pos += 1
            skipWhitespace()
            return .more
        }
        if c == close {
            pos += 1
            return .done
        }
        failed = true
        return .error
    }

        enum Separator { case more, done, error }

    // MARK: - Strings

    /// Scans a string starting at the opening quote. On success `pos` is after the closing
    /// quote and the token's range is the raw content between the quotes.
    mutating func scanString() -> JSONToken? {
        var p = pos
        guard p < count, bytes[p] == 0x22 else { failed = true; return nil }
        p += 1
        let start = p
        var escaped = false
        while true {
            // Eight plain bytes at a time; stop at the first byte that needs a look.
            while p &+ 8 <= count {
                let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: p, as: UInt64.self))
                let special = Self.specialByteMask(word)
                if special != 0 {
                    let shift = special.trailingZeroBitCount & ~7
                    p &+= shift >> 3
                    // The common stop is the closing quote: take it from the word, no reload.
                    if UInt8(truncatingIfNeeded: word >> UInt64(shift)) == 0x22 {
                        pos = p &+ 1
                        return JSONToken(kind: .string, start: start, end: p, hasEscape: escaped)
                    }
                    break
                }
                p &+= 8
            }
            guard p < count else { break }
            let c = bytes[p]
            if c == 0x22 {
                pos = p &+ 1
                return JSONToken(kind: .string, start: start, end: p, hasEscape: escaped)
            }
            if c >= 0x20 && c < 0x80 && c != 0x5C {
                p &+= 1
                continue
            }
            pos = p
            if c == 0x5C {
                escaped = true
                guard scanEscape() else { break }
            } else if c < 0x20 {
                break
            } else {
                guard scanUTF8Sequence() else { break }
            }
            p = pos
        }
        failed = true
        return nil
    }

    /// For eight bytes (first byte in the low bits): a mask whose lowest set bit lies in the first
    /// byte that is `"`, `\\`, a control character (< 0x20) or non-ASCII (>= 0x80); 0 if none.
    /// (Each zero-byte test can only misfire in bytes *after* a genuine hit, so the lowest
    /// set bit is exact.)
    @inline(__always)
    static func specialByteMask(_ v: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let quote = v ^ (ones &* 0x22)
        let backslash = v ^ (ones &* 0x5C)
        let isQuote = (quote &- ones) & ~quote
        let isBackslash = (backslash &- ones) & ~backslash
        let isControl = (v &- ones &* 0x20) & ~v
        return (isQuote | isBackslash | isControl | v) & high
    }

    /// Validates one escape sequence at `pos` (the backslash) and moves past it.
        mutating func scanEscape() -> Bool {
        pos += 1
        switch peek {
        case 0x22, 0x5C, 0x2F, 0x62, 0x66, 0x6E, 0x72, 0x74:  // " \ / b f n r t
            pos += 1
            return true
        case 0x75:  // u
            pos += 1
            guard let unit = readHex4() else { return false }
            if unit >= 0xD800 && unit <= 0xDBFF {
                // A high surrogate must be followed by an escaped low surrogate.
                guard peek == 0x5C, byte(at: pos + 1) == 0x75 else { return false }
                pos += 2
                guard let low = readHex4(), low >= 0xDC00 && low <= 0xDFFF else { return false }
                return true
            }
            return !(unit >= 0xDC00 && unit <= 0xDFFF)
        default:
            return false
        }
    }

    /// Reads four hex digits at `pos`.
        mutating func readHex4() -> UInt32? {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let h = Self.hexValue(peek) else { return nil }
            value = value << 4 | h
            pos += 1
        }
        return value
    }

    /// Validates one multi-byte UTF-8 sequence whose lead byte is at `pos` (>= 0x80):
    /// no overlong forms, no surrogates, nothing above U+10FFFF.
        mutating func scanUTF8Sequence() -> Bool {
        let c0 = peek
        @inline(__always) func cont(_ b: UInt8) -> Bool { b & 0xC0 == 0x80 }
        let c1 = byte(at: pos + 1)
        switch c0 {
        case 0xC2...0xDF:
            guard cont(c1) else { return false }
            pos += 2
        case 0xE0...0xEF:
            let c2 = byte(at: pos + 2)
            let lo: UInt8 = c0 == 0xE0 ? 0xA0 : 0x80
            let hi: UInt8 = c0 == 0xED ? 0x9F : 0xBF
            guard c1 >= lo && c1 <= hi, cont(c2) else { return false }
            pos += 3
        case 0xF0...0xF4:
            let c2 = byte(at: pos + 2), c3 = byte(at: pos + 3)
            let lo: UInt8 = c0 == 0xF0 ? 0x90 : 0x80
            let hi: UInt8 = c0 == 0xF4 ? 0x8F : 0xBF
            guard c1 >= lo && c1 <= hi, cont(c2), cont(c3) else { return false }
            pos += 4
        default:
            return false
        }
        return true
    }

    // MARK: - Numbers and literals

    /// Scans a number token (strict JSON grammar) at `pos`.
    mutating func scanNumber() -> JSONToken? {
        let start = pos
        var p = pos
        @inline(__always) func at(_ i: Int) -> UInt8 { i < count ? bytes[i] : 0 }
        if at(p) == 0x2D { p &+= 1 }  // -
        let intStart = p
        let first = at(p)
        if first == 0x30 {
            p &+= 1
        } else if first >= 0x31 && first <= 0x39 {
            p &+= 1
            while p &+ 8 <= count, DecimalText.allDigits(bytes, at: p) { p &+= 8 }
            while Self.isDigit(at(p)) { p &+= 1 }
        } else {
            failed = true
            return nil
        }
        let intDigits = p - intStart
        var isInteger = true
        var hasExponent = false
        if at(p) == 0x2E {  // .
            isInteger = false
            p &+= 1
            guard Self.isDigit(at(p)) else { failed = true; return nil }
            while Self.isDigit(at(p)) { p &+= 1 }
        }
        let e = at(p)
        if e == 0x65 || e == 0x45 {  // e E
            isInteger = false
            hasExponent = true
            p &+= 1
            let s = at(p)
            if s == 0x2B || s == 0x2D { p &+= 1 }
            guard Self.isDigit(at(p)) else { failed = true; return nil }
            while Self.isDigit(at(p)) { p &+= 1 }
        }
        pos = p
        let tok = JSONToken(kind: .number, start: start, end: p, isInteger: isInteger)
        // Only an exponent or a very long integer part can leave the range of Double.
        if hasExponent || intDigits > 300 {
            if let r = DecimalText.scan(bytes, from: start, limit: p), r.value.isFinite {} else { numberOverflow = true }
        }
        return tok
    }

    /// Scans `true`, `false` or `null` at `pos`.
    mutating func scanLiteral() -> JSONToken? {
        let start = pos
        switch peek {
        case 0x74:  // true
            if byte(at: pos + 1) == 0x72 && byte(at: pos + 2) == 0x75 && byte(at: pos + 3) == 0x65 {
                pos += 4
                return JSONToken(kind: .trueValue, start: start, end: pos)
            }
        case 0x66:  // false
            if byte(at: pos + 1) == 0x61 && byte(at: pos + 2) == 0x6C && byte(at: pos + 3) == 0x73
                && byte(at: pos + 4) == 0x65
            {
                pos += 5
                return JSONToken(kind: .falseValue, start: start, end: pos)
            }
        case 0x6E:  // null
            if byte(at: pos + 1) == 0x75 && byte(at: pos + 2) == 0x6C && byte(at: pos + 3) == 0x6C {
                pos += 4
                return JSONToken(kind: .null, start: start, end: pos)
            }
        default:
            break
        }
        failed = true
        return nil
    }

    // MARK: - Values

    /// Scans any value at `pos` and returns its token. Containers are validated in full and
    /// their token spans from the opening to past the closing bracket. `depth` is the depth of
    /// the container that holds this value (0 for a top-level value).
    mutating func scanValue(depth: Int) -> JSONToken? {
        // A compare chain in order of frequency, not a `switch` (an indirect jump).
        let c = peek
        if c == 0x22 { return scanString() }
        if Self.isDigit(c) || c == 0x2D { return scanNumber() }
        let start = pos
        if c == 0x7B {
            guard skipObject(depth: depth + 1) else { return nil }
            return JSONToken(kind: .object, start: start, end: pos)
        }
        if c == 0x5B {
            guard skipArray(depth: depth + 1) else { return nil }
            return JSONToken(kind: .array, start: start, end: pos)
        }
        return scanLiteral()  // true, false, null; fails on anything else
    }

    /// Validates and skips any value at `pos`.
    mutating func skipValue(depth: Int) -> Bool {
        let c = peek
        if c == 0x22 { return scanString() != nil }
        if Self.isDigit(c) || c == 0x2D { return scanNumber() != nil }
        if c == 0x7B { return skipObject(depth: depth + 1) }
        if c == 0x5B { return skipArray(depth: depth + 1) }
        return scanLiteral() != nil  // true, false, null; fails on anything else
    }

    /// Validates and skips an object whose `{` is at `pos`; `depth` is this object's depth.
        mutating func skipObject(depth: Int) -> Bool {
        guard depth <= JSONScanner.maxDepth, consume(0x7B) else { return fail() }
        skipWhitespace()
        if consume(0x7D) { return true }
        while true {
            guard scanString() != nil else { return false }
            skipWhitespace()
            guard consume(0x3A) else { return fail() }
            skipWhitespace()
            guard skipValue(depth: depth) else { return false }
            switch afterMember(close: 0x7D) {
            case .more: continue
            case .done: return true
            case .error: return false
            }
        }
    }

    /// Validates and skips an array whose `[` is at `pos`; `depth` is this array's depth.
        mutating func skipArray(depth: Int) -> Bool {
        guard depth <= JSONScanner.maxDepth, consume(0x5B) else { return fail() }
        skipWhitespace()
        if consume(0x5D) { return true }
        while true {
            guard skipValue(depth: depth) else { return false }
            switch afterMember(close: 0x5D) {
            case .more: continue
            case .done: return true
            case .error: return false
            }
        }
    }

    /// Validates a whole document that must be a single value; used by tests and tools.
    mutating func validateDocument() -> Bool {
        skipWhitespace()
        guard skipValue(depth: 0) else { return false }
        skipWhitespace()
        return atEnd ? true : fail()
    }
}

/// The JSON type of a scanned token.
enum JSONKind: UInt8 {
    case absent = 0
    case object, array, string, number, trueValue, falseValue, null
}

/// A scanned value: its kind and byte range. For strings the range is the raw content
/// between the quotes (escapes not decoded); for everything else it spans the whole token.
/// Offsets are stored as `Int32` so a token fits in two registers (the parser rejects frames of
/// 2 GiB or more).
struct JSONToken {
    var kind: JSONKind
    private var start32: Int32
    private var end32: Int32
    /// Strings: the content contains backslash escapes.
    var hasEscape: Bool
    /// Numbers: no fraction and no exponent.
    var isInteger: Bool

    @inline(__always)
    init(kind: JSONKind = .absent, start: Int = 0, end: Int = 0, hasEscape: Bool = false, isInteger: Bool = false) {
        self.kind = kind
        self.start32 = Int32(truncatingIfNeeded: start)
        self.end32 = Int32(truncatingIfNeeded: end)
        self.hasEscape = hasEscape
        self.isInteger = isInteger
    }

    var start: Int { Int(start32) }
    var end: Int { Int(end32) }
    var isPresent: Bool { kind != .absent }
    /// Present and not `null`.
    var hasValue: Bool { kind != .absent && kind != .null }
    var length: Int { end - start }
}

extension JSONScanner {
    @inline(__always)
    static func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }

    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case 0x30...0x39: return UInt32(c - 0x30)
        case 0x41...0x46: return UInt32(c - 0x41 + 10)
        case 0x61...0x66: return UInt32(c - 0x61 + 10)
        default: return nil
        }
    }

    /// Decodes the content of a string token (escapes resolved, UTF-8 re-encoded) into `out`.
    /// Returns the decoded length, or nil if it does not fit. The token must come from a
    /// successful `scanString`, so its escapes are known to be valid.
    static func decodeString(_ bytes: UnsafeRawBufferPointer, _ tok: JSONToken, into out: UnsafeMutableRawBufferPointer) -> Int? {
        var i = tok.start
        var n = 0
        let end = min(tok.end, bytes.count)
        let cap = out.count
        @inline(__always) func put(_ b: UInt8) -> Bool {
            guard n < cap else { return false }
            out[n] = b
            n += 1
            return true
        }
        @inline(__always) func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= end else { return nil }
            var v: UInt32 = 0
            for k in 0..<4 {
                guard let h = Self.hexValue(bytes[at + k]) else { return nil }
                v = v << 4 | h
            }
            return v
        }
        while i < end {
            let c = bytes[i]
            if c != 0x5C {
                guard put(c) else { return nil }
                i += 1
                continue
            }
            guard i + 1 < end else { return nil }
            let e = bytes[i + 1]
            i += 2
            switch e {
            case 0x62: guard put(0x08) else { return nil }
            case 0x66: guard put(0x0C) else { return nil }
            case 0x6E: guard put(0x0A) else { return nil }
            case 0x72: guard put(0x0D) else { return nil }
            case 0x74: guard put(0x09) else { return nil }
            case 0x75:
                guard var scalar = hex4(i) else { return nil }
                i += 4
                if scalar >= 0xD800 && scalar <= 0xDBFF {
                    guard i + 1 < end, bytes[i] == 0x5C, bytes[i + 1] == 0x75, let low = hex4(i + 2) else { return nil }
                    i += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low &- 0xDC00)
                }
                if scalar < 0x80 {
                    guard put(UInt8(scalar)) else { return nil }
                } else if scalar < 0x800 {
                    guard put(UInt8(0xC0 | (scalar >> 6))), put(UInt8(0x80 | (scalar & 0x3F))) else { return nil }
                } else if scalar < 0x10000 {
                    guard put(UInt8(0xE0 | (scalar >> 12))), put(UInt8(0x80 | ((scalar >> 6) & 0x3F))),
                        put(UInt8(0x80 | (scalar & 0x3F)))
                    else { return nil }
                } else {
                    guard put(UInt8(0xF0 | ((scalar >> 18) & 0x07))), put(UInt8(0x80 | ((scalar >> 12) & 0x3F))),
                        put(UInt8(0x80 | ((scalar >> 6) & 0x3F))), put(UInt8(0x80 | (scalar & 0x3F)))
                    else { return nil }
                }
            default:  // " \ /
                guard put(e) else { return nil }
            }
        }
        return n
    }
}
