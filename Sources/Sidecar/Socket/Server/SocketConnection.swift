import Logging
import NIOCore
import Strategies
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Settings every connection shares.
struct SocketConnectionSettings: Sendable {
    /// Largest frame sent.
    var maxFrameBytes: Int
    /// Largest request frame accepted (the decoder refuses larger ones on the length prefix).
    var maxRequestBytes: Int = 64 << 10
    /// Unsent bytes per connection before a request closes it (RESOURCE_EXHAUSTED).
    var outputBytes: Int = 32 << 10
    var queueEvents: Int
    /// Empty: any peer.
    var allowedUIDs: Set<UInt32>
    /// Peers whose config writes are accepted.
    var configUIDs: Set<UInt32> = [getuid()]
    /// Shared by all connections: replies beyond a connection's budget.
    var outputPool = SocketOutputPool(capacity: 8 << 20)
    /// Parameters per ConfigCall; more get INVALID_ARGUMENT.
    var maxConfigParameters = 256
    var maxSubscriptions = 64
    /// Signals read from the log per step of a replay.
    var replayBatch = 256
    /// Events taken from the queue per step of a drain: also how far a drain can overshoot the
    /// output budget (writability is checked between steps).
    var drainBatch = 4
    /// Steps per drain before yielding the event loop to other connections.
    var stepsPerDrain = 16
}

