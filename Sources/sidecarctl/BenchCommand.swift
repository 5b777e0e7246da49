import ArgumentParser
import Foundation
import NATS
import Sidecar
import Strategies
import Synchronization

/// End-to-end load test on loopback. Starts its own nats-server and release sidecar, then in one run:
/// 1. ingest: the real replays published in a loop at maximum rate; the sidecar's processed rate
///    (from /api/v1/stats) against a no-op NATSClient subscriber's receive rate on the same stream;
/// 2. rss: a fresh sidecar fed 500 synthetic symbols on every stream kind at a sustainable rate;
///    VmRSS of the sidecar process at steady state;
/// 3. latency: NATS publish → socket signal at fixed offered rates (default 10k and 50k msg/s),
///    p50/p99/p99.9/max, from a paced publisher whose trigger frames make orderbook_skew signal;
/// 4. queries: GetDepthMetrics on the Unix socket, ping-pong RTT and pipelined throughput on one
///    connection and on 8 (BenchSocket.swift).
/// Prints a table and writes JSON (bench-results/<timestamp>.json). Every phase is bounded in
/// time; everything started is stopped on exit, error, SIGINT or SIGTERM.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Load-test a release sidecar on loopback: ingest throughput vs a no-op subscriber, RSS, publish → socket signal latency, socket query RTT and throughput.")

    @Option(help: "Measured seconds per phase (after the warm-up).") var seconds = 10.0
    @Option(help: "Warm-up seconds before each measurement window.") var warmup = 3.0
    @Option(help: "Folder of *.nats.jsonl.gz replays (default: $BINANCE_REAL_DIR/replay or ../shared/binance-real/replay).")
    var replayDir: String?
    @Option(help: "Synthetic symbols for the RSS phase.") var symbols = 500
    @Option(help: "Publish rate of the RSS phase, messages per second (kept sustainable so queues stay empty).")
    var rssRate = 20_000.0
    @Option(help: "realtime-sidecar binary (default: next to this sidecarctl).") var sidecarBinary: String?
    @Option(help: "nats-server binary (default: PATH, then /usr/sbin).") var natsServer: String?
    @Option(help: "Folder for the JSON result.") var outDir = "bench-results"
    @Flag(help: "Skip the ingest-throughput phase.") var skipIngest = false
    @Flag(help: "Skip the RSS phase.") var skipRss = false
    @Option(help: "Offered rates of the latency phase, msg/s, comma-separated.") var latencyRates = "10000,50000"
    @Option(help: "Signals per second the latency phase triggers (one trigger frame every rate ÷ this messages).")
    var triggersPerSecond = 1000.0
    @Option(help: "Background symbols of the latency phase.") var latencySymbols = 100
    @Option(help: "Measured seconds of each socket-query measurement.") var querySeconds = 5.0
    @Option(help: "GetDepthMetrics requests in flight per pipelined connection.") var queryWindow = 64
    @Option(help: "Connections of the multi-connection pipelined run.") var queryConnections = 8
    @Flag(help: "Skip the publish → socket signal latency phase.") var skipLatency = false
    @Flag(help: "Skip the socket query phase.") var skipQueries = false
    @Flag(help: "Latency phase: no second NATS subscriber measuring the NATS hop alone.") var skipNatsProbe = false

    func validate() throws {
        if seconds <= 0 || seconds > 600 { throw ValidationError("--seconds must be in (0, 600]") }
        if warmup < 0 || warmup > 120 { throw ValidationError("--warmup must be in [0, 120]") }
        if symbols < 1 || symbols > 10_000 { throw ValidationError("--symbols must be in 1...10000") }
        if rssRate <= 0 { throw ValidationError("--rss-rate must be positive") }
        if triggersPerSecond <= 0 { throw ValidationError("--triggers-per-second must be positive") }
        if latencySymbols < 1 || latencySymbols > 10_000 { throw ValidationError("--latency-symbols must be in 1...10000") }
        if querySeconds <= 0 || querySeconds > 600 { throw ValidationError("--query-seconds must be in (0, 600]") }
        if queryWindow < 1 || queryWindow > 1000 { throw ValidationError("--query-window must be in 1...1000") }
        if queryConnections < 1 || queryConnections > 64 { throw ValidationError("--query-connections must be in 1...64") }
    }

    func run() throws {
        let children = ChildProcesses.shared
        children.installSignalHandlers()
        defer { children.stopAll() }

        let work = FileManager.default.temporaryDirectory.appendingPathComponent("sidecar-bench-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }

        let sidecarPath = try locateSidecar()
        let natsPath = try locateNATSServer()
        let startedAt = Date()
        var result: [String: Any] = [
            "started_at": ISO8601DateFormatter().string(from: startedAt),
            "machine": BenchMachine.describe(),
            "config": ["seconds": seconds, "warmup_seconds": warmup, "symbols": symbols, "rss_rate": rssRate,
                       "latency_rates": latencyRates, "triggers_per_second": triggersPerSecond,
                       "latency_symbols": latencySymbols, "query_seconds": querySeconds, "query_window": queryWindow,
                       "query_connections": queryConnections, "sidecar": sidecarPath, "nats_server": natsPath],
        ]

        let natsPort = try BenchNet.freePort()
        let natsURL = "nats://127.0.0.1:\(natsPort)"
        let nats = try children.launch(natsPath, ["-a", "127.0.0.1", "-p", "\(natsPort)", "-n", "bench-\(natsPort)"],
                                       environment: [:], log: work.appendingPathComponent("nats-server.log"))
        try BenchNet.waitForPort(natsPort, timeout: 10, process: nats, what: "nats-server")
        benchLog("nats-server \(natsURL) (pid \(nats.processIdentifier))")

        var table: [(String, String, String)] = []
        if !skipIngest {
            let replay = try loadReplays()
            let ingest = try runIngestPhase(frames: replay.frames, source: replay.source, natsURL: natsURL,
                                            natsPID: nats.processIdentifier, sidecarPath: sidecarPath, work: work)
            result["ingest"] = ingest.json
            table += ingest.rows
        }
        if !skipRss {
            let rss = try runRSSPhase(natsURL: natsURL, sidecarPath: sidecarPath, work: work)
            result["rss"] = rss.json
            table += rss.rows
        }
        if !skipLatency || !skipQueries {
            let socket = try runSocketPhases(natsURL: natsURL, sidecarPath: sidecarPath, work: work)
            if let latency = socket.latency {
                result["latency"] = latency.json
                table += latency.rows
            }
            if let queries = socket.queries {
                result["socket_queries"] = queries.json
                table += queries.rows
            }
        }
        result["finished_at"] = ISO8601DateFormatter().string(from: Date())

        printTable(table)
        let path = try writeJSON(result, startedAt: startedAt)
        print("\nresults: \(path)")
    }

    // MARK: - Phase 1: ingest throughput against the no-op subscriber

    struct PhaseResult {
        var json: [String: Any]
        var rows: [(String, String, String)]
    }

    func runIngestPhase(frames: ReplayLoop, source: String, natsURL: String, natsPID: Int32, sidecarPath: String,
                        work: URL) throws -> PhaseResult {
        let subject = "binance.websocket.data"
        // The recordings differ in length: with the default TTL the shorter ones' symbols would
        // idle past 300 s of event time at every pass and be dropped and re-created.
        let sidecar = try startSidecar(sidecarPath, natsURL: natsURL, extra: ["SYMBOL_TTL_SECONDS": "86400"],
                                       work: work, name: "sidecar-ingest")
        defer { ChildProcesses.shared.stop(sidecar.process) }

        // The physical limit: a second subscriber on the same stream that only counts.
        let noop = try connectForTool(url: natsURL)
        defer { noop.close(drainTimeoutMs: 0) }
        let received = BenchCounter()
        let noopSub = try noop.subscribe(subject: subject) { _, _ in received.add(1) }
        try noop.flush(timeoutMs: 5000)

        let publisher = BenchPublisher(natsURL: natsURL, subject: subject, frames: frames, perSecond: 0)
        try publisher.start()
        defer { publisher.stop() }
        benchLog("ingest: publishing \(frames.count) replay frames in a loop at maximum rate (\(source))")
        sleepSeconds(warmup)

        let window = try measure(sidecar: sidecar, counter: received, publisher: publisher, natsPID: natsPID)
        publisher.stop()
        let final = try sidecar.stats()
        let noopDropped = noopSub.droppedCount

        let sidecarRate = window.rate(\.processed)
        let noopRate = window.rate(\.noop)
        let publishRate = window.rate(\.published)
        let ratio = noopRate > 0 ? sidecarRate / noopRate : 0
        let perSecondRatio = window.perSecond(\.processed).enumerated().map { i, v -> Double in
            let n = window.perSecond(\.noop)[i]
            return n > 0 ? v / n : 0
        }
        let sidecarCPU = window.cpuSeconds(\.sidecarCPU)
        let natsCPU = window.cpuSeconds(\.natsCPU)
        let selfCPU = window.cpuSeconds(\.selfCPU)
        let processedInWindow = window.delta(\.processed)
        let cpuPerMessageUs = processedInWindow > 0 ? sidecarCPU / Double(processedInWindow) * 1e6 : 0
        let rss = BenchProc.memory(pid: sidecar.process.processIdentifier)

        let json: [String: Any] = [
            "source": source,
            "frames_per_loop": frames.count,
            "window_seconds": window.seconds,
            "sidecar_processed_per_s": sidecarRate,
            "noop_received_per_s": noopRate,
            "published_per_s": publishRate,
            "ratio_sidecar_over_noop": ratio,
            "ratio_per_second": BenchStats.percentiles(perSecondRatio),
            "sidecar_per_second": BenchStats.percentiles(window.perSecond(\.processed)),
            "noop_per_second": BenchStats.percentiles(window.perSecond(\.noop)),
            "sidecar_cpu_cores": sidecarCPU / window.seconds,
            "nats_server_cpu_cores": natsCPU / window.seconds,
            "bench_process_cpu_cores": selfCPU / window.seconds,
            "sidecar_cpu_us_per_message": cpuPerMessageUs,
            "sidecar_slow_consumer_dropped": final.dropped,
            "noop_slow_consumer_dropped": noopDropped,
            "sidecar_rejected": final.rejected,
            "sidecar_received_total": final.received,
            "sidecar_rss_mib_after": rss.rssMiB,
            "sidecar_peak_rss_mib": rss.peakMiB,
            "target_ratio": 0.70,
            "target_met": ratio >= 0.70,
        ]
        let p = BenchStats.percentiles(perSecondRatio)
        let rows: [(String, String, String)] = [
            ("ingest: sidecar processed", fmtRate(sidecarRate), "p10/p50/p90 per s: \(fmtRate(pct(window.perSecond(\.processed), 0.1)))/\(fmtRate(pct(window.perSecond(\.processed), 0.5)))/\(fmtRate(pct(window.perSecond(\.processed), 0.9)))"),
            ("ingest: no-op subscriber", fmtRate(noopRate), "p10/p50/p90 per s: \(fmtRate(pct(window.perSecond(\.noop), 0.1)))/\(fmtRate(pct(window.perSecond(\.noop), 0.5)))/\(fmtRate(pct(window.perSecond(\.noop), 0.9)))"),
            ("ingest: publisher", fmtRate(publishRate), "one connection, natsConnection_Publish"),
            ("ingest: sidecar ÷ no-op", String(format: "%.3f", ratio),
             String(format: "per-second p10/p50/p90 %.3f/%.3f/%.3f; target ≥ 0.70: %@", p["p10"] ?? 0, p["p50"] ?? 0,
                    p["p90"] ?? 0, ratio >= 0.70 ? "MET" : "NOT MET")),
            ("ingest: CPU (cores)", String(format: "sidecar %.2f", sidecarCPU / window.seconds),
             String(format: "nats-server %.2f, bench (publisher + no-op) %.2f, of %d", natsCPU / window.seconds,
                    selfCPU / window.seconds, ProcessInfo.processInfo.activeProcessorCount)),
            ("ingest: sidecar CPU per message", String(format: "%.2f µs", cpuPerMessageUs), "all sidecar threads ÷ processed"),
            ("ingest: drops", "sidecar \(final.dropped)", "no-op \(noopDropped) (pending limits 65536 msgs / 64 MiB)"),
        ]
        return PhaseResult(json: json, rows: rows)
    }

    // MARK: - Phase 2: RSS with many symbols

    func runRSSPhase(natsURL: String, sidecarPath: String, work: URL) throws -> PhaseResult {
        let sidecar = try startSidecar(sidecarPath, natsURL: natsURL, extra: [:], work: work, name: "sidecar-rss")
        defer { ChildProcesses.shared.stop(sidecar.process) }
        let pid = sidecar.process.processIdentifier
        sleepSeconds(0.5)
        let idle = BenchProc.memory(pid: pid)

        let frames = ReplayLoop(SyntheticBenchMarket.frames(symbols: symbols, rounds: 6).map { ($0, 0) })
        let publisher = BenchPublisher(natsURL: natsURL, subject: "binance.websocket.data", frames: frames,
                                       perSecond: rssRate)
        try publisher.start()
        defer { publisher.stop() }
        benchLog("rss: \(symbols) synthetic symbols × 6 stream kinds, \(frames.count) frames in a loop at \(Int(rssRate)) msg/s")
        sleepSeconds(warmup)

        var samples: [Double] = []
        let end = Date().addingTimeInterval(seconds)
        var tracked = 0
        while Date() < end {
            sleepSeconds(1)
            samples.append(BenchProc.memory(pid: pid).rssMiB)
            tracked = (try? sidecar.stats().tracked) ?? tracked
        }
        publisher.stop()
        let final = try sidecar.stats()
        let memory = BenchProc.memory(pid: pid)
        let steady = samples.last ?? memory.rssMiB
        let json: [String: Any] = [
            "symbols": symbols,
            "symbols_tracked": final.tracked,
            "publish_rate": rssRate,
            "published_per_s": publisher.sent / max(publisher.elapsed, 1e-9),
            "rss_mib_idle": idle.rssMiB,
            "rss_anon_mib_idle": idle.anonMiB,
            "rss_file_mib_idle": idle.fileMiB,
            "rss_mib_steady": steady,
            "rss_anon_mib_steady": memory.anonMiB,
            "rss_file_mib_steady": memory.fileMiB,
            "malloc_arena_max": ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] ?? "",
            "rss_mib_samples": BenchStats.percentiles(samples),
            "peak_rss_mib": memory.peakMiB,
            "sidecar_slow_consumer_dropped": final.dropped,
            "sidecar_rejected": final.rejected,
            "target_mib": 64,
            "target_met": steady <= 64,
        ]
        let rows: [(String, String, String)] = [
            ("rss: idle sidecar", String(format: "%.1f MiB", idle.rssMiB),
             String(format: "after /ready, no traffic: anon %.1f, file %.1f", idle.anonMiB, idle.fileMiB)),
            ("rss: \(symbols) symbols steady", String(format: "%.1f MiB", steady),
             String(format: "anon %.1f, file %.1f, peak %.1f MiB, %d tracked, drops %d; target ≤ 64 MiB: %@",
                    memory.anonMiB, memory.fileMiB, memory.peakMiB, final.tracked, final.dropped,
                    steady <= 64 ? "MET" : "NOT MET")),
        ]
        _ = tracked
        return PhaseResult(json: json, rows: rows)
    }

    // MARK: - Measurement window

    struct Sample {
        var time: Double
        var processed: Int
        var noop: Int
        var published: Int
        var sidecarCPU: Double
        var natsCPU: Double
        var selfCPU: Double
    }

    struct Window {
        var samples: [Sample]
        var seconds: Double { samples.last!.time - samples.first!.time }
        func delta(_ k: KeyPath<Sample, Int>) -> Int { samples.last![keyPath: k] - samples.first![keyPath: k] }
        func rate(_ k: KeyPath<Sample, Int>) -> Double { Double(delta(k)) / max(seconds, 1e-9) }
        func cpuSeconds(_ k: KeyPath<Sample, Double>) -> Double { samples.last![keyPath: k] - samples.first![keyPath: k] }
        func perSecond(_ k: KeyPath<Sample, Int>) -> [Double] {
            zip(samples, samples.dropFirst()).map { a, b in Double(b[keyPath: k] - a[keyPath: k]) / max(b.time - a.time, 1e-9) }
        }
    }

    func measure(sidecar: RunningBenchSidecar, counter: BenchCounter, publisher: BenchPublisher, natsPID: Int32) throws -> Window {
        let start = DispatchTime.now().uptimeNanoseconds
        func sample() throws -> Sample {
            let stats = try sidecar.stats()
            let t = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            return Sample(time: t, processed: stats.processed, noop: counter.value, published: publisher.sentCount,
                          sidecarCPU: BenchProc.cpuSeconds(pid: sidecar.process.processIdentifier),
                          natsCPU: BenchProc.cpuSeconds(pid: natsPID), selfCPU: BenchProc.cpuSeconds(pid: getpid()))
        }
        var samples = [try sample()]
        let steps = max(1, Int(seconds.rounded()))
        for _ in 0..<steps {
            sleepSeconds(seconds / Double(steps))
            samples.append(try sample())
        }
        return Window(samples: samples)
    }

    // MARK: - Processes and inputs

    func startSidecar(_ path: String, natsURL: String, extra: [String: String], work: URL, name: String) throws
        -> RunningBenchSidecar
    {
        let port = try BenchNet.freePort()
        // Each sidecar gets its own socket file in the work folder (the default path is the pod's).
        var environment = ["NATS_URL": natsURL, "HTTP_HOST": "127.0.0.1", "HTTP_PORT": "\(port)", "ADMIN_HTTP_PORT": "0", "LOG_LEVEL": "warning",
                           "SIDECAR_SOCKET_PATH": work.appendingPathComponent("\(name).sock").path,
                           "CONFIG_STORE": "memory"]
        for (k, v) in extra { environment[k] = v }
        let process = try ChildProcesses.shared.launch(path, [], environment: environment,
                                                       log: work.appendingPathComponent("\(name).log"))
        let sidecar = RunningBenchSidecar(process: process, httpPort: port, log: work.appendingPathComponent("\(name).log"))
        try sidecar.waitReady(timeout: 30)
        benchLog("\(name): pid \(process.processIdentifier), HTTP 127.0.0.1:\(port)")
        return sidecar
    }

    func locateSidecar() throws -> String {
        if let sidecarBinary { return sidecarBinary }
        let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        let sibling = me.deletingLastPathComponent().appendingPathComponent("realtime-sidecar").path
        guard FileManager.default.isExecutableFile(atPath: sibling) else {
            throw BenchFailure("realtime-sidecar not found next to \(me.path); build it (swift build -c release) or pass --sidecar-binary")
        }
        return sibling
    }

    func locateNATSServer() throws -> String {
        if let natsServer { return natsServer }
        var candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/nats-server" }
        candidates += ["/usr/sbin/nats-server", "/usr/local/sbin/nats-server", "/usr/bin/nats-server"]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw BenchFailure("nats-server not found (Debian package nats-server; `make deps` installs it)")
        }
        return found
    }

    /// Every replay, merged by event time into one loop whose time moves forward across passes.
    func loadReplays() throws -> (frames: ReplayLoop, source: String) {
        let env = ProcessInfo.processInfo.environment["BINANCE_REAL_DIR"].map { "\($0)/replay" }
        let dir = replayDir ?? env ?? "../shared/binance-real/replay"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { $0.hasSuffix(".nats.jsonl.gz") || $0.hasSuffix(".nats.jsonl") }.sorted()
        if names.isEmpty {
            benchLog("ingest: no replays in \(dir): falling back to the synthetic market (SYNTHETIC figures)")
            var market = SyntheticMarket(.init())
            return (ReplayLoop((0..<50_000).map { _ in (market.next().payload, 0) }), "SYNTHETIC (no replays in \(dir))")
        }
        var frames: [(bytes: [UInt8], recording: Int)] = []
        for (i, name) in names.enumerated() {
            let reader = try LineReader(path: "\(dir)/\(name)")
            _ = try reader.forEachLine { frames.append((Array($0), i)) }
        }
        return (ReplayLoop(frames), "\(names.count) real replays in \(dir): \(names.joined(separator: ", "))")
    }

    // MARK: - Output

    func printTable(_ rows: [(String, String, String)]) {
        let w0 = max(10, rows.map(\.0.count).max() ?? 0)
        let w1 = max(10, rows.map(\.1.count).max() ?? 0)
        print("")
        print("figure".padding(toLength: w0, withPad: " ", startingAt: 0) + "  "
              + "value".padding(toLength: w1, withPad: " ", startingAt: 0) + "  detail")
        print(String(repeating: "-", count: w0 + w1 + 40))
        for (a, b, c) in rows {
            print(a.padding(toLength: w0, withPad: " ", startingAt: 0) + "  " + b.padding(toLength: w1, withPad: " ", startingAt: 0) + "  " + c)
        }
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, shared and noisy: compare ratios from one run, not absolute rates across runs")
    }

    func writeJSON(_ result: [String: Any], startedAt: Date) throws -> String {
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let path = "\(outDir)/\(formatter.string(from: startedAt)).json"
        let data = try JSONSerialization.data(withJSONObject: result, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }
}

