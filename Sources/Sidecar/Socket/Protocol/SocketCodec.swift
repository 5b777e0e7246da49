import CProtobufC
import CSidecarProto
import NIOCore

/// Converts between the Swift protocol values and protobuf bytes, through protobuf-c.
///
/// Encoding builds the C structs in a `ProtobufArena`, packs them and frees the arena in one
/// place (`withArena`). Decoding caps the length first (protobuf-c 1.4.1 allocates in proportion
/// to its input), unpacks, copies into Swift values and frees the unpacked message exactly once
/// (`defer`). No C value escapes these functions.
public enum SocketCodec {
    // MARK: Server side

    /// Decodes one `Request` message (the frame body, without its length prefix).
    public static func decodeRequest(_ bytes: UnsafeRawBufferPointer,
                                     maxBytes: Int = SocketProtocol.defaultMaxFrameBytes)
        throws(SocketProtocolError) -> (id: UInt64, request: SocketRequest) {
        guard bytes.count > 0, let base = bytes.baseAddress else { throw .emptyFrame }
        guard bytes.count <= maxBytes else { throw .frameTooLarge(length: bytes.count, maximum: maxBytes) }
        guard let message = realtime__v1__request__unpack(nil, bytes.count, base.assumingMemoryBound(to: UInt8.self)) else {
            throw .undecodable(length: bytes.count)
        }
        defer { realtime__v1__request__free_unpacked(message, nil) }
        return (message.pointee.id, readRequest(message.pointee))
    }

