import Foundation
@testable import NATS
import Synchronization
import Testing
@testable import Sidecar
import Strategies

/// Publishes `count` synthetic market messages at full speed.
private func publishSynthetic(_ url: String, count: Int, symbols: [String] = ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT"],
                              seed: UInt64 = 42) throws {
    let publisher = try NATSClient(options: NATSClientOptions(url: url, name: "test-feed"))
    var market = SyntheticMarket(.init(symbols: symbols, seed: seed))
    for _ in 0..<count { try publisher.publish(subject: "binance.websocket.data", bytes: market.next().payload) }
    try publisher.flush(timeoutMs: 10_000)
    publisher.close(drainTimeoutMs: 1000)
}

/// JSON decoded with `JSONDecoder`, whose number parsing is correctly rounded (Foundation's
/// `JSONSerialization` on Linux is not, which would make equal values look different).
enum JSONTree: Decodable {
    case number(Double), string(String), bool(Bool), null, array([JSONTree]), object([String: JSONTree])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONTree].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONTree].self)) }
    }

    subscript(_ key: String) -> JSONTree? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    var double: Double? { if case .number(let d) = self { return d } else { return nil } }
    var string: String? { if case .string(let s) = self { return s } else { return nil } }
    var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    var array: [JSONTree]? { if case .array(let a) = self { return a } else { return nil } }
    var object: [String: JSONTree]? { if case .object(let o) = self { return o } else { return nil } }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

private func number(_ tree: JSONTree, _ path: String...) -> Double? {
    var current: JSONTree? = tree
    for key in path { current = current?[key] }
    return current?.double
}

private extension RunningSidecar {
    func getTree(_ path: String) async throws -> (status: Int, tree: JSONTree) {
        let response = try await get(path)
        return (response.status, try JSONDecoder().decode(JSONTree.self, from: Data(response.body)))
    }
}

