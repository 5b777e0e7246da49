import Foundation
import Logging
import NIOCore
import Synchronization
import Testing
@testable import Sidecar
import Strategies
#if canImport(Glibc)
import Glibc
#endif

/// A blocking Unix-socket client speaking the framed protocol. Every call blocks: use it from
/// `offloaded { }` or a dedicated thread, never on Swift's cooperative pool.
final class SocketTestClient: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let fd: Int32
    private var inbox: [UInt8] = []
    /// Responses read while waiting for another id (pushes, out-of-order replies).
    private(set) var pending: [(id: UInt64, response: SocketResponse)] = []
    private var nextId: UInt64 = 1000

    init(path: String, receiveTimeout: Double = 10) throws {
        fd = try Self.connectUnixSocket(path)
        setReceiveTimeout(receiveTimeout)
    }

    /// A connected Unix stream socket, or a `Failure` naming the errno.
    static func connectUnixSocket(_ path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = byte }
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let code = errno
            close(fd)
            throw Failure(description: "connect(\(path)) errno \(code)")
        }
        return fd
    }

    deinit { close(fd) }

    func setReceiveTimeout(_ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Shrinks the kernel receive buffer, so a client that stops reading backs up sooner.
    func setReceiveBuffer(_ bytes: Int32) {
        var value = bytes
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, socklen_t(MemoryLayout<Int32>.size))
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send errno \(errno)") }
            offset += n
        }
    }

    func send(_ request: SocketRequest, id: UInt64) throws {
        try send(SocketFraming.requestFrame(request, id: id))
    }

    /// Closes the write side: the server sees end of input.
    func shutdownWrite() {
        shutdown(fd, Int32(SHUT_WR))
    }

    /// Reads until `count` bytes are buffered; false on end of stream.
    private func fill(_ count: Int) throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while inbox.count < count {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return false }
            guard n > 0 else { throw Failure(description: "recv errno \(errno) (timeout?)") }
            inbox.append(contentsOf: chunk[0..<n])
        }
        return true
    }

    /// The next frame body, nil at end of stream.
    func readFrame() throws -> [UInt8]? {
        guard try fill(4), let length = SocketFraming.length(ofHeader: inbox) else { return nil }
        guard try fill(4 + length) else { throw Failure(description: "stream ended inside a frame") }
        let body = Array(inbox[4..<(4 + length)])
        inbox.removeFirst(4 + length)
        return body
    }

    /// The next response, nil at end of stream.
    func readResponse() throws -> (id: UInt64, response: SocketResponse)? {
        guard let body = try readFrame() else { return nil }
        return try body.withUnsafeBytes { bytes in try SocketCodec.decodeResponse(bytes) }
    }

    /// True when the server closed the connection (after any frames still buffered).
    func readUntilClosed() throws -> [(id: UInt64, response: SocketResponse)] {
        var frames: [(UInt64, SocketResponse)] = []
        while let frame = try readResponse() { frames.append(frame) }
        return frames
    }

    /// Sends a request and returns its response; other frames read meanwhile go to `pending`.
    func call(_ request: SocketRequest, id: UInt64? = nil) throws -> SocketResponse {
        let id = id ?? newId()
        try send(request, id: id)
        while true {
            guard let (got, response) = try readResponse() else { throw Failure(description: "closed while waiting for \(id)") }
            if got == id, !Self.isPush(response) { return response }
            pending.append((got, response))
        }
    }

    func hello() throws {
        let response = try call(.hello(.init(clientName: "test")))
        guard case .hello = response else { throw Failure(description: "hello failed: \(response)") }
    }

    func newId() -> UInt64 {
        nextId += 1
        return nextId
    }

    func takePending() -> [(id: UInt64, response: SocketResponse)] {
        defer { pending.removeAll() }
        return pending
    }

    static func isPush(_ response: SocketResponse) -> Bool {
        switch response {
        case .signalEvent, .depthEvent, .gap, .goodbye: true
        default: false
        }
    }
}

/// A socket server with its own board, log and engine, fed directly on the calling thread
/// (standing in for the ingest thread), for protocol tests that need no NATS.
final class SocketFixture: @unchecked Sendable {
    let board = DepthBoard(historySeconds: 900, ttlSeconds: 3600)
    let log: SignalLog
    let stats: IngestStats
    let socketStats = SocketStats()
    let hub = SocketHub()
    let router: SignalRouter
    let engine: Engine
    let server: SocketServer
    let path: String
    private let feedLock = NSLock()

