import Foundation
@testable import NATS
import Synchronization
import Testing
@testable import Sidecar
import Strategies
#if canImport(Glibc)
import Glibc
#endif

// Runs the built `sidecarctl` binary against a sidecar started in this process (real nats-server,
// real socket). Every blocking wait on a child process runs on a Dispatch thread (`offloaded`),
// and every child is killed at the end of its test, whatever happens.

/// The `sidecarctl` executable built next to this test bundle (`swift build --build-tests`
/// builds both), or `$SIDECARCTL_BIN`.
enum SidecarctlBinary {
    static let path: String? = {
        if let explicit = ProcessInfo.processInfo.environment["SIDECARCTL_BIN"], !explicit.isEmpty { return explicit }
        var folders: [URL] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            folders.append(URL(fileURLWithPath: exe).deletingLastPathComponent())
        }
        if let main = Bundle.main.executableURL { folders.append(main.deletingLastPathComponent()) }
        folders.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        // A bundle inside an .xctest directory (macOS): go up to the products folder.
        folders += folders.map { $0.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        folders.append(root.appendingPathComponent(".build/debug"))
        return folders.map { $0.appendingPathComponent("sidecarctl").path }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static func require() throws -> String {
        try #require(path, "sidecarctl not found next to the test bundle: run `swift build --build-tests` first (make test does)")
    }
}

/// One `sidecarctl` child process with its output captured. Stdout can be left unread (the
/// child then blocks once the pipe is full) until `startReadingStdout`.
final class CtlProcess: @unchecked Sendable {
    let arguments: [String]
    private let process = Process()
    private let outPipe = Pipe()
    private let errPipe = Pipe()
    private let exited = DispatchSemaphore(value: 0)
    private let readers = DispatchGroup()
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()
    private var readingStdout = false

    /// - Parameter launcher: a command that runs sidecarctl, e.g. setpriv as another user.
    init(_ arguments: [String], environment: [String: String] = [:], readStdout: Bool = true, launcher: [String] = []) throws {
        self.arguments = arguments
        let binary = try SidecarctlBinary.require()
        if let first = launcher.first {
            process.executableURL = URL(fileURLWithPath: first)
            process.arguments = launcher.dropFirst() + [binary] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = arguments
        }
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "SIDECAR_SOCKET_PATH")  // only what a test sets
        env["CONFIG_STORE"] = env["CONFIG_STORE"] ?? "memory"  // never the machine's /var/lib
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = FileHandle.nullDevice
        let exited = self.exited
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        read(errPipe.fileHandleForReading) { [lock] data in lock.withLock { self.err.append(data) } }
        if readStdout { startReadingStdout() }
    }

    deinit { kill() }

    private func read(_ handle: FileHandle, _ append: @escaping @Sendable (Data) -> Void) {
        readers.enter()
        let readers = self.readers
        DispatchQueue.global().async {
            while true {
                let data = handle.availableData
                if data.isEmpty { break }
                append(data)
            }
            readers.leave()
        }
    }

    func startReadingStdout() {
        let start = lock.withLock { () -> Bool in
            defer { readingStdout = true }
            return !readingStdout
        }
        if start { read(outPipe.fileHandleForReading) { [lock] data in lock.withLock { self.out.append(data) } } }
    }

    var stdout: String { lock.withLock { String(decoding: out, as: UTF8.self) } }
    /// The last `bytes` of stdout: cheap to poll while megabytes stream in.
    func stdoutTail(_ bytes: Int) -> String { lock.withLock { String(decoding: out.suffix(bytes), as: UTF8.self) } }
    var stderr: String { lock.withLock { String(decoding: err, as: UTF8.self) } }
    var isRunning: Bool { process.isRunning }
    var status: Int32 { process.terminationStatus }
    var exitedBySignal: Bool { process.terminationReason == .uncaughtSignal }

    /// Blocks until the child exits and its output is read; false on timeout.
    func waitForExit(timeout: Double) -> Bool {
        guard exited.wait(timeout: .now() + timeout) == .success else { return false }
        exited.signal()  // later waits return at once
        startReadingStdout()
        _ = readers.wait(timeout: .now() + 5)
        return true
    }

    /// SIGTERM, then SIGKILL after 5 s. Blocks.
    func stop() {
        guard process.isRunning else { return }
        _ = Glibc.kill(process.processIdentifier, SIGTERM)
        if !waitForExit(timeout: 5) { kill() }
    }

