/// `onchain_metrics`: fundamental signals from on-chain metrics (inventory §2.8).
///
/// The seed generated **random** metrics every hour and read prices through a lookup that never
/// matched. Here metrics arrive as `OnchainMetricsEvent`s on `ONCHAIN_METRICS_SUBJECT` (JSON
/// schema in `ExternalFeeds.swift`); with no metrics the strategy is idle. Disabled by default
/// (`STRATEGY_ENABLED_ONCHAIN_METRICS=false`).
///
/// The seed's rules, kept:
/// - History per asset (BTC and ETH only; other assets are ignored), at most 168 entries, one
///   per `fetch_interval` (the seed's hourly fetch): a snapshot in the same interval bucket
///   (`ts / fetch_interval`) as the newest entry replaces it, an older one is ignored.
/// - At least `accumulation_periods` (24) entries; `day_ago = history[-accumulation_periods]`
///   (23 intervals back, as in the seed).
/// - Growth `((new - old) / old) · 100`, 0 when `old == 0`: `active_addresses_24h`,
///   `transaction_volume_24h`, BTC `hash_rate_24h`, ETH `defi_tvl_24h`; `net_exchange_flow =
///   inflow - outflow` of the newest entry. Absent metrics count as 0 (seed `.get(k, 0)`).
/// - If `aa > network_growth_threshold` and `tv > volume_threshold`: BTC with `hash_rate > 0`
///   BUY at `min(0.8, (aa + tv) / 30)`; ETH with `defi_tvl > defi_tvl_growth_threshold` (5) BUY
///   at `min(0.75, (aa + tv) / 35)`; otherwise nothing (no fall-through).
///   Else if `net_flow > exchange_inflow_threshold` (1000): SELL at `min(0.7, net_flow / 5000)`.
/// - Rate limit per asset (seed key `"{asset}_onchain"`): `min_signal_interval` seconds of event
///   time (a signal exactly that long after the last one is allowed).
///
/// Differences: event time only (the metrics' `ts`, or a price event's time); the signal is for
/// `<asset><quote_asset>` on `venue` (seed: whichever BTC*/ETH* symbol's message happened to be
/// processed), priced at the latest trade/ticker price of that market no further than
/// `max_price_age_seconds` from the evaluation time. When metrics arrive before any usable
/// price, the evaluation waits for the first price of that market and runs then, once. Own
/// stop-loss / take-profit: `stop_loss_percent` / `take_profit_percent` (the seed's
/// `RISK_STOP_LOSS_PERCENT` 2 / `RISK_TAKE_PROFIT_PERCENT` 4).
///
/// Seed configuration keys with no counterpart in the seed's code are accepted for
/// compatibility and have no effect: `whale_threshold_btc`, `whale_threshold_eth`,
/// `exchange_flow_threshold_percent`, `distribution_periods`, `base_confidence`,
/// `strong_signal_confidence`. `accumulation_periods` is the look-back (the seed hard-coded the
/// same 24).
public struct OnchainMetrics: TradeStrategy, TickerStrategy, Sendable {
    public static let id = "onchain_metrics"
    public static let supportsSymbolOverrides = false
    /// `STRATEGY_ENABLED_ONCHAIN_METRICS=false` (inventory §7.1).
    public static let enabledByDefault = false
    public static let assets = ["BTC", "ETH"]
    static let maxHistory = 168

