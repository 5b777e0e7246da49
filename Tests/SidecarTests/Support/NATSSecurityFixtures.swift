import Foundation
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
