import Strategies

/// What socket calls read: the HTTP API's snapshots and counters, plus the socket's own.
public struct SocketContext: Sendable {
    public var api: HTTPAPIContext
    public var socketStats: SocketStats
    /// Venues this sidecar consumes, the default first.
    public var venues: [Venue]
    public var maxFrameBytes: Int

    public init(api: HTTPAPIContext, socketStats: SocketStats, venues: [Venue], maxFrameBytes: Int) {
        self.api = api
        self.socketStats = socketStats
        self.venues = venues
        self.maxFrameBytes = maxFrameBytes
    }
}

/// The stateless calls: each request maps to one response, computed from published snapshots.
/// Subscribe and Unsubscribe live in the connection (they own per-connection state).
enum SocketCalls {
    static let capabilities = ["signals", "depth", "subscribe", "pressure_history", "market_summary", "stats", "health", "config"]

    static func hello(_ hello: SocketProtocol.Hello, _ c: SocketContext) -> SocketResponse {
        guard hello.protocolVersion == SocketProtocol.version else {
            return .error(.unsupportedVersion, "protocol version \(hello.protocolVersion) is not supported; this server speaks \(SocketProtocol.version)",
                          details: ["supported": "\(SocketProtocol.version)", "requested": "\(hello.protocolVersion)"])
        }
        return .hello(.init(protocolVersion: SocketProtocol.version, serverVersion: c.api.serviceVersion,
                            capabilities: capabilities, strategies: c.api.strategies,
                            venues: c.venues.map(\.description), maxFrameBytes: UInt32(clamping: c.maxFrameBytes),
                            lastSignalSeq: c.api.signalLog.lastSequence))
    }

    static func getSignals(_ request: SocketProtocol.GetSignals, _ c: SocketContext) -> SocketResponse {
        let log = c.api.signalLog
        let limit = request.max == 0 ? SocketProtocol.maxSignalsPerPage : min(Int(request.max), SocketProtocol.maxSignalsPerPage)
        let last = log.lastSequence
        // A cursor from the future belongs to an earlier process (sequences restart at 1):
        // restart it at the newest signal and say that signals were lost.
        guard request.afterSeq <= last else {
            return .signals(.init(signals: [], nextSeq: last, truncated: true, oldestSeq: log.oldestHeldSequence(last: last)))
        }
        let page = log.read(after: request.afterSeq, limit: limit, symbols: symbolSet(request.symbols),
                            strategies: Set(request.strategies))
        let oldest = log.oldestHeldSequence(last: max(last, page.nextSequence))
        return .signals(.init(signals: page.signals.map(SocketMapping.signal), nextSeq: page.nextSequence,
                              truncated: page.truncated, oldestSeq: oldest))
    }

    static func getDepthMetrics(_ request: SocketProtocol.GetDepthMetrics, _ c: SocketContext) -> SocketResponse {
        let key: SymbolKey
        switch symbolKey(request.symbol, request.venue, c) {
        case .success(let k): key = k
        case .failure(let error): return .error(error)
        }
        guard let metrics = c.api.board.cell(key, nowMs: WallClock.nowMs())?
            .read({ SocketMapping.depth($0, includeLevels: request.includeLevels) }) else {
            return notFound(key)
        }
        return .depthMetrics(metrics)
    }

    static func listDepthMetrics(_ request: SocketProtocol.ListDepthMetrics, _ c: SocketContext) -> SocketResponse {
        let venue: Venue
        switch parseVenue(request.venue, c) {
        case .success(let v): venue = v
        case .failure(let error): return .error(error)
        }
        for (name, value) in [("min_pressure", request.minPressure), ("max_pressure", request.maxPressure)] {
            if let value, !value.isFinite {
                return .error(.invalidArgument, "\(name) must be a finite number", details: ["field": name])
            }
        }
        let query: DepthQuery
        do throws(DepthQueryError) {
            query = try DepthQuery(symbols: request.symbols.isEmpty ? nil : request.symbols,
                                   minPressure: request.minPressure, maxPressure: request.maxPressure,
                                   trend: request.trend.isEmpty ? nil : request.trend,
                                   limit: request.limit == 0 ? DepthQuery.defaultLimit : Int(request.limit),
                                   offset: Int(request.offset), sortBy: request.sortBy.isEmpty ? nil : request.sortBy,
                                   sortOrder: request.sortOrder.isEmpty ? nil : request.sortOrder)
        } catch {
            return .error(.invalidArgument, error.description, details: ["field": error.field])
        }
        // The same rows, filters, sorting and paging as HTTP /all.
        var full: [SymbolKey: SocketProtocol.DepthMetrics] = [:]
        let rows = c.api.board.liveCells(nowMs: WallClock.nowMs()).filter { $0.key.venue == venue }
            .compactMap { cell in
                cell.read { snapshot -> (DepthRow, SocketProtocol.DepthMetrics) in
                    let trend = SocketMapping.trend(snapshot)
                    return (DepthRow(symbol: snapshot.key.symbol, metrics: snapshot.metrics, trend: trend),
                            SocketMapping.depth(key: snapshot.key, metrics: snapshot.metrics, trend: trend, bids: nil, asks: nil,
                                                book: snapshot.book))
                }
            }
        for (row, metrics) in rows { full[SymbolKey(venue: venue, symbol: row.symbol)] = metrics }
        let page = query.apply(rows.map(\.0))
        var v = SocketProtocol.DepthMetricsPage()
        v.metrics = page.rows.compactMap { full[SymbolKey(venue: venue, symbol: $0.symbol)] }
        v.total = UInt32(clamping: page.total)
        v.limit = UInt32(clamping: page.limit)
        v.offset = UInt32(clamping: page.offset)
        v.page = UInt32(clamping: page.page)
        v.pages = UInt32(clamping: page.pages)
        v.hasNext = page.hasNext
        v.hasPrevious = page.hasPrevious
        return .depthMetricsPage(v)
    }

