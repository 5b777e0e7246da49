import Foundation
import Testing
@testable import Sidecar
import Strategies

@Suite("Socket pull and push", .serialized)
struct SocketStreamTests {
    @Test("GetSignals pages in sequence order, filters, caps max at 1000 and returns the next cursor")
    func pullCursor() async throws {
        let fixture = try await SocketFixture.started()
        for i in 0..<1500 {
            fixture.emit(symbol: i % 3 == 0 ? "ETHUSDT" : "BTCUSDT", strategy: i % 5 == 0 ? "other" : "orderbook_skew",
                         eventTimeMs: 1_000 + Int64(i))
        }
        let client = try await fixture.client()
        let (first, second, filtered, empty) = try await offloaded {
            try client.hello()
            let first = try client.call(.getSignals(.init(afterSeq: 0, max: 5000)))
            guard case .signals(let page) = first else { throw SocketTestClient.Failure(description: "\(first)") }
            let second = try client.call(.getSignals(.init(afterSeq: page.nextSeq)))
            let filtered = try client.call(.getSignals(.init(afterSeq: 0, max: 10, symbols: ["ethusdt"], strategies: ["other"])))
            let empty = try client.call(.getSignals(.init(afterSeq: 1500)))
            return (page, second, filtered, empty)
        }
        #expect(first.signals.count == 1000)
        #expect(first.signals.map(\.seq) == Array(1...1000))
        #expect(first.nextSeq == 1000)
        #expect(!first.truncated)
        #expect(first.oldestSeq == 1)
        guard case .signals(let rest) = second, case .signals(let some) = filtered, case .signals(let none) = empty else {
            Issue.record("unexpected answers: \(second) \(filtered) \(empty)")
            return
        }
        #expect(rest.signals.map(\.seq) == Array(1001...1500))
        #expect(rest.nextSeq == 1500)
        // i % 3 == 0 and i % 5 == 0: i = 0, 15, 30, … → seq = i + 1.
        #expect(some.signals.map(\.seq) == [1, 16, 31, 46, 61, 76, 91, 106, 121, 136])
        #expect(some.signals.allSatisfy { $0.symbol == "ETHUSDT" && $0.strategyId == "other" })
        #expect(some.nextSeq == 136)
        #expect(none.signals.isEmpty && none.nextSeq == 1500 && !none.truncated)
        await fixture.stop()
    }

    @Test("a cursor that fell out of the ring is flagged truncated and resumes at the oldest signal held")
    func cursorOutOfRing() async throws {
        let fixture = try await SocketFixture.started(logCapacity: 10)
        for i in 0..<25 { fixture.emit(symbol: "BTCUSDT", eventTimeMs: 1_000 + Int64(i)) }
        let client = try await fixture.client()
        let (stale, fresh, future) = try await offloaded {
            try client.hello()
            return (try client.call(.getSignals(.init(afterSeq: 3))), try client.call(.getSignals(.init(afterSeq: 15))),
                    try client.call(.getSignals(.init(afterSeq: 900))))
        }
        guard case .signals(let a) = stale, case .signals(let b) = fresh, case .signals(let c) = future else {
            Issue.record("unexpected answers")
            return
        }
        #expect(a.truncated)
        #expect(a.oldestSeq == 16)
        #expect(a.signals.map(\.seq) == Array(16...25))
        #expect(a.nextSeq == 25)
        #expect(!b.truncated, "after_seq = oldest - 1 lost nothing")
        #expect(b.signals.map(\.seq) == Array(16...25))
        // A cursor from an earlier process restarts at the newest signal, flagged as a loss.
        #expect(c.truncated && c.signals.isEmpty && c.nextSeq == 25)
        await fixture.stop()
    }

    @Test("a signal subscription streams only matching signals, with the Subscribe id, until Unsubscribe")
    func subscribeWithFilters() async throws {
        let fixture = try await SocketFixture.started()
        let client = try await fixture.client()
        let subscribed = try await offloaded {
            try client.hello()
            return try client.call(.subscribe(.init(stream: .signals, symbols: ["btcusdt"], strategies: ["orderbook_skew"])), id: 500)
        }
        #expect(subscribed == .subscribed(subscriptionId: 500))
        for i in 0..<30 {
            fixture.emit(symbol: ["BTCUSDT", "ETHUSDT"][i % 2], strategy: i % 3 == 0 ? "other" : "orderbook_skew",
                         eventTimeMs: 5_000 + Int64(i))
        }
        // Matching: even i (BTCUSDT) with i % 3 != 0 → i = 2, 4, 8, 10, 14, 16, 20, 22, 26, 28.
        let expected: [UInt64] = [2, 4, 8, 10, 14, 16, 20, 22, 26, 28].map { UInt64($0 + 1) }
        let events = try await offloaded { () -> [(UInt64, SocketResponse)] in
            var events: [(UInt64, SocketResponse)] = []
            while events.count < expected.count, let frame = try client.readResponse() { events.append(frame) }
            return events
        }
        #expect(events.allSatisfy { $0.0 == 500 })
        let seqs = events.compactMap { event -> UInt64? in
            if case .signalEvent(let s) = event.1 { return s.seq } else { return nil }
        }
        #expect(seqs == expected)
        let unsubscribed = try await offloaded { try client.call(.unsubscribe(subscriptionId: 500)) }
        #expect(unsubscribed == .unsubscribed(subscriptionId: 500))
        fixture.emit(symbol: "BTCUSDT", eventTimeMs: 9_000)
        let after = try await offloaded { () -> SocketResponse in
            let stats = try client.call(.getStats)
            return client.takePending().first?.response ?? stats
        }
        guard case .stats = after else {
            Issue.record("event after Unsubscribe: \(after)")
            return
        }
        await fixture.stop()
    }

