#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a socket client call failed. Every case carries what an operator needs to act on it.
public enum SocketClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing at `path` (or a directory on the way is missing): the sidecar is not running, or
    /// the path differs from its `SIDECAR_SOCKET_PATH`.
    case socketMissing(path: String)
    /// The socket file (or a directory on the way) does not allow this user to connect.
    case permissionDenied(path: String)
    /// A file exists at `path` but nobody accepts on it (a stale socket left by a crash, or
    /// not a socket at all).
    case connectionRefused(path: String)
    /// The path cannot be a Unix socket address (empty, or longer than the platform allows).
    case invalidPath(path: String, reason: String)
    /// The server does not speak this client's protocol version.
    case versionMismatch(server: UInt32, client: UInt32)
    /// An `Error` response from the server.
    case server(code: SocketErrorCode, message: String, details: [String: String])
    /// No answer within the configured time.
    case timeout
    /// The server closed the connection (or it was already closed on this side).
    case closed
    /// The server sent bytes that are not a valid frame or message; the connection is dropped.
    case protocolViolation(SocketProtocolError)
    /// The server answered with a result of the wrong kind.
    case unexpectedResponse(expected: String, got: String)
    /// A system call failed for another reason.
    case system(call: String, errno: Int32, message: String)

    public var description: String {
        switch self {
        case .socketMissing(let path): "no socket at \(path)"
        case .permissionDenied(let path): "permission denied connecting to \(path)"
        case .connectionRefused(let path): "connection refused at \(path) (nobody is listening)"
        case .invalidPath(let path, let reason): "invalid socket path '\(path)': \(reason)"
        case .versionMismatch(let server, let client):
            "protocol version mismatch: the sidecar speaks \(server), this client speaks \(client)"
        case .server(let code, let message, let details):
            details.isEmpty ? "\(code): \(message)"
                : "\(code): \(message) (\(details.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")))"
        case .timeout: "timed out waiting for the sidecar"
        case .closed: "the sidecar closed the connection"
        case .protocolViolation(let error): "protocol violation: \(error)"
        case .unexpectedResponse(let expected, let got): "expected a \(expected) response, got \(got)"
        case .system(let call, let code, let message): "\(call) failed: \(message) (errno \(code))"
        }
    }
}

/// One pushed event of a subscription.
public enum SocketEvent: Sendable, Equatable {
    case signal(SocketProtocol.Signal)
    case depth(seq: UInt64, metrics: SocketProtocol.DepthMetrics)
    /// Events were dropped from this connection's queue (see `SocketProtocol.Gap`).
    case gap(SocketProtocol.Gap)
    /// The server is shutting down; the stream ends after this event.
    case goodbye(reason: String)
}

/// How a `subscribe` loop ended (errors are thrown instead).
public enum SocketSubscriptionEnd: Sendable, Equatable {
    /// The handler returned false; the subscription was cancelled with Unsubscribe.
    case stopped
    /// The server said Goodbye (shutdown).
    case goodbye(reason: String)
    /// The server closed the connection.
    case closed
}

/// A blocking client of the sidecar's Unix-socket protocol (proto/realtime/v1/sidecar.proto),
/// for tools and colocated programs that do not run an event loop.
///
/// `init` connects and performs `Hello`. One request is in flight at a time: `call` sends a
/// request and reads frames until the response with its id arrives; pushed events read meanwhile
/// are queued and delivered by the next `subscribe`/`nextEvent`. Not thread-safe: use an
/// instance from one thread at a time. Every wait is bounded by `Options.timeout`, except
/// a subscription's wait for the next event, which is bounded only if asked.
public final class SocketClient {
    public struct Options: Sendable {
        /// Seconds to wait for a connection, a response, or room to send.
        public var timeout: Double = 10
        /// Largest frame accepted from the server; a larger announced length ends the
        /// connection before any of its body is read.
        public var maxFrameBytes: Int = SocketProtocol.defaultMaxFrameBytes
        /// Sent in Hello, for the server's logs.
        public var clientName = "sidecar-swift-client"
        /// The protocol version announced in Hello (tests set another to see the mismatch).
        public var protocolVersion: UInt32 = SocketProtocol.version

        public init(timeout: Double = 10, maxFrameBytes: Int = SocketProtocol.defaultMaxFrameBytes,
                    clientName: String = "sidecar-swift-client", protocolVersion: UInt32 = SocketProtocol.version) {
            self.timeout = timeout
            self.maxFrameBytes = maxFrameBytes
            self.clientName = clientName
            self.protocolVersion = protocolVersion
        }
    }

