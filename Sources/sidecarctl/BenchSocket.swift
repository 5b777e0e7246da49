import Foundation
import NATS
import Sidecar
import Strategies
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

// Phases 3 and 4 of `sidecarctl bench`: NATS publish → socket signal latency at fixed offered
// rates, and GetDepthMetrics round trips and pipelined throughput on the Unix socket.

/// CLOCK_MONOTONIC in nanoseconds: the one clock of every latency in this file (publisher and
/// socket subscriber are threads of this process).
@inline(__always)
func benchNowNs() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Sleeps for `ns` nanoseconds (nanosleep; the kernel's timer slack adds ~50 µs).
func benchSleepNs(_ ns: UInt64) {
    var request = timespec(tv_sec: Int(ns / 1_000_000_000), tv_nsec: Int(ns % 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}

// MARK: - Latency: the synthetic stream

/// The latency phase's input: a background of balanced books and trades on `symbols` symbols
/// (no orderbook_skew signal: bid and ask volumes are equal), and trigger frames for one extra
/// symbol whose depth20 is 10:1 bid-heavy, so orderbook_skew (cooldown 0) emits exactly one buy
/// signal per trigger, at the trigger's best bid, which carries the trigger's number.
enum LatencyMarket {
    static let triggerSymbol = "LATBENCHUSDT"

    /// Spot envelopes: per symbol and round depth20 (same quantities on both sides), trade,
    /// aggTrade, bookTicker and ticker. No depth diffs.
    static func background(symbols count: Int, rounds: Int) -> [[UInt8]] {
        var out: [[UInt8]] = []
        out.reserveCapacity(count * rounds * 5)
        var t: Int64 = 1_767_225_600_000
        func d(_ x: Double) -> String { String(format: "%.8f", x) }
        let names = (0..<count).map { String(format: "L%04dUSDT", $0) }
        for round in 0..<rounds {
            for (i, symbol) in names.enumerated() {
                t += 1
                let lower = symbol.lowercased()
                let mid = 10 + Double(i) + Double(round % 7) * 0.01
                let tail = #","timestamp":"\#(formatISO8601Millis(t))","message_id":"lat-\#(round)-\#(i)","source":"binance-websocket","version":"1.0"}"#
                let quantities = (0..<20).map { d(1 + Double(($0 * 7 + round + i) % 5)) }
                let bids = (0..<20).map { #"["\#(d(mid - 0.01 * Double($0 + 1)))","\#(quantities[$0])"]"# }.joined(separator: ",")
                let asks = (0..<20).map { #"["\#(d(mid + 0.01 * Double($0 + 1)))","\#(quantities[$0])"]"# }.joined(separator: ",")
                let frames = [
                    #"{"stream":"\#(lower)@depth20@100ms","data":{"lastUpdateId":\#(round),"bids":[\#(bids)],"asks":[\#(asks)]}"# + tail,
                    #"{"stream":"\#(lower)@trade","data":{"e":"trade","E":\#(t),"s":"\#(symbol)","t":\#(round),"p":"\#(d(mid))","q":"0.50000000","T":\#(t),"m":\#(round % 2 == 0),"M":true}"# + tail,
                    #"{"stream":"\#(lower)@aggTrade","data":{"e":"aggTrade","E":\#(t),"s":"\#(symbol)","a":\#(round),"p":"\#(d(mid))","q":"0.50000000","f":1,"l":2,"T":\#(t),"m":false,"M":true}"# + tail,
                    #"{"stream":"\#(lower)@bookTicker","data":{"u":\#(round),"s":"\#(symbol)","b":"\#(d(mid - 0.01))","B":"1.00000000","a":"\#(d(mid + 0.01))","A":"1.00000000"}"# + tail,
                    #"{"stream":"\#(lower)@ticker","data":{"e":"24hrTicker","E":\#(t),"s":"\#(symbol)","p":"0.10000000","P":"1.000","w":"\#(d(mid))","x":"\#(d(mid))","c":"\#(d(mid))","Q":"1.00000000","b":"\#(d(mid - 0.01))","B":"1.00000000","a":"\#(d(mid + 0.01))","A":"1.00000000","o":"\#(d(mid))","h":"\#(d(mid + 0.02))","l":"\#(d(mid - 0.02))","v":"1000.00000000","q":"10000.00000000","O":0,"C":\#(t),"F":0,"L":\#(round),"n":\#(round + 1)}"# + tail,
                ]
                out += frames.map { Array($0.utf8) }
            }
        }
        return out
    }

    /// Trigger `k`: a depth20 of `triggerSymbol` with best bid `code.priceText(k)`, one-cent
    /// levels, 10 per bid level and 1 per ask level, at event time `eventTimeMs`.
    static func trigger(_ k: Int, code: TriggerPriceCode, eventTimeMs: Int64) -> [UInt8] {
        let top = code.base * 100 + k
        func price(_ cents: Int) -> String {
            let f = cents % 100
            return "\(cents / 100).\(f < 10 ? "0" : "")\(f)"
        }
        var s = #"{"stream":"latbenchusdt@depth20@100ms","data":{"lastUpdateId":\#(k),"bids":["#
        for j in 0..<20 { s += (j == 0 ? "" : ",") + #"[""# + price(top - j) + #"","10.00"]"# }
        s += #"],"asks":["#
        for j in 0..<20 { s += (j == 0 ? "" : ",") + #"[""# + price(top + 1 + j) + #"","1.00"]"# }
        s += #"]},"timestamp":""# + formatISO8601Millis(eventTimeMs)
            + #"","message_id":"lat-trigger-\#(k)","source":"binance-websocket","version":"1.0"}"#
        return Array(s.utf8)
    }
}

/// Publishes the latency stream at a fixed offered rate on its own thread and connection. Every
/// `triggerEvery`-th message is a trigger; its monotonic publish time (taken right before
/// `natsConnection_Publish`) is stored by trigger number.
final class PacedLatencyPublisher: @unchecked Sendable {
    let schedule: PacedSchedule
    let triggerEvery: Int
    let code: TriggerPriceCode
    let capacity: Int
    /// Publish time (monotonic ns) per trigger number; written by the publisher thread only,
    /// read after `stop()`.
    let publishNs: UnsafeMutableBufferPointer<UInt64>
    private let natsURL: String
    private let subject: String
    private let background: ReplayLoop
    private let sentStorage = Atomic<Int>(0)
    private let triggersStorage = Atomic<Int>(0)
    private let maxLagStorage = Atomic<UInt64>(0)
    private let thread = PublisherThread()
    var failure: Error? { thread.failure }
    private(set) var startNs: UInt64 = 0

    init(natsURL: String, subject: String, background: ReplayLoop, rate: Double, triggerEvery: Int, capacity: Int) {
        self.natsURL = natsURL
        self.subject = subject
        self.background = background
        schedule = PacedSchedule(ratePerSecond: rate)
        self.triggerEvery = triggerEvery
        code = TriggerPriceCode(base: 1000)
        self.capacity = capacity
        publishNs = .allocate(capacity: capacity)
        publishNs.initialize(repeating: 0)
    }

    deinit { publishNs.deallocate() }

    var sentCount: Int { sentStorage.load(ordering: .relaxed) }
    var triggerCount: Int { triggersStorage.load(ordering: .relaxed) }
    /// The furthest the publisher fell behind its schedule (ns): the rate was not offered
    /// smoothly when this is large.
    var maxLagNs: UInt64 { maxLagStorage.load(ordering: .relaxed) }

    func start() throws {
        startNs = benchNowNs()
        try thread.start(natsURL: natsURL, name: "bench-paced-publisher") { [self] client in
            var index = 0
            var trigger = 0
            var lastEventMs: Int64 = 1_767_225_600_000
            let start = startNs
            while !thread.stopRequested {
                let now = benchNowNs()
                let due = schedule.dueCount(elapsedNs: now &- start)
                if index >= due {
                    // Sleep until the next message is due (at most 1 ms, to see the stop flag).
                    let next = start &+ schedule.dueNs(index)
                    if next > now { benchSleepNs(min(next - now, 1_000_000)) }
                    continue
                }
                let lag = now &- (start &+ schedule.dueNs(index))
                if lag > maxLagStorage.load(ordering: .relaxed) { maxLagStorage.store(lag, ordering: .relaxed) }
                // Send everything due (a burst after a late wake-up), a bounded batch at a time.
                let burst = min(due - index, 256)
                background.prepare(burst)
                for _ in 0..<burst {
                    if PacedSchedule.isTrigger(index, every: triggerEvery) && trigger < capacity {
                        let frame = LatencyMarket.trigger(trigger, code: code, eventTimeMs: lastEventMs)
                        let t = benchNowNs()
                        publishNs[trigger] = t
                        try frame.withUnsafeBytes { try client.publish(subject: subject, payload: $0) }
                        trigger += 1
                    } else {
                        let frame = background.take()
                        if index % 64 == 0, let ms = ReplayTimeShift(frame).eventTimeMs { lastEventMs = ms }
                        try client.publish(subject: subject, payload: frame)
                    }
                    index += 1
                }
                sentStorage.store(index, ordering: .relaxed)
                triggersStorage.store(trigger, ordering: .relaxed)
            }
        }
    }

    func stop() { thread.stop() }
}

/// Subscribes to orderbook_skew signals of the trigger symbol with the project's `SocketClient`
/// on its own thread and stores the monotonic receive time per trigger number.
final class LatencySubscriber: @unchecked Sendable {
    let receiveNs: UnsafeMutableBufferPointer<UInt64>
    private let path: String
    private let code: TriggerPriceCode
    private let stopFlag = Atomic<Bool>(false)
    private let receivedStorage = Atomic<Int>(0)
    private let subscribed = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)
    private(set) var duplicates = 0
    private(set) var foreign = 0
    private(set) var gaps = 0
    private(set) var failure: Error?

    init(path: String, code: TriggerPriceCode, capacity: Int) {
        self.path = path
        self.code = code
        receiveNs = .allocate(capacity: capacity)
        receiveNs.initialize(repeating: 0)
    }

    deinit { receiveNs.deallocate() }

    var received: Int { receivedStorage.load(ordering: .relaxed) }

    /// Connects and subscribes; returns once the server confirmed the subscription.
    func start() throws {
        let client = try SocketClient(path: path, options: .init(timeout: 10, clientName: "sidecarctl-bench-latency"))
        let thread = Thread { [self] in
            defer {
                client.close()
                done.signal()
            }
            do {
                _ = try client.subscribe(
                    .init(stream: .signals, symbols: [LatencyMarket.triggerSymbol], strategies: [OrderbookSkew.id]),
                    idleTimeout: 2, onSubscribed: { _ in self.subscribed.signal() }
                ) { event in
                    let now = benchNowNs()
                    switch event {
                    case .signal(let signal):
                        if let k = code.id(fromPrice: signal.price), k < receiveNs.count {
                            if receiveNs[k] == 0 { receiveNs[k] = now } else { duplicates += 1 }
                            receivedStorage.add(1, ordering: .relaxed)
                        } else {
                            foreign += 1
                        }
                    case .gap: gaps += 1
                    default: break
                    }
                    return !stopFlag.load(ordering: .relaxed)
                }
            } catch SocketClientError.timeout {
                // Idle after the publisher stopped: the normal end.
            } catch {
                failure = error
            }
            subscribed.signal()
        }
        thread.name = "bench-socket-subscriber"
        thread.start()
        if subscribed.wait(timeout: .now() + 10) == .timedOut { throw BenchFailure("socket subscription not confirmed within 10 s") }
        if let failure { throw BenchFailure("socket subscription failed: \(failure)") }
    }

    /// Ends the subscription at the next event or after 2 s idle, and waits for the thread.
    func stop() {
        stopFlag.store(true, ordering: .relaxed)
        done.wait()
    }
}

/// The NATS hop alone, in the same run: a second subscriber in this process, on its own NATS
/// connection, that only notes when each trigger frame arrives. Publish → here is what any
/// subscriber of this machine's nats-server pays; the sidecar's figure is that plus the
/// sidecar (parse, engine, strategy, signal log, socket push) and the socket hop.
final class NATSHopProbe: @unchecked Sendable {
    static let prefix = Array(#"{"stream":"latbenchusdt@depth20@100ms","data":{"lastUpdateId":"#.utf8)
    let receiveNs: UnsafeMutableBufferPointer<UInt64>
    private var client: NATSClient?
    private var subscription: NATSSubscription?

    init(capacity: Int) {
        receiveNs = .allocate(capacity: capacity)
        receiveNs.initialize(repeating: 0)
    }

    deinit { receiveNs.deallocate() }

    func start(natsURL: String, subject: String) throws {
        let client = try connectForTool(url: natsURL)
        self.client = client
        let times = receiveNs
        let prefix = Self.prefix
        subscription = try client.subscribe(subject: subject) { _, payload in
            let now = benchNowNs()
            guard payload.count > prefix.count, payload[prefix.count - 1] == prefix[prefix.count - 1],
                payload.starts(with: prefix)
            else { return }
            var k = 0
            var i = prefix.count
            while i < payload.count, payload[i] >= 48, payload[i] <= 57 {
                k = k * 10 + Int(payload[i] - 48)
                i += 1
            }
            if k < times.count && times[k] == 0 { times[k] = now }
        }
        try client.flush(timeoutMs: 5000)
    }

    /// Closes the connection (and with it the subscription).
    func stop() {
        subscription = nil
        client?.close(drainTimeoutMs: 0)
        client = nil
    }
}

// MARK: - Socket queries: a pipelining client

/// A minimal client of the socket protocol that keeps up to `window` GetDepthMetrics requests
/// in flight on one connection (the blocking `SocketClient` has one at a time). Requests are
/// encoded once, for ids 1...slots, and reused round-robin; responses are decoded in full with
/// the project's codec, as a real client would.
final class PipelinedQueryClient {
    struct Result {
        var completed = 0
        var errors = 0
        var samplesNs: [UInt64] = []
        var seconds = 0.0
    }

    private var fd: Int32 = -1
    private var inbox: [UInt8] = []
    private var inboxStart = 0
    private var chunk = [UInt8](repeating: 0, count: 256 * 1024)
    private let slots = 1024

    init(path: String) throws {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw BenchFailure("socket path too long: \(path)") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw BenchFailure("socket() failed: errno \(errno)") }
        fd = descriptor
        // Bounds every blocking recv; readFrame then checks its deadline.
        var tv = timeval(tv_sec: 1, tv_usec: 0)
        _ = setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let code = errno
            close()
            throw BenchFailure("connect(\(path)) failed: errno \(code)")
        }
        try sendAll(SocketFraming.requestFrame(.hello(.init(clientName: "sidecarctl-bench-pipeline")), id: UInt64(slots + 1)))
        guard let (_, response) = try readFrame(deadline: benchNowNs() + 10_000_000_000), case .hello = response else {
            throw BenchFailure("pipelined client: no Hello answer")
        }
    }

    deinit { close() }

    func close() {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
    }

    /// Runs `warmup` seconds unmeasured, then `seconds` measured, keeping `window` requests in
    /// flight. RTT samples are send → response for each request (queueing in the window included).
    func run(symbol: String, window: Int, warmup: Double, seconds: Double, start: DispatchSemaphore? = nil) throws -> Result {
        precondition(window > 0 && window < slots)
        let frames = (1...slots).map {
            SocketFraming.requestFrame(.getDepthMetrics(.init(symbol: symbol)), id: UInt64($0))
        }
        var sentAt = [UInt64](repeating: 0, count: slots + 1)
        var out: [UInt8] = []
        out.reserveCapacity(window * (frames[0].count + 8))
        var result = Result()
        result.samplesNs.reserveCapacity(Int(seconds * 200_000))
        var nextId = 1
        var inFlight = 0
        start?.wait()
        let t0 = benchNowNs()
        let measureFrom = t0 + UInt64(warmup * 1e9)
        let end = measureFrom + UInt64(seconds * 1e9)
        var measuredStart: UInt64 = 0
        while true {
            let now = benchNowNs()
            let sending = now < end
            if sending && inFlight < window {
                out.removeAll(keepingCapacity: true)
                while inFlight < window {
                    out.append(contentsOf: frames[nextId - 1])
                    sentAt[nextId] = now
                    nextId = nextId == slots ? 1 : nextId + 1
                    inFlight += 1
                }
                try sendAll(out)
            }
            if !sending && inFlight == 0 { break }
            // Everything buffered, then at least one more read.
            guard let (id, response) = try readFrame(deadline: benchNowNs() + 10_000_000_000) else {
                throw BenchFailure("pipelined client: the sidecar closed the connection")
            }
            let got = benchNowNs()
            inFlight -= 1
            if got >= measureFrom && sentAt[Int(id)] >= measureFrom {
                if measuredStart == 0 { measuredStart = sentAt[Int(id)] }
                if case .depthMetrics = response {
                    result.completed += 1
                    result.samplesNs.append(got - sentAt[Int(id)])
                } else {
                    result.errors += 1
                }
            }
        }
        result.seconds = Double(benchNowNs() - max(measuredStart, measureFrom)) / 1e9
        return result
    }

    private func sendAll(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { offset += n; continue }
            if n < 0 && errno == EINTR { continue }
            throw BenchFailure("send failed: errno \(errno)")
        }
    }

    /// The next response (decoded), nil when the peer closed.
    private func readFrame(deadline: UInt64) throws -> (UInt64, SocketResponse)? {
        while true {
            let available = inbox.count - inboxStart
            if available >= 4 {
                let length = inbox[inboxStart..<(inboxStart + 4)].reduce(0) { $0 << 8 | Int($1) }
                if available >= 4 + length {
                    let bodyStart = inboxStart + 4
                    inboxStart += 4 + length
                    let decoded = try inbox.withUnsafeBytes { raw in
                        try SocketCodec.decodeResponse(UnsafeRawBufferPointer(rebasing: raw[bodyStart..<(bodyStart + length)]))
                    }
                    if inboxStart == inbox.count {
                        inbox.removeAll(keepingCapacity: true)
                        inboxStart = 0
                    }
                    return (decoded.id, decoded.response)
                }
            }
            if inboxStart > 0 {
                inbox.removeFirst(inboxStart)
                inboxStart = 0
            }
            guard benchNowNs() < deadline else { throw BenchFailure("pipelined client: timed out waiting for a response") }
            let descriptor = fd
            let n = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                inbox.append(contentsOf: chunk[0..<n])
            } else if n == 0 {
                return nil
            } else if errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK {
                throw BenchFailure("recv failed: errno \(errno)")
            }
        }
    }
}

// MARK: - The phases

extension BenchCommand {
    /// Phase 3: NATS publish → socket signal latency at each offered rate, then phase 4 (socket
    /// queries) on the same sidecar, which then holds depth for the background symbols.
    func runSocketPhases(natsURL: String, sidecarPath: String, work: URL) throws -> (latency: PhaseResult?, queries: PhaseResult?) {
        let socketPath = work.appendingPathComponent("latency.sock").path
        let sidecar = try startSidecar(sidecarPath, natsURL: natsURL,
                                       extra: ["SYMBOL_TTL_SECONDS": "86400", "ORDERBOOK_SKEW_COOLDOWN_SECONDS": "0",
                                               "SIDECAR_SOCKET_PATH": socketPath],
                                       work: work, name: "sidecar-socket")
        defer { ChildProcesses.shared.stop(sidecar.process) }
        let background = ReplayLoop(LatencyMarket.background(symbols: latencySymbols, rounds: 20).map { ($0, 0) })

        var latency: PhaseResult?
        if !skipLatency {
            var json: [String: Any] = [
                "method": "paced publisher (own thread and NATS connection) at a fixed offered rate; one message in "
                    + "triggerEvery is a 10:1 bid-heavy depth20 of \(LatencyMarket.triggerSymbol) whose best bid encodes "
                    + "the trigger number; orderbook_skew (ORDERBOOK_SKEW_COOLDOWN_SECONDS=0) answers each with one signal; "
                    + "a SocketClient subscribed to those signals records the receive time; latency = receive − publish, "
                    + "CLOCK_MONOTONIC, both in this process",
                "background_symbols": latencySymbols,
                "triggers_per_second": triggersPerSecond,
                "target_p99_us_at_10k": 200,
            ]
            var rows: [(String, String, String)] = []
            var rates: [[String: Any]] = []
            for rate in try parsedLatencyRates() {
                let r = try runLatencyRate(rate, sidecar: sidecar, socketPath: socketPath, natsURL: natsURL, background: background)
                rates.append(r.json)
                rows += r.rows
                sleepSeconds(1)
            }
            json["rates"] = rates
            latency = PhaseResult(json: json, rows: rows)
        }
        var queries: PhaseResult?
        if !skipQueries {
            queries = try runQueryPhase(sidecar: sidecar, socketPath: socketPath, natsURL: natsURL, background: background)
        }
        return (latency, queries)
    }

    func parsedLatencyRates() throws -> [Double] {
        let rates = latencyRates.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !rates.isEmpty, rates.allSatisfy({ $0 > 0 }) else { throw BenchFailure("--latency-rates: expected e.g. 10000,50000") }
        return rates
    }

    func runLatencyRate(_ rate: Double, sidecar: RunningBenchSidecar, socketPath: String, natsURL: String,
                        background: ReplayLoop) throws -> PhaseResult {
        let triggerEvery = max(1, Int((rate / triggersPerSecond).rounded()))
        let capacity = Int((warmup + seconds + 5) * rate / Double(triggerEvery) * 1.2) + 1024
        let publisher = PacedLatencyPublisher(natsURL: natsURL, subject: "binance.websocket.data", background: background,
                                              rate: rate, triggerEvery: triggerEvery, capacity: capacity)
        let subscriber = LatencySubscriber(path: socketPath, code: publisher.code, capacity: capacity)
        try subscriber.start()
        let probe = NATSHopProbe(capacity: capacity)
        if !skipNatsProbe { try probe.start(natsURL: natsURL, subject: "binance.websocket.data") }
        try publisher.start()
        benchLog("latency: \(Int(rate)) msg/s offered, one trigger in \(triggerEvery) (\(Int(rate / Double(triggerEvery))) signals/s)")
        sleepSeconds(warmup)
        let pid = sidecar.process.processIdentifier
        let s0 = try sidecar.stats()
        let cpu0 = BenchProc.cpuSeconds(pid: pid)
        let sent0 = publisher.sentCount
        let t0 = benchNowNs()
        sleepSeconds(seconds)
        let t1 = benchNowNs()
        let sent1 = publisher.sentCount
        let cpu1 = BenchProc.cpuSeconds(pid: pid)
        let s1 = try sidecar.stats()
        let maxLagMs = Double(publisher.maxLagNs) / 1e6
        publisher.stop()
        if let failure = publisher.failure { throw BenchFailure("latency publisher failed: \(failure)") }
        // Let signals in flight arrive (bounded), then end the subscription.
        let triggers = publisher.triggerCount
        let drainDeadline = Date().addingTimeInterval(3)
        while subscriber.received < triggers && Date() < drainDeadline { usleep(10_000) }
        subscriber.stop()
        probe.stop()

        var samples: [UInt64] = []
        var hop: [UInt64] = []
        var missing = 0
        var inWindow = 0
        for k in 0..<min(triggers, capacity) {
            let p = publisher.publishNs[k]
            guard p >= t0 && p <= t1 else { continue }
            inWindow += 1
            let r = subscriber.receiveNs[k]
            if r > 0 && r >= p { samples.append(r - p) } else { missing += 1 }
            let h = probe.receiveNs[k]
            if h > 0 && h >= p { hop.append(h - p) }
        }
        let summary = LatencySummary(samplesNs: samples)
        let hopSummary = LatencySummary(samplesNs: hop)
        let hopUs = hopSummary.microseconds
        let windowSeconds = Double(t1 - t0) / 1e9
        let offered = Double(sent1 - sent0) / windowSeconds
        let processed = Double(s1.processed - s0.processed) / windowSeconds
        let dropped = s1.dropped - s0.dropped
        let us = summary.microseconds
        let met = rate <= 10_000 ? (summary.p99Ns <= 200_000 && missing == 0) : nil
        var json: [String: Any] = [
            "offered_rate": rate,
            "published_per_s": offered,
            "sidecar_processed_per_s": processed,
            "sidecar_cpu_cores": (cpu1 - cpu0) / windowSeconds,
            "sidecar_slow_consumer_dropped": dropped,
            "publisher_max_lag_ms": maxLagMs,
            "trigger_every": triggerEvery,
            "triggers_in_window": inWindow,
            "signals_missing": missing,
            "signals_duplicated": subscriber.duplicates,
            "signals_foreign": subscriber.foreign,
            "socket_gaps": subscriber.gaps,
            "latency_us": us,
            "nats_hop_latency_us": skipNatsProbe ? ("skipped" as Any) : (hopUs as Any),
            "window_seconds": windowSeconds,
        ]
        if let met { json["target_met"] = met }
        if let failure = subscriber.failure { json["subscriber_error"] = "\(failure)" }
        let label = "\(Int(rate / 1000))k"
        var rows: [(String, String, String)] = [
            ("latency @\(label) msg/s: publish → socket p50", String(format: "%.0f µs", us["p50_us"]!),
             String(format: "p90 %.0f µs; offered %.0f msg/s (publisher max lag %.1f ms), sidecar processed %.0f msg/s, %.2f cores",
                    us["p90_us"]!, offered, maxLagMs, processed, (cpu1 - cpu0) / windowSeconds)),
            ("latency @\(label) msg/s: p99 / p99.9 / max", String(format: "%.0f / %.0f / %.0f µs", us["p99_us"]!, us["p999_us"]!, us["max_us"]!),
             "\(summary.count) signals, missing \(missing), gaps \(subscriber.gaps), NATS drops \(dropped)"
                + (met.map { "; target p99 ≤ 200 µs: \($0 ? "MET" : "NOT MET")" } ?? "")),
        ]
        if !skipNatsProbe {
            rows.append(("latency @\(label) msg/s: NATS hop alone p50/p99", String(format: "%.0f / %.0f µs", hopUs["p50_us"]!, hopUs["p99_us"]!),
                         String(format: "p99.9 %.0f / max %.0f µs: publish → a no-op subscriber in the bench process, same triggers",
                                hopUs["p999_us"]!, hopUs["max_us"]!)))
        }
        return PhaseResult(json: json, rows: rows)
    }

    /// Phase 4: GetDepthMetrics on the socket: ping-pong RTT on one connection, then pipelined
    /// throughput on one connection and on `queryConnections`. A short feed first gives every
    /// background symbol depth; nothing is published during the measurements.
    func runQueryPhase(sidecar: RunningBenchSidecar, socketPath: String, natsURL: String,
                       background: ReplayLoop) throws -> PhaseResult {
        let symbol = "L0000USDT"
        if skipLatency {
            let feed = BenchPublisher(natsURL: natsURL, subject: "binance.websocket.data", frames: background, perSecond: 20_000)
            try feed.start()
            sleepSeconds(1.5)
            feed.stop()
        }
        let pid = sidecar.process.processIdentifier

        // Ping-pong: one request in flight, the blocking SocketClient.
        let client = try SocketClient(path: socketPath, options: .init(timeout: 10, clientName: "sidecarctl-bench-rtt"))
        defer { client.close() }
        _ = try client.getDepthMetrics(.init(symbol: symbol))
        let warmEnd = benchNowNs() + 500_000_000
        while benchNowNs() < warmEnd { _ = try client.getDepthMetrics(.init(symbol: symbol)) }
        var rtt: [UInt64] = []
        rtt.reserveCapacity(Int(querySeconds * 50_000))
        let cpuA = BenchProc.cpuSeconds(pid: pid)
        let rttStart = benchNowNs()
        let rttEnd = rttStart + UInt64(querySeconds * 1e9)
        while true {
            let a = benchNowNs()
            guard a < rttEnd else { break }
            _ = try client.getDepthMetrics(.init(symbol: symbol))
            rtt.append(benchNowNs() - a)
        }
        let rttSeconds = Double(benchNowNs() - rttStart) / 1e9
        let rttCPU = BenchProc.cpuSeconds(pid: pid) - cpuA
        let rttSummary = LatencySummary(samplesNs: rtt)
        client.close()

        func pipelined(_ connections: Int) throws -> (rate: Double, summary: LatencySummary, errors: Int, cpuUsPerRequest: Double, cores: Double) {
            let clients = try (0..<connections).map { _ in try PipelinedQueryClient(path: socketPath) }
            let go = DispatchSemaphore(value: 0)
            let results = Mutex<[Result<PipelinedQueryClient.Result, Error>]>([])
            let group = DispatchGroup()
            for c in clients {
                group.enter()
                let thread = Thread {
                    let r = Result { try c.run(symbol: symbol, window: queryWindow, warmup: 1, seconds: querySeconds, start: go) }
                    results.withLock { $0.append(r) }
                    group.leave()
                }
                thread.start()
            }
            for _ in clients { go.signal() }
            sleepSeconds(1)
            let cpu0 = BenchProc.cpuSeconds(pid: pid)
            group.wait()
            let cpu1 = BenchProc.cpuSeconds(pid: pid)
            clients.forEach { $0.close() }
            let all = try results.withLock { $0 }.map { try $0.get() }
            let completed = all.reduce(0) { $0 + $1.completed }
            let seconds = all.map(\.seconds).max() ?? 1
            let rate = Double(completed) / seconds
            let cores = (cpu1 - cpu0) / seconds
            return (rate, LatencySummary(samplesNs: all.flatMap(\.samplesNs)), all.reduce(0) { $0 + $1.errors },
                    completed > 0 ? (cpu1 - cpu0) / Double(completed) * 1e6 : 0, cores)
        }
        let one = try pipelined(1)
        let many = try pipelined(queryConnections)

        let rttUs = rttSummary.microseconds
        let rttMet = rttSummary.p99Ns <= 100_000
        let throughputMet = one.rate >= 100_000
        let json: [String: Any] = [
            "symbol": symbol,
            "note": "sidecar idle otherwise (no feed during the queries); include_levels false",
            "rtt_ping_pong": ["latency_us": rttUs, "requests_per_s": Double(rtt.count) / rttSeconds,
                              "sidecar_cpu_us_per_request": rtt.isEmpty ? 0 : rttCPU / Double(rtt.count) * 1e6,
                              "target_p99_us": 100, "target_met": rttMet],
            "pipelined_1_connection": ["window": queryWindow, "requests_per_s": one.rate, "errors": one.errors,
                                       "response_time_us": one.summary.microseconds,
                                       "sidecar_cpu_us_per_request": one.cpuUsPerRequest, "sidecar_cpu_cores": one.cores,
                                       "target_requests_per_s": 100_000, "target_met": throughputMet],
            "pipelined_\(queryConnections)_connections": ["window_per_connection": queryWindow, "requests_per_s": many.rate,
                                                          "errors": many.errors, "response_time_us": many.summary.microseconds,
                                                          "sidecar_cpu_us_per_request": many.cpuUsPerRequest,
                                                          "sidecar_cpu_cores": many.cores],
        ]
        let rows: [(String, String, String)] = [
            ("GetDepthMetrics RTT (1 in flight) p50", String(format: "%.0f µs", rttUs["p50_us"]!),
             String(format: "p99 %.0f / p99.9 %.0f / max %.0f µs, %.0f req/s; target p99 ≤ 100 µs: %@", rttUs["p99_us"]!,
                    rttUs["p999_us"]!, rttUs["max_us"]!, Double(rtt.count) / rttSeconds, rttMet ? "MET" : "NOT MET")),
            ("GetDepthMetrics pipelined, 1 conn", fmtRate(one.rate).replacingOccurrences(of: "msg", with: "req"),
             String(format: "window %d; response p50/p99/p99.9 %.0f/%.0f/%.0f µs; sidecar %.2f µs CPU per request; target ≥ 100k: %@",
                    queryWindow, one.summary.microseconds["p50_us"]!, one.summary.microseconds["p99_us"]!,
                    one.summary.microseconds["p999_us"]!, one.cpuUsPerRequest, throughputMet ? "MET" : "NOT MET")),
            ("GetDepthMetrics pipelined, \(queryConnections) conns", fmtRate(many.rate).replacingOccurrences(of: "msg", with: "req"),
             String(format: "window %d each; response p50/p99/p99.9 %.0f/%.0f/%.0f µs; sidecar %.2f µs CPU per request, %.2f cores",
                    queryWindow, many.summary.microseconds["p50_us"]!, many.summary.microseconds["p99_us"]!,
                    many.summary.microseconds["p999_us"]!, many.cpuUsPerRequest, many.cores)),
        ]
        return PhaseResult(json: json, rows: rows)
    }
}
