import Strategies

/// The socket server's counters, read by GetStats (and later by HTTP stats and metrics).
public final class SocketStats: Sendable {
    /// The calls counted in `requests(_:)`.
    public enum Call: Int, CaseIterable, Sendable, CustomStringConvertible {
        case hello, getSignals, subscribe, unsubscribe, getDepthMetrics, listDepthMetrics, getPressureHistory,
             getMarketSummary, getStats, healthCheck, config, unknown

        public var description: String {
            switch self {
            case .hello: "hello"
            case .getSignals: "get_signals"
            case .subscribe: "subscribe"
            case .unsubscribe: "unsubscribe"
            case .getDepthMetrics: "get_depth_metrics"
            case .listDepthMetrics: "list_depth_metrics"
            case .getPressureHistory: "get_pressure_history"
            case .getMarketSummary: "get_market_summary"
            case .getStats: "get_stats"
            case .healthCheck: "health"
            case .config: "config"
            case .unknown: "unknown"
            }
        }

        init(_ request: SocketRequest) {
            switch request {
            case .hello: self = .hello
            case .getSignals: self = .getSignals
            case .subscribe: self = .subscribe
            case .unsubscribe: self = .unsubscribe
            case .getDepthMetrics: self = .getDepthMetrics
            case .listDepthMetrics: self = .listDepthMetrics
            case .getPressureHistory: self = .getPressureHistory
            case .getMarketSummary: self = .getMarketSummary
            case .getStats: self = .getStats
            case .config: self = .config
            case .healthCheck: self = .healthCheck
            case .unknown: self = .unknown
            }
        }
    }

    /// Connected clients now.
    public let clients = StatCounter()
    /// Connections accepted since start.
    public let connectionsAccepted = StatCounter()
    /// Connections refused because SIDECAR_MAX_CONNECTIONS were already open.
    public let connectionsRefused = StatCounter()
    /// Connections refused by SIDECAR_ALLOWED_UIDS.
    public let permissionDenied = StatCounter()
    /// Config writes refused because the peer is not in SIDECAR_CONFIG_UIDS.
    public let configWritesDenied = StatCounter()
    /// Request frames above SIDECAR_MAX_REQUEST_BYTES (connection closed).
    public let requestsTooLarge = StatCounter()
    /// Request connections closed because their unsent replies exceeded SIDECAR_CLIENT_OUTPUT_BYTES.
    public let outputBudgetExceeded = StatCounter()
    /// Replies refused (RESOURCE_EXHAUSTED, connection kept) because they exceeded the
    /// connection's budget while the shared output pool was full.
    public let outputPoolExhausted = StatCounter()
    /// Frames answered with BAD_FRAME (zero, oversized, truncated or undecodable).
    public let badFrames = StatCounter()
    /// Error responses of any code.
    public let errors = StatCounter()
    /// Pushed events dropped from full client queues (or from the hub's full ring).
    public let eventsDropped = StatCounter()
    /// Gap messages sent.
    public let gaps = StatCounter()
    /// Pushed events written to clients.
    public let eventsSent = StatCounter()
    /// Active subscriptions, all clients.
    public let subscriptions = StatCounter()
    private let byCall: [StatCounter] = Call.allCases.map { _ in StatCounter() }

    public init() {}

    public func requests(_ call: Call) -> StatCounter { byCall[call.rawValue] }

    /// Refusals by reason, as exported in `realtime_socket_refused_total{reason}`.
    public var refusals: [(reason: String, counter: StatCounter)] {
        [("peer_uid", permissionDenied), ("config_write", configWritesDenied), ("max_connections", connectionsRefused),
         ("request_too_large", requestsTooLarge), ("output_budget", outputBudgetExceeded), ("output_pool", outputPoolExhausted)]
    }
}
