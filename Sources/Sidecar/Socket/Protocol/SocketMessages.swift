/// Swift values of the socket contract (proto/realtime/v1/sidecar.proto). Each request and
/// response of the protocol has one value here; `SocketCodec` converts them to and from protobuf.
/// Nothing in this file knows about protobuf-c.

/// A request's call (the `Request.call` oneof).
public enum SocketRequest: Sendable, Equatable {
    case hello(SocketProtocol.Hello)
    case getSignals(SocketProtocol.GetSignals)
    case subscribe(SocketProtocol.Subscribe)
    case unsubscribe(subscriptionId: UInt64)
    case getDepthMetrics(SocketProtocol.GetDepthMetrics)
    case listDepthMetrics(SocketProtocol.ListDepthMetrics)
    case getPressureHistory(SocketProtocol.GetPressureHistory)
    case getMarketSummary(venue: String)
    case getStats
    case healthCheck
    case config(SocketProtocol.ConfigCall)
    /// An empty oneof, or a call this build does not know (answered with UNIMPLEMENTED).
    case unknown
}

/// A response's result (the `Response.result` oneof).
public enum SocketResponse: Sendable, Equatable {
    case error(SocketProtocol.ErrorInfo)
    case hello(SocketProtocol.HelloResult)
    case signals(SocketProtocol.SignalPage)
    case subscribed(subscriptionId: UInt64)
    case unsubscribed(subscriptionId: UInt64)
    case depthMetrics(SocketProtocol.DepthMetrics)
    case depthMetricsPage(SocketProtocol.DepthMetricsPage)
    case pressureHistory(SocketProtocol.PressureHistory)
    case marketSummary(SocketProtocol.MarketSummary)
    case stats(SocketProtocol.Stats)
    case health(SocketProtocol.Health)
    case signalEvent(SocketProtocol.Signal)
    case depthEvent(seq: UInt64, metrics: SocketProtocol.DepthMetrics)
    case gap(SocketProtocol.Gap)
    case goodbye(reason: String)
    case config(SocketProtocol.ConfigResult)
    /// An empty oneof, or a result this build does not know.
    case unknown

    /// A typed error response.
    public static func error(_ code: SocketErrorCode, _ message: String, details: [String: String] = [:]) -> SocketResponse {
        .error(SocketProtocol.ErrorInfo(code: code, message: message, details: details))
    }
}

/// `ErrorCode`, with the proto's numbers.
public enum SocketErrorCode: Int32, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    case unspecified = 0
    case badFrame = 1
    case invalidArgument = 2
    case notFound = 3
    case failedPrecondition = 4
    case unsupportedVersion = 5
    case permissionDenied = 6
    case unimplemented = 7
    case unavailable = 8
    case resourceExhausted = 9
    case `internal` = 10
    case aborted = 11

    public var description: String {
        switch self {
        case .unspecified: "UNSPECIFIED"
        case .badFrame: "BAD_FRAME"
        case .invalidArgument: "INVALID_ARGUMENT"
        case .notFound: "NOT_FOUND"
        case .failedPrecondition: "FAILED_PRECONDITION"
        case .unsupportedVersion: "UNSUPPORTED_VERSION"
        case .permissionDenied: "PERMISSION_DENIED"
        case .unimplemented: "UNIMPLEMENTED"
        case .unavailable: "UNAVAILABLE"
        case .resourceExhausted: "RESOURCE_EXHAUSTED"
        case .internal: "INTERNAL"
        case .aborted: "ABORTED"
        }
    }
}

