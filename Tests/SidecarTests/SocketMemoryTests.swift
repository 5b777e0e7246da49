import Foundation
import Testing
@testable import Sidecar
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Memory no socket client can exceed (docs/RELIABILITY.md, "Memory bound of socket clients"):
/// request frames are refused on their length prefix, replies to a client that does not read
/// stop at its output budget, and subscribers that never read cost a bounded queue each.
@Suite("Socket memory bound", .serialized)
struct SocketMemoryTests {
    static let env = ProcessInfo.processInfo.environment
    static let subscribers = env["SOCKET_MEMORY_SUBSCRIBERS"].flatMap(Int.init) ?? 1000
    static let pipelined = env["SOCKET_MEMORY_PIPELINED"].flatMap(Int.init) ?? 50_000
    static let hostileSeconds = env["SOCKET_MEMORY_SECONDS"].flatMap(Double.init) ?? 20
    static let feedRate = env["SOCKET_MEMORY_FEED_RATE"].flatMap(Int.init) ?? 2000
    /// Depth events per symbol per subscriber at most every this many ms (0: every update). The
    /// queues fill within seconds either way; throttled, the fan-out does not take both cores
    /// from the suites `make test` runs beside this one.
    static let depthIntervalMs = env["SOCKET_MEMORY_DEPTH_INTERVAL_MS"].flatMap(UInt32.init) ?? 20
    /// Ingestion during the attack must keep this share of the rate measured before it.
    static let rateTolerance = env["SOCKET_MEMORY_TOLERANCE"].flatMap(Double.init) ?? 0.15
    /// docs/RELIABILITY.md, "Memory bound of socket clients", with the defaults: the most one
    /// connection can hold, and the pool shared by replies beyond a connection's budget.
    static let maxRequestBytes = 64 << 10
    static let perConnectionWorstBytes = 280 << 10
    static let sharedOutputBytes = 8 << 20
    /// The pod's memory limit (k8s/sidecar/deployment.yaml).
    static let podLimitBytes = 256 << 20

    /// Frames of `count` GetSignals requests back to back.
    static func pipelinedGetSignals(_ count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        for i in 0..<count {
            var body: [UInt8] = []
            SocketCodec.encodeRequest(.getSignals(.init(max: 1000)), id: UInt64(10 + i), into: &body)
            SocketFraming.appendFrame(body, to: &bytes)
        }
        return bytes
    }

    static func setSendTimeout(_ fd: Int32, seconds: Int) {
        var tv = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Writes `bytes` (blocking, each send bounded by the send timeout); how many were taken
    /// before the server closed the connection or stopped reading.
    static func writeUntilRefused(_ fd: Int32, _ bytes: [UInt8]) -> Int {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { offset += n; continue }
            if n < 0 && errno == EINTR { continue }
            break
        }
        return offset
    }

    @Test("a client pipelining requests without reading is closed at SIDECAR_CLIENT_OUTPUT_BYTES; its replies do not pile up; other clients are served")
    func pipeliningWithoutReading() async throws {
        let budget = 64 << 10
        let fixture = try await SocketFixture.started { $0.clientOutputBytes = budget }
        // Signals in the log, so each GetSignals reply is large (about 1000 signals).
        for i in 0..<2000 { fixture.emit(symbol: i % 2 == 0 ? "BTCUSDT" : "ETHUSDT", eventTimeMs: 1_700_000_000_000 + Int64(i)) }
        let hog = try await fixture.client()
        let probe = try await fixture.client()
        let requests = Self.pipelinedGetSignals(Self.pipelined)
        let written = try await offloaded { () -> Int in
            try hog.hello()
            Self.setSendTimeout(hog.fd, seconds: 3)
            return Self.writeUntilRefused(hog.fd, requests)
        }
        try await waitUntil("the hog is cut off", timeout: 20) { fixture.socketStats.outputBudgetExceeded.value == 1 }
        #expect(written < requests.count, "the server kept reading requests whose replies were not read")
        // Its connection is closed (after the linger): reading yields at most what was buffered, then the end.
        let received = try await offloaded { () -> Int in
            var frames = 0
            while (try? hog.readFrame()) ?? nil != nil { frames += 1 }
            return frames
        }
        #expect(received < Self.pipelined, "\(received) replies reached a client that never read")
        let largestReply = try await offloaded { () -> Int in
            try probe.hello()
            guard case .health = try probe.call(.healthCheck) else {
                Issue.record("another client was not served")
                return 0
            }
            // The largest reply there is: a full page of signals (the overshoot one reply may add).
            try probe.send(.getSignals(.init(max: 1000)), id: 9)
            return try probe.readFrame()?.count ?? 0
        }
        print("socket memory: a full GetSignals page is \(largestReply) bytes; the hog wrote \(written) of \(requests.count) bytes, got \(received) replies")
        #expect(largestReply > budget, "the replies must be large enough to exceed the budget")
        #expect(fixture.socketStats.errors.value >= 1)
        await fixture.stop()
    }