@Suite("Socket server in the running sidecar", .serialized)
struct SocketIntegrationTests {
    @Test("GetDepthMetrics, ListDepthMetrics and GetPressureHistory carry the HTTP JSON's values")
    func valuesMatchHTTP() async throws {
        let server = try NATSServerProcess()
        let sidecar = try await RunningSidecar.start(natsURL: server.url)
        try await waitUntil("ready", timeout: 15) { sidecar.runtime.ingest.isReady }
        try await offloaded { try publishSynthetic(server.url, count: 3000) }
        try await waitUntil("3000 processed", timeout: 30) { sidecar.runtime.stats.processed.value == 3000 }
        let path = try #require(sidecar.socketPath)
        let client = try await offloaded { try SocketTestClient(path: path) }
        try await offloaded { try client.hello() }

        for symbol in ["BTCUSDT", "ETHUSDT", "XRPUSDT"] {
            let (status, http) = try await sidecar.getTree("/api/v1/metrics/depth/\(symbol)")
            #expect(status == 200)
            let answer = try await offloaded { try client.call(.getDepthMetrics(.init(symbol: symbol))) }
            guard case .depthMetrics(let d) = answer else {
                Issue.record("no depth for \(symbol): \(answer)")
                continue
            }
            let pairs: [(Double, Double?)] = [
                (d.imbalanceRatio, number(http, "imbalance", "ratio")), (d.imbalancePercent, number(http, "imbalance", "percent")),
                (d.bidVolume, number(http, "imbalance", "bid_volume")), (d.askVolume, number(http, "imbalance", "ask_volume")),
                (d.buyPressure, number(http, "pressure", "buy_pressure")), (d.sellPressure, number(http, "pressure", "sell_pressure")),
                (d.netPressure, number(http, "pressure", "net_pressure")), (d.totalLiquidity, number(http, "liquidity", "total")),
                (d.bidDepth5, number(http, "liquidity", "bid_depth_5")), (d.askDepth5, number(http, "liquidity", "ask_depth_5")),
                (d.bidDepth10, number(http, "liquidity", "bid_depth_10")), (d.askDepth10, number(http, "liquidity", "ask_depth_10")),
                (d.bestBid, number(http, "spread", "best_bid")), (d.bestAsk, number(http, "spread", "best_ask")),
                (d.spreadAbs, number(http, "spread", "spread_abs")), (d.spreadBps, number(http, "spread", "spread_bps")),
                (d.midPrice, number(http, "spread", "mid_price")), (d.vwapBid, number(http, "vwap", "bid")),
                (d.vwapAsk, number(http, "vwap", "ask")), (d.vwapSpread, number(http, "vwap", "spread")),
                (Double(d.bidLevels), number(http, "order_book_quality", "bid_levels")),
                (Double(d.askLevels), number(http, "order_book_quality", "ask_levels")),
                (d.strongestBidPrice, number(http, "strongest_levels", "bid", "price")),
                (d.strongestBidVolume, number(http, "strongest_levels", "bid", "volume")),
                (d.strongestAskPrice, number(http, "strongest_levels", "ask", "price")),
                (d.strongestAskVolume, number(http, "strongest_levels", "ask", "volume")),
            ]
            for (i, (socket, json)) in pairs.enumerated() {
                #expect(socket == json, "\(symbol) field \(i): socket \(socket) vs HTTP \(String(describing: json))")
            }
            #expect(d.interpretation == http["pressure"]?["interpretation"]?.string)

            let (_, pressure) = try await sidecar.getTree("/api/v1/metrics/pressure/\(symbol)?timeframe=1m")
            let history = try await offloaded { try client.call(.getPressureHistory(.init(symbol: symbol, timeframe: "1m"))) }
            guard case .pressureHistory(let h) = history else {
                Issue.record("no pressure history: \(history)")
                continue
            }
            #expect(h.avgPressure == number(pressure, "summary", "avg_pressure"))
            #expect(h.trendStrength == number(pressure, "summary", "trend_strength"))
            #expect(Double(h.totalDataPoints) == number(pressure, "total_data_points"))
            let points = try #require(pressure["pressure_history"]?.array)
            #expect(h.pressure == points.compactMap { number($0, "pressure") })
        }

        let (_, all) = try await sidecar.getTree("/api/v1/metrics/all?sort_by=pressure&sort_order=desc&limit=3&offset=1")
        var list = SocketProtocol.ListDepthMetrics()
        list.sortBy = "pressure"
        list.sortOrder = "desc"
        list.limit = 3
        list.offset = 1
        let listRequest = SocketRequest.listDepthMetrics(list)
        let page = try await offloaded { try client.call(listRequest) }
        guard case .depthMetricsPage(let p) = page else {
            Issue.record("no page: \(page)")
            return
        }
        let data = try #require(all["data"]?.object)
        #expect(p.metrics.count == data.count)
        #expect(p.total == 5)
        #expect(Double(p.total) == number(all, "pagination", "total"))
        #expect(Double(p.page) == number(all, "pagination", "page"))
        #expect(Double(p.pages) == number(all, "pagination", "pages"))
        #expect(p.hasNext == all["pagination"]?["has_next"]?.bool)
        #expect(p.hasPrevious == all["pagination"]?["has_previous"]?.bool)
        for m in p.metrics {
            let row = try #require(data[m.symbol])
            #expect(m.netPressure == number(row, "net_pressure"))
            #expect(m.imbalancePercent == number(row, "imbalance_percent"))
            #expect(m.spreadBps == number(row, "spread_bps"))
            #expect(m.totalLiquidity == number(row, "total_liquidity"))
            #expect(m.midPrice == number(row, "mid_price"))
            #expect(m.trend == row["trend"]?.string)
        }
        let netPressures = p.metrics.map(\.netPressure)
        #expect(netPressures == netPressures.sorted(by: >))
        try await sidecar.stop()
    }