/// A frame or message that could not be read.
public enum SocketProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A frame of length 0.
    case emptyFrame
    /// A frame longer than the configured maximum; it is never read.
    case frameTooLarge(length: Int, maximum: Int)
    /// The connection ended in the middle of a frame.
    case truncatedFrame(expected: Int, received: Int)
    /// Well framed, but not a valid protobuf message of the expected type.
    case undecodable(length: Int)
    /// A frame was started but not completed within the server's frame timeout.
    case frameTimeout(seconds: Double)

    public var description: String {
        switch self {
        case .emptyFrame: "zero-length frame"
        case .frameTooLarge(let length, let maximum): "frame of \(length) bytes exceeds the maximum of \(maximum)"
        case .truncatedFrame(let expected, let received):
            "connection closed after \(received) of \(expected) bytes of a frame"
        case .undecodable(let length): "frame of \(length) bytes is not a valid message"
        case .frameTimeout(let seconds): "frame not completed within \(seconds) s (SIDECAR_FRAME_TIMEOUT_SECONDS)"
        }
    }
}

/// Namespace of the protocol's message values.
public enum SocketProtocol {
    /// The protocol version this server speaks.
    public static let version: UInt32 = 1
    /// Default maximum frame length (4 MiB), as in ttrpc and Dapr.
    public static let defaultMaxFrameBytes = 4 << 20
    /// `GetSignals.max` default and cap.
    public static let maxSignalsPerPage = 1000

    public enum Stream: Int32, Sendable, Equatable, CustomStringConvertible {
        case unspecified = 0
        case signals = 1
        case depth = 2

        public var description: String {
            switch self {
            case .unspecified: "unspecified"
            case .signals: "signals"
            case .depth: "depth"
            }
        }
    }

    public enum Action: Int32, Sendable, Equatable {
        case unspecified = 0
        case buy = 1
        case sell = 2
        case hold = 3
        case close = 4
    }

    public struct ErrorInfo: Sendable, Equatable {
        public var code: SocketErrorCode
        public var message: String
        public var details: [String: String]

        public init(code: SocketErrorCode, message: String, details: [String: String] = [:]) {
            self.code = code
            self.message = message
            self.details = details
        }
    }

    public struct Hello: Sendable, Equatable {
        public var protocolVersion: UInt32
        public var clientName: String

        public init(protocolVersion: UInt32 = SocketProtocol.version, clientName: String = "") {
            self.protocolVersion = protocolVersion
            self.clientName = clientName
        }
    }

    public struct HelloResult: Sendable, Equatable {
        public var protocolVersion: UInt32
        public var serverVersion: String
        public var capabilities: [String]
        public var strategies: [String]
        public var venues: [String]
        public var maxFrameBytes: UInt32
        public var lastSignalSeq: UInt64

        public init(protocolVersion: UInt32 = 0, serverVersion: String = "", capabilities: [String] = [],
                    strategies: [String] = [], venues: [String] = [], maxFrameBytes: UInt32 = 0, lastSignalSeq: UInt64 = 0) {
            self.protocolVersion = protocolVersion
            self.serverVersion = serverVersion
            self.capabilities = capabilities
            self.strategies = strategies
            self.venues = venues
            self.maxFrameBytes = maxFrameBytes
            self.lastSignalSeq = lastSignalSeq
        }
    }

    public struct Indicator: Sendable, Equatable {
        public var name: String
        public var value: Double

        public init(name: String, value: Double) {
            self.name = name
            self.value = value
        }
    }

    /// A signal with the values published on NATS (see `SocketSignalMapping`).
    public struct Signal: Sendable, Equatable {
        public var seq: UInt64 = 0
        public var id = ""
        public var strategyId = ""
        public var symbol = ""
        public var venue = ""
        public var action = Action.unspecified
        public var confidence = 0.0
        public var strength = ""
        public var price = 0.0
        public var currentPrice = 0.0
        public var quantity = 0.0
        /// 0 when not published (hold/close without strategy levels publish null on NATS).
        public var stopLoss = 0.0
        public var takeProfit = 0.0
        public var stopLossPct = 0.0
        public var takeProfitPct = 0.0
        public var eventTimeMs: Int64 = 0
        public var timeframe = ""
        public var reasoning = ""
        public var indicators: [Indicator] = []
        public var metadataJSON = ""

