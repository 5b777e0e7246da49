import Foundation
import Logging
import Synchronization
import Testing
@testable import Sidecar

/// A sidecar running in this process on real ports: NATS from `natsURL`, HTTP on a free port,
/// the Unix socket on a fresh short path under /tmp (socket paths are limited to 107 bytes).
final class RunningSidecar: @unchecked Sendable {
    let runtime: SidecarRuntime
    let httpPort: Int
    /// The admin listener's port (config writes without a token); nil when it is off.
    private(set) var adminPort: Int?
    /// nil when the configuration disabled the socket.
    let socketPath: String?
    private let task: Task<Void, Error>

    private init(runtime: SidecarRuntime, httpPort: Int, socketPath: String?, task: Task<Void, Error>) {
        self.runtime = runtime
        self.httpPort = httpPort
        self.socketPath = socketPath
        self.task = task
    }

    /// A fresh socket path: /tmp/rs-<pid>-<random>.sock.
    static func temporarySocketPath() -> String {
        "/tmp/rs-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock"
    }

    static func start(natsURL: String, _ configure: (inout SidecarConfiguration) -> Void = { _ in }) async throws -> RunningSidecar {
        var configuration = SidecarConfiguration()
        configuration.natsURL = natsURL
        configuration.httpHost = "127.0.0.1"
        configuration.httpPort = 0
        configuration.adminHTTPPort = 0
        configuration.socketPath = temporarySocketPath()
        configuration.configStore = .memory
        // The feeds of these tests (the synthetic market, the recordings) carry Binance's own
        // stream names; attribution by evidence is tested in BookEngineTests and tests/book-integrity.
        configuration.engine.book.attribution = .label
        configure(&configuration)
        var logger = Logger(label: "test-sidecar")
        logger.logLevel = .warning
        let runtime = try SidecarRuntime(configuration: configuration, logger: logger)
        let port = Mutex<Int?>(nil)
        let socket = Mutex<String?>(nil)
        let adminPort = Mutex<Int?>(nil)
        let task = Task {
            try await runtime.run(shutdownSignals: [], onHTTPBound: { bound in port.withLock { $0 = bound } },
                                  onAdminHTTPBound: { bound in adminPort.withLock { $0 = bound } },
                                  onSocketBound: { path in socket.withLock { $0 = path } })
        }
        let bound = try await waitFor("HTTP port bound", timeout: 15) { port.withLock { $0 } }
        var admin: Int?
        if configuration.adminHTTPPort != nil {
            admin = try await waitFor("admin HTTP port bound", timeout: 15) { adminPort.withLock { $0 } }
        }
        if configuration.socketPath != nil {
            try await waitFor("socket bound", timeout: 15) { socket.withLock { $0 } }
        }
        let sidecar = RunningSidecar(runtime: runtime, httpPort: bound, socketPath: configuration.socketPath, task: task)
        sidecar.adminPort = admin
        return sidecar
    }

    func get(_ path: String) async throws -> SimpleHTTPClient.Response {
        let url = "http://127.0.0.1:\(httpPort)\(path)"
        return try await offloaded { try SimpleHTTPClient.get(url) }
    }

    func getJSON(_ path: String) async throws -> (status: Int, object: [String: Any]) {
        let response = try await get(path)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
                                  "\(path) did not answer a JSON object: \(response.text)")
        return (response.status, object)
    }

    /// Graceful shutdown, as on SIGTERM; returns once every service has stopped.
    func stop() async throws {
        await runtime.shutdown()
        try await task.value
    }
}

/// Runs blocking work on a Dispatch thread. Swift's cooperative pool has one thread per core
/// (two here), and the HTTP server's handlers need it: blocking it from a test can starve them.
func offloaded<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}

struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Polls `probe` every 20 ms until it returns a value, or fails after `timeout` seconds.
@discardableResult
func waitFor<T>(_ what: String, timeout: Double, _ probe: () async throws -> T?) async throws -> T {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if let value = try await probe() { return value }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TimedOut(what: what)
}

/// Waits until `condition` holds.
func waitUntil(_ what: String, timeout: Double, _ condition: () async throws -> Bool) async throws {
    try await waitFor(what, timeout: timeout) { try await condition() ? true : nil }
}

/// Recordings in `<package root>/../shared/binance-real/replay`, when present.
enum SharedReplay {
    static let directory: URL? = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let replay = root.deletingLastPathComponent().appendingPathComponent("shared/binance-real/replay")
        return FileManager.default.fileExists(atPath: replay.path) ? replay : nil
    }()

    static func file(_ name: String) -> URL? {
        guard let url = directory?.appendingPathComponent(name), FileManager.default.fileExists(atPath: url.path) else {
            print("SKIPPED: ../shared/binance-real/replay/\(name) not found")
            return nil
        }
        return url
    }
}
