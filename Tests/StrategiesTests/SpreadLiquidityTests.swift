import Foundation
import Testing
@testable import Strategies

extension SpreadLiquidity {
    /// Runs the strategy outside `#expect`/`#require`, which cannot take mutating calls.
    mutating func run(_ key: SymbolKey, _ book: (PriceLevels, PriceLevels), at timeMs: Int64) -> Signal? {
        onBook(key: key, bids: book.0, asks: book.1, eventTimeMs: timeMs)
    }

    /// Feeds `count` copies of `book` starting at `start`, `stepMs` apart; returns the signals.
    mutating func feed(_ key: SymbolKey, _ book: (PriceLevels, PriceLevels), from start: Int64, count: Int,
                       stepMs: Int64) -> [Signal] {
        var out: [Signal] = []
        for i in 0..<count {
            if let s = run(key, book, at: start + Int64(i) * stepMs) { out.append(s) }
        }
        return out
    }
}

/// Five levels a side, one price unit apart, best first.
private func spreadBook(bid: Double, ask: Double, qty: Double, step: Double = 1) -> (PriceLevels, PriceLevels) {
    (PriceLevels((0..<5).map { (bid - step * Double($0), qty) }),
     PriceLevels((0..<5).map { (ask + step * Double($0), qty) }))
}

private func meta(_ signal: Signal, _ name: String) -> MetadataValue? {
    signal.metadata.first { $0.0 == name }?.1
}

private func metaDouble(_ signal: Signal, _ name: String) -> Double? {
    if case .double(let v)? = meta(signal, name) { return v }
    return nil
}

/// The numbers of one flat JSON object of the encoder's output, parsed from their text with
/// `Double(_:)` (correctly rounded): `object` nil is the top level (nested objects skipped), else
/// the named nested object. Keys and strings of the encoder's output contain no braces.
private struct JSONNumbers {
    private var values: [String: Double] = [:]

    init?(_ text: String, object: String?) {
        var body = Substring(text)
        if let object {
            guard let r = text.range(of: "\"\(object)\":{") else { return nil }
            body = text[r.upperBound...]
            guard let end = body.firstIndex(of: "}") else { return nil }
            body = body[..<end]
        } else {
            var flat = ""
            var depth = 0
            for ch in text {
                if ch == "{" { depth += 1; if depth == 1 { continue } }
                if ch == "}" { depth -= 1; continue }
                if depth == 1 { flat.append(ch) }
            }
            body = Substring(flat)
        }
        var inString = false
        var token = ""
        var key: String? = nil
        var pendingKey = ""
        for ch in body + "," {
            if ch == "\"" { inString.toggle(); if !inString { pendingKey = token }; token = ""; continue }
            if inString { token.append(ch); continue }
            if ch == ":" { key = pendingKey; token = ""; continue }
            if ch == "," {
                if let key, let v = Double(token.trimmingCharacters(in: .whitespaces)) { values[key] = v }
                key = nil
                token = ""
                continue
            }
            token.append(ch)
        }
    }

    subscript(_ key: String) -> Double? { values[key] }
}

private func ticks(_ extra: [String: ParameterValue] = [:]) -> ParameterValues {
    var values: [String: ParameterValue] = ["lookback_mode": .string("ticks")]
    for (k, v) in extra { values[k] = v }
    return ParameterValues(values)
}

/// 2024-01-01T00:00:00Z: an epoch in [2^30, 2^31) s, like the wall clock the goldens ran at.
private let t0: Int64 = 1_704_067_200_000

@Suite("spread_liquidity")
struct SpreadLiquidityTests {
    let btc = SymbolKey(venue: .spot, symbol: "BTCUSDT")
    let eth = SymbolKey(venue: .spot, symbol: "ETHUSDT")

    // Golden A books: 1.0 spread (0.19999800002 bps), depth 20; then 20.0 spread (4 bps), depth 4.
    let tight = spreadBook(bid: 50000, ask: 50001, qty: 2.0)
    let wide = spreadBook(bid: 49990, ask: 50010, qty: 0.4)

    // MARK: Schema

