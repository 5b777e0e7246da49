import Foundation
import Testing
@testable import Sidecar

/// HTTP calls with JSON bodies, read with the service's own strict parser (ints stay ints).
struct HTTPJSON {
    let base: String

    init(port: Int) { base = "http://127.0.0.1:\(port)" }

    func call(_ method: String, _ path: String, _ body: String? = nil) async throws -> (status: Int, json: JSONValue) {
        let url = base + path
        let response = try await offloaded {
            try SimpleHTTPClient.request(method, url, body: body.map { Array($0.utf8) })
        }
        let json = (try? JSONValue.parse(response.body)) ?? .string(response.text)
        return (response.status, json)
    }
}

extension JSONValue {
    subscript(path path: String) -> JSONValue? {
        var node: JSONValue? = self
        for part in path.split(separator: ".") {
            if let index = Int(part), case .array(let items)? = node {
                node = index < items.count ? items[index] : nil
            } else {
                node = node?[String(part)]
            }
        }
        return node
    }

    var doubleValue: Double? {
        switch self { case .double(let d): d; case .int(let i): Double(i); default: nil }
    }
}

/// The `realtime-sidecar` executable as a child process, for restart, `kill -9` and
/// two-process tests. Its log goes to a file shown on failure.
final class SidecarProcess: @unchecked Sendable {
    let process = Process()
    let httpPort: Int
    let log: URL

    static func binary() throws -> String {
        let ctl = try SidecarctlBinary.require()
        let path = URL(fileURLWithPath: ctl).deletingLastPathComponent().appendingPathComponent("realtime-sidecar").path
        try #require(FileManager.default.isExecutableFile(atPath: path), "realtime-sidecar not built next to sidecarctl")
        return path
    }

    init(environment: [String: String]) throws {
        httpPort = try NATSServerProcess.freePort()
        log = FileManager.default.temporaryDirectory.appendingPathComponent("sidecar-\(getpid())-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: try Self.binary())
        var env = ProcessInfo.processInfo.environment
        env["HTTP_HOST"] = "127.0.0.1"
        env["HTTP_PORT"] = "\(httpPort)"
        env["SIDECAR_SOCKET_PATH"] = ""
        env["NATS_URL"] = "nats://127.0.0.1:1"
        env["CONFIG_STORE"] = "memory"
        env["LOG_LEVEL"] = "notice"
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var http: HTTPJSON { HTTPJSON(port: httpPort) }

    /// Waits until HTTP answers and the config store is ready.
    func waitUntilConfigReady(timeout: Double = 30) async throws {
        try await waitUntil("sidecar config store ready (log \(log.path))", timeout: timeout) {
            guard let (_, json) = try? await self.http.call("GET", "/ready") else { return false }
            return json[path: "checks.config.state"]?.stringValue == "ready"
        }
    }

    func kill9() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func terminate() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    func logText() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    deinit {
        if process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: log)
    }
}
