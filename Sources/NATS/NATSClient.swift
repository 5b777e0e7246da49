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
    /// TLS material and credentials (`NATSClient+Security.swift`); secrets go to libnats only.
    public var security = NATSSecurity()

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
/// The first connect is the wrapper's own: `init` tries once, and if the server is down or does
/// not answer the handshake, a connector thread keeps trying with the reconnect backoff.
/// libnats' retry-on-failed-connect is not used: in 3.4.1 a first handshake that times out (a
/// server that accepts TCP but never answers) closes the connection for good. Until connected,
/// subscriptions are recorded and made on connect, and publishes are buffered up to
/// `reconnectBufferBytes`. After the first connect libnats reconnects by itself.
///
/// Call `close(drainTimeoutMs:)` when done: handlers that capture the client keep it alive
/// through libnats until the subscriptions are closed.
public final class NATSClient: @unchecked Sendable {
    public let options: NATSClientOptions

    /// The `natsConnection*` once the first connect succeeded, as a bit pattern; 0 before.
    /// Stored once (by `init` or the connector), destroyed only by `close`.
    private let connection = Atomic<UInt>(0)
    private let context: ConnectionContext
    private let gate = RundownGate()
    /// Opened by `close` to stop the connector; the connector opens `connectorExited` when done.
    private let connectorStop = CompletionLatch()
    private let connectorExited = CompletionLatch()

    private struct State {
        var closing = false
        var subscriptions: [ObjectIdentifier: NATSSubscription] = [:]
        /// Subscriptions made before the first connect, in order, made on the server at connect.
        var awaitingConnection: [AwaitingSubscription] = []
        /// Publishes made before the first connect, sent at connect.
        var bufferedPublishes: [BufferedPublish] = []
        var bufferedBytes = 0
        var connectorRunning = false
        var finalStats: NATSClientStats? = nil
    }
    private struct AwaitingSubscription {
        let subscription: NATSSubscription
        let pendingMessageLimit: Int
        let pendingByteLimit: Int
    }
    private struct BufferedPublish {
        let subject: String
        let payload: [UInt8]
        let headers: [(String, String)]
    }
    private let state = Mutex(State())

    /// Connects. With the server down or not answering, this returns after one attempt (at most
    /// `connectTimeoutMs` per server) and keeps connecting in the background for ever
    /// (`.connected` is emitted when it succeeds).
    public init(options: NATSClientOptions = NATSClientOptions(),
                onEvent: (@Sendable (NATSConnectionEvent) -> Void)? = nil) throws {
        try NATSLibrary.open()
        try Self.validate(options)
        self.options = options
        self.context = ConnectionContext(options: options, onEvent: onEvent)
        switch try Self.connectOnce(options, context) {
        case .success(let conn):
            connection.store(UInt(bitPattern: conn), ordering: .releasing)
            context.connects.add(1, ordering: .relaxed)
            context.emit(.connected)
        case .failure(let error):
            context.recordConnectFailure(error)
            context.emit(.error("first connect to \(NATSURLRedaction.redacted(options.url)) failed (\(error.summary)); "
                                + "retrying in the background"))
            startConnector()
        }
    }

    deinit {
        close(drainTimeoutMs: 0)
    }

    private var nc: OpaquePointer? { OpaquePointer(bitPattern: connection.load(ordering: .acquiring)) }

    /// Lends the connection to the other wrapper files (JetStream key-value), guarded against close.
    func withConnection<T>(_ operation: String, _ body: (OpaquePointer) throws -> T) throws -> T {
        guard gate.enter() else {
            throw NATSError.invalid(NATS_CONNECTION_CLOSED, operation: operation, detail: "the client is closed")
        }
        defer { gate.leave() }
        guard let nc else {
            throw NATSError.invalid(NATS_NOT_YET_CONNECTED, operation: operation,
                                    detail: "not connected to \(NATSURLRedaction.redacted(options.url)) yet")
        }
        return try body(nc)
    }

    /// Why the client is not connected, while it is not: the last failed connect attempt
    /// (e.g. "Authorization Violation", a TLS verification error). Never holds a secret.
    public var connectFailure: String? {
        guard gate.enter() else { return nil }
        defer { gate.leave() }
        guard let nc else { return context.lastConnectFailure }  // before the first connect
        guard natsConnection_Status(nc) != NATS_CONN_STATUS_CONNECTED else { return nil }
        // After it: libnats' own reconnect records why the last attempt failed on the connection.
        var text: UnsafePointer<CChar>? = nil
        let status = natsConnection_GetLastError(nc, &text)
        guard status != NATS_OK else { return nil }
        let detail = text.map { String(cString: $0) } ?? ""
        let statusText = NATSError.text(of: status)
        return detail.isEmpty || detail == statusText ? statusText : "\(statusText): \(detail)"
    }