    @Test("a reply beyond a connection's budget needs room in the shared pool: without it RESOURCE_EXHAUSTED and the connection stays open; the pool is returned once the reply is read")
    func sharedOutputPool() async throws {
        // A full page is about 350 KB: 318 KB beyond a 32 KiB budget.
        func fixture(pool: Int) async throws -> SocketFixture {
            let fixture = try await SocketFixture.started {
                $0.clientOutputBytes = 32 << 10
                $0.sharedOutputBytes = pool
            }
            for i in 0..<1000 { fixture.emit(symbol: "BTCUSDT", eventTimeMs: 1_700_000_000_000 + Int64(i)) }
            return fixture
        }
        func page(_ client: SocketTestClient) throws -> SocketResponse { try client.call(.getSignals(.init(max: 1000))) }

        let small = try await fixture(pool: 100 << 10)
        let client = try await small.client()
        let (refused, health) = try await offloaded { () -> (SocketResponse, SocketResponse) in
            try client.hello()
            return (try page(client), try client.call(.healthCheck))
        }
        guard case .error(let info) = refused, info.code == .resourceExhausted else {
            Issue.record("expected RESOURCE_EXHAUSTED with the pool too small, got \(refused)")
            return
        }
        #expect(info.details["reply_bytes"].flatMap(Int.init).map { $0 > 300_000 } == true)
        guard case .health = health else {
            Issue.record("the connection was not kept: \(health)")
            return
        }
        #expect(small.socketStats.outputPoolExhausted.value == 1)
        await small.stop()

        // Room for one excess at a time: two connections, one after the other, both served,
        // and again, so each read returns what its reply took.
        let roomy = try await fixture(pool: 400 << 10)
        let first = try await roomy.client()
        let second = try await roomy.client()
        let counts = try await offloaded { () -> [Int] in
            try first.hello()
            try second.hello()
            return try [first, second, first, second].map { client in
                guard case .signals(let p) = try page(client) else { return -1 }
                return p.signals.count
            }
        }
        #expect(counts == [1000, 1000, 1000, 1000])
        #expect(roomy.socketStats.outputPoolExhausted.value == 0)
        await roomy.stop()
    }