    public static let schema: [ParameterSpec] = [
        ParameterSpec("network_growth_threshold", .double, default: .double(10.0), min: 0, max: 1000,
                      "Active-address growth, in percent, above which fundamentals are strong (ONCHAIN_NETWORK_GROWTH_THRESHOLD)."),
        ParameterSpec("volume_threshold", .double, default: .double(15.0), min: 0, max: 1000,
                      "Transaction-volume growth, in percent, above which fundamentals are strong (ONCHAIN_VOLUME_THRESHOLD)."),
        ParameterSpec("min_signal_interval", .int, default: .int(86_400), min: 1800, max: 86_400,
                      "Rate limit per asset, in seconds of event time (ONCHAIN_MIN_SIGNAL_INTERVAL)."),
        ParameterSpec("fetch_interval", .int, default: .int(3600), min: 60, max: 86_400,
                      "History bucket in seconds: one entry per bucket, the latest snapshot wins (seed: hourly fetch)."),
        ParameterSpec("accumulation_periods", .int, default: .int(24), min: 2, max: 168,
                      "Entries needed, and the look-back: growth compares the newest entry with history[-N]."),
        ParameterSpec("defi_tvl_growth_threshold", .double, default: .double(5.0), min: 0, max: 1000,
                      "ETH: DeFi TVL growth, in percent, that confirms a BUY (seed: hard-coded 5)."),
        ParameterSpec("exchange_inflow_threshold", .double, default: .double(1000), min: 0, max: 1e15,
                      "Net exchange inflow (native units) above which a SELL is emitted (seed: hard-coded 1000)."),
        ParameterSpec("quote_asset", .string, default: .string("USDT"),
                      "The signal's symbol is the asset followed by this quote, e.g. BTCUSDT."),
        ParameterSpec("venue", .string, default: .string("spot"), allowed: ["spot", "usdm"],
                      "Binance market of the signal and of its price."),
        ParameterSpec("max_price_age_seconds", .int, default: .int(300), min: 1, max: 86_400,
                      "The signal price must be at most this many seconds from the evaluation time."),
        ParameterSpec("stop_loss_percent", .double, default: .double(2.0), min: 0.01, max: 50,
                      "Stop-loss distance from the price, in percent (seed RISK_STOP_LOSS_PERCENT)."),
        ParameterSpec("take_profit_percent", .double, default: .double(4.0), min: 0.01, max: 100,
                      "Take-profit distance from the price, in percent (seed RISK_TAKE_PROFIT_PERCENT)."),
        ParameterSpec("whale_threshold_btc", .double, default: .double(100), min: 10, max: 1000,
                      "Seed config key with no counterpart in the seed's code; accepted for compatibility, no effect."),
        ParameterSpec("whale_threshold_eth", .double, default: .double(1000), min: 100, max: 10_000,
                      "Seed config key with no counterpart in the seed's code; accepted for compatibility, no effect."),
        ParameterSpec("exchange_flow_threshold_percent", .double, default: .double(10.0), min: 5, max: 50,
                      "Seed config key with no counterpart in the seed's code; accepted for compatibility, no effect."),
        ParameterSpec("distribution_periods", .int, default: .int(12), min: 1, max: 168,
                      "Seed config key with no counterpart in the seed's code; accepted for compatibility, no effect."),
        ParameterSpec("base_confidence", .double, default: .double(0.77), min: 0.5, max: 1.0,
                      "Seed config key with no counterpart in the seed's code; accepted for compatibility, no effect."),
        ParameterSpec("strong_signal_confidence", .double, default: .double(0.85), min: 0.5, max: 1.0,
                      "Seed config key with no counterpart in the seed's code; accepted for compatibility, no effect."),
    ]

    public struct Parameters: Sendable, Equatable {
        public var networkGrowthThreshold, volumeThreshold: Double
        public var minSignalIntervalSeconds, fetchIntervalSeconds, accumulationPeriods: Int
        public var defiTVLGrowthThreshold, exchangeInflowThreshold: Double
        public var quoteAsset: String
        public var venue: Venue
        public var maxPriceAgeSeconds: Int
        public var stopLossPercent, takeProfitPercent: Double
        /// `<asset><quote_asset>` per asset, e.g. `BTCUSDT`, `ETHUSDT`.
        public var symbols: [String]

        public init(_ values: ParameterValues = .init()) {
            let r = SchemaReader(schema: OnchainMetrics.schema, values: values)
            networkGrowthThreshold = r.double("network_growth_threshold"); volumeThreshold = r.double("volume_threshold")
            minSignalIntervalSeconds = r.int("min_signal_interval"); fetchIntervalSeconds = r.int("fetch_interval")
            accumulationPeriods = r.int("accumulation_periods")
            defiTVLGrowthThreshold = r.double("defi_tvl_growth_threshold")
            exchangeInflowThreshold = r.double("exchange_inflow_threshold")
            let quote = r.string("quote_asset").uppercased()
            quoteAsset = quote.isEmpty ? "USDT" : quote
            venue = Venue(name: r.string("venue")) ?? .spot
            maxPriceAgeSeconds = r.int("max_price_age_seconds")
            stopLossPercent = r.double("stop_loss_percent"); takeProfitPercent = r.double("take_profit_percent")
            let resolvedQuote = quoteAsset
            symbols = OnchainMetrics.assets.map { $0 + resolvedQuote }
        }
    }

