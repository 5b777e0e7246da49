import Foundation
import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why the socket server could not start.
public enum SocketServerError: Error, CustomStringConvertible, Equatable {
    /// `sockaddr_un` holds at most 107 path bytes.
    case pathTooLong(path: String)
    /// Something other than a socket is at the path; it is never removed.
    case notASocket(path: String, type: String)
    /// A live server answers on the path.
    case alreadyInUse(path: String)
    /// The stale-socket probe failed in a way that does not prove the socket is dead.
    case probeFailed(path: String, errno: Int32)
    case createDirectoryFailed(path: String, reason: String)
    case removeStaleFailed(path: String, reason: String)
    case bindFailed(path: String, reason: String)
    case chmodFailed(path: String, mode: Int, reason: String)

    public var description: String {
        switch self {
        case .pathTooLong(let path): "socket path is longer than 107 bytes: \(path)"
        case .notASocket(let path, let type): "\(path) exists and is not a socket (\(type)); refusing to replace it"
        case .alreadyInUse(let path): "another process is serving on \(path)"
        case .probeFailed(let path, let errno): "could not tell whether \(path) is stale: connect failed with errno \(errno)"
        case .createDirectoryFailed(let path, let reason): "cannot create directory \(path): \(reason)"
        case .removeStaleFailed(let path, let reason): "cannot remove stale socket \(path): \(reason)"
        case .bindFailed(let path, let reason): "cannot bind \(path): \(reason)"
        case .chmodFailed(let path, let mode, let reason): "cannot chmod \(path) to 0\(String(mode, radix: 8)): \(reason)"
        }
    }
}

/// The socket file's life around bind: stale-file replacement, mode, removal. POSIX calls are
/// kept to this file.
enum SocketFile {
    enum Existing: Equatable {
        case none
        case staleSocket
    }

    /// Creates the parent directory and checks what is at `path`. A socket that nobody answers
    /// on is stale (a crashed predecessor) and is removed; anything else stops the start.
    static func prepare(path: String) throws(SocketServerError) -> Existing {
        guard path.utf8.count <= 107 else { throw .pathTooLong(path: path) }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw .createDirectoryFailed(path: directory, reason: "\(error)")
            }
        }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return .none }
            throw .probeFailed(path: path, errno: errno)
        }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw .notASocket(path: path, type: typeName(info.st_mode))
        }
        switch probe(path: path) {
        case .answered:
            throw .alreadyInUse(path: path)
        case .refused:
            guard unlink(path) == 0 || errno == ENOENT else {
                throw .removeStaleFailed(path: path, reason: String(cString: strerror(errno)))
            }
            return .staleSocket
        case .failed(let code):
            throw .probeFailed(path: path, errno: code)
        }
    }

    private enum ProbeResult { case answered, refused, failed(Int32) }

    /// Connects to the socket: accepted (or the backlog is full) means a live server.
    private static func probe(path: String) -> ProbeResult {
        #if canImport(Glibc)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { return .failed(errno) }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = byte }
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if rc == 0 { return .answered }
        switch errno {
        case ECONNREFUSED, ENOENT: return .refused
        case EAGAIN: return .answered
        case let code: return .failed(code)
        }
    }

    private static func typeName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: "regular file"
        case S_IFDIR: "directory"
        case S_IFLNK: "symbolic link"
        case S_IFIFO: "fifo"
        case S_IFCHR, S_IFBLK: "device"
        default: "unknown type"
        }
    }

    /// The mode, applied right after bind so it never depends on the umask.
    static func setMode(path: String, mode: Int) throws(SocketServerError) {
        guard chmod(path, mode_t(mode)) == 0 else {
            throw .chmodFailed(path: path, mode: mode, reason: String(cString: strerror(errno)))
        }
    }

    /// Device and inode of the socket file, to remove only our own file at shutdown.
    static func identity(path: String) -> (UInt64, UInt64)? {
        var info = stat()
        guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFSOCK else { return nil }
        return (UInt64(info.st_dev), UInt64(info.st_ino))
    }

    /// Removes the file if it is still the socket we bound.
    static func remove(path: String, identity expected: (UInt64, UInt64)?) {
        guard let expected, let current = identity(path: path), current == expected else { return }
        _ = unlink(path)
    }
}

/// The peer's UID from SO_PEERCRED (Linux), read through NIO's socket option provider.
enum PeerCredentials {
    /// `struct ucred` on Linux: pid, uid, gid.
    private struct UCred: Sendable {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    struct Unavailable: Error, CustomStringConvertible {
        var description: String
    }

    static func uid(of channel: Channel) -> EventLoopFuture<UInt32> {
        #if os(Linux)
        guard let provider = channel as? SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(Unavailable(description: "channel has no socket options"))
        }
        let future: EventLoopFuture<UCred> = provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET),
                                                                            name: SocketOptionName(SO_PEERCRED))
        return future.map { $0.uid }
        #else
        return channel.eventLoop.makeFailedFuture(Unavailable(description: "SO_PEERCRED is Linux-only"))
        #endif
    }
}
