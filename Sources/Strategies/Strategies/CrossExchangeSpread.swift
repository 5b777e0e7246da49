/// `cross_exchange_spread`: a directional signal on a Binance market when its price is far from
/// another venue's (inventory §2.7).
///
/// Inputs, none of them fetched here (the seed made an HTTPS call to Coinbase on every NATS
/// message, §10 item 18; this strategy never does I/O):
/// - Binance prices: trades (`price`), tickers (`lastPrice`) and anything the engine passes to
///   `onBinancePrice` (e.g. a bookTicker mid). Binance spot is the venue `binance`, USDⓈ-M
///   futures the venue `binance_futures`: two venues of the same symbol.
/// - Reference prices: `ReferencePriceEvent`s from `REFERENCE_PRICES_SUBJECT`. Events whose venue
///   is `binance` or `binance_futures` are ignored (Binance prices come from the streams).
///
/// Only venues listed in `exchanges` count. On every price update of a symbol the strategy
/// looks at the prices of that symbol that are at most `max_price_age_seconds` from the update's
/// event time (either way; the seed used 60 s), and considers every pair of a fresh Binance
/// venue `b` with another fresh venue `o` (a reference venue or the other Binance market):
/// `spread% = (hi - lo) / lo · 100` (the seed's formula). The widest pair wins; on a tie the pair
/// where `b` is the cheaper side wins, then the earlier pair (Binance spot before futures,
/// venues in order of first appearance), so the choice is deterministic.
///
/// When `spread% ≥ spread_threshold_percent` for `persistent_spread_periods` consecutive
/// evaluations of the symbol with the same pair, ONE signal is emitted for `b`:
/// - BUY `b` at its own price when `b` is the cheap side, SELL `b` when it is the rich side
///   (the seed emitted a contradictory BUY and SELL of the same Binance symbol, at the *other*
///   exchange's prices, §10 item 13);
/// - confidence `min(0.95, spread% / 2)`, `position_size_usdt = min(max_position_size,
///   max_position_size · confidence)` in metadata (seed);
/// - take-profit at the other venue's price (full convergence), stop-loss the same distance on
///   the other side of `b`'s price;
/// - metadata: `spread_percent`, `buy_exchange`, `sell_exchange`, `buy_price`, `sell_price`,
///   `potential_profit`, `arbitrage_type`, `position_size_usdt`, `target_exchange`,
///   `reference_exchange`, `reference_price` (as published), `reference_quote`, `usdt_usd_rate`,
///   `rate_limit_key`, `timestamp`.
///
/// Rate limit per symbol + venue pair, as the seed's key `"{symbol}_{hi venue}_{lo venue}"`:
/// `min_signal_interval` seconds of event time. In addition a signal opposite to the last one
/// of the same Binance market within `min_signal_interval` is suppressed, so the market never
/// gets a buy and a sell in quick succession from two different pairs.
///
/// USD versus USDT: a reference symbol quoted in USD (e.g. Coinbase `BTC-USD`) is compared with
/// the Binance USDT pair. Its price is converted with the configured `usdt_usd_rate` (USD per
/// USDT; default 1.0, i.e. at par): `price_usdt = price_usd / usdt_usd_rate`. USDT usually
/// trades within a few basis points of USD but can deviate by tenths of a percent, which is the
/// order of `spread_threshold_percent`; set the rate (or raise the threshold) when that matters.
/// Every signal says which quote the reference had (`reference_quote`).
///
/// Bounded state: at most `max_symbols` symbols (when full, the least recently updated eighth is
/// evicted, ties broken by symbol), at most 16 venues per symbol (later venues ignored), and
/// rate-limit entries only for pairs that signalled within `min_signal_interval`.
///
/// Seed configuration keys the seed's code never read are accepted for compatibility and have
/// no effect: `base_confidence`, `high_spread_threshold`, `high_spread_confidence`.
public struct CrossExchangeSpread: TradeStrategy, TickerStrategy, Sendable {
    public static let id = "cross_exchange_spread"
    /// Reference prices arrive under their own symbol names (BTCUSD), so state is market-wide.
    public static let supportsSymbolOverrides = false
    /// `STRATEGY_ENABLED_CROSS_EXCHANGE_SPREAD=true` (inventory §7.1).
    public static let enabledByDefault = true
    public static let spotVenue = "binance"
    public static let futuresVenue = "binance_futures"
    static let maxVenues = 16
    /// Evaluation order of the Binance venues (spot first).
    static let binanceVenues = [spotVenue, futuresVenue]

