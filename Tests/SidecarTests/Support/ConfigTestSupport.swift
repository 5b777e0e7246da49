import Foundation
import Testing
@testable import Sidecar

/// HTTP calls with JSON bodies, read with the service's own strict parser (ints stay ints).
struct HTTPJSON {
    let base: String
    /// Sent as `Authorization: Bearer` when set.
    var token: String?

    init(port: Int, token: String? = nil) {
        base = "http://127.0.0.1:\(port)"
        self.token = token
    }

    func call(_ method: String, _ path: String, _ body: String? = nil) async throws -> (status: Int, json: JSONValue) {
        let url = base + path
        let headers = token.map { [("Authorization", "Bearer \($0)")] } ?? []
        let response = try await offloaded {
            try SimpleHTTPClient.request(method, url, body: body.map { Array($0.utf8) }, headers: headers)
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

/// One `realtime-sidecar` child process, for restart, `kill -9`, signal and two-process tests.
/// Its output goes to a log file (no pipe to fill up). Unless the test says otherwise it gets a
/// free HTTP port, no socket, an unreachable NATS and the memory config store.
final class SidecarProcess: @unchecked Sendable {
    let process = Process()
    let httpPort: Int
    /// The admin listener (config writes without a token); 0 when the test turned it off.
    let adminPort: Int
    let logURL: URL
    private let exited = DispatchSemaphore(value: 0)

    init(binary: String? = nil, environment: [String: String]) throws {
        let path = try binary ?? #require(SidecarBinary.path, "realtime-sidecar not found next to sidecarctl: run `swift build --build-tests`")
        logURL = FileManager.default.temporaryDirectory.appendingPathComponent("sidecar-\(getpid())-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        let log = try FileHandle(forWritingTo: logURL)
        process.executableURL = URL(fileURLWithPath: path)
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where ["NATS_", "SIDECAR_", "HTTP_", "CONFIG_"].contains(where: key.hasPrefix) { env[key] = nil }
        env["HTTP_HOST"] = "127.0.0.1"
        env["HTTP_PORT"] = "\(try NATSServerProcess.freePort())"
        env["ADMIN_HTTP_HOST"] = "127.0.0.1"
        env["ADMIN_HTTP_PORT"] = "\(try NATSServerProcess.freePort())"
        env["SIDECAR_SOCKET_PATH"] = ""
        env["NATS_URL"] = "nats://127.0.0.1:1"
        env["CONFIG_STORE"] = "memory"
        env["LOG_LEVEL"] = env["LOG_LEVEL"] ?? "notice"
        for (key, value) in environment { env[key] = value }
        httpPort = Int(env["HTTP_PORT"] ?? "") ?? 0
        adminPort = Int(env["ADMIN_HTTP_PORT"] ?? "") ?? 0
        process.environment = env
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        let exited = self.exited
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
    }

    deinit {
        if process.isRunning {
            signal(SIGKILL)
            _ = exited.wait(timeout: .now() + 5)
        }
        try? FileManager.default.removeItem(at: logURL)
    }

    var http: HTTPJSON { HTTPJSON(port: httpPort) }
    /// Where tests make config writes: the admin listener.
    var admin: HTTPJSON { HTTPJSON(port: adminPort) }
    var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// Waits until HTTP answers and the config store is ready.
    func waitUntilConfigReady(timeout: Double = 30) async throws {
        try await waitUntil("sidecar config store ready (log \(logURL.path))", timeout: timeout) {
            guard let (_, json) = try? await self.http.call("GET", "/ready") else { return false }
            return json[path: "checks.config.ok"] == .bool(true)
        }
    }

    /// Blocks until the child exits; false on timeout.
    func waitForExit(timeout: Double) -> Bool {
        guard exited.wait(timeout: .now() + timeout) == .success else { return false }
        exited.signal()
        return true
    }

    func signal(_ value: Int32) { _ = kill(process.processIdentifier, value) }

    func kill9() {
        signal(SIGKILL)
        _ = waitForExit(timeout: 10)
    }

    func terminate() {
        guard process.isRunning else { return }
        signal(SIGTERM)
        if !waitForExit(timeout: 15) { kill9() }
    }
}
