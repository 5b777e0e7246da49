import ArgumentParser
import Foundation
import Sidecar

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Publish a seeded synthetic market: 20-level books, trades and tickers for several symbols.")

    @Option(help: "NATS server URL.") var natsURL = ProcessInfo.processInfo.environment["NATS_URL"] ?? "nats://127.0.0.1:4222"
    @Option(help: "Subject to publish on.") var subject = "binance.websocket.data"
    @Option(help: "Symbols, comma-separated.") var symbols = "BTCUSDT,ETHUSDT,BNBUSDT,SOLUSDT,XRPUSDT"
    @Option(help: "Random seed: the same seed gives the same market.") var seed: UInt64 = 42
    @Option(help: "Speed-up over real time (event time / wall time).") var speed = 1.0
    @Option(help: "Stop after this many wall-clock seconds (0: run until interrupted).") var duration = 0.0
    @Option(help: "Stop after this many messages (0: no limit).") var count = 0
    @Flag(help: "No progress lines.") var quiet = false

    func validate() throws {
        if speed <= 0 { throw ValidationError("--speed must be positive") }
        if duration < 0 || count < 0 { throw ValidationError("--duration and --count must not be negative") }
    }

    func run() throws {
        var configuration = SyntheticMarket.Configuration()
        configuration.symbols = symbols.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
        configuration.seed = seed
        var market = SyntheticMarket(configuration)
        let client = try connectForTool(url: natsURL)
        defer { client.close(drainTimeoutMs: 5000) }
        var progress = ProgressLine(label: "simulate", total: count > 0 ? count : nil)
        let wallStart = DispatchTime.now().uptimeNanoseconds
        var firstEventMs: Int64?
        var sent = 0
        while count == 0 || sent < count {
            let (eventTimeMs, payload) = market.next()
            let origin = firstEventMs ?? eventTimeMs
            firstEventMs = origin
            // Pace by event time so the market unfolds at `speed` × real time.
            let due = wallStart + UInt64(Double(eventTimeMs - origin) / speed * 1e6)
            let now = DispatchTime.now().uptimeNanoseconds
            if due > now + 100_000 { usleep(UInt32(min((due - now) / 1000, 1_000_000))) }
            if duration > 0 && Double(DispatchTime.now().uptimeNanoseconds - wallStart) / 1e9 >= duration { break }
            try client.publish(subject: subject, bytes: payload)
            sent += 1
            if !quiet { progress.update(sent) }
        }
        try client.flush(timeoutMs: 10_000)
        print("simulated \(sent) messages on \(subject)")
    }
}