// MARK: - Helpers

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func benchLog(_ line: String) {
    FileHandle.standardError.write(Data("bench: \(line)\n".utf8))
}

func sleepSeconds(_ s: Double) {
    guard s > 0 else { return }
    Thread.sleep(forTimeInterval: s)
}

func fmtRate(_ r: Double) -> String { String(format: "%.0f msg/s", r) }

func pct(_ values: [Double], _ q: Double) -> Double { BenchStats.quantile(values, q) }

enum BenchStats {
    /// Nearest-rank quantile.
    static func quantile(_ values: [Double], _ q: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((q * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank - 1, 0), sorted.count - 1)]
    }

    static func percentiles(_ values: [Double]) -> [String: Double] {
        ["p10": quantile(values, 0.1), "p50": quantile(values, 0.5), "p90": quantile(values, 0.9),
         "min": values.min() ?? 0, "max": values.max() ?? 0, "n": Double(values.count)]
    }
}

final class BenchCounter: @unchecked Sendable {
    private let storage = Atomic<Int>(0)
    func add(_ n: Int) { storage.wrappingAdd(n, ordering: .relaxed) }
    var value: Int { storage.load(ordering: .relaxed) }
}

/// Publishes frames in a loop on its own thread and connection, at a rate or as fast as possible.
final class BenchPublisher: @unchecked Sendable {
    let natsURL: String
    let subject: String
    let frames: ReplayLoop
    let perSecond: Double
    private let sentStorage = Atomic<Int>(0)
    private let startTime = Date()
    private let thread = PublisherThread()
    var failure: Error? { thread.failure }

