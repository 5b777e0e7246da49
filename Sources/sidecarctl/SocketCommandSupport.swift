import ArgumentParser
import Foundation
import Sidecar

/// Exit codes of the socket commands (sysexits.h values), documented in README "sidecarctl".
extension ExitCodes {
    /// The command line is wrong (ArgumentParser uses the same value for its own errors).
    static let usage = ExitCode(64)
    /// The sidecar rejected an argument (INVALID_ARGUMENT).
    static let invalidArgument = ExitCode(65)
    /// The sidecar does not know the symbol, or it went stale (NOT_FOUND).
    static let notFound = ExitCode(66)
    /// The socket file or the peer's UID is not allowed.
    static let permissionDenied = ExitCode(77)
}

/// Options every socket command takes.
struct SocketOptions: ParsableArguments {
    static let defaultPath = "/var/run/realtime-sidecar/sidecar.sock"

    @Option(name: .customLong("socket"),
            help: ArgumentHelp("The sidecar's Unix socket (default: $SIDECAR_SOCKET_PATH, else \(SocketOptions.defaultPath)).",
                               valueName: "path"))
    var socket: String?

    @Flag(help: "Print one JSON document with the protocol's field names, for scripts.")
    var json = false

    @Option(help: ArgumentHelp("Seconds to wait for each answer from the sidecar.", valueName: "seconds"))
    var timeout = 10.0

    /// Test hook: announce another protocol version in Hello, to see the mismatch handling.
    @Option(help: ArgumentHelp("Protocol version announced in Hello (for testing).", visibility: .hidden))
    var protocolVersion: UInt32 = SocketProtocol.version

    func validate() throws {
        if !(timeout > 0 && timeout <= 3600) { throw ValidationError("--timeout must be in (0, 3600] seconds") }
        if let socket, socket.isEmpty { throw ValidationError("--socket must not be empty") }
    }

    static var environmentPath: String? {
        guard let value = ProcessInfo.processInfo.environment["SIDECAR_SOCKET_PATH"], !value.isEmpty else { return nil }
        return value
    }

    var path: String { socket ?? Self.environmentPath ?? Self.defaultPath }

    /// Where `path` came from, for error messages.
    var pathOrigin: String {
        if socket != nil { return "--socket" }
        return Self.environmentPath != nil ? "SIDECAR_SOCKET_PATH" : "the default"
    }

    /// Connects and says Hello; failures are reported and become an exit code.
    func connect(_ command: String) throws -> SocketClient {
        CtlOutput.unblockTerminationSignals()
        do {
            return try SocketClient(path: path, options: .init(timeout: timeout, clientName: "sidecarctl/\(SidecarRuntime.version)",
                                                             protocolVersion: protocolVersion))
        } catch {
            throw report(error, command: command)
        }
    }

    /// Runs `body` with a connected client; socket errors become a message on stderr and an exit code.
    func withClient(_ command: String, _ body: (SocketClient) throws -> Void) throws {
        let client = try connect(command)
        defer { client.close() }
        do {
            try body(client)
        } catch let error as SocketClientError {
            throw report(error, command: command)
        }
    }

    /// Prints what went wrong and what to do about it; returns the exit code for it.
    func report(_ error: SocketClientError, command: String) -> ExitCode {
        let (message, code) = explain(error)
        CtlOutput.warn("sidecarctl \(command): \(message)")
        return code
    }