    public let path: String
    public let options: Options
    /// The server's Hello answer: version, strategies, venues, newest signal sequence.
    public private(set) var server = SocketProtocol.HelloResult()

    private var fd: Int32 = -1
    private var inbox: [UInt8] = []
    /// Start of unread bytes in `inbox` (compacted lazily, so reading a frame is not O(buffer)).
    private var inboxStart = 0
    private var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    /// Pushed events (subscription id, event) read while waiting for a response, oldest first.
    private var pendingEvents: [(UInt64, SocketEvent)] = []
    private var pendingStart = 0
    private var nextId: UInt64 = 0

    /// Connects to `path` and performs Hello.
    public init(path: String, options: Options = Options()) throws(SocketClientError) {
        self.path = path
        self.options = options
        try connect()
        do throws(SocketClientError) {
            let response = try call(.hello(.init(protocolVersion: options.protocolVersion, clientName: options.clientName)))
            guard case .hello(let hello) = response else {
                throw SocketClientError.unexpectedResponse(expected: "hello", got: Self.kind(response))
            }
            guard hello.protocolVersion == options.protocolVersion else {
                throw SocketClientError.versionMismatch(server: hello.protocolVersion, client: options.protocolVersion)
            }
            server = hello
        } catch .server(.unsupportedVersion, _, let details) {
            close()
            let supported = details["supported"].flatMap { UInt32($0) } ?? 0
            throw .versionMismatch(server: supported, client: options.protocolVersion)
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Closes the connection. Later calls throw `.closed`.
    public func close() {
        guard fd >= 0 else { return }
        _ = Self.systemClose(fd)
        fd = -1
    }

    public var isOpen: Bool { fd >= 0 }

    // MARK: Requests

    /// Sends `request` and returns its response. An `Error` response is thrown as `.server`; so
    /// is an error for the whole connection (id 0, e.g. PERMISSION_DENIED for a peer not in
    /// SIDECAR_ALLOWED_UIDS). Pushed events read meanwhile are queued for `subscribe`. (`init`
    /// turns Hello's UNSUPPORTED_VERSION into `.versionMismatch`.)
    @discardableResult
    public func call(_ request: SocketRequest) throws(SocketClientError) -> SocketResponse {
        nextId += 1
        let id = nextId
        try send(SocketFraming.requestFrame(request, id: id))
        let deadline = Self.deadline(after: options.timeout)
        while true {
            guard let (got, response) = try readResponse(deadline: deadline) else { throw .closed }
            if let event = Self.event(response) {
                pendingEvents.append((got, event))
                continue
            }
            // Id 0 carries connection-level errors (bad frame, refused peer): they answer everything.
            guard got == id || (got == 0 && Self.isError(response)) else { continue }
            if case .error(let info) = response {
                throw .server(code: info.code, message: info.message, details: info.details)
            }
            return response
        }
    }

    public func getSignals(_ request: SocketProtocol.GetSignals) throws(SocketClientError) -> SocketProtocol.SignalPage {
        let response = try call(.getSignals(request))
        guard case .signals(let page) = response else { throw .unexpectedResponse(expected: "signals", got: Self.kind(response)) }
        return page
    }

    public func getDepthMetrics(_ request: SocketProtocol.GetDepthMetrics) throws(SocketClientError) -> SocketProtocol.DepthMetrics {
        let response = try call(.getDepthMetrics(request))
        guard case .depthMetrics(let metrics) = response else {
            throw .unexpectedResponse(expected: "depth_metrics", got: Self.kind(response))
        }
        return metrics
    }

    public func listDepthMetrics(_ request: SocketProtocol.ListDepthMetrics) throws(SocketClientError) -> SocketProtocol.DepthMetricsPage {
        let response = try call(.listDepthMetrics(request))
        guard case .depthMetricsPage(let page) = response else {
            throw .unexpectedResponse(expected: "depth_metrics_page", got: Self.kind(response))
        }
        return page
    }

    public func getPressureHistory(_ request: SocketProtocol.GetPressureHistory) throws(SocketClientError) -> SocketProtocol.PressureHistory {
        let response = try call(.getPressureHistory(request))
        guard case .pressureHistory(let history) = response else {
            throw .unexpectedResponse(expected: "pressure_history", got: Self.kind(response))
        }
        return history
    }

    public func getMarketSummary(venue: String = "") throws(SocketClientError) -> SocketProtocol.MarketSummary {
        let response = try call(.getMarketSummary(venue: venue))
        guard case .marketSummary(let summary) = response else {
            throw .unexpectedResponse(expected: "market_summary", got: Self.kind(response))
        }
        return summary
    }

    public func getStats() throws(SocketClientError) -> SocketProtocol.Stats {
        let response = try call(.getStats)
        guard case .stats(let stats) = response else { throw .unexpectedResponse(expected: "stats", got: Self.kind(response)) }
        return stats
    }

    /// A runtime-configuration call (list, schema, get, set, delete, audit, rollback).
    public func config(_ request: SocketProtocol.ConfigCall) throws(SocketClientError) -> SocketProtocol.ConfigResult {
        let response = try call(.config(request))
        guard case .config(let result) = response else { throw .unexpectedResponse(expected: "config", got: Self.kind(response)) }
        return result
    }

    public func health() throws(SocketClientError) -> SocketProtocol.Health {
        let response = try call(.healthCheck)
        guard case .health(let health) = response else { throw .unexpectedResponse(expected: "health", got: Self.kind(response)) }
        return health
    }

    // MARK: Streaming

    /// Subscribes and hands every event of this subscription to `handler` until it returns
    /// false (the subscription is then cancelled), the server says Goodbye, or the connection
    /// closes. `handler` may use `call` on this client (e.g. `getSignals` to re-pull a Gap);
    /// events read meanwhile are delivered afterwards, in order.
    ///
    /// - Parameters:
    ///   - idleTimeout: seconds without any event before `.timeout` is thrown; nil waits for ever.
    ///   - onSubscribed: runs once the server confirmed the subscription, before any event is
    ///     handled (e.g. to pull what was logged just before a live-only subscription).
    /// - Throws: `SocketClientError`, or whatever `handler` throws.
    @discardableResult
    public func subscribe(_ request: SocketProtocol.Subscribe, idleTimeout: Double? = nil,
                          onSubscribed: (UInt64) throws -> Void = { _ in },
                          handler: (SocketEvent) throws -> Bool) throws -> SocketSubscriptionEnd {
        let response = try call(.subscribe(request))
        guard case .subscribed(let subscriptionId) = response else {
            throw SocketClientError.unexpectedResponse(expected: "subscribed", got: Self.kind(response))
        }
        try onSubscribed(subscriptionId)
        while true {
            guard let (id, event) = try nextEventUnlessClosed(deadline: idleTimeout.map { Self.deadline(after: $0) }) else {
                return .closed
            }
            if case .goodbye(let reason) = event {
                _ = try handler(event)
                return .goodbye(reason: reason)
            }
            // Events of other subscriptions on this connection are not this loop's business.
            guard id == subscriptionId else { continue }
            guard try handler(event) else {
                try unsubscribe(subscriptionId)
                return .stopped
            }
        }
    }

    /// Cancels a subscription; its events still queued here are discarded.
    public func unsubscribe(_ subscriptionId: UInt64) throws(SocketClientError) {
        do throws(SocketClientError) {
            try call(.unsubscribe(subscriptionId: subscriptionId))
        } catch .server(.notFound, _, _) {
            // Already gone: nothing to cancel.
        }
        pendingEvents = pendingEvents[pendingStart...].filter { $0.0 != subscriptionId }
        pendingStart = 0
    }

    /// `nextEvent`, with a connection closed under it (reset included) as nil: for a stream,
    /// the server going away is an end, not a failure.
    private func nextEventUnlessClosed(deadline: UInt64?) throws(SocketClientError) -> (UInt64, SocketEvent)? {
        do throws(SocketClientError) {
            return try nextEvent(deadline: deadline)
        } catch .closed {
            return nil
        }
    }

    /// The next pushed event (queued first, then read), nil when the server closed the
    /// connection. Responses to no pending call are skipped.
    private func nextEvent(deadline: UInt64?) throws(SocketClientError) -> (UInt64, SocketEvent)? {
        if pendingStart < pendingEvents.count {
            let event = pendingEvents[pendingStart]
            pendingStart += 1
            if pendingStart == pendingEvents.count {
                pendingEvents.removeAll(keepingCapacity: true)
                pendingStart = 0
            }
            return event
        }
        while true {
            guard let (id, response) = try readResponse(deadline: deadline) else { return nil }
            if let event = Self.event(response) { return (id, event) }
            if id == 0, case .error(let info) = response {
                throw .server(code: info.code, message: info.message, details: info.details)
            }
        }
    }

    // MARK: Classification

    static func event(_ response: SocketResponse) -> SocketEvent? {
        switch response {
        case .signalEvent(let signal): .signal(signal)
        case .depthEvent(let seq, let metrics): .depth(seq: seq, metrics: metrics)
        case .gap(let gap): .gap(gap)
        case .goodbye(let reason): .goodbye(reason: reason)
        default: nil
        }
    }

    static func isError(_ response: SocketResponse) -> Bool {
        if case .error = response { return true }
        return false
    }

    /// The proto name of a response's result, for messages.
    static func kind(_ response: SocketResponse) -> String {
        switch response {
        case .error(let info): "error \(info.code): \(info.message)"
        case .hello: "hello"
        case .signals: "signals"
        case .subscribed: "subscribed"
        case .unsubscribed: "unsubscribed"
        case .depthMetrics: "depth_metrics"
        case .depthMetricsPage: "depth_metrics_page"
        case .pressureHistory: "pressure_history"
        case .marketSummary: "market_summary"
        case .stats: "stats"
        case .health: "health"
        case .signalEvent: "signal_event"
        case .depthEvent: "depth_event"
        case .gap: "gap"
        case .goodbye: "goodbye"
        case .config: "config"
        case .unknown: "an unknown result"
        }
    }

    // MARK: - POSIX (the only place C types appear)

    private func connect() throws(SocketClientError) {
        var address = sockaddr_un()
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty else { throw .invalidPath(path: path, reason: "empty") }
        guard bytes.count < capacity else {
            throw .invalidPath(path: path, reason: "\(bytes.count) bytes; a Unix socket path holds at most \(capacity - 1)")
        }
        guard !bytes.contains(0) else { throw .invalidPath(path: path, reason: "contains a NUL byte") }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in bytes.enumerated() { raw[i] = byte }
        }

        #if canImport(Glibc)
        let socketType = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        #else
        let socketType = SOCK_STREAM
        #endif
        let descriptor = socket(AF_UNIX, socketType, 0)
        guard descriptor >= 0 else { throw Self.systemError("socket") }
        fd = descriptor
        #if canImport(Darwin)
        var one: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        // Bounds a blocking connect (full backlog) and blocking sends (server not reading);
        // reads are bounded with poll.
        var tv = Self.timeval(seconds: options.timeout)
        _ = setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))