    static func getPressureHistory(_ request: SocketProtocol.GetPressureHistory, _ c: SocketContext) -> SocketResponse {
        let text = request.timeframe.isEmpty ? "5m" : request.timeframe
        guard let timeframe = PressureTimeframe(rawValue: text) else {
            return .error(.invalidArgument, "Invalid timeframe. Must be '1m', '5m', or '15m'",
                          details: ["field": "timeframe", "value": request.timeframe])
        }
        let key: SymbolKey
        switch symbolKey(request.symbol, request.venue, c) {
        case .success(let k): key = k
        case .failure(let error): return .error(error)
        }
        guard let history = c.api.board.cell(key, nowMs: WallClock.nowMs())?
            .read({ SocketMapping.pressure($0, timeframe: timeframe) }) else {
            return notFound(key)
        }
        return .pressureHistory(history)
    }

    static func getMarketSummary(venue text: String, _ c: SocketContext) -> SocketResponse {
        let venue: Venue
        switch parseVenue(text, c) {
        case .success(let v): venue = v
        case .failure(let error): return .error(error)
        }
        let now = WallClock.nowMs()
        let entries = c.api.board.liveCells(nowMs: now).filter { $0.key.venue == venue }
            .compactMap { cell in cell.read { (symbol: $0.key.symbol, metrics: $0.metrics) } }
        return .marketSummary(SocketMapping.summary(MarketSummary.compute(entries), nowMs: now))
    }

    static func getStats(_ c: SocketContext) -> SocketResponse {
        let s = c.api.stats
        func counters(_ dict: [String: StatCounter]) -> [SocketProtocol.Counter] {
            dict.sorted { $0.key < $1.key }.map { .init(name: $0.key, value: UInt64(clamping: $0.value.value)) }
        }
        var v = SocketProtocol.Stats()
        v.messagesReceived = UInt64(clamping: s.received.value)
        v.messagesProcessed = UInt64(clamping: s.processed.value)
        v.messagesRejected = UInt64(clamping: s.rejected.value)
        v.rejectedByReason = RejectReason.allCases.map { .init(name: $0.description, value: UInt64(clamping: s.rejected($0).value)) }
        v.messagesByKind = StreamKind.allCases.map { .init(name: $0.description, value: UInt64(clamping: s.kind($0).value)) }
        v.signalsGenerated = counters(s.signalsGenerated)
        v.signalsPublished = counters(s.signalsPublished)
        v.slowConsumerDropped = UInt64(clamping: c.api.slowConsumerDrops())
        v.symbolsTracked = UInt64(clamping: s.symbolsTracked.value)
        v.natsConnected = c.api.natsConnected()
        v.lastSignalSeq = c.api.signalLog.lastSequence
        v.socketClients = UInt64(clamping: c.socketStats.clients.value)
        v.socketEventsDropped = UInt64(clamping: c.socketStats.eventsDropped.value)
        v.socketGaps = UInt64(clamping: c.socketStats.gaps.value)
        v.lastEventTimeMs = Int64(s.lastEventTimeMs.value)
        v.uptimeSeconds = Double(WallClock.nowMs() - c.api.startedAtMs) / 1000
        return .stats(v)
    }

    static func health(_ c: SocketContext) -> SocketResponse {
        let subscribed = c.api.ingestReady()
        let connected = c.api.natsConnected()
        return .health(.init(live: c.api.evaluateLiveness().ok, ready: c.api.evaluateReadiness().ready, natsConnected: connected,
                             natsSubscribed: subscribed, version: c.api.serviceVersion))
    }

    // MARK: Arguments

    /// Symbols as HTTP takes them: trimmed and upper-cased.
    static func symbolSet(_ symbols: [String]) -> Set<String> {
        Set(symbols.map { $0.trimmingWhitespace().uppercased() }.filter { !$0.isEmpty })
    }

    static func parseVenue(_ text: String, _ c: SocketContext) -> Result<Venue, SocketProtocol.ErrorInfo> {
        guard !text.isEmpty else { return .success(c.api.defaultVenue) }
        guard let venue = Venue(name: text) else {
            return .failure(.init(code: .invalidArgument, message: "Unknown venue '\(text)': use spot or usdm",
                                  details: ["field": "venue", "value": text]))
        }
        return .success(venue)
    }

    static func symbolKey(_ symbol: String, _ venue: String, _ c: SocketContext) -> Result<SymbolKey, SocketProtocol.ErrorInfo> {
        let name = symbol.trimmingWhitespace().uppercased()
        guard !name.isEmpty else {
            return .failure(.init(code: .invalidArgument, message: "symbol is required", details: ["field": "symbol"]))
        }
        return parseVenue(venue, c).map { SymbolKey(venue: $0, symbol: name) }
    }

    static func notFound(_ key: SymbolKey) -> SocketResponse {
        .error(.notFound, "No metrics available for \(key.symbol): not tracked or stale",
               details: ["symbol": key.symbol, "venue": key.venue.description])
    }
}

extension SocketProtocol.ErrorInfo: Error {}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