    public static let schema: [ParameterSpec] = [
        ParameterSpec("spread_threshold_percent", .double, default: .double(0.5), min: 0.1, max: 5.0,
                      "Minimum spread between two venues, in percent (SPREAD_THRESHOLD_PERCENT)."),
        ParameterSpec("min_signal_interval", .int, default: .int(300), min: 60, max: 3600,
                      "Rate limit per symbol + venue pair, in seconds of event time (SPREAD_MIN_SIGNAL_INTERVAL)."),
        ParameterSpec("max_position_size", .int, default: .int(500), min: 100, max: 10_000,
                      "Position size in USDT at confidence 1; metadata position_size_usdt (SPREAD_MAX_POSITION_SIZE)."),
        ParameterSpec("exchanges", .string, default: .string("binance,binance_futures,coinbase"),
                      "Comma-separated venues that count; binance = spot, binance_futures = USDⓈ-M (SPREAD_EXCHANGES)."),
        ParameterSpec("persistent_spread_periods", .int, default: .int(1), min: 1, max: 20,
                      "Consecutive evaluations of a symbol with the same pair above the threshold before a signal."),
        ParameterSpec("max_price_age_seconds", .int, default: .int(60), min: 1, max: 3600,
                      "A venue's price counts while it is at most this many seconds from the update's event time."),
        ParameterSpec("usdt_usd_rate", .double, default: .double(1.0), min: 0.9, max: 1.1,
                      "USD per USDT; USD-quoted reference prices are divided by it before comparison."),
        ParameterSpec("max_symbols", .int, default: .int(4096), min: 1, max: 100_000,
                      "Most symbols tracked at once; when full, the least recently updated eighth is evicted."),
        ParameterSpec("base_confidence", .double, default: .double(0.75), min: 0.5, max: 1.0,
                      "Seed config key, never read by the seed; accepted for compatibility, no effect."),
        ParameterSpec("high_spread_threshold", .double, default: .double(1.0), min: 0.1, max: 10.0,
                      "Seed config key, never read by the seed; accepted for compatibility, no effect."),
        ParameterSpec("high_spread_confidence", .double, default: .double(0.85), min: 0.5, max: 1.0,
                      "Seed config key, never read by the seed; accepted for compatibility, no effect."),
    ]

    public struct Parameters: Sendable, Equatable {
        public var spreadThresholdPercent: Double
        public var minSignalIntervalSeconds, maxPositionSize: Int
        public var exchanges: [String]
        public var persistentSpreadPeriods, maxPriceAgeSeconds: Int
        public var usdtUsdRate: Double
        public var maxSymbols: Int

        public init(_ values: ParameterValues = .init()) {
            let r = SchemaReader(schema: CrossExchangeSpread.schema, values: values)
            spreadThresholdPercent = r.double("spread_threshold_percent")
            minSignalIntervalSeconds = r.int("min_signal_interval"); maxPositionSize = r.int("max_position_size")
            exchanges = r.string("exchanges").split(separator: ",").map {
                String($0.filter { !$0.isWhitespace }).lowercased()
            }.filter { !$0.isEmpty }
            persistentSpreadPeriods = r.int("persistent_spread_periods")
            maxPriceAgeSeconds = r.int("max_price_age_seconds"); usdtUsdRate = r.double("usdt_usd_rate")
            maxSymbols = r.int("max_symbols")
        }
    }

    struct VenuePrice: Sendable {
        var venue: String
        /// In USDT terms (USD prices divided by `usdt_usd_rate`).
        var price: Double
        /// As published.
        var rawPrice: Double
        var quotedInUSD: Bool
        var timeMs: Int64
    }

    struct PairSignal: Sendable {
        var high: String
        var low: String
        var timeMs: Int64
    }

