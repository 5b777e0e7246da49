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

    /// Why a secret file could not be used; names the problem, never the content. The caller
    /// adds the variable (Sidecar's `ConfigurationError`, or a NATS option error).
    public struct FileError: Error, Sendable, Equatable {
        public var reason: String
    }

    /// The file's content, trailing newlines removed (`kubectl create secret --from-file` keeps
    /// one); an empty or unreadable file is an error.
    public static func contents(ofFile path: String) throws(FileError) -> SecretString {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FileError(reason: "cannot read the file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw FileError(reason: "the file is not UTF-8 text")
        }
        let trimmed = text.trimmingCharacters(in: .newlines)
        guard !trimmed.isEmpty else { throw FileError(reason: "the file is empty") }
        return SecretString(trimmed)
    }
}

/// TLS material and credentials of the NATS connections. File paths are shown in listings;
/// token and password never are. Reading them from the environment is Sidecar's (Config/Secrets.swift).
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
}
