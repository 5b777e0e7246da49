import Testing
@testable import Strategies

/// The config API's validation table: schema checks, the seed's golden quirks (inventory §4.3)
/// and how this service differs, cross-field rules, resolution order and sources.
@Suite struct ParameterValidationTests {
    typealias Case = (strategy: String, input: [(String, ParameterInput)], codes: [ValidationIssue.Code], note: String)

    static let table: [Case] = [
        ("spread_liquidity", [("spread_threshold_bps", .double(12.5))], [], "valid number"),
        ("spread_liquidity", [("spread_threshold_bps", .int(12))], [], "an integer is a valid number"),
        // Seed golden: {"spread_threshold_bps": true} was VALID (bool is an int in Python). Ours: type error.
        ("spread_liquidity", [("spread_threshold_bps", .bool(true))], [.invalidType], "seed quirk fixed: boolean is not a number"),
        // Seed golden: {"lookback_ticks": true} failed as "must be >= 5, got True". Ours: type error.
        ("spread_liquidity", [("lookback_ticks", .bool(true))], [.invalidType], "seed quirk fixed: boolean is not an int"),
        // Same as the seed: a JSON 3.0 is not an int.
        ("spread_liquidity", [("lookback_ticks", .double(20.0))], [.invalidType], "3.0 is not an int"),
        ("spread_liquidity", [("lookback_ticks", .int(4))], [.outOfRange], "below min"),
        ("spread_liquidity", [("lookback_ticks", .int(101))], [.outOfRange], "above max"),
        ("spread_liquidity", [("lookback_mode", .string("sideways"))], [.notAllowed], "not in the allowed set"),
        ("spread_liquidity", [("lookback_mode", .string("ticks"))], [], "allowed string"),
        // Seed: "must be a boolean" was classed OUT_OF_RANGE. Ours: INVALID_TYPE.
        ("ticker_velocity", [("volume_confirmation", .string("yes"))], [.invalidType], "seed misclassification fixed"),
        ("ticker_velocity", [("volume_confirmation", .bool(false))], [], "boolean"),
        ("orderbook_skew", [("nope", .int(1))], [.unknownParameter], "unknown parameter"),
        ("orderbook_skew", [("top_levels", .null)], [.invalidType], "null"),
        ("orderbook_skew", [("top_levels", .composite("array"))], [.invalidType], "array"),
        ("orderbook_skew", [("buy_threshold", .double(.nan))], [.invalidType], "NaN"),
        // Seed: keys with defaults but no schema (btc_dominance 3, cross_exchange_spread 5, onchain 4)
        // failed as unknown, breaking the defaults round-trip. Ours has them all.
        ("btc_dominance", [("base_confidence_high", .double(0.8)), ("momentum_confidence", .double(0.7))], [], "seed-missing keys"),
        ("cross_exchange_spread", [("persistent_spread_periods", .int(3)), ("base_confidence", .double(0.75))], [], "seed-missing keys"),
        ("onchain_metrics", [("accumulation_periods", .int(24)), ("strong_signal_confidence", .double(0.85))], [], "seed-missing keys"),
        // Seed: an unknown strategy accepted anything.
        ("foo", [("x", .int(1))], [.unknownStrategy], "unknown strategy"),
        // Every error is collected, not only the first.
        ("orderbook_skew", [("top_levels", .double(3.0)), ("sell_threshold", .bool(true)), ("bogus", .int(1)),
                            ("base_confidence", .double(2))],
         [.invalidType, .invalidType, .unknownParameter, .outOfRange], "all errors"),
    ]

    @Test(arguments: 0..<table.count)
    func validationTable(_ index: Int) {
        let c = Self.table[index]
        let (_, issues) = ParameterValidation.validate(strategyId: c.strategy, input: c.input)
        #expect(issues.map(\.code) == c.codes, "\(c.note): \(issues)")
    }

    @Test func typedValuesOfValidInput() {
        let (values, issues) = ParameterValidation.validate(
            strategyId: "orderbook_skew", input: [("top_levels", .int(7)), ("buy_threshold", .int(2))])
        #expect(issues.isEmpty)
        #expect(values["top_levels"] == .int(7))
        #expect(values["buy_threshold"] == .double(2), "an integer given for a float parameter is stored as a float")
    }