    /// Growth values as the seed's `_calculate_growth_metrics` returns them.
    public struct Growth: Sendable, Equatable {
        public var activeAddresses24h: Double
        public var transactionVolume24h: Double
        /// BTC only.
        public var hashRate24h: Double?
        /// ETH only.
        public var defiTVL24h: Double?
        public var netExchangeFlow: Double
    }

    struct AssetState: Sendable {
        var history: [OnchainMetricsEvent] = []
        var lastSignalMs: Int64? = nil
        var price: (value: Double, timeMs: Int64)? = nil
        /// Metrics arrived while no usable price existed.
        var pending = false
    }

    public let parameters: Parameters
    private var states: [AssetState] = [AssetState(), AssetState()]

    public init(parameters: ParameterValues = .init()) {
        self.parameters = Parameters(parameters)
    }

    /// One snapshot from `ONCHAIN_METRICS_SUBJECT`.
    public mutating func onMetrics(_ e: OnchainMetricsEvent) -> Signal? {
        guard let a = Self.assets.firstIndex(of: e.asset) else { return nil }
        let bucketMs = Int64(parameters.fetchIntervalSeconds) * 1000
        if let last = states[a].history.last {
            let lastBucket = floorDivide(last.eventTimeMs, bucketMs), bucket = floorDivide(e.eventTimeMs, bucketMs)
            if bucket < lastBucket { return nil }
            if bucket == lastBucket {
                guard e.eventTimeMs >= last.eventTimeMs else { return nil }
                states[a].history[states[a].history.count - 1] = e
            } else {
                states[a].history.append(e)
            }
        } else {
            states[a].history.append(e)
        }
        if states[a].history.count > Self.maxHistory {
            states[a].history.removeFirst(states[a].history.count - Self.maxHistory)
        }
        return evaluate(asset: a, now: e.eventTimeMs)
    }

    public mutating func onTrade(_ trade: TradeEvent) -> Signal? {
        onPrice(key: trade.key, price: trade.price, eventTimeMs: trade.eventTimeMs)
    }

    public mutating func onTicker(_ ticker: TickerEvent) -> Signal? {
        onPrice(key: ticker.key, price: ticker.lastPrice, eventTimeMs: ticker.eventTimeMs)
    }

    /// A price of `<asset><quote_asset>` on `venue`; anything else is ignored.
    public mutating func onPrice(key: SymbolKey, price: Double, eventTimeMs now: Int64) -> Signal? {
        guard key.venue == parameters.venue, price.isFinite, price > 0, let a = assetIndex(symbol: key.symbol) else {
            return nil
        }
        if let old = states[a].price, now < old.timeMs { return nil }
        states[a].price = (price, now)
        guard states[a].pending else { return nil }
        states[a].pending = false
        return evaluate(asset: a, now: now)
    }

    public mutating func evict(_ key: SymbolKey) {
        guard key.venue == parameters.venue, let a = assetIndex(symbol: key.symbol) else { return }
        states[a].price = nil
    }

    public func historyCount(_ asset: String) -> Int {
        Self.assets.firstIndex(of: asset).map { states[$0].history.count } ?? 0
    }

    /// The growth values for `asset` now, or nil with too little history.
    public func growth(_ asset: String) -> Growth? {
        guard let a = Self.assets.firstIndex(of: asset) else { return nil }
        return growth(a)
    }

    func assetIndex(symbol: String) -> Int? {
        parameters.symbols.firstIndex(of: symbol)
    }

