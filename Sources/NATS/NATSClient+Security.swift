import CNATS
import Foundation

// TLS and credentials of a connection. Secrets (token, password, seed) are handed to libnats
// only; errors name the option and the file, never a secret value.
extension NATSClient {
    /// True when the connection must be TLS: a TLS file is configured or a URL says `tls://`.
    static func wantsTLS(_ o: NATSClientOptions) -> Bool {
        o.security.tlsEnabled || o.serverURLs.contains { $0.lowercased().hasPrefix("tls://") }
    }

    /// The host of a server URL (`tls://user:pw@host:4222` → `host`, `[::1]:4222` → `::1`).
    static func host(of url: String) -> String {
        var rest = Substring(url)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        if let at = rest.lastIndex(of: "@") { rest = rest[rest.index(after: at)...] }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
            return String(rest[rest.index(after: rest.startIndex)..<close])
        }
        if let colon = rest.firstIndex(of: ":") { rest = rest[..<colon] }
        return String(rest)
    }

    /// With TLS 1.3 a server that requires a client certificate closes the connection after
    /// the handshake, which libnats reports as an empty protocol reply: say what it likely means.
    static func explained(_ error: NATSError, _ o: NATSClientOptions) -> NATSError {
        guard wantsTLS(o), o.security.tlsCertFile == nil, error.statusCode == Int(NATS_PROTOCOL_ERROR.rawValue) else {
            return error
        }
        return NATSError(kind: error.kind, statusCode: error.statusCode, statusText: error.statusText,
                         operation: error.operation, subject: error.subject,
                         detail: (error.detail ?? error.statusText)
                            + "; the server closed the TLS connection: does it require a client certificate "
                            + "(NATS_TLS_CERT_FILE, NATS_TLS_KEY_FILE)?")
    }

    static func configureSecurity(_ opts: OpaquePointer, _ o: NATSClientOptions) throws {
        let op = "configure client"
        let s = o.security
        if wantsTLS(o) {
            try NATSError.check(natsOptions_SetSecure(opts, true), op + " (TLS)")
            if let ca = s.tlsCAFile {
                try NATSError.check(natsOptions_LoadCATrustedCertificates(opts, ca), op + " (NATS_TLS_CA_FILE \(ca))")
            }
            if let cert = s.tlsCertFile, let key = s.tlsKeyFile {
                try NATSError.check(natsOptions_LoadCertificatesChain(opts, cert, key),
                                    op + " (NATS_TLS_CERT_FILE \(cert), NATS_TLS_KEY_FILE \(key))")
            }
            // libnats 3.4 checks the certificate's name only when an expected host name is set
            // (unless built with NATS_FORCE_HOST_VERIFICATION); one name serves every URL.
            let hosts = Set(o.serverURLs.map(host(of:)))
            guard hosts.count == 1, let name = hosts.first, !name.isEmpty else {
                throw NATSError.invalid(NATS_INVALID_ARG, operation: op + " (TLS host name)",
                                        detail: "TLS host name verification needs one host name in NATS_URL, found "
                                            + hosts.sorted().joined(separator: ", "))
            }
            try NATSError.check(natsOptions_SetExpectedHostname(opts, name), op + " (TLS expected host name \(name))")
            try NATSError.check(natsOptions_SkipServerVerification(opts, false), op + " (TLS server verification)")
        }
        if let creds = s.credsFile {
            try NATSError.check(natsOptions_SetUserCredentialsFromFiles(opts, creds, nil), op + " (NATS_CREDS_FILE \(creds))")
        }
        if let seedFile = s.nkeySeedFile {
            let seed: SecretString
            do {
                seed = try SecretString.contents(ofFile: seedFile)
            } catch {
                throw NATSError.invalid(NATS_INVALID_ARG, operation: op + " (NATS_NKEY_SEED_FILE \(seedFile))",
                                        detail: error.reason)
            }
            let publicKey: String
            do {
                publicKey = try NATSNKey.userPublicKey(fromSeed: seed.value)
            } catch {
                throw NATSError.invalid(NATS_INVALID_ARG, operation: op + " (NATS_NKEY_SEED_FILE \(seedFile))",
                                        detail: error.description)
            }
            // libnats reads the seed from the file when it signs the server's nonce; it is not kept here.
            try NATSError.check(natsOptions_SetNKeyFromSeed(opts, publicKey, seedFile), op + " (NATS_NKEY_SEED_FILE \(seedFile))")
        }
        if let token = s.token {
            try NATSError.check(natsOptions_SetToken(opts, token.value), op + " (NATS_TOKEN)")
        }
        if let user = s.user {
            try NATSError.check(natsOptions_SetUserInfo(opts, user, s.password?.value), op + " (NATS_USER/NATS_PASSWORD)")
        }
    }
}
