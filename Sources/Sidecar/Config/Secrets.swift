import Foundation
import NATS

// `SecretString` and `NATSSecurity` live in NATS, which knows no environment variables;
// reading and checking them from the environment is configuration, so it stays here.

extension SecretString {
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
    /// that names the variable and the file, never its content.
    public static func fromFile(_ path: String, variable: String) throws(ConfigurationError) -> SecretString {
        do {
            return try contents(ofFile: path)
        } catch {
            throw ConfigurationError(variable: variable, value: path, reason: error.reason)
        }
    }
}

extension NATSSecurity {
    /// The `NATS_TLS_*`, `NATS_CREDS_FILE`, `NATS_NKEY_SEED_FILE`, `NATS_TOKEN(_FILE)`, `NATS_USER`
    /// and `NATS_PASSWORD(_FILE)` variables, checked; the sidecar and sidecarctl read the same ones.
    public init(environment: [String: String]) throws(ConfigurationError) {
        self.init()
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