    @Test("a subscription with after_seq replays the log, then streams live, without duplicates or holes")
    func replayThenLive() async throws {
        let fixture = try await SocketFixture.started()
        for i in 0..<600 { fixture.emit(symbol: "BTCUSDT", eventTimeMs: Int64(i)) }
        let client = try await fixture.client()
        try await offloaded {
            try client.hello()
            try client.send(.subscribe(.init(stream: .signals, afterSeq: 100)), id: 9)
        }
        // Live signals race the replay.
        let feeder = Task.detached {
            for i in 600..<900 { fixture.emit(symbol: "BTCUSDT", eventTimeMs: Int64(i)) }
        }
        let seqs = try await offloaded { () -> [UInt64] in
            var seqs: [UInt64] = []
            while seqs.count < 800, let (_, response) = try client.readResponse() {
                switch response {
                case .signalEvent(let s): seqs.append(s.seq)
                case .subscribed: continue
                default: throw SocketTestClient.Failure(description: "unexpected \(response)")
                }
            }
            return seqs
        }
        await feeder.value
        #expect(seqs == Array(101...900))
        await fixture.stop()
    }

    @Test("a depth subscription streams its symbols only, with per-subscription sequences, and throttles per symbol")
    func depthSubscription() async throws {
        let fixture = try await SocketFixture.started()
        let client = try await fixture.client()
        let throttled = try await fixture.client()
        try await offloaded {
            try client.hello()
            _ = try client.call(.subscribe(.init(stream: .depth, symbols: ["ETHUSDT"])), id: 1)
            try throttled.hello()
            _ = try throttled.call(.subscribe(.init(stream: .depth, minIntervalMs: 60_000)), id: 2)
        }
        var market = SyntheticMarket(.init(symbols: ["BTCUSDT", "ETHUSDT", "SOLUSDT"], tradesPerSecond: 0, tickerIntervalMs: 0))
        let payloads = (0..<300).map { _ in market.next().payload }
        fixture.feed(payloads)
        let events = try await offloaded { () -> [(UInt64, SocketProtocol.DepthMetrics)] in
            var events: [(UInt64, SocketProtocol.DepthMetrics)] = []
            while events.count < 100, let (id, response) = try client.readResponse() {
                guard id == 1, case .depthEvent(let seq, let metrics) = response else {
                    throw SocketTestClient.Failure(description: "unexpected \(id) \(response)")
                }
                events.append((seq, metrics))
            }
            return events
        }
        #expect(events.map(\.0) == Array(1...100))
        #expect(events.allSatisfy { $0.1.symbol == "ETHUSDT" && $0.1.venue == "spot" })
        #expect(events.allSatisfy { $0.1.bidPrices.count == Int($0.1.bidLevels) && $0.1.bidPrices.count > 0 })
        // The last event equals what GetDepthMetrics answers now (same values, same rounding).
        let now = try await offloaded { try client.call(.getDepthMetrics(.init(symbol: "ETHUSDT", includeLevels: true))) }
        guard case .depthMetrics(var answered) = now else {
            Issue.record("no depth: \(now)")
            return
        }
        answered.ageMs = events.last!.1.ageMs  // the book's age follows the clock
        answered.stale = events.last!.1.stale
        #expect(answered == events.last!.1)

        // One per symbol within the minute: three events, in any symbol order.
        let slow = try await offloaded { () -> [String] in
            var symbols: [String] = []
            while symbols.count < 3, let (_, response) = try throttled.readResponse() {
                if case .depthEvent(_, let m) = response { symbols.append(m.symbol) }
            }
            _ = try throttled.call(.healthCheck)
            for (_, response) in throttled.takePending() {
                if case .depthEvent(_, let m) = response { symbols.append(m.symbol) }
            }
            return symbols
        }
        #expect(slow.sorted() == ["BTCUSDT", "ETHUSDT", "SOLUSDT"])
        await fixture.stop()
    }
}
