/// ISO-8601 / RFC 3339 timestamps ↔ milliseconds since the Unix epoch (UTC), without Foundation.
///
/// Accepted: `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM|±HHMM)`, e.g.
/// `2021-04-05T18:36:37.640000Z`, `2021-04-05T18:36:37Z`, `2021-04-05T20:36:37.64+02:00`.
/// The separator may be `T`, `t` or a space; `Z` may be lower case; `,` is accepted as the
/// decimal mark. The calendar is proleptic Gregorian, years 0000-9999, so dates before 1970
/// give negative milliseconds. Fractions beyond milliseconds are truncated, which is a floor
/// in time for every date (the fraction only ever adds). Rejected (nil): a missing time zone,
/// out-of-range fields (month 13, 2023-02-29, hour 24, second 60, offset hour 24), more than 9
/// fractional digits, a `.` without digits, trailing bytes.

/// Parses an ISO-8601 timestamp into milliseconds since 1970-01-01T00:00:00Z.
public func parseISO8601Millis(_ bytes: UnsafeRawBufferPointer) -> Int64? {
    let n = bytes.count
    @inline(__always) func at(_ i: Int) -> UInt8 { i < n ? bytes[i] : 0 }
    @inline(__always) func digits(_ i: Int, _ count: Int) -> Int? {
        var v = 0
        for k in 0..<count {
            let d = at(i + k) &- 0x30
            guard d < 10 else { return nil }
            v = v * 10 + Int(d)
        }
        return v
    }
    guard n >= 20,
        let year = digits(0, 4), at(4) == 0x2D,
        let month = digits(5, 2), at(7) == 0x2D,
        let day = digits(8, 2)
    else { return nil }
    let sep = at(10)
    guard sep == 0x54 || sep == 0x74 || sep == 0x20,
        let hour = digits(11, 2), at(13) == 0x3A,
        let minute = digits(14, 2), at(16) == 0x3A,
        let second = digits(17, 2)
    else { return nil }
    guard month >= 1 && month <= 12, day >= 1 && day <= CivilCalendar.daysInMonth(year: year, month: month),
        hour <= 23, minute <= 59, second <= 59
    else { return nil }

    var i = 19
    var fractionMs = 0
    if at(i) == 0x2E || at(i) == 0x2C {
        i += 1
        let fracStart = i
        while at(i) &- 0x30 < 10 {
            let place = i - fracStart
            if place < 3 { fractionMs = fractionMs * 10 + Int(at(i) &- 0x30) }
            i += 1
        }
        let count = i - fracStart
        guard count >= 1 && count <= 9 else { return nil }
        for _ in min(count, 3)..<3 { fractionMs *= 10 }
    }

    var offsetSeconds = 0
    let tz = at(i)
    if tz == 0x5A || tz == 0x7A {  // Z z
        i += 1
    } else if tz == 0x2B || tz == 0x2D {  // + -
        guard let oh = digits(i + 1, 2) else { return nil }
        var j = i + 3
        if at(j) == 0x3A { j += 1 }
        guard let om = digits(j, 2), oh <= 23, om <= 59 else { return nil }
        offsetSeconds = (oh * 3600 + om * 60) * (tz == 0x2D ? -1 : 1)
        i = j + 2
    } else {
        return nil
    }
    guard i == n else { return nil }

    let days = CivilCalendar.daysFromCivil(year: year, month: month, day: day)
    let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetSeconds)
    return seconds * 1000 + Int64(fractionMs)
}

/// String convenience for `parseISO8601Millis(_: UnsafeRawBufferPointer)`.
public func parseISO8601Millis(_ text: String) -> Int64? {
    var text = text
    return text.withUTF8 { parseISO8601Millis(UnsafeRawBufferPointer($0)) }
}

/// Formats milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC, always three
/// fractional digits), e.g. `2021-04-05T18:36:37.640Z`. Negative values are dates before
/// 1970. Years outside 0000-9999 are written with as many digits as needed and a leading `-`
/// for years before 0000 (not round-trippable through the parser, which is limited to 4-digit
/// years).
public func formatISO8601Millis(_ ms: Int64) -> String {
    let (secs, milli) = CivilCalendar.floorDivMod(ms, 1000)
    let (days, secOfDay) = CivilCalendar.floorDivMod(secs, 86_400)
    let (year, month, day) = CivilCalendar.civilFromDays(days)
    // Written in place: "-" + up to 16 year digits + "-MM-DDTHH:MM:SS.mmmZ" fits in 40 bytes.
    return String(unsafeUninitializedCapacity: 40) { out in
        var n = 0
        func put(_ c: UInt8) {
            out[n] = c
            n += 1
        }
        func put(_ v: Int64, width: Int) {
            var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // up to 24 digits
            var x = v.magnitude
            var count = 0
            withUnsafeMutableBytes(of: &digits) { d in
                repeat {
                    d[count] = UInt8(x % 10) + 0x30
                    x /= 10
                    count += 1
                } while x > 0
                while count < width {
                    d[count] = 0x30
                    count += 1
                }
                while count > 0 {
                    count -= 1
                    put(d[count])
                }
            }
        }
        if year < 0 { put(0x2D) }
        put(year, width: 4)
        put(0x2D)
        put(Int64(month), width: 2)
        put(0x2D)
        put(Int64(day), width: 2)
        put(0x54)
        put(secOfDay / 3600, width: 2)
        put(0x3A)
        put(secOfDay / 60 % 60, width: 2)
        put(0x3A)
        put(secOfDay % 60, width: 2)
        put(0x2E)
        put(milli, width: 3)
        put(0x5A)
        return n
    }
}

// MARK: - Calendar arithmetic (H. Hinnant's days_from_civil / civil_from_days)

/// Proleptic Gregorian calendar arithmetic, shared by every ISO-8601 writer in the project.
public enum CivilCalendar {

    @inline(__always)
    static func isLeapYear(_ y: Int) -> Bool { (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 }

    @inline(__always)
    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (negative before 1970).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12  // March = 0
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01.
    public static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    /// Floor division and the matching non-negative remainder.
    @inline(__always)
    static func floorDivMod(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        var q = a / b
        var r = a % b
        if r < 0 {
            q -= 1
            r += b
        }
        return (q, r)
    }
}