    @Test("the schema covers every seed key with the seed's default and range")
    func schemaCoversSeedKeys() throws {
        let seed: [(String, ParameterValue, Double, Double)] = [
            ("spread_threshold_bps", .double(10.0), 1, 100),
            ("spread_ratio_threshold", .double(2.5), 1.5, 10),
            ("velocity_threshold", .double(0.5), 0.1, 2.0),
            ("persistence_threshold_seconds", .double(30.0), 10, 300),
            ("min_depth_reduction_pct", .double(0.5), 0.1, 0.9),
            ("base_confidence", .double(0.70), 0.5, 1.0),
            ("lookback_ticks", .int(20), 5, 100),
            ("min_signal_interval_seconds", .double(60.0), 30, 600),
        ]
        for (name, value, lo, hi) in seed {
            let spec = try #require(SpreadLiquidity.schema.first { $0.name == name })
            #expect(spec.defaultValue == value)
            #expect(spec.minimum == lo)
            #expect(spec.maximum == hi)
            #expect(!spec.description.isEmpty)
        }
        let names = SpreadLiquidity.schema.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(SpreadLiquidity.id == "spread_liquidity")
        #expect(SpreadLiquidity.enabledByDefault)
        #expect(SpreadLiquidity().configuration.lookbackMode == .time)
    }

    @Test("missing values take the schema defaults; out-of-range values are clamped; bad modes fall back")
    func parameterResolution() {
        let c = SpreadLiquidity.Configuration(ParameterValues([
            "lookback_ticks": .int(1000), "velocity_threshold": .int(1), "lookback_mode": .string("bogus"),
            "max_symbols": .double(7),
        ]))
        #expect(c.lookbackTicks == 100)
        #expect(c.velocityThreshold == 1.0)
        #expect(c.lookbackMode == .time)
        #expect(c.maxSymbols == 7)
        #expect(c.spreadRatioThreshold == 2.5)
        #expect(c.lookbackSeconds == 60)
    }

    // MARK: Goldens (seed-compatible tick mode)

    @Test("golden A: a widening at 1 s cadence sells with the seed's confidence and metadata")
    func goldenA() throws {
        var s = SpreadLiquidity(parameters: ticks())
        let early = s.feed(btc, tight, from: t0, count: 20, stepMs: 1000)
        #expect(early.isEmpty)
        let r1 = s.run(btc, wide, at: t0 + 20_000)
        let signal = try #require(r1)

        #expect(signal.strategyId == "spread_liquidity")
        #expect(signal.action == .sell)
        #expect(signal.confidence == 0.9200010526315789)
        #expect(signal.strength == "extreme")
        #expect(signal.price == 50000.0)
        #expect(signal.currentPrice == 50000.0)
        #expect(signal.quantity == nil)
        #expect(signal.stopLoss == 50040.0)
        #expect(signal.takeProfit == 49920.0)
        #expect(signal.timeframe == "tick")
        #expect(signal.eventTimeMs == t0 + 20_000)
        #expect(signal.reasoning == "Smart money liquidity withdrawal (rapid spread widening + depth reduction)")

        #expect(meta(signal, "strategy_id") == .string("spread_liquidity"))
        #expect(meta(signal, "event_type") == .string("widening"))
        #expect(metaDouble(signal, "persistence_seconds") == 0.0)
        #expect(metaDouble(signal, "best_bid") == 49990.0)
        #expect(metaDouble(signal, "best_ask") == 50010.0)
        #expect(metaDouble(signal, "spread_bps") == 4.0)
        #expect(metaDouble(signal, "spread_ratio") == 20.000199999999992)
        #expect(metaDouble(signal, "spread_velocity") == 1.0000105263157895)
        #expect(metaDouble(signal, "total_depth") == 4.0)
        #expect(metaDouble(signal, "depth_reduction_pct") == 0.8)
        #expect(metaDouble(signal, "stop_loss") == 50040.0)
        #expect(metaDouble(signal, "take_profit") == 49920.0)
        #expect(metaDouble(signal, "quantity") == 0.001)
        #expect(meta(signal, "timeframe") == .string("tick"))
        #expect(s.eventsDetected == 1)

        // "A repeat wide update 1 s later returned None (rate-limited), and events_detected went to 2."
        let repeated = s.run(btc, wide, at: t0 + 21_000)
        #expect(repeated == nil)
        #expect(s.eventsDetected == 2)
        #expect(s.signalsGenerated == 1)
    }

