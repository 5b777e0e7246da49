import Hummingbird
import Logging
import ServiceLifecycle
import Strategies
import Synchronization
import UnixSignals

/// Builds the sidecar from its configuration and runs it as one `ServiceGroup`:
/// the NATS ingest service, the HTTP server and the Unix-socket server. Tests run it
/// in-process on real ports and a temporary socket path.
public final class SidecarRuntime: @unchecked Sendable {
    public static let version = "0.1.0"

    public let configuration: SidecarConfiguration
    public let stats: IngestStats
    public let board: DepthBoard
    public let signalLog: SignalLog
    public let client: NATSClient
    public let ingest: IngestService
    /// Socket subscribers, fed from the ingest thread.
    public let socketHub = SocketHub()
    public let socketStats = SocketStats()
    /// Runtime strategy configuration (overrides, audit, rollback) over `CONFIG_STORE`.
    public let config: StrategyConfigService
    private let engine: Engine
    private let router: SignalRouter
    private let logger: Logger
    private let group = Mutex<ServiceGroup?>(nil)

    public init(configuration: SidecarConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        let strategyIds = configuration.engine.enabledStrategyIds
        stats = IngestStats(strategyIds: strategyIds)
        board = DepthBoard(historySeconds: 900, ttlSeconds: configuration.engine.symbolTTLSeconds)
        signalLog = SignalLog(capacity: configuration.signalLogCapacity)

        var options = NATSClientOptions()
        options.url = configuration.natsURL
        options.name = configuration.connectionName
        options.reconnectBufferBytes = configuration.reconnectBufferBytes
        let connectionLogger = logger
        client = try NATSClient(options: options) { event in
            switch event {
            case .connected, .reconnected: connectionLogger.info("nats \(event)")
            case .disconnected, .closed: connectionLogger.warning("nats \(event)")
            case .error(let text): connectionLogger.warning("nats error", metadata: ["error": "\(text)"])
            case .slowConsumer: break  // counted; logging each drop would flood
            }
        }
        let publisher = SignalPublisher(client: client, subjects: try SignalSubjectTemplate(configuration.publisherTopic),
                                        source: configuration.signalSource, stats: stats, logger: logger)
        router = SignalRouter(minConfidence: configuration.minSignalConfidence, log: signalLog, stats: stats,
                              publisher: publisher, socket: configuration.socketPath == nil ? nil : socketHub)
        engine = Engine(configuration: configuration.engine, board: board, stats: stats, sink: router)
        if configuration.socketPath != nil {
            let hub = socketHub
            engine.onDepthPublished = { cell in hub.depthPublished(cell) }
        }
        let rejectionLog = RejectionLogger(logger: logger)
        engine.onRejected = { reason, payload in rejectionLog.log(reason, payload) }
        ingest = IngestService(client: client, engine: engine, configuration: configuration, logger: logger)
        let store: ConfigStore = switch configuration.configStore {
        case .memory: LocalConfigStore(directory: nil)
        case .file(let directory): LocalConfigStore(directory: directory)
        case .natsKV(let bucket): NATSKeyValueConfigStore(client: client, bucket: bucket)
        }
        config = StrategyConfigService(store: store, settings: configuration.engine.strategies,
                                       mailbox: engine.configMailbox, retrySeconds: configuration.configRetrySeconds,
                                       logger: logger)
    }

    /// The venue APIs use when none is given: the first configured subject's tag, else spot.
    public var defaultVenue: Venue { configuration.consumerSubjects.first?.venue ?? .spot }

    /// The venues consumed, the default first: tagged subjects name theirs, an untagged one
    /// may carry either.
    public var venues: [Venue] {
        let subjects = configuration.consumerSubjects
        let possible = subjects.contains { $0.venue == nil } ? Set(Venue.allCases) : Set(subjects.compactMap(\.venue))
        return [defaultVenue] + Venue.allCases.filter { $0 != defaultVenue && possible.contains($0) }
    }

