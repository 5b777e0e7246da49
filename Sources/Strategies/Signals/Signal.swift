/// A trading signal as a strategy emits it. The wire formats (tradeengine JSON on NATS,
/// protobuf on the socket) are produced from this one value.

public enum SignalAction: String, Sendable, Equatable, CaseIterable {
    case buy, sell, hold, close
}

/// A metadata value. Metadata is an ordered list of pairs so that encoding is deterministic.
public enum MetadataValue: Sendable, Equatable {
    case double(Double)
    case int(Int64)
    case string(String)
    case bool(Bool)
}

public struct Signal: Sendable, Equatable {
    /// The config id of the strategy, e.g. `orderbook_skew`.
    public var strategyId: String
    public var key: SymbolKey
    public var action: SignalAction
    /// In [0, 1].
    public var confidence: Double
    /// The price the strategy wants to trade at (e.g. best bid for a buy).
    public var price: Double
    /// The market price when the signal fired (e.g. mid).
    public var currentPrice: Double
    /// Quantity, stop-loss and take-profit from the strategy; nil means the adapter's
    /// default tiers apply (inventory §3.3).
    public var quantity: Double?
    public var stopLoss: Double?
    public var takeProfit: Double?
    /// Exchange event time of the message that triggered the signal (ms since epoch).
    public var eventTimeMs: Int64
    /// `tick` for the book and trade strategies.
    public var timeframe: String
    /// Human-readable reason, published in metadata.
    public var reasoning: String
    /// Numeric inputs that led to the signal.
    public var indicators: [(String, Double)]
    /// Extra strategy metadata, in emission order.
    public var metadata: [(String, MetadataValue)]
    /// Assigned by the `SignalLog`; 0 until then.
    public var sequence: UInt64
    /// The configuration that produced it (set by the engine), published as `strategy_config`.
    public var config = StrategyConfigStamp.defaults

    public init(strategyId: String, key: SymbolKey, action: SignalAction, confidence: Double, price: Double,
                currentPrice: Double, quantity: Double? = nil, stopLoss: Double? = nil, takeProfit: Double? = nil,
                eventTimeMs: Int64, timeframe: String = "tick", reasoning: String,
                indicators: [(String, Double)] = [], metadata: [(String, MetadataValue)] = [], sequence: UInt64 = 0) {
        self.strategyId = strategyId; self.key = key; self.action = action; self.confidence = confidence
        self.price = price; self.currentPrice = currentPrice; self.quantity = quantity; self.stopLoss = stopLoss
        self.takeProfit = takeProfit; self.eventTimeMs = eventTimeMs; self.timeframe = timeframe
        self.reasoning = reasoning; self.indicators = indicators; self.metadata = metadata; self.sequence = sequence
    }

    public static func == (lhs: Signal, rhs: Signal) -> Bool {
        lhs.strategyId == rhs.strategyId && lhs.key == rhs.key && lhs.action == rhs.action
            && lhs.confidence == rhs.confidence && lhs.price == rhs.price && lhs.currentPrice == rhs.currentPrice
            && lhs.quantity == rhs.quantity && lhs.stopLoss == rhs.stopLoss && lhs.takeProfit == rhs.takeProfit
            && lhs.eventTimeMs == rhs.eventTimeMs && lhs.timeframe == rhs.timeframe && lhs.reasoning == rhs.reasoning
            && lhs.indicators.elementsEqual(rhs.indicators, by: { $0.0 == $1.0 && $0.1 == $1.1 })
            && lhs.metadata.elementsEqual(rhs.metadata, by: { $0.0 == $1.0 && $0.1 == $1.1 })
            && lhs.sequence == rhs.sequence && lhs.config == rhs.config
    }

    public var strength: String { Self.strength(forConfidence: confidence) }

    /// Seed `Signal.strength` thresholds (inventory §3.2).
    public static func strength(forConfidence confidence: Double) -> String {
        if confidence >= 0.9 { return "extreme" }
        if confidence >= 0.7 { return "strong" }
        if confidence >= 0.5 { return "medium" }
        return "weak"
    }
}