    func kill() {
        if process.isRunning {
            _ = Glibc.kill(process.processIdentifier, SIGKILL)
            _ = waitForExit(timeout: 5)
        }
    }
}

struct CtlResult: CustomStringConvertible {
    var arguments: [String]
    var status: Int32
    var stdout: String
    var stderr: String

    var description: String { "sidecarctl \(arguments.joined(separator: " ")) → \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }

    func json() throws -> JSONTree {
        try JSONDecoder().decode(JSONTree.self, from: Data(stdout.utf8))
    }
}

/// Runs `sidecarctl` to completion (killed after `timeout` seconds).
func sidecarctl(_ arguments: [String], environment: [String: String] = [:], launcher: [String] = [], timeout: Double = 30)
    async throws -> CtlResult {
    try await offloaded {
        let child = try CtlProcess(arguments, environment: environment, launcher: launcher)
        defer { child.kill() }
        guard child.waitForExit(timeout: timeout) else { throw TimedOut(what: "sidecarctl \(arguments.joined(separator: " "))") }
        return CtlResult(arguments: arguments, status: child.status, stdout: child.stdout, stderr: child.stderr)
    }
}

private func publishMarket(_ url: String, count: Int, seed: UInt64 = 42) throws {
    let publisher = try NATSClient(options: NATSClientOptions(url: url, name: "test-feed"))
    var market = SyntheticMarket(.init(seed: seed))
    for _ in 0..<count { try publisher.publish(subject: "binance.websocket.data", bytes: market.next().payload) }
    try publisher.flush(timeoutMs: 10_000)
    publisher.close(drainTimeoutMs: 1000)
}

private func value(_ tree: JSONTree?, _ path: String...) -> JSONTree? {
    var current = tree
    for key in path { current = current?[key] }
    return current
}

private extension RunningSidecar {
    func tree(_ path: String) async throws -> JSONTree {
        let response = try await get(path)
        #expect(response.status == 200, "\(path): HTTP \(response.status)")
        return try JSONDecoder().decode(JSONTree.self, from: Data(response.body))
    }
}

/// A sidecar on a fresh nats-server whose orderbook_skew fires on every skewed book.
private func startSidecar(_ server: NATSServerProcess, _ configure: (inout SidecarConfiguration) -> Void = { _ in })
    async throws -> RunningSidecar {
    try await RunningSidecar.start(natsURL: server.url) {
        $0.engine.strategies.parameters["orderbook_skew", default: ParameterValues()].values["cooldown_seconds"] = .double(0)
        // The synthetic market carries Binance's own stream names: its partial books' labels are true.
        $0.engine.book.attribution = .label
        configure(&$0)
    }
}

@Suite("sidecarctl socket commands against a running sidecar", .serialized)
struct SidecarctlTests {
    @Test("depth, pressure, summary, stats, health and signals: tables, and JSON equal to the HTTP API and the runtime",
          .timeLimit(.minutes(3)))
    func readCommands() async throws {
        let server = try NATSServerProcess()
        let sidecar = try await startSidecar(server)
        try await waitUntil("ready", timeout: 15) { sidecar.runtime.ingest.isReady }
        let published = 8000
        try await offloaded { try publishMarket(server.url, count: published) }
        try await waitUntil("all processed", timeout: 60) { sidecar.runtime.stats.processed.value == published }
        let socket = try #require(sidecar.socketPath)
        let s = ["--socket", socket]

        // health
        let health = try await sidecarctl(["health", "--json"] + s)
        #expect(health.status == 0, "\(health)")
        let healthJSON = try health.json()
        #expect(healthJSON["ready"]?.bool == true && healthJSON["live"]?.bool == true)
        #expect(healthJSON["version"]?.string == SidecarRuntime.version)
        let healthText = try await sidecarctl(["health"] + s)
        #expect(healthText.status == 0 && healthText.stdout.contains("ready"), "\(healthText)")

        // depth SYMBOL
        for symbol in ["BTCUSDT", "ETHUSDT"] {
            let http = try await sidecar.tree("/api/v1/metrics/depth/\(symbol)")
            let result = try await sidecarctl(["depth", symbol, "--json"] + s)
            #expect(result.status == 0, "\(result)")
            let d = try result.json()
            let pairs: [(String, [String])] = [
                ("imbalance_ratio", ["imbalance", "ratio"]), ("imbalance_percent", ["imbalance", "percent"]),
                ("bid_volume", ["imbalance", "bid_volume"]), ("net_pressure", ["pressure", "net_pressure"]),
                ("buy_pressure", ["pressure", "buy_pressure"]), ("total_liquidity", ["liquidity", "total"]),
                ("best_bid", ["spread", "best_bid"]), ("best_ask", ["spread", "best_ask"]),
                ("spread_bps", ["spread", "spread_bps"]), ("mid_price", ["spread", "mid_price"]),
                ("vwap_bid", ["vwap", "bid"]), ("bid_levels", ["order_book_quality", "bid_levels"]),
                ("strongest_ask_price", ["strongest_levels", "ask", "price"]),
            ]
            for (field, path) in pairs {
                var expected: JSONTree? = http
                for key in path { expected = expected?[key] }
                #expect(d[field]?.double != nil && d[field]?.double == expected?.double,
                        "\(symbol) \(field): sidecarctl \(String(describing: d[field])) vs HTTP \(String(describing: expected))")
            }
            #expect(d["symbol"]?.string == symbol && d["venue"]?.string == "spot")
            #expect(d["interpretation"]?.string == value(http, "pressure", "interpretation")?.string)
            #expect(d["bid_prices"] == nil, "levels only with --levels")
        }
        let levels = try await sidecarctl(["depth", "btcusdt", "--levels", "--json"] + s)
        let levelsJSON = try levels.json()
        let bidPrices = try #require(levelsJSON["bid_prices"]?.array)
        #expect(!bidPrices.isEmpty && Double(bidPrices.count) == levelsJSON["bid_levels"]?.double)
        #expect(levelsJSON["ask_quantities"]?.array?.count == levelsJSON["ask_prices"]?.array?.count)
        let depthText = try await sidecarctl(["depth", "BTCUSDT", "--levels"] + s)
        #expect(depthText.status == 0, "\(depthText)")
        #expect(depthText.stdout.contains("BTCUSDT (spot)") && depthText.stdout.contains("net pressure"))
        #expect(depthText.stdout.contains("BID QTY"))
        #expect(depthText.stdout.contains("BTCUSDT (spot)"))

