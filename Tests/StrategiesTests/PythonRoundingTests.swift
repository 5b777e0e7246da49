import Testing
@testable import Strategies

/// Expected values are CPython 3.11 `round(x, digits)` outputs.
struct PythonRoundCase: Sendable, CustomTestStringConvertible {
    var x: Double
    var digits: Int
    var expected: Double
    var testDescription: String { "round(\(x), \(digits)) == \(expected)" }
}

let pythonRoundCases: [PythonRoundCase] = [
    // The examples every port gets wrong with (x * 10^d).rounded() / 10^d.
    PythonRoundCase(x: 2.675, digits: 2, expected: 2.67),
    PythonRoundCase(x: -2.675, digits: 2, expected: -2.67),
    PythonRoundCase(x: 1.005, digits: 2, expected: 1.0),
    PythonRoundCase(x: 0.285, digits: 2, expected: 0.28),
    // Exact binary ties go to even.
    PythonRoundCase(x: 0.125, digits: 2, expected: 0.12),
    PythonRoundCase(x: -0.125, digits: 2, expected: -0.12),
    PythonRoundCase(x: 0.375, digits: 2, expected: 0.38),
    PythonRoundCase(x: 0.5, digits: 0, expected: 0.0),
    PythonRoundCase(x: 1.5, digits: 0, expected: 2.0),
    PythonRoundCase(x: 2.5, digits: 0, expected: 2.0),
    PythonRoundCase(x: -2.5, digits: 0, expected: -2.0),
    PythonRoundCase(x: -1.5, digits: 0, expected: -2.0),
    PythonRoundCase(x: 4503599627370495.5, digits: 0, expected: 4503599627370496.0),
    // Values from the depth goldens (§5.5).
    PythonRoundCase(x: 8.852459016393446, digits: 2, expected: 8.85),
    PythonRoundCase(x: 8.852459016393452, digits: 2, expected: 8.85),
    PythonRoundCase(x: 0.0885245901639345, digits: 4, expected: 0.0885),
    PythonRoundCase(x: 0.08852459016393452, digits: 4, expected: 0.0885),
    PythonRoundCase(x: 54.42622950819672, digits: 2, expected: 54.43),
    PythonRoundCase(x: 45.57377049180327, digits: 2, expected: 45.57),
    PythonRoundCase(x: 13.899999999999999, digits: 4, expected: 13.9),
    PythonRoundCase(x: 9.995002498750624, digits: 2, expected: 10.0),
    PythonRoundCase(x: 49870.180722891564, digits: 2, expected: 49870.18),
    PythonRoundCase(x: 50177.338129496406, digits: 2, expected: 50177.34),
    PythonRoundCase(x: 307.1574066048415, digits: 2, expected: 307.16),
    PythonRoundCase(x: 80.04445231092608, digits: 2, expected: 80.04),
    PythonRoundCase(x: 0.4999999999999998, digits: 2, expected: 0.5),
    PythonRoundCase(x: 10.000000000000005, digits: 2, expected: 10.0),
    PythonRoundCase(x: 0.3235294117647059, digits: 3, expected: 0.324),
    PythonRoundCase(x: 49999.99999999999, digits: 2, expected: 50000.0),
    // Underflow to zero keeps the sign.
    PythonRoundCase(x: 1e-30, digits: 2, expected: 0.0),
    PythonRoundCase(x: .leastNonzeroMagnitude, digits: 2, expected: 0.0),
    PythonRoundCase(x: 1.5e-07, digits: 6, expected: 0.0),
    // Already integral after scaling, or too large to have fractional digits: unchanged.
    PythonRoundCase(x: 4503599627370496.0, digits: 0, expected: 4503599627370496.0),
    PythonRoundCase(x: 9007199254740991.0, digits: 2, expected: 9007199254740991.0),
    PythonRoundCase(x: 1e22, digits: 2, expected: 1e22),
    PythonRoundCase(x: 1.7976931348623157e308, digits: 2, expected: 1.7976931348623157e308),
    PythonRoundCase(x: 1.0000000000000002, digits: 15, expected: 1.0),
    // Scaled value above 2^53: the exact long-division path.
    PythonRoundCase(x: 1000000000000000.1, digits: 2, expected: 1000000000000000.1),
    PythonRoundCase(x: 90071992547409.92, digits: 2, expected: 90071992547409.92),
    PythonRoundCase(x: 123456789012.34567, digits: 4, expected: 123456789012.3457),
    PythonRoundCase(x: 123456789.12345679, digits: 9, expected: 123456789.12345679),
    PythonRoundCase(x: 0.12345678901234568, digits: 18, expected: 0.12345678901234568),
    PythonRoundCase(x: 3.0000000000000005e-10, digits: 22, expected: 3e-10),
    PythonRoundCase(x: 2.5e-21, digits: 21, expected: 2e-21),
    PythonRoundCase(x: 3.5e-21, digits: 21, expected: 4e-21),
    PythonRoundCase(x: 5.551115123125783e-17, digits: 17, expected: 6e-17),
    // Negative digits.
    PythonRoundCase(x: 15.0, digits: -1, expected: 20.0),
    PythonRoundCase(x: 25.0, digits: -1, expected: 20.0),
    PythonRoundCase(x: -35.0, digits: -1, expected: -40.0),
    PythonRoundCase(x: 1234567.0, digits: -3, expected: 1235000.0),
    PythonRoundCase(x: 98765.4321, digits: -22, expected: 0.0),
    PythonRoundCase(x: 6.02214076e23, digits: -22, expected: 6e23),
    // Out of the exact range: digits > 22 leaves ordinary values unchanged.
    PythonRoundCase(x: 12345.678, digits: 23, expected: 12345.678),
]

