import Foundation
import NATS
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
        ("NATS_PING_INTERVAL_SECONDS", "20", "Client PING interval; two unanswered PINGs mark a silent server (partition) as disconnected"),
        ("NATS_TLS_CA_FILE", "", "PEM CA bundle that verifies the NATS server (host name checked); setting any NATS_TLS_* file enables TLS"),
        ("NATS_TLS_CERT_FILE", "", "PEM client certificate for mutual TLS (with NATS_TLS_KEY_FILE)"),
        ("NATS_TLS_KEY_FILE", "", "PEM private key of NATS_TLS_CERT_FILE"),
        ("NATS_CREDS_FILE", "", "NATS credentials file (user JWT + NKey seed)"),
        ("NATS_NKEY_SEED_FILE", "", "File holding an NKey user seed (SU...)"),
        ("NATS_TOKEN", "", "NATS authentication token (prefer NATS_TOKEN_FILE from a Secret); never printed"),
        ("NATS_TOKEN_FILE", "", "File holding the NATS token"),
        ("NATS_USER", "", "NATS user name (with NATS_PASSWORD or NATS_PASSWORD_FILE)"),
        ("NATS_PASSWORD", "", "NATS password (prefer NATS_PASSWORD_FILE from a Secret); never printed"),
        ("NATS_PASSWORD_FILE", "", "File holding the NATS password"),
        ("TRADING_SYMBOLS", "", "Symbol allow-list, comma-separated; empty means all"),
        ("MAX_SYMBOLS", "1000", "Bound on per-symbol state; least recently updated symbols are evicted"),
        ("SYMBOL_TTL_SECONDS", "300", "Symbols with no update for this long are dropped and hidden"),
        ("BOOK_MAX_LEVELS", "100", "Levels kept per side of a local order book (the metrics read the top 20)"),
        ("BOOK_STALE_MS", "5000", "A book older than this (receive time) is `stale` in answers; strategies skip books lagging their symbol's other streams by more"),
        ("BOOK_ATTRIBUTION", "evidence", "Partial books without a symbol: `evidence` (update ids, prices) or `label` (trust the stream name; only for feeds with Binance's own names)"),
        ("BOOK_ATTRIBUTION_TOLERANCE_BPS", "100", "A partial book's mid within this of the symbol's recent price is evidence for it"),
        ("MAX_EVENT_TIME_SKEW_SECONDS", "300", "Frames whose event time is further ahead of their receive time are rejected (event_time_in_future)"),
        ("DEPTH_SNAPSHOT_URL_SPOT", "https://api.binance.com/api/v3/depth", "REST depth snapshots for spot books; `off` disables"),
        ("DEPTH_SNAPSHOT_URL_USDM", "https://fapi.binance.com/fapi/v1/depth", "REST depth snapshots for USDⓈ-M books; `off` disables"),
        ("DEPTH_SNAPSHOT_MIN_INTERVAL_MS", "500", "Minimum time between two REST snapshot requests (all symbols)"),
        ("SIGNAL_MIN_CONFIDENCE", "0.6", "Signals below this confidence are not published"),
        ("SIGNAL_LOG_CAPACITY", "10000", "Signals kept in memory for pull clients"),
        ("SIGNAL_SOURCE", "realtime_strategies", "`source` field of published signals"),
        ("HTTP_HOST", "0.0.0.0", "HTTP bind address (probes, metrics, reads; writes need the API token here)"),
        ("HTTP_PORT", "8080", "HTTP port (HEALTH_CHECK_PORT is accepted as the seed's name)"),
        ("ADMIN_HTTP_HOST", "127.0.0.1", "Admin HTTP bind address: the same API, and config writes without a token; keep it on loopback"),
        ("ADMIN_HTTP_PORT", "8081", "Admin HTTP port; `off` disables the admin listener"),
        ("SIDECAR_API_TOKEN", "", "Bearer token that authorizes config writes on HTTP_PORT (prefer SIDECAR_API_TOKEN_FILE); empty: writes only on the admin listener"),
        ("SIDECAR_API_TOKEN_FILE", "", "File holding the API token (a mounted Secret); re-read when it changes"),
        ("SIDECAR_SOCKET_PATH", "/var/run/realtime-sidecar/sidecar.sock", "Unix socket of the protobuf RPC; empty disables it"),
        ("SIDECAR_SOCKET_MODE", "0660", "Socket file mode, octal, applied right after bind"),
        ("SIDECAR_ALLOWED_UIDS", "", "Peer UIDs allowed on the socket (SO_PEERCRED), comma-separated; empty allows any"),
        ("SIDECAR_CONFIG_UIDS", "", "Peer UIDs allowed to change strategy config over the socket, comma-separated; empty: the sidecar's own UID"),
        ("SIDECAR_MAX_REQUEST_BYTES", "65536", "Largest socket request frame accepted; larger ones get BAD_FRAME and close the connection"),
        ("SIDECAR_MAX_FRAME_BYTES", "4194304", "Largest socket frame the sidecar sends (a reply, an event)"),
        ("SIDECAR_CLIENT_OUTPUT_BYTES", "32768", "Unsent bytes per socket connection; beyond it pushed events wait (then Gap) and a further request closes the connection"),
        ("SIDECAR_CLIENT_QUEUE_EVENTS", "256", "Pushed events queued per socket client (at most 2 x SIDECAR_CLIENT_OUTPUT_BYTES of them); beyond it the oldest are dropped and a Gap is sent"),
        ("SIDECAR_FRAME_TIMEOUT_SECONDS", "30", "A socket frame must arrive in full within this long of its first byte, else BAD_FRAME and close; 0 disables"),
        ("SIDECAR_MAX_CONNECTIONS", "256", "Socket connections open at once; more get RESOURCE_EXHAUSTED and are closed (worst-case memory: docs/RELIABILITY.md)"),
        ("STRATEGY_ENABLED_ORDERBOOK_SKEW", "true", "Run orderbook_skew"),
        ("STRATEGY_ENABLED_TRADE_MOMENTUM", "true", "Run trade_momentum"),
        ("STRATEGY_ENABLED_TICKER_VELOCITY", "true", "Run ticker_velocity"),
        ("STRATEGY_ENABLED_SPREAD_LIQUIDITY", "true", "Run spread_liquidity"),
        ("STRATEGY_ENABLED_ICEBERG_DETECTOR", "true", "Run iceberg_detector"),
        ("STRATEGY_ENABLED_BTC_DOMINANCE", "true", "Run btc_dominance"),
        ("STRATEGY_ENABLED_CROSS_EXCHANGE_SPREAD", "true", "Run cross_exchange_spread"),
        ("STRATEGY_ENABLED_ONCHAIN_METRICS", "false", "Run onchain_metrics (idle until metrics arrive)"),
        ("REFERENCE_PRICES_SUBJECT", "reference.prices", "Other venues' prices {venue,symbol,price,ts} for cross_exchange_spread"),
        ("ONCHAIN_METRICS_SUBJECT", "onchain.metrics", "On-chain metrics for onchain_metrics"),
        ("CONFIG_STORE", "file:/var/lib/realtime-sidecar/config", "Runtime strategy config store: file:<dir>, nats-kv:<bucket> or memory"),
        ("CONFIG_RETRY_SECONDS", "5", "Retry interval while the config store is unavailable"),
        ("CONFIG_MAX_OVERRIDES", "2000", "Stored overrides (global and per symbol) at most; a new one beyond gets 422 TOO_MANY"),
        ("CONFIG_AUDIT_MAX_RECORDS", "10000", "Audit records kept (file and memory stores); past it the oldest are compacted away, keeping 90 %"),
        ("CONFIG_AUDIT_MAX_BYTES", "16777216", "Bytes of the file store's audit log; past it the log is compacted to half"),
        ("HEARTBEAT_ENABLED", "true", "Log a heartbeat line with counters and rates every interval"),
        ("HEARTBEAT_INTERVAL_SECONDS", "60", "Seconds between heartbeat lines"),
        ("SHUTDOWN_TIMEOUT_SECONDS", "10", "Budget of a graceful shutdown (SIGTERM/SIGINT); past it the process exits anyway"),
        ("READY_MAX_SILENCE_SECONDS", "0", "Not ready when no market-data message arrived for this long; 0 disables the check"),
        ("LIVENESS_STALL_SECONDS", "10", "/healthz answers 503 when one NATS callback has been processing for longer"),
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
    /// Client PING interval; after two unanswered PINGs the connection is stale and reconnects.
    public var pingIntervalSeconds = 20
    /// TLS and credentials of the NATS connections (market data, signals, nats-kv config store).
    public var natsSecurity = NATSSecurity()
    public var engine = EngineConfiguration()
    /// REST depth snapshot endpoints by venue; absent: off. Off in a configuration built in code;
    /// the environment's defaults are Binance's public endpoints (`defaultDepthSnapshotURLs`).
    public var depthSnapshotURLs: [Venue: String] = [:]
    public static let defaultDepthSnapshotURLs: [Venue: String] = [.spot: "https://api.binance.com/api/v3/depth",
                                                                   .usdm: "https://fapi.binance.com/fapi/v1/depth"]
    public var depthSnapshotMinIntervalMs = 500
    public var minSignalConfidence = 0.6
    public var signalLogCapacity = 10_000
    public var signalSource = "realtime_strategies"
    public var httpHost = "0.0.0.0"
    public var httpPort = 8080
    public var adminHTTPHost = "127.0.0.1"
    /// nil: no admin listener. 0: an ephemeral port.
    public var adminHTTPPort: Int? = 8081
    /// Authorizes config writes on `httpPort`; nil: writes only on the admin listener.
    public var apiToken: SecretString?
    /// A mounted Secret holding the token; takes precedence over `apiToken`.
    public var apiTokenFile: String?
    /// nil: no socket server.
    public var socketPath: String? = "/var/run/realtime-sidecar/sidecar.sock"
    public var socketMode = 0o660
    /// Empty: any peer.
    public var allowedUIDs: [UInt32] = []
    /// UIDs whose socket config writes are accepted; the sidecar's own UID by default.
    public var configUIDs: [UInt32] = [getuid()]
    /// Largest request frame a client may send.
    public var maxRequestBytes = 64 << 10
    /// Largest frame the sidecar sends.
    public var maxFrameBytes = 4 << 20
    /// Unsent bytes buffered per connection.
    public var clientOutputBytes = 32 << 10
    public var clientQueueEvents = 256
    /// 0: no timeout.
    public var frameTimeoutSeconds = 30.0
    public var maxConnections = 256
    public var referencePricesSubject = "reference.prices"
    public var onchainMetricsSubject = "onchain.metrics"
    public var logLevel = "info"
    public var logFormat = LogFormat.text
    public var configStore = ConfigStoreLocation.file("/var/lib/realtime-sidecar/config")
    public var configRetrySeconds = 5.0
    public var configMaxOverrides = 2_000
    public var configAuditMaxRecords = 10_000
    public var configAuditMaxBytes = 16 << 20
    public var heartbeatEnabled = true
    public var heartbeatIntervalSeconds = 60
    public var shutdownTimeoutSeconds = 10
    /// 0: no `recent_message` readiness check.
    public var readyMaxSilenceSeconds = 0
    public var livenessStallSeconds = 10

    public init() {}

    /// Reads every variable in `variables` from `environment`; absent ones keep their default.
    public init(environment: [String: String]) throws(ConfigurationError) {
        self.init()
        let env = EnvironmentReader(environment: environment)
        natsURL = env.string("NATS_URL", natsURL)
        consumerSubjects = try ConsumerSubject.parseList(env.string("NATS_CONSUMER_TOPIC", "binance.websocket.data"))
        let group = env.string("NATS_CONSUMER_GROUP", "")
        consumerGroup = group.isEmpty ? nil : group
        connectionName = env.string("NATS_CONSUMER_NAME", connectionName)
        publisherTopic = env.string("NATS_PUBLISHER_TOPIC", publisherTopic)
        pendingMessagesLimit = try env.int("NATS_PENDING_MSGS_LIMIT", pendingMessagesLimit, min: 1)
        pendingBytesLimit = try env.int("NATS_PENDING_BYTES_LIMIT", pendingBytesLimit, min: 1024)
        reconnectBufferBytes = try env.int("NATS_RECONNECT_BUFFER_BYTES", reconnectBufferBytes, min: 0)
        pingIntervalSeconds = try env.int("NATS_PING_INTERVAL_SECONDS", pingIntervalSeconds, min: 1, max: 3600)
        natsSecurity = try NATSSecurity(environment: environment)
        engine.allowedSymbols = Self.symbolSet(env.string("TRADING_SYMBOLS", ""))
        engine.maxSymbols = try env.int("MAX_SYMBOLS", engine.maxSymbols, min: 1)
        engine.symbolTTLSeconds = Int64(try env.int("SYMBOL_TTL_SECONDS", Int(engine.symbolTTLSeconds), min: 1))
        engine.book.maxLevels = try env.int("BOOK_MAX_LEVELS", engine.book.maxLevels, min: 20, max: 5000)
        engine.book.staleMs = Int64(try env.int("BOOK_STALE_MS", Int(engine.book.staleMs), min: 1))
        let attribution = env.string("BOOK_ATTRIBUTION", engine.book.attribution.rawValue).lowercased()
        guard let mode = BookConfiguration.Attribution(rawValue: attribution) else {
            throw ConfigurationError(variable: "BOOK_ATTRIBUTION", value: attribution, reason: "use evidence or label")
        }
        engine.book.attribution = mode
        engine.book.priceToleranceBps = try env.double("BOOK_ATTRIBUTION_TOLERANCE_BPS", engine.book.priceToleranceBps,
                                                       range: 0.01...10_000)
        engine.book.maxEventTimeSkewMs = Int64(try env.int("MAX_EVENT_TIME_SKEW_SECONDS", 300, min: 1,
                                                           max: 10 * 365 * 86_400)) * 1000
        for venue in Venue.allCases {
            let name = "DEPTH_SNAPSHOT_URL_\(venue.description.uppercased())"
            let url = env.string(name, Self.defaultDepthSnapshotURLs[venue] ?? "off").trimmingCharacters(in: .whitespaces)
            if url.isEmpty || url.lowercased() == "off" {
                depthSnapshotURLs[venue] = nil
            } else {
                guard let parsed = URLComponents(string: url), parsed.scheme == "http" || parsed.scheme == "https",
                    parsed.host != nil, parsed.query == nil
                else {
                    throw ConfigurationError(variable: name, value: url, reason: "expected an http(s) URL without a query, or off")
                }
                depthSnapshotURLs[venue] = url
            }
        }
        depthSnapshotMinIntervalMs = try env.int("DEPTH_SNAPSHOT_MIN_INTERVAL_MS", depthSnapshotMinIntervalMs, min: 0, max: 3_600_000)
        engine.book.requestSnapshots = !depthSnapshotURLs.isEmpty
        minSignalConfidence = try env.double("SIGNAL_MIN_CONFIDENCE", minSignalConfidence, range: 0...1)
        signalLogCapacity = try env.int("SIGNAL_LOG_CAPACITY", signalLogCapacity, min: 1)
        signalSource = env.string("SIGNAL_SOURCE", signalSource)
        httpHost = env.string("HTTP_HOST", httpHost)
        httpPort = try env.int("HTTP_PORT", try env.int("HEALTH_CHECK_PORT", httpPort, min: 0), min: 0)
        adminHTTPHost = env.string("ADMIN_HTTP_HOST", adminHTTPHost).trimmingCharacters(in: .whitespaces)
        if env.string("ADMIN_HTTP_PORT", "").lowercased() == "off" {
            adminHTTPPort = nil
        } else {
            adminHTTPPort = try env.int("ADMIN_HTTP_PORT", adminHTTPPort ?? 8081, min: 0, max: 65_535)
        }
        apiToken = try SecretString.fromEnvironment(environment, "SIDECAR_API_TOKEN")
        apiTokenFile = env.nonEmpty("SIDECAR_API_TOKEN_FILE")
        let path = env.string("SIDECAR_SOCKET_PATH", socketPath ?? "")
        if path.isEmpty {
            socketPath = nil
        } else {
            // sockaddr_un.sun_path holds 108 bytes including the NUL.
            guard path.utf8.count <= 107, path.hasPrefix("/") else {
                throw ConfigurationError(variable: "SIDECAR_SOCKET_PATH", value: path,
                                         reason: "expected an absolute path of at most 107 bytes")
            }
            socketPath = path
        }
        socketMode = try env.octalMode("SIDECAR_SOCKET_MODE", socketMode)
        allowedUIDs = try env.uidList("SIDECAR_ALLOWED_UIDS")
        let configPeers = try env.uidList("SIDECAR_CONFIG_UIDS")
        configUIDs = configPeers.isEmpty ? [getuid()] : configPeers
        maxRequestBytes = try env.int("SIDECAR_MAX_REQUEST_BYTES", maxRequestBytes, min: 64, max: 1 << 30)
        maxFrameBytes = try env.int("SIDECAR_MAX_FRAME_BYTES", maxFrameBytes, min: 64, max: 1 << 30)
        clientOutputBytes = try env.int("SIDECAR_CLIENT_OUTPUT_BYTES", clientOutputBytes, min: 4096, max: 1 << 30)
        clientQueueEvents = try env.int("SIDECAR_CLIENT_QUEUE_EVENTS", clientQueueEvents, min: 1, max: 1 << 20)
        frameTimeoutSeconds = try env.double("SIDECAR_FRAME_TIMEOUT_SECONDS", frameTimeoutSeconds, range: 0...86_400)
        maxConnections = try env.int("SIDECAR_MAX_CONNECTIONS", maxConnections, min: 1, max: 1 << 20)
        engine.strategies = try StrategyEnvironment.settings(from: environment)
        referencePricesSubject = env.string("REFERENCE_PRICES_SUBJECT", referencePricesSubject)
        onchainMetricsSubject = env.string("ONCHAIN_METRICS_SUBJECT", onchainMetricsSubject)
        configStore = try ConfigStoreLocation(parsing: env.string("CONFIG_STORE", configStore.description))
        configRetrySeconds = try env.double("CONFIG_RETRY_SECONDS", configRetrySeconds, range: 0.1...3600)
        configMaxOverrides = try env.int("CONFIG_MAX_OVERRIDES", configMaxOverrides, min: 1, max: 1_000_000)
        configAuditMaxRecords = try env.int("CONFIG_AUDIT_MAX_RECORDS", configAuditMaxRecords, min: 10, max: 10_000_000)
        configAuditMaxBytes = try env.int("CONFIG_AUDIT_MAX_BYTES", configAuditMaxBytes, min: 65_536, max: 1 << 40)
        heartbeatEnabled = try env.bool("HEARTBEAT_ENABLED", heartbeatEnabled)
        heartbeatIntervalSeconds = try env.int("HEARTBEAT_INTERVAL_SECONDS", heartbeatIntervalSeconds, min: 1, max: 86_400)
        shutdownTimeoutSeconds = try env.int("SHUTDOWN_TIMEOUT_SECONDS", shutdownTimeoutSeconds, min: 1, max: 3600)
        readyMaxSilenceSeconds = try env.int("READY_MAX_SILENCE_SECONDS", readyMaxSilenceSeconds, min: 0, max: 86_400)
        livenessStallSeconds = try env.int("LIVENESS_STALL_SECONDS", livenessStallSeconds, min: 1, max: 3600)
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
        ] + natsSecurity.effectiveValues + [
            ("TRADING_SYMBOLS", engine.allowedSymbols.sorted().joined(separator: ",")),
            ("MAX_SYMBOLS", "\(engine.maxSymbols)"),
            ("SYMBOL_TTL_SECONDS", "\(engine.symbolTTLSeconds)"),
            ("BOOK_MAX_LEVELS", "\(engine.book.maxLevels)"),
            ("BOOK_STALE_MS", "\(engine.book.staleMs)"),
            ("BOOK_ATTRIBUTION", engine.book.attribution.rawValue),
            ("BOOK_ATTRIBUTION_TOLERANCE_BPS", "\(engine.book.priceToleranceBps)"),
            ("MAX_EVENT_TIME_SKEW_SECONDS", "\(engine.book.maxEventTimeSkewMs / 1000)"),
            ("DEPTH_SNAPSHOT_URL_SPOT", depthSnapshotURLs[.spot].map(Self.redactingCredentials) ?? "off"),
            ("DEPTH_SNAPSHOT_URL_USDM", depthSnapshotURLs[.usdm].map(Self.redactingCredentials) ?? "off"),
            ("DEPTH_SNAPSHOT_MIN_INTERVAL_MS", "\(depthSnapshotMinIntervalMs)"),
            ("SIGNAL_MIN_CONFIDENCE", "\(minSignalConfidence)"),
            ("SIGNAL_LOG_CAPACITY", "\(signalLogCapacity)"),
            ("HTTP_HOST", httpHost),
            ("HTTP_PORT", "\(httpPort)"),
            ("ADMIN_HTTP_HOST", adminHTTPHost),
            ("ADMIN_HTTP_PORT", adminHTTPPort.map(String.init) ?? "off"),
            ("SIDECAR_API_TOKEN", apiToken == nil ? "" : SecretString.shown),
            ("SIDECAR_API_TOKEN_FILE", apiTokenFile ?? ""),
            ("SIDECAR_SOCKET_PATH", socketPath ?? ""),
            ("SIDECAR_SOCKET_MODE", "0" + String(socketMode, radix: 8)),
            ("SIDECAR_ALLOWED_UIDS", allowedUIDs.map(String.init).joined(separator: ",")),
            ("SIDECAR_CONFIG_UIDS", configUIDs.map(String.init).joined(separator: ",")),
            ("SIDECAR_MAX_REQUEST_BYTES", "\(maxRequestBytes)"),
            ("SIDECAR_MAX_FRAME_BYTES", "\(maxFrameBytes)"),
            ("SIDECAR_CLIENT_OUTPUT_BYTES", "\(clientOutputBytes)"),
            ("SIDECAR_CLIENT_QUEUE_EVENTS", "\(clientQueueEvents)"),
            ("SIDECAR_FRAME_TIMEOUT_SECONDS", "\(frameTimeoutSeconds)"),
            ("SIDECAR_MAX_CONNECTIONS", "\(maxConnections)"),
            ("CONFIG_STORE", configStore.description),
            ("CONFIG_RETRY_SECONDS", "\(configRetrySeconds)"),
            ("CONFIG_MAX_OVERRIDES", "\(configMaxOverrides)"),
            ("CONFIG_AUDIT_MAX_RECORDS", "\(configAuditMaxRecords)"),
            ("CONFIG_AUDIT_MAX_BYTES", "\(configAuditMaxBytes)"),
            ("HEARTBEAT_ENABLED", "\(heartbeatEnabled)"),
            ("HEARTBEAT_INTERVAL_SECONDS", "\(heartbeatIntervalSeconds)"),
            ("SHUTDOWN_TIMEOUT_SECONDS", "\(shutdownTimeoutSeconds)"),
            ("READY_MAX_SILENCE_SECONDS", "\(readyMaxSilenceSeconds)"),
            ("LIVENESS_STALL_SECONDS", "\(livenessStallSeconds)"),
        ]
    }

    /// `nats://user:secret@host` → `nats://user:***@host`, for every URL of a list.
    static func redactingCredentials(_ url: String) -> String { NATSURLRedaction.redacted(url) }
}