        // depth --all, the same query as HTTP /all
        let all = try await sidecar.tree("/api/v1/metrics/all?sort_by=pressure&sort_order=desc&limit=3&offset=1")
        let list = try await sidecarctl(["depth", "--all", "--sort-by", "pressure", "--sort-order", "desc", "--limit", "3",
                                         "--offset", "1", "--json"] + s)
        #expect(list.status == 0, "\(list)")
        let page = try list.json()
        let rows = try #require(page["metrics"]?.array)
        let data = try #require(all["data"]?.object)
        #expect(rows.count == data.count && rows.count == 3)
        #expect(page["total"]?.double == value(all, "pagination", "total")?.double && page["total"]?.double == 5)
        #expect(page["has_next"]?.bool == value(all, "pagination", "has_next")?.bool)
        #expect(page["has_previous"]?.bool == true)
        for row in rows {
            let symbol = try #require(row["symbol"]?.string)
            #expect(row["net_pressure"]?.double == data[symbol]?["net_pressure"]?.double, "\(symbol)")
            #expect(row["trend"]?.string == data[symbol]?["trend"]?.string, "\(symbol)")
        }
        let pressures = rows.compactMap { $0["net_pressure"]?.double }
        #expect(pressures == pressures.sorted(by: >))
        let allText = try await sidecarctl(["depth", "--all"] + s)
        #expect(allText.status == 0, "\(allText)")
        let allLines = allText.stdout.split(separator: "\n")
        #expect(allLines.first?.hasPrefix("SYMBOL") == true)
        for symbol in ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT"] {
            #expect(allLines.contains { $0.hasPrefix(symbol + " ") }, "\(symbol) row in\n\(allText.stdout)")
        }
        #expect(allText.stdout.contains("of 5 symbols"))
        let filtered = try await sidecarctl(["depth", "--all", "--symbols", "BTCUSDT,ETHUSDT", "--json"] + s)
        #expect(try filtered.json()["metrics"]?.array?.compactMap { $0["symbol"]?.string }.sorted() == ["BTCUSDT", "ETHUSDT"])

