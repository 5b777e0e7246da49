import Foundation
import Hummingbird
import Logging
import NATS
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
    public let socketStats = SocketStats()
    /// Socket subscribers, fed from the ingest thread.
    public let socketHub: SocketHub
    /// Runtime strategy configuration (overrides, audit, rollback) over `CONFIG_STORE`.
    public let config: StrategyConfigService
    /// `/ready`'s checks; other components may register more (e.g. the config store's `config`).
    public let readiness: Readiness
    /// `/metrics`.
    public let metrics: MetricsExporter
    /// Bearer-token check of config writes on the public HTTP listener.
    public let writeAuthorization: WriteAuthorization
    /// When the runtime was built (wall clock, ms since the epoch).
    public let startedAtMs: Int64
    /// The executable sets this: when a graceful shutdown overruns `SHUTDOWN_TIMEOUT_SECONDS`
    /// (plus a second), log and exit the process with status 1. Tests leave it off.
    public var exitProcessOnShutdownTimeout = false
    private let engine: Engine
    private let router: SignalRouter
    private let logger: Logger
    private let group = Mutex<ServiceGroup?>(nil)
    private let socketServer = Mutex<SocketServer?>(nil)
    /// Monotonic ms when the graceful shutdown began; 0 before.
    private let shutdownStartedMs = Atomic<Int64>(0)

    public init(configuration: SidecarConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        // First: listener and token mistakes stop the start before anything connects.
        if let admin = configuration.adminHTTPPort, admin != 0, admin == configuration.httpPort {
            throw ConfigurationError(variable: "ADMIN_HTTP_PORT", value: "\(admin)",
                                     reason: "must differ from HTTP_PORT (writes without a token would be served on the public port)")
        }
        writeAuthorization = try WriteAuthorization(token: configuration.apiToken, file: configuration.apiTokenFile,
                                                    logger: logger)
        let strategyIds = configuration.engine.enabledStrategyIds
        stats = IngestStats(strategyIds: strategyIds)
        board = DepthBoard(historySeconds: 900, ttlSeconds: configuration.engine.symbolTTLSeconds)
        signalLog = SignalLog(capacity: configuration.signalLogCapacity)
        socketHub = SocketHub(stats: socketStats)

        var options = NATSClientOptions()
        options.url = configuration.natsURL
        options.name = configuration.connectionName
        options.reconnectBufferBytes = configuration.reconnectBufferBytes
        options.pingIntervalMs = Int64(configuration.pingIntervalSeconds) * 1000
        options.security = configuration.natsSecurity
        let connectionLogger = logger
        let connectionEvents = ConnectionEventCounts()
        client = try NATSClient(options: options) { event in
            switch event {
            case .connected: connectionLogger.info("nats connected")
            case .reconnected:
                connectionLogger.info("nats reconnected", metadata: ["reconnects": "\(connectionEvents.reconnected())"])
            case .disconnected:
                connectionLogger.warning("nats disconnected: publishes go to the reconnect buffer until reconnected",
                                         metadata: ["disconnects": "\(connectionEvents.disconnected())"])
            case .closed: connectionLogger.info("nats connection closed")
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
        let mismatchLogger = logger
        engine.onLabelMismatch = { kind, count, payload in
            let sample = String(decoding: payload.prefix(256), as: UTF8.self)
            mismatchLogger.notice("stream label disagrees with the payload; processed as the payload says (docs/BOOKS.md)",
                                  metadata: ["kind": "\(kind)", "count": "\(count)", "sample": "\(sample)"])
        }
        ingest = IngestService(client: client, engine: engine, configuration: configuration, logger: logger)
        let store: ConfigStore = switch configuration.configStore {
        case .memory: LocalConfigStore(directory: nil, maxAuditRecords: configuration.configAuditMaxRecords,
                                       maxAuditBytes: configuration.configAuditMaxBytes)
        case .file(let directory): LocalConfigStore(directory: directory, maxAuditRecords: configuration.configAuditMaxRecords,
                                                    maxAuditBytes: configuration.configAuditMaxBytes)
        case .natsKV(let bucket): NATSKeyValueConfigStore(client: client, bucket: bucket)
        }
        config = StrategyConfigService(store: store, settings: configuration.engine.strategies,
                                       mailbox: engine.configMailbox, retrySeconds: configuration.configRetrySeconds,
                                       maxOverrides: configuration.configMaxOverrides, logger: logger)

        startedAtMs = WallClock.nowMs()
        let ingest = self.ingest
        let client = self.client
        let stats = self.stats
        readiness = Readiness([
            ReadinessCheck(name: "nats_connected") {
                client.isConnected ? .ok("connected")
                    : .failed(client.connectFailure.map { "not connected to NATS: \($0)" } ?? "not connected to NATS")
            },
            ReadinessCheck(name: "nats_subscribed") {
                ingest.isSubscribed ? .ok("subscribed to \(configuration.consumerSubjects.map(\.subject).joined(separator: ","))")
                    : .failed("not subscribed")
            },
            // Reported, not required: with its store down the sidecar trades on environment and
            // defaults, so readiness does not depend on it.
            ReadinessCheck(name: "config", required: false) { [config] in
                let status = config.status
                switch status.state {
                case .ready: return .ok("\(status.store) loaded")
                case .loading: return .failed("\(status.store) loading")
                case .degraded: return .failed("degraded: \(status.reason ?? "unavailable"); running on environment and defaults")
                }
            },
        ])
        if configuration.readyMaxSilenceSeconds > 0 {
            let limitMs = Int64(configuration.readyMaxSilenceSeconds) * 1000
            readiness.register(name: "recent_message") {
                let last = Int64(stats.lastReceiveTimeMs.value)
                guard last > 0 else { return .failed("no market-data message received yet") }
                let silentMs = WallClock.nowMs() - last
                let text = String(format: "last message %.1f s ago", Double(silentMs) / 1000)
                    + " (limit \(configuration.readyMaxSilenceSeconds) s)"
                return silentMs <= limitMs ? .ok(text) : .failed(text)
            }
        }
        var metricsSources = MetricsSources(
            stats: stats, socketStats: configuration.socketPath == nil ? nil : socketStats,
            natsConnected: { client.isConnected }, natsCounters: { client.stats },
            slowConsumerDrops: { ingest.droppedMessages }, startedAtMs: startedAtMs)
        metricsSources.unauthorizedWrites = writeAuthorization.refused
        metrics = MetricsExporter(sources: metricsSources)
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
        let stallLimitMs = Int64(configuration.livenessStallSeconds) * 1000
        var api = HTTPAPIContext(
            board: board, stats: stats, signalLog: signalLog, defaultVenue: defaultVenue,
            serviceVersion: Self.version, strategies: configuration.engine.enabledStrategyIds,
            ingestReady: { ingest.isReady }, natsConnected: { client.isConnected },
            slowConsumerDrops: { ingest.droppedMessages }, startedAtMs: startedAtMs,
            effectiveConfiguration: configuration.effectiveValues, socketStats: socketStats, config: config)
        api.readiness = readiness
        api.bookStaleMs = configuration.engine.book.staleMs
        SocketMapping.bookStaleMs = configuration.engine.book.staleMs
        api.liveness = { ingest.watch.liveness(limitMs: stallLimitMs) }
        api.metrics = metrics
        api.natsCounters = { client.stats }
        return api
    }

    /// Runs until a shutdown signal (or task cancellation), then shuts down gracefully within
    /// `SHUTDOWN_TIMEOUT_SECONDS`: not ready and no new socket connections, heartbeat stops,
    /// NATS subscriptions drain and publishes flush, socket clients get Goodbye, HTTP stops,
    /// the connection closes.
    /// `onHTTPBound` receives the bound HTTP port (useful with port 0), `onAdminHTTPBound` the
    /// admin listener's; `onSocketBound` the socket path once it accepts connections.
    public func run(shutdownSignals: [UnixSignal] = [.sigterm, .sigint],
                    onHTTPBound: @escaping @Sendable (Int) -> Void = { _ in },
                    onAdminHTTPBound: @escaping @Sendable (Int) -> Void = { _ in },
                    onSocketBound: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        let api = httpContext()
        let logger = self.logger
        let app = Application(
            router: HTTPAPI.router(api, writeGuard: writeAuthorization),
            configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort),
                                 serverName: "realtime-sidecar"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("http listening", metadata: ["port": "\(port)"])
                onHTTPBound(port)
            },
            logger: logger)
        // The admin listener: the same routes, writes without a token. Trust comes from the
        // listener, so it belongs on loopback (reached by kubectl exec / port-forward).
        var adminApp: (any Service)?
        if let adminPort = configuration.adminHTTPPort {
            let host = configuration.adminHTTPHost
            if !Self.isLoopback(host) {
                logger.warning("ADMIN_HTTP_HOST is not a loopback address: anyone reaching it can change the configuration without a token",
                               metadata: ["host": "\(host)"])
            }
            adminApp = Application(
                router: HTTPAPI.router(api),
                configuration: .init(address: .hostname(host, port: adminPort), serverName: "realtime-sidecar"),
                onServerRunning: { channel in
                    let port = channel.localAddress?.port ?? 0
                    logger.info("admin http listening (config writes without a token)", metadata: ["host": "\(host)", "port": "\(port)"])
                    onAdminHTTPBound(port)
                },
                logger: logger)
        }
        if !writeAuthorization.hasToken {
            logger.notice("no SIDECAR_API_TOKEN: config writes only on the admin listener",
                          metadata: ["admin": "\(configuration.adminHTTPPort.map { "\(configuration.adminHTTPHost):\($0)" } ?? "off")"])
        }
        // Graceful shutdown runs in reverse order: the sentinel (not ready, stop accepting
        // socket connections), the heartbeat, ingest (drain the subscriptions, flush publishes),
        // the socket server (Goodbye to every client, remove the file), HTTP last, so `/ready`
        // answers 503 throughout.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: app)]
        if let adminApp { services.append(.init(service: adminApp)) }
        var socket: SocketServer?
        if let path = configuration.socketPath {
            let server = SocketServer(
                configuration: SocketServerConfiguration(path: path, mode: configuration.socketMode,
                                                         allowedUIDs: configuration.allowedUIDs,
                                                         maxFrameBytes: configuration.maxFrameBytes,
                                                         clientQueueEvents: configuration.clientQueueEvents,
                                                         frameTimeout: configuration.frameTimeoutSeconds > 0
                                                             ? .milliseconds(Int64(configuration.frameTimeoutSeconds * 1000)) : nil,
                                                         maxConnections: configuration.maxConnections,
                                                         maxRequestBytes: configuration.maxRequestBytes,
                                                         configUIDs: configuration.configUIDs,
                                                         clientOutputBytes: configuration.clientOutputBytes),
                context: SocketContext(api: api, socketStats: socketStats, venues: venues,
                                       maxFrameBytes: configuration.maxFrameBytes),
                hub: socketHub, logger: logger, onBound: onSocketBound)
            services.append(.init(service: server))
            readiness.register(name: "socket_listening") {
                server.isListening ? .ok("listening on \(path)") : .failed("not listening on \(path)")
            }
            socket = server
        }
        socketServer.withLock { $0 = socket }
        services.append(.init(service: ingest))
        if !configuration.depthSnapshotURLs.isEmpty {
            services.append(.init(service: DepthSnapshotFetcher(
                mailbox: engine.snapshotMailbox, urls: configuration.depthSnapshotURLs,
                maxLevels: configuration.engine.book.maxLevels, minIntervalMs: configuration.depthSnapshotMinIntervalMs,
                stats: stats.books, logger: logger)))
        }
        if configuration.heartbeatEnabled {
            services.append(.init(service: HeartbeatService(stats: stats, intervalSeconds: configuration.heartbeatIntervalSeconds,
                                                            logger: logger)))
        }
        services.append(.init(service: ShutdownSentinel { [weak self] in await self?.beginShutdown() }))
        var groupConfiguration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: shutdownSignals,
                                                           logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(configuration.shutdownTimeoutSeconds)
        groupConfiguration.maximumCancellationDuration = .seconds(2)
        let group = ServiceGroup(configuration: groupConfiguration)
        self.group.withLock { $0 = group }
        logger.info("realtime-sidecar starting", metadata: [
            "version": "\(Self.version)",
            "config": "\(configuration.effectiveValues.map { "\($0.0)=\($0.1)" }.joined(separator: " "))",
        ])
        config.start()
        do {
            try await group.run()
        } catch {
            logger.error("service group stopped with an error", metadata: ["error": "\(error)"])
            config.close()
            closeClient()
            throw error
        }
        // Before the connection goes: a nats-kv store's watcher and bucket live on it.
        config.close()
        closeClient()
        let started = shutdownStartedMs.load(ordering: .relaxed)
        logger.info("realtime-sidecar stopped", metadata: [
            "shutdown_ms": "\(started > 0 ? CoarseClock.nowMs() - started : 0)",
        ])
    }

    /// Closes the NATS connection within what is left of the shutdown budget (at most 2 s).
    private func closeClient() {
        let started = shutdownStartedMs.load(ordering: .relaxed)
        let budgetMs = Int64(configuration.shutdownTimeoutSeconds) * 1000
        let remaining = started > 0 ? budgetMs - (CoarseClock.nowMs() - started) : 2000
        client.close(drainTimeoutMs: min(max(remaining, 100), 2000))
    }

    /// The first step of a graceful shutdown (SIGTERM, SIGINT or `shutdown()`): not ready from
    /// now on, and no new socket connections.
    private func beginShutdown() async {
        let now = CoarseClock.nowMs()
        guard shutdownStartedMs.compareExchange(expected: 0, desired: now, ordering: .relaxed).exchanged else { return }
        readiness.beginShutdown()
        logger.info("graceful shutdown: not ready; draining", metadata: [
            "timeout_seconds": "\(configuration.shutdownTimeoutSeconds)",
        ])
        if exitProcessOnShutdownTimeout {
            let logger = self.logger
            let timeout = configuration.shutdownTimeoutSeconds
            DispatchQueue.global().asyncAfter(deadline: .now() + .seconds(timeout + 1)) {
                logger.critical("graceful shutdown did not finish within SHUTDOWN_TIMEOUT_SECONDS; exiting",
                                metadata: ["timeout_seconds": "\(timeout)"])
                exit(1)
            }
        }
        await socketServer.withLock({ $0 })?.stopAccepting()
    }

    /// 127.0.0.0/8, ::1 or localhost.
    static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased()
        return h == "localhost" || h == "::1" || h == "[::1]" || h.hasPrefix("127.")
    }

    /// Starts the same graceful shutdown a SIGTERM does.
    public func shutdown() async {
        guard let group = group.withLock({ $0 }) else { return }
        await group.triggerGracefulShutdown()
    }
}

/// Counts connection events for the log lines (libnats' own counters are read for metrics).
private final class ConnectionEventCounts: Sendable {
    private let disconnects = Atomic<Int>(0)
    private let reconnects = Atomic<Int>(0)
    func disconnected() -> Int { disconnects.add(1, ordering: .relaxed).newValue }
    func reconnected() -> Int { reconnects.add(1, ordering: .relaxed).newValue }
}

/// The last service of the group, so the first to hear of a graceful shutdown: it runs the
/// shutdown's first step before the other services stop.
private final class ShutdownSentinel: Service, Sendable {
    private let onShutdown: @Sendable () async -> Void

    init(onShutdown: @escaping @Sendable () async -> Void) { self.onShutdown = onShutdown }

    func run() async throws {
        try? await gracefulShutdown()
        await onShutdown()
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
