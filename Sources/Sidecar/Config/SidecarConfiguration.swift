import Foundation
import Strategies

/// A configuration value that could not be used, named by its variable.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public var variable: String
    public var value: String
    public var reason: String
    public var description: String { "\(variable)=\(value): \(reason)" }
}

/// One subscribed subject and, optionally, the venue its frames belong to.
public struct ConsumerSubject: Sendable, Equatable {
    public var subject: String
    /// nil: infer the venue from each frame's shape.
    public var venue: Venue?

    /// Parses `NATS_CONSUMER_TOPIC`: a comma-separated list of `subject[=venue]`.
    public static func parseList(_ text: String) throws(ConfigurationError) -> [ConsumerSubject] {
        var result: [ConsumerSubject] = []
        for item in text.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard let subject = parts.first, !subject.isEmpty, !subject.contains(" ") else {
                throw ConfigurationError(variable: "NATS_CONSUMER_TOPIC", value: text, reason: "empty or invalid subject")
            }
            var venue: Venue?
            if parts.count == 2 {
                guard let tagged = Venue(name: parts[1]) else {
                    throw ConfigurationError(variable: "NATS_CONSUMER_TOPIC", value: text,
                                             reason: "unknown venue '\(parts[1])' (use spot or usdm)")
                }
                venue = tagged
            }
            result.append(ConsumerSubject(subject: subject, venue: venue))
        }
        guard !result.isEmpty else {
            throw ConfigurationError(variable: "NATS_CONSUMER_TOPIC", value: text, reason: "no subject given")
        }
        return result
    }
}

public enum LogFormat: String, Sendable { case text, json }

/// Everything the sidecar reads from its environment, with the seed service's variable names
/// where it had them. Flags of the executable override these.
public struct SidecarConfiguration: Sendable {
    /// One entry per environment variable: name, default, description. Drives `--help`,
    /// the README table and `/info`.
    public static let variables: [(name: String, defaultValue: String, help: String)] = [
        ("NATS_URL", "nats://127.0.0.1:4222", "NATS server URL(s), comma-separated"),
        ("NATS_CONSUMER_TOPIC", "binance.websocket.data", "Market-data subjects, comma-separated, each optionally `=spot` or `=usdm`"),
        ("NATS_CONSUMER_GROUP", "", "Queue group; empty so every sidecar sees every message of its symbols"),
        ("NATS_CONSUMER_NAME", "realtime-sidecar", "NATS connection name"),
        ("NATS_PUBLISHER_TOPIC", "signals.trading", "Signal subject; tokens {strategy_id} and {symbol} are substituted"),
        ("NATS_PENDING_MSGS_LIMIT", "65536", "Subscription pending-message limit before slow-consumer drops"),
        ("NATS_PENDING_BYTES_LIMIT", "67108864", "Subscription pending-byte limit before slow-consumer drops"),
        ("NATS_RECONNECT_BUFFER_BYTES", "8388608", "Publishes buffered while disconnected"),
        ("TRADING_SYMBOLS", "", "Symbol allow-list, comma-separated; empty means all"),
        ("MAX_SYMBOLS", "1000", "Bound on per-symbol state; least recently updated symbols are evicted"),
        ("SYMBOL_TTL_SECONDS", "300", "Symbols with no update for this long are dropped and hidden"),
        ("SIGNAL_MIN_CONFIDENCE", "0.6", "Signals below this confidence are not published"),
        ("SIGNAL_LOG_CAPACITY", "10000", "Signals kept in memory for pull clients"),
        ("SIGNAL_SOURCE", "realtime_strategies", "`source` field of published signals"),
        ("HTTP_HOST", "0.0.0.0", "HTTP bind address"),
        ("HTTP_PORT", "8080", "HTTP port (HEALTH_CHECK_PORT is accepted as the seed's name)"),
        ("STRATEGY_ENABLED_ORDERBOOK_SKEW", "true", "Run orderbook_skew"),
        ("ORDERBOOK_SKEW_TOP_LEVELS", "5", "orderbook_skew: levels summed per side"),
        ("ORDERBOOK_SKEW_BUY_THRESHOLD", "1.2", "orderbook_skew: bid/ask ratio above which it buys"),
        ("ORDERBOOK_SKEW_SELL_THRESHOLD", "0.8", "orderbook_skew: bid/ask ratio below which it sells"),
        ("ORDERBOOK_SKEW_MIN_SPREAD_PERCENT", "0.1", "orderbook_skew: no signal when the spread is wider (percent)"),
        ("ORDERBOOK_SKEW_COOLDOWN_SECONDS", "60", "orderbook_skew: minimum event time between signals per symbol"),
        ("LOG_LEVEL", "info", "trace, debug, info, notice, warning, error, critical"),
        ("LOG_FORMAT", "text", "text or json"),
    ]