        public init() {}
    }

    public struct GetSignals: Sendable, Equatable {
        public var afterSeq: UInt64
        /// 0 means the default (1000); larger values are capped at 1000.
        public var max: UInt32
        public var symbols: [String]
        public var strategies: [String]

        public init(afterSeq: UInt64 = 0, max: UInt32 = 0, symbols: [String] = [], strategies: [String] = []) {
            self.afterSeq = afterSeq
            self.max = max
            self.symbols = symbols
            self.strategies = strategies
        }
    }

    public struct SignalPage: Sendable, Equatable {
        public var signals: [Signal]
        public var nextSeq: UInt64
        public var truncated: Bool
        public var oldestSeq: UInt64

        public init(signals: [Signal] = [], nextSeq: UInt64 = 0, truncated: Bool = false, oldestSeq: UInt64 = 0) {
            self.signals = signals
            self.nextSeq = nextSeq
            self.truncated = truncated
            self.oldestSeq = oldestSeq
        }
    }

    public struct Subscribe: Sendable, Equatable {
        public var stream: Stream
        public var symbols: [String]
        public var strategies: [String]
        public var minIntervalMs: UInt32
        public var afterSeq: UInt64
        public var venue: String

        public init(stream: Stream, symbols: [String] = [], strategies: [String] = [], minIntervalMs: UInt32 = 0,
                    afterSeq: UInt64 = 0, venue: String = "") {
            self.stream = stream
            self.symbols = symbols
            self.strategies = strategies
            self.minIntervalMs = minIntervalMs
            self.afterSeq = afterSeq
            self.venue = venue
        }
    }

    public struct Gap: Sendable, Equatable {
        public var subscriptionId: UInt64
        public var fromSeq: UInt64
        public var toSeq: UInt64
        public var stream: Stream

        public init(subscriptionId: UInt64, fromSeq: UInt64, toSeq: UInt64, stream: Stream) {
            self.subscriptionId = subscriptionId
            self.fromSeq = fromSeq
            self.toSeq = toSeq
            self.stream = stream
        }
    }

    /// Depth metrics with the HTTP JSON's rounding (`DepthMetrics.apiFields`).
    public struct DepthMetrics: Sendable, Equatable {
        public var symbol = ""
        public var venue = ""
        public var eventTimeMs: Int64 = 0
        public var imbalanceRatio = 0.0
        public var imbalancePercent = 0.0
        public var bidVolume = 0.0
        public var askVolume = 0.0
        public var buyPressure = 0.0
        public var sellPressure = 0.0
        public var netPressure = 0.0
        public var interpretation = ""
        public var totalLiquidity = 0.0
        public var bidDepth5 = 0.0
        public var askDepth5 = 0.0
        public var bidDepth10 = 0.0
        public var askDepth10 = 0.0
        public var bestBid = 0.0
        public var bestAsk = 0.0
        public var spreadAbs = 0.0
        public var spreadBps = 0.0
        public var midPrice = 0.0
        public var vwapBid = 0.0
        public var vwapAsk = 0.0
        public var vwapSpread = 0.0
        public var bidLevels: UInt32 = 0
        public var askLevels: UInt32 = 0
        public var hasStrongestBid = false
        public var strongestBidPrice = 0.0
        public var strongestBidVolume = 0.0
        public var hasStrongestAsk = false
        public var strongestAskPrice = 0.0
        public var strongestAskVolume = 0.0
        public var bidPrices: [Double] = []
        public var bidQuantities: [Double] = []
        public var askPrices: [Double] = []
        public var askQuantities: [Double] = []
        public var trend = ""
        /// The book behind the metrics (docs/BOOKS.md); empty source from servers before it.
        public var bookSource = ""
        public var synced = false
        public var lastUpdateId: Int64 = 0
        public var bookEventTimeMs: Int64 = 0
        public var ageMs: Int64 = 0
        public var stale = false

        public init() {}
    }