    struct SymbolState: Sendable {
        var venues: [VenuePrice] = []
        var pairSignals: [PairSignal] = []
        /// Last signal per Binance market: (venue name, action, time).
        var marketSignals: [(venue: String, action: SignalAction, timeMs: Int64)] = []
        var streak: (high: String, low: String, count: Int)? = nil
        var lastUpdateMs: Int64 = 0
    }

    public let parameters: Parameters
    private var states: [String: SymbolState] = [:]

    public init(parameters: ParameterValues = .init()) {
        self.parameters = Parameters(parameters)
    }

    public mutating func onTrade(_ trade: TradeEvent) -> Signal? {
        onBinancePrice(key: trade.key, price: trade.price, eventTimeMs: trade.eventTimeMs)
    }

    public mutating func onTicker(_ ticker: TickerEvent) -> Signal? {
        onBinancePrice(key: ticker.key, price: ticker.lastPrice, eventTimeMs: ticker.eventTimeMs)
    }

    /// A Binance price (trade, ticker last price, bookTicker mid, ...).
    public mutating func onBinancePrice(key: SymbolKey, price: Double, eventTimeMs: Int64) -> Signal? {
        let venue = Self.venueName(key.venue)
        return update(symbol: key.symbol, VenuePrice(venue: venue, price: price, rawPrice: price, quotedInUSD: false,
                                                     timeMs: eventTimeMs))
    }

    /// A price from another venue.
    public mutating func onReferencePrice(_ e: ReferencePriceEvent) -> Signal? {
        guard e.venue != Self.spotVenue, e.venue != Self.futuresVenue else { return nil }
        let converted = e.quotedInUSD ? e.price / parameters.usdtUsdRate : e.price
        return update(symbol: e.binanceSymbol, VenuePrice(venue: e.venue, price: converted, rawPrice: e.price,
                                                          quotedInUSD: e.quotedInUSD, timeMs: e.eventTimeMs))
    }

    /// Drops the Binance market's price; the symbol's state goes when no venue is left.
    public mutating func evict(_ key: SymbolKey) {
        let venue = Self.venueName(key.venue)
        guard var s = states[key.symbol] else { return }
        s.venues.removeAll { $0.venue == venue }
        s.marketSignals.removeAll { $0.venue == venue }
        if s.venues.isEmpty { states.removeValue(forKey: key.symbol) } else { states[key.symbol] = s }
    }

    public var trackedSymbols: Int { states.count }
    public func venueCount(_ symbol: String) -> Int { states[symbol]?.venues.count ?? 0 }
    public func rateLimitEntries(_ symbol: String) -> Int { states[symbol]?.pairSignals.count ?? 0 }

    public static func venueName(_ v: Venue) -> String { v == .spot ? spotVenue : futuresVenue }

    private mutating func update(symbol: String, _ vp: VenuePrice) -> Signal? {
        guard vp.price.isFinite, vp.price > 0, !symbol.isEmpty, parameters.exchanges.contains(vp.venue) else {
            return nil
        }
        if states[symbol] == nil {
            evictLeastRecentlyUsed(&states, maxCount: parameters.maxSymbols, lastUsed: { $0.lastUpdateMs }, keyLess: { $0 < $1 })
            states[symbol] = SymbolState()
        }
        return states[symbol]!.update(symbol: symbol, vp, parameters)
    }
}