    @Test("1,000 subscribers that never read plus one client pipelining 50,000 GetSignals: the sidecar process stays within the documented memory bound and keeps ingesting; oversized and parameter-flood requests leave RSS flat",
          .timeLimit(.minutes(4)))
    func hostileMemory() async throws {
        guard let replay = SharedReplay.file("spot_10symbols_20210405.nats.jsonl.gz") else { return }
        let binary = try #require(SidecarBinary.path, "realtime-sidecar not found next to sidecarctl: run `swift build --build-tests`")
        let connections = Self.subscribers + 16
        let files = HostileClientTests.raiseFileLimit(to: connections + 512)
        try #require(files >= connections + 256, "open-file limit \(files) too low for \(connections) connections")
        let server = try NATSServerProcess()
        let socketPath = RunningSidecar.temporarySocketPath()
        let sidecar = try SidecarProcess(binary: binary, environment: [
            "NATS_URL": server.url, "SIDECAR_SOCKET_PATH": socketPath,
            "SIDECAR_MAX_CONNECTIONS": "\(connections)", "LOG_LEVEL": "warning",
        ])
        let pid = sidecar.process.processIdentifier
        // Niced: the attack's fan-out must not starve the suites `make test` runs beside this one
        // (their runtimes have 2 s to cancel at shutdown). The rates compared are its own.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(pid), 10)
        let http = sidecar.http
        func received() async -> Int {
            guard let (_, json) = try? await http.call("GET", "/api/v1/stats"), case .int(let n)? = json[path: "messages.received"] else {
                return -1
            }
            return Int(n)
        }
        func refused(_ reason: String) async throws -> Double {
            let url = "http://127.0.0.1:\(sidecar.httpPort)/metrics"
            let metrics = try PrometheusText(try await offloaded { try SimpleHTTPClient.get(url, timeoutSeconds: 5) }.text)
            return metrics.samples.first { $0.name == "realtime_socket_refused_total" && $0.labels["reason"] == reason }?.value ?? -1
        }
        try await waitUntil("sidecar ready", timeout: 30) { (try? await http.call("GET", "/ready"))?.status == 200 }

        let replayer = try CtlProcess(["replay", replay.path, "--nats-url", server.url, "--rate", "\(Self.feedRate)", "--loop", "1000"])
        defer { replayer.kill() }
        try await waitUntil("messages flowing", timeout: 30) { await received() > Self.feedRate }

        /// Messages received per second over `seconds`, sampling RSS meanwhile; peak RSS.
        func measure(_ seconds: Double) async throws -> (rate: Double, peakRSS: Int) {
            let start = await received()
            let started = Date()
            var peak = residentBytes(pid: pid)
            while Date().timeIntervalSince(started) < seconds {
                try await Task.sleep(for: .milliseconds(200))
                peak = max(peak, residentBytes(pid: pid))
            }
            let end = await received()
            return (Double(end - start) / Date().timeIntervalSince(started), peak)
        }
        let baseline = try await measure(5)
        let rssBaseline = residentBytes(pid: pid)

        // 1,000 subscribers that never read: signals and every depth update, tiny receive buffers.
        let subscribers = try await offloaded { () -> [SocketTestClient] in
            var hello: [UInt8] = []
            for (id, request) in [(1, SocketRequest.hello(.init(clientName: "never-reads"))),
                                  (2, .subscribe(.init(stream: .signals))), (3, .subscribe(.init(stream: .depth, minIntervalMs: Self.depthIntervalMs)))] {
                var body: [UInt8] = []
                SocketCodec.encodeRequest(request, id: UInt64(id), into: &body)
                SocketFraming.appendFrame(body, to: &hello)
            }
            return try (0..<Self.subscribers).map { _ in
                let client = try SocketTestClient(path: socketPath)
                client.setReceiveBuffer(4096)
                try client.send(hello)
                return client
            }
        }
        // One client pipelining GetSignals without ever reading.
        let hog = try await offloaded { try SocketTestClient(path: socketPath) }
        let requests = Self.pipelinedGetSignals(Self.pipelined)
        let hogWrite = Task.detached { () -> Int in
            try hog.hello()
            Self.setSendTimeout(hog.fd, seconds: 5)
            return Self.writeUntilRefused(hog.fd, requests)
        }
        let attack = try await measure(Self.hostileSeconds)
        let written = try await hogWrite.value
        let rssAttack = residentBytes(pid: pid)
        let socketStats = try? await http.call("GET", "/api/v1/stats").json[path: "socket"]
        let budgetClosed = try await refused("output_budget")
        let dropped = try await offloaded { () -> Double in
            let text = try SimpleHTTPClient.get("http://127.0.0.1:\(sidecar.httpPort)/metrics", timeoutSeconds: 5).text
            return try PrometheusText(text).samples.first { $0.name == "realtime_socket_events_dropped_total" }?.value ?? -1
        }

        // The issue's original attack: 4 MiB frames (of empty repeated parameters) are refused
        // on their length prefix; ConfigCalls of thousands of empty parameters within the
        // request limit are refused after decoding, without lasting growth.
        let rssBeforeFloods = residentBytes(pid: pid)
        var flood = SocketProtocol.ConfigCall(op: .set, strategyId: "orderbook_skew")
        // As many empty entries as fit the request limit (64 KiB: about 32,000).
        var floodBody: [UInt8] = []
        var entries = Self.maxRequestBytes / 2
        repeat {
            flood.parameters = Array(repeating: .init(name: "", value: nil), count: entries)
            floodBody = []
            SocketCodec.encodeRequest(.config(flood), id: 7, into: &floodBody)
            entries -= 64
        } while floodBody.count > Self.maxRequestBytes
        let floods = try await offloaded { () -> (tooLarge: Int, tooMany: Int) in
            var tooLarge = 0
            for _ in 0..<20 {
                let client = try SocketTestClient(path: socketPath)
                // 4 MiB announced, the first 60 KiB of empty repeated entries sent; the server may
                // close before taking them all.
                try? client.send([0x00, 0x40, 0x00, 0x00] + floodBody)
                let frames = (try? client.readUntilClosed()) ?? []
                if case .error(let info)? = frames.first?.response, info.code == .badFrame { tooLarge += 1 }
            }
            var tooMany = 0
            let client = try SocketTestClient(path: socketPath)
            try client.hello()
            for _ in 0..<100 {
                if case .error(let info) = try client.call(.config(flood)), info.code == .invalidArgument { tooMany += 1 }
            }
            return (tooLarge, tooMany)
        }
        let rssAfterFloods = residentBytes(pid: pid)
        let tooLargeCounted = try await refused("request_too_large")

        print("socket memory: RSS baseline \(rssBaseline >> 20) MiB, peak during attack \(attack.peakRSS >> 20) MiB, after \(rssAttack >> 20) MiB; "
              + "ingest \(Int(baseline.rate)) msg/s before, \(Int(attack.rate)) msg/s during; hog wrote \(written) of \(requests.count) bytes; "
              + "floods: RSS \(rssBeforeFloods >> 20) → \(rssAfterFloods >> 20) MiB; QueuedEvent stride \(MemoryLayout<QueuedEvent>.stride) B; "
              + "\((attack.peakRSS - rssBaseline) / (Self.subscribers + 1)) B per connection at the peak; \(Int(dropped)) events dropped; flood frame \(floodBody.count) B; socket stats \(String(describing: socketStats))")

        let bound = rssBaseline + (Self.subscribers + 1) * Self.perConnectionWorstBytes + Self.sharedOutputBytes
        #expect(attack.peakRSS <= bound, "peak RSS \(attack.peakRSS >> 20) MiB above the documented bound \(bound >> 20) MiB")
        #expect(attack.peakRSS <= Self.podLimitBytes, "peak RSS \(attack.peakRSS >> 20) MiB above the pod limit")
        #expect(attack.rate >= baseline.rate * (1 - Self.rateTolerance),
                "ingestion fell from \(baseline.rate) to \(attack.rate) msg/s")
        #expect(dropped > 0, "the never-reading subscribers' queues never filled: the attack did not reach the bound")
        #expect(budgetClosed == 1, "the pipelining client was not closed for its output budget (\(budgetClosed))")
        #expect(floods.tooLarge == 20)
        #expect(tooLargeCounted == 20)
        #expect(floods.tooMany == 100)
        #expect(rssAfterFloods - rssBeforeFloods < 16 << 20,
                "RSS grew \((rssAfterFloods - rssBeforeFloods) >> 20) MiB from refused requests")
        #expect(sidecar.process.isRunning)
        withExtendedLifetime(subscribers) {}
        replayer.kill()
        sidecar.terminate()
    }
}
