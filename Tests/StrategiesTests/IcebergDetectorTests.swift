import Testing
@testable import Strategies

extension IcebergDetector {
    /// Runs the strategy outside `#expect`/`#require`, which cannot take mutating calls.
    mutating func run(_ key: SymbolKey, _ bids: [(Double, Double)], _ asks: [(Double, Double)],
                      at timeMs: Int64) -> Signal? {
        onBook(key: key, bids: PriceLevels(bids), asks: PriceLevels(asks), eventTimeMs: timeMs)
    }
}

private func meta(_ signal: Signal, _ name: String) -> MetadataValue? {
    signal.metadata.first { $0.0 == name }?.1
}

private func metaDouble(_ signal: Signal, _ name: String) -> Double? {
    if case .double(let v)? = meta(signal, name) { return v }
    return nil
}

private let t0: Int64 = 1_704_067_200_000

@Suite("iceberg_detector")
struct IcebergDetectorTests {
    /// The per-symbol limit (60 s by default) switched off, to test the per-level rate keys alone.
    static let perLevelOnly = ParameterValues(["min_symbol_signal_interval_seconds": .double(0)])

    let btc = SymbolKey(venue: .spot, symbol: "BTCUSDT")
    let eth = SymbolKey(venue: .spot, symbol: "ETHUSDT")

    /// Golden C's quantity cycle at the 50000 bid.
    let cycle = [2.0, 0.2, 2.0]

    // MARK: Schema

    @Test("the schema covers every seed key with the seed's default and range")
    func schemaCoversSeedKeys() throws {
        let seed: [(String, ParameterValue, Double, Double)] = [
            ("min_refill_count", .int(3), 2, 10),
            ("refill_speed_threshold_seconds", .double(5.0), 1, 30),
            ("consistency_threshold", .double(0.1), 0.05, 0.5),
            ("persistence_threshold_seconds", .double(120.0), 60, 600),
            ("level_proximity_pct", .double(1.0), 0.1, 5.0),
            ("base_confidence", .double(0.70), 0.5, 1.0),
            ("history_window_seconds", .int(300), 60, 900),
            ("max_symbols", .int(1000), 10, 100_000),
            ("min_signal_interval_seconds", .double(120.0), 60, 600),
        ]
        for (name, value, lo, hi) in seed {
            let spec = try #require(IcebergDetector.schema.first { $0.name == name })
            #expect(spec.defaultValue == value)
            #expect(spec.minimum == lo)
            #expect(spec.maximum == hi)
            #expect(!spec.description.isEmpty)
        }
        let names = IcebergDetector.schema.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(IcebergDetector.id == "iceberg_detector")
        #expect(IcebergDetector.enabledByDefault)
        let c = IcebergDetector().configuration
        #expect(c.anchorPersistenceSeconds == 180)
        #expect(c.maxLevelsPerSymbol == 200)
        #expect(c.maxLevelsTotal == 10_000)
    }

    // MARK: Goldens