    @Test("golden A as published: tier quantity, strategy stop-loss and take-profit, every seed metadata key")
    func goldenAEncoded() throws {
        var s = SpreadLiquidity(parameters: ticks())
        _ = s.feed(btc, tight, from: t0, count: 20, stepMs: 1000)
        let r2 = s.run(btc, wide, at: t0 + 20_000)
        let signal = try #require(r2)
        var bytes: [UInt8] = []
        TradeEngineSignalEncoder().encode(signal, into: &bytes)
        // Structure and strings through JSONSerialization; numbers from their JSON text, because
        // Foundation's parser on Linux is off by an ulp on some (0.9200010526315789).
        let json = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let metadata = try #require(json["metadata"] as? [String: Any])
        let text = try #require(String(bytes: bytes, encoding: .utf8))
        let top = try #require(JSONNumbers(text, object: nil))
        let meta = try #require(JSONNumbers(text, object: "metadata"))
        #expect(json["strategy_id"] as? String == "spread_liquidity")
        #expect(json["action"] as? String == "sell")
        #expect(json["strength"] as? String == "extreme")
        #expect(top["confidence"] == 0.9200010526315789)
        #expect(top["price"] == 50000.0)
        #expect(top["quantity"] == 0.002)
        // The seed published the adapter tier (51000.0 / 47500.0); we publish the strategy's levels.
        #expect(top["stop_loss"] == 50040.0)
        #expect(top["take_profit"] == 49920.0)
        for key in ["strategy_id", "event_type", "reasoning", "persistence_seconds", "best_bid", "best_ask",
                    "spread_bps", "spread_ratio", "spread_velocity", "total_depth", "depth_reduction_pct",
                    "stop_loss", "take_profit", "quantity", "timeframe"] {
            #expect(metadata[key] != nil, "metadata lacks \(key)")
        }
        #expect(meta["spread_ratio"] == 20.000199999999992)
        #expect(meta["spread_velocity"] == 1.0000105263157895)
        #expect(meta["stop_loss"] == 50040.0)
        #expect(metadata["reasoning"] as? String
                == "Smart money liquidity withdrawal (rapid spread widening + depth reduction)")
    }

    @Test("golden B: a 31 s wide spread snapping back at 100 ms cadence buys with the seed's confidence")
    func goldenB() throws {
        var s = SpreadLiquidity(parameters: ticks())
        let normal = spreadBook(bid: 49990, ask: 50010, qty: 1.0)  // 4 bps
        let wideB = spreadBook(bid: 49750, ask: 50250, qty: 1.0)  // 100 bps
        let snap = spreadBook(bid: 49999, ask: 50001, qty: 1.0)  // 0.4 bps
        let r3 = s.feed(btc, normal, from: t0, count: 10, stepMs: 100)
        #expect(r3.isEmpty)
        let r4 = s.feed(btc, wideB, from: t0 + 1000, count: 311, stepMs: 100)
        #expect(r4.isEmpty)
        #expect(s.activeWideEvents == 1)
        let r5 = s.run(btc, snap, at: t0 + 32_100)
        let signal = try #require(r5)

        #expect(signal.action == .buy)
        #expect(signal.confidence == 0.5855666666348774)
        #expect(signal.strength == "medium")
        #expect(signal.price == 50000.0)
        #expect(signal.stopLoss == 49996.0)
        #expect(signal.takeProfit == 50008.0)
        #expect(signal.reasoning == "Liquidity returning after withdrawal (spread normalizing)")
        #expect(meta(signal, "event_type") == .string("narrowing"))
        // Epoch-seconds subtraction, as the seed: (t0 + 32.1 s) - (t0 + 1.0 s) in doubles.
        #expect(metaDouble(signal, "persistence_seconds") == 31.09999990463257)
        #expect(metaDouble(signal, "spread_ratio") == 0.004)
        #expect(metaDouble(signal, "spread_velocity") == -0.5242105263157895)
        #expect(metaDouble(signal, "total_depth") == 10.0)
        #expect(metaDouble(signal, "depth_reduction_pct") == 0.0)
        #expect(metaDouble(signal, "stop_loss") == 49996.0)
        #expect(metaDouble(signal, "take_profit") == 50008.0)
        #expect(metaDouble(signal, "best_bid") == 49999.0)
        #expect(metaDouble(signal, "best_ask") == 50001.0)
        #expect(metaDouble(signal, "spread_bps") == 0.4)
        #expect(s.activeWideEvents == 0)
    }

    // MARK: Seed flaws, and the time mode that fixes them

    @Test("at a 1 s cadence tick mode can never buy; time mode buys when the spread snaps back")
    func oneSecondCadenceBuys() throws {
        let normal = spreadBook(bid: 49990, ask: 50010, qty: 1.0)
        let wideB = spreadBook(bid: 49750, ask: 50250, qty: 1.0)
        let snap = spreadBook(bid: 49999, ask: 50001, qty: 1.0)

        var seed = SpreadLiquidity(parameters: ticks())
        _ = seed.feed(btc, normal, from: t0, count: 5, stepMs: 1000)
        _ = seed.feed(btc, wideB, from: t0 + 5000, count: 40, stepMs: 1000)
        let r6 = seed.run(btc, snap, at: t0 + 45_000)
        #expect(r6 == nil)
        #expect(seed.activeWideEvents == 1)

        var fixed = SpreadLiquidity()
        _ = fixed.feed(btc, normal, from: t0, count: 5, stepMs: 1000)
        _ = fixed.feed(btc, wideB, from: t0 + 5000, count: 40, stepMs: 1000)
        let r7 = fixed.run(btc, snap, at: t0 + 45_000)
        let signal = try #require(r7)
        #expect(signal.action == .buy)
        #expect(metaDouble(signal, "persistence_seconds") == 40.0)
        #expect(metaDouble(signal, "spread_velocity") == -0.996)  // (0.4 - 100) / 100 over 1 s
        #expect(meta(signal, "lookback_mode") == .string("time"))
        // Time-weighted average over the last 60 s: five 4 bps seconds, forty 100 bps seconds.
        let average = (5 * 4.0 + 40 * 100.0) / 45
        let ratio = try #require(metaDouble(signal, "spread_ratio"))
        #expect(abs(ratio - 0.4 / average) < 1e-12)
        let expected = 0.70 + (1 - ratio / 2.5) * 0.05 + min(0.10, 40.0 / 300 * 0.10)
        #expect(abs(signal.confidence - expected) < 1e-12)
        #expect(signal.confidence > 0.70)  // the seed's narrowing term was always negative
        #expect(signal.stopLoss == 49996.0)
        #expect(signal.takeProfit == 50008.0)
    }

    @Test("under bursty arrival tick mode saturates at 0.95; time mode gives the same confidence as at 1 s cadence")
    func burstsDoNotSaturate() throws {
        // Golden F's shape: tight books milliseconds apart, then one wide book.
        let normal = spreadBook(bid: 100.00, ask: 100.01, qty: 50, step: 0.01)
        let wideF = spreadBook(bid: 99.90, ask: 100.10, qty: 5, step: 0.01)

        var seed = SpreadLiquidity(parameters: ticks())
        _ = seed.feed(btc, normal, from: t0, count: 20, stepMs: 1)
        let r8 = seed.run(btc, wideF, at: t0 + 20)
        let saturated = try #require(r8)
        #expect(saturated.action == .sell)
        #expect(saturated.confidence == 0.95)
        #expect(try #require(metaDouble(saturated, "spread_velocity")) > 900)

        var burst = SpreadLiquidity()
        _ = burst.feed(btc, normal, from: t0, count: 20, stepMs: 1)
        let r9 = burst.run(btc, wideF, at: t0 + 20)
        let fast = try #require(r9)

        var paced = SpreadLiquidity()
        _ = paced.feed(btc, normal, from: t0, count: 20, stepMs: 1000)
        let r10 = paced.run(btc, wideF, at: t0 + 20_000)
        let slow = try #require(r10)

        #expect(fast.action == .sell)
        #expect(fast.confidence < 0.95)
        #expect(fast.confidence == slow.confidence)
        #expect(metaDouble(fast, "spread_velocity") == metaDouble(slow, "spread_velocity"))
        let v = try #require(metaDouble(fast, "spread_velocity"))
        let reduction = try #require(metaDouble(fast, "depth_reduction_pct"))
        #expect(fast.confidence == min(0.95, 0.70 + v / (1 + v) * 0.10 + reduction * 0.15))
    }

    @Test("time mode sells on golden A's books with the bounded confidence formula")
    func timeModeSells() throws {
        var s = SpreadLiquidity()
        _ = s.feed(btc, tight, from: t0, count: 20, stepMs: 1000)
        let r11 = s.run(btc, wide, at: t0 + 20_000)
        let signal = try #require(r11)
        #expect(signal.action == .sell)
        #expect(signal.stopLoss == 50040.0)
        #expect(signal.takeProfit == 49920.0)
        // Time-weighted average of the 20 tight samples of the last 60 s (1000 ms each); the
        // seed's plain mean of 19 gives 20.000199999999992, this gives 20.0002.
        let tightBps = (1.0 / 50000.5) * 10000
        var weighted = 0.0
        for _ in 0..<20 { weighted += tightBps * 1000 }
        #expect(metaDouble(signal, "spread_ratio") == 4.0 / (weighted / 20_000))
        #expect(metaDouble(signal, "depth_reduction_pct") == 0.8)
        // Velocity against the sample 1 s earlier: (4 - 0.19999800002) / 0.19999800002 per second.
        #expect(metaDouble(signal, "spread_velocity") == ((4.0 - tightBps) / tightBps) / 1.0)
        let v = try #require(metaDouble(signal, "spread_velocity"))
        #expect(signal.confidence == 0.70 + v / (1 + v) * 0.10 + 0.8 * 0.15)
        #expect(signal.confidence < 0.95)
    }

    @Test("a wide event that never snaps back expires after wide_event_ttl_seconds (exactly at the TTL it is still open)")
    func wideEventsExpire() throws {
        let normal = spreadBook(bid: 49990, ask: 50010, qty: 1.0)
        let wideB = spreadBook(bid: 49750, ask: 50250, qty: 1.0)
        let snap = spreadBook(bid: 49999, ask: 50001, qty: 1.0)
        let params = ParameterValues(["wide_event_ttl_seconds": .double(60)])
        // Wide from t0 + 5 s; the snap comes exactly 60 s, or 60.001 s, after the event opened.
        func run(snapAt: Int64) -> (Signal?, Int) {
            var s = SpreadLiquidity(parameters: params)
            _ = s.feed(btc, normal, from: t0, count: 5, stepMs: 1000)
            _ = s.feed(btc, wideB, from: t0 + 5000, count: 60, stepMs: 1000)
            let signal = s.run(btc, snap, at: t0 + 5000 + snapAt)
            return (signal, s.activeWideEvents)
        }
        let (atTTL, _) = run(snapAt: 60_000)
        #expect(atTTL?.action == .buy)
        #expect(atTTL.flatMap { metaDouble($0, "persistence_seconds") } == 60.0)
        let (pastTTL, open) = run(snapAt: 60_001)
        #expect(pastTTL == nil)
        #expect(open == 0)

        // wide_event_ttl_seconds = 0 and tick mode: the seed's never-expiring event.
        var seed = SpreadLiquidity(parameters: ticks(["wide_event_ttl_seconds": .double(0)]))
        _ = seed.feed(btc, normal, from: t0, count: 5, stepMs: 1000)
        _ = seed.feed(btc, wideB, from: t0 + 5000, count: 100, stepMs: 1000)
        _ = seed.feed(btc, normal, from: t0 + 105_000, count: 100, stepMs: 1000)
        #expect(seed.activeWideEvents == 1)
    }

    @Test("time mode closes a wide event without a signal when the spread drifts back to normal")
    func gradualNormalisationClosesTheEvent() {
        let normal = spreadBook(bid: 49990, ask: 50010, qty: 1.0)
        let wideB = spreadBook(bid: 49750, ask: 50250, qty: 1.0)
        var s = SpreadLiquidity()
        _ = s.feed(btc, normal, from: t0, count: 5, stepMs: 1000)
        _ = s.feed(btc, wideB, from: t0 + 5000, count: 10, stepMs: 1000)
        #expect(s.activeWideEvents == 1)
        // 100 → 60 → 36 → 21.6 → 13 → 7.8 bps: never -50 % within a second.
        var bps = 100.0
        var signals: [Signal] = []
        for i in 0..<5 {
            bps *= 0.6
            let half = 50000 * bps / 20000
            if let sig = s.run(btc, spreadBook(bid: 50000 - half, ask: 50000 + half, qty: 1.0),
                               at: t0 + 15_000 + Int64(i) * 1000) { signals.append(sig) }
        }
        #expect(signals.isEmpty)
        #expect(s.activeWideEvents == 0)
    }

    // MARK: Event-time edges

    @Test("persistence must exceed persistence_threshold_seconds: exactly 30 s does not buy, 30.001 s does")
    func persistenceEdge() {
        let normal = spreadBook(bid: 49990, ask: 50010, qty: 1.0)
        let wideB = spreadBook(bid: 49750, ask: 50250, qty: 1.0)
        let snap = spreadBook(bid: 49999, ask: 50001, qty: 1.0)
        for mode in ["time", "ticks"] {
            func run(after: Int64) -> Signal? {
                var s = SpreadLiquidity(parameters: ParameterValues(["lookback_mode": .string(mode)]))
                _ = s.feed(btc, normal, from: t0, count: 10, stepMs: 100)
                _ = s.feed(btc, wideB, from: t0 + 1000, count: Int(after / 100), stepMs: 100)
                return s.run(btc, snap, at: t0 + 1000 + after)
            }
            #expect(run(after: 30_000) == nil, "\(mode)")
            #expect(run(after: 30_001)?.action == .buy, "\(mode)")
        }
    }

    @Test("the time window keeps a sample exactly lookback_seconds old and drops one 1 ms older")
    func lookbackWindowEdge() {
        let params = ParameterValues(["lookback_seconds": .double(10)])
        func run(wideAt: Int64) -> (Signal?, Int) {
            var s = SpreadLiquidity(parameters: params)
            _ = s.run(btc, tight, at: t0)
            _ = s.run(btc, tight, at: t0 + 5000)
            let signal = s.run(btc, wide, at: t0 + wideAt)
            return (signal, s.historyCount(btc))
        }
        let (atEdge, kept) = run(wideAt: 10_000)
        #expect(kept == 3)
        #expect(atEdge?.action == .sell)
        let (pastEdge, dropped) = run(wideAt: 10_001)
        #expect(dropped == 2)
        #expect(pastEdge == nil)  // fewer than 3 samples in the window
    }

    @Test("rate limit: one signal per symbol per 60 s of event time; exactly 60 s later is allowed")
    func rateLimitEdge() throws {
        for mode in ["time", "ticks"] {
            func run(secondAt: Int64) -> Signal? {
                var s = SpreadLiquidity(parameters: ParameterValues(["lookback_mode": .string(mode)]))
                _ = s.feed(btc, tight, from: t0, count: 20, stepMs: 1000)
                let first = s.run(btc, wide, at: t0 + 20_000)
                #expect(first?.action == .sell)
                _ = s.feed(btc, tight, from: t0 + 21_000, count: 59, stepMs: 1000)  // up to 79 s
                return s.run(btc, wide, at: t0 + 20_000 + secondAt)
            }
            #expect(run(secondAt: 60_000)?.action == .sell, "\(mode)")
            #expect(run(secondAt: 59_999) == nil, "\(mode)")
        }
    }

    @Test("the rate-limit key is the symbol and venue; buys and sells share it, and a rate-limited BUY still closes the wide event")
    func rateLimitKey() throws {
        var s = SpreadLiquidity(parameters: ticks())
        _ = s.feed(btc, tight, from: t0, count: 20, stepMs: 1000)
        _ = s.feed(eth, tight, from: t0, count: 20, stepMs: 1000)
        let perp = SymbolKey(venue: .usdm, symbol: "BTCUSDT")
        _ = s.feed(perp, tight, from: t0, count: 20, stepMs: 1000)
        let r12 = s.run(btc, wide, at: t0 + 20_000)
        #expect(r12?.action == .sell)
        let r13 = s.run(eth, wide, at: t0 + 20_000)
        #expect(r13?.action == .sell)
        let r14 = s.run(perp, wide, at: t0 + 20_000)
        #expect(r14?.action == .sell)

        // A SELL on the way into a wide episode, then the BUY on the way out 31 s later.
        var t = SpreadLiquidity(parameters: ticks())
        let normal = spreadBook(bid: 50000, ask: 50001, qty: 2.0)
        let drained = spreadBook(bid: 49750, ask: 50250, qty: 0.4)
        let snap = spreadBook(bid: 49999, ask: 50001, qty: 0.4)
        _ = t.feed(btc, normal, from: t0, count: 20, stepMs: 100)
        let sell = t.run(btc, drained, at: t0 + 2000)
        #expect(sell?.action == .sell)
        #expect(t.activeWideEvents == 1)
        _ = t.feed(btc, drained, from: t0 + 2100, count: 310, stepMs: 100)  // to t0 + 33.0 s
        let detected = t.eventsDetected
        let r15 = t.run(btc, snap, at: t0 + 33_100)
        #expect(r15 == nil)  // a narrowing, 31.1 s after the SELL
        #expect(t.eventsDetected == detected + 1)
        #expect(t.activeWideEvents == 0)
        #expect(t.signalsGenerated == 1)
    }

    // MARK: No-signal cases

    @Test("empty sides, crossed or locked books, short history and a steady book give no signal")
    func noSignalCases() {
        var s = SpreadLiquidity()
        let r16 = s.run(btc, (PriceLevels([]), PriceLevels([(100, 1)])), at: t0)
        #expect(r16 == nil)
        let r17 = s.run(btc, (PriceLevels([(100, 1)]), PriceLevels([])), at: t0)
        #expect(r17 == nil)
        let r18 = s.run(btc, (PriceLevels([(101, 1)]), PriceLevels([(100, 1)])), at: t0)
        #expect(r18 == nil)  // crossed
        let r19 = s.run(btc, (PriceLevels([(100, 1)]), PriceLevels([(100, 1)])), at: t0)
        #expect(r19 == nil)  // locked
        let r20 = s.run(btc, (PriceLevels([(0, 1)]), PriceLevels([(100, 1)])), at: t0)
        #expect(r20 == nil)
        #expect(s.historyCount(btc) == 0)  // none of those were recorded
        #expect(s.trackedSymbols == 0)

        // Two samples are not enough, even for a huge widening.
        let r21 = s.run(btc, tight, at: t0)
        #expect(r21 == nil)
        let r22 = s.run(btc, wide, at: t0 + 1000)
        #expect(r22 == nil)
        // A steady book never signals.
        var steady = SpreadLiquidity()
        let r23 = steady.feed(btc, tight, from: t0, count: 200, stepMs: 100)
        #expect(r23.isEmpty)
        var steadyTicks = SpreadLiquidity(parameters: ticks())
        let r24 = steadyTicks.feed(btc, tight, from: t0, count: 200, stepMs: 100)
        #expect(r24.isEmpty)
        // A widening without depth reduction is not a SELL.
        var noDrain = SpreadLiquidity()
        _ = noDrain.feed(btc, tight, from: t0, count: 20, stepMs: 1000)
        let r25 = noDrain.run(btc, spreadBook(bid: 49990, ask: 50010, qty: 2.0), at: t0 + 20_000)
        #expect(r25 == nil)
    }

    @Test("event time is clamped per symbol: a late frame counts as now")
    func lateFramesAreClamped() throws {
        var s = SpreadLiquidity(parameters: ticks())
        _ = s.feed(btc, tight, from: t0, count: 20, stepMs: 1000)
        // The wide frame is stamped before the last tight one; it is treated as arriving at 19 s.
        let r26 = s.run(btc, wide, at: t0 + 5_000)
        let signal = try #require(r26)
        #expect(signal.eventTimeMs == t0 + 5_000)
        #expect(metaDouble(signal, "spread_velocity") == ((4.0 - (1.0 / 50000.5) * 10000)
                                                          / ((1.0 / 50000.5) * 10000)) / 18.0)
    }

    // MARK: Bounded state

    @Test("10,000 symbols: state stays at max_symbols, evicting the least recently updated")
    func boundedSymbols() {
        var s = SpreadLiquidity()
        for i in 0..<10_000 {
            _ = s.run(SymbolKey(venue: .spot, symbol: "S\(i)USDT"), tight, at: t0 + Int64(i))
        }
        #expect(s.trackedSymbols == 1000)
        #expect(s.historyCount(SymbolKey(venue: .spot, symbol: "S8999USDT")) == 0)
        #expect(s.historyCount(SymbolKey(venue: .spot, symbol: "S9000USDT")) == 1)

        var small = SpreadLiquidity(parameters: ParameterValues(["max_symbols": .int(2)]))
        let a = SymbolKey(venue: .spot, symbol: "AAAUSDT")
        let b = SymbolKey(venue: .spot, symbol: "BBBUSDT")
        let c = SymbolKey(venue: .spot, symbol: "CCCUSDT")
        _ = small.run(a, tight, at: t0)
        _ = small.run(b, tight, at: t0 + 1)
        _ = small.run(a, tight, at: t0 + 2)
        _ = small.run(c, tight, at: t0 + 3)
        #expect(small.trackedSymbols == 2)
        #expect(small.historyCount(a) == 2)
        #expect(small.historyCount(b) == 0)
        #expect(small.historyCount(c) == 1)

        small.evict(a)
        #expect(small.trackedSymbols == 1)
        #expect(small.historyCount(a) == 0)
    }

    @Test("10,000 updates of one symbol: the history stays at max_samples (time) or lookback_ticks (ticks)")
    func boundedHistory() {
        var time = SpreadLiquidity()
        _ = time.feed(btc, tight, from: t0, count: 10_000, stepMs: 1)
        #expect(time.historyCount(btc) == 1024)
        var ticksMode = SpreadLiquidity(parameters: ticks())
        _ = ticksMode.feed(btc, tight, from: t0, count: 10_000, stepMs: 1)
        #expect(ticksMode.historyCount(btc) == 20)
        var windowed = SpreadLiquidity()
        _ = windowed.feed(btc, tight, from: t0, count: 10_000, stepMs: 100)
        #expect(windowed.historyCount(btc) == 601)  // 60 s at 100 ms, both ends included
    }

    // MARK: Determinism

    @Test("replaying the same books gives identical signals, in both modes")
    func deterministicReplay() {
        func replay(_ parameters: ParameterValues) -> [Signal] {
            var s = SpreadLiquidity(parameters: parameters)
            var rng: UInt64 = 42
            var out: [Signal] = []
            let keys = [btc, eth, SymbolKey(venue: .usdm, symbol: "SOLUSDT")]
            var t = t0
            for _ in 0..<6000 {
                rng = rng &* 6364136223846793005 &+ 1442695040888963407
                let r = Double(rng >> 33) / Double(1 << 31)
                t += Int64(1 + (rng >> 20) % 400)
                let key = keys[Int((rng >> 40) % 3)]
                let half = r < 0.9 ? 0.5 : (r < 0.97 ? 60 : 0.2 + r)
                let qty = r < 0.9 ? 2.0 : 0.3
                if let sig = s.run(key, spreadBook(bid: 50000 - half, ask: 50000 + half, qty: qty), at: t) {
                    out.append(sig)
                }
            }
            return out
        }
        for mode in ["time", "ticks"] {
            let p = ParameterValues(["lookback_mode": .string(mode)])
            let first = replay(p)
            let second = replay(p)
            #expect(!first.isEmpty, "\(mode)")
            #expect(first == second, "\(mode)")
        }
    }
}
