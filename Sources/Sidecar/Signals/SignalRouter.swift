import Logging
import NATS
import Strategies

/// Fans each signal out from the ingest thread: confidence gate, then the signal log
/// (sequence numbers for pull and push clients), then socket subscribers, then NATS, then counters.
public final class SignalRouter: SignalSink, @unchecked Sendable {
    public let log: SignalLog
    private let minConfidence: Double
    private let stats: IngestStats
    private let publisher: SignalPublisher?
    /// Socket subscribers; pushing into their bounded queues never blocks.
    private let socket: SocketHub?

    public init(minConfidence: Double, log: SignalLog, stats: IngestStats, publisher: SignalPublisher?,
                socket: SocketHub? = nil) {
        self.minConfidence = minConfidence
        self.log = log
        self.stats = stats
        self.publisher = publisher
        self.socket = socket
    }

    public func emit(_ signal: Signal) {
        guard signal.confidence >= minConfidence else {
            stats.signalsBelowConfidence.increment()
            return
        }
        let stored = log.append(signal)
        stats.signalsAccepted[stored.strategyId]?.increment()
        socket?.signalAppended(stored)
        publisher?.publish(stored)
    }
}

/// Publishes signals as tradeengine JSON on NATS, with the deterministic id as `Nats-Msg-Id`.
/// Runs on the ingest thread only, so the encode buffer is reused without locking.
public final class SignalPublisher: @unchecked Sendable {
    private let client: NATSClient
    private let subjects: SignalSubjectTemplate
    private let encoder: TradeEngineSignalEncoder
    private let stats: IngestStats
    private let logger: Logger
    private var buffer: [UInt8] = []
    private var errorLogBudget = RateLimitedLog(perMinute: 6)

    public init(client: NATSClient, subjects: SignalSubjectTemplate, source: String, stats: IngestStats, logger: Logger) {
        self.client = client
        self.subjects = subjects
        self.encoder = TradeEngineSignalEncoder(source: source)
        self.stats = stats
        self.logger = logger
        buffer.reserveCapacity(2048)
    }

    func publish(_ signal: Signal) {
        buffer.removeAll(keepingCapacity: true)
        encoder.encode(signal, into: &buffer)
        do {
            try client.publish(subject: subjects.subject(for: signal), bytes: buffer,
                               headers: [("Nats-Msg-Id", TradeEngineSignalEncoder.signalId(signal))])
            stats.signalsPublished[signal.strategyId]?.increment()
        } catch {
            // Publishes while disconnected go to the reconnect buffer; this is the overflow path
            // (NATS_INSUFFICIENT_BUFFER), or a closed connection: either way the signal is lost.
            stats.publishErrors.increment()
            stats.signalsLost.increment()
            if errorLogBudget.allow() {
                logger.warning("signal publish failed", metadata: ["error": "\(error)", "strategy": "\(signal.strategyId)",
                                                                 "symbol": "\(signal.key.symbol)"])
            }
        }
    }
}

/// Allows at most `perMinute` log lines per minute of wall-clock time.
struct RateLimitedLog {
    let perMinute: Int
    private var windowStart = ContinuousClock.now
    private var used = 0

    init(perMinute: Int) { self.perMinute = perMinute }

    mutating func allow() -> Bool {
        let now = ContinuousClock.now
        if now - windowStart > .seconds(60) {
            windowStart = now
            used = 0
        }
        used += 1
        return used <= perMinute
    }
}