    @Test("golden C: the third refill at the 50000 bid buys; the fourth is rate-limited")
    func goldenC() throws {
        var d = IcebergDetector(parameters: Self.perLevelOnly)  // per-level rate keys only
        var signals: [(update: Int, signal: Signal)] = []
        var refills: [Int] = []
        var speeds: [Double] = []
        for i in 0..<12 {
            let r = d.run(btc, [(50000, cycle[i % 3]), (49999, 1.0)], [(50001, 1.0), (50002, 1.0)],
                          at: t0 + Int64(i) * 1000)
            if let r { signals.append((i + 1, r)) }
            let level = d.level(btc, price: 50000, isBid: true)
            refills.append(level?.refillCount ?? -1)
            speeds.append(level?.avgRefillSpeedSeconds ?? -1)
        }
        #expect(Array(refills.prefix(9)) == [0, 0, 1, 1, 1, 2, 2, 2, 3])
        #expect(speeds[5] == 2.5)
        #expect(speeds[8] == 2.6666666666666665)
        #expect(refills[11] == 4)  // would be confidence 0.85, but (BTCUSDT, 50000.0, bid) is rate-limited
        #expect(signals.count == 1)
        let (update, signal) = try #require(signals.first)
        #expect(update == 9)

        #expect(signal.strategyId == "iceberg_detector")
        #expect(signal.action == .buy)
        #expect(signal.confidence == 0.8)
        #expect(signal.strength == "strong")
        #expect(signal.price == 50000.5)
        #expect(signal.currentPrice == 50000.5)
        #expect(signal.quantity == nil)
        #expect(TradeEngineSignalEncoder.defaultQuantity(price: signal.price) == 0.002)
        #expect(signal.stopLoss == 49749.9975)
        #expect(signal.takeProfit == 50625.50625)
        #expect(signal.timeframe == "tick")
        #expect(signal.eventTimeMs == t0 + 8000)
        #expect(signal.reasoning == "Large hidden buyer detected at 50000.0 (refill)")

        #expect(meta(signal, "strategy_id") == .string("iceberg_detector"))
        #expect(meta(signal, "pattern_type") == .string("refill"))
        #expect(metaDouble(signal, "distance_to_level_pct") == 0.000999990000099999)
        #expect(metaDouble(signal, "iceberg_price") == 50000.0)
        #expect(meta(signal, "iceberg_side") == .string("bid"))
        #expect(meta(signal, "refill_count") == .int(3))
        #expect(metaDouble(signal, "avg_refill_speed") == 2.6666666666666665)
        #expect(metaDouble(signal, "volume_consistency") == 0.3939084732686734)
        // The seed's 0.0011057853698730469 was wall-clock noise (time.time() - first_seen); on
        // event time it is update 9 minus update 1 at 1 s spacing.
        #expect(metaDouble(signal, "persistence_seconds") == 8.0)
        #expect(metaDouble(signal, "current_price") == 50000.5)
        #expect(metaDouble(signal, "stop_loss") == 49749.9975)
        #expect(metaDouble(signal, "take_profit") == 50625.50625)
        #expect(metaDouble(signal, "quantity") == 0.001)
        #expect(meta(signal, "timeframe") == .string("tick"))
        #expect(metaDouble(signal, "mean_refill_interval_seconds") == 3.0)  // refills at 2, 5, 8 s

        #expect(d.icebergsDetected == 4)  // updates 9 to 12, rate-limited ones included
        #expect(d.signalsGenerated == 1)
    }

    @Test("golden D: levels resting 200 s give an anchor BUY at the best bid")
    func goldenD() throws {
        var d = IcebergDetector()
        // The bids have rested since t0; the asks have just moved in (new levels, no history).
        _ = d.run(eth, [(3000.0, 10), (2999.0, 4), (2998.0, 7)], [(3005.0, 3), (3006.0, 3)], at: t0)
        let r = d.run(eth, [(3000.0, 12), (2999.0, 4), (2998.0, 9)], [(3001.0, 2), (3002.0, 2)], at: t0 + 200_000)
        let signal = try #require(r)
        #expect(signal.action == .buy)
        #expect(signal.confidence == 0.75)
        #expect(signal.price == 3000.5)
        #expect(TradeEngineSignalEncoder.defaultQuantity(price: signal.price) == 0.02)
        #expect(signal.stopLoss == 2984.9975)
        #expect(signal.takeProfit == 3038.00625)
        #expect(meta(signal, "pattern_type") == .string("anchor"))
        #expect(metaDouble(signal, "iceberg_price") == 3000.0)
        #expect(meta(signal, "iceberg_side") == .string("bid"))
        #expect(metaDouble(signal, "stop_loss") == 2984.9975)
        #expect(metaDouble(signal, "take_profit") == 3038.00625)
        #expect(metaDouble(signal, "persistence_seconds") == 200.0)
        #expect(signal.reasoning == "Large hidden buyer detected at 3000.0 (anchor)")
    }

    // MARK: Buy, sell, no signal

    @Test("a refilling ask sells, with the stop above the level")
    func askRefillSells() throws {
        var d = IcebergDetector()
        var signals: [Signal] = []
        for i in 0..<9 {
            let r = d.run(btc, [(50000, 1.0), (49999, 1.0)], [(50001, cycle[i % 3]), (50002, 1.0)],
                          at: t0 + Int64(i) * 1000)
            if let r { signals.append(r) }
        }
        #expect(signals.count == 1)
        let signal = try #require(signals.first)
        let mid = 50000.5
        let atr = max(abs(mid - 50001.0), mid * 0.005)
        #expect(signal.action == .sell)
        #expect(signal.confidence == 0.8)
        #expect(signal.stopLoss == 50001.0 + atr)
        #expect(signal.takeProfit == mid - (atr * 2.5))
        #expect(meta(signal, "iceberg_side") == .string("ask"))
        #expect(signal.reasoning == "Large hidden seller detected at 50001.0 (refill)")
    }