    func explain(_ error: SocketClientError) -> (String, ExitCode) {
        let setting = "SIDECAR_SOCKET_PATH=\(Self.environmentPath ?? "(unset)")"
        switch error {
        case .socketMissing(let path):
            return ("no socket at \(path) (from \(pathOrigin)): is the sidecar running? \(setting); pass --socket or set "
                    + "SIDECAR_SOCKET_PATH to the path the sidecar was started with", ExitCodes.unavailable)
        case .connectionRefused(let path):
            return ("nothing is listening at \(path) (a socket left by a stopped sidecar, or not a socket): is the sidecar "
                    + "running? \(setting)", ExitCodes.unavailable)
        case .permissionDenied(let path):
            return ("permission denied on \(path)\(Self.describeFile(path)): the sidecar creates its socket with mode 0660 "
                    + "(SIDECAR_SOCKET_MODE), so only its user and group may connect; run sidecarctl as that user or as a "
                    + "member of the socket's group (you are uid \(getuid()), gid \(getgid()))", ExitCodes.permissionDenied)
        case .server(.permissionDenied, let message, _):
            // Connecting needs SIDECAR_ALLOWED_UIDS; config writes need SIDECAR_CONFIG_UIDS (the message names it).
            let setting = message.contains("SIDECAR_CONFIG_UIDS") ? "SIDECAR_CONFIG_UIDS" : "SIDECAR_ALLOWED_UIDS"
            return ("the sidecar refused this user: \(message); run as a UID listed in the sidecar's \(setting) "
                    + "(you are uid \(getuid()))", ExitCodes.permissionDenied)
        case .versionMismatch(let server, let client):
            let spoken = server == 0 ? "another protocol version" : "protocol version \(server)"
            return ("protocol version mismatch: the sidecar at \(path) speaks \(spoken), this sidecarctl speaks version "
                    + "\(client); use the sidecarctl built with that sidecar", ExitCode.failure)
        case .server(.notFound, let message, let details):
            let subject = details["symbol"].map { "\($0)\(details["venue"].map { " (\($0))" } ?? ""): " } ?? ""
            return ("not found: \(subject)\(message)", ExitCodes.notFound)
        case .server(.invalidArgument, let message, let details):
            let field = details["field"].map { " [\($0)\(details["value"].map { "=\($0)" } ?? "")]" } ?? ""
            return ("invalid argument: \(message)\(field)", ExitCodes.invalidArgument)
        case .server(.unavailable, let message, _):
            return ("the sidecar is unavailable: \(message)", ExitCodes.unavailable)
        case .server:
            return ("the sidecar answered with an error: \(error)", ExitCode.failure)
        case .timeout:
            return ("no answer from the sidecar at \(path) within \(CtlOutput.number(timeout)) s (--timeout)", ExitCodes.unavailable)
        case .closed:
            return ("the sidecar at \(path) closed the connection", ExitCodes.unavailable)
        case .invalidPath(let path, let reason):
            return ("invalid socket path \(path): \(reason)", ExitCodes.usage)
        case .protocolViolation, .unexpectedResponse, .system:
            return ("\(error)", ExitCode.failure)
        }
    }

    /// " (mode 0660, owner uid 0, group 1000 (sidecar))" for the socket file, or its directory
    /// when the file cannot be read.
    static func describeFile(_ path: String) -> String {
        var target = path
        var info = stat()
        if stat(target, &info) != 0 {
            target = (path as NSString).deletingLastPathComponent
            guard stat(target, &info) == 0 else { return "" }
        }
        let mode = String(info.st_mode & 0o7777, radix: 8)
        var group = "\(info.st_gid)"
        if let entry = getgrgid(info.st_gid), let name = entry.pointee.gr_name { group += " (\(String(cString: name)))" }
        let which = target == path ? "" : "directory \(target): "
        return " (\(which)mode 0\(mode), owner uid \(info.st_uid), group \(group))"
    }
}

/// Output helpers: tables for people, JSON for scripts.
enum CtlOutput {
    static func warn(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Writes a line to stdout and flushes it: streams must reach pipes at once. When stdout is
    /// gone (`--follow | head` with SIGPIPE ignored by whoever started us) there is nobody left to
    /// print for: exit instead of streaming into the void.
    static func line(_ text: String) {
        print(text)
        if fflush(stdout) != 0 {
            let code = errno
            if code != EPIPE { warn("sidecarctl: cannot write to stdout: \(String(cString: strerror(code)))") }
            exit(code == EPIPE ? 0 : 1)
        }
    }

    /// A child started from a thread that blocks signals (Dispatch worker threads do) inherits
    /// that mask, and `signals --follow` could then not be stopped with Ctrl-C or SIGTERM.
    /// Only the mask is reset: a signal deliberately ignored (nohup, `&`) stays ignored.
    static func unblockTerminationSignals() {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in [SIGINT, SIGTERM, SIGHUP] { sigaddset(&set, signal) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    // MARK: Numbers and times

    /// For people: at most 10 significant digits, no exponent, no trailing zeros
    /// ("149.98000000000002" → "149.98", "3.0" → "3", 1e-8 → "0.00000001"). JSON keeps exact values.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
        guard value != 0 else { return "0" }
        let magnitude = Int((log10(abs(value))).rounded(.down))
        var text = String(format: "%.\(min(15, max(0, 9 - magnitude)))f", value)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text == "-0" ? "0" : text
    }

    static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return number(value) }
        return String(format: "%.\(decimals)f", value)
    }

