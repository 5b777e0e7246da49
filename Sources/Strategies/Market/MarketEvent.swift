/// Typed market data: what the parser produces and the engine consumes.
///
/// Everything here is a value type with no Foundation dependency, so the hot path can
/// build and drop events without touching the heap (symbols up to 15 UTF-8 bytes are
/// stored inline by `String`).

/// Which Binance market a frame belongs to. State is keyed by venue and symbol, so spot
/// and perpetual books of the same symbol never mix.
public enum Venue: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case spot = 0
    /// USDⓈ-M futures (perpetuals).
    case usdm = 1

    /// Accepts `spot`, `usdm`, `futures` and `perp` (case-insensitive).
    public init?(name: some StringProtocol) {
        switch name.lowercased() {
        case "spot": self = .spot
        case "usdm", "futures", "perp", "perpetual": self = .usdm
        default: return nil
        }
    }

    public var description: String { self == .spot ? "spot" : "usdm" }
}

/// The key of all per-symbol state.
public struct SymbolKey: Hashable, Sendable, CustomStringConvertible {
    public var venue: Venue
    /// Upper-case Binance symbol, e.g. `BTCUSDT`.
    public var symbol: String

    public init(venue: Venue, symbol: String) {
        self.venue = venue
        self.symbol = symbol
    }

    public var description: String { "\(venue):\(symbol)" }
}

/// The stream kinds the parser recognises, matched exactly on the stream-name suffix.
public enum StreamKind: Int, Sendable, CaseIterable, CustomStringConvertible {
    case trade = 0
    case aggTrade
    case ticker
    case bookTicker
    /// `depth5/10/20[@100ms]`: a partial book snapshot of the top levels.
    case partialDepth
    /// `depth[@100ms|@0ms]`: a diff of the book; parsed and counted.
    case diffDepth
    /// `kline_*`: counted and otherwise ignored.
    case kline
    /// `markPrice*`: counted and otherwise ignored.
    case markPrice

    /// Label used in stats and metrics.
    public var description: String {
        switch self {
        case .trade: "trade"
        case .aggTrade: "aggTrade"
        case .ticker: "ticker"
        case .bookTicker: "bookTicker"
        case .partialDepth: "depth_partial"
        case .diffDepth: "depth_diff"
        case .kline: "kline"
        case .markPrice: "markPrice"
        }
    }
}

/// Why a message was rejected. Every rejection is counted by reason; none stops processing.
public enum RejectReason: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// Not valid JSON, or not a JSON object where one is required.
    case malformedJSON = 0
    /// `stream` missing, without `@`, or with a suffix we do not know.
    case unknownStream
    /// A field the kind requires is absent or of the wrong JSON type.
    case missingField
    /// A number that does not parse, or parses to NaN or ±Inf.
    case invalidNumber
    /// A negative price or quantity.
    case negativeValue
    /// A book whose best bid is at or above its best ask.
    case crossedBook
    /// A partial book without `s` that no tracked symbol's state is consistent with.
    case symbolAmbiguous
    /// Event time more than `MAX_EVENT_TIME_SKEW_SECONDS` ahead of the receive time.
    case eventTimeInFuture

    public var description: String {
        switch self {
        case .malformedJSON: "malformed_json"
        case .unknownStream: "unknown_stream"
        case .missingField: "missing_field"
        case .invalidNumber: "invalid_number"
        case .negativeValue: "negative_value"
        case .crossedBook: "crossed_book"
        case .symbolAmbiguous: "symbol_ambiguous"
        case .eventTimeInFuture: "event_time_in_future"
        }
    }
}

/// Price levels of one book side, best first, as two parallel arrays.
///
/// The parser reuses one instance per side (`removeAll(keepingCapacity:)`), so a steady
/// stream of depth frames allocates nothing once the capacity is reached.
public struct PriceLevels: Sendable, Equatable {
    public var prices: [Double]
    public var quantities: [Double]

    public init(capacity: Int = 32) {
        prices = []
        quantities = []
        prices.reserveCapacity(capacity)
        quantities.reserveCapacity(capacity)
    }

    public init(_ levels: [(Double, Double)]) {
        prices = levels.map(\.0)
        quantities = levels.map(\.1)
    }

    @inlinable public var count: Int { prices.count }
    @inlinable public var isEmpty: Bool { prices.isEmpty }

    @inlinable public mutating func append(price: Double, quantity: Double) {
        prices.append(price)
        quantities.append(quantity)
    }

    @inlinable public mutating func removeAll() {
        prices.removeAll(keepingCapacity: true)
        quantities.removeAll(keepingCapacity: true)
    }

    /// Replaces the contents with `other`'s, reusing this instance's storage.
    @inlinable public mutating func assign(_ other: PriceLevels) {
        removeAll()
        prices.append(contentsOf: other.prices)
        quantities.append(contentsOf: other.quantities)
    }
}

public struct TradeEvent: Sendable, Equatable {
    public var key: SymbolKey
    public var price: Double
    public var quantity: Double
    /// `m`: the buyer was the maker, i.e. the aggressor sold.
    public var isBuyerMaker: Bool
    /// `t` for trades, `a` for aggTrades.
    public var tradeId: Int64
    /// True for `aggTrade` frames.
    public var isAggregate: Bool
    public var eventTimeMs: Int64

    public init(key: SymbolKey, price: Double, quantity: Double, isBuyerMaker: Bool, tradeId: Int64,
                isAggregate: Bool, eventTimeMs: Int64) {
        self.key = key; self.price = price; self.quantity = quantity; self.isBuyerMaker = isBuyerMaker
        self.tradeId = tradeId; self.isAggregate = isAggregate; self.eventTimeMs = eventTimeMs
    }
}

