/// Which strategies run, and with which parameter values.
public struct StrategySettings: Sendable, Equatable {
    /// Every strategy this service implements, in dispatch order.
    public static let catalog: [any StrategyDescriptor.Type] = [
        OrderbookSkew.self, TradeMomentum.self, TickerVelocity.self, SpreadLiquidity.self,
        IcebergDetector.self, BTCDominance.self, CrossExchangeSpread.self, OnchainMetrics.self,
    ]

    public static var allIds: [String] { catalog.map { $0.id } }

    public static func descriptor(_ id: String) -> (any StrategyDescriptor.Type)? {
        catalog.first { $0.id == id }
    }

    /// Ids of the strategies that run.
    public var enabled: Set<String>
    /// Parameter values by strategy id; a missing value means the schema default.
    public var parameters: [String: ParameterValues]

    /// The seed's defaults (inventory §2.0): everything on but `onchain_metrics`.
    public init() {
        enabled = Set(Self.catalog.filter { $0.enabledByDefault }.map { $0.id })
        parameters = [:]
    }

    public func isEnabled(_ id: String) -> Bool { enabled.contains(id) }
    public func values(for id: String) -> ParameterValues { parameters[id] ?? ParameterValues() }

    /// Enabled ids in catalog order.
    public var enabledIds: [String] { Self.allIds.filter { enabled.contains($0) } }
}
