import Foundation
import Logging
import Testing
@testable import Sidecar
#if canImport(Glibc)
import Glibc
#endif

/// The file's mode bits and type from lstat.
private func fileMode(_ path: String) -> (isSocket: Bool, permissions: Int)? {
    var info = stat()
    guard lstat(path, &info) == 0 else { return nil }
    return ((info.st_mode & S_IFMT) == S_IFSOCK, Int(info.st_mode & 0o7777))
}

/// Leaves a socket file with no listener behind, as a crashed server would.
private func makeStaleSocket(_ path: String) throws {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    #expect(fd >= 0)
    defer { close(fd) }
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (i, byte) in path.utf8.enumerated() { raw[i] = byte }
    }
    let rc = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    #expect(rc == 0, "bind errno \(errno)")
}

@Suite("Socket file and peer authorisation", .serialized)
struct SocketFileTests {
    @Test("the socket is created with mode 0660 by default, in a parent directory created on demand")
    func defaultMode() async throws {
        let directory = "/tmp/rs-dir-\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fixture = SocketFixture(path: "\(directory)/nested/s.sock")
        let previous = umask(0o022)  // a umask that alone would give 0755
        defer { umask(previous) }
        try await fixture.server.start()
        let mode = try #require(fileMode(fixture.path))
        #expect(mode.isSocket)
        #expect(mode.permissions == 0o660)
        await fixture.stop()
        #expect(fileMode(fixture.path) == nil, "socket file not removed on shutdown")
    }

    @Test("SIDECAR_SOCKET_MODE sets another mode")
    func customMode() async throws {
        let fixture = try await SocketFixture.started { $0.mode = 0o600 }
        #expect(fileMode(fixture.path)?.permissions == 0o600)
        await fixture.stop()
    }

    @Test("a stale socket file with no listener is replaced")
    func staleSocketReplaced() async throws {
        let path = RunningSidecar.temporarySocketPath()
        try makeStaleSocket(path)
        #expect(fileMode(path)?.isSocket == true)
        let fixture = SocketFixture(path: path)
        try await fixture.server.start()
        let client = try await fixture.client()
        try await offloaded { try client.hello() }
        await fixture.stop()
        #expect(fileMode(path) == nil)
    }

    @Test("a socket another server answers on makes start fail, and that server keeps working")
    func liveSocketRefused() async throws {
        let first = try await SocketFixture.started()
        let second = SocketFixture(path: first.path)
        await #expect(throws: SocketServerError.alreadyInUse(path: first.path)) {
            try await second.server.start()
        }
        let client = try await first.client()
        try await offloaded { try client.hello() }
        await first.stop()
    }

    @Test("a regular file at the socket path is refused and left untouched")
    func regularFileRefused() async throws {
        let path = RunningSidecar.temporarySocketPath()
        try Data("precious".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fixture = SocketFixture(path: path)
        await #expect(throws: SocketServerError.notASocket(path: path, type: "regular file")) {
            try await fixture.server.start()
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "precious")
    }

    @Test("a peer whose UID is not allowed gets PERMISSION_DENIED and is disconnected")
    func refusedUID() async throws {
        let fixture = try await SocketFixture.started { $0.allowedUIDs = [getuid() &+ 4242] }
        let client = try await fixture.client()
        let frames = try await offloaded {
            try? client.send(.hello(.init()), id: 1)
            return try client.readUntilClosed()
        }
        #expect(frames.count == 1)
        guard case .error(let info) = frames.first?.response else {
            Issue.record("no error frame: \(frames)")
            return
        }
        #expect(info.code == .permissionDenied)
        #expect(info.details["uid"] == "\(getuid())")
        #expect(fixture.socketStats.permissionDenied.value == 1)
        await fixture.stop()
    }

    @Test("a peer whose UID is listed is served")
    func allowedUID() async throws {
        let fixture = try await SocketFixture.started { $0.allowedUIDs = [getuid() &+ 1, getuid()] }
        let client = try await fixture.client()
        let health = try await offloaded { try client.hello(); return try client.call(.healthCheck) }
        guard case .health = health else {
            Issue.record("allowed peer not served: \(health)")
            return
        }
        await fixture.stop()
    }

    @Test("the runtime serves the socket at SIDECAR_SOCKET_PATH and removes it on shutdown")
    func runtimeLifecycle() async throws {
        let server = try NATSServerProcess()
        let sidecar = try await RunningSidecar.start(natsURL: server.url)
        let path = try #require(sidecar.socketPath)
        #expect(fileMode(path)?.permissions == 0o660)
        let client = try await offloaded { try SocketTestClient(path: path) }
        let health = try await offloaded { try client.hello(); return try client.call(.healthCheck) }
        guard case .health(let h) = health else {
            Issue.record("no health: \(health)")
            return
        }
        #expect(h.live)
        #expect(h.version == SidecarRuntime.version)

        // A second sidecar on the same path refuses to start instead of stealing the socket.
        var second = sidecar.runtime.configuration
        second.httpPort = 0
        var logger = Logger(label: "second-sidecar")
        logger.logLevel = .critical
        let other = try SidecarRuntime(configuration: second, logger: logger)
        await #expect(throws: SocketServerError.alreadyInUse(path: path)) {
            try await other.run(shutdownSignals: [])
        }
        let still = try await offloaded { try client.call(.healthCheck) }
        guard case .health = still else {
            Issue.record("first sidecar disturbed: \(still)")
            return
        }
        async let stopped: Void = sidecar.stop()
        let frames = try await offloaded { try client.readUntilClosed() }
        try await stopped
        #expect(frames.last?.response == .goodbye(reason: "server shutting down"))
        #expect(fileMode(path) == nil)
    }
}