@Suite("Python round()")
struct PythonRoundingTests {
    @Test("matches CPython's round(x, n) bit for bit, ties to even only on exact binary ties",
          arguments: pythonRoundCases)
    func matchesCPython(_ c: PythonRoundCase) {
        let r = PythonRounding.round(c.x, c.digits)
        #expect(r == c.expected)
        #expect(r.sign == c.expected.sign)
    }

    @Test("rounding a negative value to zero gives negative zero, as CPython does")
    func negativeZero() {
        let r = PythonRounding.round(-0.5, 0)
        #expect(r == 0 && r.sign == .minus)
        let tiny = PythonRounding.round(-1e-30, 2)
        #expect(tiny == 0 && tiny.sign == .minus)
        let subnormal = PythonRounding.round(-.leastNonzeroMagnitude, 0)
        #expect(subnormal == 0 && subnormal.sign == .minus)
    }

    @Test("zero, infinities and NaN are returned unchanged")
    func specialValues() {
        #expect(PythonRounding.round(0.0, 2) == 0.0)
        #expect(PythonRounding.round(-0.0, 2).sign == .minus)
        #expect(PythonRounding.round(.infinity, 2) == .infinity)
        #expect(PythonRounding.round(-.infinity, 2) == -.infinity)
        #expect(PythonRounding.round(.nan, 2).isNaN)
    }

    @Test("naive scale-round-unscale differs from Python on 2.675, and PythonRounding does not")
    func naiveDiffers() {
        let naive = (2.675 * 100).rounded() / 100
        #expect(naive == 2.68)
        #expect(PythonRounding.round(2.675, 2) == 2.67)
    }

    @Test("rounding is odd-symmetric: round(-x) == -round(x)")
    func symmetric() {
        var x = 0.001
        for _ in 0..<2000 {
            for d in 0...8 {
                #expect(PythonRounding.round(-x, d) == -PythonRounding.round(x, d))
            }
            x = x * 1.013 + 0.0007
        }
    }

    @Test("results are the nearest double to a decimal with at most n digits after the point")
    func resultHasAtMostNDigits() {
        // Every result r must satisfy r == round(r, n) (idempotence) for these ranges.
        var x = 0.0001
        for _ in 0..<1500 {
            for d in 0...8 {
                let r = PythonRounding.round(x, d)
                #expect(PythonRounding.round(r, d) == r)
                #expect((r - x).magnitude <= 0.5000001 * pow10(d) + x.ulp)
            }
            x = x * 1.011 + 0.00013
        }
    }
}

private func pow10(_ d: Int) -> Double {
    var p = 1.0
    for _ in 0..<d { p /= 10 }
    return p
}
