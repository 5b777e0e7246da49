import CZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file could not be read line by line.
public enum LineReaderError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No file at the path.
    case fileNotFound(path: String)
    /// The file exists but cannot be opened or read (permissions, a directory, an I/O error).
    case unreadable(path: String, reason: String)
    /// The gzip stream is damaged or truncated.
    case corrupt(path: String, reason: String)

    public var path: String {
        switch self {
        case .fileNotFound(let path), .unreadable(let path, _), .corrupt(let path, _): path
        }
    }

    public var description: String {
        switch self {
        case .fileNotFound(let path): "\(path): no such file"
        case .unreadable(let path, let reason): "\(path): cannot read: \(reason)"
        case .corrupt(let path, let reason): "\(path): corrupt gzip data: \(reason)"
        }
    }
}

/// Reads a `.jsonl` or `.jsonl.gz` file line by line through zlib (`gzread` reads gzip and plain
/// files alike).
///
/// The `gzFile` has one owner, this reader, and one release point, `deinit`. No zlib type appears
/// in the API. Not thread-safe: use one reader from one thread at a time.
public final class LineReader {
    /// The path as given.
    public let path: String
    private let file: gzFile
    private let chunk: UnsafeMutableRawBufferPointer
    /// Bytes of a line that started in an earlier chunk.
    private var carry: [UInt8] = []
    private var started = false

    /// Decompressed bytes asked from zlib per call; lines longer than this are reassembled.
    static let chunkSize = 64 * 1024

    public init(path: String) throws(LineReaderError) {
        self.path = path
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            if code == ENOENT || code == ENOTDIR { throw .fileNotFound(path: path) }
            throw .unreadable(path: path, reason: Self.errnoText(code))
        }
        if (info.st_mode & 0o170000) == 0o040000 {  // S_ISDIR
            throw .unreadable(path: path, reason: "is a directory")
        }
        guard let handle = gzopen(path, "rb") else {
            let code = errno
            if code == ENOENT { throw .fileNotFound(path: path) }
            throw .unreadable(path: path, reason: code == 0 ? "gzopen failed" : Self.errnoText(code))
        }
        gzbuffer(handle, 128 * 1024)
        file = handle
        chunk = .allocate(byteCount: Self.chunkSize, alignment: 16)
    }

    deinit {
        gzclose(file)
        chunk.deallocate()
    }

    /// Calls body with each line (without the trailing newline, CRLF tolerated) as a buffer valid
    /// only during the call; empty lines skipped. Returns the number of lines. Handles lines longer
    /// than the internal buffer (grow).
    ///
    /// A second call starts again from the beginning of the file. Throws `LineReaderError` for
    /// I/O errors and damaged or truncated gzip data (after delivering the lines before the
    /// damage), and rethrows whatever `body` throws.
    public func forEachLine(_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        if started {
            guard gzrewind(file) == 0 else { throw error(default: "cannot rewind") }
        }
        started = true
        carry.removeAll(keepingCapacity: true)
        var lines = 0
        let base = chunk.baseAddress!
        while true {
            let n = Int(gzread(file, base, UInt32(Self.chunkSize)))
            if n < 0 { throw error(default: "read failed") }
            if n == 0 {
                // End of input, or a truncated stream (zlib reports Z_BUF_ERROR and returns 0).
                var code: Int32 = 0
                let message = gzerror(file, &code)
                if code != Z_OK { throw classify(code, message) }
                break
            }
            var start = 0
            while start < n {
                guard let newline = memchr(base + start, 0x0A, n - start) else {
                    carry.append(contentsOf: UnsafeRawBufferPointer(start: base + start, count: n - start))
                    break
                }
                let end = base.distance(to: newline)
                if carry.isEmpty {
                    if try deliver(UnsafeRawBufferPointer(start: base + start, count: end - start), body) { lines += 1 }
                } else {
                    carry.append(contentsOf: UnsafeRawBufferPointer(start: base + start, count: end - start))
                    let delivered = try carry.withUnsafeBytes { try deliver($0, body) }
                    if delivered { lines += 1 }
                    carry.removeAll(keepingCapacity: true)
                }
                start = end + 1
            }
        }
        if !carry.isEmpty {
            let delivered = try carry.withUnsafeBytes { try deliver($0, body) }
            if delivered { lines += 1 }
            carry.removeAll(keepingCapacity: true)
        }
        return lines
    }

    /// The offset reached in the file on disk (compressed bytes for `.gz`), for progress.
    public var bytesRead: Int {
        let offset = gzoffset(file)
        return offset < 0 ? 0 : Int(offset)
    }

    /// The number of non-empty lines in the file.
    public static func countLines(path: String) throws -> Int {
        let reader = try LineReader(path: path)
        return try reader.forEachLine { _ in }
    }

    // MARK: - Private

    /// Strips one trailing `\r` and skips empty lines; true when `body` was called.
    private func deliver(_ line: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        var count = line.count
        if count > 0 && line[count - 1] == 0x0D { count -= 1 }
        guard count > 0 else { return false }
        try body(UnsafeRawBufferPointer(rebasing: line[0..<count]))
        return true
    }

    private func error(default text: String) -> LineReaderError {
        var code: Int32 = 0
        let message = gzerror(file, &code)
        return code == Z_OK ? .unreadable(path: path, reason: text) : classify(code, message)
    }

    private func classify(_ code: Int32, _ message: UnsafePointer<CChar>?) -> LineReaderError {
        if code == Z_ERRNO { return .unreadable(path: path, reason: Self.errnoText(errno)) }
        let text = message.map { String(cString: $0) } ?? ""
        switch code {
        case Z_BUF_ERROR: return .corrupt(path: path, reason: text.isEmpty ? "unexpected end of file" : text)
        case Z_DATA_ERROR: return .corrupt(path: path, reason: text.isEmpty ? "invalid data" : text)
        case Z_MEM_ERROR: return .unreadable(path: path, reason: "out of memory")
        default: return .corrupt(path: path, reason: text.isEmpty ? "zlib error \(code)" : text)
        }
    }

    private static func errnoText(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }
}