        // pressure
        let httpPressure = try await sidecar.tree("/api/v1/metrics/pressure/ETHUSDT?timeframe=1m")
        let pressure = try await sidecarctl(["pressure", "ETHUSDT", "--timeframe", "1m", "--json"] + s)
        #expect(pressure.status == 0, "\(pressure)")
        let p = try pressure.json()
        #expect(p["timeframe"]?.string == "1m")
        #expect(p["avg_pressure"]?.double == value(httpPressure, "summary", "avg_pressure")?.double)
        #expect(p["total_data_points"]?.double == httpPressure["total_data_points"]?.double)
        let points = try #require(httpPressure["pressure_history"]?.array)
        #expect(p["pressure"]?.array?.compactMap(\.double) == points.compactMap { $0["pressure"]?.double })
        let pressureText = try await sidecarctl(["pressure", "ETHUSDT", "--timeframe", "1m"] + s)
        #expect(pressureText.status == 0 && pressureText.stdout.contains("NET PRESSURE"), "\(pressureText)")

        // summary
        let httpSummary = try await sidecar.tree("/api/v1/metrics/summary")
        let summary = try await sidecarctl(["summary", "--json"] + s)
        #expect(summary.status == 0, "\(summary)")
        let sum = try summary.json()
        #expect(sum["symbols_tracked"]?.double == 5 && sum["symbols_tracked"]?.double == httpSummary["symbols_tracked"]?.double)
        #expect(sum["bullish_symbols"]?.double == value(httpSummary, "market_sentiment", "bullish_symbols")?.double)
        #expect(sum["avg_net_pressure"]?.double == value(httpSummary, "market_sentiment", "avg_net_pressure")?.double)
        let summaryText = try await sidecarctl(["summary"] + s)
        #expect(summaryText.status == 0 && summaryText.stdout.contains("symbols tracked"), "\(summaryText)")

