import Foundation
import Testing
@testable import Strategies

@Suite("TradeEngineSignalEncoder")
struct TradeEngineSignalEncoderTests {
    static let eventTimeMs: Int64 = 1_767_268_800_123  // 2026-01-01T12:00:00.123Z

    static func signal(action: SignalAction = .buy, confidence: Double = 0.75, price: Double = 50_000,
                       quantity: Double? = nil, stopLoss: Double? = nil, takeProfit: Double? = nil,
                       eventTimeMs: Int64 = eventTimeMs, reasoning: String = "Bid volume 1.5x ask volume",
                       indicators: [(String, Double)] = [("bid_volume", 12.5), ("ask_volume", 8.0), ("ratio", 1.5625)],
                       metadata: [(String, MetadataValue)] = [("top_bid", .double(49_999.99)), ("top_ask", .double(50_000.01))],
                       venue: Venue = .spot, symbol: String = "BTCUSDT", strategyId: String = "orderbook_skew") -> Signal {
        Signal(strategyId: strategyId, key: SymbolKey(venue: venue, symbol: symbol), action: action,
               confidence: confidence, price: price, currentPrice: price + 0.005, quantity: quantity,
               stopLoss: stopLoss, takeProfit: takeProfit, eventTimeMs: eventTimeMs, reasoning: reasoning,
               indicators: indicators, metadata: metadata)
    }

    static func encode(_ signal: Signal, source: String = "realtime_strategies") throws -> [String: Any] {
        var out: [UInt8] = []
        TradeEngineSignalEncoder(source: source).encode(signal, into: &out)
        let object = try JSONSerialization.jsonObject(with: Data(out))
        return try #require(object as? [String: Any])
    }

    static func keys(_ signal: Signal) -> [String] {
        var out: [UInt8] = []
        TradeEngineSignalEncoder().encode(signal, into: &out)
        // Top-level keys in order: scan the compact output, skipping the nested objects.
        let text = String(decoding: out, as: UTF8.self)
        var keys: [String] = []
        var depth = 0
        var inString = false
        var escaped = false
        var current = ""
        var expectingKey = false
        for c in text {
            if inString {
                if escaped { escaped = false; current.append(c); continue }
                if c == "\\" { escaped = true; continue }
                if c == "\"" {
                    inString = false
                    if expectingKey && depth == 1 { keys.append(current) }
                    expectingKey = false
                    continue
                }
                current.append(c)
                continue
            }
            switch c {
            case "\"": inString = true; current = ""
            case "{": depth += 1; expectingKey = depth == 1
            case "}": depth -= 1
            case ",": expectingKey = depth == 1
            default: break
            }
        }
        return keys
    }

    /// True when the top-level `key` holds a JSON number in the raw output (not a string, bool or null).
    static func isNumber(_ key: String, in signal: Signal) throws -> Bool {
        var out: [UInt8] = []
        TradeEngineSignalEncoder().encode(signal, into: &out)
        let text = String(decoding: out, as: UTF8.self)
        let pattern = try Regex("[{,]\"\(key)\":-?[0-9]")
        return text.contains(pattern)
    }

    @Test("every field tradeengine requires is present with the right JSON type")
    func requiredFields() throws {
        for action in SignalAction.allCases {
            let json = try Self.encode(Self.signal(action: action))
            #expect(json["strategy_id"] as? String == "orderbook_skew")
            #expect(json["symbol"] as? String == "BTCUSDT")
            let a = try #require(json["action"] as? String)
            #expect(["buy", "sell", "hold", "close"].contains(a))
            #expect(a == action.rawValue)
            let confidence = try #require(json["confidence"] as? Double)
            #expect((0...1).contains(confidence))
            let signal = Self.signal(action: action)
            for key in ["confidence", "price", "quantity", "current_price", "stop_loss_pct", "take_profit_pct"] {
                #expect(try Self.isNumber(key, in: signal), "\(key) is a JSON number")
            }
            #expect(json["price"] as? Double == 50_000)
            #expect(json["current_price"] as? Double == 50_000.005)
            #expect(json["quantity"] as? Double == 0.002)
            #expect(json["source"] as? String == "realtime_strategies")
            #expect(json["strategy"] as? String == "orderbook_skew")
            #expect(json["metadata"] is [String: Any])
        }
    }