/// Typed reads of environment variables.
struct EnvironmentReader {
    var environment: [String: String]

    func string(_ name: String, _ fallback: String) -> String {
        environment[name] ?? fallback
    }

    /// The trimmed value, nil when absent or blank.
    func nonEmpty(_ name: String) -> String? {
        guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        return text
    }

    func int(_ name: String, _ fallback: Int, min: Int) throws(ConfigurationError) -> Int {
        guard let text = environment[name], !text.isEmpty else { return fallback }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value >= min else {
            throw ConfigurationError(variable: name, value: text, reason: "expected an integer ≥ \(min)")
        }
        return value
    }

    func int(_ name: String, _ fallback: Int, min: Int, max: Int) throws(ConfigurationError) -> Int {
        let value = try int(name, fallback, min: min)
        guard value <= max else {
            throw ConfigurationError(variable: name, value: "\(value)", reason: "expected an integer in \(min)...\(max)")
        }
        return value
    }

    /// Octal file mode such as `0660` or `660`, at most 0777.
    func octalMode(_ name: String, _ fallback: Int) throws(ConfigurationError) -> Int {
        guard let text = environment[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return fallback }
        guard let value = Int(text, radix: 8), (0...0o777).contains(value) else {
            throw ConfigurationError(variable: name, value: text, reason: "expected an octal mode from 0000 to 0777, e.g. 0660")
        }
        return value
    }

    /// Comma-separated numeric UIDs; empty means none.
    func uidList(_ name: String) throws(ConfigurationError) -> [UInt32] {
        guard let text = environment[name] else { return [] }
        var result: [UInt32] = []
        for part in text.split(separator: ",") {
            let item = part.trimmingCharacters(in: .whitespaces)
            if item.isEmpty { continue }
            guard let uid = UInt32(item) else {
                throw ConfigurationError(variable: name, value: text, reason: "expected comma-separated numeric UIDs, got '\(item)'")
            }
            result.append(uid)
        }
        return result
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