    private static let timeFormatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
        return formatter
    }()

    /// Event time in ms since the epoch, as ISO 8601 UTC; "-" for 0 (unknown).
    static func time(_ ms: Int64) -> String {
        guard ms != 0 else { return "-" }
        return timeFormatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    static func yesNo(_ value: Bool) -> String { value ? "yes" : "no" }

    // MARK: Tables

    /// Columns aligned on the widest cell; numeric columns right-aligned.
    struct Table {
        var headers: [String]
        var rightAligned: Set<Int> = []
        var rows: [[String]] = []

        init(_ headers: [String], rightAligned: Set<Int> = []) {
            self.headers = headers
            self.rightAligned = rightAligned
        }

        mutating func add(_ row: [String]) { rows.append(row) }

        func render() -> String {
            var widths = headers.map(\.count)
            for row in rows {
                for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
            }
            func format(_ row: [String]) -> String {
                row.enumerated().map { i, cell in
                    let width = i < widths.count ? widths[i] : cell.count
                    let pad = String(repeating: " ", count: max(0, width - cell.count))
                    return rightAligned.contains(i) ? pad + cell : cell + pad
                }.joined(separator: "  ").trimmingTrailingSpaces()
            }
            return ([format(headers)] + rows.map(format)).joined(separator: "\n")
        }
    }

    /// "label  value" lines, labels padded to the longest.
    static func fields(_ pairs: [(String, String)]) -> String {
        let width = pairs.map(\.0.count).max() ?? 0
        return pairs.map { label, value in
            (label + String(repeating: " ", count: width - label.count) + "  " + value).trimmingTrailingSpaces()
        }.joined(separator: "\n")
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s.removeLast() }
        return String(s)
    }
}

// MARK: - JSON

