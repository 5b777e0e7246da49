import Foundation
import Strategies

/// The environment layer of strategy configuration, with the seed's variable names:
/// `STRATEGY_ENABLED_<ID>` switches a strategy, `<PREFIX>_<PARAMETER>` sets a parameter
/// (e.g. `ORDERBOOK_SKEW_TOP_LEVELS`, `BTC_DOMINANCE_HIGH_THRESHOLD`, `SPREAD_THRESHOLD_PERCENT`).
/// Values are checked against each strategy's schema: type and range.
public enum StrategyEnvironment {
    /// The seed's env prefix per strategy (inventory §7.1); new strategies follow the id.
    public static let prefixes: [String: String] = [
        OrderbookSkew.id: "ORDERBOOK_SKEW",
        TradeMomentum.id: "TRADE_MOMENTUM",
        TickerVelocity.id: "TICKER_VELOCITY",
        SpreadLiquidity.id: "SPREAD_LIQUIDITY",
        IcebergDetector.id: "ICEBERG_DETECTOR",
        BTCDominance.id: "BTC_DOMINANCE",
        CrossExchangeSpread.id: "SPREAD",
        OnchainMetrics.id: "ONCHAIN",
    ]

    public static func enabledVariable(_ id: String) -> String { "STRATEGY_ENABLED_\(id.uppercased())" }

    /// `<PREFIX>_<PARAMETER>`, without repeating the prefix when the parameter already starts
    /// with it (cross_exchange_spread's `spread_threshold_percent` is the seed's `SPREAD_THRESHOLD_PERCENT`).
    public static func variable(strategy id: String, parameter: String) -> String {
        let prefix = prefixes[id] ?? id.uppercased()
        let name = parameter.uppercased()
        return name.hasPrefix(prefix + "_") ? name : "\(prefix)_\(name)"
    }

    /// Reads every strategy's switch and parameters from `environment`.
    public static func settings(from environment: [String: String]) throws(ConfigurationError) -> StrategySettings {
        var settings = StrategySettings()
        for descriptor in StrategySettings.catalog {
            let id = descriptor.id
            let switchName = enabledVariable(id)
            if let text = environment[switchName], !text.isEmpty {
                switch text.lowercased() {
                case "true", "1", "yes", "on": settings.enabled.insert(id)
                case "false", "0", "no", "off": settings.enabled.remove(id)
                default: throw ConfigurationError(variable: switchName, value: text, reason: "expected true or false")
                }
            }
            var values: [String: ParameterValue] = [:]
            for spec in descriptor.schema {
                let name = variable(strategy: id, parameter: spec.name)
                guard let text = environment[name], !text.isEmpty else { continue }
                values[spec.name] = try parse(text, as: spec, variable: name)
            }
            if !values.isEmpty { settings.parameters[id] = ParameterValues(values) }
        }
        return settings
    }

    static func parse(_ raw: String, as spec: ParameterSpec, variable: String) throws(ConfigurationError) -> ParameterValue {
        let text = raw.trimmingCharacters(in: .whitespaces)
        func fail(_ reason: String) -> ConfigurationError {
            ConfigurationError(variable: variable, value: raw, reason: reason)
        }
        func checkRange(_ value: Double) throws(ConfigurationError) {
            if let low = spec.minimum, value < low { throw fail("below the minimum \(low)") }
            if let high = spec.maximum, value > high { throw fail("above the maximum \(high)") }
        }
        switch spec.type {
        case .double:
            guard let value = Double(text), value.isFinite else { throw fail("expected a number") }
            try checkRange(value)
            return .double(value)
        case .int:
            guard let value = Int(text) else { throw fail("expected an integer") }
            try checkRange(Double(value))
            return .int(value)
        case .bool:
            switch text.lowercased() {
            case "true", "1", "yes", "on": return .bool(true)
            case "false", "0", "no", "off": return .bool(false)
            default: throw fail("expected true or false")
            }
        case .string:
            if !spec.allowed.isEmpty && !spec.allowed.contains(text) {
                throw fail("expected one of \(spec.allowed.joined(separator: ", "))")
            }
            return .string(text)
        }
    }
}