    init(path: String = RunningSidecar.temporarySocketPath(), logCapacity: Int = 10_000,
         configure: (inout SocketServerConfiguration) -> Void = { _ in }) {
        self.path = path
        log = SignalLog(capacity: logCapacity)
        var engineConfiguration = EngineConfiguration()
        // The synthetic market carries Binance's own stream names: its partial books' labels are true.
        engineConfiguration.book.attribution = .label
        engineConfiguration.strategies.parameters["orderbook_skew", default: ParameterValues()].values["cooldown_seconds"] = .double(0)
        stats = IngestStats(strategyIds: engineConfiguration.enabledStrategyIds)
        router = SignalRouter(minConfidence: 0.6, log: log, stats: stats, publisher: nil, socket: hub)
        engine = Engine(configuration: engineConfiguration, board: board, stats: stats, sink: router)
        let hub = self.hub
        engine.onDepthPublished = { hub.depthPublished($0) }
        var configuration = SocketServerConfiguration(path: path)
        configuration.goodbyeTimeout = .milliseconds(200)
        configure(&configuration)
        let api = HTTPAPIContext(board: board, stats: stats, signalLog: log, defaultVenue: .spot, serviceVersion: "test",
                                 strategies: ["orderbook_skew"], ingestReady: { true }, natsConnected: { true },
                                 slowConsumerDrops: { 0 }, startedAtMs: WallClock.nowMs())
        var logger = Logger(label: "socket-fixture")
        logger.logLevel = .critical
        server = SocketServer(configuration: configuration,
                              context: SocketContext(api: api, socketStats: socketStats, venues: [.spot, .usdm],
                                                     maxFrameBytes: configuration.maxFrameBytes),
                              hub: hub, logger: logger)
    }

    static func started(logCapacity: Int = 10_000, configure: (inout SocketServerConfiguration) -> Void = { _ in })
        async throws -> SocketFixture {
        let fixture = SocketFixture(logCapacity: logCapacity, configure: configure)
        try await fixture.server.start()
        return fixture
    }

    func stop() async { await server.stop() }

    func client() async throws -> SocketTestClient {
        let path = self.path
        return try await offloaded { try SocketTestClient(path: path) }
    }

    /// Processes market-data payloads as the ingest thread would (one thread at a time).
    func feed(_ payloads: [[UInt8]]) {
        feedLock.withLock {
            for payload in payloads {
                payload.withUnsafeBytes { engine.ingest($0, subjectVenue: .spot, receiveTimeMs: WallClock.nowMs()) }
            }
        }
    }

    /// Ingests the payloads stored back to back in `batch` (no allocation per message here).
    func feed(_ batch: PayloadBatch) {
        feedLock.withLock {
            batch.bytes.withUnsafeBytes { all in
                var start = 0
                for end in batch.ends {
                    engine.ingest(UnsafeRawBufferPointer(rebasing: all[start..<end]), subjectVenue: .spot,
                                  receiveTimeMs: WallClock.nowMs())
                    start = end
                }
            }
        }
    }

    /// Emits a signal through the router (log, then socket subscribers).
    func emit(symbol: String, strategy: String = "orderbook_skew", action: SignalAction = .buy, eventTimeMs: Int64) {
        feedLock.withLock {
            router.emit(Signal(strategyId: strategy, key: SymbolKey(venue: .spot, symbol: symbol), action: action,
                               confidence: 0.8, price: 100, currentPrice: 100.5, eventTimeMs: eventTimeMs,
                               reasoning: "test", indicators: [("ratio", 1.5)], metadata: [("ratio", .double(1.5))]))
        }
    }
}

/// Runs `body` on a new thread per item and waits for all of them (blocking socket clients).
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) async {
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        let group = DispatchGroup()
        for i in 0..<count {
            group.enter()
            let thread = Thread {
                body(i)
                group.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        group.notify(queue: .global()) { continuation.resume() }
    }
}

/// Resident memory of this process, from /proc/self/statm.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Synthetic market payloads stored back to back in one buffer that is reused from run to run.
final class PayloadBatch: @unchecked Sendable {
    private(set) var bytes: [UInt8] = []
    /// End offset of each payload in `bytes`.
    private(set) var ends: [Int] = []

    func refill(_ market: inout SyntheticMarket, count: Int) {
        bytes.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        ends.reserveCapacity(count)
        for _ in 0..<count {
            bytes += market.next().payload
            ends.append(bytes.count)
        }
    }
}
