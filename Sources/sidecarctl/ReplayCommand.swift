import ArgumentParser
import Foundation
import Sidecar

struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Publish a JSONL recording (.jsonl or .jsonl.gz) to NATS, one line per message.")

    @Argument(help: "Recording: one NATS payload per line, plain or gzip.") var file: String
    @Option(help: "NATS server URL.") var natsURL = ProcessInfo.processInfo.environment["NATS_URL"] ?? "nats://127.0.0.1:4222"
    @Option(help: "Subject to publish on.") var subject = "binance.websocket.data"
    @Option(help: "Messages per second (default: as fast as possible).") var rate: Double?
    @Flag(help: "Publish as fast as possible (the default when --rate is not given).") var max = false
    @Option(help: "Replay the file this many times.") var loop = 1
    @Flag(help: "No progress lines.") var quiet = false

    func validate() throws {
        if max && rate != nil { throw ValidationError("give either --rate or --max, not both") }
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
        if loop < 1 { throw ValidationError("--loop must be at least 1") }
    }

    func run() throws {
        let lines: Int
        do {
            lines = try LineReader.countLines(path: file)
        } catch {
            FileHandle.standardError.write(Data("sidecarctl replay: \(error)\n".utf8))
            throw ExitCodes.noInput
        }
        let client = try connectForTool(url: natsURL)
        defer { client.close(drainTimeoutMs: 5000) }
        let pacer = RatePacer(perSecond: rate ?? 0)
        var progress = ProgressLine(label: "replay", total: lines * loop)
        var sent = 0
        for _ in 0..<loop {
            let reader = try LineReader(path: file)
            _ = try reader.forEachLine { payload in
                pacer.wait(forItem: sent)
                try client.publish(subject: subject, payload: payload)
                sent += 1
                if !quiet { progress.update(sent) }
            }
        }
        try client.flush(timeoutMs: 10_000)
        if !quiet { progress.update(sent, force: true) }
        print("replayed \(sent) messages to \(subject) in \(String(format: "%.2f", progress.elapsedSeconds)) s")
    }
}
