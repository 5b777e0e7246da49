import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

public struct SocketServerConfiguration: Sendable {
    public var path: String
    /// File mode applied right after bind (e.g. 0o660).
    public var mode: Int
    /// Empty: any peer.
    public var allowedUIDs: [UInt32]
    /// Largest frame the server sends (a reply, an event).
    public var maxFrameBytes: Int
    /// Largest request frame accepted; checked on the length prefix, before the body is buffered.
    public var maxRequestBytes: Int
    /// Peer UIDs whose config writes are accepted (set, delete, rollback).
    public var configUIDs: [UInt32]
    /// Unsent bytes per connection (NIO's write high-water mark); above it a request
    /// connection is closed with RESOURCE_EXHAUSTED and events wait in the outbox.
    public var clientOutputBytes: Int
    /// Unsent bytes beyond their budgets that all connections together may hold (large replies).
    public var sharedOutputBytes: Int = 8 << 20
    public var clientQueueEvents: Int
    /// A frame must arrive in full within this long of its first byte (nil: no limit).
    public var frameTimeout: Duration?
    /// Connections open at once; more are answered RESOURCE_EXHAUSTED and closed.
    public var maxConnections: Int
    /// How long a client that does not read gets to take its Goodbye at shutdown.
    public var goodbyeTimeout: Duration = .seconds(1)

    public init(path: String, mode: Int = 0o660, allowedUIDs: [UInt32] = [],
                maxFrameBytes: Int = SocketProtocol.defaultMaxFrameBytes, clientQueueEvents: Int = 256,
                frameTimeout: Duration? = .seconds(30), maxConnections: Int = 1024,
                maxRequestBytes: Int = 16 << 10, configUIDs: [UInt32] = [getuid()], clientOutputBytes: Int = 32 << 10) {
        self.path = path
        self.mode = mode
        self.allowedUIDs = allowedUIDs
        self.maxFrameBytes = maxFrameBytes
        self.clientQueueEvents = clientQueueEvents
        self.frameTimeout = frameTimeout
        self.maxConnections = maxConnections
        self.maxRequestBytes = maxRequestBytes
        self.configUIDs = configUIDs
        self.clientOutputBytes = clientOutputBytes
    }
}

/// The Unix-socket RPC server, a `Service` of the runtime's group.
///
/// Start: create the directory, replace a stale socket (only a socket nobody answers on),
/// bind, chmod. Graceful shutdown: stop accepting, send each client a `Goodbye` after the
/// replies already written, close, remove the file.
public final class SocketServer: Service, @unchecked Sendable {
    private enum State {
        case idle
        case listening(Channel, fileIdentity: (UInt64, UInt64)?)
        case stopped
    }

    public let configuration: SocketServerConfiguration
    public let hub: SocketHub
    public let stats: SocketStats
    private let context: SocketContext
    private let logger: Logger
    private let group: EventLoopGroup
    private let state = Mutex<State>(.idle)
    private let connections = Mutex<[ObjectIdentifier: (Channel, NIOLoopBound<SocketConnectionHandler>)]>([:])
    /// Listening and accepting new connections (false before start and after `stopAccepting`).
    private let accepting = Atomic<Bool>(false)
    private let onBound: @Sendable (String) -> Void

    public init(configuration: SocketServerConfiguration, context: SocketContext, hub: SocketHub, logger: Logger,
                group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
                onBound: @escaping @Sendable (String) -> Void = { _ in }) {
        self.configuration = configuration
        self.context = context
        self.stats = context.socketStats
        self.hub = hub
        self.logger = logger
        self.group = group
        self.onBound = onBound
    }