    init(natsURL: String, subject: String, frames: ReplayLoop, perSecond: Double) {
        self.natsURL = natsURL
        self.subject = subject
        self.frames = frames
        self.perSecond = perSecond
    }

    var sentCount: Int { sentStorage.load(ordering: .relaxed) }
    var sent: Double { Double(sentCount) }
    var elapsed: Double { Date().timeIntervalSince(startTime) }

    func start() throws {
        try thread.start(natsURL: natsURL, name: "bench-publisher") { [self] client in
            let start = DispatchTime.now().uptimeNanoseconds
            var n = 0
            while !thread.stopRequested {
                // Check the stop flag and the pace, and move event time on, every 64 messages.
                frames.prepare(64)
                for _ in 0..<64 {
                    try client.publish(subject: subject, payload: frames.take())
                    n += 1
                }
                sentStorage.store(n, ordering: .relaxed)
                if perSecond > 0 {
                    let due = start + UInt64(Double(n) / perSecond * 1e9)
                    let now = DispatchTime.now().uptimeNanoseconds
                    if due > now { usleep(UInt32(min((due - now) / 1000, 1_000_000))) }
                }
            }
        }
    }

    func stop() { thread.stop() }
}

/// One NATS connection and one thread publishing on it until `stop()`: the lifecycle the bench
/// publishers share (start, failure, stop with flush and close).
final class PublisherThread: @unchecked Sendable {
    private let stopFlag = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)
    private var client: NATSClient?
    private var running = false
    private(set) var failure: Error?

    var stopRequested: Bool { stopFlag.load(ordering: .relaxed) }

    func start(natsURL: String, name: String, _ loop: @escaping (NATSClient) throws -> Void) throws {
        let client = try connectForTool(url: natsURL)
        self.client = client
        running = true
        let thread = Thread { [self] in
            defer { done.signal() }
            do { try loop(client) } catch { failure = error }
        }
        thread.name = name
        thread.start()
    }

    func stop() {
        guard running else { return }
        running = false
        stopFlag.store(true, ordering: .relaxed)
        done.wait()
        try? client?.flush(timeoutMs: 5000)
        client?.close(drainTimeoutMs: 0)
        client = nil
    }
}

