import ArgumentParser
import Foundation
import NATS
import Sidecar

@main
struct SidecarCtl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sidecarctl",
        abstract: "Operator tools for realtime-sidecar: feed it market data and watch what it produces.",
        subcommands: [ReplayCommand.self, SimulateCommand.self, WatchCommand.self, StrategiesCommand.self, BenchCommand.self,
                      SignalsCommand.self, DepthCommand.self, PressureCommand.self, SummaryCommand.self, StatsCommand.self,
                      HealthCommand.self, ConfigCommand.self],
        defaultSubcommand: nil)
}

/// Exit codes scripts can rely on.
enum ExitCodes {
    /// NATS or the sidecar could not be reached.
    static let unavailable = ExitCode(69)
    /// The input file is missing or unreadable.
    static let noInput = ExitCode(66)
}

/// Paces a stream of sends to a fixed rate, sleeping only when ahead of schedule.
struct RatePacer {
    let perSecond: Double
    private let start = DispatchTime.now().uptimeNanoseconds

    init(perSecond: Double) { self.perSecond = perSecond }

    func wait(forItem index: Int) {
        guard perSecond > 0 else { return }
        let due = start + UInt64(Double(index) / perSecond * 1e9)
        let now = DispatchTime.now().uptimeNanoseconds
        if due > now + 50_000 { usleep(UInt32((due - now) / 1000)) }
    }
}

/// Prints one progress line a second on stderr.
struct ProgressLine {
    let label: String
    let total: Int?
    private let start = DispatchTime.now().uptimeNanoseconds
    private var lastPrint = DispatchTime.now().uptimeNanoseconds

    init(label: String, total: Int?) {
        self.label = label
        self.total = total
    }

    var elapsedSeconds: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    mutating func update(_ done: Int, force: Bool = false) {
        let now = DispatchTime.now().uptimeNanoseconds
        guard force || now - lastPrint >= 1_000_000_000 else { return }
        lastPrint = now
        let rate = Double(done) / max(elapsedSeconds, 1e-9)
        var line = "\(label): \(done)"
        if let total, total > 0 { line += "/\(total) (\(Int(Double(done) * 100 / Double(total)))%)" }
        line += String(format: " %.0f msg/s, %.1f s", rate, elapsedSeconds)
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

func connectForTool(url: String) throws -> NATSClient {
    var options = NATSClientOptions()
    options.url = url
    options.name = "sidecarctl"
    options.reconnectBufferBytes = 64 << 20
    // The sidecar's TLS and credential variables, so the tools reach a secured NATS too.
    options.security = try NATSSecurity(environment: ProcessInfo.processInfo.environment)
    let client = try NATSClient(options: options)
    // Tools fail fast instead of buffering into the void when NATS is not there.
    let deadline = Date().addingTimeInterval(5)
    while !client.isConnected && Date() < deadline { usleep(20_000) }
    guard client.isConnected else {
        client.close(drainTimeoutMs: 0)
        FileHandle.standardError.write(Data("sidecarctl: cannot connect to NATS at \(url) within 5 s\n".utf8))
        throw ExitCodes.unavailable
    }
    return client
}
