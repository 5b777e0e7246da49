import Testing
@testable import Strategies

/// Exchange event times are external `Int64`s: any value may arrive. Every strategy must measure
/// time differences and offsets with saturation: no trap (debug), no wrap-around (`-Ounchecked`,
/// `&-`), and the same results as before for ordinary times.
///
/// Times are drawn from `times` in adversarial orders (huge forward and backward jumps,
/// alternating extremes). Expected rate-limit outcomes are computed exactly with `elapsed(_:_:atLeast:)`,
/// independently of the code under test.
@Suite("event-time overflow: saturating time arithmetic in every strategy")
struct TimeOverflowTests {
    static let big: Int64 = 1_700_000_000_000
    static let times: [Int64] = [.min, .min + 1, -1, 0, 1, .max - 1, .max, big]

    /// Orders of `times`: as listed, reversed, sorted both ways, alternating extremes, and
    /// extremes around zero.
    static let orders: [[Int64]] = [
        times,
        Array(times.reversed()),
        times.sorted(),
        times.sorted(by: >),
        [.min, .max, .min, .max, .min + 1, .max - 1, -1, 1, 0],
        [.max, .min, .max - 1, .min + 1, big, .min, .max],
        [0, .max, 0, .min, 0, .max, big, .min + 1, -1],
    ]

    static let btc = SymbolKey(venue: .spot, symbol: "BTCUSDT")

    /// True when `b` is at least `ms` after `a`, computed exactly (no overflow in the test).
    static func elapsed(_ a: Int64, _ b: Int64, atLeast ms: Int64) -> Bool {
        guard b > a else { return ms <= 0 && b == a }
        let (d, overflow) = b.subtractingReportingOverflow(a)
        return overflow || d >= ms
    }

    /// True when `a` and `b` are at most `ms` apart, computed exactly.
    static func within(_ a: Int64, _ b: Int64, _ ms: Int64) -> Bool {
        let (lo, hi) = a < b ? (a, b) : (b, a)
        let (d, overflow) = hi.subtractingReportingOverflow(lo)
        return !overflow && d <= ms
    }

    static func metaDouble(_ s: Signal, _ name: String) -> Double? {
        if case .double(let v)? = s.metadata.first(where: { $0.0 == name })?.1 { return v }
        return nil
    }

    /// Confidence in (0, 1] and every number of the signal finite.
    static func isSane(_ s: Signal) -> Bool {
        guard s.confidence.isFinite, s.confidence > 0, s.confidence <= 1 else { return false }
        guard s.price.isFinite, s.currentPrice.isFinite else { return false }
        if let sl = s.stopLoss, !sl.isFinite { return false }
        if let tp = s.takeProfit, !tp.isFinite { return false }
        for (_, v) in s.indicators where !v.isFinite { return false }
        for (_, m) in s.metadata { if case .double(let v) = m, !v.isFinite { return false } }
        return true
    }

    /// Signal times, in emission order, each at least `ms` after the previous one.
    static func spaced(_ signals: [Signal], _ ms: Int64) -> Bool {
        zip(signals, signals.dropFirst()).allSatisfy { elapsed($0.eventTimeMs, $1.eventTimeMs, atLeast: ms) }
    }

    // MARK: - Shared helpers

    @Test("timeDelta saturates; millisecondsSaturated clamps and matches Int64((s * 1000).rounded()) in range")
    func helpers() {
        #expect(timeDelta(.max, .min) == .max)
        #expect(timeDelta(.min, .max) == .min)
        #expect(timeDelta(.min, 1) == .min)
        #expect(timeDelta(1, .min) == .max)
        #expect(timeDelta(-1, .max) == .min)
        #expect(timeDelta(Self.big, 1) == Self.big - 1)
        #expect(timeDelta(0, .max) == -Int64.max)
        #expect(Int64.max.addingSaturated(1) == .max)
        #expect(Int64.min.addingSaturated(-1) == .min)
        for s in [0.1, 1.0, 1.5, 60.0, 3600.0, 0.0, 86_400.0] {
            #expect(millisecondsSaturated(s) == Int64((s * 1000).rounded()), "\(s)")
        }
        #expect(millisecondsSaturated(.infinity) == .max)
        #expect(millisecondsSaturated(-.infinity) == .min)
        #expect(millisecondsSaturated(.nan) == 0)
        #expect(millisecondsSaturated(1e300) == .max)
        #expect(millisecondsSaturated(-1e300) == .min)
    }

    // MARK: - orderbook_skew

    /// Bid-heavy (ratio 1.5) at a 0.02 % spread: a BUY whenever the cooldown allows.
    static func skewBook() -> (PriceLevels, PriceLevels) {
        (PriceLevels((0..<5).map { (100.0 - 0.01 * Double($0), 3.0) }),
         PriceLevels((0..<5).map { (100.02 + 0.01 * Double($0), 2.0) }))
    }