    @Test("a client that stops reading neither slows ingestion nor grows memory; on resuming it gets a Gap it can re-pull")
    func slowClientGap() async throws {
        let server = try NATSServerProcess()
        let queueEvents = 256
        let sidecar = try await RunningSidecar.start(natsURL: server.url) {
            $0.clientQueueEvents = queueEvents
            // A signal on every skewed book.
            $0.engine.strategies.parameters["orderbook_skew", default: ParameterValues()].values["cooldown_seconds"] = .double(0)
        }
        try await waitUntil("ready", timeout: 15) { sidecar.runtime.ingest.isReady }
        let stats = sidecar.runtime.stats
        // Baseline: the rate with no socket client at all.
        let baselineCount = 20_000
        let baselineStart = ContinuousClock.now
        try await offloaded { try publishSynthetic(server.url, count: baselineCount, seed: 7) }
        try await waitUntil("baseline processed", timeout: 60) { stats.processed.value >= baselineCount }
        let baselineRate = Double(baselineCount) / (ContinuousClock.now - baselineStart).seconds

        let path = try #require(sidecar.socketPath)
        let client = try await offloaded { try SocketTestClient(path: path, receiveTimeout: 30) }
        try await offloaded {
            client.setReceiveBuffer(4096)
            try client.hello()
            _ = try client.call(.subscribe(.init(stream: .signals)), id: 1)
            _ = try client.call(.subscribe(.init(stream: .depth)), id: 2)
        }
        // The client now reads nothing while the feed runs at full speed.
        let rssBefore = residentBytes()
        let processedBefore = stats.processed.value
        let signalsBefore = sidecar.runtime.signalLog.lastSequence
        let total = 60_000
        let started = ContinuousClock.now
        let feed = Task.detached { try publishSynthetic(server.url, count: total) }
        var samples: [Int] = []
        try await waitUntil("all \(total) processed", timeout: 120) {
            samples.append(stats.processed.value)
            return stats.processed.value - processedBefore >= total
        }
        try await feed.value
        let elapsed = ContinuousClock.now - started
        let rate = Double(total) / elapsed.seconds
        let rssGrowth = residentBytes() - rssBefore
        #expect(stats.processed.value - processedBefore == total)
        // Generous bound for a shared 2-core machine: a blocked client must not stall ingestion.
        #expect(rate > baselineRate * 0.3, "\(Int(rate)) msg/s with a stalled client vs \(Int(baselineRate)) baseline")
        #expect(sidecar.runtime.ingest.droppedMessages == 0, "ingestion fell behind")
        #expect(samples.count > 2, "processed count sampled while rising")
        let socketStats = sidecar.runtime.socketStats
        #expect(socketStats.eventsDropped.value > 0, "the stalled client's queue never overflowed")
        let depths = sidecar.runtime.socketHub.queueDepths()
        #expect(!depths.isEmpty && depths.allSatisfy { $0 <= queueEvents }, "queue depths \(depths)")
        #expect(rssGrowth < 200 << 20, "resident memory grew by \(rssGrowth >> 20) MiB")
        print("slow client: \(Int(rate)) msg/s (baseline \(Int(baselineRate))), \(total) messages in \(elapsed), dropped \(socketStats.eventsDropped.value) events, RSS +\(rssGrowth >> 20) MiB")
        let lastSeq = sidecar.runtime.signalLog.lastSequence
        #expect(lastSeq - signalsBefore > UInt64(queueEvents), "too few signals (\(lastSeq)) to overflow the queue")

        // Resume: read everything queued (until 2 s of silence).
        let (gaps, signalSeqs) = try await offloaded { () -> ([SocketProtocol.Gap], [UInt64]) in
            var gaps: [SocketProtocol.Gap] = []
            var seqs: [UInt64] = []
            client.setReceiveTimeout(2)
            while let (_, response) = try? client.readResponse() {
                switch response {
                case .gap(let gap):
                    gaps.append(gap)
                case .signalEvent(let signal):
                    seqs.append(signal.seq)
                default:
                    continue
                }
            }
            client.setReceiveTimeout(30)
            return (gaps, seqs)
        }
        let signalGaps = gaps.filter { $0.stream == .signals }
        let gap = try #require(signalGaps.first, "no signal Gap among \(gaps.count) gaps")
        #expect(gap.subscriptionId == 1)
        #expect(gap.fromSeq <= gap.toSeq)
        #expect(gaps.contains { $0.stream == .depth && $0.subscriptionId == 2 })
        #expect(socketStats.gaps.value >= 2)
        // Delivered signals plus the gaps cover every sequence exactly once.
        var covered = Set(signalSeqs)
        var gapSize = 0
        for g in signalGaps {
            covered.formUnion(g.fromSeq...g.toSeq)
            gapSize += Int(g.toSeq - g.fromSeq + 1)
        }
        let expectedCount = signalSeqs.count + gapSize
        #expect(covered.count == expectedCount, "delivered and lost ranges overlap")
        #expect(covered == Set((signalsBefore + 1)...lastSeq), "some signals were neither delivered nor reported lost")
        // The gap's range is still in the log: re-pull it.
        let repullMax = UInt32(min(1000, gap.toSeq - gap.fromSeq + 1))
        let repullRequest = SocketRequest.getSignals(SocketProtocol.GetSignals(afterSeq: gap.fromSeq - 1, max: repullMax))
        let repull = try await offloaded { try client.call(repullRequest) }
        guard case .signals(let page) = repull else {
            Issue.record("re-pull failed: \(repull)")
            return
        }
        #expect(!page.truncated)
        #expect(page.signals.first?.seq == gap.fromSeq)
        #expect(page.signals.allSatisfy { $0.seq >= gap.fromSeq && $0.seq <= gap.toSeq })
        try await sidecar.stop()
    }

