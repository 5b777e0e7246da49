import Foundation
import NIOCore
import NIOPosix
import Testing
@testable import Sidecar
import Strategies

/// The hub between the ingest thread and socket subscribers: the ingest thread never waits for
/// the fan-out, and what a full ring drops is reported, not silently missing.
@Suite("Socket hub fan-out")
struct SocketHubTests {
    static func signal(_ i: Int) -> Signal {
        Signal(strategyId: "orderbook_skew", key: SymbolKey(venue: .spot, symbol: i % 2 == 0 ? "BTCUSDT" : "ETHUSDT"),
               action: .buy, confidence: 0.8, price: 100, currentPrice: 100.5,
               eventTimeMs: 1_700_000_000_000 + Int64(i), reasoning: "hub test")
    }

    /// Runs `body` while the loop is held inside a task, so no fan-out can run meanwhile.
    static func whileHeld(_ loop: EventLoop, _ body: () -> Void) {
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        loop.execute {
            entered.signal()
            release.wait()
        }
        entered.wait()
        body()
        release.signal()
    }

    @Test("a full ring refuses events without blocking the ingest thread; the lost signals reach every signal subscription as one gap, after the older signals and before the newer")
    func fullRingBecomesGap() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let stats = SocketStats()
        let hub = SocketHub(capacity: 4, eventLoop: loop, stats: stats)
        let all = SocketOutbox(capacity: 100, eventLoop: loop, stats: SocketStats())
        let btcOnly = SocketOutbox(capacity: 100, eventLoop: loop, stats: SocketStats())
        hub.add(SocketHub.SignalTarget(outbox: all, subscriptionId: 1, symbols: [], strategies: []))
        hub.add(SocketHub.SignalTarget(outbox: btcOnly, subscriptionId: 2, symbols: ["BTCUSDT"], strategies: []))
        let log = SignalLog(capacity: 100)
        let stored = (1...10).map { log.append(Self.signal($0)) }

        Self.whileHeld(loop) {
            for signal in stored { hub.signalAppended(signal) }  // returns although nothing drains
            #expect(hub.droppedEvents == 6, "ring of 4 keeps the first 4 of 10")
            #expect(stats.eventsDropped.value == 6, "counted where /metrics reads socket drops")
        }
        try loop.submit {}.wait()  // the fan-out pass scheduled while held has run
        hub.signalAppended(log.append(Self.signal(11)))  // after the loss, with room again
        try loop.submit {}.wait()

        let (gaps, events) = all.take(max: 100)
        #expect(gaps.isEmpty, "the loss is queued in order, not ahead of older events")
        let expected: [String] = stored.prefix(4).map { "signal \($0.sequence)" }
            + ["gap \(stored[4].sequence)-\(stored[9].sequence)", "signal \(stored[9].sequence + 1)"]
        #expect(events.map(Self.describe) == expected)

        // A filtered subscription hears of the same range: the lost signals were never seen.
        let filtered = btcOnly.take(max: 100).events.map(Self.describe)
        #expect(filtered.contains("gap \(stored[4].sequence)-\(stored[9].sequence)"))
        #expect(filtered.filter { $0.hasPrefix("signal") }.count == 2, "\(filtered)")  // BTCUSDT among the first four
    }

    @Test("many subscribers, slow or not, cost the ingest thread one ring push per event: the fan-out happens on the hub's loop")
    func ingestDoesNotFanOut() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let hub = SocketHub(capacity: 64, eventLoop: loop)
        let outboxes = (0..<50).map { _ in SocketOutbox(capacity: 8, eventLoop: loop, stats: SocketStats()) }
        for (i, outbox) in outboxes.enumerated() {
            hub.add(SocketHub.SignalTarget(outbox: outbox, subscriptionId: UInt64(i), symbols: [], strategies: []))
        }
        let log = SignalLog(capacity: 100)
        Self.whileHeld(loop) {
            for i in 1...20 { hub.signalAppended(log.append(Self.signal(i))) }
            // Nothing reached any outbox while the hub's loop was busy.
            #expect(outboxes.allSatisfy { $0.count == 0 })
        }
        try loop.submit {}.wait()
        // Each bounded outbox kept its newest 8 and counts the rest as a gap.
        for outbox in outboxes {
            let (gaps, events) = outbox.take(max: 100)
            #expect(events.count == 8)
            #expect(gaps.count == 1)
        }
        #expect(hub.droppedEvents == 0)
    }

    static func describe(_ event: QueuedEvent) -> String {
        switch event {
        case .signal(_, let shared): "signal \(shared.signal.sequence)"
        case .depth(_, let seq, _): "depth \(seq)"
        case .gap(_, let gap): "gap \(gap.fromSeq)-\(gap.toSeq)"
        }
    }
}