        // stats, against the runtime's counters (nothing flows now)
        let stats = try await sidecarctl(["stats", "--json"] + s)
        #expect(stats.status == 0, "\(stats)")
        let st = try stats.json()
        #expect(st["messages_processed"]?.double == Double(published))
        #expect(st["messages_received"]?.double == Double(sidecar.runtime.stats.received.value))
        #expect(st["last_signal_seq"]?.double == Double(sidecar.runtime.signalLog.lastSequence))
        #expect(st["nats_connected"]?.bool == true)
        #expect((st["socket_clients"]?.double ?? 0) >= 1)
        let generated = st["signals_generated"]?.array?.first { $0["name"]?.string == "orderbook_skew" }
        #expect(generated?["value"]?.double == Double(sidecar.runtime.stats.signalsGenerated["orderbook_skew"]?.value ?? -1))
        let statsText = try await sidecarctl(["stats"] + s)
        #expect(statsText.status == 0 && statsText.stdout.contains("messages processed") && statsText.stdout.contains("\(published)"),
                "\(statsText)")

        // signals, against the log
        let log = sidecar.runtime.signalLog
        let last = log.lastSequence
        try #require(last >= 3, "the synthetic market produced \(last) signals")
        let tail = try await sidecarctl(["signals", "--limit", "5", "--json"] + s)
        #expect(tail.status == 0, "\(tail)")
        let tailSignals = try #require(try tail.json()["signals"]?.array)
        #expect(tailSignals.compactMap { $0["seq"]?.double } == (last - UInt64(min(5, last)) + 1...last).map { Double($0) })
        for signal in tailSignals {
            let seq = UInt64(try #require(signal["seq"]?.double))
            let logged = try #require(log.read(after: seq - 1, limit: 1).signals.first)
            #expect(signal["strategy_id"]?.string == logged.strategyId && signal["symbol"]?.string == logged.key.symbol)
            #expect(signal["event_time_ms"]?.double == Double(logged.eventTimeMs))
            #expect(signal["action"]?.string == logged.action.rawValue.lowercased())
        }
        let first = try await sidecarctl(["signals", "--after", "0", "--limit", "3", "--json"] + s)
        let firstPage = try first.json()
        #expect(firstPage["signals"]?.array?.compactMap { $0["seq"]?.double } == [1, 2, 3])
        #expect(firstPage["next_seq"]?.double == 3 && firstPage["truncated"]?.bool == false)
        let btc = try await sidecarctl(["signals", "--after", "0", "--limit", "100000", "--symbol", "btcusdt", "--json"] + s)
        let btcSignals = try #require(try btc.json()["signals"]?.array)
        #expect(btcSignals.count == log.read(after: 0, limit: 100_000, symbols: ["BTCUSDT"]).signals.count)
        #expect(btcSignals.allSatisfy { $0["symbol"]?.string == "BTCUSDT" })
        let signalsText = try await sidecarctl(["signals", "--limit", "3"] + s)
        let signalLines = signalsText.stdout.split(separator: "\n")
        #expect(signalsText.status == 0 && signalLines.count == 4, "\(signalsText)")
        #expect(signalLines.first?.trimmingCharacters(in: .whitespaces).hasPrefix("SEQ") == true, "\(signalsText)")
        #expect(signalLines.last?.trimmingCharacters(in: .whitespaces).hasPrefix("\(last) ") == true, "\(signalsText)")

        try await sidecar.stop()
    }

    @Test("signals --follow prints a live signal, as JSON lines and as table rows", .timeLimit(.minutes(2)))
    func followLive() async throws {
        let server = try NATSServerProcess()
        let sidecar = try await startSidecar(server)
        try await waitUntil("ready", timeout: 15) { sidecar.runtime.ingest.isReady }
        let socket = try #require(sidecar.socketPath)
        let json = try CtlProcess(["signals", "--follow", "--json", "--socket", socket])
        let text = try CtlProcess(["signals", "--follow", "--socket", socket])
        defer {
            json.kill()
            text.kill()
        }
        // Both subscribed before any signal exists: what they print is live.
        try await waitUntil("both subscribed", timeout: 15) { sidecar.runtime.socketStats.subscriptions.value == 2 }
        #expect(sidecar.runtime.signalLog.lastSequence == 0)

        let feed = Task.detached { try publishMarket(server.url, count: 8000) }
        let line = try await waitFor("a signal line from --follow --json", timeout: 60) {
            json.stdout.split(separator: "\n").first.map(String.init)
        }
        try await feed.value
        let signal = try JSONDecoder().decode(JSONTree.self, from: Data(line.utf8))
        let seq = UInt64(try #require(signal["seq"]?.double))
        let logged = try #require(sidecar.runtime.signalLog.read(after: seq - 1, limit: 1).signals.first)
        #expect(seq == 1, "the first live signal")
        #expect(signal["symbol"]?.string == logged.key.symbol && signal["strategy_id"]?.string == logged.strategyId)
        #expect(signal["confidence"]?.double != nil && signal["id"]?.string?.isEmpty == false)

        try await waitUntil("a table row from --follow", timeout: 30) { text.stdout.split(separator: "\n").count >= 2 }
        let rows = text.stdout.split(separator: "\n")
        #expect(rows[0].trimmingCharacters(in: .whitespaces).hasPrefix("SEQ"))
        #expect(rows[1].trimmingCharacters(in: .whitespaces).hasPrefix("1 ") && rows[1].contains(logged.key.symbol))

        // Both keep running until killed, and every signal printed is in order without repeats.
        try await waitUntil("the feed processed", timeout: 60) { sidecar.runtime.stats.processed.value == 8000 }
        let produced = sidecar.runtime.signalLog.lastSequence
        try await waitUntil("all \(produced) signals printed", timeout: 30) {
            json.stdout.split(separator: "\n").count >= Int(produced)
        }
        #expect(json.isRunning && text.isRunning)
        let seqs = try json.stdout.split(separator: "\n").map {
            try JSONDecoder().decode(JSONTree.self, from: Data($0.utf8))["seq"]?.double ?? 0
        }
        #expect(seqs == (1...produced).map { Double($0) })
        // SIGTERM ends a follower (even one started from a thread that blocks signals).
        try await offloaded { json.stop() }
        #expect(!json.isRunning && json.exitedBySignal && json.status == SIGTERM, "status \(json.status)")
        // A sidecar shutting down says Goodbye: the follower reports it and exits 69.
        try await sidecar.stop()
        let exited = try await offloaded { text.waitForExit(timeout: 15) }
        #expect(exited && !text.exitedBySignal && text.status == 69, "status \(text.status), stderr \(text.stderr)")
        #expect(text.stderr.contains("shutting down"), "stderr: \(text.stderr)")
    }

    @Test("signals --follow re-pulls a Gap when it fell behind, and says when the ring lost signals",
          .timeLimit(.minutes(2)), arguments: [200_000, 1_000])
    func followGap(logCapacity: Int) async throws {
        // An in-process socket server fed directly: signals far faster than a blocked client reads.
        let fixture = try await SocketFixture.started(logCapacity: logCapacity) { $0.clientQueueEvents = 16 }
        // Stdout unread: once the pipe is full the child stops reading its socket and falls behind.
        let child = try CtlProcess(["signals", "--follow", "--json", "--socket", fixture.path], readStdout: false)
        defer { child.kill() }
        try await waitUntil("subscribed", timeout: 15) { fixture.socketStats.subscriptions.value == 1 }
        let total = 8_000
        try await offloaded {
            for i in 0..<total { fixture.emit(symbol: i % 2 == 0 ? "BTCUSDT" : "ETHUSDT", eventTimeMs: 1_767_225_600_000 + Int64(i)) }
        }
        // The hub fans out on its own thread: the overflow shows once it has caught up.
        try await waitUntil("the blocked client's queue overflowed", timeout: 30) {
            fixture.socketStats.gaps.value > 0 || fixture.socketStats.eventsDropped.value > 0
        }
        child.startReadingStdout()
        try await waitUntil("the last signal printed", timeout: 60) {
            let tail = child.stdoutTail(4096)
            return tail.hasSuffix("\n") && tail.split(separator: "\n").last?.contains("\"seq\":\(total),") == true
        }
        // Every line is a signal object starting with its seq; decoding 20 000 lines with
        // JSONDecoder in a debug build takes longer than the rest of the test, so decode a sample.
        let lines = child.stdout.split(separator: "\n")
        let seqs = lines.compactMap { line -> Double? in
            guard line.hasPrefix("{\"seq\":") else { return nil }
            return Double(line.dropFirst(7).prefix { $0 != "," })
        }
        #expect(seqs.count == lines.count, "every line starts with its seq")
        for line in [lines.first, lines.last].compactMap({ $0 }) {
            let signal = try JSONDecoder().decode(JSONTree.self, from: Data(line.utf8))
            #expect(signal["strategy_id"]?.string == "orderbook_skew" && signal["metadata_json"]?.string?.hasPrefix("{") == true)
        }
        #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $0 < $1 }, "strictly increasing, no repeats")
        #expect(child.stderr.contains("gap: this client fell behind"), "stderr: \(child.stderr)")
        if logCapacity >= total {
            #expect(seqs == (1...total).map { Double($0) }, "every signal recovered by the re-pull")
            #expect(!child.stderr.contains("LOST") && child.stderr.contains("re-pulled them with GetSignals"))
        } else {
            #expect(child.stderr.contains("LOST") && child.stderr.contains("SIGNAL_LOG_CAPACITY"), "stderr: \(child.stderr)")
            #expect(seqs.count < total)
        }
        try await offloaded { child.stop() }
        await fixture.stop()
    }

    @Test("exit codes: 66 unknown symbol, 65 invalid argument, 64 usage, 69 missing or dead socket, 1 version mismatch",
          .timeLimit(.minutes(2)))
    func exitCodes() async throws {
        let server = try NATSServerProcess()
        let sidecar = try await startSidecar(server)
        try await waitUntil("ready", timeout: 15) { sidecar.runtime.ingest.isReady }
        let socket = try #require(sidecar.socketPath)
        let s = ["--socket", socket]

        let unknown = try await sidecarctl(["depth", "NOPEUSDT"] + s)
        #expect(unknown.status == 66 && unknown.stderr.contains("not found") && unknown.stderr.contains("NOPEUSDT"), "\(unknown)")
        #expect(unknown.stdout.isEmpty)
        let unknownJSON = try await sidecarctl(["pressure", "NOPEUSDT", "--json"] + s)
        #expect(unknownJSON.status == 66, "\(unknownJSON)")

        let timeframe = try await sidecarctl(["pressure", "BTCUSDT", "--timeframe", "2m"] + s)
        #expect(timeframe.status == 65 && timeframe.stderr.contains("invalid argument") && timeframe.stderr.contains("timeframe"),
                "\(timeframe)")
        let limit = try await sidecarctl(["depth", "--all", "--limit", "500"] + s)
        #expect(limit.status == 65 && limit.stderr.contains("limit"), "\(limit)")
        let venue = try await sidecarctl(["summary", "--venue", "moon"] + s)
        #expect(venue.status == 65 && venue.stderr.contains("venue"), "\(venue)")

        for usage in [["depth"], ["depth", "BTCUSDT", "--all"], ["depth", "BTCUSDT", "--limit", "5"], ["signals", "--limit", "x"],
                      ["depth", "--all", "--sort-by", "volume"], ["depth", "--all", "--trend", "up"]] {
            let result = try await sidecarctl(usage + s)
            #expect(result.status == 64, "\(result)")
        }

        let missing = "/tmp/rs-missing-\(getpid()).sock"
        let noSocket = try await sidecarctl(["health", "--socket", missing])
        #expect(noSocket.status == 69, "\(noSocket)")
        #expect(noSocket.stderr.contains("is the sidecar running?") && noSocket.stderr.contains(missing), "\(noSocket)")
        let fromEnvironment = try await sidecarctl(["depth", "BTCUSDT"], environment: ["SIDECAR_SOCKET_PATH": missing])
        #expect(fromEnvironment.status == 69 && fromEnvironment.stderr.contains("SIDECAR_SOCKET_PATH=\(missing)"),
                "\(fromEnvironment)")

        let stale = "/tmp/rs-stale-\(getpid()).sock"
        #expect(FileManager.default.createFile(atPath: stale, contents: Data()))
        defer { try? FileManager.default.removeItem(atPath: stale) }
        let refused = try await sidecarctl(["stats", "--socket", stale])
        #expect(refused.status == 69 && refused.stderr.contains("nothing is listening"), "\(refused)")

        let mismatch = try await sidecarctl(["health", "--protocol-version", "99"] + s)
        #expect(mismatch.status == 1 && mismatch.stderr.contains("protocol version mismatch"), "\(mismatch)")

        // A refused connection does not count as a client afterwards; the sidecar is still fine.
        let health = try await sidecarctl(["health"] + s)
        #expect(health.status == 0, "\(health)")
        try await sidecar.stop()
        let gone = try await sidecarctl(["health"] + s)
        #expect(gone.status == 69, "after shutdown the socket file is removed: \(gone)")
    }

    @Test("health is a probe: 69 while NATS is down, 0 once the sidecar is ready", .timeLimit(.minutes(2)))
    func healthProbe() async throws {
        let server = try NATSServerProcess(start: false)
        let sidecar = try await RunningSidecar.start(natsURL: server.url)
        let socket = try #require(sidecar.socketPath)
        let down = try await sidecarctl(["health", "--json", "--socket", socket])
        #expect(down.status == 69, "\(down)")
        let downJSON = try down.json()
        #expect(downJSON["live"]?.bool == true && downJSON["ready"]?.bool == false && downJSON["nats_connected"]?.bool == false)
        #expect(down.stderr.contains("not ready"))

        try server.start()
        try await waitUntil("ready", timeout: 15) { sidecar.runtime.ingest.isReady }
        let up = try await sidecarctl(["health", "--socket", socket])
        #expect(up.status == 0 && up.stdout.contains("ready"), "\(up)")
        try await sidecar.stop()
    }

    @Test("permission denied: 77 for a UID outside SIDECAR_ALLOWED_UIDS, and for a socket file this user cannot open",
          .timeLimit(.minutes(2)))
    func permissionDenied() async throws {
        let server = try NATSServerProcess()
        let sidecar = try await RunningSidecar.start(natsURL: server.url) { $0.allowedUIDs = [getuid() &+ 4242] }
        let socket = try #require(sidecar.socketPath)
        let refused = try await sidecarctl(["stats", "--socket", socket])
        #expect(refused.status == 77 && refused.stderr.contains("SIDECAR_ALLOWED_UIDS"), "\(refused)")
        try await sidecar.stop()

        // File permissions. Root ignores them: as root, run sidecarctl as nobody (setpriv) against
        // the socket the sidecar made (root-owned, 0660); as another user, take this user's access away.
        let open = try await RunningSidecar.start(natsURL: server.url)
        let path = try #require(open.socketPath)
        var launcher: [String] = []
        if getuid() == 0 {
            guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
                print("SKIPPED: socket file mode check (running as root without /usr/bin/setpriv to drop privileges)")
                try await open.stop()
                return
            }
            launcher = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        } else {
            #expect(chmod(path, 0o000) == 0)
        }
        let denied = try await sidecarctl(["health", "--socket", path], launcher: launcher)
        #expect(denied.status == 77 && denied.stderr.contains("permission denied") && denied.stderr.contains("0660"), "\(denied)")
        _ = chmod(path, 0o660)
        try await open.stop()
    }

    @Test("SocketClient: an oversized frame header, a silent server and a closing server are typed errors, in bounded time",
          .timeLimit(.minutes(1)))
    func clientFailureModes() async throws {
        // A frame header announcing 64 MiB + 1: refused before any body byte is read.
        let oversized = try FakeSocketServer { fd in
            _ = FakeSocketServer.drain(fd)
            var header: [UInt8] = [0x04, 0x00, 0x00, 0x01]
            _ = Glibc.send(fd, &header, 4, Int32(MSG_NOSIGNAL))
            usleep(500_000)
        }
        let tooLarge = try await offloaded { connectionError(oversized.path, timeout: 5) }
        #expect(tooLarge == SocketClientError.protocolViolation(.frameTooLarge(length: (64 << 20) + 1,
                                                                             maximum: SocketProtocol.defaultMaxFrameBytes)))

        // Accepts and never answers: the Hello times out.
        let silent = try FakeSocketServer { fd in
            _ = FakeSocketServer.drain(fd)
            usleep(1_500_000)
        }
        let started = ContinuousClock.now
        let timedOut = try await offloaded { connectionError(silent.path, timeout: 0.5) }
        #expect(timedOut == .timeout)
        #expect(ContinuousClock.now - started < .seconds(2.5))

        // Closes as soon as it accepted.
        let closing = try FakeSocketServer { _ in }
        let closed = try await offloaded { connectionError(closing.path, timeout: 5) }
        #expect(closed == .closed)

        // Connect errors.
        func connectError(_ path: String) async throws -> SocketClientError? {
            try await offloaded { connectionError(path, timeout: 2) }
        }
        let missing = "/tmp/rs-none-\(getpid()).sock"
        #expect(try await connectError(missing) == .socketMissing(path: missing))
        let file = "/tmp/rs-file-\(getpid()).sock"
        #expect(FileManager.default.createFile(atPath: file, contents: Data()))
        defer { try? FileManager.default.removeItem(atPath: file) }
        #expect(try await connectError(file) == .connectionRefused(path: file))
        let long = "/tmp/" + String(repeating: "x", count: 120)
        if case .invalidPath = try await connectError(long) {} else { Issue.record("a 125-byte path must be invalidPath") }
    }
}