    func growth(_ a: Int) -> Growth? {
        let history = states[a].history
        let n = parameters.accumulationPeriods
        guard history.count >= n else { return nil }
        let current = history[history.count - 1], dayAgo = history[history.count - n]
        let isBTC = a == 0
        return Growth(
            activeAddresses24h: Self.percentageChange(dayAgo.activeAddresses, current.activeAddresses),
            transactionVolume24h: Self.percentageChange(dayAgo.transactionVolume, current.transactionVolume),
            hashRate24h: isBTC ? Self.percentageChange(dayAgo.hashRate ?? 0, current.hashRate ?? 0) : nil,
            defiTVL24h: isBTC ? nil : Self.percentageChange(dayAgo.defiTVL ?? 0, current.defiTVL ?? 0),
            netExchangeFlow: (current.exchangeInflow ?? 0) - (current.exchangeOutflow ?? 0))
    }

    /// The seed's `_calculate_percentage_change`.
    static func percentageChange(_ old: Double, _ new: Double) -> Double {
        if old == 0 { return 0 }
        return ((new - old) / old) * 100
    }

    private mutating func evaluate(asset a: Int, now: Int64) -> Signal? {
        let p = parameters
        if let last = states[a].lastSignalMs, timeDelta(now, last) < Int64(p.minSignalIntervalSeconds) * 1000 { return nil }
        guard let g = growth(a) else { return nil }
        guard let price = states[a].price, timeDelta(now, price.timeMs).magnitude <= UInt64(p.maxPriceAgeSeconds) * 1000 else {
            states[a].pending = true
            return nil
        }
        let asset = Self.assets[a]
        let aa = g.activeAddresses24h, tv = g.transactionVolume24h, flow = g.netExchangeFlow
        let action: SignalAction
        let confidence: Double
        let reasoning: String
        var metadata: [(String, MetadataValue)] = [
            ("active_addresses_growth_24h", .double(aa)), ("transaction_volume_growth_24h", .double(tv)),
        ]
        if aa > p.networkGrowthThreshold && tv > p.volumeThreshold {
            if a == 0 {
                let hash = g.hashRate24h ?? 0
                guard hash > 0 else { return nil }
                action = .buy
                confidence = min(0.8, (aa + tv) / 30)
                reasoning = "Strong \(asset) network fundamentals: \(DecimalFormat.fixed(aa, 1))% address growth"
                metadata += [("hash_rate_growth_24h", .double(hash)), ("net_exchange_flow", .double(flow)),
                             ("signal_type", .string("network_growth"))]
            } else {
                let tvl = g.defiTVL24h ?? 0
                guard tvl > p.defiTVLGrowthThreshold else { return nil }
                action = .buy
                confidence = min(0.75, (aa + tv) / 35)
                reasoning = "Strong \(asset) ecosystem growth: \(DecimalFormat.fixed(tvl, 1))% DeFi TVL growth"
                metadata += [("defi_tvl_growth_24h", .double(tvl)), ("net_exchange_flow", .double(flow)),
                             ("signal_type", .string("ecosystem_growth"))]
            }
        } else if flow > 0 && abs(flow) > p.exchangeInflowThreshold {
            action = .sell
            confidence = min(0.7, abs(flow) / 5000)
            reasoning = "Large \(asset) exchange inflows indicate selling pressure"
            metadata += [("net_exchange_flow", .double(flow)), ("signal_type", .string("exchange_inflow_pressure"))]
        } else {
            return nil
        }
        states[a].lastSignalMs = now
        states[a].pending = false
        metadata += [("asset", .string(asset)), ("rate_limit_key", .string("\(asset)_onchain")),
                     ("metrics_time", .string(formatISO8601Millis(states[a].history[states[a].history.count - 1].eventTimeMs))),
                     ("timestamp", .string(formatISO8601Millis(now)))]
        let sl = p.stopLossPercent / 100, tp = p.takeProfitPercent / 100
        let px = price.value
        return Signal(
            strategyId: Self.id, key: SymbolKey(venue: p.venue, symbol: p.symbols[a]), action: action,
            confidence: confidence, price: px, currentPrice: px,
            stopLoss: action == .buy ? px * (1 - sl) : px * (1 + sl),
            takeProfit: action == .buy ? px * (1 + tp) : px * (1 - tp),
            eventTimeMs: now, timeframe: "1h", reasoning: reasoning,
            indicators: [("active_addresses_growth_24h", aa), ("transaction_volume_growth_24h", tv),
                         ("net_exchange_flow", flow)],
            metadata: metadata)
    }
}
