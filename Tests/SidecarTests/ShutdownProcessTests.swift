import Foundation
import Testing
@testable import Sidecar
import Strategies
#if canImport(Glibc)
import Glibc
#endif

/// The `realtime-sidecar` executable built next to `sidecarctl` (`swift build --build-tests`
/// builds both), or `$REALTIME_SIDECAR_BIN`.
enum SidecarBinary {
    static let path: String? = {
        if let explicit = ProcessInfo.processInfo.environment["REALTIME_SIDECAR_BIN"], !explicit.isEmpty { return explicit }
        guard let ctl = SidecarctlBinary.path else { return nil }
        let candidate = URL(fileURLWithPath: ctl).deletingLastPathComponent().appendingPathComponent("realtime-sidecar").path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }()
}

@Suite("The realtime-sidecar process", .serialized)
struct ShutdownProcessTests {
    @Test("SIGTERM during a replay: not ready, socket clients get Goodbye, exit 0 within SHUTDOWN_TIMEOUT_SECONDS, socket file removed",
          .timeLimit(.minutes(3)))
    func sigtermDuringReplay() async throws {
        guard let replay = SharedReplay.file("spot_10symbols_20210405.nats.jsonl.gz") else { return }
        let binary = try #require(SidecarBinary.path, "realtime-sidecar not found next to sidecarctl: run `swift build --build-tests`")
        let server = try NATSServerProcess()
        let httpPort = try NATSServerProcess.freePort()
        let socketPath = RunningSidecar.temporarySocketPath()
        let timeoutSeconds = 10.0
        let sidecar = try SidecarProcess(binary: binary, environment: [
            "NATS_URL": server.url, "HTTP_HOST": "127.0.0.1", "HTTP_PORT": "\(httpPort)",
            "SIDECAR_SOCKET_PATH": socketPath, "SHUTDOWN_TIMEOUT_SECONDS": "\(Int(timeoutSeconds))",
            "HEARTBEAT_INTERVAL_SECONDS": "1", "LOG_LEVEL": "info", "LOG_FORMAT": "json",
        ])
        let base = "http://127.0.0.1:\(httpPort)"
        func get(_ path: String) async -> SimpleHTTPClient.Response? {
            try? await offloaded { try SimpleHTTPClient.get(base + path, timeoutSeconds: 2) }
        }
        try await waitUntil("sidecar ready", timeout: 30) { await get("/ready")?.status == 200 }
        #expect(FileManager.default.fileExists(atPath: socketPath))

        // A socket client subscribed to signals, to see its Goodbye.
        let client = try await offloaded { try SocketTestClient(path: socketPath, receiveTimeout: 20) }
        try await offloaded {
            try client.hello()
            _ = try client.call(.subscribe(.init(stream: .signals)))
        }

        // Replay continuously (the recording, looped) while the sidecar runs.
        let replayer = try CtlProcess(["replay", replay.path, "--nats-url", server.url, "--rate", "3000", "--loop", "100"])
        defer { replayer.kill() }
        func received() async -> Int {
            guard let body = await get("/api/v1/stats")?.body,
                  let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
                  let messages = object["messages"] as? [String: Any] else { return 0 }
            return messages["received"] as? Int ?? 0
        }
        try await waitUntil("messages flowing", timeout: 30) { await received() > 3000 }
        try await waitUntil("a heartbeat logged", timeout: 10) { sidecar.log.contains("HEARTBEAT") }
        #expect(replayer.isRunning, "the replay must still be publishing when SIGTERM arrives")

        let started = Date()
        sidecar.signal(SIGTERM)
        let exited = try await offloaded { sidecar.waitForExit(timeout: timeoutSeconds + 20) }
        let seconds = Date().timeIntervalSince(started)
        #expect(exited, "still running \(seconds) s after SIGTERM")
        if !exited { sidecar.signal(SIGKILL) }
        #expect(seconds < timeoutSeconds, "shutdown took \(seconds) s")
        #expect(sidecar.process.terminationReason == .exit)
        #expect(sidecar.process.terminationStatus == 0, "exit status \(sidecar.process.terminationStatus)\n\(sidecar.log.suffix(3000))")
        #expect(!FileManager.default.fileExists(atPath: socketPath), "socket file left behind")

        // The socket client got a Goodbye before the connection closed.
        let frames = try await offloaded { try client.readUntilClosed() }
        let all = client.takePending() + frames
        #expect(all.contains { $0.response == .goodbye(reason: "server shutting down") }, "no Goodbye among \(all.count) frames")

        // The log tells the story in order: not ready, drained, socket stopped, stopped.
        let log = sidecar.log
        let steps = ["graceful shutdown: not ready", "nats subscriptions drained", "socket stopped", "realtime-sidecar stopped"]
        let positions = steps.map { log.range(of: $0)?.lowerBound }
        for (step, position) in zip(steps, positions) { #expect(position != nil, "log lacks '\(step)'") }
        let found = positions.compactMap { $0 }
        #expect(found == found.sorted(), "shutdown steps out of order")
        replayer.kill()
    }
}
