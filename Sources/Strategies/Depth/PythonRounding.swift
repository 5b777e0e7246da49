/// Python's `round(x, ndigits)` for floats, reproduced exactly.
///
/// CPython rounds the **exact binary value** of `x` to `ndigits` decimal places (ties to even,
/// and only on exact ties, which are rare because most decimals are not representable), then
/// converts that decimal back to the nearest double. Naive `(x * 100).rounded() / 100` differs
/// from this: `x * 100` is itself rounded, so e.g. 2.675 (really 2.67499999999999982236431605997495353221893310546875)
/// would become 2.68 where Python gives 2.67.
///
/// The implementation is pure integer arithmetic on `UInt128` and does not allocate:
/// 1. decompose `x = m · 2^e` exactly (`m` is the 53-bit significand);
/// 2. `x · 10^d = m · 5^d · 2^(e+d)`: if `e + d ≥ 0` this is an integer and the answer is `x`;
///    otherwise `N` = `(m · 5^d) / 2^k` rounded half-to-even from the exact remainder;
/// 3. the answer is `N / 10^d` correctly rounded to a double (a plain IEEE division when both
///    fit in 53 bits, otherwise an exact long division with a sticky bit).
///
/// Exact for every finite `x` and `digits` in -22...22 (where `10^|digits|` and the products fit
/// in 128 bits). Outside that range, which the service never uses: `digits > 22` returns `x`
/// (exact whenever `|x| ≥ 2^-17`); `digits < -22` returns a signed zero when `|x| < 5e22` and `x`
/// otherwise (CPython would round to a multiple of `10^|digits|`). NaN, ±Inf and ±0 are returned
/// unchanged, as CPython does.
public enum PythonRounding {
    public static func round(_ x: Double, _ digits: Int) -> Double {
        guard x.isFinite, x != 0 else { return x }
        if digits > 22 { return x }
        if digits < -22 { return x.magnitude < 5e22 ? signedZero(like: x) : x }

        // x = ±m · 2^e exactly.
        let m: UInt64
        let e: Int
        if x.exponentBitPattern == 0 {
            m = x.significandBitPattern
            e = -1074
        } else {
            m = x.significandBitPattern | (1 << 52)
            e = Int(x.exponentBitPattern) - 1075
        }
        let negative = x.sign == .minus

        let magnitude: Double
        if digits >= 0 {
            magnitude = roundFraction(m: m, e: e, d: digits) ?? x.magnitude
        } else {
            magnitude = roundTens(m: m, e: e, k: -digits) ?? x.magnitude
        }
        return negative ? -magnitude : magnitude
    }

    // MARK: - digits >= 0

    /// `|x|` rounded to `d` decimals; nil when `|x| · 10^d` is already an integer (answer `|x|`).
    @inline(__always)
    private static func roundFraction(m: UInt64, e: Int, d: Int) -> Double? {
        if e + d >= 0 { return nil }
        let k = -(e + d)  // > 0
        let a = UInt128(m) &* pow5[d]  // < 2^53 · 5^22 < 2^105
        let n: UInt128
        if k >= 127 {
            n = 0  // a < 2^105 ≤ 2^(k-1): below one half
        } else {
            n = shiftRightRoundingHalfEven(a, by: k)
        }
        if n == 0 { return 0.0 }
        return ratioToDouble(n, pow10[d])
    }

    // MARK: - digits < 0

    /// `|x|` rounded to a multiple of `10^k`; nil when the answer is `|x|` itself.
    @inline(__always)
    private static func roundTens(m: UInt64, e: Int, k: Int) -> Double? {
        // When the spacing of doubles around x exceeds 2 · 10^k, the nearest double to the
        // rounded value is x itself (2^(e-2) ≥ 16^k > 10^k / 2 on either side).
        if e >= 4 * k + 2 { return nil }
        let five = pow5[k]
        let shift = e - k
        let a: UInt128
        let b: UInt128
        if shift >= 0 {
            a = UInt128(m) << shift  // ≤ 53 + 3k + 1 ≤ 120 bits
            b = five
        } else {
            let fiveBits = 128 - five.leadingZeroBitCount
            if fiveBits + (-shift) > 126 {
                return 0.0  // a < 2^53 and b ≥ 2^126: the quotient is below one half
            }
            a = UInt128(m)
            b = five << (-shift)
        }
        let q = a / b
        let r = a % b
        var n = q
        let twice = r << 1  // r < b < 2^127
        if twice > b || (twice == b && (q & 1) == 1) { n += 1 }
        if n == 0 { return 0.0 }
        // n · 10^k = (n · 5^k) · 2^k; n < 2^69 here, so n · 5^k < 2^121.
        let scaled = ratioToDouble(n &* five, 1)
        return Double(sign: .plus, exponent: k, significand: scaled)
    }

    // MARK: - Exact helpers

    /// `a / 2^k` rounded half to even, for 0 < k < 128.
    @inline(__always)
    private static func shiftRightRoundingHalfEven(_ a: UInt128, by k: Int) -> UInt128 {
        let q = a >> k
        let mask = (UInt128(1) << k) &- 1
        let rem = a & mask
        let half = UInt128(1) << (k - 1)
        if rem > half || (rem == half && (q & 1) == 1) { return q + 1 }
        return q
    }

    /// The double nearest to `n / p` (ties to even), for `n > 0` and `0 < p < 2^74`.
    @inline(__always)
    static func ratioToDouble(_ n: UInt128, _ p: UInt128) -> Double {
        let limit: UInt128 = 1 << 53
        if n <= limit && p <= limit {
            // Both exact as doubles: IEEE division is correctly rounded.
            return Double(UInt64(n)) / Double(UInt64(p))
        }
        let ln = 128 - n.leadingZeroBitCount
        let lp = 128 - p.leadingZeroBitCount
        // Choose s so that q = floor(n · 2^s / p) lies in [2^53, 2^55).
        let s = 54 - (ln - lp)
        let q: UInt128
        let sticky: Bool
        if s >= 0 {
            let num = n << s  // bit length 54 + lp ≤ 128
            q = num / p
            sticky = num % p != 0
        } else {
            let den = p << (-s)  // bit length ln - 54 < 128
            q = n / den
            sticky = n % den != 0
        }
        var extra = (128 - q.leadingZeroBitCount) - 53  // 1 or 2
        var mant = q >> extra
        let low = q & ((UInt128(1) << extra) &- 1)
        let half = UInt128(1) << (extra - 1)
        if low > half || (low == half && (sticky || (mant & 1) == 1)) {
            mant += 1
            if mant == (UInt128(1) << 53) {
                mant >>= 1
                extra += 1
            }
        }
        return Double(sign: .plus, exponent: extra - s, significand: Double(UInt64(mant)))
    }

    @inline(__always)
    private static func signedZero(like x: Double) -> Double {
        x.sign == .minus ? -0.0 : 0.0
    }

    /// 5^0 ... 5^22.
    private static let pow5: [UInt128] = {
        var table: [UInt128] = []
        table.reserveCapacity(23)
        var v: UInt128 = 1
        for _ in 0...22 {
            table.append(v)
            v *= 5
        }
        return table
    }()

    /// 10^0 ... 10^22.
    private static let pow10: [UInt128] = {
        var table: [UInt128] = []
        table.reserveCapacity(23)
        var v: UInt128 = 1
        for _ in 0...22 {
            table.append(v)
            v *= 10
        }
        return table
    }()
}