/// A sidecar child process and its HTTP API.
struct RunningBenchSidecar {
    var process: Process
    var httpPort: Int
    var log: URL

    struct Stats {
        var received = 0, processed = 0, rejected = 0, dropped = 0, tracked = 0
    }

    func waitReady(timeout: Double) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard process.isRunning else {
                throw BenchFailure("sidecar exited (status \(process.terminationStatus)):\n\(tail())")
            }
            if let r = try? SimpleHTTPClient.get("http://127.0.0.1:\(httpPort)/ready", timeoutSeconds: 2), r.status == 200 { return }
            usleep(100_000)
        }
        throw BenchFailure("sidecar not ready within \(Int(timeout)) s:\n\(tail())")
    }

    func stats() throws -> Stats {
        let response = try SimpleHTTPClient.get("http://127.0.0.1:\(httpPort)/api/v1/stats", timeoutSeconds: 5)
        guard response.status == 200,
            let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
            let messages = object["messages"] as? [String: Any]
        else { throw BenchFailure("unexpected /api/v1/stats answer: HTTP \(response.status) \(response.text.prefix(200))") }
        func int(_ v: Any?) -> Int { (v as? NSNumber)?.intValue ?? 0 }
        var s = Stats()
        s.received = int(messages["received"])
        s.processed = int(messages["processed"])
        s.rejected = int(messages["rejected"])
        s.dropped = int(messages["slow_consumer_dropped"])
        s.tracked = int((object["symbols"] as? [String: Any])?["tracked"])
        return s
    }

    func tail() -> String {
        guard let data = try? Data(contentsOf: log) else { return "(no log)" }
        return String(decoding: data.suffix(3000), as: UTF8.self)
    }
}

