import Foundation
import Logging
import NATS
import ServiceLifecycle
import Strategies
import Synchronization

/// Subscribes the engine to the market-data subjects and keeps it fed until shutdown.
///
/// All subscriptions deliver on the NATS client's single delivery thread, which makes the
/// engine a single writer without locks.
public final class IngestService: Service, @unchecked Sendable {
    private let client: NATSClient
    private let engine: Engine
    private let subjects: [ConsumerSubject]
    private let referencePricesSubject: String
    private let onchainMetricsSubject: String
    private let queueGroup: String?
    private let pendingMessagesLimit: Int
    private let pendingBytesLimit: Int
    private let logger: Logger
    private let subscriptions = Mutex<[NATSSubscription]>([])
    private let subscribed = Atomic<Bool>(false)
    /// Liveness of the delivery thread: when the current callback entered processing.
    public let watch = IngestWatch()
    /// Total time the subscriptions get to drain at shutdown.
    private let drainBudgetMs: Int64

    public init(client: NATSClient, engine: Engine, configuration: SidecarConfiguration, logger: Logger) {
        self.client = client
        self.engine = engine
        self.subjects = configuration.consumerSubjects
        self.referencePricesSubject = configuration.referencePricesSubject
        self.onchainMetricsSubject = configuration.onchainMetricsSubject
        self.queueGroup = configuration.consumerGroup
        self.pendingMessagesLimit = configuration.pendingMessagesLimit
        self.pendingBytesLimit = configuration.pendingBytesLimit
        self.logger = logger
        // 40 % of the shutdown budget for draining (libnats may overrun a drain by up to 1 s);
        // the rest is for flushing, the socket's goodbyes and closing the connection.
        self.drainBudgetMs = max(Int64(configuration.shutdownTimeoutSeconds) * 400, 200)
    }

    /// Subscribed to every subject and connected: ready to process.
    public var isReady: Bool { subscribed.load(ordering: .relaxed) && client.isConnected }
    public var isSubscribed: Bool { subscribed.load(ordering: .relaxed) }

    /// Messages dropped by the client because the engine fell behind (slow consumer).
    public var droppedMessages: Int {
        subscriptions.withLock { $0.reduce(0) { $0 + $1.droppedCount } }
    }

    public func subscribe() throws {
        let engine = self.engine
        let watch = self.watch
        var created: [NATSSubscription] = []
        for subject in subjects {
            let venue = subject.venue
            let subscription = try client.subscribe(
                subject: subject.subject, queueGroup: queueGroup,
                pendingMessageLimit: pendingMessagesLimit, pendingByteLimit: pendingBytesLimit
            ) { _, payload in
                watch.enter()
                engine.ingest(payload, subjectVenue: venue, receiveTimeMs: WallClock.nowMs())
                watch.exit()
            }
            created.append(subscription)
            logger.info("subscribed", metadata: ["subject": "\(subject.subject)",
                                                 "venue": "\(venue?.description ?? "inferred")",
                                                 "queue_group": "\(queueGroup ?? "")"])
        }
        // The external feeds share the delivery thread, so strategies stay single-writer.
        if engine.consumesReferencePrices {
            created.append(try client.subscribe(subject: referencePricesSubject) { _, payload in
                watch.enter()
                engine.ingestReferencePrice(payload)
                watch.exit()
            })
            logger.info("subscribed", metadata: ["subject": "\(referencePricesSubject)", "feed": "reference prices"])
        }
        if engine.consumesOnchainMetrics {
            created.append(try client.subscribe(subject: onchainMetricsSubject) { _, payload in
                watch.enter()
                engine.ingestOnchainMetrics(payload)
                watch.exit()
            })
            logger.info("subscribed", metadata: ["subject": "\(onchainMetricsSubject)", "feed": "on-chain metrics"])
        }
        subscriptions.withLock { $0 = created }
        subscribed.store(true, ordering: .relaxed)
    }

    public func run() async throws {
        if !isSubscribed { try subscribe() }
        try? await gracefulShutdown()
        subscribed.store(false, ordering: .relaxed)
        let current = subscriptions.withLock { $0 }
        let budget = drainBudgetMs
        let logger = self.logger
        let client = self.client
        // Draining and flushing block on libnats (bounded): off the cooperative pool, which the
        // HTTP handlers still need while the sidecar reports not ready.
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                let started = CoarseClock.nowMs()
                let perSubscription = max(budget / Int64(max(current.count, 1)), 100)
                // Draining and flushing need the server; while disconnected libnats would sit on
                // them until their timeouts, so the connection's close discards instead.
                guard client.isConnected else {
                    logger.warning("nats not connected at shutdown: pending messages and buffered publishes are dropped")
                    continuation.resume()
                    return
                }
                for subscription in current {
                    do {
                        try subscription.drain(timeoutMs: perSubscription)
                    } catch {
                        logger.warning("subscription drain failed", metadata: ["subject": "\(subscription.subject)", "error": "\(error)"])
                    }
                }
                // Publishes of signals produced while draining.
                do {
                    try client.flush(timeoutMs: min(max(budget / 4, 100), 1000))
                } catch {
                    logger.warning("flush at shutdown failed", metadata: ["error": "\(error)"])
                }
                logger.info("nats subscriptions drained", metadata: ["ms": "\(CoarseClock.nowMs() - started)"])
                continuation.resume()
            }
        }
        logger.info("ingest stopped", metadata: ["received": "\(engine.stats.received.value)"])
    }
}

/// Wall-clock milliseconds since the epoch, for receive times and reader TTLs.
public enum WallClock {
    public static func nowMs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
