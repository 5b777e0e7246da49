import Foundation
import Synchronization
import Testing
@testable import Sidecar
import Strategies
#if canImport(Glibc)
import Glibc
#endif

/// Socket protocol fuzzing against the real `SocketServer` (docs/RELIABILITY.md, "Socket protocol
/// fuzzing"). Several connections send random and mutated frames while an honest client keeps
/// calling GetStats, GetDepthMetrics and Hello and checks each answer.
///   SOCKET_FUZZ_FRAMES=1000000 swift test --filter SocketFuzzTests   # full-size run
///   SOCKET_FUZZ_SEED=<n>                                              # replay one run
@Suite("Socket protocol fuzzing", .serialized)
struct SocketFuzzTests {
    static let frames = ProcessInfo.processInfo.environment["SOCKET_FUZZ_FRAMES"].flatMap(Int.init) ?? 30_000
    static let seed = ProcessInfo.processInfo.environment["SOCKET_FUZZ_SEED"].flatMap(UInt64.init)
        ?? UInt64.random(in: 1...UInt64.max)
    static let maxFrameBytes = 1 << 20
    static let fuzzConnections = 4

    /// The frames of one fuzz session on one connection; the last one may end the stream.
    struct Session {
        var bytes: [UInt8] = []
        var frames = 0
        /// The session ends with bytes after which the server must close the connection.
        var fatal = false
    }

    static func validRequest(_ rng: inout SplitMix64) -> SocketRequest {
        let symbols = ["BTCUSDT", "ETHUSDT", "NOPE", "", "btcusdt", String(repeating: "Z", count: 40)]
        switch rng.next() % 11 {
        case 0: return .hello(.init(protocolVersion: rng.next() % 4 == 0 ? UInt32(truncatingIfNeeded: rng.next()) : 1,
                                    clientName: "fuzz"))
        case 1: return .getSignals(.init(afterSeq: rng.next() % 100, max: UInt32(rng.next() % 2000),
                                         symbols: [symbols.randomElement(using: &rng)!]))
        case 2: return .subscribe(.init(stream: SocketProtocol.Stream(rawValue: Int32(rng.next() % 4)) ?? .signals,
                                        symbols: [symbols.randomElement(using: &rng)!]))
        case 3: return .unsubscribe(subscriptionId: rng.next() % 8)
        case 4: return .getDepthMetrics(.init(symbol: symbols.randomElement(using: &rng)!, venue: ["", "spot", "usdm", "x"][Int(rng.next() % 4)],
                                              includeLevels: rng.next() % 2 == 0))
        case 5:
            var list = SocketProtocol.ListDepthMetrics()
            list.limit = UInt32(rng.next() % 300)
            list.offset = UInt32(rng.next() % 10)
            list.sortBy = ["", "pressure", "spread", "x"][Int(rng.next() % 4)]
            return .listDepthMetrics(list)
        case 6: return .getPressureHistory(.init(symbol: symbols.randomElement(using: &rng)!, timeframe: ["", "1m", "5m", "2m"][Int(rng.next() % 4)]))
        case 7: return .getMarketSummary(venue: ["", "spot", "usdm", "x"][Int(rng.next() % 4)])
        case 8: return .getStats
        case 9: return .healthCheck
        default: return .unknown
        }
    }

    static func frame(_ body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        SocketFraming.appendFrame(body, to: &out)
        return out
    }

    static func body(_ request: SocketRequest, _ rng: inout SplitMix64) -> [UInt8] {
        var body: [UInt8] = []
        SocketCodec.encodeRequest(request, id: rng.next() % 1_000_000, into: &body)
        return body
    }

