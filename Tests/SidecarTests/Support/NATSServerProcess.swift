import Foundation
#if canImport(Glibc)
import Glibc
private let streamSocketType = Int32(SOCK_STREAM.rawValue)
private func sendSignal(_ pid: pid_t, _ signal: Int32) { _ = Glibc.kill(pid, signal) }
private func closeDescriptor(_ fd: Int32) { _ = Glibc.close(fd) }
#elseif canImport(Darwin)
import Darwin
private let streamSocketType = SOCK_STREAM
private func sendSignal(_ pid: pid_t, _ signal: Int32) { _ = Darwin.kill(pid, signal) }
private func closeDescriptor(_ fd: Int32) { _ = Darwin.close(fd) }
#endif

/// A real `nats-server` child process for integration tests: JetStream enabled (store in a temp
/// dir), bound to 127.0.0.1 on a free port that is kept across `stop()`/`kill()` and `start()`,
/// so restart tests reconnect to the same URL. The process is killed in `deinit`.
final class NATSServerProcess: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    let port: Int
    let jetStream: Bool
    /// A nats-server configuration file (TLS, authorization) read with `-c`; address and port
    /// still come from the command line.
    let configFile: URL?
    let workDir: URL
    private let lock = NSLock()
    private var process: Process?
    private var launches = 0

    var url: String { "nats://127.0.0.1:\(port)" }
    var logURL: URL { workDir.appendingPathComponent("nats-server.log") }
    var isRunning: Bool { lock.withLock { process?.isRunning ?? false } }
    var pid: Int32? { lock.withLock { process.map { $0.processIdentifier } } }

    /// - Parameters:
    ///   - port: a fixed port, or nil to pick a free one.
    ///   - start: start right away (and wait until it accepts TCP connections).
    init(port: Int? = nil, jetStream: Bool = true, configFile: URL? = nil, start: Bool = true) throws {
        self.port = try port ?? Self.freePort()
        self.jetStream = jetStream
        self.configFile = configFile
        self.workDir = FileManager.default.temporaryDirectory
            .appendingPathComponent("nats-test-\(getpid())-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true)
        if start { try self.start() }
    }

    deinit {
        if let process, process.isRunning {
            sendSignal(process.processIdentifier, SIGCONT)
            sendSignal(process.processIdentifier, SIGKILL)
            _ = Self.waitForExit(process, timeout: 5)
        }
        try? FileManager.default.removeItem(at: workDir)
    }

    /// Locates `nats-server` on PATH or in /usr/sbin, /usr/local/sbin, /usr/bin.
    static func executablePath() throws -> String {
        var candidates: [String] = []
        if let path = ProcessInfo.processInfo.environment["PATH"] {
            candidates += path.split(separator: ":").map { "\($0)/nats-server" }
        }
        candidates += ["/usr/sbin/nats-server", "/usr/local/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"]
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) {
            return found
        }
        throw Failure(description: "nats-server not found on PATH or in /usr/sbin; install the Debian package 'nats-server'")
    }

    /// Binds a TCP socket to 127.0.0.1:0 and returns the port the kernel picked.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, streamSocketType, 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed: errno \(errno)") }
        defer { closeDescriptor(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw Failure(description: "bind() failed: errno \(errno)") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard named == 0 else { throw Failure(description: "getsockname() failed: errno \(errno)") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Starts the server (no-op if running) and waits up to `timeout` for it to accept TCP.
    func start(timeout: TimeInterval = 10) throws {
        let path = try Self.executablePath()
        let process: Process = try lock.withLock {
            if let existing = self.process, existing.isRunning { return existing }
            launches += 1
            let p = Process()
            p.executableURL = URL(fileURLWithPath: path)
            var args = ["-a", "127.0.0.1", "-p", String(port), "-n", "test-\(port)"]
            if let configFile { args = ["-c", configFile.path] + args }
            if jetStream {
                args += ["-js", "--store_dir", workDir.appendingPathComponent("jetstream").path]
            }
            p.arguments = args
            if !FileManager.default.fileExists(atPath: logURL.path) {
                _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
            }
            let log = try FileHandle(forWritingTo: logURL)
            log.seekToEndOfFile()
            p.standardOutput = log
            p.standardError = log
            p.standardInput = FileHandle.nullDevice
            try p.run()
            self.process = p
            return p
        }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !process.isRunning {
                throw Failure(description: "nats-server exited early (status \(process.terminationStatus)) on port \(port):\n\(logTail())")
            }
            if Self.acceptsConnections(port: port) { return }
            usleep(20_000)
        }
        throw Failure(description: "nats-server did not accept connections on 127.0.0.1:\(port) within \(timeout) s:\n\(logTail())")
    }

    /// SIGTERM and wait for exit (falls back to SIGKILL after `timeout`).
    func stop(timeout: TimeInterval = 10) {
        guard let process = lock.withLock({ self.process }), process.isRunning else { return }
        sendSignal(process.processIdentifier, SIGCONT)  // a paused server cannot handle SIGTERM
        process.terminate()
        if !Self.waitForExit(process, timeout: timeout) {
            sendSignal(process.processIdentifier, SIGKILL)
            _ = Self.waitForExit(process, timeout: 5)
        }
    }

    /// SIGKILL and wait for exit: the server vanishes without closing client connections cleanly.
    func kill() {
        guard let process = lock.withLock({ self.process }), process.isRunning else { return }
        sendSignal(process.processIdentifier, SIGKILL)
        _ = Self.waitForExit(process, timeout: 5)
    }

    /// SIGSTOP: the server keeps its sockets open but stops answering (stale connection).
    func pause() {
        guard let pid = runningPID() else { return }
        sendSignal(pid, SIGSTOP)
    }

    /// SIGCONT.
    func resume() {
        guard let pid = runningPID() else { return }
        sendSignal(pid, SIGCONT)
    }

    func logTail(maxBytes: Int = 4000) -> String {
        guard let data = try? Data(contentsOf: logURL) else { return "(no log)" }
        return String(decoding: data.suffix(maxBytes), as: UTF8.self)
    }

    private func runningPID() -> Int32? {
        lock.withLock {
            guard let process, process.isRunning else { return nil }
            return process.processIdentifier
        }
    }

    private static func waitForExit(_ process: Process, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() >= deadline { return false }
            usleep(10_000)
        }
        return true
    }

    static func acceptsConnections(port: Int) -> Bool {
        let fd = socket(AF_INET, streamSocketType, 0)
        guard fd >= 0 else { return false }
        defer { closeDescriptor(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return rc == 0
    }
}