    public var isConnected: Bool {
        guard gate.enter() else { return false }
        defer { gate.leave() }
        guard let nc else { return false }
        return natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED
    }

    public var stats: NATSClientStats {
        guard gate.enter() else {
            return state.withLock { $0.finalStats } ?? counterStats()
        }
        defer { gate.leave() }
        return readStats()
    }

    // MARK: First connect

    /// One connect attempt over the server list. Throws only for a configuration the library
    /// refuses; a server that is down or silent is a `.failure` to retry.
    private static func connectOnce(_ options: NATSClientOptions,
                                    _ context: ConnectionContext) throws -> Result<OpaquePointer, NATSError> {
        var optsOut: OpaquePointer? = nil
        try NATSError.check(natsOptions_Create(&optsOut), "create options")
        guard let opts = optsOut else {
            throw NATSError.invalid(NATS_NO_MEMORY, operation: "create options", detail: "natsOptions_Create returned NULL")
        }
        defer { natsOptions_Destroy(opts) }  // natsConnection_Connect clones the options
        try configure(opts, options, closure: Unmanaged.passUnretained(context).toOpaque())

        // +1 for libnats' callbacks; released by natsClosedTrampoline.
        let retained = Unmanaged.passRetained(context)
        var connOut: OpaquePointer? = nil
        let status = natsConnection_Connect(&connOut, opts)
        guard status == NATS_OK, let conn = connOut else {
            // A failed natsConnection_Connect releases its half-built connection without posting
            // any callback, so libnats never used the +1.
            let error = Self.explained(NATSError(status: status == NATS_OK ? NATS_ERR : status,
                                                 operation: "connect to \(NATSURLRedaction.redacted(options.url))"),
                                       options)
            retained.release()
            if error.kind == .invalidArgument { throw error }
            return .failure(error)
        }
        return .success(conn)
    }

    /// Keeps trying the first connect with the reconnect backoff until it succeeds or `close`.
    private func startConnector() {
        state.withLock { $0.connectorRunning = true }
        let options = self.options
        let context = self.context
        let stop = connectorStop
        let exited = connectorExited
        let thread = Thread { [weak self] in
            NATSThread.markCurrent()  // a close() from here must not wait for this thread
            defer { exited.open() }
            var attempt = 0
            while true {
                attempt += 1
                let delayMs = NATSReconnectBackoff.delayMs(attempt: attempt, baseMs: options.reconnectWaitMs,
                                                           capMs: options.maxReconnectWaitMs,
                                                           jitterMs: options.reconnectJitterMs)
                if stop.wait(until: Date().addingTimeInterval(Double(delayMs) / 1000)) { return }
                let conn: OpaquePointer
                do {
                    switch try Self.connectOnce(options, context) {
                    case .success(let c): conn = c
                    case .failure(let error):
                        if context.recordConnectFailure(error) {
                            context.emit(.error("connect to \(NATSURLRedaction.redacted(options.url)) failed (\(error.summary)); retrying"))
                        }
                        continue
                    }
                } catch {
                    continue
                }
                if self?.install(conn) != true {
                    natsConnection_Destroy(conn)  // closed meanwhile: this thread owns it
                }
                return
            }
        }
        thread.name = "nats-first-connect"
        thread.start()
    }