    @Test("empty sides, fresh levels, far levels and levels that left the book give no signal")
    func noSignalCases() {
        var d = IcebergDetector()
        let r1 = d.run(btc, [], [(100, 1)], at: t0)
        #expect(r1 == nil)
        let r2 = d.run(btc, [(100, 1)], [], at: t0)
        #expect(r2 == nil)
        #expect(d.trackedLevels == 0)

        // A refill iceberg 2 % below mid is outside level_proximity_pct (1 %) ...
        func refillFar(_ parameters: ParameterValues) -> [Signal] {
            var d = IcebergDetector(parameters: parameters)
            var out: [Signal] = []
            for i in 0..<9 {
                let r = d.run(btc, [(50000, 1.0), (49000, cycle[i % 3])], [(50001, 1.0)], at: t0 + Int64(i) * 1000)
                if let r { out.append(r) }
            }
            return out
        }
        #expect(refillFar(.init()).isEmpty)
        // ... and inside 5 %.
        #expect(refillFar(ParameterValues(["level_proximity_pct": .double(5)])).count == 1)

        // A level that rested 100 s and then left the book is not an anchor 90 s later, although
        // it is still tracked (the seed signalled it).
        var gone = IcebergDetector()
        for k in 0...10 {
            _ = gone.run(btc, [(100.0, Double(1 + k % 2))], [(100.5 + 0.01 * Double(k), 1)], at: t0 + Int64(k) * 10_000)
        }
        let r3 = gone.run(btc, [(99.9, 1)], [(100.7, 1)], at: t0 + 190_000)
        #expect(r3 == nil)
        #expect(gone.level(btc, price: 100.0, isBid: true) != nil)
    }

    // MARK: Seed flaws fixed

    @Test("equal candidates alternate sides: a static book gives as many SELLs as BUYs (the seed gave only BUYs)")
    func noBuyBias() throws {
        var d = IcebergDetector(parameters: Self.perLevelOnly)  // per-level rate keys only
        let bids = (0..<5).map { (100.0 - 0.1 * Double($0), 3.0) }
        let asks = (0..<5).map { (100.1 + 0.1 * Double($0), 3.0) }
        var signals: [Signal] = []
        for s in 0..<600 {
            let r = d.run(btc, bids, asks, at: t0 + Int64(s) * 1000)
            if let r { signals.append(r) }
        }
        let buys = signals.filter { $0.action == .buy }.count
        let sells = signals.filter { $0.action == .sell }.count
        #expect(buys > 0)
        #expect(buys == sells)
        // The first: consistent size (persistence > 120 s) at the best bid, then the best ask
        // (the bid is rate-limited, which no longer suppresses the others), then alternating.
        let first = try #require(signals.first)
        #expect(first.eventTimeMs == t0 + 121_000)
        #expect(meta(first, "pattern_type") == .string("consistent_size"))
        #expect(first.confidence == 0.70)
        #expect(metaDouble(first, "iceberg_price") == 100.0)
        #expect(signals[1].eventTimeMs == t0 + 122_000)
        #expect(signals[1].action == .sell)
        #expect(metaDouble(signals[1], "iceberg_price") == 100.1)
        #expect(signals.prefix(10).map(\.action) == [.buy, .sell, .buy, .sell, .buy, .sell, .buy, .sell, .buy, .sell])
        // After 180 s the same levels are anchors (0.75), the more confident pattern.
        let later = try #require(signals.first { $0.eventTimeMs > t0 + 200_000 })
        #expect(meta(later, "pattern_type") == .string("anchor"))
        #expect(later.confidence == 0.75)
    }

    @Test("on an exact tie before any signal, the side with more quantity at its level wins")
    func firstTieGoesToLargerQuantity() throws {
        var d = IcebergDetector()
        _ = d.run(btc, [(100.0, 2)], [(100.1, 5)], at: t0)
        let r = d.run(btc, [(100.0, 3)], [(100.1, 9)], at: t0 + 181_000)
        let signal = try #require(r)
        #expect(signal.action == .sell)
        #expect(metaDouble(signal, "iceberg_price") == 100.1)
    }

