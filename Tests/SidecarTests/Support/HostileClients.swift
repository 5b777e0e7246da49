import Foundation
@testable import Sidecar
#if canImport(Glibc)
import Glibc
#endif

/// Deterministic PRNG (SplitMix64) so a failing fuzz run can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A raw, non-blocking Unix-socket connection for hostile clients: writes whatever bytes it is
/// given, reads (and frame-checks) whatever the server answers, never blocks forever.
final class RawSocketConnection {
    struct Failure: Error, CustomStringConvertible { var description: String }

    let fd: Int32
    private var inbox: [UInt8] = []
    /// Response frames received and decoded.
    private(set) var framesReceived = 0
    /// Set when the server sent bytes that are not a well-framed, decodable response.
    private(set) var protocolViolation: String?
    private(set) var peerClosed = false

    init(path: String) throws {
        do {
            fd = try SocketTestClient.connectUnixSocket(path)
        } catch let error as SocketTestClient.Failure {
            throw Failure(description: error.description)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { close(fd) }

    /// Writes all of `bytes`, reading answers whenever the socket is not writable. False when the
    /// server closed the connection (EPIPE/ECONNRESET) or `timeout` passed.
    @discardableResult
    func write(_ bytes: [UInt8], timeout: Double = 20) -> Bool {
        var offset = 0
        let deadline = Date().addingTimeInterval(timeout)
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                offset += n
                continue
            }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                if Date() > deadline { return false }
                var p = pollfd(fd: fd, events: Int16(POLLIN | POLLOUT), revents: 0)
                _ = poll(&p, 1, 100)
                if p.revents & Int16(POLLIN) != 0 { drainAvailable() }
                if peerClosed { return false }
                continue
            }
            return false
        }
        drainAvailable()
        return true
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Reads whatever is buffered now, without waiting.
    func drainAvailable() {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                inbox.append(contentsOf: chunk[0..<n])
                parseFrames()
                continue
            }
            if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) { peerClosed = true }
            return
        }
    }

    /// Reads until the server closes the connection; false after `timeout` seconds.
    func readUntilClosed(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !peerClosed {
            if Date() > deadline { return false }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, 100)
            drainAvailable()
        }
        return true
    }

    private func parseFrames() {
        var start = 0
        while inbox.count - start >= 4 {
            let length = SocketFraming.length(ofHeader: inbox[start...]) ?? 0
            if length == 0 || length > 64 << 20 {
                protocolViolation = protocolViolation ?? "server sent a frame header of \(length) bytes"
                inbox.removeAll()
                return
            }
            guard inbox.count - start >= 4 + length else { break }
            let ok = inbox[(start + 4)..<(start + 4 + length)].withUnsafeBytes { bytes in
                (try? SocketCodec.decodeResponse(bytes)) != nil
            }
            if !ok { protocolViolation = protocolViolation ?? "server sent an undecodable frame of \(length) bytes" }
            framesReceived += 1
            start += 4 + length
        }
        if start > 0 { inbox.removeFirst(start) }
    }
}

/// Resident memory of a process, from /proc/<pid>/status (VmRSS), in bytes.
func residentBytes(pid: pid_t) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let kb = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return kb * 1024
    }
    return 0
}