    /// Publishes the connection, then makes the awaiting subscriptions and sends the buffered
    /// publishes, in that order (a buffered publish reaches a subscription made before it).
    private func install(_ conn: OpaquePointer) -> Bool {
        let failures = state.withLock { (st: inout State) -> [NATSError]? in
            guard !st.closing else { return nil }
            connection.store(UInt(bitPattern: conn), ordering: .releasing)
            var failures: [NATSError] = []
            for awaiting in st.awaitingConnection {
                do throws(NATSError) {
                    try attach(awaiting.subscription, conn, pendingMessageLimit: awaiting.pendingMessageLimit,
                               pendingByteLimit: awaiting.pendingByteLimit)
                } catch {
                    failures.append(error)
                    st.subscriptions.removeValue(forKey: ObjectIdentifier(awaiting.subscription))
                    awaiting.subscription.context.completed.open()  // never attached: its handler never runs
                }
            }
            for publish in st.bufferedPublishes {
                let status = publish.subject.withCString { subject in
                    publish.payload.withUnsafeBytes { Self.publish(conn, subject, $0, publish.headers) }
                }
                if status != NATS_OK { failures.append(NATSError(status: status, operation: "publish", subject: publish.subject)) }
            }
            st.awaitingConnection.removeAll()
            st.bufferedPublishes.removeAll()
            st.bufferedBytes = 0
            st.connectorRunning = false
            return failures
        }
        guard let failures else { return false }
        context.connects.add(1, ordering: .relaxed)
        context.emit(.connected)
        for failure in failures { context.emit(.error("\(failure)")) }
        return true
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

        let subscription = NATSSubscription(subject: subject, queueGroup: queueGroup,
                                            context: SubscriptionContext(subject: subject, handler: handler), owner: self)
        try state.withLock { (st: inout State) throws(NATSError) -> Void in
            guard !st.closing, gate.enter() else {
                throw NATSError.invalid(NATS_CONNECTION_CLOSED, operation: "subscribe", subject: subject,
                                        detail: "client is closed")
            }
            defer { gate.leave() }
            if let nc {
                try attach(subscription, nc, pendingMessageLimit: pendingMessageLimit, pendingByteLimit: pendingByteLimit)
            } else {
                st.awaitingConnection.append(AwaitingSubscription(subscription: subscription, pendingMessageLimit: pendingMessageLimit,
                                                                  pendingByteLimit: pendingByteLimit))
            }
            st.subscriptions[ObjectIdentifier(subscription)] = subscription
        }
        return subscription
    }

    /// Makes `subscription` on the server. Caller holds the state lock and keeps `conn` alive.
    private func attach(_ subscription: NATSSubscription, _ conn: OpaquePointer,
                        pendingMessageLimit: Int, pendingByteLimit: Int) throws(NATSError) {
        let subject = subscription.subject
        let context = subscription.context
        let closure = Unmanaged.passUnretained(context).toOpaque()
        var subOut: OpaquePointer? = nil
        let status: natsStatus = subject.withCString { subj in
            if let queueGroup = subscription.queueGroup {
                return queueGroup.withCString { queue in
                    natsConnection_QueueSubscribe(&subOut, conn, subj, queue, natsMessageTrampoline, closure)
                }
            }
            return natsConnection_Subscribe(&subOut, conn, subj, natsMessageTrampoline, closure)
        }
        guard status == NATS_OK, let sub = subOut else {
            // No subscription exists, libnats holds no live reference to `context`
            // (it was passed unretained and the NATSSubscription keeps it).
            throw NATSError(status: status == NATS_OK ? NATS_ERR : status, operation: "subscribe", subject: subject)
        }
        // From now on libnats owns a +1, released only by natsSubscriptionCompleteTrampoline.
        _ = Unmanaged.passRetained(context)
        subscription.attach(sub)

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
    }

    func forget(_ subscription: NATSSubscription) {
        state.withLock { _ = $0.subscriptions.removeValue(forKey: ObjectIdentifier(subscription)) }
    }

    /// Withdraws a subscription still waiting for the first connect. False once it was made.
    func withdrawAwaiting(_ subscription: NATSSubscription) -> Bool {
        let withdrawn = state.withLock { st in
            guard let index = st.awaitingConnection.firstIndex(where: { $0.subscription === subscription }) else { return false }
            st.awaitingConnection.remove(at: index)
            st.subscriptions.removeValue(forKey: ObjectIdentifier(subscription))
            return true
        }
        if withdrawn { subscription.context.completed.open() }  // never attached: its handler never runs
        return withdrawn
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
        let status: natsStatus
        if let nc {
            status = subject.withCString { Self.publish(nc, $0, payload, headers) }
        } else {
            status = bufferBeforeFirstConnect(subject: subject, payload: payload, headers: headers)
        }
        if status != NATS_OK {
            throw NATSError(status: status, operation: "publish", subject: subject)
        }
    }

    // Inlinable: the wrapper folds into the per-signal caller (SignalRouter), as it did in one module.
    @inlinable
    public func publish(subject: String, bytes: [UInt8], headers: [(String, String)] = []) throws {
        try bytes.withUnsafeBytes { try publish(subject: subject, payload: $0, headers: headers) }
    }