    public struct GetDepthMetrics: Sendable, Equatable {
        public var symbol: String
        public var venue: String
        public var includeLevels: Bool

        public init(symbol: String, venue: String = "", includeLevels: Bool = false) {
            self.symbol = symbol
            self.venue = venue
            self.includeLevels = includeLevels
        }
    }

    public struct ListDepthMetrics: Sendable, Equatable {
        public var symbols: [String] = []
        public var minPressure: Double?
        public var maxPressure: Double?
        public var trend = ""
        /// 0 means the default (50).
        public var limit: UInt32 = 0
        public var offset: UInt32 = 0
        public var sortBy = ""
        public var sortOrder = ""
        public var venue = ""

        public init() {}
    }

    public struct DepthMetricsPage: Sendable, Equatable {
        public var metrics: [DepthMetrics] = []
        public var total: UInt32 = 0
        public var limit: UInt32 = 0
        public var offset: UInt32 = 0
        public var page: UInt32 = 0
        public var pages: UInt32 = 0
        public var hasNext = false
        public var hasPrevious = false

        public init() {}
    }

    public struct GetPressureHistory: Sendable, Equatable {
        public var symbol: String
        public var timeframe: String
        public var venue: String

        public init(symbol: String, timeframe: String = "", venue: String = "") {
            self.symbol = symbol
            self.timeframe = timeframe
            self.venue = venue
        }
    }

    public struct PressureHistory: Sendable, Equatable {
        public var symbol = ""
        public var venue = ""
        public var timeframe = ""
        public var avgPressure = 0.0
        public var maxPressure = 0.0
        public var minPressure = 0.0
        public var trend = ""
        public var trendStrength = 0.0
        public var totalDataPoints: UInt32 = 0
        public var timeMs: [Int64] = []
        public var pressure: [Double] = []
        public var imbalance: [Double] = []

        public init() {}
    }

    public struct MarketSummary: Sendable, Equatable {
        public var timeMs: Int64 = 0
        public var symbolsTracked: UInt32 = 0
        public var bullishSymbols: UInt32 = 0
        public var bearishSymbols: UInt32 = 0
        public var neutralSymbols: UInt32 = 0
        public var avgNetPressure = 0.0
        public var avgImbalanceRatio = 0.0
        public var avgSpreadBps = 0.0
        public var totalLiquidity = 0.0
        public var highestBuyPressure: [String] = []
        public var highestSellPressure: [String] = []

        public init() {}
    }

    public struct Counter: Sendable, Equatable {
        public var name: String
        public var value: UInt64

        public init(name: String, value: UInt64) {
            self.name = name
            self.value = value
        }
    }

    public struct Stats: Sendable, Equatable {
        public var messagesReceived: UInt64 = 0
        public var messagesProcessed: UInt64 = 0
        public var messagesRejected: UInt64 = 0
        public var rejectedByReason: [Counter] = []
        public var messagesByKind: [Counter] = []
        public var signalsGenerated: [Counter] = []
        public var signalsPublished: [Counter] = []
        public var slowConsumerDropped: UInt64 = 0
        public var symbolsTracked: UInt64 = 0
        public var natsConnected = false
        public var lastSignalSeq: UInt64 = 0
        public var socketClients: UInt64 = 0
        public var socketEventsDropped: UInt64 = 0
        public var socketGaps: UInt64 = 0
        public var lastEventTimeMs: Int64 = 0
        public var uptimeSeconds = 0.0

        public init() {}
    }

    public struct Health: Sendable, Equatable {
        public var live: Bool
        public var ready: Bool
        public var natsConnected: Bool
        public var natsSubscribed: Bool
        public var version: String

        public init(live: Bool = false, ready: Bool = false, natsConnected: Bool = false, natsSubscribed: Bool = false,
                    version: String = "") {
            self.live = live
            self.ready = ready
            self.natsConnected = natsConnected
            self.natsSubscribed = natsSubscribed
            self.version = version
        }
    }
}