/// Every child the bench started; all are stopped on exit, on error and on SIGINT/SIGTERM.
final class ChildProcesses: @unchecked Sendable {
    static let shared = ChildProcesses()
    private let children = Mutex<[Process]>([])
    private var sources: [DispatchSourceSignal] = []

    func launch(_ path: String, _ arguments: [String], environment: [String: String], log: URL) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        p.standardInput = FileHandle.nullDevice
        try p.run()
        children.withLock { $0.append(p) }
        return p
    }

    /// SIGTERM, then SIGKILL after 5 s.
    func stop(_ p: Process) {
        if p.isRunning {
            p.terminate()
            let deadline = Date().addingTimeInterval(5)
            while p.isRunning && Date() < deadline { usleep(20_000) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        }
        children.withLock { $0.removeAll { $0 === p } }
    }

    func stopAll() {
        let all = children.withLock { $0 }
        for p in all.reversed() { stop(p) }
    }

    func installSignalHandlers() {
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in
                benchLog("interrupted: stopping everything started")
                stopAll()
                exit(130)
            }
            source.resume()
            sources.append(source)
        }
    }
}

enum BenchNet {
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchFailure("socket() failed: errno \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw BenchFailure("bind() failed: errno \(errno)") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    static func waitForPort(_ port: Int, timeout: Double, process: Process, what: String) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard process.isRunning else { throw BenchFailure("\(what) exited early (status \(process.terminationStatus))") }
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = UInt16(port).bigEndian
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            close(fd)
            if rc == 0 { return }
            usleep(20_000)
        }
        throw BenchFailure("\(what) not listening on 127.0.0.1:\(port) within \(Int(timeout)) s")
    }
}