    public var natsURL = "nats://127.0.0.1:4222"
    public var consumerSubjects = [ConsumerSubject(subject: "binance.websocket.data", venue: nil)]
    public var consumerGroup: String?
    public var connectionName = "realtime-sidecar"
    public var publisherTopic = "signals.trading"
    public var pendingMessagesLimit = 65_536
    public var pendingBytesLimit = 64 << 20
    public var reconnectBufferBytes = 8 << 20
    public var engine = EngineConfiguration()
    public var minSignalConfidence = 0.6
    public var signalLogCapacity = 10_000
    public var signalSource = "realtime_strategies"
    public var httpHost = "0.0.0.0"
    public var httpPort = 8080
    public var logLevel = "info"
    public var logFormat = LogFormat.text

    public init() {}

    /// Reads every variable in `variables` from `environment`; absent ones keep their default.
    public init(environment: [String: String]) throws(ConfigurationError) {
        self.init()
        let env = Reader(environment: environment)
        natsURL = env.string("NATS_URL", natsURL)
        consumerSubjects = try ConsumerSubject.parseList(env.string("NATS_CONSUMER_TOPIC", "binance.websocket.data"))
        let group = env.string("NATS_CONSUMER_GROUP", "")
        consumerGroup = group.isEmpty ? nil : group
        connectionName = env.string("NATS_CONSUMER_NAME", connectionName)
        publisherTopic = env.string("NATS_PUBLISHER_TOPIC", publisherTopic)
        pendingMessagesLimit = try env.int("NATS_PENDING_MSGS_LIMIT", pendingMessagesLimit, min: 1)
        pendingBytesLimit = try env.int("NATS_PENDING_BYTES_LIMIT", pendingBytesLimit, min: 1024)
        reconnectBufferBytes = try env.int("NATS_RECONNECT_BUFFER_BYTES", reconnectBufferBytes, min: 0)
        engine.allowedSymbols = Self.symbolSet(env.string("TRADING_SYMBOLS", ""))
        engine.maxSymbols = try env.int("MAX_SYMBOLS", engine.maxSymbols, min: 1)
        engine.symbolTTLSeconds = Int64(try env.int("SYMBOL_TTL_SECONDS", Int(engine.symbolTTLSeconds), min: 1))
        minSignalConfidence = try env.double("SIGNAL_MIN_CONFIDENCE", minSignalConfidence, range: 0...1)
        signalLogCapacity = try env.int("SIGNAL_LOG_CAPACITY", signalLogCapacity, min: 1)
        signalSource = env.string("SIGNAL_SOURCE", signalSource)
        httpHost = env.string("HTTP_HOST", httpHost)
        httpPort = try env.int("HTTP_PORT", try env.int("HEALTH_CHECK_PORT", httpPort, min: 0), min: 0)
        if try env.bool("STRATEGY_ENABLED_ORDERBOOK_SKEW", true) {
            var skew = OrderbookSkewParameters()
            skew.topLevels = try env.int("ORDERBOOK_SKEW_TOP_LEVELS", skew.topLevels, min: 1)
            skew.buyThreshold = try env.double("ORDERBOOK_SKEW_BUY_THRESHOLD", skew.buyThreshold, range: 0...1000)
            skew.sellThreshold = try env.double("ORDERBOOK_SKEW_SELL_THRESHOLD", skew.sellThreshold, range: 0...1000)
            skew.minSpreadPercent = try env.double("ORDERBOOK_SKEW_MIN_SPREAD_PERCENT", skew.minSpreadPercent, range: 0...100)
            skew.cooldownSeconds = try env.double("ORDERBOOK_SKEW_COOLDOWN_SECONDS", skew.cooldownSeconds, range: 0...86_400)
            guard skew.sellThreshold < skew.buyThreshold else {
                throw ConfigurationError(variable: "ORDERBOOK_SKEW_SELL_THRESHOLD", value: "\(skew.sellThreshold)",
                                         reason: "must be below ORDERBOOK_SKEW_BUY_THRESHOLD (\(skew.buyThreshold))")
            }
            engine.orderbookSkew = skew
        } else {
            engine.orderbookSkew = nil
        }
        logLevel = env.string("LOG_LEVEL", logLevel).lowercased()
        guard let format = LogFormat(rawValue: env.string("LOG_FORMAT", "text").lowercased()) else {
            throw ConfigurationError(variable: "LOG_FORMAT", value: env.string("LOG_FORMAT", ""), reason: "use text or json")
        }
        logFormat = format
        do {
            _ = try SignalSubjectTemplate(publisherTopic)
        } catch {
            throw ConfigurationError(variable: "NATS_PUBLISHER_TOPIC", value: publisherTopic, reason: "\(error)")
        }
    }

