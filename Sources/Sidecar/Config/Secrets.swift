import Foundation

/// A secret read from the environment or a file. Its description never shows the value, so
/// string interpolation into a log line or an error cannot leak it.
public struct SecretString: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What configuration listings show in place of a set secret.
    public static let shown = "<set>"

    public let value: String

    public init(_ value: String) { self.value = value }

    public var description: String { Self.shown }
    public var debugDescription: String { Self.shown }

    /// `NAME` or, when set, the content of the file named by `NAME_FILE` (one trailing newline
    /// removed, as `kubectl create secret --from-file` keeps it). nil when neither is set.
    static func fromEnvironment(_ environment: [String: String], _ name: String) throws(ConfigurationError) -> SecretString? {
        if let path = environment[name + "_FILE"]?.trimmingCharacters(in: .whitespaces), !path.isEmpty {
            return try fromFile(path, variable: name + "_FILE")
        }
        guard let value = environment[name], !value.isEmpty else { return nil }
        return SecretString(value)
    }

    /// The file's content, trailing newlines removed; an empty or unreadable file is an error
    /// that names the file, never its content.
    public static func fromFile(_ path: String, variable: String) throws(ConfigurationError) -> SecretString {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(variable: variable, value: path, reason: "cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(variable: variable, value: path, reason: "the file is not UTF-8 text")
        }
        let trimmed = text.trimmingCharacters(in: .newlines)
        guard !trimmed.isEmpty else {
            throw ConfigurationError(variable: variable, value: path, reason: "the file is empty")
        }
        return SecretString(trimmed)
    }
}

/// TLS material and credentials of the NATS connections. File paths are shown in listings;
/// token and password never are.
public struct NATSSecurity: Sendable, Equatable {
    /// PEM CA bundle verifying the server; any of the three TLS files turns TLS on.
    public var tlsCAFile: String?
    public var tlsCertFile: String?
    public var tlsKeyFile: String?
    /// User JWT + NKey seed (`nsc` creds file).
    public var credsFile: String?
    public var nkeySeedFile: String?
    public var token: SecretString?
    public var user: String?
    public var password: SecretString?

    public init() {}

    public var tlsEnabled: Bool { tlsCAFile != nil || tlsCertFile != nil || tlsKeyFile != nil }

    /// The `NATS_TLS_*`, `NATS_CREDS_FILE`, `NATS_NKEY_SEED_FILE`, `NATS_TOKEN(_FILE)`, `NATS_USER`
    /// and `NATS_PASSWORD(_FILE)` variables, checked; the sidecar and sidecarctl read the same ones.
    public init(environment: [String: String]) throws(ConfigurationError) {
        let env = EnvironmentReader(environment: environment)
        tlsCAFile = env.nonEmpty("NATS_TLS_CA_FILE")
        tlsCertFile = env.nonEmpty("NATS_TLS_CERT_FILE")
        tlsKeyFile = env.nonEmpty("NATS_TLS_KEY_FILE")
        credsFile = env.nonEmpty("NATS_CREDS_FILE")
        nkeySeedFile = env.nonEmpty("NATS_NKEY_SEED_FILE")
        token = try SecretString.fromEnvironment(environment, "NATS_TOKEN")
        user = env.nonEmpty("NATS_USER")
        password = try SecretString.fromEnvironment(environment, "NATS_PASSWORD")
        if (tlsCertFile == nil) != (tlsKeyFile == nil) {
            throw ConfigurationError(variable: tlsCertFile == nil ? "NATS_TLS_KEY_FILE" : "NATS_TLS_CERT_FILE",
                                     value: tlsCertFile ?? tlsKeyFile ?? "",
                                     reason: "mutual TLS needs both NATS_TLS_CERT_FILE and NATS_TLS_KEY_FILE")
        }
        if password != nil, user == nil {
            throw ConfigurationError(variable: "NATS_PASSWORD", value: SecretString.shown, reason: "set NATS_USER as well")
        }
        let methods = [credsFile != nil, nkeySeedFile != nil, token != nil, user != nil].filter { $0 }.count
        guard methods <= 1 else {
            throw ConfigurationError(variable: "NATS_CREDS_FILE", value: credsFile ?? "",
                                     reason: "choose one of NATS_CREDS_FILE, NATS_NKEY_SEED_FILE, NATS_TOKEN(_FILE), NATS_USER")
        }
        for (name, path) in [("NATS_TLS_CA_FILE", tlsCAFile), ("NATS_TLS_CERT_FILE", tlsCertFile),
                             ("NATS_TLS_KEY_FILE", tlsKeyFile), ("NATS_CREDS_FILE", credsFile),
                             ("NATS_NKEY_SEED_FILE", nkeySeedFile)] {
            if let path, !FileManager.default.isReadableFile(atPath: path) {
                throw ConfigurationError(variable: name, value: path, reason: "cannot read the file")
            }
        }
    }

    var effectiveValues: [(String, String)] {
        [
            ("NATS_TLS_CA_FILE", tlsCAFile ?? ""),
            ("NATS_TLS_CERT_FILE", tlsCertFile ?? ""),
            ("NATS_TLS_KEY_FILE", tlsKeyFile ?? ""),
            ("NATS_CREDS_FILE", credsFile ?? ""),
            ("NATS_NKEY_SEED_FILE", nkeySeedFile ?? ""),
            ("NATS_TOKEN", token == nil ? "" : SecretString.shown),
            ("NATS_USER", user ?? ""),
            ("NATS_PASSWORD", password == nil ? "" : SecretString.shown),
        ]
    }
}