/// /proc readings for a process.
enum BenchProc {
    /// utime + stime of every thread, in seconds.
    static func cpuSeconds(pid: Int32) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return 0 }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, utime 14, stime 15.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// VmRSS, VmHWM, RssAnon (heap, stacks) and RssFile (mapped binaries and libraries) in MiB.
    static func memory(pid: Int32) -> (rssMiB: Double, peakMiB: Double, anonMiB: Double, fileMiB: Double) {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return (0, 0, 0, 0) }
        func kib(_ key: String) -> Double {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key + ":") }) else { return 0 }
            return Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
        }
        return (kib("VmRSS") / 1024, kib("VmHWM") / 1024, kib("RssAnon") / 1024, kib("RssFile") / 1024)
    }
}

enum BenchMachine {
    static func describe() -> [String: Any] {
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        var uts = utsname()
        uname(&uts)
        let release = withUnsafeBytes(of: &uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return ["cores": ProcessInfo.processInfo.activeProcessorCount,
                "memory_gib": Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824,
                "loadavg_at_start": load, "kernel": release,
                "caveat": "shared, noisy 2-core VM: only ratios measured in one run are comparable"]
    }
}

/// Spot-shaped envelopes for `symbols` synthetic symbols on every stream kind the sidecar reads:
/// depth20, depth diff, trade, aggTrade, bookTicker and ticker, with event time advancing per round.
enum SyntheticBenchMarket {
    static func frames(symbols count: Int, rounds: Int) -> [[UInt8]] {
        var out: [[UInt8]] = []
        out.reserveCapacity(count * rounds * 6)
        var t: Int64 = 1_767_225_600_000
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func random() -> Double {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(seed >> 11) / Double(1 << 53)
        }
        func d(_ x: Double) -> String { String(format: "%.8f", x) }
        let names = (0..<count).map { String(format: "S%04dUSDT", $0) }
        for round in 0..<rounds {
            for (i, symbol) in names.enumerated() {
                t += 1
                let lower = symbol.lowercased()
                let mid = 10 + Double(i) + Double(round % 7) * 0.01
                let tail = #","timestamp":"\#(formatTimestamp(t))","message_id":"bench-\#(round)-\#(i)","source":"binance-websocket","version":"1.0"}"#
                let bids = (0..<20).map { #"["\#(d(mid - 0.01 * Double($0 + 1)))","\#(d(random() * 5))"]"# }.joined(separator: ",")
                let asks = (0..<20).map { #"["\#(d(mid + 0.01 * Double($0 + 1)))","\#(d(random() * 5))"]"# }.joined(separator: ",")
                let frames = [
                    #"{"stream":"\#(lower)@depth20@100ms","data":{"lastUpdateId":\#(round),"bids":[\#(bids)],"asks":[\#(asks)]}"# + tail,
                    #"{"stream":"\#(lower)@depth@100ms","data":{"e":"depthUpdate","E":\#(t),"s":"\#(symbol)","U":\#(round),"u":\#(round + 1),"b":[["\#(d(mid - 0.01))","\#(d(random()))"]],"a":[["\#(d(mid + 0.01))","0.00000000"]]}"# + tail,
                    #"{"stream":"\#(lower)@trade","data":{"e":"trade","E":\#(t),"s":"\#(symbol)","t":\#(round),"p":"\#(d(mid))","q":"\#(d(random()))","T":\#(t),"m":\#(round % 2 == 0),"M":true}"# + tail,
                    #"{"stream":"\#(lower)@aggTrade","data":{"e":"aggTrade","E":\#(t),"s":"\#(symbol)","a":\#(round),"p":"\#(d(mid))","q":"\#(d(random()))","f":1,"l":2,"T":\#(t),"m":false,"M":true}"# + tail,
                    #"{"stream":"\#(lower)@bookTicker","data":{"u":\#(round),"s":"\#(symbol)","b":"\#(d(mid - 0.01))","B":"\#(d(random()))","a":"\#(d(mid + 0.01))","A":"\#(d(random()))"}"# + tail,
                    #"{"stream":"\#(lower)@ticker","data":{"e":"24hrTicker","E":\#(t),"s":"\#(symbol)","p":"0.10000000","P":"1.000","w":"\#(d(mid))","x":"\#(d(mid))","c":"\#(d(mid))","Q":"1.00000000","b":"\#(d(mid - 0.01))","B":"1.00000000","a":"\#(d(mid + 0.01))","A":"1.00000000","o":"\#(d(mid - 0.1))","h":"\#(d(mid + 0.2))","l":"\#(d(mid - 0.2))","v":"1000.00000000","q":"10000.00000000","O":0,"C":\#(t),"F":0,"L":\#(round),"n":\#(round + 1)}"# + tail,
                ]
                out += frames.map { Array($0.utf8) }
            }
        }
        return out
    }

    static func formatTimestamp(_ ms: Int64) -> String { formatISO8601Millis(ms) }
}
