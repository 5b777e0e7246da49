import ArgumentParser
import Foundation
import NATS
import Sidecar
import Strategies

/// The service's JSON value (strict reader, ints kept apart from doubles); `JSONValue` in this
/// target is sidecarctl's renderer.
typealias APIJSON = Sidecar.JSONValue

extension ExitCodes {
    /// Another write changed the configuration first (HTTP 409): read it again and retry.
    static let conflict = ExitCode(75)
}

/// `sidecarctl config …`: the runtime strategy configuration API, over the sidecar's HTTP port.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Read and change the running strategies' configuration (overrides, audit, rollback).",
        discussion: """
            Talks to the sidecar's HTTP API (--url, default $SIDECAR_HTTP_URL, else http://127.0.0.1:8080).

            Writes (set, delete, rollback) need either the admin listener (ADMIN_HTTP_PORT, loopback, \
            e.g. --url http://127.0.0.1:8081 inside the pod) or the API token on the public port: \
            --token-file (or $SIDECAR_API_TOKEN_FILE) or --token (or $SIDECAR_API_TOKEN), sent as \
            `Authorization: Bearer`; the token is never printed.

            Exit codes: 0 ok, 64 usage (also an unreadable token file), 65 validation failed, \
            66 unknown strategy or nothing to delete/restore, 69 sidecar or config store unavailable, \
            75 version conflict, 77 not authorized (401: no or wrong token on the public port), 1 other.
            """,
        subcommands: [List.self, Schema.self, Get.self, Set.self, Delete.self, Audit.self, Rollback.self])

    struct Options: ParsableArguments {
        @Option(help: ArgumentHelp("The sidecar's HTTP base URL (default: $SIDECAR_HTTP_URL, else http://127.0.0.1:8080).",
                                   valueName: "url"))
        var url: String?

        @Flag(help: "Print the API's JSON data, for scripts.")
        var json = false

        @Option(help: ArgumentHelp("API token for writes on the public port (default: $SIDECAR_API_TOKEN); prefer --token-file.",
                                   valueName: "token"))
        var token: String?

        @Option(help: ArgumentHelp("File holding the API token, e.g. the mounted Secret (default: $SIDECAR_API_TOKEN_FILE).",
                                   valueName: "path"))
        var tokenFile: String?

        /// The bearer token to send, if any: --token-file, --token, then the environment's file
        /// and value. A named file that cannot be read is a usage error naming the file only.
        func bearerToken() throws -> String? {
            let env = ProcessInfo.processInfo.environment
            let file = tokenFile ?? (token == nil ? env["SIDECAR_API_TOKEN_FILE"].flatMap { $0.isEmpty ? nil : $0 } : nil)
            let value: String?
            if let file {
                do {
                    value = try SecretString.fromFile(file, variable: tokenFile == nil ? "SIDECAR_API_TOKEN_FILE" : "--token-file").value
                } catch {
                    CtlOutput.warn("sidecarctl: \(error)")
                    throw ExitCodes.usage
                }
            } else {
                value = token ?? env["SIDECAR_API_TOKEN"]
            }
            guard let value, !value.isEmpty else { return nil }
            guard !value.contains(where: { $0 == "\r" || $0 == "\n" }) else {
                CtlOutput.warn("sidecarctl: the API token holds a line break")
                throw ExitCodes.usage
            }
            return value
        }

        var base: String {
            let value = url ?? ProcessInfo.processInfo.environment["SIDECAR_HTTP_URL"] ?? "http://127.0.0.1:8080"
            return value.hasSuffix("/") ? String(value.dropLast()) : value
        }

        /// Calls the API; returns `data` and `metadata` of a successful envelope, or exits with
        /// the code that matches the failure.
        func call(_ method: String, _ path: String, body: APIJSON? = nil) throws -> (data: APIJSON, metadata: APIJSON) {
            let response: SimpleHTTPClient.Response
            let headers = try bearerToken().map { [("Authorization", "Bearer \($0)")] } ?? []
            do {
                response = try SimpleHTTPClient.request(method, base + path, body: body?.bytes, headers: headers, timeoutSeconds: 10)
            } catch {
                CtlOutput.warn("sidecarctl: cannot reach the sidecar at \(base): \(error)")
                throw ExitCodes.unavailable
            }
            guard let envelope = try? APIJSON.parse(response.body), envelope["success"] != nil else {
                CtlOutput.warn("sidecarctl: \(method) \(path) answered \(response.status) without the API envelope: \(response.text.prefix(200))")
                throw ExitCode.failure
            }
            if envelope["success"] == .bool(true) {
                return (envelope["data"] ?? .null, envelope["metadata"] ?? .null)
            }
            if json { CtlOutput.line(envelope.prettyText) }
            let message = envelope["error"]?["message"]?.stringValue ?? "request failed"
            CtlOutput.warn("sidecarctl: \(message)")
            for issue in envelope["error"]?["details"]?["errors"]?.arrayItems ?? [] {
                CtlOutput.warn("  \(issue["field"]?.stringValue ?? "?"): \(issue["message"]?.stringValue ?? "") [\(issue["code"]?.stringValue ?? "")]")
            }
            switch response.status {
            case 401:
                CtlOutput.warn(headers.isEmpty
                    ? "sidecarctl: not authorized: writes on this port need the API token (--token-file, --token, $SIDECAR_API_TOKEN[_FILE]) or the admin listener's URL"
                    : "sidecarctl: not authorized: the sidecar refused the API token given")
                throw ExitCodes.permissionDenied
            case 404: throw ExitCodes.notFound
            case 422: throw ExitCodes.invalidArgument
            case 409: throw ExitCodes.conflict
            case 503: throw ExitCodes.unavailable
            case 400: throw ExitCodes.usage
            default: throw ExitCode.failure
            }
        }
    }

    struct Scope: ParsableArguments {
        @Argument(help: ArgumentHelp("Strategy id, e.g. orderbook_skew (see `config list`).", valueName: "strategy"))
        var strategy: String

        @Option(help: ArgumentHelp("A symbol's override instead of the global one.", valueName: "symbol"))
        var symbol: String?

        var path: String {
            "/api/v1/strategies/\(strategy)/config" + (symbol.map { "/\($0.uppercased())" } ?? "")
        }
    }

    static var whoAmI: String { ProcessInfo.processInfo.environment["USER"].map { "sidecarctl:\($0)" } ?? "sidecarctl" }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the strategies and their stored overrides.")
        @OptionGroup var options: Options

        func run() throws {
            let (data, _) = try options.call("GET", "/api/v1/strategies")
            if options.json { return CtlOutput.line(data.prettyText) }
            var rows = [["STRATEGY", "ENABLED", "GLOBAL", "SYMBOL OVERRIDES", "PARAMETERS"]]
            for s in data.arrayItems ?? [] {
                let symbols = (s["symbol_overrides"]?.arrayItems ?? []).compactMap(\.stringValue)
                rows.append([s["strategy_id"]?.stringValue ?? "", s["enabled"] == .bool(true) ? "yes" : "no",
                             s["has_global_config"] == .bool(true) ? "yes" : "-",
                             symbols.isEmpty ? "-" : symbols.joined(separator: ","), s["parameter_count"]?.text ?? ""])
            }
            CtlOutput.line(ConfigCommand.table(rows))
        }
    }

    struct Schema: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a strategy's parameters: type, default, range, meaning.")
        @OptionGroup var options: Options
        @Argument(help: ArgumentHelp("Strategy id.", valueName: "strategy")) var strategy: String

        func run() throws {
            let (data, _) = try options.call("GET", "/api/v1/strategies/\(strategy)/schema")
            if options.json { return CtlOutput.line(data.prettyText) }
            var rows = [["PARAMETER", "TYPE", "DEFAULT", "RANGE", "DESCRIPTION"]]
            for p in data.arrayItems ?? [] {
                let allowed = (p["allowed_values"]?.arrayItems ?? []).compactMap(\.stringValue)
                let range = allowed.isEmpty ? "\(p["min"]?.text ?? "")..\(p["max"]?.text ?? "")" : allowed.joined(separator: "|")
                rows.append([p["name"]?.stringValue ?? "", p["type"]?.stringValue ?? "", p["default"]?.text ?? "",
                             range == "null..null" ? "" : range.replacingOccurrences(of: "null", with: ""),
                             p["description"]?.stringValue ?? ""])
            }
            CtlOutput.line(ConfigCommand.table(rows))
        }
    }

    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the values a strategy runs with, and where each comes from.")
        @OptionGroup var options: Options
        @OptionGroup var scope: Scope

        func run() throws {
            let (data, _) = try options.call("GET", scope.path)
            if options.json { return CtlOutput.line(data.prettyText) }
            ConfigCommand.printResolved(data)
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change parameters: merged over the stored override, applied within a second.",
            discussion: "Example: sidecarctl config set orderbook_skew buy_threshold=1.5 top_levels=10 --reason 'calmer market'")
        @OptionGroup var options: Options
        @OptionGroup var scope: Scope
        @Argument(help: ArgumentHelp("Parameters as name=value.", valueName: "name=value")) var assignments: [String]
        @Option(help: "Why (kept in the audit trail).") var reason: String?
        @Option(help: "Who (default: sidecarctl:$USER).") var changedBy: String?
        @Option(help: "Refuse unless the stored version is this (0: none stored yet).") var expectedVersion: Int64?
        @Flag(help: "Validate only; store nothing.") var dryRun = false

        func validate() throws {
            if assignments.isEmpty { throw ValidationError("give at least one name=value") }
        }

        func run() throws {
            var parameters: [(String, APIJSON)] = []
            for assignment in assignments {
                guard let eq = assignment.firstIndex(of: "="), eq != assignment.startIndex else {
                    throw ValidationError("'\(assignment)' is not name=value")
                }
                let name = String(assignment[..<eq]), text = String(assignment[assignment.index(after: eq)...])
                let spec = StrategySettings.descriptor(scope.strategy)?.schema.first { $0.name == name }
                parameters.append((name, ConfigCommand.typedValue(text, spec)))
            }
            var body: [(String, APIJSON)] = [("parameters", .object(parameters)),
                                                ("changed_by", .string(changedBy ?? ConfigCommand.whoAmI))]
            if let reason { body.append(("reason", .string(reason))) }
            if let expectedVersion { body.append(("expected_version", .int(expectedVersion))) }
            if dryRun { body.append(("validate_only", .bool(true))) }
            let (data, _) = try options.call("POST", scope.path, body: .object(body))
            if options.json { return CtlOutput.line(data.prettyText) }
            if dryRun { return CtlOutput.line("valid: nothing stored") }
            CtlOutput.line("stored version \(data["stored_version"]?.text ?? "?")")
            ConfigCommand.printResolved(data)
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an override (the scope falls back to the next layer).")
        @OptionGroup var options: Options
        @OptionGroup var scope: Scope
        @Option(help: "Why.") var reason: String?
        @Option(help: "Who (default: sidecarctl:$USER).") var changedBy: String?
        @Option(help: "Refuse unless the stored version is this.") var expectedVersion: Int64?

        func run() throws {
            var query = "?changed_by=\(ConfigCommand.escape(changedBy ?? ConfigCommand.whoAmI))"
            if let reason { query += "&reason=\(ConfigCommand.escape(reason))" }
            if let expectedVersion { query += "&expected_version=\(expectedVersion)" }
            let (data, _) = try options.call("DELETE", scope.path + query)
            CtlOutput.line(options.json ? data.prettyText : "deleted")
        }
    }

    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the audit trail, newest first.")
        @OptionGroup var options: Options
        @Argument(help: ArgumentHelp("Strategy id.", valueName: "strategy")) var strategy: String
        @Option(help: "Only this symbol's override.") var symbol: String?
        @Option(help: "At most this many records (1-1000).") var limit = 50

        func run() throws {
            var path = "/api/v1/strategies/\(strategy)/audit?limit=\(limit)"
            if let symbol { path += "&symbol=\(symbol.uppercased())" }
            let (data, _) = try options.call("GET", path)
            if options.json { return CtlOutput.line(data.prettyText) }
            var rows = [["VERSION", "WHEN", "ACTION", "SCOPE", "BY", "NEW VALUES", "REASON"]]
            for r in data.arrayItems ?? [] {
                rows.append([r["version"]?.text ?? "", r["changed_at"]?.stringValue ?? "", r["action"]?.stringValue ?? "",
                             r["symbol"]?.stringValue ?? "global", r["changed_by"]?.stringValue ?? "",
                             r["new_parameters"].map { $0 == .null ? "(none)" : $0.text } ?? "", r["reason"]?.stringValue ?? ""])
            }
            CtlOutput.line(ConfigCommand.table(rows))
        }
    }

    struct Rollback: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore the state before the latest change, or the state a version produced (audited as ROLLBACK).")
        @OptionGroup var options: Options
        @OptionGroup var scope: Scope
        @Option(name: .customLong("to-version"), help: "Restore the state this version produced.") var toVersion: Int64?
        @Option(help: "Why.") var reason: String?
        @Option(help: "Who (default: sidecarctl:$USER).") var changedBy: String?

        func run() throws {
            var body: [(String, APIJSON)] = [("changed_by", .string(changedBy ?? ConfigCommand.whoAmI))]
            if let toVersion { body.append(("target_version", .int(toVersion))) }
            if let reason { body.append(("reason", .string(reason))) }
            let query = scope.symbol.map { "?symbol=\($0.uppercased())" } ?? ""
            let (data, _) = try options.call("POST", "/api/v1/strategies/\(scope.strategy)/rollback\(query)", body: .object(body))
            if options.json { return CtlOutput.line(data.prettyText) }
            CtlOutput.line("restored; stored version \(data["stored_version"]?.text ?? "?")")
            ConfigCommand.printResolved(data)
        }
    }

    // MARK: - Helpers

    /// `name=value` typed by the schema, so `top_levels=5` is an int and `buy_threshold=2` a number.
    static func typedValue(_ text: String, _ spec: ParameterSpec?) -> APIJSON {
        switch spec?.type {
        case .int?: if let i = Int64(text) { return .int(i) }
        case .double?: if let d = Double(text), d.isFinite { return .double(d) }
        case .bool?: if text == "true" || text == "false" { return .bool(text == "true") }
        case .string?: return .string(text)
        case nil: break
        }
        // Unknown or mistyped: send it as JSON if it is, so the server's validation names the problem.
        return (try? APIJSON.parse(text)) ?? .string(text)
    }

    static func printResolved(_ data: APIJSON) {
        let scope = data["symbol"]?.stringValue ?? "global"
        CtlOutput.line("\(data["strategy_id"]?.stringValue ?? "") (\(scope)): source \(data["source"]?.stringValue ?? "?"), "
                       + "version \(data["version"]?.text ?? "0")\(data["enabled"] == .bool(false) ? ", NOT ENABLED" : "")")
        var rows = [["PARAMETER", "VALUE", "SOURCE"]]
        let sources = data["parameter_sources"]
        for (name, value) in data["parameters"]?.objectMembers ?? [] {
            rows.append([name, value.text, sources?[name]?.stringValue ?? ""])
        }
        CtlOutput.line(table(rows))
    }

    static func table(_ rows: [[String]]) -> String {
        let widths = (0..<(rows.first?.count ?? 0)).map { c in rows.map { $0[c].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }
}

extension APIJSON {
    /// Compact JSON text, for table cells.
    var text: String {
        if case .string(let s) = self { return s }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Indented JSON, for `--json`, through sidecarctl's renderer.
    var prettyText: String { rendered.render(pretty: true) }

    private var rendered: JSONValue {
        switch self {
        case .null: .null
        case .bool(let b): .bool(b)
        case .int(let i): .int(i)
        case .double(let d): .double(d)
        case .string(let s): .string(s)
        case .array(let items): .array(items.map(\.rendered))
        case .object(let members): .object(members.map { ($0.0, $0.1.rendered) })
        }
    }
}
