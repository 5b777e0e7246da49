import ArgumentParser
import Foundation
import Sidecar

struct WatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Show signals from NATS as they arrive, and the depth metrics table from the sidecar's HTTP API.")

    @Option(help: "NATS server URL.") var natsURL = ProcessInfo.processInfo.environment["NATS_URL"] ?? "nats://127.0.0.1:4222"
    @Option(help: "Signal subjects, comma-separated.") var signals = "signals.trading,signals.trading.>"
    @Option(help: "Sidecar HTTP base URL.") var http = "http://127.0.0.1:8080"
    @Option(help: "Seconds between depth tables.") var interval = 5.0
    @Option(help: "Stop after this many seconds (0: run until interrupted).") var duration = 0.0
    @Flag(help: "Print the sidecar's counters with each depth table and at the end.") var stats = false

    func run() throws {
        let client = try connectForTool(url: natsURL)
        defer { client.close(drainTimeoutMs: 1000) }
        for subject in signals.split(separator: ",") {
            _ = try client.subscribe(subject: String(subject)) { _, payload in
                print(Self.signalLine(Array(payload)))
                fflush(stdout)
            }
        }
        let start = Date()
        var nextTable = Date().addingTimeInterval(min(interval, 2))  // let the first books arrive
        while duration == 0 || Date().timeIntervalSince(start) < duration {
            if Date() >= nextTable {
                printDepthTable()
                if stats { printStats() }
                nextTable = Date().addingTimeInterval(interval)
            }
            usleep(100_000)
        }
        if stats { printStats() }
    }

    func printStats() {
        guard let response = try? SimpleHTTPClient.get("\(http)/api/v1/stats"), response.status == 200,
              let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
              let messages = object["messages"] as? [String: Any], let signals = object["signals"] as? [String: Any] else {
            print("STATS unavailable")
            return
        }
        print("STATS received=\(messages["received"] ?? 0) processed=\(messages["processed"] ?? 0) "
              + "rejected=\(messages["rejected"] ?? 0) signals_published=\(signals["published"] ?? [:])")
        fflush(stdout)
    }

    static func signalLine(_ bytes: [UInt8]) -> String {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            return "signal (unparsable): \(String(decoding: bytes.prefix(200), as: UTF8.self))"
        }
        let confidence = (object["confidence"] as? Double).map { String(format: "%.3f", $0) } ?? "?"
        return "SIGNAL \(object["timestamp"] ?? "?") \(object["strategy_id"] ?? "?") \(object["symbol"] ?? "?") "
            + "\((object["action"] as? String ?? "?").uppercased()) confidence=\(confidence) price=\(object["price"] ?? "?") "
            + "qty=\(object["quantity"] ?? "?") sl=\(object["stop_loss"] ?? "?") tp=\(object["take_profit"] ?? "?")"
    }

    func printDepthTable() {
        do {
            let response = try SimpleHTTPClient.get("\(http)/api/v1/metrics/all?sort_by=symbol&limit=200")
            guard response.status == 200,
                  let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
                  let data = object["data"] as? [String: [String: Any]] else {
                print("depth: HTTP \(response.status)")
                return
            }
            print("DEPTH  symbol        mid            net_pressure  imbalance%  spread_bps  liquidity     trend")
            for symbol in data.keys.sorted() {
                let row = data[symbol] ?? [:]
                func f(_ key: String) -> String { (row[key] as? Double).map { String(format: "%.2f", $0) } ?? "-" }
                print("DEPTH  \(symbol.padding(toLength: 12, withPad: " ", startingAt: 0))  "
                      + "\(f("mid_price").padding(toLength: 13, withPad: " ", startingAt: 0))  "
                      + "\(f("net_pressure").padding(toLength: 12, withPad: " ", startingAt: 0))  "
                      + "\(f("imbalance_percent").padding(toLength: 10, withPad: " ", startingAt: 0))  "
                      + "\(f("spread_bps").padding(toLength: 10, withPad: " ", startingAt: 0))  "
                      + "\(f("total_liquidity").padding(toLength: 12, withPad: " ", startingAt: 0))  \(row["trend"] ?? "-")")
            }
            fflush(stdout)
        } catch {
            print("depth: \(error)")
        }
    }
}
