/// What every strategy shares: a parameter schema and the event kinds it consumes.
///
/// Strategies are value types owned by the engine and called on the ingest thread only.
/// Each keeps bounded per-symbol state, runs on exchange event time (never the wall clock)
/// and is deterministic on replay.

/// The type of one strategy parameter.
public enum ParameterType: String, Sendable, Equatable {
    case double, int, bool, string
}

/// A parameter value as configured.
public enum ParameterValue: Sendable, Equatable, CustomStringConvertible {
    case double(Double)
    case int(Int)
    case bool(Bool)
    case string(String)

    public var description: String {
        switch self {
        case .double(let v): "\(v)"
        case .int(let v): "\(v)"
        case .bool(let v): "\(v)"
        case .string(let v): v
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .double(let v): v
        case .int(let v): Double(v)
        default: nil
        }
    }
}

/// One entry of a strategy's parameter schema.
public struct ParameterSpec: Sendable, Equatable {
    public var name: String
    public var type: ParameterType
    public var defaultValue: ParameterValue
    public var minimum: Double?
    public var maximum: Double?
    /// For string parameters: the accepted values (empty: any).
    public var allowed: [String]
    public var description: String

    public init(_ name: String, _ type: ParameterType, default defaultValue: ParameterValue,
                min minimum: Double? = nil, max maximum: Double? = nil, allowed: [String] = [], _ description: String) {
        self.name = name; self.type = type; self.defaultValue = defaultValue
        self.minimum = minimum; self.maximum = maximum; self.allowed = allowed; self.description = description
    }
}

/// Resolved parameter values by name; strategies read typed values with their defaults.
public struct ParameterValues: Sendable, Equatable {
    public var values: [String: ParameterValue]
    public init(_ values: [String: ParameterValue] = [:]) { self.values = values }

    public func double(_ name: String, _ fallback: Double) -> Double { values[name]?.doubleValue ?? fallback }
    public func int(_ name: String, _ fallback: Int) -> Int {
        if case .int(let v)? = values[name] { return v }
        return fallback
    }
    public func bool(_ name: String, _ fallback: Bool) -> Bool {
        if case .bool(let v)? = values[name] { return v }
        return fallback
    }
    public func string(_ name: String, _ fallback: String) -> String {
        if case .string(let v)? = values[name] { return v }
        return fallback
    }
}

/// A strategy's identity and schema.
public protocol StrategyDescriptor {
    /// The config id, e.g. `spread_liquidity`; also `strategy_id` of its signals.
    static var id: String { get }
    /// Every parameter, with type, default, range and description.
    static var schema: [ParameterSpec] { get }
    /// `STRATEGY_ENABLED_<ID>` default, as in the seed (inventory §2.0).
    static var enabledByDefault: Bool { get }
    /// Rules between parameters, checked on the merged values of every config write.
    static var constraints: [ParameterConstraint] { get }
    /// False for market-wide strategies (one state across symbols), which take no per-symbol override.
    static var supportsSymbolOverrides: Bool { get }
    /// A fresh instance; out-of-range values are clamped by the schema reader.
    init(parameters: ParameterValues)
    mutating func evict(_ key: SymbolKey)
}

extension StrategyDescriptor {
    public static var constraints: [ParameterConstraint] { [] }
    public static var supportsSymbolOverrides: Bool { true }
}

/// Consumes partial books (depth5/10/20).
public protocol BookStrategy: StrategyDescriptor {
    mutating func onBook(key: SymbolKey, bids: PriceLevels, asks: PriceLevels, eventTimeMs: Int64) -> Signal?
    /// Drops all state of an evicted symbol.
    mutating func evict(_ key: SymbolKey)
}

/// Consumes trades and aggTrades.
public protocol TradeStrategy: StrategyDescriptor {
    mutating func onTrade(_ trade: TradeEvent) -> Signal?
    mutating func evict(_ key: SymbolKey)
}

/// Consumes 24h tickers.
public protocol TickerStrategy: StrategyDescriptor {
    mutating func onTicker(_ ticker: TickerEvent) -> Signal?
    mutating func evict(_ key: SymbolKey)
}

/// Reads parameters against a schema: a configured value of a compatible type is clamped to
/// the spec's [min, max]; a missing, mistyped or non-finite value gives the spec's default.
/// (Validation with errors is the config layer's job; strategies must simply never see a value
/// that breaks them, such as a window of 0.)
struct SchemaReader {
    let schema: [ParameterSpec]
    let values: ParameterValues

    func spec(_ name: String) -> ParameterSpec {
        guard let s = schema.first(where: { $0.name == name }) else {
            preconditionFailure("parameter \(name) is not in the schema")
        }
        return s
    }

    func double(_ name: String) -> Double {
        let s = spec(name)
        var v = s.defaultValue.doubleValue ?? 0
        if let c = values.values[name]?.doubleValue, c.isFinite { v = c }
        if let lo = s.minimum { v = max(v, lo) }
        if let hi = s.maximum { v = min(v, hi) }
        return v
    }

    func int(_ name: String) -> Int {
        let s = spec(name)
        var v: Int
        if case .int(let d) = s.defaultValue { v = d } else { v = Int(s.defaultValue.doubleValue ?? 0) }
        switch values.values[name] {
        case .int(let c)?: v = c
        case .double(let c)? where c.isFinite && c == c.rounded() && abs(c) < 1e15: v = Int(c)
        default: break
        }
        if let lo = s.minimum, Double(v) < lo { v = Int(lo.rounded(.up)) }
        if let hi = s.maximum, Double(v) > hi { v = Int(hi.rounded(.down)) }
        return v
    }

    func bool(_ name: String) -> Bool {
        let s = spec(name)
        if case .bool(let c)? = values.values[name] { return c }
        if case .bool(let d) = s.defaultValue { return d }
        return false
    }

    func string(_ name: String) -> String {
        let s = spec(name)
        var fallback = ""
        if case .string(let d) = s.defaultValue { fallback = d }
        guard case .string(let c)? = values.values[name] else { return fallback }
        if !s.allowed.isEmpty && !s.allowed.contains(c) { return fallback }
        return c
    }
}