/// A JSON value that keeps key order (the proto's field order) and writes numbers exactly:
/// doubles in Swift's shortest round-trip form, 64-bit integers in full, non-finite as null.
indirect enum JSONValue {
    case object([(String, JSONValue)])
    case array([JSONValue])
    case string(String)
    case double(Double)
    case int(Int64)
    case uint(UInt64)
    case bool(Bool)
    case null

    /// Compact on one line, or indented by two spaces.
    func render(pretty: Bool) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(1024)
        write(into: &out, pretty: pretty, indent: 0)
        return String(decoding: out, as: UTF8.self)
    }

    // Bytes, not String: `signals --follow --json` writes thousands of lines a second.
    private func write(into out: inout [UInt8], pretty: Bool, indent: Int) {
        func newline(_ depth: Int) {
            out.append(UInt8(ascii: "\n"))
            out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * depth))
        }
        switch self {
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if pretty { newline(indent + 1) }
                Self.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                if pretty { out.append(UInt8(ascii: " ")) }
                value.write(into: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty && !members.isEmpty { newline(indent) }
            out.append(UInt8(ascii: "}"))
        case .array(let items):
            // Arrays of scalars stay on one line: book levels and histories are long.
            let nested = items.contains { if case .object = $0 { true } else if case .array = $0 { true } else { false } }
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 {
                    out.append(UInt8(ascii: ","))
                    if pretty && !nested { out.append(UInt8(ascii: " ")) }
                }
                if pretty && nested { newline(indent + 1) }
                item.write(into: &out, pretty: pretty, indent: indent + 1)
            }
            if pretty && nested { newline(indent) }
            out.append(UInt8(ascii: "]"))
        case .string(let s): Self.writeString(s, into: &out)
        // JSON has no NaN or infinity; Swift's description is the shortest exact form.
        case .double(let d): out.append(contentsOf: (d.isFinite ? d.description : "null").utf8)
        case .int(let i): out.append(contentsOf: i.description.utf8)
        case .uint(let u): out.append(contentsOf: u.description.utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .null: out.append(contentsOf: "null".utf8)
        }
    }

    /// A JSON string: quote, backslash and control bytes escaped; runs between them copied whole.
    private static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        let utf8 = Array(s.utf8)
        utf8.withUnsafeBufferPointer { bytes in
            var runStart = 0
            for (i, byte) in bytes.enumerated() where byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 {
                out.append(contentsOf: bytes[runStart..<i])
                switch byte {
                case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
                case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                            hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
                }
                runStart = i + 1
            }
            out.append(contentsOf: bytes[runStart...])
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// Protocol values as JSON objects with the proto's field names (snake_case, proto order).
/// Enums are written as lower-case names ("buy", "signals"), 64-bit integers as numbers.
enum ProtoJSON {
    static func action(_ action: SocketProtocol.Action) -> String {
        switch action {
        case .unspecified: "unspecified"
        case .buy: "buy"
        case .sell: "sell"
        case .hold: "hold"
        case .close: "close"
        }
    }

    static func signal(_ s: SocketProtocol.Signal) -> JSONValue {
        .object([
            ("seq", .uint(s.seq)), ("id", .string(s.id)), ("strategy_id", .string(s.strategyId)),
            ("symbol", .string(s.symbol)), ("venue", .string(s.venue)), ("action", .string(action(s.action))),
            ("confidence", .double(s.confidence)), ("strength", .string(s.strength)), ("price", .double(s.price)),
            ("current_price", .double(s.currentPrice)), ("quantity", .double(s.quantity)),
            ("stop_loss", .double(s.stopLoss)), ("take_profit", .double(s.takeProfit)),
            ("stop_loss_pct", .double(s.stopLossPct)), ("take_profit_pct", .double(s.takeProfitPct)),
            ("event_time_ms", .int(s.eventTimeMs)), ("timeframe", .string(s.timeframe)),
            ("reasoning", .string(s.reasoning)),
            ("indicators", .array(s.indicators.map { .object([("name", .string($0.name)), ("value", .double($0.value))]) })),
            ("metadata_json", .string(s.metadataJSON)),
        ])
    }

    static func signalPage(_ signals: [SocketProtocol.Signal], nextSeq: UInt64, truncated: Bool, oldestSeq: UInt64) -> JSONValue {
        .object([("signals", .array(signals.map(signal))), ("next_seq", .uint(nextSeq)), ("truncated", .bool(truncated)),
                 ("oldest_seq", .uint(oldestSeq))])
    }

    static func depth(_ d: SocketProtocol.DepthMetrics, levels: Bool) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("symbol", .string(d.symbol)), ("venue", .string(d.venue)), ("event_time_ms", .int(d.eventTimeMs)),
            ("imbalance_ratio", .double(d.imbalanceRatio)), ("imbalance_percent", .double(d.imbalancePercent)),
            ("bid_volume", .double(d.bidVolume)), ("ask_volume", .double(d.askVolume)),
            ("buy_pressure", .double(d.buyPressure)), ("sell_pressure", .double(d.sellPressure)),
            ("net_pressure", .double(d.netPressure)), ("interpretation", .string(d.interpretation)),
            ("total_liquidity", .double(d.totalLiquidity)), ("bid_depth_5", .double(d.bidDepth5)),
            ("ask_depth_5", .double(d.askDepth5)), ("bid_depth_10", .double(d.bidDepth10)),
            ("ask_depth_10", .double(d.askDepth10)), ("best_bid", .double(d.bestBid)), ("best_ask", .double(d.bestAsk)),
            ("spread_abs", .double(d.spreadAbs)), ("spread_bps", .double(d.spreadBps)), ("mid_price", .double(d.midPrice)),
            ("vwap_bid", .double(d.vwapBid)), ("vwap_ask", .double(d.vwapAsk)), ("vwap_spread", .double(d.vwapSpread)),
            ("bid_levels", .uint(UInt64(d.bidLevels))), ("ask_levels", .uint(UInt64(d.askLevels))),
            ("has_strongest_bid", .bool(d.hasStrongestBid)), ("strongest_bid_price", .double(d.strongestBidPrice)),
            ("strongest_bid_volume", .double(d.strongestBidVolume)), ("has_strongest_ask", .bool(d.hasStrongestAsk)),
            ("strongest_ask_price", .double(d.strongestAskPrice)), ("strongest_ask_volume", .double(d.strongestAskVolume)),
            ("book_source", .string(d.bookSource)), ("synced", .bool(d.synced)), ("last_update_id", .int(d.lastUpdateId)),
            ("book_event_time_ms", .int(d.bookEventTimeMs)), ("age_ms", .int(d.ageMs)), ("stale", .bool(d.stale)),
        ]
        if levels {
            members += [
                ("bid_prices", .array(d.bidPrices.map { .double($0) })),
                ("bid_quantities", .array(d.bidQuantities.map { .double($0) })),
                ("ask_prices", .array(d.askPrices.map { .double($0) })),
                ("ask_quantities", .array(d.askQuantities.map { .double($0) })),
            ]
        }
        members.append(("trend", .string(d.trend)))
        return .object(members)
    }

    static func depthPage(_ p: SocketProtocol.DepthMetricsPage) -> JSONValue {
        .object([
            ("metrics", .array(p.metrics.map { depth($0, levels: false) })), ("total", .uint(UInt64(p.total))),
            ("limit", .uint(UInt64(p.limit))), ("offset", .uint(UInt64(p.offset))), ("page", .uint(UInt64(p.page))),
            ("pages", .uint(UInt64(p.pages))), ("has_next", .bool(p.hasNext)), ("has_previous", .bool(p.hasPrevious)),
        ])
    }

    static func pressure(_ h: SocketProtocol.PressureHistory) -> JSONValue {
        .object([
            ("symbol", .string(h.symbol)), ("venue", .string(h.venue)), ("timeframe", .string(h.timeframe)),
            ("avg_pressure", .double(h.avgPressure)), ("max_pressure", .double(h.maxPressure)),
            ("min_pressure", .double(h.minPressure)), ("trend", .string(h.trend)),
            ("trend_strength", .double(h.trendStrength)), ("total_data_points", .uint(UInt64(h.totalDataPoints))),
            ("time_ms", .array(h.timeMs.map { .int($0) })), ("pressure", .array(h.pressure.map { .double($0) })),
            ("imbalance", .array(h.imbalance.map { .double($0) })),
        ])
    }

    static func summary(_ s: SocketProtocol.MarketSummary) -> JSONValue {
        .object([
            ("time_ms", .int(s.timeMs)), ("symbols_tracked", .uint(UInt64(s.symbolsTracked))),
            ("bullish_symbols", .uint(UInt64(s.bullishSymbols))), ("bearish_symbols", .uint(UInt64(s.bearishSymbols))),
            ("neutral_symbols", .uint(UInt64(s.neutralSymbols))), ("avg_net_pressure", .double(s.avgNetPressure)),
            ("avg_imbalance_ratio", .double(s.avgImbalanceRatio)), ("avg_spread_bps", .double(s.avgSpreadBps)),
            ("total_liquidity", .double(s.totalLiquidity)),
            ("highest_buy_pressure", .array(s.highestBuyPressure.map { .string($0) })),
            ("highest_sell_pressure", .array(s.highestSellPressure.map { .string($0) })),
        ])
    }

    static func counters(_ counters: [SocketProtocol.Counter]) -> JSONValue {
        .array(counters.map { .object([("name", .string($0.name)), ("value", .uint($0.value))]) })
    }

    static func stats(_ s: SocketProtocol.Stats) -> JSONValue {
        .object([
            ("messages_received", .uint(s.messagesReceived)), ("messages_processed", .uint(s.messagesProcessed)),
            ("messages_rejected", .uint(s.messagesRejected)), ("rejected_by_reason", counters(s.rejectedByReason)),
            ("messages_by_kind", counters(s.messagesByKind)), ("signals_generated", counters(s.signalsGenerated)),
            ("signals_published", counters(s.signalsPublished)), ("slow_consumer_dropped", .uint(s.slowConsumerDropped)),
            ("symbols_tracked", .uint(s.symbolsTracked)), ("nats_connected", .bool(s.natsConnected)),
            ("last_signal_seq", .uint(s.lastSignalSeq)), ("socket_clients", .uint(s.socketClients)),
            ("socket_events_dropped", .uint(s.socketEventsDropped)), ("socket_gaps", .uint(s.socketGaps)),
            ("last_event_time_ms", .int(s.lastEventTimeMs)), ("uptime_seconds", .double(s.uptimeSeconds)),
        ])
    }

    static func health(_ h: SocketProtocol.Health) -> JSONValue {
        .object([("live", .bool(h.live)), ("ready", .bool(h.ready)), ("nats_connected", .bool(h.natsConnected)),
                 ("nats_subscribed", .bool(h.natsSubscribed)), ("version", .string(h.version))])
    }
}
