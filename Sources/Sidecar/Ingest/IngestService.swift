import Foundation
import Logging
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
        var created: [NATSSubscription] = []
        for subject in subjects {
            let venue = subject.venue
            let subscription = try client.subscribe(
                subject: subject.subject, queueGroup: queueGroup,
                pendingMessageLimit: pendingMessagesLimit, pendingByteLimit: pendingBytesLimit
            ) { _, payload in
                engine.ingest(payload, subjectVenue: venue, receiveTimeMs: WallClock.nowMs())
            }
            created.append(subscription)
            logger.info("subscribed", metadata: ["subject": "\(subject.subject)",
                                                 "venue": "\(venue?.description ?? "inferred")",
                                                 "queue_group": "\(queueGroup ?? "")"])
        }
        // The external feeds share the delivery thread, so strategies stay single-writer.
        if engine.consumesReferencePrices {
            created.append(try client.subscribe(subject: referencePricesSubject) { _, payload in
                engine.ingestReferencePrice(payload)
            })
            logger.info("subscribed", metadata: ["subject": "\(referencePricesSubject)", "feed": "reference prices"])
        }
        if engine.consumesOnchainMetrics {
            created.append(try client.subscribe(subject: onchainMetricsSubject) { _, payload in
                engine.ingestOnchainMetrics(payload)
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
        for subscription in current {
            do {
                try subscription.drain(timeoutMs: 2000)
            } catch {
                logger.warning("subscription drain failed", metadata: ["subject": "\(subscription.subject)", "error": "\(error)"])
            }
        }
        try? client.flush(timeoutMs: 2000)
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
