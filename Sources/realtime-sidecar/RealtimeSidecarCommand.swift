import ArgumentParser
import Foundation
import Logging
import NATS
import Sidecar

@main
struct RealtimeSidecarCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "realtime-sidecar",
        abstract: "Binance market data from NATS → per-symbol depth metrics and trading signals.",
        discussion: """
            Signals are published as JSON on NATS; depth metrics, stats and health are served over HTTP.
            Every option falls back to its environment variable, then to the default:

            \(SidecarConfiguration.variables.map { "  \($0.name.padding(toLength: max(34, $0.name.count), withPad: " ", startingAt: 0)) \($0.help) (default: \($0.defaultValue.isEmpty ? "empty" : $0.defaultValue))" }.joined(separator: "\n"))
            """,
        version: SidecarRuntime.version)

    @Option(help: "NATS server URL (NATS_URL).") var natsURL: String?
    @Option(help: "Market-data subjects, comma-separated, each optionally `=spot` or `=usdm` (NATS_CONSUMER_TOPIC).")
    var consumerTopic: String?
    @Option(help: "Queue group (NATS_CONSUMER_GROUP); leave empty unless symbols are partitioned by subject.")
    var consumerGroup: String?
    @Option(help: "Signal subject template (NATS_PUBLISHER_TOPIC).") var publisherTopic: String?
    @Option(help: "Symbol allow-list, comma-separated; empty means all (TRADING_SYMBOLS).") var tradingSymbols: String?
    @Option(help: "Bound on tracked symbols (MAX_SYMBOLS).") var maxSymbols: Int?
    @Option(help: "Minimum confidence to publish a signal (SIGNAL_MIN_CONFIDENCE).") var minConfidence: Double?
    @Option(help: "HTTP bind address (HTTP_HOST).") var httpHost: String?
    @Option(help: "HTTP port; 0 picks a free one (HTTP_PORT).") var httpPort: Int?
    @Option(help: "Log level (LOG_LEVEL).") var logLevel: String?
    @Option(help: "text or json (LOG_FORMAT).") var logFormat: String?

    func run() async throws {
        var environment = ProcessInfo.processInfo.environment
        let overrides: [(String, String?)] = [
            ("NATS_URL", natsURL), ("NATS_CONSUMER_TOPIC", consumerTopic), ("NATS_CONSUMER_GROUP", consumerGroup),
            ("NATS_PUBLISHER_TOPIC", publisherTopic), ("TRADING_SYMBOLS", tradingSymbols),
            ("MAX_SYMBOLS", maxSymbols.map(String.init)), ("SIGNAL_MIN_CONFIDENCE", minConfidence.map { "\($0)" }),
            ("HTTP_HOST", httpHost), ("HTTP_PORT", httpPort.map(String.init)), ("LOG_LEVEL", logLevel),
            ("LOG_FORMAT", logFormat),
        ]
        for case let (name, value?) in overrides { environment[name] = value }

        let configuration: SidecarConfiguration
        do {
            configuration = try SidecarConfiguration(environment: environment)
        } catch {
            throw ValidationError("invalid configuration: \(error)")
        }
        LoggingSetup.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
        // A write past the file-size limit must fail with EFBIG (the config store cuts it off
        // and answers 503), not kill the process.
        signal(SIGXFSZ, SIG_IGN)
        let logger = Logger(label: "realtime-sidecar")
        let runtime = try SidecarRuntime(configuration: configuration, logger: logger)
        runtime.exitProcessOnShutdownTimeout = true
        try await runtime.run()
        NATSLibrary.shutdown(timeoutMs: 2000)
    }
}
