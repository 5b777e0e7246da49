import Strategies

/// Builds protocol values from the engine's published data, with the HTTP JSON's values:
/// the same rounding (`DepthMetrics.apiFields`, `PythonRounding`) and the NATS signal values.
///
/// `@_spi(Benchmarks)`: the protobuf suite in Benchmarks/ measures the server's own path
/// (engine value → protocol value → protobuf-c), not a stand-in; nothing else may use it.
@_spi(Benchmarks) public enum SocketMapping {
    @_spi(Benchmarks) public static func signal(_ s: Signal) -> SocketProtocol.Signal {
        let published = PublishedSignalValues(s)
        var v = SocketProtocol.Signal()
        v.seq = s.sequence
        v.id = published.id
        v.strategyId = s.strategyId
        v.symbol = s.key.symbol
        v.venue = s.key.venue.description
        switch s.action {
        case .buy: v.action = .buy
        case .sell: v.action = .sell
        case .hold: v.action = .hold
        case .close: v.action = .close
        }
        v.confidence = published.confidence
        v.strength = published.strength
        v.price = s.price
        v.currentPrice = s.currentPrice
        v.quantity = published.quantity
        v.stopLoss = published.stopLoss ?? 0
        v.takeProfit = published.takeProfit ?? 0
        v.stopLossPct = published.stopLossPct
        v.takeProfitPct = published.takeProfitPct
        v.eventTimeMs = s.eventTimeMs
        v.timeframe = s.timeframe
        v.reasoning = s.reasoning
        v.indicators = s.indicators.map { SocketProtocol.Indicator(name: $0.0, value: $0.1) }
        v.metadataJSON = published.metadataJSON
        return v
    }

    /// The fields of HTTP `/depth/{symbol}` (rounded as there) plus the `/all` trend.
    /// `BOOK_STALE_MS`, set once by the runtime before the socket starts.
    nonisolated(unsafe) static var bookStaleMs: Int64 = 5000

    static func depth(key: SymbolKey, metrics m: DepthMetrics, trend: TrendDirection,
                      bids: PriceLevels?, asks: PriceLevels?, book: BookInfo? = nil) -> SocketProtocol.DepthMetrics {
        let a = m.apiFields
        var v = SocketProtocol.DepthMetrics()
        if let book {
            let now = WallClock.nowMs()
            v.bookSource = book.source.description
            v.synced = book.synced
            v.lastUpdateId = book.lastUpdateId
            v.bookEventTimeMs = book.eventTimeMs
            v.ageMs = book.ageMs(nowMs: now)
            v.stale = book.isStale(nowMs: now, staleMs: bookStaleMs)
        }
        v.symbol = key.symbol
        v.venue = key.venue.description
        v.eventTimeMs = m.eventTimeMs
        v.imbalanceRatio = a.imbalanceRatio
        v.imbalancePercent = a.imbalancePercent
        v.bidVolume = a.bidVolume
        v.askVolume = a.askVolume
        v.buyPressure = a.buyPressure
        v.sellPressure = a.sellPressure
        v.netPressure = a.netPressure
        v.interpretation = m.interpretation
        v.totalLiquidity = a.totalLiquidity
        v.bidDepth5 = a.bidDepth5
        v.askDepth5 = a.askDepth5
        v.bidDepth10 = a.bidDepth10
        v.askDepth10 = a.askDepth10
        v.bestBid = m.bestBid
        v.bestAsk = m.bestAsk
        v.spreadAbs = a.spreadAbs
        v.spreadBps = a.spreadBps
        v.midPrice = m.midPrice
        v.vwapBid = a.vwapBid
        v.vwapAsk = a.vwapAsk
        v.vwapSpread = a.vwapSpread
        v.bidLevels = UInt32(clamping: m.bidLevels)
        v.askLevels = UInt32(clamping: m.askLevels)
        if let level = m.strongestBid, let volume = a.strongestBidVolume {
            v.hasStrongestBid = true
            v.strongestBidPrice = level.price
            v.strongestBidVolume = volume
        }
        if let level = m.strongestAsk, let volume = a.strongestAskVolume {
            v.hasStrongestAsk = true
            v.strongestAskPrice = level.price
            v.strongestAskVolume = volume
        }
        if let bids {
            v.bidPrices = bids.prices
            v.bidQuantities = bids.quantities
        }
        if let asks {
            v.askPrices = asks.prices
            v.askQuantities = asks.quantities
        }
        v.trend = trend.rawValue
        return v
    }

    /// Reads one cell's snapshot; the history is summarised under the cell's lock, never copied.
    @_spi(Benchmarks) public static func depth(_ snapshot: DepthSnapshot, includeLevels: Bool) -> SocketProtocol.DepthMetrics {
        depth(key: snapshot.key, metrics: snapshot.metrics, trend: trend(snapshot),
              bids: includeLevels ? snapshot.bids : nil, asks: includeLevels ? snapshot.asks : nil, book: snapshot.book)
    }

    /// The `/all` row trend: the 5-minute summary's, neutral without history.
    static func trend(_ snapshot: DepthSnapshot) -> TrendDirection {
        snapshot.history.summary(for: .fiveMinutes)?.trend ?? .neutral
    }

    /// As HTTP `/pressure/{symbol}`: summary values r2, the last 100 points, pressure r2, imbalance r4.
    static func pressure(_ snapshot: DepthSnapshot, timeframe: PressureTimeframe) -> SocketProtocol.PressureHistory {
        let points = snapshot.history.points(in: timeframe)
        let returned = points.suffix(DepthResponses.maxHistoryPoints)
        var v = SocketProtocol.PressureHistory()
        v.symbol = snapshot.key.symbol
        v.venue = snapshot.key.venue.description
        v.timeframe = timeframe.rawValue
        if let s = snapshot.history.summary(for: timeframe) {
            v.avgPressure = PythonRounding.round(s.avgPressure, 2)
            v.maxPressure = PythonRounding.round(s.maxPressure, 2)
            v.minPressure = PythonRounding.round(s.minPressure, 2)
            v.trend = s.trend.rawValue
            v.trendStrength = PythonRounding.round(s.trendStrength, 2)
        }
        v.totalDataPoints = UInt32(clamping: points.count)
        v.timeMs = returned.map(\.timeMs)
        v.pressure = returned.map { PythonRounding.round($0.netPressure, 2) }
        v.imbalance = returned.map { PythonRounding.round($0.imbalanceRatio, 4) }
        return v
    }

    static func summary(_ s: MarketSummary?, nowMs: Int64) -> SocketProtocol.MarketSummary {
        var v = SocketProtocol.MarketSummary()
        v.timeMs = nowMs
        guard let s else { return v }
        v.symbolsTracked = UInt32(clamping: s.symbolsTracked)
        v.bullishSymbols = UInt32(clamping: s.bullishSymbols)
        v.bearishSymbols = UInt32(clamping: s.bearishSymbols)
        v.neutralSymbols = UInt32(clamping: s.neutralSymbols)
        v.avgNetPressure = s.avgNetPressure
        v.avgImbalanceRatio = s.avgImbalanceRatio
        v.avgSpreadBps = s.avgSpreadBps
        v.totalLiquidity = s.totalLiquidity
        v.highestBuyPressure = s.highestBuyPressure
        v.highestSellPressure = s.highestSellPressure
        return v
    }
}

extension SignalLog {
    /// Sequence of the oldest signal still held, 0 when the log is empty.
    func oldestHeldSequence(last: UInt64) -> UInt64 {
        guard last > 0 else { return 0 }
        return last >= UInt64(capacity) ? last - UInt64(capacity) + 1 : 1
    }
}