    /// What the HTTP API and the socket read.
    func httpContext() -> HTTPAPIContext {
        let ingest = self.ingest
        let client = self.client
        return HTTPAPIContext(
            board: board, stats: stats, signalLog: signalLog, defaultVenue: defaultVenue,
            serviceVersion: Self.version, strategies: configuration.engine.enabledStrategyIds,
            ingestReady: { ingest.isReady }, natsConnected: { client.isConnected },
            slowConsumerDrops: { ingest.droppedMessages }, startedAtMs: startedAtMs,
            effectiveConfiguration: configuration.effectiveValues, socketStats: socketStats, config: config)
    }

    private let startedAtMs = WallClock.nowMs()

    /// Runs until a shutdown signal (or task cancellation), then shuts down gracefully:
    /// not ready, HTTP stops, NATS subscriptions drain, publishes flush, connection closes.
    /// `onHTTPBound` receives the bound HTTP port (useful with port 0); `onSocketBound` the
    /// socket path once it accepts connections.
    public func run(shutdownSignals: [UnixSignal] = [.sigterm, .sigint],
                    onHTTPBound: @escaping @Sendable (Int) -> Void = { _ in },
                    onSocketBound: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        let api = httpContext()
        let logger = self.logger
        let app = Application(
            router: HTTPAPI.router(api),
            configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort),
                                 serverName: "realtime-sidecar"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("http listening", metadata: ["port": "\(port)"])
                onHTTPBound(port)
            },
            logger: logger)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: ingest), .init(service: app)]
        if let path = configuration.socketPath {
            let socket = SocketServer(
                configuration: SocketServerConfiguration(path: path, mode: configuration.socketMode,
                                                         allowedUIDs: configuration.allowedUIDs,
                                                         maxFrameBytes: configuration.maxFrameBytes,
                                                         clientQueueEvents: configuration.clientQueueEvents,
                                                         frameTimeout: configuration.frameTimeoutSeconds > 0
                                                             ? .milliseconds(Int64(configuration.frameTimeoutSeconds * 1000)) : nil,
                                                         maxConnections: configuration.maxConnections),
                context: SocketContext(api: api, socketStats: socketStats, venues: venues,
                                       maxFrameBytes: configuration.maxFrameBytes),
                hub: socketHub, logger: logger, onBound: onSocketBound)
            services.append(.init(service: socket))
        }
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: shutdownSignals,
            logger: logger))
        self.group.withLock { $0 = group }
        logger.info("realtime-sidecar starting", metadata: [
            "version": "\(Self.version)",
            "config": "\(configuration.effectiveValues.map { "\($0.0)=\($0.1)" }.joined(separator: " "))",
        ])
        config.start()
        do {
            try await group.run()
        } catch {
            config.close()
            throw error
        }
        // Before the connection goes: a nats-kv store's watcher and bucket live on it.
        config.close()
        client.close(drainTimeoutMs: 2000)
        logger.info("realtime-sidecar stopped")
    }

    /// Starts the same graceful shutdown a SIGTERM does.
    public func shutdown() async {
        guard let group = group.withLock({ $0 }) else { return }
        await group.triggerGracefulShutdown()
    }
}

/// Logs a sample of rejected input, at most a few lines a minute: bad input is data, and a
/// flood of it must not become a flood of logs.
final class RejectionLogger {
    private let logger: Logger
    private var budget = RateLimitedLog(perMinute: 10)
    private static let sampleBytes = 256

    init(logger: Logger) { self.logger = logger }

    /// Runs on the ingest thread only.
    func log(_ reason: RejectReason, _ payload: UnsafeRawBufferPointer) {
        guard budget.allow() else { return }
        let sample = String(decoding: payload.prefix(Self.sampleBytes), as: UTF8.self)
        logger.warning("rejected market-data message", metadata: [
            "reason": "\(reason)", "bytes": "\(payload.count)", "sample": "\(sample)",
        ])
    }
}
