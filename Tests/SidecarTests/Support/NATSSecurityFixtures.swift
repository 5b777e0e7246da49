import Foundation
@testable import NATS
@testable import Sidecar

/// Certificates, keys and nats-server configurations generated at test time with the `openssl`
/// CLI, in a temporary directory removed on deinit.
final class NATSSecurityFixtures: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible { let description: String }

    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("nats-sec-\(getpid())-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// `openssl` on PATH, or nil (the tests then skip with a message).
    static var opensslPath: String? {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
            + ["/usr/bin", "/usr/local/bin"]
        return dirs.map { "\($0)/openssl" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Why these tests cannot run here, or nil.
    static var missingTool: String? {
        if opensslPath == nil { return "openssl not found (scripts/install-deps installs it)" }
        if (try? NATSServerProcess.executablePath()) == nil { return "nats-server not found" }
        return nil
    }

    @discardableResult
    func openssl(_ arguments: [String]) throws -> Data {
        guard let tool = Self.opensslPath else { throw Failure(description: "openssl not found") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "openssl \(arguments.joined(separator: " ")) failed: "
                          + String(decoding: errors, as: UTF8.self))
        }
        return data
    }

    func write(_ name: String, _ text: String) throws -> String {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
        return path(name)
    }

    /// A self-signed CA: `<name>.pem`, `<name>.key`.
    func makeCA(_ name: String) throws {
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", "\(name).key", "-out", "\(name).pem", "-days", "2", "-subj", "/CN=\(name)"])
    }

    /// A leaf certificate `<name>.pem` / `<name>.key` signed by `ca`, with the given SANs and usage.
    func makeLeaf(_ name: String, ca: String, subjectAltName: String?, usage: String) throws {
        try openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(name)"])
        var ext = "extendedKeyUsage=\(usage)\nbasicConstraints=CA:FALSE\n"
        if let subjectAltName { ext += "subjectAltName=\(subjectAltName)\n" }
        _ = try write("\(name).ext", ext)
        try openssl(["x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).pem", "-CAkey", "\(ca).key",
                     "-CAcreateserial", "-out", "\(name).pem", "-days", "2", "-extfile", "\(name).ext"])
    }

    /// CA `ca`, server `server` (IP:127.0.0.1, DNS:localhost), client `client` (mutual TLS),
    /// a server `wrongname` for another host, and an unrelated CA `otherca`.
    func makeTLSMaterial() throws {
        try makeCA("ca")
        try makeLeaf("server", ca: "ca", subjectAltName: "IP:127.0.0.1,DNS:localhost", usage: "serverAuth")
        try makeLeaf("client", ca: "ca", subjectAltName: nil, usage: "clientAuth")
        try makeLeaf("wrongname", ca: "ca", subjectAltName: "DNS:nats.other.example", usage: "serverAuth")
        try makeCA("otherca")
    }

    /// A user NKey from `openssl genpkey -algorithm ed25519`: (seed text, public key text). The
    /// raw keys are the last 32 bytes of the DER forms (PKCS#8 private, SPKI public).
    func makeUserNKey(_ name: String) throws -> (seed: String, publicKey: String) {
        try openssl(["genpkey", "-algorithm", "ed25519", "-out", "\(name).pem"])
        let privateDER = try openssl(["pkey", "-in", "\(name).pem", "-outform", "DER"])
        let publicDER = try openssl(["pkey", "-in", "\(name).pem", "-pubout", "-outform", "DER"])
        guard privateDER.count >= 32, publicDER.count >= 32 else { throw Failure(description: "short ed25519 DER") }
        return (NATSNKey.encodeUserSeed(Array(privateDER.suffix(32))),
                NATSNKey.encodeUserPublicKey(Array(publicDER.suffix(32))))
    }

    /// A nats-server configuration file with the given body.
    func serverConfig(_ name: String, _ body: String) throws -> URL {
        URL(fileURLWithPath: try write("\(name).conf", body))
    }

    func tlsBlock(cert: String = "server", verifyClients: Bool = false) -> String {
        """
        tls {
          cert_file: "\(path(cert + ".pem"))"
          key_file: "\(path(cert + ".key"))"
          ca_file: "\(path("ca.pem"))"
          verify: \(verifyClients)
          timeout: 2
        }

        """
    }
}

/// An operator-mode (decentralised JWT) set-up made without `nsc`: operator, account and user
/// NKeys from openssl, JWTs (nats-io/jwt v2 claims, `ed25519-nkey`) signed with `openssl pkeyutl`.
extension NATSSecurityFixtures {
    struct Identity {
        let name: String
        let publicKey: String
        let seed: String
    }

    static let operatorPrefix: UInt8 = 14 << 3  // 'O'
    static let accountPrefix: UInt8 = 0         // 'A'

    func makeIdentity(_ name: String, prefix: UInt8) throws -> Identity {
        try openssl(["genpkey", "-algorithm", "ed25519", "-out", "\(name).pem"])
        let privateDER = try openssl(["pkey", "-in", "\(name).pem", "-outform", "DER"])
        let publicDER = try openssl(["pkey", "-in", "\(name).pem", "-pubout", "-outform", "DER"])
        let raw = Array(publicDER.suffix(32))
        let body = [prefix] + raw
        let crc = NATSNKey.crc16(body)
        let publicKey = NATSNKey.base32Encode(body + [UInt8(crc & 0xFF), UInt8(crc >> 8)])
        let seed = prefix == NATSNKey.userPrefix ? NATSNKey.encodeUserSeed(Array(privateDER.suffix(32))) : ""
        return Identity(name: name, publicKey: publicKey, seed: seed)
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// A JWT with `claims` (JSON object text without iss/sub/iat/jti) signed by `issuer`'s key.
    func jwt(issuer: Identity, subject: String, name: String, nats: String) throws -> String {
        let header = Self.base64URL(Data(#"{"typ":"JWT","alg":"ed25519-nkey"}"#.utf8))
        let iat = Int(Date().timeIntervalSince1970)
        let claims = #"{"jti":"\#(UUID().uuidString)","iat":\#(iat),"iss":"\#(issuer.publicKey)","name":"\#(name)","sub":"\#(subject)","nats":\#(nats)}"#
        let signingInput = header + "." + Self.base64URL(Data(claims.utf8))
        let inputFile = try write("\(name).jwt-input", signingInput)
        let signature = try openssl(["pkeyutl", "-sign", "-inkey", "\(issuer.name).pem", "-rawin", "-in", inputFile])
        return signingInput + "." + Self.base64URL(signature)
    }

    /// The server configuration body (operator, memory resolver with the account preloaded) and
    /// the user's creds file.
    func makeOperatorMode() throws -> (serverConfig: String, credsFile: String, user: Identity) {
        let op = try makeIdentity("operator", prefix: Self.operatorPrefix)
        let account = try makeIdentity("account", prefix: Self.accountPrefix)
        let user = try makeIdentity("jwtuser", prefix: NATSNKey.userPrefix)
        let operatorJWT = try jwt(issuer: op, subject: op.publicKey, name: "operator",
                                  nats: #"{"type":"operator","version":2}"#)
        let accountJWT = try jwt(issuer: op, subject: account.publicKey, name: "account", nats: """
            {"limits":{"subs":-1,"data":-1,"payload":-1,"imports":-1,"exports":-1,"wildcards":true,"conn":-1,"leaf":-1},\
            "default_permissions":{"pub":{},"sub":{}},"type":"account","version":2}
            """)
        let userJWT = try jwt(issuer: account, subject: user.publicKey, name: "jwtuser",
                              nats: #"{"pub":{},"sub":{},"subs":-1,"data":-1,"payload":-1,"type":"user","version":2}"#)
        let creds = """
            -----BEGIN NATS USER JWT-----
            \(userJWT)
            ------END NATS USER JWT------

            -----BEGIN USER NKEY SEED-----
            \(user.seed)
            ------END USER NKEY SEED------

            """
        let config = """
            operator: \(operatorJWT)
            resolver: MEMORY
            resolver_preload: {
              \(account.publicKey): \(accountJWT)
            }

            """
        return (config, try write("jwtuser.creds", creds), user)
    }
}
