import Synchronization

/// Where a resolved parameter value came from, highest priority first.
public enum ConfigSource: String, Sendable, Equatable, CaseIterable {
    case symbol, global, environment, `default`
}

/// What a signal says about the configuration that produced it (metadata `strategy_config`).
public struct StrategyConfigStamp: Sendable, Equatable {
    /// Version of the stored document that applied (symbol override, else global); 0 when none.
    public var version: Int64
    /// The highest-priority layer that set any parameter.
    public var source: ConfigSource
    /// True when a per-symbol override applied.
    public var isOverride: Bool

    public init(version: Int64 = 0, source: ConfigSource = .default, isOverride: Bool = false) {
        self.version = version; self.source = source; self.isOverride = isOverride
    }

    public static let defaults = StrategyConfigStamp()
}

/// The values one strategy runs with in one scope, each with its source.
public struct ResolvedParameters: Sendable, Equatable {
    public var values: ParameterValues
    public var sources: [String: ConfigSource]
    public var stamp: StrategyConfigStamp

    /// Resolution order, per parameter: symbol override, global override, environment
    /// (the seed's variable names), schema default.
    public static func resolve(strategyId: String, environment: ParameterValues,
                               global: (values: [String: ParameterValue], version: Int64)?,
                               symbol: (values: [String: ParameterValue], version: Int64)?) -> ResolvedParameters {
        let schema = StrategySettings.descriptor(strategyId)?.schema ?? []
        var values: [String: ParameterValue] = [:]
        var sources: [String: ConfigSource] = [:]
        for spec in schema {
            if let v = symbol?.values[spec.name] {
                values[spec.name] = v; sources[spec.name] = .symbol
            } else if let v = global?.values[spec.name] {
                values[spec.name] = v; sources[spec.name] = .global
            } else if let v = environment.values[spec.name] {
                values[spec.name] = v; sources[spec.name] = .environment
            } else {
                values[spec.name] = spec.defaultValue; sources[spec.name] = .default
            }
        }
        let stamp: StrategyConfigStamp
        if let symbol {
            stamp = StrategyConfigStamp(version: symbol.version, source: .symbol, isOverride: true)
        } else if let global {
            stamp = StrategyConfigStamp(version: global.version, source: .global, isOverride: false)
        } else if !environment.values.isEmpty {
            stamp = StrategyConfigStamp(version: 0, source: .environment, isOverride: false)
        } else {
            stamp = .defaults
        }
        return ResolvedParameters(values: ParameterValues(values), sources: sources, stamp: stamp)
    }
}

/// One strategy's configuration as the engine applies it: the values for every symbol, and
/// the symbols that have their own override.
public struct StrategyConfigUpdate: Sendable, Equatable {
    public var strategyId: String
    public var global: ResolvedParameters
    /// Symbol (upper case, any venue) → values with that symbol's override applied.
    public var symbols: [String: ResolvedParameters]

    public init(strategyId: String, global: ResolvedParameters, symbols: [String: ResolvedParameters]) {
        self.strategyId = strategyId; self.global = global; self.symbols = symbols
    }
}

/// Hands configuration changes to the ingest thread. Posting takes a lock; the ingest thread
/// only loads an atomic per message and takes the lock when the generation moved.
public final class StrategyConfigMailbox: Sendable {
    private let generationCounter = Atomic<UInt64>(0)
    private let pending = Mutex<[String: StrategyConfigUpdate]>([:])

    public init() {}

    public func post(_ updates: [StrategyConfigUpdate]) {
        guard !updates.isEmpty else { return }
        pending.withLock { box in for u in updates { box[u.strategyId] = u } }
        generationCounter.add(1, ordering: .releasing)
    }

    @inline(__always)
    var generation: UInt64 { generationCounter.load(ordering: .acquiring) }

    func take() -> [StrategyConfigUpdate] {
        pending.withLock { box in
            let updates = Array(box.values)
            box.removeAll(keepingCapacity: true)
            return updates
        }
    }
}

/// A strategy instance for every symbol without an override, and one per overridden symbol.
/// Changing a scope's parameters restarts that scope's strategy state (windows, cooldowns):
/// parameters such as window lengths shape the state, so carrying it over would be wrong.
struct StrategySlot<S: StrategyDescriptor> {
    var global: S
    var globalStamp: StrategyConfigStamp
    var bySymbol: [String: SymbolInstance] = [:]

    struct SymbolInstance {
        var strategy: S
        var stamp: StrategyConfigStamp
        var values: ParameterValues
    }

    var globalValues: ParameterValues

    init(values: ParameterValues) {
        global = S(parameters: values)
        globalValues = values
        globalStamp = .defaults
    }

    /// Runs `body` on the instance that owns `symbol` and stamps a signal with its configuration.
    @inline(__always)
    mutating func run(_ symbol: String, _ body: (inout S) -> Signal?) -> Signal? {
        // One hash of the symbol, and only when some symbol has an override.
        if !bySymbol.isEmpty, let index = bySymbol.index(forKey: symbol) {
            guard var signal = body(&bySymbol.values[index].strategy) else { return nil }
            signal.config = bySymbol.values[index].stamp
            return signal
        }
        guard var signal = body(&global) else { return nil }
        signal.config = globalStamp
        return signal
    }

    mutating func evict(_ key: SymbolKey) {
        global.evict(key)
        if let index = bySymbol.index(forKey: key.symbol) { bySymbol.values[index].strategy.evict(key) }
    }

    mutating func apply(_ update: StrategyConfigUpdate) {
        if update.global.values != globalValues {
            global = S(parameters: update.global.values)
            globalValues = update.global.values
        }
        globalStamp = update.global.stamp
        for symbol in bySymbol.keys where update.symbols[symbol] == nil {
            bySymbol.removeValue(forKey: symbol)
        }
        for (symbol, resolved) in update.symbols {
            if let existing = bySymbol[symbol], existing.values == resolved.values {
                bySymbol[symbol]!.stamp = resolved.stamp
                continue
            }
            // The symbol's state moves to its own instance and starts over there.
            for venue in Venue.allCases { global.evict(SymbolKey(venue: venue, symbol: symbol)) }
            bySymbol[symbol] = SymbolInstance(strategy: S(parameters: resolved.values), stamp: resolved.stamp,
                                              values: resolved.values)
        }
    }
}