    @Test("min_symbol_signal_interval_seconds spaces any two signals of a symbol")
    func symbolInterval() {
        var d = IcebergDetector(parameters: ParameterValues(["min_symbol_signal_interval_seconds": .double(60)]))
        let bids = (0..<5).map { (100.0 - 0.1 * Double($0), 3.0) }
        let asks = (0..<5).map { (100.1 + 0.1 * Double($0), 3.0) }
        var times: [Int64] = []
        for s in 0..<400 {
            let r = d.run(btc, bids, asks, at: t0 + Int64(s) * 1000)
            if let r { times.append(r.eventTimeMs - t0) }
        }
        #expect(times == [121_000, 181_000, 241_000, 301_000, 361_000])
    }

    @Test("levels that round to the same cent share a rate-limit key; another cent does not")
    func rateLimitKeyRounding() throws {
        var d = IcebergDetector(parameters: Self.perLevelOnly)  // per-level rate keys only
        let bids = [(2000.004, 1.0), (2000.001, 2.0), (1999.98, 3.0)]
        _ = d.run(btc, bids, [(2000.50, 1)], at: t0)
        let r1 = d.run(btc, bids.map { ($0.0, $0.1 * 2) }, [(2000.51, 1)], at: t0 + 181_000)
        let first = try #require(r1)
        #expect(metaDouble(first, "iceberg_price") == 2000.004)
        // 2000.004 and 2000.001 both key (BTCUSDT, 2000.0, bid): the next candidate is 1999.98.
        let r2 = d.run(btc, bids, [(2000.52, 1)], at: t0 + 182_000)
        let second = try #require(r2)
        #expect(metaDouble(second, "iceberg_price") == 1999.98)
        let r3 = d.run(btc, bids, [(2000.53, 1)], at: t0 + 183_000)
        #expect(r3 == nil)
        // The key includes the symbol.
        var e = IcebergDetector()
        _ = e.run(btc, bids, [(2000.50, 1)], at: t0)
        _ = e.run(eth, bids, [(2000.50, 1)], at: t0)
        let r4 = e.run(btc, bids, [(2000.51, 1)], at: t0 + 181_000)
        let r5 = e.run(eth, bids, [(2000.51, 1)], at: t0 + 181_000)
        #expect(r4 != nil)
        #expect(r5 != nil)
    }

    // MARK: Event-time edges

    @Test("rate limit: the same level signals again exactly 120 s later, not 1 ms before")
    func rateLimitEdge() {
        var d = IcebergDetector()
        var times: [Int64] = []
        // One refilling bid, one ask of varying size (never a refill, never consistent, an
        // anchor only after 180 s).
        func step(_ i: Int, at t: Int64) {
            let r = d.run(btc, [(50000, cycle[i % 3])], [(50001, 1.0 + Double(i % 5) * 0.25)], at: t)
            if let r { times.append(r.eventTimeMs - t0) }
        }
        for i in 0..<128 { step(i, at: t0 + Int64(i) * 1000) }  // up to 127 s
        step(128, at: t0 + 127_999)
        step(129, at: t0 + 128_000)
        #expect(times == [8000, 128_000])
    }

    @Test("anchor persistence must exceed the threshold: exactly 180 s does not signal, 180.001 s does")
    func anchorEdge() {
        func run(_ age: Int64, _ parameters: ParameterValues = .init()) -> Signal? {
            var d = IcebergDetector(parameters: parameters)
            _ = d.run(btc, [(100.0, 1)], [(100.2, 1)], at: t0)
            // Quantities 1 then 2: std/mean 0.33, not consistent; asks are new levels.
            return d.run(btc, [(100.0, 2)], [(100.1, 1)], at: t0 + age)
        }
        #expect(run(180_000) == nil)
        let fired = run(180_001)
        #expect(fired.flatMap { meta($0, "pattern_type") } == .string("anchor"))
        #expect(fired.flatMap { metaDouble($0, "persistence_seconds") } == 180.001)
        // The configured anchor threshold is honoured (the seed hard-coded 180 s).
        let configured = ParameterValues(["anchor_persistence_seconds": .double(90)])
        #expect(run(90_000, configured) == nil)
        #expect(run(90_001, configured)?.confidence == 0.75)
    }