/// The error `SocketClient.init` (connect + Hello) fails with, nil when it succeeds.
private func connectionError(_ path: String, timeout: Double) -> SocketClientError? {
    do throws(SocketClientError) {
        _ = try SocketClient(path: path, options: .init(timeout: timeout))
        return nil
    } catch {
        return error
    }
}

/// A one-connection Unix-socket server speaking raw bytes, for client failure modes. `serve`
/// runs on its own thread with the accepted descriptor, which is closed when it returns.
final class FakeSocketServer: @unchecked Sendable {
    let path = RunningSidecar.temporarySocketPath()
    private let listener: Int32
    private let done = DispatchSemaphore(value: 0)

    init(serve: @escaping @Sendable (Int32) -> Void) throws {
        let path = self.path
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(listener, 4) == 0 else {
            close(listener)
            throw SocketTestClient.Failure(description: "fake server bind/listen errno \(errno)")
        }
        self.listener = listener
        let done = self.done
        Thread.detachNewThread {
            let fd = accept(listener, nil, nil)
            if fd >= 0 {
                serve(fd)
                close(fd)
            }
            done.signal()
        }
    }

    deinit {
        // Unblocks a pending accept, then waits for the thread (bounded).
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        _ = done.wait(timeout: .now() + 5)
        unlink(path)
    }

    /// Reads what the client sent so far (its Hello), without waiting for more.
    static func drain(_ fd: Int32) -> Int {
        var buffer = [UInt8](repeating: 0, count: 4096)
        usleep(100_000)
        return recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
    }
}
