import CNATS
import Foundation
import Synchronization

// MARK: - Public configuration and value types

public struct NATSClientOptions: Sendable {
    /// One URL or a comma-separated list (`natsOptions_SetServers`).
    public var url: String
    /// Connection name shown by the server (`natsOptions_SetName`).
    public var name: String
    /// First reconnect delay; doubles per failed pass over the server list up to `maxReconnectWaitMs`.
    public var reconnectWaitMs: Int64
    /// Cap of the exponential reconnect backoff. 1 s: with the jitter and a connect, a client
    /// is back within 2 s of its server's return however long the outage (NATS chaos test).
    public var maxReconnectWaitMs: Int64
    /// Uniform random jitter added to every reconnect delay.
    public var reconnectJitterMs: Int64
    /// Bytes of publishes buffered while disconnected (`natsOptions_SetReconnectBufSize`);
    /// beyond that `publish` throws `.reconnectBufferFull`.
    public var reconnectBufferBytes: Int
    /// Timeout of one TCP connect + handshake attempt (`natsOptions_SetTimeout`).
    public var connectTimeoutMs: Int64
    /// Client PING interval (`natsOptions_SetPingInterval`).
    public var pingIntervalMs: Int64
    /// Unanswered PINGs before the connection is considered stale (`natsOptions_SetMaxPingsOut`).
    public var maxPingsOut: Int

    public init(url: String = "nats://127.0.0.1:4222",
                name: String = "realtime-sidecar",
                reconnectWaitMs: Int64 = 250,
                maxReconnectWaitMs: Int64 = 1000,
                reconnectJitterMs: Int64 = 100,
                reconnectBufferBytes: Int = 8 << 20,
                connectTimeoutMs: Int64 = 2000,
                pingIntervalMs: Int64 = 20_000,
                maxPingsOut: Int = 2) {
        self.url = url
        self.name = name
        self.reconnectWaitMs = reconnectWaitMs
        self.maxReconnectWaitMs = maxReconnectWaitMs
        self.reconnectJitterMs = reconnectJitterMs
        self.reconnectBufferBytes = reconnectBufferBytes
        self.connectTimeoutMs = connectTimeoutMs
        self.pingIntervalMs = pingIntervalMs
        self.maxPingsOut = maxPingsOut
    }