    public static func symbolSet(_ csv: String) -> Set<String> {
        Set(csv.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }.filter { !$0.isEmpty })
    }

    /// The effective configuration as name/value pairs, for `/info` and startup logs.
    public var effectiveValues: [(String, String)] {
        [
            ("NATS_URL", Self.redactingCredentials(natsURL)),
            ("NATS_CONSUMER_TOPIC", consumerSubjects.map { subject in subject.venue.map { "\(subject.subject)=\($0)" } ?? subject.subject }.joined(separator: ",")),
            ("NATS_CONSUMER_GROUP", consumerGroup ?? ""),
            ("NATS_PUBLISHER_TOPIC", publisherTopic),
            ("TRADING_SYMBOLS", engine.allowedSymbols.sorted().joined(separator: ",")),
            ("MAX_SYMBOLS", "\(engine.maxSymbols)"),
            ("SYMBOL_TTL_SECONDS", "\(engine.symbolTTLSeconds)"),
            ("SIGNAL_MIN_CONFIDENCE", "\(minSignalConfidence)"),
            ("SIGNAL_LOG_CAPACITY", "\(signalLogCapacity)"),
            ("HTTP_PORT", "\(httpPort)"),
        ]
    }

    /// `nats://user:secret@host` → `nats://user:***@host`.
    static func redactingCredentials(_ url: String) -> String {
        guard let at = url.firstIndex(of: "@"), let scheme = url.range(of: "://"), scheme.upperBound < at else { return url }
        let credentials = url[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return url.replacingCharacters(in: scheme.upperBound..<at, with: "***") }
        return url.replacingCharacters(in: url.index(after: colon)..<at, with: "***")
    }
}

/// Typed reads of environment variables.
private struct Reader {
    var environment: [String: String]

    func string(_ name: String, _ fallback: String) -> String {
        environment[name] ?? fallback
    }

    func int(_ name: String, _ fallback: Int, min: Int) throws(ConfigurationError) -> Int {
        guard let text = environment[name], !text.isEmpty else { return fallback }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= min else {
            throw ConfigurationError(variable: name, value: text, reason: "expected an integer ≥ \(min)")
        }
        return value
    }

    func double(_ name: String, _ fallback: Double, range: ClosedRange<Double>) throws(ConfigurationError) -> Double {
        guard let text = environment[name], !text.isEmpty else { return fallback }
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), range.contains(value) else {
            throw ConfigurationError(variable: name, value: text, reason: "expected a number in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    func bool(_ name: String, _ fallback: Bool) throws(ConfigurationError) -> Bool {
        guard let text = environment[name], !text.isEmpty else { return fallback }
        switch text.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw ConfigurationError(variable: name, value: text, reason: "expected true or false")
        }
    }
}