    @Test("keys follow the seed adapter's order, with indicators last")
    func keyOrder() {
        #expect(Self.keys(Self.signal()) == [
            "id", "signal_id", "strategy_id", "strategy_mode", "symbol", "action", "confidence", "strength",
            "price", "quantity", "current_price", "target_price", "source", "strategy", "metadata", "timeframe",
            "order_type", "time_in_force", "signal_type", "confidence_score", "stop_loss", "stop_loss_pct",
            "take_profit", "take_profit_pct", "timestamp", "indicators",
        ])
    }

    @Test("enums are lower-case and the fixed fields have the contract values")
    func enumsAndConstants() throws {
        let json = try Self.encode(Self.signal(action: .sell, confidence: 0.92))
        #expect(json["action"] as? String == "sell")
        #expect(json["signal_type"] as? String == "sell")
        #expect(json["strength"] as? String == "extreme")
        #expect(json["strategy_mode"] as? String == "deterministic")
        #expect(json["order_type"] as? String == "market")
        #expect(json["time_in_force"] as? String == "GTC")
        #expect(json["timeframe"] as? String == "tick")
        #expect(json["target_price"] as? Double == 50_000)
        #expect(json["confidence_score"] as? Double == 0.92)
        let custom = try Self.encode(Self.signal(), source: "petrosa-cio")
        #expect(custom["source"] as? String == "petrosa-cio")
        #expect(custom["strategy"] as? String == "orderbook_skew")
    }

    @Test("strength follows the seed thresholds")
    func strengthThresholds() throws {
        let cases: [(Double, String)] = [(0.95, "extreme"), (0.9, "extreme"), (0.89, "strong"), (0.7, "strong"),
                                         (0.6, "medium"), (0.5, "medium"), (0.49, "weak")]
        for (confidence, strength) in cases {
            #expect(try Self.encode(Self.signal(confidence: confidence))["strength"] as? String == strength)
        }
    }

    @Test("timestamp is ISO-8601 UTC with milliseconds and Z, at the event time")
    func timestamp() throws {
        let pattern = try Regex(#"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#)
        let cases: [(Int64, String)] = [
            (Self.eventTimeMs, "2026-01-01T12:00:00.123Z"),
            (1_767_225_600_000, "2026-01-01T00:00:00.000Z"),
            (0, "1970-01-01T00:00:00.000Z"),
            (951_782_400_999, "2000-02-29T00:00:00.999Z"),
            (1_709_251_199_001, "2024-02-29T23:59:59.001Z"),
            (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
            (-1, "1969-12-31T23:59:59.999Z"),
        ]
        for (ms, expected) in cases {
            let text = try #require(try Self.encode(Self.signal(eventTimeMs: ms))["timestamp"] as? String)
            #expect(text.wholeMatch(of: pattern) != nil)
            #expect(text == expected)
            // The same instant as Foundation reads it.
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let date = try #require(formatter.date(from: text))
            #expect(Int64((date.timeIntervalSince1970 * 1000).rounded()) == ms)
        }
    }

    @Test("default quantity tiers match the seed goldens")
    func quantityGoldens() throws {
        #expect(TradeEngineSignalEncoder.defaultQuantity(price: 50_000) == 0.002)
        #expect(TradeEngineSignalEncoder.defaultQuantity(price: 3000.5) == 0.02)
        #expect(TradeEngineSignalEncoder.defaultQuantity(price: 100.0) == 0.2)
        #expect(TradeEngineSignalEncoder.defaultQuantity(price: 500) == 0.1)
        #expect(TradeEngineSignalEncoder.defaultQuantity(price: 5) == 4.0)
        #expect(TradeEngineSignalEncoder.defaultQuantity(price: 0) == 0)
        #expect(TradeEngineSignalEncoder.defaultQuantity(price: -3) == 0)
        #expect(TradeEngineSignalEncoder.defaultQuantity(price: .nan) == 0)
        #expect(TradeEngineSignalEncoder.defaultQuantity(price: 0.6) == 33.33)
        #expect(TradeEngineSignalEncoder.defaultQuantity(price: 150) == 0.33)
        #expect(TradeEngineSignalEncoder.defaultQuantity(price: 10_000) == 0.01)
        #expect(TradeEngineSignalEncoder.defaultQuantity(price: 10_000.01) == 0.01)
        #expect(TradeEngineSignalEncoder.defaultQuantity(price: 94_250.01) == 0.0011)
        // In the payload when the strategy leaves quantity nil.
        #expect(try Self.encode(Self.signal())["quantity"] as? Double == 0.002)
        #expect(try Self.encode(Self.signal(price: 3000.5))["quantity"] as? Double == 0.02)
    }

    @Test("round matches Python's correctly rounded round() near halves")
    func pythonRounding() {
        // Python: round(2.675, 2) == 2.67 (2.675 is 2.67499999… in binary); round(0.125, 2) == 0.12 (tie → even);
        // round(0.375, 2) == 0.38; round(1.005, 2) == 1.0; round(2.5, 0) == 2.0; round(0.285, 2) == 0.28;
        // round(1.0005, 3) == 1.0 (binary 1.000499…); round(0.00015, 4) == 0.0001 (binary 1.49999…e-4).
        #expect(PythonRounding.round(2.675, 2) == 2.67)
        #expect(PythonRounding.round(0.125, 2) == 0.12)
        #expect(PythonRounding.round(0.375, 2) == 0.38)
        #expect(PythonRounding.round(1.005, 2) == 1.0)
        #expect(PythonRounding.round(2.5, 0) == 2.0)
        #expect(PythonRounding.round(3.5, 0) == 4.0)
        #expect(PythonRounding.round(0.285, 2) == 0.28)
        #expect(PythonRounding.round(1.0005, 3) == 1.0)
        #expect(PythonRounding.round(0.00015, 4) == 0.0001)
        #expect(PythonRounding.round(-2.675, 2) == -2.67)
    }

    @Test("risk tiers by confidence")
    func riskTiers() {
        #expect(TradeEngineSignalEncoder.riskTier(confidence: 0.92) == (0.02, 0.05))
        #expect(TradeEngineSignalEncoder.riskTier(confidence: 0.8) == (0.02, 0.05))
        #expect(TradeEngineSignalEncoder.riskTier(confidence: 0.79) == (0.03, 0.04))
        #expect(TradeEngineSignalEncoder.riskTier(confidence: 0.6) == (0.03, 0.04))
        #expect(TradeEngineSignalEncoder.riskTier(confidence: 0.5855666666348774) == (0.05, 0.03))
    }

    @Test("sell at 50000 with confidence 0.92 gets the golden A stop-loss and take-profit")
    func goldenASell() throws {
        let json = try Self.encode(Self.signal(action: .sell, confidence: 0.9200010526315789))
        #expect(json["stop_loss"] as? Double == 51_000.0)
        #expect(json["take_profit"] as? Double == 47_500.0)
        #expect(json["stop_loss_pct"] as? Double == 0.02)
        #expect(json["take_profit_pct"] as? Double == 0.05)
        #expect(json["quantity"] as? Double == 0.002)
        // Compare the text: swift-corelibs-foundation's parser is off by one ulp on this value.
        var out: [UInt8] = []
        TradeEngineSignalEncoder().encode(Self.signal(action: .sell, confidence: 0.9200010526315789), into: &out)
        #expect(String(decoding: out, as: UTF8.self).contains(#""confidence":0.9200010526315789,"strength":"extreme""#))
    }

    @Test("buy at 50000 with confidence 0.5856 gets the golden B low-tier levels")
    func goldenBBuy() throws {
        let json = try Self.encode(Self.signal(action: .buy, confidence: 0.5855666666348774))
        #expect(json["stop_loss"] as? Double == 47_500.0)
        #expect(json["take_profit"] as? Double == 51_500.0)
        #expect(json["stop_loss_pct"] as? Double == 0.05)
        #expect(json["take_profit_pct"] as? Double == 0.03)
        #expect(json["strength"] as? String == "medium")
    }

    @Test("goldens C and D: buy levels at non-round prices reproduce the seed's floats")
    func goldenCD() throws {
        let c = try Self.encode(Self.signal(action: .buy, confidence: 0.8, price: 50_000.5))
        #expect(c["stop_loss"] as? Double == 49_000.49)
        #expect(c["take_profit"] as? Double == 52_500.525)
        let d = try Self.encode(Self.signal(action: .buy, confidence: 0.75, price: 3000.5))
        #expect(d["stop_loss"] as? Double == 2910.485)
        #expect(d["take_profit"] as? Double == 3120.52)
        #expect(d["quantity"] as? Double == 0.02)
    }

    @Test("hold and close publish null levels but still fill the percentages")
    func holdAndClose() throws {
        for action in [SignalAction.hold, .close] {
            var out: [UInt8] = []
            TradeEngineSignalEncoder().encode(Self.signal(action: action, confidence: 0.65), into: &out)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(out)) as? [String: Any])
            #expect(json["stop_loss"] is NSNull)
            #expect(json["take_profit"] is NSNull)
            #expect(json["stop_loss_pct"] as? Double == 0.03)
            #expect(json["take_profit_pct"] as? Double == 0.04)
        }
    }

    @Test("strategy-supplied quantity, stop-loss and take-profit propagate, with derived percentages")
    func strategyLevels() throws {
        let json = try Self.encode(Self.signal(action: .buy, confidence: 0.9, price: 50_000, quantity: 0.001,
                                               stopLoss: 49_500, takeProfit: 51_000))
        #expect(json["quantity"] as? Double == 0.001)
        #expect(json["stop_loss"] as? Double == 49_500)
        #expect(json["take_profit"] as? Double == 51_000)
        #expect(json["stop_loss_pct"] as? Double == 0.01)
        #expect(json["take_profit_pct"] as? Double == 0.02)

        let sell = try Self.encode(Self.signal(action: .sell, confidence: 0.7, price: 3000, stopLoss: 3030))
        #expect(sell["stop_loss"] as? Double == 3030)
        #expect(sell["stop_loss_pct"] as? Double == 0.01)
        // Take-profit not supplied: the tier applies.
        #expect(sell["take_profit"] as? Double == 3000 * (1 - 0.04))
        #expect(sell["take_profit_pct"] as? Double == 0.04)

        // A level more than 100 % away is clamped so tradeengine's [0, 1] check passes.
        let far = try Self.encode(Self.signal(action: .buy, price: 100, takeProfit: 350))
        #expect(far["take_profit"] as? Double == 350)
        #expect(far["take_profit_pct"] as? Double == 1)

        // A zero quantity from the strategy is kept (tradeengine sizes it).
        #expect(try Self.encode(Self.signal(quantity: 0))["quantity"] as? Double == 0)
        // A NaN quantity falls back to the tier rather than emitting null.
        #expect(try Self.encode(Self.signal(quantity: .nan))["quantity"] as? Double == 0.002)
    }

    @Test("the id is deterministic and UUID-shaped, and differs when the action or time differs")
    func deterministicId() throws {
        let pattern = try Regex(#"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"#)
        let base = Self.signal()
        let id = TradeEngineSignalEncoder.signalId(base)
        #expect(id.wholeMatch(of: pattern) != nil)
        #expect(UUID(uuidString: id) != nil)
        #expect(TradeEngineSignalEncoder.signalId(Self.signal()) == id)
        // Fields that are not identity do not change it.
        var other = base
        other.confidence = 0.99
        other.reasoning = "different words"
        other.sequence = 17
        #expect(TradeEngineSignalEncoder.signalId(other) == id)

        var ids: Set<String> = [id]
        ids.insert(TradeEngineSignalEncoder.signalId(Self.signal(action: .sell)))
        ids.insert(TradeEngineSignalEncoder.signalId(Self.signal(eventTimeMs: Self.eventTimeMs + 1)))
        ids.insert(TradeEngineSignalEncoder.signalId(Self.signal(symbol: "ETHUSDT")))
        ids.insert(TradeEngineSignalEncoder.signalId(Self.signal(strategyId: "spread_liquidity")))
        ids.insert(TradeEngineSignalEncoder.signalId(Self.signal(venue: .usdm)))
        #expect(ids.count == 6)

        let json = try Self.encode(base)
        #expect(json["id"] as? String == id)
        #expect(json["signal_id"] as? String == id)

        // Many nearby events: no collision.
        var many: Set<String> = []
        for t in 0..<10_000 { many.insert(TradeEngineSignalEncoder.signalId(Self.signal(eventTimeMs: Int64(t)))) }
        #expect(many.count == 10_000)
    }

    @Test("quotes, backslashes, newlines, control characters and unicode in strings are escaped")
    func escaping() throws {
        let reasoning = "He said \"buy\"\\now\nline2\r\ttab \u{01}\u{1F} café 📈 \u{2028}"
        let json = try Self.encode(Self.signal(reasoning: reasoning,
                                               metadata: [("note \"q\"", .string("a\nb")), ("flag", .bool(true)),
                                                          ("count", .int(-42)), ("big", .int(Int64.min))]))
        let metadata = try #require(json["metadata"] as? [String: Any])
        #expect(metadata["reasoning"] as? String == reasoning)
        #expect(metadata["note \"q\""] as? String == "a\nb")
        #expect(metadata["flag"] as? Bool == true)
        #expect(metadata["count"] as? Int == -42)
        #expect((metadata["big"] as? NSNumber)?.int64Value == Int64.min)

        var out: [UInt8] = []
        TradeEngineSignalEncoder().encode(Self.signal(reasoning: reasoning), into: &out)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.contains(#"He said \"buy\"\\now\nline2\r\ttab \u0001\u001f café 📈"#))
        #expect(!out.contains(where: { $0 < 0x20 }))
    }

    @Test("metadata carries the strategy pairs in order plus reasoning, venue, event time and strategy_config")
    func metadata() throws {
        let signal = Self.signal(metadata: [("top_bid", .double(49_999.99)), ("reasoning", .string("dup")),
                                            ("top_ask", .double(50_000.01))], venue: .usdm)
        let json = try Self.encode(signal)
        let metadata = try #require(json["metadata"] as? [String: Any])
        #expect(metadata["top_bid"] as? Double == 49_999.99)
        #expect(metadata["top_ask"] as? Double == 50_000.01)
        #expect(metadata["reasoning"] as? String == "Bid volume 1.5x ask volume")
        #expect(metadata["venue"] as? String == "usdm")
        #expect((metadata["event_time_ms"] as? NSNumber)?.int64Value == Self.eventTimeMs)
        var out: [UInt8] = []
        TradeEngineSignalEncoder().encode(signal, into: &out)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.contains(#""metadata":{"top_bid":49999.99,"top_ask":50000.01,"reasoning":"Bid volume 1.5x ask volume","venue":"usdm","event_time_ms":1767268800123,"strategy_config":{"version":0,"source":"default","is_override":false}}"#))
        let indicators = try #require(json["indicators"] as? [String: Any])
        #expect(indicators["ratio"] as? Double == 1.5625)
    }

    @Test("numbers are shortest round-trip with .0 on whole numbers, like Python")
    func numberFormat() throws {
        var out: [UInt8] = []
        TradeEngineSignalEncoder().encode(Self.signal(action: .sell, confidence: 0.9200010526315789), into: &out)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.contains(#""price":50000.0,"quantity":0.002,"current_price":50000.005,"target_price":50000.0"#))
        #expect(text.contains(#""confidence":0.9200010526315789"#))
        #expect(text.contains(#""stop_loss":51000.0,"stop_loss_pct":0.02,"take_profit":47500.0,"take_profit_pct":0.05"#))
    }

    @Test("NaN and infinite numbers become null and the output stays valid JSON")
    func nonFinite() throws {
        let signal = Self.signal(confidence: .nan, price: .infinity,
                                 indicators: [("ratio", .nan), ("spread", -.infinity), ("ok", 1.25)],
                                 metadata: [("weird", .double(.nan))])
        var out: [UInt8] = []
        TradeEngineSignalEncoder().encode(signal, into: &out)
        let text = String(decoding: out, as: UTF8.self)
        #expect(!text.lowercased().contains("nan"))
        #expect(!text.lowercased().contains("inf"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(out)) as? [String: Any])
        let indicators = try #require(json["indicators"] as? [String: Any])
        #expect(indicators["ratio"] is NSNull)
        #expect(indicators["spread"] is NSNull)
        #expect(indicators["ok"] as? Double == 1.25)
        #expect((json["metadata"] as? [String: Any])?["weird"] is NSNull)
        #expect(json["price"] is NSNull)
        #expect(json["confidence"] as? Double == 0)
        #expect(json["quantity"] as? Double == 0)
        // Out-of-range confidence is clamped.
        #expect(try Self.encode(Self.signal(confidence: 1.7))["confidence"] as? Double == 1)
    }

    @Test("encoding appends to the caller's buffer")
    func appends() throws {
        var out: [UInt8] = Array("prefix|".utf8)
        let encoder = TradeEngineSignalEncoder()
        encoder.encode(Self.signal(), into: &out)
        let first = out.count
        out.append(UInt8(ascii: "\n"))
        encoder.encode(Self.signal(action: .sell), into: &out)
        #expect(out.starts(with: Array("prefix|{".utf8)))
        let second = Array(out[(first + 1)...])
        #expect(try JSONSerialization.jsonObject(with: Data(second)) is [String: Any])
        #expect(try JSONSerialization.jsonObject(with: Data(out[7..<first])) is [String: Any])
    }
}