    @Test("consistent size uses persistence_threshold_seconds and base_confidence (the seed hard-coded 120 s and 0.70)")
    func consistentSizeEdge() {
        func run(_ age: Int64, _ parameters: ParameterValues) -> Signal? {
            var d = IcebergDetector(parameters: parameters)
            _ = d.run(btc, [(100.0, 5)], [(100.2, 1)], at: t0)
            return d.run(btc, [(100.0, 5)], [(100.1, 1)], at: t0 + age)
        }
        let sixty = ParameterValues(["persistence_threshold_seconds": .double(60)])
        #expect(run(60_000, sixty) == nil)
        let fired = run(60_001, sixty)
        #expect(fired.flatMap { meta($0, "pattern_type") } == .string("consistent_size"))
        #expect(fired?.confidence == 0.70)
        #expect(fired.flatMap { metaDouble($0, "volume_consistency") } == 1.0)
        let based = ParameterValues(["persistence_threshold_seconds": .double(60), "base_confidence": .double(0.6)])
        #expect(run(60_001, based)?.confidence == 0.6)
        #expect(run(100_000, .init()) == nil)  // default 120 s
    }

    @Test("a refill must complete in less than refill_speed_threshold_seconds: 5 s is too slow, 4.999 s counts")
    func refillSpeedEdge() {
        func refills(_ span: Int64) -> Int {
            var d = IcebergDetector()
            _ = d.run(btc, [(50000, 2.0)], [(50001, 1)], at: t0)
            _ = d.run(btc, [(50000, 0.2)], [(50001, 1)], at: t0 + 1000)
            _ = d.run(btc, [(50000, 2.0)], [(50001, 1)], at: t0 + span)
            return d.level(btc, price: 50000, isBid: true)?.refillCount ?? -1
        }
        #expect(refills(5000) == 0)
        #expect(refills(4999) == 1)
    }

    @Test("levels unseen for history_window_seconds are kept; 1 ms more and they are forgotten and start afresh")
    func historyWindowEdge() throws {
        func run(_ gap: Int64) -> IcebergDetector {
            var d = IcebergDetector()
            _ = d.run(btc, [(100.0, 1)], [(100.5, 1)], at: t0)
            _ = d.run(btc, [(99.0, 1)], [(99.5, 1)], at: t0 + gap)
            return d
        }
        let kept = run(300_000)
        #expect(kept.level(btc, price: 100.0, isBid: true) != nil)
        #expect(kept.trackedLevels(btc) == 4)
        var forgotten = run(300_001)
        #expect(forgotten.level(btc, price: 100.0, isBid: true) == nil)
        #expect(forgotten.trackedLevels(btc) == 2)
        _ = forgotten.run(btc, [(100.0, 1)], [(100.5, 1)], at: t0 + 300_002)
        let again = try #require(forgotten.level(btc, price: 100.0, isBid: true))
        #expect(again.firstSeenMs == t0 + 300_002)
        #expect(again.snapshotCount == 1)
    }

    // MARK: Bounded state

    @Test("10,000 levels in one symbol: tracked levels stay at max_levels_per_symbol")
    func boundedLevelsPerSymbol() {
        var d = IcebergDetector()
        for k in 0..<250 {
            let base = 1000.0 + Double(k)
            let bids = (0..<20).map { (base - 0.01 * Double($0), 1.0) }
            let asks = (0..<20).map { (base + 0.5 + 0.01 * Double($0), 1.0) }
            _ = d.run(btc, bids, asks, at: t0 + Int64(k))
        }
        #expect(d.trackedLevels(btc) == 200)
        #expect(d.trackedLevels == 200)
        // The newest book is intact; the oldest levels went first.
        #expect(d.level(btc, price: 1249.0, isBid: true) != nil)
        #expect(d.level(btc, price: 1000.0, isBid: true) == nil)

        // A bound smaller than one book: the first levels are tracked, the rest are not.
        var small = IcebergDetector(parameters: ParameterValues(["max_levels_per_symbol": .int(10)]))
        let bids = (0..<30).map { (100.0 - 0.01 * Double($0), 1.0) }
        let asks = (0..<30).map { (100.1 + 0.01 * Double($0), 1.0) }
        _ = small.run(btc, bids, asks, at: t0)
        _ = small.run(btc, bids, asks, at: t0 + 1)
        #expect(small.trackedLevels(btc) == 10)
        #expect(small.level(btc, price: 100.0, isBid: true)?.snapshotCount == 2)
    }