    /// One session: up to `budget` frames, most well-framed, the last one possibly fatal.
    static func session(_ rng: inout SplitMix64, budget: Int) -> Session {
        var s = Session()
        // Usually open with Hello, so the requests after it reach their handlers.
        if rng.next() % 8 != 0 {
            s.bytes += SocketFraming.requestFrame(.hello(.init(clientName: "fuzz")), id: 1)
            s.frames += 1
        }
        let count = min(budget, 1 + Int(rng.next() % 200))
        while s.frames < count {
            s.frames += 1
            switch rng.next() % 100 {
            case 0..<30:  // interleaved valid requests
                s.bytes += SocketFraming.requestFrame(validRequest(&rng), id: rng.next() % 1_000_000)
            case 30..<55:  // valid request, 1-4 bytes mutated (length kept)
                var b = body(validRequest(&rng), &rng)
                for _ in 0...(rng.next() % 4) where !b.isEmpty { b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next()) }
                s.bytes += frame(b)
            case 55..<65:  // valid request, bytes inserted or cut (length kept consistent)
                var b = body(validRequest(&rng), &rng)
                if rng.next() % 2 == 0, b.count > 1 {
                    b.removeLast(Int(rng.next() % UInt64(b.count - 1)))
                } else {
                    b.insert(contentsOf: (0..<(1 + rng.next() % 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) },
                             at: Int(rng.next() % UInt64(b.count + 1)))
                }
                s.bytes += frame(b)
            case 65..<80:  // random body, random length
                let n = 1 + Int(rng.next() % (rng.next() % 10 == 0 ? 8192 : 64))
                s.bytes += frame((0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            case 80..<92:  // unknown fields appended: varint, 64-bit, length-delimited, 32-bit
                var b = body(validRequest(&rng), &rng)
                let field = UInt64(16 + rng.next() % 100_000)
                let wire = [0, 1, 2, 5][Int(rng.next() % 4)] as UInt64
                appendVarint(field << 3 | wire, &b)
                switch wire {
                case 0: appendVarint(rng.next(), &b)
                case 1: b += (0..<8).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                case 2:
                    let n = Int(rng.next() % 300)
                    appendVarint(UInt64(n), &b)
                    b += [UInt8](repeating: 0x41, count: n)
                default: b += (0..<4).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                }
                s.bytes += frame(b)
            case 92..<93 where rng.next() % 20 == 0:  // huge repeated field, up to the frame limit
                let total = maxFrameBytes - Int(rng.next() % 64) - 16
                var symbols: [String] = []
                var size = 0
                while size < total - 40 {
                    symbols.append("S\(symbols.count)")
                    size += 2 + symbols.last!.utf8.count
                }
                var b = body(.getSignals(.init(afterSeq: 0, max: 10, symbols: symbols)), &rng)
                if b.count > maxFrameBytes { b.removeLast(b.count - maxFrameBytes) }
                s.bytes += frame(b)
            case 93..<100 where rng.next() % 3 == 0:  // fatal: the server must close after it
                s.fatal = true
                switch rng.next() % 5 {
                case 0: s.bytes += [0, 0, 0, 0]  // zero length
                case 1: s.bytes += [0xFF, 0xFF, 0xFF, 0xFF]  // 4 GiB
                case 2:  // just over the limit, body never sent
                    let n = UInt32(maxFrameBytes + 1 + Int(rng.next() % 1000))
                    s.bytes += [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
                case 3:  // garbage after Hello, no framing at all
                    s.bytes += (0..<(4 + rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                default:  // truncated frame, then end of input
                    let f = SocketFraming.requestFrame(validRequest(&rng), id: 9)
                    s.bytes += f.prefix(Int(rng.next() % UInt64(f.count)))
                }
                return s
            default:
                s.bytes += SocketFraming.requestFrame(.healthCheck, id: rng.next() % 1000)
            }
        }
        return s
    }

    static func appendVarint(_ value: UInt64, _ out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    /// The honest client's loop: Hello, GetStats, GetDepthMetrics, each answer checked.
    final class HonestClient: @unchecked Sendable {
        let calls = Atomic<Int>(0)
        let failures = Mutex<[String]>([])
        let maxLatencyMs = Atomic<Int>(0)
        let stop = Atomic<Bool>(false)

        func run(path: String, expectedDepth: SocketProtocol.DepthMetrics, expectedReceived: UInt64) {
            do {
                let client = try SocketTestClient(path: path, receiveTimeout: 10)
                try client.hello()
                var i = 0
                while !stop.load(ordering: .relaxed) {
                    let started = DispatchTime.now().uptimeNanoseconds
                    let response: SocketResponse
                    switch i % 3 {
                    case 0:
                        response = try client.call(.getStats)
                        guard case .stats(let stats) = response, stats.messagesReceived == expectedReceived,
                              stats.messagesProcessed == expectedReceived
                        else { throw SocketTestClient.Failure(description: "GetStats answered \(response)") }
                    case 1:
                        response = try client.call(.getDepthMetrics(.init(symbol: "BTCUSDT")))
                        // Equal but for the book's age, which grows between the calls.
                        guard case .depthMetrics(let depth) = response, sameBook(depth, expectedDepth)
                        else { throw SocketTestClient.Failure(description: "GetDepthMetrics answered \(response)") }
                    default:
                        response = try client.call(.hello(.init(clientName: "honest")))
                        guard case .hello(let hello) = response, hello.protocolVersion == 1, hello.venues == ["spot", "usdm"]
                        else { throw SocketTestClient.Failure(description: "Hello answered \(response)") }
                    }
                    let ms = Int((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000)
                    if ms > maxLatencyMs.load(ordering: .relaxed) { maxLatencyMs.store(ms, ordering: .relaxed) }
                    calls.add(1, ordering: .relaxed)
                    i += 1
                }
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
    }

    @Test("random and mutated frames from several connections: the server stays up and the honest client is answered correctly throughout")
    func fuzzFrames() async throws {
        let fixture = try await SocketFixture.started {
            $0.maxFrameBytes = Self.maxFrameBytes
            $0.maxRequestBytes = Self.maxFrameBytes  // the fuzzer's frames go up to this size
        }
        var market = SyntheticMarket(.init(symbols: ["BTCUSDT", "ETHUSDT"]))
        let fed = (0..<400).map { _ in market.next().payload }
        fixture.feed(fed)
        let probe = try await fixture.client()
        let expectedDepth = try await offloaded { () -> SocketProtocol.DepthMetrics in
            try probe.hello()
            guard case .depthMetrics(let d) = try probe.call(.getDepthMetrics(.init(symbol: "BTCUSDT"))) else {
                throw SocketTestClient.Failure(description: "no depth for BTCUSDT")
            }
            return d
        }
        let rssBefore = residentBytes()
        let path = fixture.path
        let honest = HonestClient()
        let honestDone = Thread.detachedDone { honest.run(path: path, expectedDepth: expectedDepth, expectedReceived: UInt64(fed.count)) }

        let seed = Self.seed
        let perConnection = Self.frames / Self.fuzzConnections
        print("socket fuzz: \(Self.frames) frames on \(Self.fuzzConnections) connections, SOCKET_FUZZ_SEED=\(seed)")
        let sent = Atomic<Int>(0), sessions = Atomic<Int>(0), answers = Atomic<Int>(0)
        let violations = Mutex<[String]>([])
        let started = Date()
        await onThreads(Self.fuzzConnections) { worker in
            var rng = SplitMix64(seed: seed &+ UInt64(worker) &* 0x1_0000_0001)
            var done = 0
            while done < perConnection {
                let s = Self.session(&rng, budget: perConnection - done)
                done += s.frames
                guard let connection = try? RawSocketConnection(path: path) else {
                    violations.withLock { $0.append("connect failed after \(sessions.load(ordering: .relaxed)) sessions") }
                    return
                }
                connection.write(s.bytes)
                connection.shutdownWrite()
                if !connection.readUntilClosed(timeout: 30) {
                    violations.withLock { $0.append("connection not closed 30 s after end of input (seed \(seed), worker \(worker))") }
                }
                if let v = connection.protocolViolation { violations.withLock { $0.append(v) } }
                sent.add(s.frames, ordering: .relaxed)
                answers.add(connection.framesReceived, ordering: .relaxed)
                sessions.add(1, ordering: .relaxed)
            }
        }
        honest.stop.store(true, ordering: .relaxed)
        await honestDone.value
        let elapsed = Date().timeIntervalSince(started)
        let rssAfter = residentBytes()
        print("socket fuzz: \(sent.load(ordering: .relaxed)) frames in \(sessions.load(ordering: .relaxed)) connections, "
              + "\(answers.load(ordering: .relaxed)) response frames, \(Int(Double(sent.load(ordering: .relaxed)) / elapsed)) frames/s, "
              + "honest calls \(honest.calls.load(ordering: .relaxed)) (max latency \(honest.maxLatencyMs.load(ordering: .relaxed)) ms), "
              + "bad frames \(fixture.socketStats.badFrames.value), RSS \(rssBefore >> 20) → \(rssAfter >> 20) MiB, seed \(seed)")

        #expect(sent.load(ordering: .relaxed) >= Self.frames - Self.fuzzConnections)
        #expect(violations.withLock { $0 }.isEmpty, "\(violations.withLock { $0.prefix(5) })")
        #expect(honest.failures.withLock { $0 }.isEmpty, "\(honest.failures.withLock { $0 })")
        #expect(honest.calls.load(ordering: .relaxed) > 0)
        // Still serving new connections; every fuzz connection is gone.
        let after = try await fixture.client()
        let health = try await offloaded { try after.hello(); return try after.call(.healthCheck) }
        guard case .health = health else {
            Issue.record("server not answering after fuzzing: \(health)")
            return
        }
        try await waitUntil("fuzz connections closed", timeout: 10) { fixture.server.connectionCount <= 2 }
        #expect(rssAfter - rssBefore < 512 << 20, "RSS grew by \((rssAfter - rssBefore) >> 20) MiB")
        await fixture.stop()
    }
}

extension Thread {
    /// Runs `body` on a new thread; the task completes when it returns.
    static func detachedDone(_ body: @escaping @Sendable () -> Void) -> Task<Void, Never> {
        let task = Task<Void, Never> {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let thread = Thread {
                    body()
                    continuation.resume()
                }
                thread.stackSize = 1 << 20
                thread.start()
            }
        }
        return task
    }
}

/// Equal depth answers, ignoring `age_ms` and `stale` (they follow the clock).
private func sameBook(_ a: SocketProtocol.DepthMetrics, _ b: SocketProtocol.DepthMetrics) -> Bool {
    var a = a
    a.ageMs = b.ageMs
    a.stale = b.stale
    return a == b
}