extension CrossExchangeSpread.SymbolState {
    fileprivate mutating func update(symbol: String, _ vp: CrossExchangeSpread.VenuePrice,
                                     _ p: CrossExchangeSpread.Parameters) -> Signal? {
        let now = vp.timeMs
        lastUpdateMs = max(lastUpdateMs, now)
        if let i = venues.firstIndex(where: { $0.venue == vp.venue }) {
            // An older price of the same venue does not overwrite a newer one.
            if vp.timeMs >= venues[i].timeMs { venues[i] = vp }
        } else if venues.count < CrossExchangeSpread.maxVenues {
            venues.append(vp)
        } else {
            return nil
        }

        let maxAge = Int64(p.maxPriceAgeSeconds) * 1000
        func fresh(_ v: CrossExchangeSpread.VenuePrice) -> Bool { timeDelta(now, v.timeMs).magnitude <= UInt64(maxAge) }

        // The widest (Binance venue, other venue) pair.
        var best: (b: Int, o: Int, spread: Double, bIsLow: Bool)? = nil
        for binance in CrossExchangeSpread.binanceVenues {
            guard let bi = venues.firstIndex(where: { $0.venue == binance }), fresh(venues[bi]) else { continue }
            for oi in venues.indices where oi != bi && fresh(venues[oi]) {
                let pb = venues[bi].price, po = venues[oi].price
                let hi = max(pb, po), lo = min(pb, po)
                let spread = (hi - lo) / lo * 100
                let bIsLow = pb < po
                if let c = best {
                    if spread > c.spread || (spread == c.spread && bIsLow && !c.bIsLow) {
                        best = (bi, oi, spread, bIsLow)
                    }
                } else {
                    best = (bi, oi, spread, bIsLow)
                }
            }
        }
        guard let c = best, c.spread >= p.spreadThresholdPercent, venues[c.b].price != venues[c.o].price else {
            streak = nil
            return nil
        }
        let b = venues[c.b], o = venues[c.o]
        let high = c.bIsLow ? o.venue : b.venue
        let low = c.bIsLow ? b.venue : o.venue
        if let s = streak, s.high == high, s.low == low {
            streak = (high, low, s.count + 1)
        } else {
            streak = (high, low, 1)
        }
        guard let s = streak, s.count >= p.persistentSpreadPeriods else { return nil }

        let interval = Int64(p.minSignalIntervalSeconds) * 1000
        pairSignals.removeAll { timeDelta(now, $0.timeMs) >= interval }
        marketSignals.removeAll { timeDelta(now, $0.timeMs) >= interval }
        if pairSignals.contains(where: { $0.high == high && $0.low == low }) { return nil }
        let action: SignalAction = c.bIsLow ? .buy : .sell
        if marketSignals.contains(where: { $0.venue == b.venue && $0.action != action }) { return nil }
        pairSignals.append(.init(high: high, low: low, timeMs: now))
        marketSignals.removeAll { $0.venue == b.venue }
        marketSignals.append((b.venue, action, now))

        let confidence = min(0.95, c.spread / 2)
        let maxPosition = Double(p.maxPositionSize)
        let position = min(maxPosition, maxPosition * confidence)
        let price = b.rawPrice
        let takeProfit = o.price
        let stopLoss = price - (o.price - price)
        let key = SymbolKey(venue: b.venue == CrossExchangeSpread.spotVenue ? .spot : .usdm, symbol: symbol)
        let rateKey = "\(symbol)_\(high)_\(low)"
        let verb = action == .buy ? "buy" : "sell"
        return Signal(
            strategyId: CrossExchangeSpread.id, key: key, action: action, confidence: confidence,
            price: price, currentPrice: price, stopLoss: stopLoss, takeProfit: takeProfit, eventTimeMs: now,
            reasoning: "Arbitrage \(verb) on \(b.venue): \(DecimalFormat.fixed(c.spread, 2))% spread versus \(o.venue)",
            indicators: [("spread_percent", c.spread), ("binance_price", price), ("reference_price", o.price)],
            metadata: [
                ("spread_percent", .double(c.spread)),
                ("buy_exchange", .string(low)), ("sell_exchange", .string(high)),
                ("buy_price", .double(c.bIsLow ? b.price : o.price)),
                ("sell_price", .double(c.bIsLow ? o.price : b.price)),
                ("potential_profit", .double(c.spread)), ("arbitrage_type", .string("cross_exchange")),
                ("position_size_usdt", .double(position)), ("target_exchange", .string(b.venue)),
                ("reference_exchange", .string(o.venue)), ("reference_price", .double(o.rawPrice)),
                ("reference_quote", .string(o.quotedInUSD ? "USD" : "USDT")),
                ("usdt_usd_rate", .double(o.quotedInUSD ? p.usdtUsdRate : 1.0)),
                ("rate_limit_key", .string(rateKey)), ("timestamp", .string(formatISO8601Millis(now))),
            ])
    }
}