    /// Before the first connect: keep the publish for `install`, within `reconnectBufferBytes`
    /// (the budget libnats applies while reconnecting). Rechecks under the lock, since the
    /// connector may have installed the connection since the caller looked.
    private func bufferBeforeFirstConnect(subject: String, payload: UnsafeRawBufferPointer,
                                          headers: [(String, String)]) -> natsStatus {
        let buffered: natsStatus? = state.withLock { st in
            if st.closing { return NATS_CONNECTION_CLOSED }
            if nc != nil { return nil }
            let size = subject.utf8.count + payload.count
            guard st.bufferedBytes + size <= options.reconnectBufferBytes else { return NATS_INSUFFICIENT_BUFFER }
            st.bufferedPublishes.append(BufferedPublish(subject: subject, payload: Array(payload), headers: headers))
            st.bufferedBytes += size
            return NATS_OK
        }
        if let buffered { return buffered }
        guard let nc else { return NATS_NOT_YET_CONNECTED }
        return subject.withCString { Self.publish(nc, $0, payload, headers) }
    }

    private static func publish(_ nc: OpaquePointer, _ subject: UnsafePointer<CChar>,
                                _ payload: UnsafeRawBufferPointer, _ headers: [(String, String)]) -> natsStatus {
        if headers.isEmpty {
            return natsConnection_Publish(nc, subject, payload.baseAddress, Int32(payload.count))
        }
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
        try withConnection("flush") { nc in
            try NATSError.check(natsConnection_FlushTimeout(nc, timeoutMs), "flush")
        }
    }

    // MARK: Close

    /// Idempotent shutdown: drains every subscription (waiting for each OnComplete, bounded by
    /// `drainTimeoutMs`), flushes publishes, closes and destroys the connection. With
    /// `drainTimeoutMs <= 0`, while disconnected from the server, or when called from a NATS
    /// handler/event callback, it skips drain and flush and closes directly (messages still
    /// pending in the client are discarded). Called outside NATS threads, it returns after every
    /// subscription's OnComplete (bounded), so no handler of this client runs afterwards.
    /// Before the first connect it stops the connector; buffered publishes are discarded.
    public func close(drainTimeoutMs: Int64) {
        let taken: (subscriptions: [NATSSubscription], awaiting: [NATSSubscription], connector: Bool)? = state.withLock { st in
            if st.closing { return nil }
            st.closing = true
            let awaiting = st.awaitingConnection.map(\.subscription)
            st.awaitingConnection.removeAll()
            st.bufferedPublishes.removeAll()
            st.bufferedBytes = 0
            return (Array(st.subscriptions.values), awaiting, st.connectorRunning)
        }
        guard let (subscriptions, awaiting, connectorRunning) = taken else { return }
        let canWait = !NATSThread.isCurrent
        for sub in awaiting { sub.context.completed.open() }  // never attached: their handlers never run
        if connectorRunning {
            connectorStop.open()
            // At most one attempt in progress: one handshake timeout per server.
            let boundMs = options.connectTimeoutMs * Int64(options.serverURLs.count) + 1000
            if canWait { _ = connectorExited.wait(until: Date().addingTimeInterval(Double(boundMs) / 1000)) }
        }
        // `install` checks `closing` under the state lock, so from here the connection is fixed.
        guard let nc else {
            gate.shut()
            gate.waitForInFlight()
            let finalStats = counterStats()
            state.withLock { st in
                st.finalStats = finalStats
                st.subscriptions.removeAll()
            }
            return
        }

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
        guard let nc else { return result }
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
        // The first connect is retried by the wrapper (see NATSClient), not by libnats.
        try NATSError.check(natsOptions_SetRetryOnFailedConnect(opts, false, nil, nil), op + " (retry on failed connect)")
        try NATSError.check(natsOptions_SetErrorHandler(opts, natsErrorTrampoline, closure), op + " (error handler)")
        try NATSError.check(natsOptions_SetDisconnectedCB(opts, natsDisconnectedTrampoline, closure), op + " (disconnected cb)")
        try NATSError.check(natsOptions_SetReconnectedCB(opts, natsReconnectedTrampoline, closure), op + " (reconnected cb)")
        try NATSError.check(natsOptions_SetClosedCB(opts, natsClosedTrampoline, closure), op + " (closed cb)")
        // Single delivery thread: the library pool (sized to 1 in NATSLibrary.open) for every subscription.
        try NATSError.check(natsOptions_UseGlobalMessageDelivery(opts, true), op + " (global delivery)")
        try configureSecurity(opts, o)
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
