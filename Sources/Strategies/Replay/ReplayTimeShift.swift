/// Moves the event time of a recorded frame by whole seconds, in place, so recordings can be
/// replayed side by side and in a loop (benchmarks, load tests) with each symbol's event time
/// moving forward: windows, cooldowns and histories then behave as in production instead of
/// seeing time jump back at every pass.
///
/// The fields the parser takes event time from are rewritten: `"E":<digits>`, `"T":<digits>` and
/// the `YYYY-MM-DDTHH:MM:SS` part of the envelope's `"timestamp"` (its fraction is kept). Whole
/// seconds keep every field the same width, so a frame's length never changes. A field whose
/// width would change (before 1970, after year 2286) is left alone.
public struct ReplayTimeShift: Sendable {
    private var eOffset = -1, tOffset = -1, stampOffset = -1
    private var eValue: Int64 = 0, tValue: Int64 = 0, stampSeconds: Int64 = 0, stampMillis: Int64 = 0
    private var eWidth = 0, tWidth = 0

    /// Finds the time fields of `frame` (the recording's original bytes).
    public init(_ frame: UnsafeRawBufferPointer) {
        if let (at, width, value) = Self.integer(after: #""E":"#, in: frame) { (eOffset, eWidth, eValue) = (at, width, value) }
        if let (at, width, value) = Self.integer(after: #""T":"#, in: frame) { (tOffset, tWidth, tValue) = (at, width, value) }
        if let at = Self.find(#""timestamp":""#, in: frame), at + 19 <= frame.count, let s = Self.seconds(frame, at) {
            stampOffset = at
            stampSeconds = s
            stampMillis = Self.fractionMillis(frame, at + 19)
        }
    }

    /// The frame's event time as the parser reads it (`E`, else `T`, else the envelope
    /// timestamp), in ms since the epoch; nil if it has none of them.
    public var eventTimeMs: Int64? {
        if eOffset >= 0 { return eValue }
        if tOffset >= 0 { return tValue }
        return stampOffset >= 0 ? stampSeconds * 1000 + stampMillis : nil
    }

    /// Writes the original times plus `seconds` into `frame`, which must hold the bytes given to
    /// `init` (possibly shifted before).
    public func apply(seconds: Int64, to frame: UnsafeMutableRawBufferPointer) {
        if eOffset >= 0 { Self.write(eValue + seconds * 1000, width: eWidth, at: eOffset, frame) }
        if tOffset >= 0 { Self.write(tValue + seconds * 1000, width: tWidth, at: tOffset, frame) }
        if stampOffset >= 0 { Self.writeStamp(stampSeconds + seconds, at: stampOffset, frame) }
    }

    // MARK: - Internals

    private static func find(_ pattern: StaticString, in s: UnsafeRawBufferPointer) -> Int? {
        let n = pattern.utf8CodeUnitCount
        let p = pattern.utf8Start
        var i = 0
        outer: while i + n <= s.count {
            for j in 0..<n where s[i + j] != p[j] {
                i += 1
                continue outer
            }
            return i + n
        }
        return nil
    }

    /// The unsigned integer right after `pattern`: its offset, digit count and value.
    private static func integer(after pattern: StaticString, in s: UnsafeRawBufferPointer) -> (Int, Int, Int64)? {
        guard let at = find(pattern, in: s) else { return nil }
        var i = at
        var v: Int64 = 0
        while i < s.count, s[i] &- 0x30 < 10, i - at < 18 {
            v = v * 10 + Int64(s[i] - 0x30)
            i += 1
        }
        return i > at ? (at, i - at, v) : nil
    }

    /// `value` in exactly `width` digits (zero-padded when `pad`); otherwise nothing is written.
    private static func write(_ value: Int64, width: Int, at offset: Int, _ s: UnsafeMutableRawBufferPointer,
                              pad: Bool = false) {
        var digits = 0
        var v = value
        repeat {
            digits += 1
            v /= 10
        } while v > 0
        guard value >= 0, digits == width || (pad && digits < width) else { return }
        v = value
        for i in stride(from: offset + width - 1, through: offset, by: -1) {
            s[i] = UInt8(truncatingIfNeeded: v % 10) + 0x30
            v /= 10
        }
    }

    private static func number(_ s: UnsafeRawBufferPointer, _ from: Int, _ count: Int) -> Int64? {
        var v: Int64 = 0
        for i in from..<(from + count) {
            let d = s[i] &- 0x30
            guard d < 10 else { return nil }
            v = v * 10 + Int64(d)
        }
        return v
    }

    /// `YYYY-MM-DDTHH:MM:SS` at `at` as seconds since the epoch.
    private static func seconds(_ s: UnsafeRawBufferPointer, _ at: Int) -> Int64? {
        guard let y = number(s, at, 4), s[at + 4] == 0x2D, let m = number(s, at + 5, 2), s[at + 7] == 0x2D,
            let d = number(s, at + 8, 2), s[at + 10] == 0x54, let hh = number(s, at + 11, 2), s[at + 13] == 0x3A,
            let mm = number(s, at + 14, 2), s[at + 16] == 0x3A, let ss = number(s, at + 17, 2),
            (1...12).contains(m), (1...31).contains(d), hh < 24, mm < 60, ss < 61
        else { return nil }
        let days = Int64(CivilCalendar.daysFromCivil(year: Int(y), month: Int(m), day: Int(d)))
        return days * 86_400 + hh * 3600 + mm * 60 + ss
    }

    /// Milliseconds of a `.fff…` fraction at `at` (0 without one).
    private static func fractionMillis(_ s: UnsafeRawBufferPointer, _ at: Int) -> Int64 {
        guard at < s.count, s[at] == 0x2E else { return 0 }
        var ms: Int64 = 0
        for k in 1...3 {
            let d = at + k < s.count ? s[at + k] &- 0x30 : 10
            ms = ms * 10 + (d < 10 ? Int64(d) : 0)
        }
        return ms
    }

    private static func writeStamp(_ seconds: Int64, at offset: Int, _ s: UnsafeMutableRawBufferPointer) {
        guard seconds >= 0 else { return }
        let days = seconds / 86_400
        let secondOfDay = seconds % 86_400
        let (y, month, d) = CivilCalendar.civilFromDays(days)
        let m = Int64(month)
        guard y <= 9999 else { return }
        write(y, width: 4, at: offset, s, pad: true)
        write(m, width: 2, at: offset + 5, s, pad: true)
        write(Int64(d), width: 2, at: offset + 8, s, pad: true)
        write(secondOfDay / 3600, width: 2, at: offset + 11, s, pad: true)
        write(secondOfDay / 60 % 60, width: 2, at: offset + 14, s, pad: true)
        write(secondOfDay % 60, width: 2, at: offset + 17, s, pad: true)
    }
}
