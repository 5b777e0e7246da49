import Foundation
import Synchronization
import Testing
@testable import Sidecar
import Strategies
#if canImport(Glibc)
import Glibc
#endif

/// Hostile and slow socket clients (docs/RELIABILITY.md, "Hostile and slow clients"): subscribers
/// that never read, clients sending one byte a second, a stalled maximum-size frame, 1,000
/// connections opened at once, and a peer whose UID is not allowed, all while the engine ingests.
/// Knobs (defaults are the bounded run of `make test`):
///   HOSTILE_MESSAGES=30000    messages per throughput run
///   HOSTILE_RUNS=3            rounds of a run without, then with the hostile clients (median ratio)
///   HOSTILE_TOLERANCE=0.20    allowed throughput loss with the hostile clients (the issue's 5% is
///                             asserted by the full-size run; the bounded run's 3 short rounds on
///                             a shared machine vary by ±20% each; see docs/RELIABILITY.md)
///   HOSTILE_CONNECTIONS=1000  connections opened at once
@Suite("Hostile and slow socket clients", .serialized)
struct HostileClientTests {
    static let env = ProcessInfo.processInfo.environment
    static let messages = env["HOSTILE_MESSAGES"].flatMap(Int.init) ?? 30_000
    static let runs = env["HOSTILE_RUNS"].flatMap(Int.init) ?? 3
    static let tolerance = env["HOSTILE_TOLERANCE"].flatMap(Double.init) ?? 0.20
    static let crowd = env["HOSTILE_CONNECTIONS"].flatMap(Int.init) ?? 1000
    static let frameTimeout = Duration.seconds(3)