/// One client connection. Everything here runs on the channel's event loop; the only state the
/// hub's fan-out touches is the `SocketOutbox`.
///
/// Requests are answered in arrival order, synchronously, from published snapshots; config
/// calls are answered when the config service completes them (matched by id). Pushed
/// events go through the bounded outbox and are written only while the channel is writable;
/// while it is not, the connection also stops reading requests, so neither replies nor events
/// can pile up without bound.
final class SocketConnectionHandler: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = InboundFrame
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct Subscription {
        var id: UInt64
        var stream: SocketProtocol.Stream
        var symbols: Set<String>
        var strategies: Set<String>
        /// Signals: the log cursor while replaying, nil once live.
        var replayCursor: UInt64?
        /// Signals: the newest sequence written, to skip live events a replay already sent.
        var lastDelivered: UInt64 = 0
    }

    private let settings: SocketConnectionSettings
    private let calls: SocketContext
    private let hub: SocketHub
    private let logger: Logger
    private let onClosed: (SocketConnectionHandler) -> Void
    private(set) var outbox: SocketOutbox?
    private var context: ChannelHandlerContext?
    private var subscriptions: [UInt64: Subscription] = [:]
    private var replaying: [UInt64] = []
    private var helloDone = false
    private var authorized = false
    /// The peer's UID (SO_PEERCRED), nil when unavailable: then config writes are refused.
    private var peerUID: UInt32?
    /// Bytes of `settings.outputPool` this connection holds (returned once its output drains).
    private var overdraft = 0
    /// Set once closing starts (bad frame, refused peer, goodbye): later frames are ignored.
    private var closing = false
    private var readPending = false
    /// Set before activation when the server refuses the connection (too many open).
    private var refusal: (code: SocketErrorCode, message: String)?

    init(settings: SocketConnectionSettings, calls: SocketContext, hub: SocketHub, logger: Logger,
         onClosed: @escaping (SocketConnectionHandler) -> Void) {
        self.settings = settings
        self.calls = calls
        self.hub = hub
        self.logger = logger
        self.onClosed = onClosed
    }

    private var stats: SocketStats { calls.socketStats }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        // Queued events are bounded in bytes too (twice the output budget: room for a burst the
        // event loop has not drained yet), so a never-reading client's queue has a fixed cost.
        let outbox = SocketOutbox(capacity: settings.queueEvents, maxBytes: 2 * settings.outputBytes, eventLoop: context.eventLoop,
                                  stats: stats)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        outbox.setDrain { bound.value.drain() }
        self.outbox = outbox
    }

    func channelActive(context: ChannelHandlerContext) {
        stats.clients.increment()
        stats.connectionsAccepted.increment()
        if let refusal {
            fail(refusal.code, refusal.message, id: 0)
            context.fireChannelActive()
            return
        }
        authorize(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stats.clients.add(-1)
        teardown()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        teardown()
        self.context = nil
    }

    private func teardown() {
        settings.outputPool.release(overdraft)
        overdraft = 0
        guard let outbox else { return }
        stats.subscriptions.add(-subscriptions.count)
        subscriptions.removeAll()
        replaying.removeAll()
        hub.removeAll(outbox: outbox)
        outbox.close()
        self.outbox = nil
        onClosed(self)
    }

    /// Refuses the connection: on activation it gets this error and is closed.
    func refuse(_ code: SocketErrorCode, _ message: String) {
        refusal = (code, message)
    }

    /// Reads the peer UID of every connection (config writes need it); refuses the connection
    /// only when SIDECAR_ALLOWED_UIDS is set. On the event loop the option read completes at once.
    private func authorize(_ context: ChannelHandlerContext) {
        PeerCredentials.uid(of: context.channel).whenComplete { [self] result in
            if case .success(let uid) = result { peerUID = uid }
            switch result {
            case _ where settings.allowedUIDs.isEmpty:
                authorized = true
            case .success(let uid) where settings.allowedUIDs.contains(uid):
                authorized = true
            case .success(let uid):
                stats.permissionDenied.increment()
                logger.warning("socket peer refused", metadata: ["uid": "\(uid)"])
                fail(.permissionDenied, "peer uid \(uid) is not allowed (SIDECAR_ALLOWED_UIDS)", id: 0,
                     details: ["uid": "\(uid)"])
            case .failure(let error):
                stats.permissionDenied.increment()
                logger.warning("socket peer credentials unavailable", metadata: ["error": "\(error)"])
                fail(.permissionDenied, "peer credentials unavailable: \(error)", id: 0)
            }
        }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing, authorized else { return }
        switch unwrapInboundIn(data) {
        case .invalid(let error):
            stats.badFrames.increment()
            if case .frameTooLarge = error { stats.requestsTooLarge.increment() }
            fail(.badFrame, error.description, id: 0, details: ["reason": "\(error)"])
        case .message(let body):
            let decoded = body.withUnsafeReadableBytes { bytes in
                Result { () throws(SocketProtocolError) in try SocketCodec.decodeRequest(bytes, maxBytes: settings.maxRequestBytes) }
            }
            switch decoded {
            case .success(let (id, request)):
                // A client that sends requests without reading the replies: replies would pile up.
                if let unsent = unsentBytes(context), unsent > settings.outputBytes {
                    refuseOverBudget(unsent: unsent, id: id)
                    return
                }
                stats.requests(SocketStats.Call(request)).increment()
                if let response = handle(request, id: id) { respond(response, id: id) }
            case .failure(let error):
                // Framing is intact, so the connection stays usable.
                stats.badFrames.increment()
                respond(.error(.badFrame, error.description), id: 0)
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            // The client finished sending: close once every reply is flushed (config calls
            // still running answer first).
            closing = true
            if pendingCalls > 0 {
                closeWhenIdle = true
            } else {
                closeAfterFlush()
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func closeAfterFlush() {
        guard let context else { return }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("socket connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: Backpressure

    /// Bytes written to the channel and not yet taken by the kernel. Replies are flushed once
    /// per read batch; when `adding` more would exceed the budget they are flushed first, so
    /// what remains is what the client has not read.
    private func unsentBytes(_ context: ChannelHandlerContext, adding: Int = 0) -> Int? {
        guard let buffered = try? context.channel.syncOptions?.getOption(.bufferedWritableBytes) else { return nil }
        guard buffered > 0, buffered + adding > settings.outputBytes else { return buffered }
        context.flush()
        return try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)
    }

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            context.read()
        } else {
            readPending = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            // Below the low-water mark: any excess this connection wrote has drained.
            settings.outputPool.release(overdraft)
            overdraft = 0
            if readPending {
                readPending = false
                context.read()
            }
            drain()
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Calls

    /// The answer, or nil when it comes later (config calls run on the config service's queue).
    private func handle(_ request: SocketRequest, id: UInt64) -> SocketResponse? {
        if case .hello(let hello) = request {
            let response = SocketCalls.hello(hello, calls)
            if case .hello = response { helloDone = true }
            return response
        }
        guard helloDone else {
            return .error(.failedPrecondition, "send Hello first", details: ["call": "\(SocketStats.Call(request))"])
        }
        switch request {
        case .hello: return .unknown  // handled above
        case .getSignals(let v): return SocketCalls.getSignals(v, calls)
        case .subscribe(let v): return subscribe(v, id: id)
        case .unsubscribe(let subscriptionId): return unsubscribe(subscriptionId)
        case .getDepthMetrics(let v): return SocketCalls.getDepthMetrics(v, calls)
        case .listDepthMetrics(let v): return SocketCalls.listDepthMetrics(v, calls)
        case .getPressureHistory(let v): return SocketCalls.getPressureHistory(v, calls)
        case .getMarketSummary(let venue): return SocketCalls.getMarketSummary(venue: venue, calls)
        case .getStats: return SocketCalls.getStats(calls)
        case .healthCheck: return SocketCalls.health(calls)
        case .config(let call): return startConfigCall(call, id: id)
        case .unknown: return .error(.unimplemented, "unknown or empty call")
        }
    }

    /// Runs a config call off the event loop and answers when it completes; responses are
    /// matched by id, so other requests are answered meanwhile.
    private func startConfigCall(_ call: SocketProtocol.ConfigCall, id: UInt64) -> SocketResponse? {
        guard let service = calls.api.config else { return .error(.unavailable, "runtime configuration is not enabled") }
        if let refusal = refuseConfigCall(call) { return refusal }
        guard pendingCalls < Self.maxPendingCalls else {
            return .error(.resourceExhausted, "at most \(Self.maxPendingCalls) config calls in flight per connection")
        }
        guard let loop = context?.eventLoop else { return nil }
        pendingCalls += 1
        Task {
            let response = await SocketConfigCalls.run(call, service)
            loop.execute {
                self.pendingCalls -= 1
                guard !self.closing || self.closeWhenIdle else { return }
                self.respond(response, id: id)
                self.context?.flush()
                if self.closeWhenIdle && self.pendingCalls == 0 { self.closeAfterFlush() }
            }
        }
        return nil
    }

    /// Writes (set, delete, rollback) only from SIDECAR_CONFIG_UIDS; a validate-only set changes
    /// nothing and is answered like a read. Too many parameters: INVALID_ARGUMENT.
    private func refuseConfigCall(_ call: SocketProtocol.ConfigCall) -> SocketResponse? {
        guard call.parameters.count <= settings.maxConfigParameters else {
            return .error(.invalidArgument, "at most \(settings.maxConfigParameters) parameters per config call, got \(call.parameters.count)",
                          details: ["field": "parameters", "count": "\(call.parameters.count)"])
        }
        let writes: Bool
        switch call.op {
        case .set: writes = !call.validateOnly
        case .delete, .rollback: writes = true
        case .unspecified, .list, .schema, .get, .audit: writes = false
        }
        guard writes else { return nil }
        if let uid = peerUID, settings.configUIDs.contains(uid) { return nil }
        stats.configWritesDenied.increment()
        let who = peerUID.map { "peer uid \($0)" } ?? "a peer whose uid is unknown"
        // At most one warning per 10 s across connections; the counter has every refusal.
        let now = WallClock.nowMs()
        let next = Self.nextDenialLogMs.load(ordering: .relaxed)
        if now >= next, Self.nextDenialLogMs.compareExchange(expected: next, desired: now + 10_000, ordering: .relaxed).exchanged {
            logger.warning("socket config write refused", metadata: ["uid": "\(peerUID.map(String.init) ?? "unknown")", "op": "\(call.op)",
                                                                    "strategy_id": "\(call.strategyId)",
                                                                    "refused_total": "\(stats.configWritesDenied.value)"])
        }
        return .error(.permissionDenied, "\(who) may not change config over the socket (SIDECAR_CONFIG_UIDS)",
                      details: ["uid": peerUID.map(String.init) ?? "", "op": "\(call.op)"])
    }

    private static let nextDenialLogMs = Atomic<Int64>(0)

    private static let maxPendingCalls = 16
    private var pendingCalls = 0
    /// The client finished sending while config calls were still running.
    private var closeWhenIdle = false

    private func subscribe(_ request: SocketProtocol.Subscribe, id: UInt64) -> SocketResponse {
        guard let outbox else { return .error(.unavailable, "connection closing") }
        guard subscriptions[id] == nil else {
            return .error(.invalidArgument, "subscription \(id) already exists: use a new request id",
                          details: ["field": "id", "value": "\(id)"])
        }
        guard subscriptions.count < settings.maxSubscriptions else {
            return .error(.resourceExhausted, "at most \(settings.maxSubscriptions) subscriptions per connection")
        }
        let symbols = SocketCalls.symbolSet(request.symbols)
        switch request.stream {
        case .signals:
            let strategies = Set(request.strategies)
            var subscription = Subscription(id: id, stream: .signals, symbols: symbols, strategies: strategies)
            if request.afterSeq > 0 {
                // Replay from the log first; live events queued meanwhile are deduplicated by sequence.
                let last = calls.api.signalLog.lastSequence
                subscription.replayCursor = min(request.afterSeq, last)
                outbox.beginReplay(subscriptionId: id)
                replaying.append(id)
            }
            subscriptions[id] = subscription
            hub.add(SocketHub.SignalTarget(outbox: outbox, subscriptionId: id, symbols: symbols, strategies: strategies))
        case .depth:
            let venue: Venue
            switch SocketCalls.parseVenue(request.venue, calls) {
            case .success(let v): venue = v
            case .failure(let error): return .error(error)
            }
            subscriptions[id] = Subscription(id: id, stream: .depth, symbols: symbols, strategies: [])
            hub.add(SocketHub.DepthTarget(outbox: outbox, subscriptionId: id, venue: venue, symbols: symbols,
                                          minIntervalMs: Int64(request.minIntervalMs)))
        case .unspecified:
            return .error(.invalidArgument, "stream must be STREAM_SIGNALS or STREAM_DEPTH", details: ["field": "stream"])
        }
        stats.subscriptions.increment()
        if !replaying.isEmpty { scheduleDrain() }
        return .subscribed(subscriptionId: id)
    }

    private func unsubscribe(_ subscriptionId: UInt64) -> SocketResponse {
        guard subscriptions.removeValue(forKey: subscriptionId) != nil, let outbox else {
            return .error(.notFound, "no subscription \(subscriptionId)", details: ["subscription_id": "\(subscriptionId)"])
        }
        replaying.removeAll { $0 == subscriptionId }
        hub.remove(outbox: outbox, subscriptionId: subscriptionId)
        outbox.remove(subscriptionId: subscriptionId)
        stats.subscriptions.add(-1)
        return .unsubscribed(subscriptionId: subscriptionId)
    }

    // MARK: Writing

    private func respond(_ response: SocketResponse, id: UInt64) {
        guard let context else { return }
        if case .error = response { stats.errors.increment() }
        var buffer = context.channel.allocator.buffer(capacity: 256)
        SocketCodec.encodeFrame(response, id: id, into: &buffer)
        // More than the budget unread: the client is not reading. Below it a reply is written
        // whole, so one reply (bounded by the call limits) is the most it can overshoot.
        if let unsent = unsentBytes(context, adding: buffer.readableBytes) {
            if unsent > settings.outputBytes {
                refuseOverBudget(unsent: unsent, id: id)
                return
            }
            let excess = unsent + buffer.readableBytes - settings.outputBytes - overdraft
            if excess > 0 {
                guard settings.outputPool.reserve(excess) else {
                    // Many clients hold large unread replies: this one is refused, not queued.
                    stats.outputPoolExhausted.increment()
                    stats.errors.increment()
                    var refusal = context.channel.allocator.buffer(capacity: 256)
                    SocketCodec.encodeFrame(.error(.resourceExhausted,
                                                   "a \(buffer.readableBytes)-byte reply exceeds this connection's output budget and the shared output pool is full: retry after reading, or ask for less",
                                                   details: ["reply_bytes": "\(buffer.readableBytes)"]), id: id, into: &refusal)
                    context.write(wrapOutboundOut(refusal), promise: nil)
                    return
                }
                overdraft += excess
            }
        }
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    private func refuseOverBudget(unsent: Int, id: UInt64) {
        stats.outputBudgetExceeded.increment()
        logger.notice("socket client closed: unread output over budget",
                      metadata: ["unsent_bytes": "\(unsent)", "uid": "\(peerUID.map(String.init) ?? "unknown")"])
        fail(.resourceExhausted,
             "\(unsent) bytes of replies and events unread (SIDECAR_CLIENT_OUTPUT_BYTES \(settings.outputBytes)): read replies before sending more requests",
             id: id, details: ["unsent_bytes": "\(unsent)", "limit": "\(settings.outputBytes)"])
    }

    /// Sends an error, then ends the connection (framing lost, peer refused). The write side is
    /// shut first and input is discarded until the peer closes (at most `lingerTime`): closing
    /// with unread input would reset the connection and could destroy the error frame in flight.
    private func fail(_ code: SocketErrorCode, _ message: String, id: UInt64, details: [String: String] = [:]) {
        guard let context, !closing else { return }
        closing = true
        stats.errors.increment()
        var buffer = context.channel.allocator.buffer(capacity: 256)
        SocketCodec.encodeFrame(.error(code, message, details: details), id: id, into: &buffer)
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in
            context.close(mode: .output, promise: nil)
            context.eventLoop.scheduleTask(in: Self.lingerTime) { context.close(promise: nil) }
        }
        // A peer that does not read never lets that write complete: its buffered output is freed
        // when the connection closes anyway.
        context.eventLoop.scheduleTask(in: Self.unreadCloseTime) { context.close(promise: nil) }
    }

    static let lingerTime = TimeAmount.seconds(1)
    static let unreadCloseTime = TimeAmount.seconds(5)

    /// Shutdown: a Goodbye after every reply already written, then the write side is shut; the
    /// connection closes when the client closes, or after `timeout`.
    func goodbye(reason: String, timeout: TimeAmount) {
        guard let context, !closing else { return }
        closing = true
        var buffer = context.channel.allocator.buffer(capacity: 64)
        SocketCodec.encodeFrame(.goodbye(reason: reason), id: 0, into: &buffer)
        // Full close when the client closes its side (inputClosed), or at the timeout.
        context.eventLoop.scheduleTask(in: timeout) { context.close(promise: nil) }
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in
            context.close(mode: .output, promise: nil)
        }
    }

    private func scheduleDrain() {
        guard let context else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute { bound.value.drain() }
    }

    /// Writes pushed events while the channel is writable: replays first, then the queue.
    func drain() {
        guard let context, let outbox, context.channel.isActive, !closing else { return }
        outbox.drainStarted()
        var wrote = false
        defer { if wrote { context.flush() } }

        var steps = 0
        while let id = replaying.first {
            guard context.channel.isWritable else {
                outbox.park()
                return
            }
            guard steps < settings.stepsPerDrain else {
                scheduleDrain()  // let other connections on this loop run
                return
            }
            wrote = replayStep(id, context, outbox) || wrote
            steps += 1
        }
        while context.channel.isWritable {
            guard steps < settings.stepsPerDrain else {
                scheduleDrain()
                return
            }
            steps += 1
            let (gaps, events) = outbox.take(max: settings.drainBatch)
            if gaps.isEmpty && events.isEmpty { return }
            var buffer = context.channel.allocator.buffer(capacity: 1024 * max(1, events.count))
            for (id, gap) in gaps where subscriptions[id] != nil {
                SocketCodec.encodeFrame(.gap(.init(subscriptionId: id, fromSeq: gap.fromSeq, toSeq: gap.toSeq, stream: gap.stream)),
                                        id: id, into: &buffer)
                stats.gaps.increment()
            }
            for event in events {
                switch event {
                case .signal(let id, let shared):
                    let signal = shared.signal
                    guard var subscription = subscriptions[id], signal.sequence > subscription.lastDelivered else { continue }
                    subscription.lastDelivered = signal.sequence
                    subscriptions[id] = subscription
                    SocketCodec.encodeFrame(.signalEvent(SocketMapping.signal(signal)), id: id, into: &buffer)
                case .depth(let id, let seq, let update):
                    guard subscriptions[id] != nil else { continue }
                    let metrics = SocketMapping.depth(key: update.key, metrics: update.metrics, trend: update.trend,
                                                      bids: update.bids, asks: update.asks, book: update.book)
                    SocketCodec.encodeFrame(.depthEvent(seq: seq, metrics: metrics), id: id, into: &buffer)
                case .gap(let id, let gap):
                    guard subscriptions[id] != nil else { continue }
                    SocketCodec.encodeFrame(.gap(.init(subscriptionId: id, fromSeq: gap.fromSeq, toSeq: gap.toSeq, stream: gap.stream)),
                                            id: id, into: &buffer)
                    stats.gaps.increment()
                    continue
                }
                stats.eventsSent.increment()
            }
            if buffer.readableBytes > 0 {
                context.write(wrapOutboundOut(buffer), promise: nil)
                wrote = true
            }
        }
        outbox.park()
    }

    /// One page of a signal replay. Returns whether anything was written.
    private func replayStep(_ id: UInt64, _ context: ChannelHandlerContext, _ outbox: SocketOutbox) -> Bool {
        guard var subscription = subscriptions[id], let cursor = subscription.replayCursor else {
            replaying.removeAll { $0 == id }
            return false
        }
        let log = calls.api.signalLog
        let page = log.read(after: cursor, limit: settings.replayBatch, symbols: subscription.symbols,
                            strategies: subscription.strategies)
        var buffer = context.channel.allocator.buffer(capacity: 512 * max(1, page.signals.count))
        if page.truncated {
            // The cursor fell out of the ring while this client was behind.
            let firstKept = page.signals.first?.sequence ?? (page.nextSequence + 1)
            SocketCodec.encodeFrame(.gap(.init(subscriptionId: id, fromSeq: cursor + 1, toSeq: firstKept - 1, stream: .signals)),
                                    id: id, into: &buffer)
            stats.gaps.increment()
        }
        for signal in page.signals {
            SocketCodec.encodeFrame(.signalEvent(SocketMapping.signal(signal)), id: id, into: &buffer)
            stats.eventsSent.increment()
        }
        subscription.replayCursor = page.nextSequence
        subscription.lastDelivered = page.nextSequence
        if page.signals.isEmpty && outbox.finishReplay(subscriptionId: id, cursor: page.nextSequence) {
            subscription.replayCursor = nil
            replaying.removeAll { $0 == id }
        }
        subscriptions[id] = subscription
        guard buffer.readableBytes > 0 else { return false }
        context.write(wrapOutboundOut(buffer), promise: nil)
        return true
    }
}