    @Test func rangeMessagesNameBothBounds() {
        let (_, issues) = ParameterValidation.validate(strategyId: "spread_liquidity", input: [("lookback_ticks", .int(4))])
        #expect(issues.map(\.message) == ["lookback_ticks must be >= 5, got 4"])
    }

    @Test func crossFieldConflicts() {
        func conflicts(_ id: String, _ values: [String: ParameterValue]) -> [String] {
            ParameterValidation.conflicts(strategyId: id, resolved: ParameterValues(values)).map(\.field)
        }
        #expect(conflicts("orderbook_skew", [:]).isEmpty, "the defaults are consistent")
        #expect(conflicts("orderbook_skew", ["sell_threshold": .double(1.0), "buy_threshold": .double(1.0)]) == ["sell_threshold"])
        #expect(conflicts("orderbook_skew", ["imbalance_weight": .double(0.7)]) == ["imbalance_weight+spread_weight"],
                "0.7 + default 0.4 > 1")
        #expect(conflicts("trade_momentum", ["price_weight": .double(0.5)]) == ["price_weight+quantity_weight+maker_weight"])
        #expect(conflicts("trade_momentum", ["sell_threshold": .double(-0.3), "buy_threshold": .double(0.3)]).isEmpty)
        #expect(conflicts("btc_dominance", ["low_threshold": .double(50), "high_threshold": .double(50)]) == ["low_threshold"])
        #expect(conflicts("ticker_velocity", ["sell_threshold": .double(0.6), "buy_threshold": .double(0.5)]) == ["sell_threshold"])
        for descriptor in StrategySettings.catalog {
            #expect(ParameterValidation.conflicts(strategyId: descriptor.id, resolved: ParameterValues()).isEmpty,
                    "\(descriptor.id) defaults satisfy its own rules")
        }
    }

    @Test func resolutionOrderAndSources() {
        let env = ParameterValues(["top_levels": .int(8), "buy_threshold": .double(1.3), "sell_threshold": .double(0.7)])
        let global: [String: ParameterValue] = ["buy_threshold": .double(1.5), "sell_threshold": .double(0.6)]
        let symbol: [String: ParameterValue] = ["sell_threshold": .double(0.5)]
        let r = ResolvedParameters.resolve(strategyId: "orderbook_skew", environment: env,
                                           global: (global, 4), symbol: (symbol, 9))
        #expect(r.values.values["sell_threshold"] == .double(0.5)); #expect(r.sources["sell_threshold"] == .symbol)
        #expect(r.values.values["buy_threshold"] == .double(1.5)); #expect(r.sources["buy_threshold"] == .global)
        #expect(r.values.values["top_levels"] == .int(8)); #expect(r.sources["top_levels"] == .environment)
        #expect(r.values.values["base_confidence"] == .double(0.70)); #expect(r.sources["base_confidence"] == .default)
        #expect(r.stamp == StrategyConfigStamp(version: 9, source: .symbol, isOverride: true))

        let g = ResolvedParameters.resolve(strategyId: "orderbook_skew", environment: env, global: (global, 4), symbol: nil)
        #expect(g.stamp == StrategyConfigStamp(version: 4, source: .global, isOverride: false))
        let e = ResolvedParameters.resolve(strategyId: "orderbook_skew", environment: env, global: nil, symbol: nil)
        #expect(e.stamp == StrategyConfigStamp(version: 0, source: .environment, isOverride: false))
        let d = ResolvedParameters.resolve(strategyId: "orderbook_skew", environment: ParameterValues(), global: nil, symbol: nil)
        #expect(d.stamp == .defaults)
        #expect(Set(d.sources.values) == [.default])
        #expect(d.values.values.count == OrderbookSkew.schema.count, "every parameter resolves")
    }

    @Test func symbolNames() {
        #expect(ParameterValidation.checkSymbol("BTCUSDT") == nil)
        #expect(ParameterValidation.checkSymbol("1000PEPEUSDT") == nil)
        #expect(ParameterValidation.checkSymbol("btcusdt")?.code == .invalidSymbol)
        #expect(ParameterValidation.checkSymbol("BTC/USDT")?.code == .invalidSymbol)
        #expect(ParameterValidation.checkSymbol("B")?.code == .invalidSymbol)
    }
}