    /// Appends one `Response` message (no length prefix) to `out`.
    public static func encode(_ response: SocketResponse, id: UInt64, into out: inout [UInt8]) {
        withArena { arena in
            var message = makeResponse(response, id: id, arena)
            let size = realtime__v1__response__get_packed_size(&message)
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: size))
            out.withUnsafeMutableBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return }
                _ = realtime__v1__response__pack(&message, base + start)
            }
        }
    }

    /// Appends one frame (4-byte big-endian length, then the `Response`) to `buffer`.
    public static func encodeFrame(_ response: SocketResponse, id: UInt64, into buffer: inout ByteBuffer) {
        withArena { arena in
            var message = makeResponse(response, id: id, arena)
            let size = realtime__v1__response__get_packed_size(&message)
            buffer.writeInteger(UInt32(truncatingIfNeeded: size), endianness: .big)
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { target in
                guard let base = target.baseAddress, size > 0 else { return 0 }
                return realtime__v1__response__pack(&message, base.assumingMemoryBound(to: UInt8.self))
            }
        }
    }

    // MARK: Client side (tests, tools)

    /// Appends one `Request` message (no length prefix) to `out`.
    public static func encodeRequest(_ request: SocketRequest, id: UInt64, into out: inout [UInt8]) {
        withArena { arena in
            var message = makeRequest(request, id: id, arena)
            let size = realtime__v1__request__get_packed_size(&message)
            let start = out.count
            out.append(contentsOf: repeatElement(0, count: size))
            out.withUnsafeMutableBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return }
                _ = realtime__v1__request__pack(&message, base + start)
            }
        }
    }

    /// Decodes one `Response` message (the frame body).
    public static func decodeResponse(_ bytes: UnsafeRawBufferPointer,
                                      maxBytes: Int = SocketProtocol.defaultMaxFrameBytes)
        throws(SocketProtocolError) -> (id: UInt64, response: SocketResponse) {
        guard bytes.count > 0, let base = bytes.baseAddress else { throw .emptyFrame }
        guard bytes.count <= maxBytes else { throw .frameTooLarge(length: bytes.count, maximum: maxBytes) }
        guard let message = realtime__v1__response__unpack(nil, bytes.count, base.assumingMemoryBound(to: UInt8.self)) else {
            throw .undecodable(length: bytes.count)
        }
        defer { realtime__v1__response__free_unpacked(message, nil) }
        return (message.pointee.id, readResponse(message.pointee))
    }

    // MARK: - Arena

    /// The one place an outgoing message's C memory is freed.
    static func withArena<R>(_ body: (ProtobufArena) -> R) -> R {
        let arena = ProtobufArena()
        defer { arena.releaseAll() }
        return body(arena)
    }

    // MARK: - Requests

    static func makeRequest(_ request: SocketRequest, id: UInt64, _ a: ProtobufArena) -> Realtime__V1__Request {
        var m = Realtime__V1__Request()
        realtime__v1__request__init(&m)
        m.id = id
        switch request {
        case .hello(let v):
            m.call_case = REALTIME__V1__REQUEST__CALL_HELLO
            m.hello = a.message { (p: UnsafeMutablePointer<Realtime__V1__Hello>) in
                realtime__v1__hello__init(p)
                p.pointee.protocol_version = v.protocolVersion
                p.pointee.client_name = a.string(v.clientName)
            }
        case .getSignals(let v):
            m.call_case = REALTIME__V1__REQUEST__CALL_GET_SIGNALS
            m.get_signals = a.message { (p: UnsafeMutablePointer<Realtime__V1__GetSignals>) in
                realtime__v1__get_signals__init(p)
                p.pointee.after_seq = v.afterSeq
                p.pointee.max = v.max
                (p.pointee.n_symbols, p.pointee.symbols) = a.strings(v.symbols)
                (p.pointee.n_strategies, p.pointee.strategies) = a.strings(v.strategies)
            }
        case .subscribe(let v):
            m.call_case = REALTIME__V1__REQUEST__CALL_SUBSCRIBE
            m.subscribe = a.message { (p: UnsafeMutablePointer<Realtime__V1__Subscribe>) in
                realtime__v1__subscribe__init(p)
                p.pointee.stream = Realtime__V1__Stream(rawValue: numericCast(v.stream.rawValue))
                (p.pointee.n_symbols, p.pointee.symbols) = a.strings(v.symbols)
                (p.pointee.n_strategies, p.pointee.strategies) = a.strings(v.strategies)
                p.pointee.min_interval_ms = v.minIntervalMs
                p.pointee.after_seq = v.afterSeq
                p.pointee.venue = a.string(v.venue)
            }
        case .unsubscribe(let subscriptionId):
            m.call_case = REALTIME__V1__REQUEST__CALL_UNSUBSCRIBE
            m.unsubscribe = a.message { (p: UnsafeMutablePointer<Realtime__V1__Unsubscribe>) in
                realtime__v1__unsubscribe__init(p)
                p.pointee.subscription_id = subscriptionId
            }
        case .getDepthMetrics(let v):
            m.call_case = REALTIME__V1__REQUEST__CALL_GET_DEPTH_METRICS
            m.get_depth_metrics = a.message { (p: UnsafeMutablePointer<Realtime__V1__GetDepthMetrics>) in
                realtime__v1__get_depth_metrics__init(p)
                p.pointee.symbol = a.string(v.symbol)
                p.pointee.venue = a.string(v.venue)
                p.pointee.include_levels = v.includeLevels.protobufC
            }
        case .listDepthMetrics(let v):
            m.call_case = REALTIME__V1__REQUEST__CALL_LIST_DEPTH_METRICS
            m.list_depth_metrics = a.message { (p: UnsafeMutablePointer<Realtime__V1__ListDepthMetrics>) in
                realtime__v1__list_depth_metrics__init(p)
                (p.pointee.n_symbols, p.pointee.symbols) = a.strings(v.symbols)
                p.pointee.has_min_pressure = (v.minPressure != nil).protobufC
                p.pointee.min_pressure = v.minPressure ?? 0
                p.pointee.has_max_pressure = (v.maxPressure != nil).protobufC
                p.pointee.max_pressure = v.maxPressure ?? 0
                p.pointee.trend = a.string(v.trend)
                p.pointee.limit = v.limit
                p.pointee.offset = v.offset
                p.pointee.sort_by = a.string(v.sortBy)
                p.pointee.sort_order = a.string(v.sortOrder)
                p.pointee.venue = a.string(v.venue)
            }
        case .getPressureHistory(let v):
            m.call_case = REALTIME__V1__REQUEST__CALL_GET_PRESSURE_HISTORY
            m.get_pressure_history = a.message { (p: UnsafeMutablePointer<Realtime__V1__GetPressureHistory>) in
                realtime__v1__get_pressure_history__init(p)
                p.pointee.symbol = a.string(v.symbol)
                p.pointee.timeframe = a.string(v.timeframe)
                p.pointee.venue = a.string(v.venue)
            }
        case .getMarketSummary(let venue):
            m.call_case = REALTIME__V1__REQUEST__CALL_GET_MARKET_SUMMARY
            m.get_market_summary = a.message { (p: UnsafeMutablePointer<Realtime__V1__GetMarketSummary>) in
                realtime__v1__get_market_summary__init(p)
                p.pointee.venue = a.string(venue)
            }
        case .getStats:
            m.call_case = REALTIME__V1__REQUEST__CALL_GET_STATS
            m.get_stats = a.message { (p: UnsafeMutablePointer<Realtime__V1__GetStats>) in
                realtime__v1__get_stats__init(p)
            }
        case .healthCheck:
            m.call_case = REALTIME__V1__REQUEST__CALL_HEALTH
            m.health = a.message { (p: UnsafeMutablePointer<Realtime__V1__HealthCheck>) in
                realtime__v1__health_check__init(p)
            }
        case .config(let v):
            m.call_case = REALTIME__V1__REQUEST__CALL_CONFIG
            m.config = makeConfigCall(v, a)
        case .unknown:
            m.call_case = REALTIME__V1__REQUEST__CALL__NOT_SET
        }
        return m
    }

    static func readRequest(_ m: Realtime__V1__Request) -> SocketRequest {
        switch m.call_case {
        case REALTIME__V1__REQUEST__CALL_HELLO:
            guard let p = m.hello else { return .hello(.init(protocolVersion: 0)) }
            return .hello(.init(protocolVersion: p.pointee.protocol_version, clientName: CRead.string(p.pointee.client_name)))
        case REALTIME__V1__REQUEST__CALL_GET_SIGNALS:
            guard let p = m.get_signals else { return .getSignals(.init()) }
            return .getSignals(.init(afterSeq: p.pointee.after_seq, max: p.pointee.max,
                                     symbols: CRead.strings(p.pointee.n_symbols, p.pointee.symbols),
                                     strategies: CRead.strings(p.pointee.n_strategies, p.pointee.strategies)))
        case REALTIME__V1__REQUEST__CALL_SUBSCRIBE:
            guard let p = m.subscribe else { return .subscribe(.init(stream: .unspecified)) }
            return .subscribe(.init(stream: stream(p.pointee.stream),
                                    symbols: CRead.strings(p.pointee.n_symbols, p.pointee.symbols),
                                    strategies: CRead.strings(p.pointee.n_strategies, p.pointee.strategies),
                                    minIntervalMs: p.pointee.min_interval_ms, afterSeq: p.pointee.after_seq,
                                    venue: CRead.string(p.pointee.venue)))
        case REALTIME__V1__REQUEST__CALL_UNSUBSCRIBE:
            return .unsubscribe(subscriptionId: m.unsubscribe?.pointee.subscription_id ?? 0)
        case REALTIME__V1__REQUEST__CALL_GET_DEPTH_METRICS:
            guard let p = m.get_depth_metrics else { return .getDepthMetrics(.init(symbol: "")) }
            return .getDepthMetrics(.init(symbol: CRead.string(p.pointee.symbol), venue: CRead.string(p.pointee.venue),
                                          includeLevels: CRead.bool(p.pointee.include_levels)))
        case REALTIME__V1__REQUEST__CALL_LIST_DEPTH_METRICS:
            var v = SocketProtocol.ListDepthMetrics()
            if let p = m.list_depth_metrics {
                v.symbols = CRead.strings(p.pointee.n_symbols, p.pointee.symbols)
                v.minPressure = CRead.bool(p.pointee.has_min_pressure) ? p.pointee.min_pressure : nil
                v.maxPressure = CRead.bool(p.pointee.has_max_pressure) ? p.pointee.max_pressure : nil
                v.trend = CRead.string(p.pointee.trend)
                v.limit = p.pointee.limit
                v.offset = p.pointee.offset
                v.sortBy = CRead.string(p.pointee.sort_by)
                v.sortOrder = CRead.string(p.pointee.sort_order)
                v.venue = CRead.string(p.pointee.venue)
            }
            return .listDepthMetrics(v)
        case REALTIME__V1__REQUEST__CALL_GET_PRESSURE_HISTORY:
            guard let p = m.get_pressure_history else { return .getPressureHistory(.init(symbol: "")) }
            return .getPressureHistory(.init(symbol: CRead.string(p.pointee.symbol),
                                             timeframe: CRead.string(p.pointee.timeframe),
                                             venue: CRead.string(p.pointee.venue)))
        case REALTIME__V1__REQUEST__CALL_GET_MARKET_SUMMARY:
            return .getMarketSummary(venue: CRead.string(m.get_market_summary?.pointee.venue))
        case REALTIME__V1__REQUEST__CALL_GET_STATS:
            return .getStats
        case REALTIME__V1__REQUEST__CALL_HEALTH:
            return .healthCheck
        case REALTIME__V1__REQUEST__CALL_CONFIG:
            return .config(readConfigCall(m.config))
        default:
            return .unknown
        }
    }

    // MARK: - Responses

    static func makeResponse(_ response: SocketResponse, id: UInt64, _ a: ProtobufArena) -> Realtime__V1__Response {
        var m = Realtime__V1__Response()
        realtime__v1__response__init(&m)
        m.id = id
        switch response {
        case .error(let v):
            m.result_case = REALTIME__V1__RESPONSE__RESULT_ERROR
            m.error = a.message { (p: UnsafeMutablePointer<Realtime__V1__Error>) in
                realtime__v1__error__init(p)
                p.pointee.code = Realtime__V1__ErrorCode(rawValue: numericCast(v.code.rawValue))
                p.pointee.message = a.string(v.message)
                (p.pointee.n_details, p.pointee.details) = a.messages(v.details.sorted { $0.key < $1.key }) {
                    (entry: (key: String, value: String)) -> UnsafeMutablePointer<Realtime__V1__Error__DetailsEntry> in
                    a.message { (e: UnsafeMutablePointer<Realtime__V1__Error__DetailsEntry>) in
                        realtime__v1__error__details_entry__init(e)
                        e.pointee.key = a.string(entry.key)
                        e.pointee.value = a.string(entry.value)
                    }
                }
            }
        case .hello(let v):
            m.result_case = REALTIME__V1__RESPONSE__RESULT_HELLO
            m.hello = a.message { (p: UnsafeMutablePointer<Realtime__V1__HelloResult>) in
                realtime__v1__hello_result__init(p)
                p.pointee.protocol_version = v.protocolVersion
                p.pointee.server_version = a.string(v.serverVersion)
                (p.pointee.n_capabilities, p.pointee.capabilities) = a.strings(v.capabilities)
                (p.pointee.n_strategies, p.pointee.strategies) = a.strings(v.strategies)
                (p.pointee.n_venues, p.pointee.venues) = a.strings(v.venues)
                p.pointee.max_frame_bytes = v.maxFrameBytes
                p.pointee.last_signal_seq = v.lastSignalSeq
            }
        case .signals(let v):
            m.result_case = REALTIME__V1__RESPONSE__RESULT_SIGNALS
            m.signals = a.message { (p: UnsafeMutablePointer<Realtime__V1__SignalPage>) in
                realtime__v1__signal_page__init(p)
                (p.pointee.n_signals, p.pointee.signals) = a.messages(v.signals) { makeSignal($0, a) }
                p.pointee.next_seq = v.nextSeq
                p.pointee.truncated = v.truncated.protobufC
                p.pointee.oldest_seq = v.oldestSeq
            }
        case .subscribed(let subscriptionId):
            m.result_case = REALTIME__V1__RESPONSE__RESULT_SUBSCRIBED
            m.subscribed = a.message { (p: UnsafeMutablePointer<Realtime__V1__SubscribeResult>) in
                realtime__v1__subscribe_result__init(p)
                p.pointee.subscription_id = subscriptionId
            }
        case .unsubscribed(let subscriptionId):
            m.result_case = REALTIME__V1__RESPONSE__RESULT_UNSUBSCRIBED
            m.unsubscribed = a.message { (p: UnsafeMutablePointer<Realtime__V1__UnsubscribeResult>) in
                realtime__v1__unsubscribe_result__init(p)
                p.pointee.subscription_id = subscriptionId
            }
        case .depthMetrics(let v):
            m.result_case = REALTIME__V1__RESPONSE__RESULT_DEPTH_METRICS
            m.depth_metrics = makeDepthMetrics(v, a)
        case .depthMetricsPage(let v):
            m.result_case = REALTIME__V1__RESPONSE__RESULT_DEPTH_METRICS_PAGE
            m.depth_metrics_page = a.message { (p: UnsafeMutablePointer<Realtime__V1__DepthMetricsPage>) in
                realtime__v1__depth_metrics_page__init(p)
                (p.pointee.n_metrics, p.pointee.metrics) = a.messages(v.metrics) { makeDepthMetrics($0, a) }
                p.pointee.total = v.total
                p.pointee.limit = v.limit
                p.pointee.offset = v.offset
                p.pointee.page = v.page
                p.pointee.pages = v.pages
                p.pointee.has_next = v.hasNext.protobufC
                p.pointee.has_previous = v.hasPrevious.protobufC
            }
        case .pressureHistory(let v):
            m.result_case = REALTIME__V1__RESPONSE__RESULT_PRESSURE_HISTORY
            m.pressure_history = a.message { (p: UnsafeMutablePointer<Realtime__V1__PressureHistory>) in
                realtime__v1__pressure_history__init(p)
                p.pointee.symbol = a.string(v.symbol)
                p.pointee.venue = a.string(v.venue)
                p.pointee.timeframe = a.string(v.timeframe)
                p.pointee.avg_pressure = v.avgPressure
                p.pointee.max_pressure = v.maxPressure
                p.pointee.min_pressure = v.minPressure
                p.pointee.trend = a.string(v.trend)
                p.pointee.trend_strength = v.trendStrength
                p.pointee.total_data_points = v.totalDataPoints
                (p.pointee.n_time_ms, p.pointee.time_ms) = a.array(v.timeMs)
                (p.pointee.n_pressure, p.pointee.pressure) = a.array(v.pressure)
                (p.pointee.n_imbalance, p.pointee.imbalance) = a.array(v.imbalance)
            }
        case .marketSummary(let v):
            m.result_case = REALTIME__V1__RESPONSE__RESULT_MARKET_SUMMARY
            m.market_summary = a.message { (p: UnsafeMutablePointer<Realtime__V1__MarketSummary>) in
                realtime__v1__market_summary__init(p)
                p.pointee.time_ms = v.timeMs
                p.pointee.symbols_tracked = v.symbolsTracked
                p.pointee.bullish_symbols = v.bullishSymbols
                p.pointee.bearish_symbols = v.bearishSymbols
                p.pointee.neutral_symbols = v.neutralSymbols
                p.pointee.avg_net_pressure = v.avgNetPressure
                p.pointee.avg_imbalance_ratio = v.avgImbalanceRatio
                p.pointee.avg_spread_bps = v.avgSpreadBps
                p.pointee.total_liquidity = v.totalLiquidity
                (p.pointee.n_highest_buy_pressure, p.pointee.highest_buy_pressure) = a.strings(v.highestBuyPressure)
                (p.pointee.n_highest_sell_pressure, p.pointee.highest_sell_pressure) = a.strings(v.highestSellPressure)
            }
        case .stats(let v):
            m.result_case = REALTIME__V1__RESPONSE__RESULT_STATS
            m.stats = a.message { (p: UnsafeMutablePointer<Realtime__V1__Stats>) in
                realtime__v1__stats__init(p)
                p.pointee.messages_received = v.messagesReceived
                p.pointee.messages_processed = v.messagesProcessed
                p.pointee.messages_rejected = v.messagesRejected
                (p.pointee.n_rejected_by_reason, p.pointee.rejected_by_reason) = a.messages(v.rejectedByReason) { makeCounter($0, a) }
                (p.pointee.n_messages_by_kind, p.pointee.messages_by_kind) = a.messages(v.messagesByKind) { makeCounter($0, a) }
                (p.pointee.n_signals_generated, p.pointee.signals_generated) = a.messages(v.signalsGenerated) { makeCounter($0, a) }
                (p.pointee.n_signals_published, p.pointee.signals_published) = a.messages(v.signalsPublished) { makeCounter($0, a) }
                p.pointee.slow_consumer_dropped = v.slowConsumerDropped
                p.pointee.symbols_tracked = v.symbolsTracked
                p.pointee.nats_connected = v.natsConnected.protobufC
                p.pointee.last_signal_seq = v.lastSignalSeq
                p.pointee.socket_clients = v.socketClients
                p.pointee.socket_events_dropped = v.socketEventsDropped
                p.pointee.socket_gaps = v.socketGaps
                p.pointee.last_event_time_ms = v.lastEventTimeMs
                p.pointee.uptime_seconds = v.uptimeSeconds
            }
        case .health(let v):
            m.result_case = REALTIME__V1__RESPONSE__RESULT_HEALTH
            m.health = a.message { (p: UnsafeMutablePointer<Realtime__V1__Health>) in
                realtime__v1__health__init(p)
                p.pointee.live = v.live.protobufC
                p.pointee.ready = v.ready.protobufC
                p.pointee.nats_connected = v.natsConnected.protobufC
                p.pointee.nats_subscribed = v.natsSubscribed.protobufC
                p.pointee.version = a.string(v.version)
            }
        case .signalEvent(let v):
            m.result_case = REALTIME__V1__RESPONSE__RESULT_SIGNAL_EVENT
            m.signal_event = a.message { (p: UnsafeMutablePointer<Realtime__V1__SignalEvent>) in
                realtime__v1__signal_event__init(p)
                p.pointee.signal = makeSignal(v, a)
            }
        case .depthEvent(let seq, let metrics):
            m.result_case = REALTIME__V1__RESPONSE__RESULT_DEPTH_EVENT
            m.depth_event = a.message { (p: UnsafeMutablePointer<Realtime__V1__DepthEvent>) in
                realtime__v1__depth_event__init(p)
                p.pointee.seq = seq
                p.pointee.metrics = makeDepthMetrics(metrics, a)
            }
        case .gap(let v):
            m.result_case = REALTIME__V1__RESPONSE__RESULT_GAP
            m.gap = a.message { (p: UnsafeMutablePointer<Realtime__V1__Gap>) in
                realtime__v1__gap__init(p)
                p.pointee.subscription_id = v.subscriptionId
                p.pointee.from_seq = v.fromSeq
                p.pointee.to_seq = v.toSeq
                p.pointee.stream = Realtime__V1__Stream(rawValue: numericCast(v.stream.rawValue))
            }
        case .goodbye(let reason):
            m.result_case = REALTIME__V1__RESPONSE__RESULT_GOODBYE
            m.goodbye = a.message { (p: UnsafeMutablePointer<Realtime__V1__Goodbye>) in
                realtime__v1__goodbye__init(p)
                p.pointee.reason = a.string(reason)
            }
        case .config(let v):
            m.result_case = REALTIME__V1__RESPONSE__RESULT_CONFIG
            m.config = makeConfigResult(v, a)
        case .unknown:
            m.result_case = REALTIME__V1__RESPONSE__RESULT__NOT_SET
        }
        return m
    }

    static func readResponse(_ m: Realtime__V1__Response) -> SocketResponse {
        switch m.result_case {
        case REALTIME__V1__RESPONSE__RESULT_ERROR:
            guard let p = m.error else { return .error(.unspecified, "") }
            let code = SocketErrorCode(rawValue: Int32(truncatingIfNeeded: Int64(p.pointee.code.rawValue))) ?? .unspecified
            var details: [String: String] = [:]
            for (key, value) in CRead.messages(p.pointee.n_details, p.pointee.details, {
                (CRead.string($0.pointee.key), CRead.string($0.pointee.value))
            }) {
                details[key] = value  // a repeated map key: the last one wins, as protobuf says
            }
            return .error(.init(code: code, message: CRead.string(p.pointee.message), details: details))
        case REALTIME__V1__RESPONSE__RESULT_HELLO:
            guard let p = m.hello else { return .hello(.init()) }
            return .hello(.init(protocolVersion: p.pointee.protocol_version, serverVersion: CRead.string(p.pointee.server_version),
                                capabilities: CRead.strings(p.pointee.n_capabilities, p.pointee.capabilities),
                                strategies: CRead.strings(p.pointee.n_strategies, p.pointee.strategies),
                                venues: CRead.strings(p.pointee.n_venues, p.pointee.venues),
                                maxFrameBytes: p.pointee.max_frame_bytes, lastSignalSeq: p.pointee.last_signal_seq))
        case REALTIME__V1__RESPONSE__RESULT_SIGNALS:
            guard let p = m.signals else { return .signals(.init()) }
            return .signals(.init(signals: CRead.messages(p.pointee.n_signals, p.pointee.signals, readSignal),
                                  nextSeq: p.pointee.next_seq, truncated: CRead.bool(p.pointee.truncated),
                                  oldestSeq: p.pointee.oldest_seq))
        case REALTIME__V1__RESPONSE__RESULT_SUBSCRIBED:
            return .subscribed(subscriptionId: m.subscribed?.pointee.subscription_id ?? 0)
        case REALTIME__V1__RESPONSE__RESULT_UNSUBSCRIBED:
            return .unsubscribed(subscriptionId: m.unsubscribed?.pointee.subscription_id ?? 0)
        case REALTIME__V1__RESPONSE__RESULT_DEPTH_METRICS:
            return .depthMetrics(m.depth_metrics.map(readDepthMetrics) ?? .init())
        case REALTIME__V1__RESPONSE__RESULT_DEPTH_METRICS_PAGE:
            var v = SocketProtocol.DepthMetricsPage()
            if let p = m.depth_metrics_page {
                v.metrics = CRead.messages(p.pointee.n_metrics, p.pointee.metrics, readDepthMetrics)
                v.total = p.pointee.total
                v.limit = p.pointee.limit
                v.offset = p.pointee.offset
                v.page = p.pointee.page
                v.pages = p.pointee.pages
                v.hasNext = CRead.bool(p.pointee.has_next)
                v.hasPrevious = CRead.bool(p.pointee.has_previous)
            }
            return .depthMetricsPage(v)
        case REALTIME__V1__RESPONSE__RESULT_PRESSURE_HISTORY:
            var v = SocketProtocol.PressureHistory()
            if let p = m.pressure_history {
                v.symbol = CRead.string(p.pointee.symbol)
                v.venue = CRead.string(p.pointee.venue)
                v.timeframe = CRead.string(p.pointee.timeframe)
                v.avgPressure = p.pointee.avg_pressure
                v.maxPressure = p.pointee.max_pressure
                v.minPressure = p.pointee.min_pressure
                v.trend = CRead.string(p.pointee.trend)
                v.trendStrength = p.pointee.trend_strength
                v.totalDataPoints = p.pointee.total_data_points
                v.timeMs = CRead.array(p.pointee.n_time_ms, p.pointee.time_ms)
                v.pressure = CRead.array(p.pointee.n_pressure, p.pointee.pressure)
                v.imbalance = CRead.array(p.pointee.n_imbalance, p.pointee.imbalance)
            }
            return .pressureHistory(v)
        case REALTIME__V1__RESPONSE__RESULT_MARKET_SUMMARY:
            var v = SocketProtocol.MarketSummary()
            if let p = m.market_summary {
                v.timeMs = p.pointee.time_ms
                v.symbolsTracked = p.pointee.symbols_tracked
                v.bullishSymbols = p.pointee.bullish_symbols
                v.bearishSymbols = p.pointee.bearish_symbols
                v.neutralSymbols = p.pointee.neutral_symbols
                v.avgNetPressure = p.pointee.avg_net_pressure
                v.avgImbalanceRatio = p.pointee.avg_imbalance_ratio
                v.avgSpreadBps = p.pointee.avg_spread_bps
                v.totalLiquidity = p.pointee.total_liquidity
                v.highestBuyPressure = CRead.strings(p.pointee.n_highest_buy_pressure, p.pointee.highest_buy_pressure)
                v.highestSellPressure = CRead.strings(p.pointee.n_highest_sell_pressure, p.pointee.highest_sell_pressure)
            }
            return .marketSummary(v)
        case REALTIME__V1__RESPONSE__RESULT_STATS:
            var v = SocketProtocol.Stats()
            if let p = m.stats {
                v.messagesReceived = p.pointee.messages_received
                v.messagesProcessed = p.pointee.messages_processed
                v.messagesRejected = p.pointee.messages_rejected
                v.rejectedByReason = CRead.messages(p.pointee.n_rejected_by_reason, p.pointee.rejected_by_reason, readCounter)
                v.messagesByKind = CRead.messages(p.pointee.n_messages_by_kind, p.pointee.messages_by_kind, readCounter)
                v.signalsGenerated = CRead.messages(p.pointee.n_signals_generated, p.pointee.signals_generated, readCounter)
                v.signalsPublished = CRead.messages(p.pointee.n_signals_published, p.pointee.signals_published, readCounter)
                v.slowConsumerDropped = p.pointee.slow_consumer_dropped
                v.symbolsTracked = p.pointee.symbols_tracked
                v.natsConnected = CRead.bool(p.pointee.nats_connected)
                v.lastSignalSeq = p.pointee.last_signal_seq
                v.socketClients = p.pointee.socket_clients
                v.socketEventsDropped = p.pointee.socket_events_dropped
                v.socketGaps = p.pointee.socket_gaps
                v.lastEventTimeMs = p.pointee.last_event_time_ms
                v.uptimeSeconds = p.pointee.uptime_seconds
            }
            return .stats(v)
        case REALTIME__V1__RESPONSE__RESULT_HEALTH:
            guard let p = m.health else { return .health(.init()) }
            return .health(.init(live: CRead.bool(p.pointee.live), ready: CRead.bool(p.pointee.ready),
                                 natsConnected: CRead.bool(p.pointee.nats_connected),
                                 natsSubscribed: CRead.bool(p.pointee.nats_subscribed),
                                 version: CRead.string(p.pointee.version)))
        case REALTIME__V1__RESPONSE__RESULT_SIGNAL_EVENT:
            return .signalEvent(m.signal_event?.pointee.signal.map(readSignal) ?? .init())
        case REALTIME__V1__RESPONSE__RESULT_DEPTH_EVENT:
            guard let p = m.depth_event else { return .depthEvent(seq: 0, metrics: .init()) }
            return .depthEvent(seq: p.pointee.seq, metrics: p.pointee.metrics.map(readDepthMetrics) ?? .init())
        case REALTIME__V1__RESPONSE__RESULT_GAP:
            guard let p = m.gap else { return .gap(.init(subscriptionId: 0, fromSeq: 0, toSeq: 0, stream: .unspecified)) }
            return .gap(.init(subscriptionId: p.pointee.subscription_id, fromSeq: p.pointee.from_seq,
                              toSeq: p.pointee.to_seq, stream: stream(p.pointee.stream)))
        case REALTIME__V1__RESPONSE__RESULT_GOODBYE:
            return .goodbye(reason: CRead.string(m.goodbye?.pointee.reason))
        case REALTIME__V1__RESPONSE__RESULT_CONFIG:
            return .config(readConfigResult(m.config))
        default:
            return .unknown
        }
    }

    // MARK: - Shared messages

    static func stream(_ value: Realtime__V1__Stream) -> SocketProtocol.Stream {
        SocketProtocol.Stream(rawValue: Int32(truncatingIfNeeded: Int64(value.rawValue))) ?? .unspecified
    }

    static func makeSignal(_ v: SocketProtocol.Signal, _ a: ProtobufArena) -> UnsafeMutablePointer<Realtime__V1__Signal> {
        a.message { (p: UnsafeMutablePointer<Realtime__V1__Signal>) in
            realtime__v1__signal__init(p)
            p.pointee.seq = v.seq
            p.pointee.id = a.string(v.id)
            p.pointee.strategy_id = a.string(v.strategyId)
            p.pointee.symbol = a.string(v.symbol)
            p.pointee.venue = a.string(v.venue)
            p.pointee.action = Realtime__V1__Action(rawValue: numericCast(v.action.rawValue))
            p.pointee.confidence = v.confidence
            p.pointee.strength = a.string(v.strength)
            p.pointee.price = v.price
            p.pointee.current_price = v.currentPrice
            p.pointee.quantity = v.quantity
            p.pointee.stop_loss = v.stopLoss
            p.pointee.take_profit = v.takeProfit
            p.pointee.stop_loss_pct = v.stopLossPct
            p.pointee.take_profit_pct = v.takeProfitPct
            p.pointee.event_time_ms = v.eventTimeMs
            p.pointee.timeframe = a.string(v.timeframe)
            p.pointee.reasoning = a.string(v.reasoning)
            (p.pointee.n_indicators, p.pointee.indicators) = a.messages(v.indicators) { indicator in
                a.message { (i: UnsafeMutablePointer<Realtime__V1__Indicator>) in
                    realtime__v1__indicator__init(i)
                    i.pointee.name = a.string(indicator.name)
                    i.pointee.value = indicator.value
                }
            }
            p.pointee.metadata_json = a.string(v.metadataJSON)
        }
    }

    static func readSignal(_ p: UnsafeMutablePointer<Realtime__V1__Signal>) -> SocketProtocol.Signal {
        let s = p.pointee
        var v = SocketProtocol.Signal()
        v.seq = s.seq
        v.id = CRead.string(s.id)
        v.strategyId = CRead.string(s.strategy_id)
        v.symbol = CRead.string(s.symbol)
        v.venue = CRead.string(s.venue)
        v.action = SocketProtocol.Action(rawValue: Int32(truncatingIfNeeded: Int64(s.action.rawValue))) ?? .unspecified
        v.confidence = s.confidence
        v.strength = CRead.string(s.strength)
        v.price = s.price
        v.currentPrice = s.current_price
        v.quantity = s.quantity
        v.stopLoss = s.stop_loss
        v.takeProfit = s.take_profit
        v.stopLossPct = s.stop_loss_pct
        v.takeProfitPct = s.take_profit_pct
        v.eventTimeMs = s.event_time_ms
        v.timeframe = CRead.string(s.timeframe)
        v.reasoning = CRead.string(s.reasoning)
        v.indicators = CRead.messages(s.n_indicators, s.indicators) {
            SocketProtocol.Indicator(name: CRead.string($0.pointee.name), value: $0.pointee.value)
        }
        v.metadataJSON = CRead.string(s.metadata_json)
        return v
    }

    static func makeCounter(_ v: SocketProtocol.Counter, _ a: ProtobufArena) -> UnsafeMutablePointer<Realtime__V1__Counter> {
        a.message { (p: UnsafeMutablePointer<Realtime__V1__Counter>) in
            realtime__v1__counter__init(p)
            p.pointee.name = a.string(v.name)
            p.pointee.value = v.value
        }
    }

    static func readCounter(_ p: UnsafeMutablePointer<Realtime__V1__Counter>) -> SocketProtocol.Counter {
        SocketProtocol.Counter(name: CRead.string(p.pointee.name), value: p.pointee.value)
    }

    static func makeDepthMetrics(_ v: SocketProtocol.DepthMetrics, _ a: ProtobufArena)
        -> UnsafeMutablePointer<Realtime__V1__DepthMetrics> {
        a.message { (p: UnsafeMutablePointer<Realtime__V1__DepthMetrics>) in
            realtime__v1__depth_metrics__init(p)
            p.pointee.symbol = a.string(v.symbol)
            p.pointee.venue = a.string(v.venue)
            p.pointee.event_time_ms = v.eventTimeMs
            p.pointee.imbalance_ratio = v.imbalanceRatio
            p.pointee.imbalance_percent = v.imbalancePercent
            p.pointee.bid_volume = v.bidVolume
            p.pointee.ask_volume = v.askVolume
            p.pointee.buy_pressure = v.buyPressure
            p.pointee.sell_pressure = v.sellPressure
            p.pointee.net_pressure = v.netPressure
            p.pointee.interpretation = a.string(v.interpretation)
            p.pointee.total_liquidity = v.totalLiquidity
            p.pointee.bid_depth_5 = v.bidDepth5
            p.pointee.ask_depth_5 = v.askDepth5
            p.pointee.bid_depth_10 = v.bidDepth10
            p.pointee.ask_depth_10 = v.askDepth10
            p.pointee.best_bid = v.bestBid
            p.pointee.best_ask = v.bestAsk
            p.pointee.spread_abs = v.spreadAbs
            p.pointee.spread_bps = v.spreadBps
            p.pointee.mid_price = v.midPrice
            p.pointee.vwap_bid = v.vwapBid
            p.pointee.vwap_ask = v.vwapAsk
            p.pointee.vwap_spread = v.vwapSpread
            p.pointee.bid_levels = v.bidLevels
            p.pointee.ask_levels = v.askLevels
            p.pointee.has_strongest_bid = v.hasStrongestBid.protobufC
            p.pointee.strongest_bid_price = v.strongestBidPrice
            p.pointee.strongest_bid_volume = v.strongestBidVolume
            p.pointee.has_strongest_ask = v.hasStrongestAsk.protobufC
            p.pointee.strongest_ask_price = v.strongestAskPrice
            p.pointee.strongest_ask_volume = v.strongestAskVolume
            (p.pointee.n_bid_prices, p.pointee.bid_prices) = a.array(v.bidPrices)
            (p.pointee.n_bid_quantities, p.pointee.bid_quantities) = a.array(v.bidQuantities)
            (p.pointee.n_ask_prices, p.pointee.ask_prices) = a.array(v.askPrices)
            (p.pointee.n_ask_quantities, p.pointee.ask_quantities) = a.array(v.askQuantities)
            p.pointee.trend = a.string(v.trend)
            p.pointee.book_source = a.string(v.bookSource)
            p.pointee.synced = v.synced.protobufC
            p.pointee.last_update_id = v.lastUpdateId
            p.pointee.book_event_time_ms = v.bookEventTimeMs
            p.pointee.age_ms = v.ageMs
            p.pointee.stale = v.stale.protobufC
        }
    }

    static func readDepthMetrics(_ p: UnsafeMutablePointer<Realtime__V1__DepthMetrics>) -> SocketProtocol.DepthMetrics {
        let s = p.pointee
        var v = SocketProtocol.DepthMetrics()
        v.symbol = CRead.string(s.symbol)
        v.venue = CRead.string(s.venue)
        v.eventTimeMs = s.event_time_ms
        v.imbalanceRatio = s.imbalance_ratio
        v.imbalancePercent = s.imbalance_percent
        v.bidVolume = s.bid_volume
        v.askVolume = s.ask_volume
        v.buyPressure = s.buy_pressure
        v.sellPressure = s.sell_pressure
        v.netPressure = s.net_pressure
        v.interpretation = CRead.string(s.interpretation)
        v.totalLiquidity = s.total_liquidity
        v.bidDepth5 = s.bid_depth_5
        v.askDepth5 = s.ask_depth_5
        v.bidDepth10 = s.bid_depth_10
        v.askDepth10 = s.ask_depth_10
        v.bestBid = s.best_bid
        v.bestAsk = s.best_ask
        v.spreadAbs = s.spread_abs
        v.spreadBps = s.spread_bps
        v.midPrice = s.mid_price
        v.vwapBid = s.vwap_bid
        v.vwapAsk = s.vwap_ask
        v.vwapSpread = s.vwap_spread
        v.bidLevels = s.bid_levels
        v.askLevels = s.ask_levels
        v.hasStrongestBid = CRead.bool(s.has_strongest_bid)
        v.strongestBidPrice = s.strongest_bid_price
        v.strongestBidVolume = s.strongest_bid_volume
        v.hasStrongestAsk = CRead.bool(s.has_strongest_ask)
        v.strongestAskPrice = s.strongest_ask_price
        v.strongestAskVolume = s.strongest_ask_volume
        v.bidPrices = CRead.array(s.n_bid_prices, s.bid_prices)
        v.bidQuantities = CRead.array(s.n_bid_quantities, s.bid_quantities)
        v.askPrices = CRead.array(s.n_ask_prices, s.ask_prices)
        v.askQuantities = CRead.array(s.n_ask_quantities, s.ask_quantities)
        v.trend = CRead.string(s.trend)
        v.bookSource = CRead.string(s.book_source)
        v.synced = CRead.bool(s.synced)
        v.lastUpdateId = s.last_update_id
        v.bookEventTimeMs = s.book_event_time_ms
        v.ageMs = s.age_ms
        v.stale = CRead.bool(s.stale)
        return v
    }
}
