import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loopback TCP proxy in front of a real server that can accept connections and then say
/// nothing: the "server slow to accept" of the chaos tests, without freezing the server
/// itself. While holding, accepted connections get no byte; on `release` every held and every
/// later connection is piped to the target after `forwardDelay`.
final class StallingTCPProxy: @unchecked Sendable {
    let port: Int
    var url: String { "nats://127.0.0.1:\(port)" }

    private let targetPort: Int
    private let listener: Int32
    private let condition = NSCondition()
    private var holding: Bool
    private var stopped = false
    private var descriptors: Set<Int32> = []
    /// Delay before a released connection is piped (a slow but answering server).
    private let forwardDelay: TimeInterval
    private(set) var acceptedCount = 0

    init(targetPort: Int, holding: Bool = true, forwardDelay: TimeInterval = 0) throws {
        self.targetPort = targetPort
        self.holding = holding
        self.forwardDelay = forwardDelay
        port = try NATSServerProcess.freePort()
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw ProxyError.socket("socket: errno \(errno)") }
        var one: Int32 = 1
        _ = setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 128) == 0 else {
            _ = close(listener)
            throw ProxyError.socket("bind/listen on \(port): errno \(errno)")
        }
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "stalling-proxy-accept"
        thread.start()
    }

    /// Held connections (and new ones) are piped to the target from now on.
    func release() {
        condition.lock()
        holding = false
        condition.broadcast()
        condition.unlock()
    }

    /// Closes the listener and ends every connection (their threads close the descriptors).
    func stop() {
        condition.lock()
        if stopped {
            condition.unlock()
            return
        }
        stopped = true
        let open = descriptors
        condition.broadcast()
        condition.unlock()
        _ = shutdown(listener, Int32(SHUT_RDWR))
        _ = close(listener)
        for fd in open { _ = shutdown(fd, Int32(SHUT_RDWR)) }
    }

    deinit { stop() }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else {
                if errno == EINTR { continue }
                return  // listener closed
            }
            condition.lock()
            if stopped {
                condition.unlock()
                _ = close(client)
                return
            }
            acceptedCount += 1
            descriptors.insert(client)
            condition.unlock()
            let thread = Thread { [self] in serve(client) }
            thread.name = "stalling-proxy-conn"
            thread.start()
        }
    }

    /// Waits while holding, then pipes `client` to the target in both directions.
    private func serve(_ client: Int32) {
        condition.lock()
        while holding && !stopped { condition.wait() }
        let stop = stopped
        condition.unlock()
        if !stop && forwardDelay > 0 { Thread.sleep(forTimeInterval: forwardDelay) }
        guard !stop, let upstream = connectToTarget() else {
            forget(client)
            return
        }
        condition.lock()
        descriptors.insert(upstream)
        condition.unlock()
        let reverseDone = DispatchSemaphore(value: 0)
        let reverse = Thread { [self] in
            pump(from: upstream, to: client)
            reverseDone.signal()
        }
        reverse.name = "stalling-proxy-pipe"
        reverse.start()
        pump(from: client, to: upstream)
        reverseDone.wait()
        // Closed only once neither direction can touch them any more.
        forget(client)
        forget(upstream)
    }

    private func pump(from source: Int32, to destination: Int32) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        outer: while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { write(destination, $0.baseAddress! + offset, count - offset) }
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { break outer }
                offset += written
            }
        }
        // One direction ended: end both, so the peer of each side sees the close.
        _ = shutdown(source, Int32(SHUT_RDWR))
        _ = shutdown(destination, Int32(SHUT_RDWR))
    }

    private func forget(_ fd: Int32) {
        condition.lock()
        let owned = descriptors.remove(fd) != nil
        condition.unlock()
        if owned { _ = close(fd) }
    }

    private func connectToTarget() -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = Self.loopback(port: targetPort)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            _ = close(fd)
            return nil
        }
        return fd
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    enum ProxyError: Error { case socket(String) }
}