    /// Binds the socket. Throws `SocketServerError` when the path is taken or unusable.
    public func start() async throws {
        let path = configuration.path
        let existing = try SocketFile.prepare(path: path)
        if existing == .staleSocket {
            logger.warning("replaced a stale socket file", metadata: ["path": "\(path)"])
        }
        let settings = SocketConnectionSettings(maxFrameBytes: configuration.maxFrameBytes,
                                                maxRequestBytes: configuration.maxRequestBytes,
                                                outputBytes: configuration.clientOutputBytes,
                                                queueEvents: configuration.clientQueueEvents,
                                                allowedUIDs: Set(configuration.allowedUIDs),
                                                configUIDs: Set(configuration.configUIDs),
                                                outputPool: SocketOutputPool(capacity: configuration.sharedOutputBytes))
        let output = max(4096, configuration.clientOutputBytes)
        let calls = context
        let frameTimeout = configuration.frameTimeout.map { TimeAmount.nanoseconds(Self.nanoseconds($0)) }
        let hub = hub
        let logger = logger
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: output / 4, high: output))
            .childChannelOption(.maxMessagesPerRead, value: 8)
            // Reads of at most 8 KiB: the input held per connection is one partial request plus one read.
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 2048, maximum: 8 << 10))
            .childChannelInitializer { [weak self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = SocketConnectionHandler(settings: settings, calls: calls, hub: hub, logger: logger) {
                        [weak self] closed in self?.forget(closed)
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(SocketFrameDecoder(maxFrameBytes: settings.maxRequestBytes, frameTimeout: frameTimeout)))
                    try channel.pipeline.syncOperations.addHandler(handler)
                    self?.remember(channel, handler)
                }
            }
        let channel: Channel
        do {
            channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: false).get()
        } catch {
            throw SocketServerError.bindFailed(path: path, reason: "\(error)")
        }
        do {
            try SocketFile.setMode(path: path, mode: configuration.mode)
        } catch {
            try? await channel.close()
            SocketFile.remove(path: path, identity: SocketFile.identity(path: path))
            throw error
        }
        state.withLock { $0 = .listening(channel, fileIdentity: SocketFile.identity(path: path)) }
        accepting.store(true, ordering: .releasing)
        logger.info("socket listening", metadata: ["path": "\(path)", "mode": "0\(String(configuration.mode, radix: 8))",
                                                   "allowed_uids": "\(configuration.allowedUIDs)"])
        onBound(path)
    }

    public func run() async throws {
        let idle = state.withLock { if case .idle = $0 { return true } else { return false } }
        if idle { try await start() }
        try? await gracefulShutdown()
        await stop()
    }

    /// True while the socket accepts connections.
    public var isListening: Bool { accepting.load(ordering: .acquiring) }

    /// The first step of a graceful shutdown: closes the listening socket so no new client
    /// connects; connected clients keep being served (and pushed to) until `stop`.
    public func stopAccepting() async {
        guard accepting.exchange(false, ordering: .acquiringAndReleasing) else { return }
        let listener = state.withLock { state -> Channel? in
            if case .listening(let channel, _) = state { return channel }
            return nil
        }
        try? await listener?.close()
        logger.info("socket no longer accepting connections", metadata: ["path": "\(configuration.path)"])
    }

    /// Stops accepting, says goodbye to every client, waits for them to close, removes the file.
    public func stop() async {
        accepting.store(false, ordering: .releasing)
        let previous = state.withLock { state -> State in
            let previous = state
            state = .stopped
            return previous
        }
        guard case .listening(let channel, let identity) = previous else { return }
        try? await channel.close()
        let open = connections.withLock { Array($0.values) }
        let timeout = TimeAmount.nanoseconds(Int64(configuration.goodbyeTimeout.components.seconds) * 1_000_000_000
            + configuration.goodbyeTimeout.components.attoseconds / 1_000_000_000)
        for (child, handler) in open {
            child.eventLoop.execute { handler.value.goodbye(reason: "server shutting down", timeout: timeout) }
        }
        for (child, _) in open {
            try? await child.closeFuture.get()
        }
        SocketFile.remove(path: configuration.path, identity: identity)
        logger.info("socket stopped", metadata: ["path": "\(configuration.path)"])
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }

    /// Connections open now.
    public var connectionCount: Int { connections.withLock { $0.count } }

    private func remember(_ channel: Channel, _ handler: SocketConnectionHandler) {
        let bound = NIOLoopBound(handler, eventLoop: channel.eventLoop)
        let stopped = state.withLock { if case .stopped = $0 { return true } else { return false } }
        if stopped {
            channel.close(promise: nil)  // accepted while shutting down
            return
        }
        let admitted = connections.withLock { open -> Bool in
            guard open.count < configuration.maxConnections else { return false }
            open[ObjectIdentifier(handler)] = (channel, bound)
            return true
        }
        if !admitted {
            stats.connectionsRefused.increment()
            handler.refuse(.resourceExhausted, "\(configuration.maxConnections) connections already open (SIDECAR_MAX_CONNECTIONS)")
        }
    }

    private func forget(_ handler: SocketConnectionHandler) {
        _ = connections.withLock { $0.removeValue(forKey: ObjectIdentifier(handler)) }
    }
}