/// A `24hrTicker` frame. Fields a venue does not send are 0.
public struct TickerEvent: Sendable, Equatable {
    public var key: SymbolKey
    /// `c`
    public var lastPrice: Double
    /// `p` (the seed read this from `P` by mistake; we read `p`).
    public var priceChange: Double
    /// `P`
    public var priceChangePercent: Double
    /// `o`, `h`, `l`
    public var openPrice: Double
    public var highPrice: Double
    public var lowPrice: Double
    /// `v`: base-asset volume; `q`: quote-asset volume.
    public var volume: Double
    public var quoteVolume: Double
    /// `b`, `a` (spot only; 0 on futures).
    public var bestBid: Double
    public var bestAsk: Double
    public var eventTimeMs: Int64

    public init(key: SymbolKey, lastPrice: Double, priceChange: Double = 0, priceChangePercent: Double = 0,
                openPrice: Double = 0, highPrice: Double = 0, lowPrice: Double = 0, volume: Double = 0,
                quoteVolume: Double = 0, bestBid: Double = 0, bestAsk: Double = 0, eventTimeMs: Int64) {
        self.key = key; self.lastPrice = lastPrice; self.priceChange = priceChange
        self.priceChangePercent = priceChangePercent; self.openPrice = openPrice; self.highPrice = highPrice
        self.lowPrice = lowPrice; self.volume = volume; self.quoteVolume = quoteVolume
        self.bestBid = bestBid; self.bestAsk = bestAsk; self.eventTimeMs = eventTimeMs
    }
}

public struct BookTickerEvent: Sendable, Equatable {
    public var key: SymbolKey
    public var bidPrice: Double
    public var bidQuantity: Double
    public var askPrice: Double
    public var askQuantity: Double
    /// `u`
    public var updateId: Int64
    public var eventTimeMs: Int64

    public init(key: SymbolKey, bidPrice: Double, bidQuantity: Double, askPrice: Double, askQuantity: Double,
                updateId: Int64, eventTimeMs: Int64) {
        self.key = key; self.bidPrice = bidPrice; self.bidQuantity = bidQuantity; self.askPrice = askPrice
        self.askQuantity = askQuantity; self.updateId = updateId; self.eventTimeMs = eventTimeMs
    }
}

/// A partial-depth snapshot or a diff. Levels are best first: bids descending, asks ascending
/// as Binance sends them. For a diff, a quantity of 0 removes the level.
public struct DepthEvent: Sendable, Equatable {
    public var key: SymbolKey
    /// True for `depth5/10/20` partial books, false for `depth` diffs.
    public var isSnapshot: Bool
    /// `U` (diff) or 0.
    public var firstUpdateId: Int64
    /// `u` (diff, futures partial) or `lastUpdateId` (spot partial).
    public var finalUpdateId: Int64
    /// `pu` (futures) or -1.
    public var previousFinalUpdateId: Int64
    public var bids: PriceLevels
    public var asks: PriceLevels
    public var eventTimeMs: Int64
    /// A futures `depthUpdate` under a partial-depth label: diff or partial book is decided by
    /// the engine from update-id continuity (the upstream labels every depthUpdate `depth20`).
    public var isAmbiguous = false

    public init(key: SymbolKey, isSnapshot: Bool, firstUpdateId: Int64 = 0, finalUpdateId: Int64 = 0,
                previousFinalUpdateId: Int64 = -1, bids: PriceLevels, asks: PriceLevels, eventTimeMs: Int64) {
        self.key = key; self.isSnapshot = isSnapshot; self.firstUpdateId = firstUpdateId
        self.finalUpdateId = finalUpdateId; self.previousFinalUpdateId = previousFinalUpdateId
        self.bids = bids; self.asks = asks; self.eventTimeMs = eventTimeMs
    }
}

public enum MarketEvent: Sendable, Equatable {
    case trade(TradeEvent)
    case ticker(TickerEvent)
    case bookTicker(BookTickerEvent)
    case depth(DepthEvent)

    public var key: SymbolKey {
        switch self {
        case .trade(let e): e.key
        case .ticker(let e): e.key
        case .bookTicker(let e): e.key
        case .depth(let e): e.key
        }
    }

    public var eventTimeMs: Int64 {
        switch self {
        case .trade(let e): e.eventTimeMs
        case .ticker(let e): e.eventTimeMs
        case .bookTicker(let e): e.eventTimeMs
        case .depth(let e): e.eventTimeMs
        }
    }
}

/// Facts about a parsed frame that the engine counts.
public struct ParseFlags: OptionSet, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// `data.s` and the stream name disagree on the symbol; `data.s` won.
    public static let symbolMismatch = ParseFlags(rawValue: 1)
    /// No venue tag on the subject: the venue was inferred from the frame's shape.
    public static let venueInferred = ParseFlags(rawValue: 2)
    /// The stream label names another kind than the payload (or none we know); the payload won.
    public static let labelMismatch = ParseFlags(rawValue: 4)
    /// A partial book without `s`: its symbol is the label's, to be confirmed by evidence.
    public static let symbolFromLabel = ParseFlags(rawValue: 8)
}

/// The result of parsing one NATS payload.
public enum ParseOutcome: Sendable, Equatable {
    /// A typed event for the engine.
    case event(MarketEvent, kind: StreamKind, flags: ParseFlags)
    /// A recognised kind we only count (kline, markPrice).
    case ignored(StreamKind)
    /// Rejected, with the reason.
    case rejected(RejectReason)
}