    @Test("100 concurrent clients doing mixed calls while a replay runs all get their answers")
    func hundredClients() async throws {
        let server = try NATSServerProcess()
        let sidecar = try await RunningSidecar.start(natsURL: server.url)
        try await waitUntil("ready", timeout: 15) { sidecar.runtime.ingest.isReady }
        let path = try #require(sidecar.socketPath)

        let replay = SharedReplay.file("spot_10symbols_20210405.nats.jsonl.gz")
        let url = server.url
        let feed = Task.detached { () -> Int in
            if let replay {
                let publisher = try NATSClient(options: NATSClientOptions(url: url, name: "test-replay"))
                var sent = 0
                _ = try LineReader(path: replay.path).forEachLine { line in
                    try publisher.publish(subject: "binance.websocket.data", payload: line)
                    sent += 1
                }
                try publisher.flush(timeoutMs: 10_000)
                publisher.close(drainTimeoutMs: 1000)
                return sent
            }
            try publishSynthetic(url, count: 20_000)
            return 20_000
        }

        let failures = Mutex<[String]>([])
        let answered = Atomic<Int>(0)
        let rounds = 10
        await onThreads(100) { index in
            do {
                let client = try SocketTestClient(path: path, receiveTimeout: 30)
                try client.hello()
                if index % 4 == 0 {
                    _ = try client.call(.subscribe(.init(stream: .depth, minIntervalMs: 50)))
                }
                if index % 4 == 1 {
                    _ = try client.call(.subscribe(.init(stream: .signals, afterSeq: 1)))
                }
                for round in 0..<rounds {
                    let request: SocketRequest
                    switch (index + round) % 6 {
                    case 0: request = .getStats
                    case 1: request = .healthCheck
                    case 2: request = .listDepthMetrics(.init())
                    case 3: request = .getDepthMetrics(.init(symbol: "BTCUSDT"))
                    case 4: request = .getSignals(.init(afterSeq: 0, max: 50))
                    default: request = .getMarketSummary(venue: "")
                    }
                    let response = try client.call(request)
                    switch response {
                    case .error(let info) where info.code != .notFound:  // BTCUSDT may not be there yet
                        failures.withLock { $0.append("client \(index) round \(round): \(info)") }
                    case .unknown:
                        failures.withLock { $0.append("client \(index) round \(round): empty response") }
                    default:
                        answered.add(1, ordering: .relaxed)
                    }
                }
            } catch {
                failures.withLock { $0.append("client \(index): \(error)") }
            }
        }
        let sent = try await feed.value
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0.prefix(5) })")
        #expect(answered.load(ordering: .relaxed) == 100 * rounds - failures.withLock { $0.count })
        #expect(sidecar.runtime.socketStats.connectionsAccepted.value >= 100)
        let stats = sidecar.runtime.stats
        try await waitUntil("replay processed", timeout: 60) { stats.processed.value + stats.rejected.value >= sent }
        #expect(sidecar.runtime.ingest.droppedMessages == 0)
        try await sidecar.stop()
    }
}