    @Test("10,000 symbols: tracked symbols stay at max_symbols and levels at max_levels_total")
    func boundedSymbolsAndTotal() {
        let bids = (0..<20).map { (100.0 - 0.01 * Double($0), 1.0) }
        let asks = (0..<20).map { (100.1 + 0.01 * Double($0), 1.0) }
        var d = IcebergDetector(parameters: ParameterValues(["max_symbols": .int(100)]))
        for i in 0..<10_000 {
            _ = d.run(SymbolKey(venue: .spot, symbol: "S\(i)USDT"), bids, asks, at: t0 + Int64(i))
        }
        #expect(d.trackedSymbols == 100)
        #expect(d.trackedLevels == 100 * 40)
        #expect(d.trackedLevels(SymbolKey(venue: .spot, symbol: "S9899USDT")) == 0)
        #expect(d.trackedLevels(SymbolKey(venue: .spot, symbol: "S9900USDT")) == 40)

        // Four levels a symbol, 100 levels at most overall.
        var capped = IcebergDetector(parameters: ParameterValues([
            "max_symbols": .int(200), "max_levels_total": .int(100),
        ]))
        for i in 0..<10_000 {
            _ = capped.run(SymbolKey(venue: .spot, symbol: "S\(i)USDT"), Array(bids.prefix(2)), Array(asks.prefix(2)),
                           at: t0 + Int64(i))
        }
        // Least recently updated symbols give up their levels and are dropped when left empty.
        #expect(capped.trackedLevels == 100)
        #expect(capped.trackedSymbols == 25)
        // The most recent symbol keeps its whole book; older ones gave up their levels.
        #expect(capped.trackedLevels(SymbolKey(venue: .spot, symbol: "S9999USDT")) == 4)
    }

    @Test("snapshots per level stay at snapshot_window; evict drops a symbol and its levels")
    func boundedSnapshotsAndEvict() {
        var d = IcebergDetector()
        for i in 0..<500 {
            _ = d.run(btc, [(100.0, 1.0 + Double(i % 7))], [(100.1, 1)], at: t0 + Int64(i))
        }
        #expect(d.level(btc, price: 100.0, isBid: true)?.snapshotCount == 100)
        _ = d.run(eth, [(10.0, 1)], [(10.1, 1)], at: t0)
        #expect(d.trackedSymbols == 2)
        d.evict(btc)
        #expect(d.trackedSymbols == 1)
        #expect(d.trackedLevels == 2)
        #expect(d.level(btc, price: 100.0, isBid: true) == nil)
        // Freed storage is reused and starts clean.
        _ = d.run(btc, [(100.0, 1)], [(100.1, 1)], at: t0 + 1000)
        #expect(d.level(btc, price: 100.0, isBid: true)?.snapshotCount == 1)
        #expect(d.level(btc, price: 100.0, isBid: true)?.refillCount == 0)
    }

    // MARK: Determinism

    @Test("replaying the same books gives identical signals")
    func deterministicReplay() {
        func replay() -> [Signal] {
            var d = IcebergDetector(parameters: ParameterValues(["max_levels_per_symbol": .int(40)]))
            var rng: UInt64 = 7
            var out: [Signal] = []
            let keys = [btc, eth, SymbolKey(venue: .usdm, symbol: "SOLUSDT")]
            var t = t0
            var base = 100.0
            let sizes = [2.0, 0.2, 1.0, 2.0]
            for _ in 0..<4000 {
                rng = rng &* 6364136223846793005 &+ 1442695040888963407
                t += Int64(100 + (rng >> 24) % 900)
                if (rng >> 50) % 50 == 0 { base += (rng >> 40) % 2 == 0 ? 0.1 : -0.1 }
                let key = keys[Int((rng >> 36) % 3)]
                var bids: [(Double, Double)] = []
                var asks: [(Double, Double)] = []
                for j in 0..<10 {
                    let offset = 0.1 * Double(j)
                    let bidSize = sizes[Int((rng >> UInt64(4 + j)) % 4)]
                    let askSize = sizes[Int((rng >> UInt64(14 + j)) % 4)]
                    bids.append((base - offset, bidSize))
                    asks.append((base + 0.1 + offset, askSize))
                }
                if let s = d.run(key, bids, asks, at: t) { out.append(s) }
            }
            return out
        }
        let first = replay()
        let second = replay()
        #expect(first.count > 3)
        #expect(first == second)
    }
}