        let length = socklen_t(MemoryLayout<sockaddr_un>.size)
        var rc: Int32
        repeat {
            rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { systemConnect(descriptor, $0, length) }
            }
        } while rc != 0 && errno == EINTR
        guard rc == 0 else {
            let code = errno
            close()
            switch code {
            case ENOENT, ENOTDIR: throw .socketMissing(path: path)
            case EACCES, EPERM: throw .permissionDenied(path: path)
            case ECONNREFUSED, ENOTSOCK, EPROTOTYPE: throw .connectionRefused(path: path)
            case EAGAIN, ETIMEDOUT, EINPROGRESS: throw .timeout
            default: throw Self.systemError("connect(\(path))", code)
            }
        }
    }

    private func send(_ bytes: [UInt8]) throws(SocketClientError) {
        guard fd >= 0 else { throw .closed }
        var offset = 0
        while offset < bytes.count {
            #if canImport(Glibc)
            let flags = Int32(MSG_NOSIGNAL)  // a closed peer must be an error, not SIGPIPE
            #else
            let flags: Int32 = 0
            #endif
            let n = bytes[offset...].withUnsafeBytes { systemSend(fd, $0.baseAddress, $0.count, flags) }
            if n > 0 {
                offset += n
                continue
            }
            let code = errno
            if n < 0 && code == EINTR { continue }
            close()
            switch code {
            case EAGAIN, EWOULDBLOCK: throw .timeout
            case EPIPE, ECONNRESET: throw .closed
            default: throw Self.systemError("send", code)
            }
        }
    }

    /// The next response, nil when the server closed the connection cleanly between frames.
    /// `deadline` (monotonic ns) nil waits for ever.
    private func readResponse(deadline: UInt64?) throws(SocketClientError) -> (UInt64, SocketResponse)? {
        guard try fill(4, deadline: deadline) else { return nil }
        let length = inbox[inboxStart..<(inboxStart + 4)].reduce(0) { $0 << 8 | Int($1) }
        // Checked before the body is read, so an oversized announcement costs no memory.
        guard length > 0 else { return try violation(.emptyFrame) }
        guard length <= options.maxFrameBytes else {
            return try violation(.frameTooLarge(length: length, maximum: options.maxFrameBytes))
        }
        guard try fill(4 + length, deadline: deadline) else {
            return try violation(.truncatedFrame(expected: 4 + length, received: inbox.count - inboxStart))
        }
        let bodyStart = inboxStart + 4
        inboxStart += 4 + length
        let decoded = inbox.withUnsafeBytes { raw in
            Result { () throws(SocketProtocolError) in
                try SocketCodec.decodeResponse(UnsafeRawBufferPointer(rebasing: raw[bodyStart..<(bodyStart + length)]),
                                               maxBytes: options.maxFrameBytes)
            }
        }
        if inboxStart == inbox.count {
            inbox.removeAll(keepingCapacity: true)
            inboxStart = 0
        }
        switch decoded {
        case .success(let value): return (value.id, value.response)
        case .failure(let error): return try violation(error)
        }
    }

    private func violation(_ error: SocketProtocolError) throws(SocketClientError) -> (UInt64, SocketResponse)? {
        // The frame boundary is lost (or the peer misbehaves): the connection cannot go on.
        close()
        throw .protocolViolation(error)
    }

    /// Reads until `count` unread bytes are buffered; false when the peer closed first.
    private func fill(_ count: Int, deadline: UInt64?) throws(SocketClientError) -> Bool {
        guard fd >= 0 else { throw .closed }
        if inboxStart > 0 && inbox.count - inboxStart < count && inboxStart >= inbox.count / 2 {
            inbox.removeFirst(inboxStart)
            inboxStart = 0
        }
        while inbox.count - inboxStart < count {
            try waitReadable(deadline: deadline)
            let descriptor = fd
            let n = chunk.withUnsafeMutableBytes { raw in systemRecv(descriptor, raw.baseAddress, raw.count, 0) }
            if n > 0 {
                inbox.append(contentsOf: chunk[0..<n])
                continue
            }
            if n == 0 { return false }
            let code = errno
            if code == EINTR || code == EAGAIN || code == EWOULDBLOCK { continue }
            close()
            if code == ECONNRESET { throw .closed }
            throw Self.systemError("recv", code)
        }
        return true
    }

    private func waitReadable(deadline: UInt64?) throws(SocketClientError) {
        while true {
            var timeoutMs: Int32 = -1
            if let deadline {
                let now = Self.monotonicNs()
                guard now < deadline else { throw .timeout }
                timeoutMs = Int32(clamping: (deadline - now + 999_999) / 1_000_000)
            }
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let rc = poll(&entry, 1, timeoutMs)
            if rc > 0 { return }  // readable, or hung up/error: recv reports which
            if rc == 0 { continue }  // re-check the deadline
            let code = errno
            if code == EINTR { continue }
            throw Self.systemError("poll", code)
        }
    }

    // MARK: Helpers

    private static func systemError(_ call: String, _ code: Int32 = errno) -> SocketClientError {
        .system(call: call, errno: code, message: String(cString: strerror(code)))
    }

    private static func timeval(seconds: Double) -> timeval {
        let clamped = max(0, min(seconds, 86_400))
        let whole = Int(clamped)
        #if canImport(Glibc)
        return Glibc.timeval(tv_sec: whole, tv_usec: Int((clamped - Double(whole)) * 1_000_000))
        #else
        return Darwin.timeval(tv_sec: whole, tv_usec: Int32((clamped - Double(whole)) * 1_000_000))
        #endif
    }

    static func monotonicNs() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func deadline(after seconds: Double) -> UInt64 {
        monotonicNs() + UInt64(max(0, min(seconds, 365 * 86_400)) * 1e9)
    }

    private static func systemClose(_ fd: Int32) -> Int32 {
        #if canImport(Glibc)
        Glibc.close(fd)
        #else
        Darwin.close(fd)
        #endif
    }
}

#if canImport(Glibc)
private func systemConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    Glibc.connect(fd, address, length)
}
private func systemSend(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int, _ flags: Int32) -> Int { Glibc.send(fd, bytes, count, flags) }
private func systemRecv(_ fd: Int32, _ bytes: UnsafeMutableRawPointer?, _ count: Int, _ flags: Int32) -> Int {
    Glibc.recv(fd, bytes, count, flags)
}
#else
private func systemConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    Darwin.connect(fd, address, length)
}
private func systemSend(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int, _ flags: Int32) -> Int { Darwin.send(fd, bytes, count, flags) }
private func systemRecv(_ fd: Int32, _ bytes: UnsafeMutableRawPointer?, _ count: Int, _ flags: Int32) -> Int {
    Darwin.recv(fd, bytes, count, flags)
}
#endif