    /// The server URLs parsed from `url`.
    public var serverURLs: [String] {
        url.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

public enum NATSConnectionEvent: Sendable, Equatable {
    /// First connection established (immediately in `init`, or later in the background).
    case connected
    case disconnected
    case reconnected
    /// The connection is closed for good (after `close()`); the last event of a client.
    case closed
    /// An asynchronous error other than slow consumer (libnats status text).
    case error(String)
    /// A subscription's pending limits were hit and messages are being dropped.
    case slowConsumer
}

public struct NATSClientStats: Sendable, Equatable {
    /// Reconnected callbacks observed.
    public var reconnects: UInt64 = 0
    /// Disconnected callbacks observed (a `close()` of a connected client counts one).
    public var disconnects: UInt64 = 0
    /// Slow-consumer episodes reported by libnats (one per episode, not per dropped message;
    /// see `NATSSubscription.droppedCount` for messages).
    public var slowConsumerErrors: UInt64 = 0
    /// Other asynchronous errors reported by libnats.
    public var asyncErrors: UInt64 = 0
    public var outMsgs: UInt64 = 0
    public var outBytes: UInt64 = 0
    public var inMsgs: UInt64 = 0
    public var inBytes: UInt64 = 0

    public init() {}
}

// MARK: - Library lifetime

/// Process-wide libnats state.
public enum NATSLibrary {
    private enum State { case notOpened, open, shutDown }
    private static let state = Mutex<State>(.notOpened)

    /// libnats version string (e.g. "3.4.1").
    public static var version: String {
        guard let v = nats_GetVersion() else { return "unknown" }
        return String(cString: v)
    }

    /// Opens libnats once and sizes the global message delivery pool to ONE thread, so every
    /// subscription of every client in this process is delivered on the same thread.
    static func open() throws {
        try state.withLock { (st: inout State) throws(NATSError) -> Void in
            switch st {
            case .open:
                return
            case .shutDown:
                throw NATSError.invalid(NATS_NOT_INITIALIZED, operation: "open library",
                                        detail: "NATSLibrary.shutdown was already called")
            case .notOpened:
                let s = nats_Open(-1)
                guard s == NATS_OK else { throw NATSError(status: s, operation: "open library") }
                // The pool never shrinks; this must run before any subscription uses the pool.
                let p = nats_SetMessageDeliveryPoolSize(1)
                guard p == NATS_OK else { throw NATSError(status: p, operation: "set delivery pool size") }
                st = .open
            }
        }
    }

    /// Call once at process exit, from a non-NATS thread, after every client is closed
    /// (`nats_CloseAndWait`). Clients cannot be created afterwards.
    public static func shutdown(timeoutMs: Int64) {
        if NATSThread.isCurrent { return }  // nats_CloseAndWait from a NATS thread is illegal
        state.withLock { st in
            if st == .open { _ = nats_CloseAndWait(timeoutMs) }
            st = .shutDown
        }
    }
}

// MARK: - Client

/// One NATS connection (libnats `natsConnection`). Thread-safe. All subscriptions deliver on
/// libnats' global delivery pool sized to one thread (`NATSLibrary.open`).
///
/// Call `close(drainTimeoutMs:)` when done: handlers that capture the client keep it alive
/// through libnats until the subscriptions are closed.
public final class NATSClient: @unchecked Sendable {
    public let options: NATSClientOptions

    private let nc: OpaquePointer
    private let context: ConnectionContext
    private let gate = RundownGate()

    private struct State {
        var closing = false
        var subscriptions: [ObjectIdentifier: NATSSubscription] = [:]
        var finalStats: NATSClientStats? = nil
    }
    private let state = Mutex(State())

    /// Starts connecting. With the server down this returns immediately and keeps connecting in
    /// the background for ever (`.connected` is emitted when it succeeds).
    public init(options: NATSClientOptions = NATSClientOptions(),
                onEvent: (@Sendable (NATSConnectionEvent) -> Void)? = nil) throws {
        try NATSLibrary.open()
        try Self.validate(options)
        self.options = options

        var optsOut: OpaquePointer? = nil
        try NATSError.check(natsOptions_Create(&optsOut), "create options")
        guard let opts = optsOut else {
            throw NATSError.invalid(NATS_NO_MEMORY, operation: "create options", detail: "natsOptions_Create returned NULL")
        }
        defer { natsOptions_Destroy(opts) }  // natsConnection_Connect clones the options

        let context = ConnectionContext(options: options, onEvent: onEvent)
        let closure = Unmanaged.passUnretained(context).toOpaque()
        try Self.configure(opts, options, closure: closure)

        // +1 for libnats' callbacks; released by natsClosedTrampoline.
        let retained = Unmanaged.passRetained(context)
        var connOut: OpaquePointer? = nil
        let status = natsConnection_Connect(&connOut, opts)
        guard status == NATS_OK || status == NATS_NOT_YET_CONNECTED, let conn = connOut else {
            // natsConnection_Connect failed and released its half-built connection without
            // closing it: no callback was or will be posted, so libnats never used the +1.
            let error = NATSError(status: status == NATS_OK ? NATS_ERR : status,
                                  operation: "connect to \(options.url)")
            retained.release()
            throw error
        }
        self.nc = conn
        self.context = context
        if status == NATS_OK {
            context.connects.add(1, ordering: .relaxed)
            context.emit(.connected)
        }
    }

    deinit {
        close(drainTimeoutMs: 0)
    }

    /// Lends the connection to the other wrapper files (JetStream key-value), guarded against close.
    func withConnection<T>(_ operation: String, _ body: (OpaquePointer) throws -> T) throws -> T {
        guard gate.enter() else {
            throw NATSError.invalid(NATS_CONNECTION_CLOSED, operation: operation, detail: "the client is closed")
        }
        defer { gate.leave() }
        return try body(nc)
    }

    public var isConnected: Bool {
        guard gate.enter() else { return false }
        defer { gate.leave() }
        return natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED
    }

    public var stats: NATSClientStats {
        guard gate.enter() else {
            return state.withLock { $0.finalStats } ?? counterStats()
        }
        defer { gate.leave() }
        return readStats()
    }

    // MARK: Subscribe

    /// Zero-copy handler: runs on the single delivery thread; both buffers are only valid during
    /// the call. `pendingMessageLimit`/`pendingByteLimit`: -1 for unlimited, otherwise > 0.
    public func subscribe(subject: String, queueGroup: String? = nil,
                          pendingMessageLimit: Int = 65_536, pendingByteLimit: Int = 64 << 20,
                          handler: @escaping (_ subject: UnsafeRawBufferPointer, _ payload: UnsafeRawBufferPointer) -> Void) throws -> NATSSubscription {
        try subscribeImpl(subject: subject, queueGroup: queueGroup, pendingMessageLimit: pendingMessageLimit,
                          pendingByteLimit: pendingByteLimit, handler: .raw(handler))
    }

    /// Handler receiving a borrowed `NATSMessageView` (payload, subject and header access);
    /// the view is only valid during the call.
    public func subscribe(subject: String, queueGroup: String? = nil,
                          pendingMessageLimit: Int = 65_536, pendingByteLimit: Int = 64 << 20,
                          messageHandler: @escaping (NATSMessageView) -> Void) throws -> NATSSubscription {
        try subscribeImpl(subject: subject, queueGroup: queueGroup, pendingMessageLimit: pendingMessageLimit,
                          pendingByteLimit: pendingByteLimit, handler: .view(messageHandler))
    }

    private func subscribeImpl(subject: String, queueGroup: String?, pendingMessageLimit: Int,
                               pendingByteLimit: Int, handler: SubscriptionContext.Handler) throws -> NATSSubscription {
        if let problem = Self.subjectProblem(subject, allowWildcards: true) {
            throw NATSError.invalid(NATS_INVALID_SUBJECT, operation: "subscribe", subject: subject, detail: problem)
        }
        if let queueGroup, queueGroup.isEmpty || queueGroup.utf8.contains(where: Self.isSpaceOrControl) {
            throw NATSError.invalid(NATS_INVALID_QUEUE_NAME, operation: "subscribe", subject: subject,
                                    detail: "invalid queue group '\(queueGroup)'")
        }
        guard Self.isValidLimit(pendingMessageLimit), Self.isValidLimit(pendingByteLimit) else {
            throw NATSError.invalid(NATS_INVALID_ARG, operation: "subscribe", subject: subject,
                                    detail: "pending limits must be -1 or in 1...\(Int32.max) (got \(pendingMessageLimit) msgs, \(pendingByteLimit) bytes)")
        }

        let context = SubscriptionContext(subject: subject, handler: handler)
        let closure = Unmanaged.passUnretained(context).toOpaque()

        return try state.withLock { (st: inout State) throws(NATSError) -> NATSSubscription in
            guard !st.closing, gate.enter() else {
                throw NATSError.invalid(NATS_CONNECTION_CLOSED, operation: "subscribe", subject: subject,
                                        detail: "client is closed")
            }
            defer { gate.leave() }

            var subOut: OpaquePointer? = nil
            let status: natsStatus = subject.withCString { subj in
                if let queueGroup {
                    return queueGroup.withCString { queue in
                        natsConnection_QueueSubscribe(&subOut, nc, subj, queue, natsMessageTrampoline, closure)
                    }
                }
                return natsConnection_Subscribe(&subOut, nc, subj, natsMessageTrampoline, closure)
            }
            guard status == NATS_OK, let sub = subOut else {
                // No subscription exists, libnats holds no live reference to `context`
                // (it was passed unretained and is freed with this scope).
                throw NATSError(status: status == NATS_OK ? NATS_ERR : status, operation: "subscribe", subject: subject)
            }
            // Until here `context` was kept alive by this scope. From now on libnats owns a +1,
            // released only by natsSubscriptionCompleteTrampoline.
            _ = Unmanaged.passRetained(context)
            let subscription = NATSSubscription(subject: subject, queueGroup: queueGroup, handle: sub,
                                                context: context, owner: self)
            st.subscriptions[ObjectIdentifier(subscription)] = subscription

            let completeStatus = natsSubscription_SetOnCompleteCB(sub, natsSubscriptionCompleteTrampoline, closure)
            if completeStatus != NATS_OK {
                // Only possible if the subscription was already closed, which cannot happen while
                // we hold the state lock of an open client. libnats will then never call
                // OnComplete and its handler might still be finishing, so the +1 is deliberately
                // leaked (one small object) instead of risking a use-after-free.
                throw NATSError(status: completeStatus, operation: "subscribe (set OnComplete)", subject: subject)
            }
            let limitStatus = natsSubscription_SetPendingLimits(sub, Int32(pendingMessageLimit), Int32(pendingByteLimit))
            if limitStatus != NATS_OK {
                let error = NATSError(status: limitStatus, operation: "subscribe (set pending limits)", subject: subject)
                // Close it; OnComplete releases the context, close()/deinit destroys the handle.
                _ = natsSubscription_Unsubscribe(sub)
                throw error
            }
            return subscription
        }
    }

    func forget(_ subscription: NATSSubscription) {
        state.withLock { _ = $0.subscriptions.removeValue(forKey: ObjectIdentifier(subscription)) }
    }

    // MARK: Publish

    /// Publishes `payload` (copied into libnats' buffer before returning). With headers the
    /// message goes through `natsMsg_Create` + `natsMsgHeader_Add` + `natsConnection_PublishMsg`
    /// (repeated keys keep every value); without, through `natsConnection_Publish`.
    /// A successful return means "buffered", not "received by the server" (see `flush`).
    public func publish(subject: String, payload: UnsafeRawBufferPointer, headers: [(String, String)] = []) throws {
        guard payload.count <= Int(Int32.max) else {
            throw NATSError.invalid(NATS_MAX_PAYLOAD, operation: "publish", subject: subject,
                                    detail: "payload of \(payload.count) bytes exceeds Int32.max")
        }
        guard gate.enter() else {
            throw NATSError.invalid(NATS_CONNECTION_CLOSED, operation: "publish", subject: subject, detail: "client is closed")
        }
        defer { gate.leave() }
        let status: natsStatus = subject.withCString { subj in
            if headers.isEmpty {
                return natsConnection_Publish(nc, subj, payload.baseAddress, Int32(payload.count))
            }
            return Self.publishWithHeaders(nc, subj, payload, headers)
        }
        if status != NATS_OK {
            throw NATSError(status: status, operation: "publish", subject: subject)
        }
    }

    public func publish(subject: String, bytes: [UInt8], headers: [(String, String)] = []) throws {
        try bytes.withUnsafeBytes { try publish(subject: subject, payload: $0, headers: headers) }
    }

    private static func publishWithHeaders(_ nc: OpaquePointer, _ subject: UnsafePointer<CChar>,
                                           _ payload: UnsafeRawBufferPointer, _ headers: [(String, String)]) -> natsStatus {
        var msgOut: OpaquePointer? = nil
        var status = natsMsg_Create(&msgOut, subject, nil,
                                    payload.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(payload.count))
        guard status == NATS_OK, let msg = msgOut else { return status == NATS_OK ? NATS_NO_MEMORY : status }
        defer { natsMsg_Destroy(msg) }  // we created it; natsConnection_PublishMsg does not take ownership
        for (key, value) in headers {
            status = key.withCString { k in value.withCString { v in natsMsgHeader_Add(msg, k, v) } }
            if status != NATS_OK { return status }
        }
        return natsConnection_PublishMsg(nc, msg)
    }

    /// PING/PONG round trip: everything published before has reached the server, and every
    /// subscription created before is registered there.
    public func flush(timeoutMs: Int64) throws {
        guard timeoutMs > 0 else {
            throw NATSError.invalid(NATS_INVALID_TIMEOUT, operation: "flush", detail: "timeout must be > 0 ms")
        }
        guard gate.enter() else {
            throw NATSError.invalid(NATS_CONNECTION_CLOSED, operation: "flush", detail: "client is closed")
        }
        defer { gate.leave() }
        try NATSError.check(natsConnection_FlushTimeout(nc, timeoutMs), "flush")
    }

    // MARK: Close

    /// Idempotent shutdown: drains every subscription (waiting for each OnComplete, bounded by
    /// `drainTimeoutMs`), flushes publishes, closes and destroys the connection. With
    /// `drainTimeoutMs <= 0`, while disconnected from the server, or when called from a NATS
    /// handler/event callback, it skips drain and flush and closes directly (messages still
    /// pending in the client are discarded). Called outside NATS threads, it returns after every
    /// subscription's OnComplete (bounded), so no handler of this client runs afterwards.
    public func close(drainTimeoutMs: Int64) {
        let taken: [NATSSubscription]? = state.withLock { st in
            if st.closing { return nil }
            st.closing = true
            return Array(st.subscriptions.values)
        }
        guard let subscriptions = taken else { return }
        let canWait = !NATSThread.isCurrent

        // `close` is the only code that destroys `nc`, and runs once: no gate needed here.
        // Draining needs the server (UNSUB + PING/PONG); while disconnected libnats would sit on
        // the drain until its timeout, so a disconnected client closes directly.
        if drainTimeoutMs > 0, canWait, natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED {
            let start = Date()
            let deadline = start.addingTimeInterval(Double(drainTimeoutMs) / 1000)
            for sub in subscriptions { sub.startDrain(timeoutMs: drainTimeoutMs) }
            for sub in subscriptions where sub.context.completed.wait(until: deadline.addingTimeInterval(0.5)) {
                sub.destroyHandleAfterClose()  // closed and OnComplete done: safe to destroy
            }
            if natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED {
                let remaining = Int64(deadline.timeIntervalSinceNow * 1000)
                _ = natsConnection_FlushTimeout(nc, max(remaining, min(drainTimeoutMs, 250)))
            }
        }
        for sub in subscriptions { sub.snapshotCounters() }

        gate.shut()                     // new publish/flush/subscribe calls fail fast from here
        natsConnection_Close(nc)        // closes remaining subscriptions (OnComplete follows) and joins the reader
        gate.waitForInFlight()          // in-flight calls return NATS_CONNECTION_CLOSED promptly
        if canWait {
            // OnComplete of the subscriptions closed by natsConnection_Close runs on the delivery
            // thread once any running handler returns: after this, no handler of this client runs.
            let deadline = Date().addingTimeInterval(2)
            for sub in subscriptions { _ = sub.context.completed.wait(until: deadline) }
        }
        let finalStats = readStats()
        for sub in subscriptions { sub.destroyHandleAfterClose() }  // closed with the connection
        natsConnection_Destroy(nc)
        state.withLock { st in
            st.finalStats = finalStats
            st.subscriptions.removeAll()
        }
        if canWait {
            _ = context.closedLatch.wait(until: Date().addingTimeInterval(2))
        }
    }

    // MARK: Private helpers

    private func counterStats() -> NATSClientStats {
        var result = NATSClientStats()
        result.reconnects = context.reconnects.load(ordering: .relaxed)
        result.disconnects = context.disconnects.load(ordering: .relaxed)
        result.slowConsumerErrors = context.slowConsumerErrors.load(ordering: .relaxed)
        result.asyncErrors = context.asyncErrors.load(ordering: .relaxed)
        return result
    }

    /// Caller guarantees `nc` is not destroyed during the call.
    private func readStats() -> NATSClientStats {
        var result = counterStats()
        var statsOut: OpaquePointer? = nil
        guard natsStatistics_Create(&statsOut) == NATS_OK, let st = statsOut else { return result }
        defer { natsStatistics_Destroy(st) }
        guard natsConnection_GetStats(nc, st) == NATS_OK else { return result }
        var inMsgs: UInt64 = 0, inBytes: UInt64 = 0, outMsgs: UInt64 = 0, outBytes: UInt64 = 0, reconnects: UInt64 = 0
        if natsStatistics_GetCounts(st, &inMsgs, &inBytes, &outMsgs, &outBytes, &reconnects) == NATS_OK {
            result.inMsgs = inMsgs
            result.inBytes = inBytes
            result.outMsgs = outMsgs
            result.outBytes = outBytes
        }
        return result
    }

    private static func validate(_ o: NATSClientOptions) throws {
        func bad(_ detail: String) -> NATSError {
            NATSError.invalid(NATS_INVALID_ARG, operation: "configure client", detail: detail)
        }
        if o.serverURLs.isEmpty { throw bad("no server URL in '\(o.url)'") }
        if o.reconnectWaitMs < 0 || o.maxReconnectWaitMs < 0 || o.reconnectJitterMs < 0 {
            throw bad("reconnect wait, max wait and jitter must be >= 0")
        }
        if o.reconnectBufferBytes < 0 || o.reconnectBufferBytes > Int(Int32.max) {
            throw bad("reconnectBufferBytes must be in 0...\(Int32.max)")
        }
        if o.connectTimeoutMs <= 0 { throw bad("connectTimeoutMs must be > 0") }
        if o.pingIntervalMs <= 0 { throw bad("pingIntervalMs must be > 0") }
        if o.maxPingsOut <= 0 || o.maxPingsOut > Int(Int32.max) { throw bad("maxPingsOut must be > 0") }
    }

    private static func configure(_ opts: OpaquePointer, _ o: NATSClientOptions,
                                  closure: UnsafeMutableRawPointer) throws {
        let op = "configure client"
        let urls = o.serverURLs
        var cURLs: [UnsafeMutablePointer<CChar>?] = urls.map { strdup($0) }
        defer { cURLs.forEach { free($0) } }
        let serversStatus: natsStatus = cURLs.withUnsafeMutableBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buf.count) {
                natsOptions_SetServers(opts, $0, Int32(buf.count))
            }
        }
        try NATSError.check(serversStatus, op + " (servers \(o.url))")
        try NATSError.check(natsOptions_SetName(opts, o.name), op + " (name)")
        try NATSError.check(natsOptions_SetAllowReconnect(opts, true), op + " (allow reconnect)")
        try NATSError.check(natsOptions_SetMaxReconnect(opts, -1), op + " (max reconnect)")  // never give up
        try NATSError.check(natsOptions_SetReconnectWait(opts, o.reconnectWaitMs), op + " (reconnect wait)")
        try NATSError.check(natsOptions_SetReconnectJitter(opts, o.reconnectJitterMs, o.reconnectJitterMs), op + " (jitter)")
        // Exponential backoff with jitter; supersedes the fixed wait above.
        try NATSError.check(natsOptions_SetCustomReconnectDelay(opts, natsReconnectDelayTrampoline, closure), op + " (backoff)")
        try NATSError.check(natsOptions_SetReconnectBufSize(opts, Int32(o.reconnectBufferBytes)), op + " (reconnect buffer)")
        try NATSError.check(natsOptions_SetTimeout(opts, o.connectTimeoutMs), op + " (connect timeout)")
        try NATSError.check(natsOptions_SetPingInterval(opts, o.pingIntervalMs), op + " (ping interval)")
        try NATSError.check(natsOptions_SetMaxPingsOut(opts, Int32(o.maxPingsOut)), op + " (max pings out)")
        // With a connected callback, Connect returns NATS_NOT_YET_CONNECTED instead of blocking
        // and keeps trying in the background with the reconnect settings.
        try NATSError.check(natsOptions_SetRetryOnFailedConnect(opts, true, natsConnectedTrampoline, closure), op + " (retry on failed connect)")
        try NATSError.check(natsOptions_SetErrorHandler(opts, natsErrorTrampoline, closure), op + " (error handler)")
        try NATSError.check(natsOptions_SetDisconnectedCB(opts, natsDisconnectedTrampoline, closure), op + " (disconnected cb)")
        try NATSError.check(natsOptions_SetReconnectedCB(opts, natsReconnectedTrampoline, closure), op + " (reconnected cb)")
        try NATSError.check(natsOptions_SetClosedCB(opts, natsClosedTrampoline, closure), op + " (closed cb)")
        // Single delivery thread: the library pool (sized to 1 in NATSLibrary.open) for every subscription.
        try NATSError.check(natsOptions_UseGlobalMessageDelivery(opts, true), op + " (global delivery)")
    }

    private static func isValidLimit(_ value: Int) -> Bool {
        value == -1 || (value > 0 && value <= Int(Int32.max))
    }

    private static func isSpaceOrControl(_ byte: UInt8) -> Bool {
        byte <= 0x20 || byte == 0x7F
    }

    /// NATS subject grammar: non-empty dot-separated tokens without whitespace/control bytes;
    /// `*` and `>` only as whole tokens, `>` only last.
    static func subjectProblem(_ subject: String, allowWildcards: Bool) -> String? {
        if subject.isEmpty { return "subject is empty" }
        let tokens = subject.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        for (index, token) in tokens.enumerated() {
            if token.isEmpty { return "subject has an empty token" }
            if token.contains(where: isSpaceOrControl) { return "subject contains whitespace or control characters" }
            let hasStar = token.contains(UInt8(ascii: "*"))
            let hasGreater = token.contains(UInt8(ascii: ">"))
            if hasStar || hasGreater {
                if !allowWildcards { return "wildcards are not allowed here" }
                if token.count != 1 { return "wildcards must be whole tokens" }
                if hasGreater && index != tokens.count - 1 { return "'>' must be the last token" }
            }
        }
        return nil
    }
}