    /// Raises this process's open-file limit to its hard limit (the crowd needs two fds per
    /// connection here: client and server live in one process).
    static func raiseFileLimit(to needed: Int) -> Int {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < rlim_t(needed) {
            limit.rlim_cur = min(limit.rlim_max, rlim_t(needed))
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return Int(limit.rlim_cur)
    }

    /// Ingests `count` synthetic messages as the ingest thread would; processed messages per second
    /// from the engine's `IngestStats`. The payloads are generated before the clock starts, into
    /// one reused buffer, so the test's own allocations neither cost time nor grow RSS.
    static func throughput(_ fixture: SocketFixture, _ market: inout SyntheticMarket, _ batch: PayloadBatch,
                           count: Int) async throws -> Double {
        batch.refill(&market, count: count)
        let before = fixture.stats.processed.value
        let elapsed = try await offloaded { () -> Double in
            let start = DispatchTime.now().uptimeNanoseconds
            fixture.feed(batch)
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
        return Double(fixture.stats.processed.value - before) / elapsed
    }

    static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    /// The crowd and the never-readers: opened for one measured run, closed after it.
    final class HostileSet: @unchecked Sendable {
        var neverReaders: [SocketTestClient] = []
        var crowd: [SocketTestClient] = []
        var failures: [String] = []
        var openSeconds = 0.0

        static func open(path: String, crowd: Int) async throws -> HostileSet {
            let set = HostileSet()
            // Subscribers that never read (tiny receive buffers): their queues overflow and drop.
            set.neverReaders = try await offloaded {
                try (0..<5).map { _ in
                    let client = try SocketTestClient(path: path)
                    client.setReceiveBuffer(4096)
                    try client.hello()
                    _ = try client.call(.subscribe(.init(stream: .depth)))
                    _ = try client.call(.subscribe(.init(stream: .signals)))
                    return client
                }
            }
            // `crowd` connections opened at once, from 8 threads; each says Hello and is answered.
            let opened = Mutex<[SocketTestClient]>([])
            let failures = Mutex<[String]>([])
            let started = Date()
            await onThreads(8) { worker in
                var mine: [SocketTestClient] = []
                for i in stride(from: worker, to: crowd, by: 8) {
                    do {
                        let client = try SocketTestClient(path: path, receiveTimeout: 30)
                        try client.send(.hello(.init(clientName: "crowd-\(i)")), id: UInt64(i))
                        mine.append(client)
                    } catch {
                        failures.withLock { $0.append("connect \(i): \(error)") }
                    }
                }
                for client in mine {
                    do {
                        guard case .hello? = try client.readResponse()?.response else {
                            throw SocketTestClient.Failure(description: "no hello")
                        }
                    } catch {
                        failures.withLock { $0.append("hello: \(error)") }
                    }
                }
                opened.withLock { $0 += mine }
            }
            set.openSeconds = Date().timeIntervalSince(started)
            set.crowd = opened.withLock { $0 }
            set.failures = failures.withLock { $0 }
            return set
        }
    }

    @Test("hostile clients neither stop other clients being served nor slow ingestion beyond the tolerance, and memory stays bounded")
    func hostileClients() async throws {
        let fdLimit = Self.raiseFileLimit(to: 4 * Self.crowd + 512)
        try #require(fdLimit >= 2 * Self.crowd + 256, "RLIMIT_NOFILE \(fdLimit) is too low for \(Self.crowd) connections")
        let fixture = try await SocketFixture.started {
            $0.allowedUIDs = [getuid()]
            $0.mode = 0o666  // so the refused peer (another UID) reaches the UID check
            $0.frameTimeout = Self.frameTimeout
            $0.maxConnections = Self.crowd + 64
        }
        let path = fixture.path
        var market = SyntheticMarket(.init(symbols: (0..<20).map { "SYM\($0)USDT" } + ["BTCUSDT", "ETHUSDT"]))
        // Warm-up, at the size of a measured run (so its allocations are already in RSS).
        let batch = PayloadBatch()
        _ = try await Self.throughput(fixture, &market, batch, count: Self.messages)
        let rssStart = residentBytes()
        let stop = Atomic<Bool>(false)

        // Throughout the test: slow senders, one byte a second, and a maximum-size request announced
        // and stalled one byte short. Both hold a partial frame; the frame timeout must cut them off.
        let slowResults = Mutex<[String: SocketResponse?]>([:])
        let slowDone = Thread.detachedDone {
            var clients: [(String, SocketTestClient)] = []
            do {
                for i in 0..<3 {
                    clients.append(("drip-\(i)", try SocketTestClient(path: path, receiveTimeout: 0.01)))
                }
                let stalled = try SocketTestClient(path: path, receiveTimeout: 0.01)
                let n = UInt32(SocketServerConfiguration(path: path).maxRequestBytes)  // the largest request accepted
                var big = [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
                big += [UInt8](repeating: 0x0A, count: Int(n) - 1)
                try stalled.send(big)
                clients.append(("stalled-max-frame", stalled))
                let hello = SocketFraming.requestFrame(.hello(.init(clientName: String(repeating: "s", count: 40))), id: 1)
                var sentBytes = 0
                while !stop.load(ordering: .relaxed), sentBytes < hello.count {
                    for (name, c) in clients where name.hasPrefix("drip") { try? c.send([hello[sentBytes]]) }
                    sentBytes += 1
                    for _ in 0..<10 where !stop.load(ordering: .relaxed) { usleep(100_000) }
                }
                for (name, c) in clients {
                    c.setReceiveTimeout(Double(Self.frameTimeout.components.seconds) + 5)
                    let response = try? c.readResponse()?.response
                    slowResults.withLock { $0[name] = response }
                }
            } catch {
                slowResults.withLock { $0["setup"] = .error(.init(code: .internal, message: "\(error)")) }
            }
        }

        // Throughout the test: a peer whose UID is not allowed, connecting again and again (as
        // nobody, via setpriv; the system python, since a user's pyenv is not readable by nobody).
        var refused: Process?
        let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
        if getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), let python {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", python, "-c", """
                import socket, sys, time
                end = time.time() + 600
                while time.time() < end:
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    try:
                        s.connect(sys.argv[1])
                        s.sendall(b"\\x00\\x00\\x00\\x04garbage-after-refusal" * 4)
                        s.recv(4096)
                    except OSError:
                        pass
                    s.close()
                    time.sleep(0.02)
                """, path]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            refused = process
        } else {
            print("SKIPPED: refused-UID peer (needs root, /usr/bin/setpriv and a system python3 to connect as another UID)")
        }

        defer {
            // SIGKILL: the child inherits this process's blocked SIGTERM.
            if let refused, refused.isRunning { kill(refused.processIdentifier, SIGKILL) }
            stop.store(true, ordering: .relaxed)
        }

        // Throughout the test: an honest client keeps calling and checks every answer.
        let honestCalls = Atomic<Int>(0), honestMaxMs = Atomic<Int>(0)
        let honestFailures = Mutex<[String]>([])
        let honestDone = Thread.detachedDone {
            do {
                let client = try SocketTestClient(path: path, receiveTimeout: 10)
                try client.hello()
                while !stop.load(ordering: .relaxed) {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let response = try client.call(honestCalls.load(ordering: .relaxed) % 2 == 0
                        ? .getStats : .getDepthMetrics(.init(symbol: "BTCUSDT")))
                    switch response {
                    case .stats(let s) where s.messagesReceived > 0: break
                    case .depthMetrics(let d) where d.symbol == "BTCUSDT" && d.bestBid < d.bestAsk: break
                    default: throw SocketTestClient.Failure(description: "wrong answer \(response)")
                    }
                    let ms = Int((DispatchTime.now().uptimeNanoseconds - t0) / 1_000_000)
                    if ms > honestMaxMs.load(ordering: .relaxed) { honestMaxMs.store(ms, ordering: .relaxed) }
                    honestCalls.add(1, ordering: .relaxed)
                    usleep(2_000)
                }
            } catch {
                honestFailures.withLock { $0.append("\(error)") }
            }
        }

        // Throughout the test: an honest depth subscriber that reads everything, so both sides of
        // the comparison pay for building depth events and only the hostile clients differ.
        let subscriberEvents = Atomic<Int>(0)
        let subscriberDone = Thread.detachedDone {
            guard let client = try? SocketTestClient(path: path, receiveTimeout: 0.5), (try? client.hello()) != nil,
                  (try? client.call(.subscribe(.init(stream: .depth)))) != nil else {
                honestFailures.withLock { $0.append("honest subscriber could not subscribe") }
                return
            }
            while !stop.load(ordering: .relaxed) {
                if (try? client.readResponse()) != nil { subscriberEvents.add(1, ordering: .relaxed) }
            }
        }

        // Rounds: a run without, then a run with the crowd and the never-readers (opened for the
        // run, closed after it), so drift of this shared machine affects both sides alike.
        var baseline: [Double] = [], hostile: [Double] = [], openSeconds: [Double] = []
        var crowdFailures: [String] = []
        var rssHostile = 0
        var rssAfterRounds: [Int] = []
        for _ in 0..<Self.runs {
            baseline.append(try await Self.throughput(fixture, &market, batch, count: Self.messages))
            let connections = fixture.server.connectionCount
            let set = try await HostileSet.open(path: path, crowd: Self.crowd)
            crowdFailures += set.failures
            openSeconds.append(set.openSeconds)
            #expect(set.crowd.count == Self.crowd)
            #expect(fixture.server.connectionCount >= connections + Self.crowd)
            hostile.append(try await Self.throughput(fixture, &market, batch, count: Self.messages))
            rssHostile = max(rssHostile, residentBytes())
            // A never-reader is still connected and, once it reads, gets its pushed events.
            do {
                let reader = set.neverReaders[0]
                reader.setReceiveTimeout(5)
                let pushed = try await offloaded { try reader.readResponse() }
                #expect(pushed != nil)
            }
            set.neverReaders.removeAll()
            set.crowd.removeAll()
            // (+2: the refused peer's connections come and go meanwhile.)
            try await waitUntil("hostile connections closed", timeout: 20) { fixture.server.connectionCount <= connections + 2 }
            rssAfterRounds.append(residentBytes())
        }
        // The slow clients have reached their frame timeout by now (or soon).
        try await waitUntil("slow clients cut off", timeout: 30) { fixture.socketStats.badFrames.value >= 4 }
        stop.store(true, ordering: .relaxed)
        await slowDone.value
        await honestDone.value
        await subscriberDone.value
        if let refused, refused.isRunning { kill(refused.processIdentifier, SIGKILL) }
        let dropped = fixture.socketStats.eventsDropped.value
        let rssEnd = residentBytes()

        let ratios = zip(hostile, baseline).map { $0 / $1 }
        let ratio = Self.median(ratios)
        print("hostile clients: throughput without \(baseline.map { Int($0) }) msg/s, with \(hostile.map { Int($0) }) msg/s, "
              + "median ratio \(String(format: "%.3f", ratio)) (\(String(format: "%+.1f", (ratio - 1) * 100))%); "
              + "\(Self.crowd) connections opened and answered in \(openSeconds.map { String(format: "%.2f", $0) }) s; "
              + "honest calls \(honestCalls.load(ordering: .relaxed)) (max \(honestMaxMs.load(ordering: .relaxed)) ms), "
              + "honest subscriber events \(subscriberEvents.load(ordering: .relaxed)); "
              + "events dropped for never-readers \(dropped); refused peers \(fixture.socketStats.permissionDenied.value); "
              + "RSS \(rssStart >> 20) → max \(rssHostile >> 20) → \(rssEnd >> 20) MiB (after each round: \(rssAfterRounds.map { $0 >> 20 }) MiB); "
              + "slow clients \(slowResults.withLock { $0.mapValues { $0.map { "\($0)" } ?? "nil" } })")

        #expect(ratio >= 1 - Self.tolerance,
                "ingestion slowed by \(String(format: "%.1f", (1 - ratio) * 100))% with hostile clients (tolerance \(Self.tolerance * 100)%)")
        #expect(crowdFailures.isEmpty, "\(crowdFailures.prefix(5))")
        #expect(honestFailures.withLock { $0 }.isEmpty, "\(honestFailures.withLock { $0 })")
        #expect(honestCalls.load(ordering: .relaxed) > 10)
        #expect(dropped > 0, "never-reading subscribers should overflow their bounded queues")
        for (name, response) in slowResults.withLock({ $0 }) {
            guard case .error(let info)? = response, info.code == .badFrame, info.message.contains("not completed") else {
                Issue.record("\(name): expected BAD_FRAME for an unfinished frame, got \(String(describing: response))")
                continue
            }
        }
        #expect(slowResults.withLock { $0.count } == 4)
        if refused != nil { #expect(fixture.socketStats.permissionDenied.value > 0) }
        #expect(rssHostile - rssStart < 256 << 20, "RSS grew by \((rssHostile - rssStart) >> 20) MiB with the hostile clients")
        await fixture.stop()
    }

    @Test("beyond SIDECAR_MAX_CONNECTIONS a connection gets RESOURCE_EXHAUSTED and is closed; the others are still served")
    func connectionLimit() async throws {
        let fixture = try await SocketFixture.started { $0.maxConnections = 3 }
        let open = try await offloaded { () -> [SocketTestClient] in
            try (0..<3).map { _ in let c = try SocketTestClient(path: fixture.path); try c.hello(); return c }
        }
        let extra = try await fixture.client()
        let frames = try await offloaded { () -> [(id: UInt64, response: SocketResponse)] in
            try? extra.send(.hello(.init()), id: 1)
            return try extra.readUntilClosed()
        }
        guard case .error(let info)? = frames.first?.response, info.code == .resourceExhausted else {
            Issue.record("expected RESOURCE_EXHAUSTED, got \(frames)")
            return
        }
        #expect(fixture.socketStats.connectionsRefused.value == 1)
        let health = try await offloaded { try open[0].call(.healthCheck) }
        guard case .health = health else {
            Issue.record("open connection not served: \(health)")
            return
        }
        await fixture.stop()
    }

    @Test("a frame not completed within the frame timeout gets BAD_FRAME and the connection is closed")
    func frameTimeout() async throws {
        let fixture = try await SocketFixture.started { $0.frameTimeout = .milliseconds(300) }
        let client = try await fixture.client()
        let started = Date()
        let frames = try await offloaded {
            try client.send([0, 0, 0, 10, 1, 2])  // 10 bytes announced, 2 sent, then nothing
            return try client.readUntilClosed()
        }
        let elapsed = Date().timeIntervalSince(started)
        #expect(frames.count == 1)
        guard case .error(let info)? = frames.first?.response else {
            Issue.record("no error frame: \(frames)")
            return
        }
        #expect(info.code == .badFrame)
        #expect(info.message.contains("not completed"))
        #expect(elapsed < 5)
        // A frame completed in time, slowly, is still answered.
        let slow = try await fixture.client()
        let response = try await offloaded { () -> SocketResponse? in
            for byte in SocketFraming.requestFrame(.hello(.init(clientName: "slow")), id: 9) {
                try slow.send([byte])
                usleep(5_000)
            }
            return try slow.readResponse()?.response
        }
        guard case .hello? = response else {
            Issue.record("slow but timely frame not answered: \(String(describing: response))")
            return
        }
        // An idle connection between frames is never timed out.
        try await Task.sleep(for: .milliseconds(600))
        let again = try await offloaded { try slow.call(.healthCheck) }
        guard case .health = again else {
            Issue.record("idle connection was cut: \(again)")
            return
        }
        await fixture.stop()
    }
}