    @Test("orderbook_skew: for every pair of extreme times, the second signal passes the 60 s cooldown exactly when it is ≥ 60 s later")
    func skewCooldownPairs() {
        let (bids, asks) = Self.skewBook()
        for a in Self.times {
            for b in Self.times {
                var s = OrderbookSkew()
                let first = s.onBook(key: Self.btc, bids: bids, asks: asks, eventTimeMs: a)
                let second = s.onBook(key: Self.btc, bids: bids, asks: asks, eventTimeMs: b)
                #expect(first != nil, "\(a)")
                // `&-` got (min → 1) wrong (wrapped negative: suppressed) and (big → min) wrong
                // (wrapped positive: allowed).
                #expect((second != nil) == Self.elapsed(a, b, atLeast: 60_000), "\(a) → \(b)")
                if let first { #expect(Self.isSane(first)) }
                if let second { #expect(Self.isSane(second)) }
            }
        }
    }

    @Test("orderbook_skew: a signal at Int64.min permits one at 1; one at 1.7e12 blocks Int64.min and permits 60 s later")
    func skewCooldownAcrossOverflow() {
        let (bids, asks) = Self.skewBook()
        var s = OrderbookSkew()
        let r1 = s.onBook(key: Self.btc, bids: bids, asks: asks, eventTimeMs: .min)
        let r2 = s.onBook(key: Self.btc, bids: bids, asks: asks, eventTimeMs: 1)  // 2^63 + 1 ms later
        let r3 = s.onBook(key: Self.btc, bids: bids, asks: asks, eventTimeMs: .max)
        let r4 = s.onBook(key: Self.btc, bids: bids, asks: asks, eventTimeMs: .max - 1)  // 1 ms before the last
        #expect(r1 != nil)
        #expect(r2?.eventTimeMs == 1)
        #expect(r3?.eventTimeMs == .max)
        #expect(r4 == nil)

        var t = OrderbookSkew()
        let q1 = t.onBook(key: Self.btc, bids: bids, asks: asks, eventTimeMs: Self.big)
        let q2 = t.onBook(key: Self.btc, bids: bids, asks: asks, eventTimeMs: .min)  // far in the past
        let q3 = t.onBook(key: Self.btc, bids: bids, asks: asks, eventTimeMs: .min + 1)
        let q4 = t.onBook(key: Self.btc, bids: bids, asks: asks, eventTimeMs: Self.big + 59_999)
        let q5 = t.onBook(key: Self.btc, bids: bids, asks: asks, eventTimeMs: Self.big + 60_000)
        #expect(q1 != nil)
        #expect(q2 == nil)
        #expect(q3 == nil)
        #expect(q4 == nil)
        #expect(q5?.eventTimeMs == Self.big + 60_000)
        #expect(t.trackedSymbols == 1)
    }

    @Test("orderbook_skew: adversarial orders never trap; signals are sane and ≥ 60 s apart")
    func skewOrders() {
        let (bids, asks) = Self.skewBook()
        for order in Self.orders {
            var s = OrderbookSkew()
            var out: [Signal] = []
            for t in order { if let r = s.onBook(key: Self.btc, bids: bids, asks: asks, eventTimeMs: t) { out.append(r) } }
            #expect(!out.isEmpty)
            #expect(out.allSatisfy(Self.isSane))
            #expect(Self.spaced(out, 60_000), "\(order)")
        }
    }

    // MARK: - trade_momentum

    static func trade(_ price: Double, _ qty: Double, at t: Int64) -> TradeEvent {
        TradeEvent(key: btc, price: price, quantity: qty, isBuyerMaker: false, tradeId: 0, isAggregate: false,
                   eventTimeMs: t)
    }

    /// Ten trades of 1.0 at 100, then a buyer-aggressor trade of 2.0 at 100.05 (a BUY when the
    /// cooldown allows), all at `t`.
    static func momentumBurst(_ s: inout TradeMomentum, at t: Int64) -> [Signal] {
        var out: [Signal] = []
        for _ in 0..<10 { if let r = s.onTrade(trade(100, 1, at: t)) { out.append(r) } }
        if let r = s.onTrade(trade(100.05, 2, at: t)) { out.append(r) }
        return out
    }

    @Test("trade_momentum: for every pair of extreme times, the second burst signals exactly when it is ≥ 60 s later")
    func momentumCooldownPairs() {
        for a in Self.times {
            for b in Self.times {
                var s = TradeMomentum()
                let first = Self.momentumBurst(&s, at: a)
                let second = Self.momentumBurst(&s, at: b)
                #expect(first.count == 1, "\(a)")
                #expect(second.count == (Self.elapsed(a, b, atLeast: 60_000) ? 1 : 0), "\(a) → \(b)")
                #expect((first + second).allSatisfy(Self.isSane))
                let window = s.windowCount(Self.btc)
                #expect(window >= 0 && window <= 10)
            }
        }
    }

    @Test("trade_momentum: adversarial orders never trap; signals are sane and ≥ 60 s apart")
    func momentumOrders() {
        for order in Self.orders {
            var s = TradeMomentum()
            var out: [Signal] = []
            for t in order { out += Self.momentumBurst(&s, at: t) }
            #expect(!out.isEmpty)
            #expect(out.allSatisfy(Self.isSane))
            #expect(Self.spaced(out, 60_000), "\(order)")
            #expect(s.trackedSymbols == 1)
        }
    }

    // MARK: - ticker_velocity

    static func ticker(_ price: Double, volume: Double, at t: Int64) -> TickerEvent {
        TickerEvent(key: btc, lastPrice: price, volume: volume, eventTimeMs: t)
    }

    /// The buy triple of the ticker_velocity tests (flat, then +0.6 % on +0.3 % volume) from `start`.
    static func velocityTriple(_ s: inout TickerVelocity, from start: Int64) -> [Signal] {
        var out: [Signal] = []
        for (price, volume, offset) in [(100.0, 1000.0, Int64(0)), (100.0, 1000.0, 30_000), (100.6, 1003.0, 60_000)] {
            if let r = s.onTicker(ticker(price, volume: volume, at: start + offset)) { out.append(r) }
        }
        return out
    }

    @Test("ticker_velocity: the buy triple at the bottom (Int64.min) and the top (ending at Int64.max) equals the one at 1.7e12")
    func velocityAtRangeEnds() throws {
        var reference = TickerVelocity()
        let expected = try #require(Self.velocityTriple(&reference, from: Self.big).first)
        for start in [Int64.min, Int64.min + 1, Int64.max - 60_000, Int64.max - 60_001] {
            var s = TickerVelocity()
            let out = Self.velocityTriple(&s, from: start)
            #expect(out.count == 1, "\(start)")
            let signal = try #require(out.first)
            #expect(signal.action == .buy)
            #expect(signal.eventTimeMs == start + 60_000)
            #expect(signal.confidence == expected.confidence)
            #expect(signal.indicators.map(\.1) == expected.indicators.map(\.1))
            #expect(s.pointCount(Self.btc) == 3)
        }
    }

    @Test("ticker_velocity: a jump Int64.min → Int64.max empties the window, the past is ignored, the cooldown holds at Int64.max")
    func velocityJumps() {
        var s = TickerVelocity()
        let bottom = Self.velocityTriple(&s, from: .min)
        #expect(bottom.count == 1)
        let jump = s.onTicker(Self.ticker(110, volume: 2000, at: .max))
        #expect(jump == nil)
        #expect(s.pointCount(Self.btc) == 1)  // everything else is more than 60 s older
        let past = s.onTicker(Self.ticker(120, volume: 3000, at: 0))
        #expect(past == nil)
        #expect(s.pointCount(Self.btc) == 1)

        // A signal at the top, then a stronger move at the same instant: the cooldown (0 ms
        // elapsed) suppresses it.
        var top = TickerVelocity()
        let signals = Self.velocityTriple(&top, from: .max - 60_000)
        #expect(signals.count == 1)
        let again = top.onTicker(Self.ticker(101, volume: 1010, at: .max))
        #expect(again == nil)
        #expect(top.pointCount(Self.btc) == 3)  // the same bucket: replaced, not appended
    }

    @Test("ticker_velocity: adversarial orders never trap; points stay bounded, signals are sane and ≥ 60 s apart")
    func velocityOrders() {
        for order in Self.orders {
            var s = TickerVelocity()
            var out: [Signal] = []
            for (i, t) in order.enumerated() {
                for offset: Int64 in [0, 30_000, 60_000] {
                    let time = t.addingSaturated(offset)
                    let price = 100 * (1 + 0.006 * Double(i)) + Double(offset) / 10_000
                    if let r = s.onTicker(Self.ticker(price, volume: 1000 + Double(i * 10) + Double(offset) / 10_000,
                                                      at: time)) { out.append(r) }
                }
            }
            let n = s.pointCount(Self.btc)
            #expect(n >= 1 && n <= 258)
            #expect(out.allSatisfy(Self.isSane))
            #expect(Self.spaced(out, 60_000), "\(order)")
        }
    }

    // MARK: - spread_liquidity

    /// Golden A's books: 1.0 spread (0.2 bps), depth 20; 20.0 spread (4 bps), depth 4; and a
    /// 100.0 spread (20 bps, above the 10 bps wide-event threshold), depth 4.
    static let tight = book(bid: 50000, ask: 50001, qty: 2.0)
    static let wide = book(bid: 49990, ask: 50010, qty: 0.4)
    static let veryWide = book(bid: 49950, ask: 50050, qty: 0.4)

    static func book(bid: Double, ask: Double, qty: Double) -> (PriceLevels, PriceLevels) {
        (PriceLevels((0..<5).map { (bid - Double($0), qty) }), PriceLevels((0..<5).map { (ask + Double($0), qty) }))
    }

    static func feed(_ s: inout SpreadLiquidity, _ book: (PriceLevels, PriceLevels), at t: Int64) -> Signal? {
        s.onBook(key: btc, bids: book.0, asks: book.1, eventTimeMs: t)
    }

    /// 20 tight books 1 s apart from `start`, then a wide one 1 s after the last: golden A's SELL.
    static func goldenA(_ s: inout SpreadLiquidity, from start: Int64) -> [Signal] {
        var out: [Signal] = []
        for i in 0..<20 { if let r = feed(&s, tight, at: start + Int64(i) * 1000) { out.append(r) } }
        if let r = feed(&s, wide, at: start + 20_000) { out.append(r) }
        return out
    }

    @Test("spread_liquidity: golden A at the bottom (Int64.min) and the top (ending at Int64.max) sells as at 1.7e12, both modes")
    func spreadAtRangeEnds() throws {
        for mode in ["time", "ticks"] {
            let parameters = ParameterValues(["lookback_mode": .string(mode)])
            var reference = SpreadLiquidity(parameters: parameters)
            let expected = try #require(Self.goldenA(&reference, from: Self.big).first)
            // From Int64.min, `now &- 60_000` wrapped to a huge cutoff that dropped the whole
            // history in time mode: no signal at all.
            for start in [Int64.min, Int64.min + 1, Int64.max - 20_000] {
                var s = SpreadLiquidity(parameters: parameters)
                let out = Self.goldenA(&s, from: start)
                #expect(out.count == 1, "\(mode) \(start)")
                let signal = try #require(out.first)
                #expect(signal.action == .sell)
                #expect(signal.eventTimeMs == start + 20_000)
                #expect(signal.confidence == expected.confidence, "\(mode) \(start)")
                #expect(signal.indicators.map(\.1) == expected.indicators.map(\.1), "\(mode) \(start)")
                #expect(s.historyCount(Self.btc) == (mode == "ticks" ? 20 : 21))
            }
        }
    }

    @Test("spread_liquidity (time): a SELL just below zero, then at Int64.max the cooldown across the overflow permits a SELL; a late frame is rate-limited")
    func spreadCooldownAcrossOverflow() throws {
        var s = SpreadLiquidity()
        let first = Self.goldenA(&s, from: -21_000)  // the SELL at -1000
        #expect(first.map(\.eventTimeMs) == [-1000])
        // At Int64.max the window keeps only the new books; three tight ones and a wide one at
        // the same instant: a widening against the 1 s velocity floor.
        var out: [Signal] = []
        for book in [Self.tight, Self.tight, Self.tight, Self.wide] {
            if let r = Self.feed(&s, book, at: .max) { out.append(r) }  // `now - last` trapped here
        }
        #expect(out.count == 1)
        let second = try #require(out.first)
        #expect(second.action == .sell)
        #expect(second.eventTimeMs == .max)
        #expect(Self.isSane(second))
        // A late frame (stamped 0) counts as Int64.max: 0 ms after the last signal, rate-limited.
        let detected = s.eventsDetected
        let late = Self.feed(&s, Self.wide, at: 0)
        #expect(late == nil)
        #expect(s.eventsDetected == detected + 1)
        #expect(s.signalsGenerated == 2)
        // An earlier extreme is also "now".
        let early = Self.feed(&s, Self.wide, at: .min)
        #expect(early == nil)
        #expect(s.signalsGenerated == 2)
    }

    /// 20 tight books ending at -1001 and a 20 bps book at -1: a SELL that also opens a wide event.
    static func openWideEvent(_ s: inout SpreadLiquidity) -> [Signal] {
        var out: [Signal] = []
        for i in 0..<20 { if let r = feed(&s, tight, at: -20_001 + Int64(i) * 1000) { out.append(r) } }
        if let r = feed(&s, veryWide, at: -1) { out.append(r) }
        return out
    }

    @Test("spread_liquidity (time): a wide event opened at -1 expires (TTL 300 s) when the next book is at Int64.max")
    func spreadWideEventExpiresAcrossOverflow() {
        var s = SpreadLiquidity()
        let opened = Self.openWideEvent(&s)
        #expect(opened.map(\.action) == [.sell])
        #expect(s.activeWideEvents == 1)
        let r = Self.feed(&s, Self.veryWide, at: .max)  // `now - start` in the TTL check trapped here
        #expect(r == nil)
        #expect(s.activeWideEvents == 0)
        #expect(s.historyCount(Self.btc) == 1)
    }

    @Test("spread_liquidity (time, no TTL): a wide event opened at -1 snapping back at Int64.max buys with a saturated, finite persistence")
    func spreadPersistenceAcrossOverflow() throws {
        var s = SpreadLiquidity(parameters: ParameterValues(["wide_event_ttl_seconds": .double(0)]))
        let opened = Self.openWideEvent(&s)
        #expect(opened.map(\.action) == [.sell])
        var out: [Signal] = []
        for book in [Self.veryWide, Self.veryWide, Self.tight] {
            if let r = Self.feed(&s, book, at: .max) { out.append(r) }  // persistence `now - start` trapped
        }
        #expect(out.count == 1)
        let signal = try #require(out.first)
        #expect(signal.action == .buy)
        #expect(signal.eventTimeMs == .max)
        #expect(Self.metaDouble(signal, "persistence_seconds") == Double(Int64.max) / 1000)
        #expect(Self.isSane(signal))
        #expect(signal.confidence <= 0.95)
        #expect(s.activeWideEvents == 0)
    }

    @Test("spread_liquidity (ticks): a jump Int64.min → Int64.max gives a tiny finite velocity and no signal")
    func spreadTicksJump() {
        var s = SpreadLiquidity(parameters: ParameterValues(["lookback_mode": .string("ticks")]))
        let first = Self.goldenA(&s, from: .min)
        #expect(first.count == 1)
        #expect(first.first?.confidence == 0.9200010526315789)  // golden A
        let jump = Self.feed(&s, Self.wide, at: .max)  // `now - old.timeMs` trapped here
        #expect(jump == nil)
        let back = Self.feed(&s, Self.wide, at: .min)  // clamped to Int64.max
        #expect(back == nil)
        #expect(s.eventsDetected == 1)
        #expect(s.signalsGenerated == 1)
        #expect(s.historyCount(Self.btc) == 20)
    }

    @Test("spread_liquidity: adversarial orders never trap in either mode; signals are sane, ≥ 60 s apart, history bounded")
    func spreadOrders() {
        let books = [Self.tight, Self.tight, Self.tight, Self.wide, Self.veryWide, Self.tight]
        for mode in ["time", "ticks"] {
            for ttl in [0.0, 300.0] {
                for order in Self.orders {
                    var s = SpreadLiquidity(parameters: ParameterValues(["lookback_mode": .string(mode),
                                                                         "wide_event_ttl_seconds": .double(ttl)]))
                    var out: [Signal] = []
                    for (i, t) in order.enumerated() {
                        for (j, book) in books.enumerated() {
                            // Each base time, then 1 s steps from it (saturating at the top).
                            let time = t.addingSaturated(Int64(j) * 1000)
                            if let r = Self.feed(&s, book, at: time) { out.append(r) }
                        }
                        _ = i
                    }
                    #expect(out.allSatisfy(Self.isSane), "\(mode) \(order)")
                    #expect(out.allSatisfy { $0.confidence <= 0.95 })
                    #expect(Self.spaced(out, 60_000), "\(mode) \(order)")
                    let n = s.historyCount(Self.btc)
                    #expect(n >= 1 && n <= (mode == "ticks" ? 20 : 1024))
                    #expect(s.activeWideEvents >= 0 && s.activeWideEvents <= 1)
                }
            }
        }
    }

    // MARK: - iceberg_detector

    static let cycle = [2.0, 0.2, 2.0]

    /// Golden C's nine updates (a refilling 50000 bid) 1 s apart from `start`: one BUY at update 9.
    static func goldenC(_ d: inout IcebergDetector, from start: Int64) -> [Signal] {
        var out: [Signal] = []
        for i in 0..<9 {
            if let r = d.onBook(key: btc, bids: PriceLevels([(50000, cycle[i % 3]), (49999, 1.0)]),
                                asks: PriceLevels([(50001, 1.0), (50002, 1.0)]),
                                eventTimeMs: start + Int64(i) * 1000) { out.append(r) }
        }
        return out
    }

    static let perLevelOnly = ParameterValues(["min_symbol_signal_interval_seconds": .double(0)])

    @Test("iceberg_detector: golden C at the bottom (Int64.min) and the top (ending at Int64.max) signals as at 1.7e12")
    func icebergAtRangeEnds() throws {
        var reference = IcebergDetector(parameters: Self.perLevelOnly)
        let expected = try #require(Self.goldenC(&reference, from: Self.big).first)
        #expect(Self.metaDouble(expected, "persistence_seconds") == 8.0)
        // From Int64.min, `now &- window` wrapped to a huge cutoff: every level expired on every
        // update, so nothing was ever detected.
        for start in [Int64.min, Int64.min + 1, Int64.max - 8000] {
            var d = IcebergDetector(parameters: Self.perLevelOnly)
            let out = Self.goldenC(&d, from: start)
            #expect(out.count == 1, "\(start)")
            let signal = try #require(out.first)
            #expect(signal.eventTimeMs == start + 8000)
            #expect(signal.action == .buy)
            #expect(signal.confidence == expected.confidence)
            #expect(signal.indicators.map(\.1) == expected.indicators.map(\.1))
            #expect(Self.metaDouble(signal, "mean_refill_interval_seconds") == 3.0)
            #expect(d.level(Self.btc, price: 50000, isBid: true)?.refillCount == 3)
        }
    }

    @Test("iceberg_detector: the per-level rate limit across the overflow permits the level again; a late frame at Int64.min counts as now")
    func icebergRateLimitAcrossOverflow() throws {
        var d = IcebergDetector(parameters: Self.perLevelOnly)
        let first = Self.goldenC(&d, from: .min)
        #expect(first.map(\.eventTimeMs) == [.min + 8000])
        // 1.7e12 is more than Int64.max after the first signal: the levels expire, refill again,
        // and the (50000, bid) rate key is long past.
        let second = Self.goldenC(&d, from: Self.big)
        #expect(second.map(\.eventTimeMs) == [Self.big + 8000])
        let level = try #require(d.level(Self.btc, price: 50000, isBid: true))
        #expect(level.firstSeenMs == Self.big)
        // A late frame: clamped to the newest time, so the level is "seen" at 1.7e12 + 8000 and
        // the just-used rate key still blocks it.
        let late = d.onBook(key: Self.btc, bids: PriceLevels([(50000, 2.0), (49999, 1.0)]),
                            asks: PriceLevels([(50001, 1.0), (50002, 1.0)]), eventTimeMs: .min)
        #expect(late == nil)
        #expect(d.level(Self.btc, price: 50000, isBid: true)?.lastSeenMs == Self.big + 8000)
        #expect(d.signalsGenerated == 2)
    }

    @Test("iceberg_detector: after a signal just below zero, a book at Int64.max passes the symbol rate limit and starts fresh levels")
    func icebergSymbolRateLimitAcrossOverflow() throws {
        var d = IcebergDetector()
        let first = Self.goldenC(&d, from: -20_000)
        #expect(first.map(\.eventTimeMs) == [-12_000])
        // `now - last` of the per-symbol limit trapped here.
        let r = d.onBook(key: Self.btc, bids: PriceLevels([(50000, 2.0), (49999, 1.0)]),
                         asks: PriceLevels([(50001, 1.0), (50002, 1.0)]), eventTimeMs: .max)
        #expect(r == nil)  // the old levels expired; fresh ones have no pattern
        #expect(d.trackedLevels(Self.btc) == 4)
        let level = try #require(d.level(Self.btc, price: 50000, isBid: true))
        #expect(level.firstSeenMs == .max)
        #expect(level.snapshotCount == 1)
        #expect(level.refillCount == 0)
    }

    @Test("iceberg_detector: adversarial orders never trap; signals are sane with a non-negative finite persistence; state bounded")
    func icebergOrders() {
        for parameters in [ParameterValues(), Self.perLevelOnly] {
            for order in Self.orders {
                var d = IcebergDetector(parameters: parameters)
                var out: [Signal] = []
                for t in order {
                    for i in 0..<9 {
                        let time = t.addingSaturated(Int64(i) * 1000)
                        if let r = d.onBook(key: Self.btc, bids: PriceLevels([(50000, Self.cycle[i % 3]), (49999, 1.0)]),
                                            asks: PriceLevels([(50001, 1.0), (50002, 1.0)]), eventTimeMs: time) {
                            out.append(r)
                        }
                    }
                }
                #expect(out.allSatisfy(Self.isSane), "\(order)")
                #expect(out.allSatisfy { (Self.metaDouble($0, "persistence_seconds") ?? -1) >= 0 })
                #expect(d.trackedLevels(Self.btc) <= 4)
                #expect(d.trackedSymbols == 1)
            }
        }
    }

    // MARK: - btc_dominance

    /// The rising-dominance sequence of the btc_dominance tests (46.67 → 55 → 80: a BUY at +4 s).
    static func dominanceRise(_ s: inout BTCDominance, from start: Int64) -> [Signal] {
        let events: [(String, Double, Int64)] = [
            ("BTCUSDT", 100, 0), ("ETHUSDT", 100, 0), ("BNBUSDT", 100, 0),
            ("ETHUSDT", 100, 1000), ("BNBUSDT", 100, 1000), ("BTCUSDT", 100, 2000),
            ("ETHUSDT", 85, 3000), ("BNBUSDT", 85, 4000),
        ]
        var out: [Signal] = []
        for (symbol, price, offset) in events {
            let trade = TradeEvent(key: SymbolKey(venue: .spot, symbol: symbol), price: price, quantity: 1,
                                   isBuyerMaker: false, tradeId: 0, isAggregate: false,
                                   eventTimeMs: start.addingSaturated(offset))
            if let r = s.onTrade(trade) { out.append(r) }
        }
        return out
    }

    @Test("btc_dominance: a BUY at Int64.min + 4 s, another after the jump to Int64.max, nothing from the past, the rate limit holds at the top")
    func dominanceJumps() throws {
        var s = BTCDominance()
        let bottom = Self.dominanceRise(&s, from: .min)
        #expect(bottom.map(\.eventTimeMs) == [.min + 4000])
        #expect(bottom.first?.confidence == 0.8)
        let top = Self.dominanceRise(&s, from: .max - 4000)
        #expect(top.map(\.eventTimeMs) == [.max])
        #expect(top.first?.action == .buy)
        #expect(s.dominanceCount == 3)  // the entries at the bottom are gone
        #expect(s.pointCounts == [2, 3, 3])  // BTC at +0, +2 s; ETH and BNB at +0, +1, +3 or +4 s
        let past = Self.dominanceRise(&s, from: 0)
        #expect(past.isEmpty)
        #expect(s.pointCounts == [2, 3, 3])
        // At Int64.max the last signal was 0 ms ago; at Int64.min it is "in the future".
        let again = s.generateSignal(dominance: 80, now: .max)
        let before = s.generateSignal(dominance: 80, now: .min)
        #expect(again == nil)
        #expect(before == nil)
        #expect(s.change24h(now: .min) == 0)
        #expect(s.change24h(now: .max).isFinite)
    }

    @Test("btc_dominance: adversarial orders never trap; state within the preallocated rings, signals sane and ≥ 4 h apart")
    func dominanceOrders() {
        for order in Self.orders {
            var s = BTCDominance()
            var out: [Signal] = []
            for t in order { out += Self.dominanceRise(&s, from: t) }
            let caps = s.capacities
            #expect(zip(s.pointCounts, caps).allSatisfy { $0 >= 0 && $0 <= $1 })
            #expect(s.dominanceCount >= 0 && s.dominanceCount <= caps[3])
            #expect(out.allSatisfy(Self.isSane), "\(order)")
            #expect(Self.spaced(out, 14_400_000), "\(order)")
        }
    }

    // MARK: - cross_exchange_spread

    static func binance(_ s: inout CrossExchangeSpread, _ price: Double, at t: Int64) -> Signal? {
        s.onTrade(TradeEvent(key: btc, price: price, quantity: 1, isBuyerMaker: false, tradeId: 0,
                             isAggregate: false, eventTimeMs: t))
    }

    static func coinbase(_ s: inout CrossExchangeSpread, _ price: Double, at t: Int64) -> Signal? {
        s.onReferencePrice(ReferencePriceEvent(venue: "coinbase", symbol: "BTC-USD", price: price, eventTimeMs: t))
    }

    @Test("cross_exchange_spread: for every pair of extreme times, a 0.8 % spread signals exactly when the prices are ≤ 60 s apart")
    func crossFreshnessPairs() {
        for a in Self.times {
            for b in Self.times {
                var s = CrossExchangeSpread()
                let r1 = Self.binance(&s, 50_000, at: a)
                let r2 = Self.coinbase(&s, 50_400, at: b)
                #expect(r1 == nil)
                #expect((r2 != nil) == Self.within(a, b, 60_000), "\(a) → \(b)")
                if let r2 { #expect(Self.isSane(r2) && r2.confidence == 0.4) }
            }
        }
    }

    @Test("cross_exchange_spread: the pair rate limit across the overflow; an older price never overwrites a newer one")
    func crossRateLimitAcrossOverflow() {
        var s = CrossExchangeSpread()
        _ = Self.binance(&s, 50_000, at: .min)
        let first = Self.coinbase(&s, 50_400, at: .min + 500)
        #expect(first?.eventTimeMs == .min + 500)
        _ = Self.binance(&s, 50_000, at: Self.big)
        let second = Self.coinbase(&s, 50_400, at: Self.big + 500)  // 2^63 + 1.7e12 ms later
        #expect(second?.eventTimeMs == Self.big + 500)
        #expect(s.rateLimitEntries("BTCUSDT") == 1)
        // Back to Int64.min: Binance's newer price stays, and it is not fresh then.
        let back = Self.coinbase(&s, 50_400, at: .min + 1000)
        #expect(back == nil)
        // Int64.max: the stored prices (1.7e12) are stale.
        let top = Self.binance(&s, 50_000, at: .max)
        #expect(top == nil)
        let topRef = Self.coinbase(&s, 50_400, at: .max)
        #expect(topRef?.eventTimeMs == .max)
        let blocked = Self.coinbase(&s, 50_400, at: .max - 1)  // older: not stored, pair rate-limited anyway
        #expect(blocked == nil)
        #expect(s.venueCount("BTCUSDT") == 2)
    }

    @Test("cross_exchange_spread: adversarial orders never trap; signals sane and each pair's ≥ 300 s apart")
    func crossOrders() {
        for order in Self.orders {
            var s = CrossExchangeSpread()
            var out: [Signal] = []
            for t in order {
                if let r = Self.binance(&s, 50_000, at: t) { out.append(r) }
                if let r = Self.coinbase(&s, 50_400, at: t) { out.append(r) }
            }
            #expect(!out.isEmpty)
            #expect(out.allSatisfy(Self.isSane), "\(order)")
            #expect(Self.spaced(out, 300_000), "\(order)")
            #expect(s.rateLimitEntries("BTCUSDT") <= 1)
            #expect(s.venueCount("BTCUSDT") == 2)
        }
    }

    // MARK: - onchain_metrics

    static let hour: Int64 = 3_600_000

    /// BTC metrics growing 20 % per entry (a network-growth BUY once two entries exist).
    static func metrics(_ i: Int, at t: Int64) -> OnchainMetricsEvent {
        let g = 1 + 0.2 * Double(i)
        return OnchainMetricsEvent(asset: "BTC", eventTimeMs: t, activeAddresses: 1_000_000 * g,
                                   transactionVolume: 500_000 * g, hashRate: 200 * g,
                                   exchangeInflow: 1_500, exchangeOutflow: 2_500)
    }

    static func price(_ s: inout OnchainMetrics, _ p: Double, at t: Int64) -> Signal? {
        s.onTrade(TradeEvent(key: btc, price: p, quantity: 1, isBuyerMaker: false, tradeId: 0, isAggregate: false,
                             eventTimeMs: t))
    }

    @Test("onchain_metrics: a BUY at the bottom, a pending evaluation across the jump to Int64.max, the past ignored, the rate limit at the top")
    func onchainJumps() throws {
        var s = OnchainMetrics(parameters: ParameterValues(["accumulation_periods": .int(2)]))
        _ = Self.price(&s, 50_000, at: .min + Self.hour - 1000)
        let m0 = s.onMetrics(Self.metrics(0, at: .min))
        let m1 = s.onMetrics(Self.metrics(1, at: .min + Self.hour))
        #expect(m0 == nil)
        #expect(m1?.eventTimeMs == .min + Self.hour)
        #expect(m1?.action == .buy)
        // Int64.max: the rate limit is long past, but the price (at the bottom) is stale: pending.
        let m2 = s.onMetrics(Self.metrics(2, at: .max))
        #expect(m2 == nil)
        let priced = Self.price(&s, 51_000, at: .max - 500)
        let signal = try #require(priced)
        #expect(signal.eventTimeMs == .max - 500)
        #expect(signal.price == 51_000)
        #expect(Self.isSane(signal))
        // The past: metrics in an older bucket and an older price are ignored.
        let pastMetrics = s.onMetrics(Self.metrics(3, at: 0))
        let pastPrice = Self.price(&s, 52_000, at: 0)
        #expect(pastMetrics == nil)
        #expect(pastPrice == nil)
        #expect(s.historyCount("BTC") == 3)
        // Same bucket at Int64.max: replaces the newest entry; 500 ms after the last signal.
        let same = s.onMetrics(Self.metrics(4, at: .max))
        #expect(same == nil)
        #expect(s.historyCount("BTC") == 3)
    }

    @Test("onchain_metrics: adversarial orders never trap; history bounded, signals sane and ≥ 1 day apart")
    func onchainOrders() {
        for order in Self.orders {
            var s = OnchainMetrics(parameters: ParameterValues(["accumulation_periods": .int(2)]))
            var out: [Signal] = []
            for (i, t) in order.enumerated() {
                if let r = Self.price(&s, 50_000 + Double(i), at: t) { out.append(r) }
                if let r = s.onMetrics(Self.metrics(i, at: t)) { out.append(r) }
                if let r = s.onMetrics(Self.metrics(i + 1, at: t.addingSaturated(Self.hour))) { out.append(r) }
            }
            let n = s.historyCount("BTC")
            #expect(n >= 1 && n <= 168)
            #expect(out.allSatisfy(Self.isSane), "\(order)")
            #expect(Self.spaced(out, 86_400_000), "\(order)")
        }
    }

    // MARK: - EventTimeSeries

    @Test("EventTimeSeries: extreme times in order; searches and saturated cutoffs select the right points")
    func seriesExtremes() {
        let sorted = Self.times.sorted()
        for capacity in [0, 4, 16] {
            var series = capacity == 0 ? EventTimeSeries<Int>() : EventTimeSeries<Int>(capacity: capacity, filler: -1)
            for (i, t) in sorted.enumerated() { series.append(t, i) }
            #expect(series.count == sorted.count)
            for (i, t) in sorted.enumerated() {
                #expect(series.lastIndex(atOrBefore: t) == i)
                #expect(series.time(i) == t)
            }
            #expect(series.lastTime == .max)
            // Window cutoffs as the strategies compute them.
            var copy = series
            copy.removeBefore(timeDelta(.min + 1, 60_000))  // saturates to Int64.min: keeps everything
            #expect(copy.count == sorted.count)
            copy.removeBefore(timeDelta(.max, 60_000))  // keeps Int64.max - 1 and Int64.max
            #expect(copy.count == 2)
            #expect(copy.time(0) == .max - 1)
            copy.removeThrough(.max)
            #expect(copy.count == 0)
            #expect(copy.isEmpty)
            #expect(copy.lastIndex(atOrBefore: .max) == nil)
        }
    }

    // MARK: - PressureHistory

    @Test("PressureHistory: extreme times bucket by floor second, old points leave, the past is dropped, counts stay in range")
    func pressureExtremes() throws {
        var h = PressureHistory()
        let r1 = h.record(timeMs: .min, netPressure: 1, imbalanceRatio: 1)
        let r2 = h.record(timeMs: .min + 1, netPressure: 2, imbalanceRatio: 1)  // the same floor second
        #expect(r1 && r2)
        #expect(h.count == 1)
        #expect(h.newest?.netPressure == 2)
        let r3 = h.record(timeMs: -1, netPressure: 3, imbalanceRatio: 1)  // far ahead: evicts the bottom
        let r4 = h.record(timeMs: 0, netPressure: 4, imbalanceRatio: 1)
        let r5 = h.record(timeMs: 1, netPressure: 5, imbalanceRatio: 1)  // the same second as 0
        #expect(r3 && r4 && r5)
        #expect(h.count == 2)
        #expect(h.points(in: .oneMinute).map(\.netPressure) == [3, 5])
        let r6 = h.record(timeMs: .max - 1, netPressure: 6, imbalanceRatio: 1)
        let r7 = h.record(timeMs: .max, netPressure: 7, imbalanceRatio: 1)
        #expect(r6 && r7)
        #expect(h.count == 1)
        let summary = try #require(h.summary(for: .fifteenMinutes))
        #expect(summary.totalPoints == 1)
        #expect(summary.avgPressure == 7)
        let r8 = h.record(timeMs: Self.big, netPressure: 8, imbalanceRatio: 1)
        let r9 = h.record(timeMs: .min, netPressure: 9, imbalanceRatio: 1)
        #expect(!r8 && !r9)
        #expect(h.outOfOrderDropped == 2)
        #expect(h.newest?.timeMs == .max)

        for order in Self.orders {
            var p = PressureHistory(capacitySeconds: 3)
            for (i, t) in order.enumerated() {
                for offset: Int64 in [0, 1000, 2000, 3000] {
                    p.record(timeMs: t.addingSaturated(offset), netPressure: Double(i), imbalanceRatio: 1)
                }
            }
            #expect(p.count >= 1 && p.count <= 3)
            for tf in PressureTimeframe.allCases {
                let n = p.summary(for: tf)?.totalPoints ?? 0
                #expect(n >= 1 && n <= p.count)
                #expect(p.points(in: tf).count == n)
            }
        }
    }
}
