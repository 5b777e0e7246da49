import Foundation

/// A minimal blocking HTTP/1.1 client over a TCP socket, for `sidecarctl` and tests.
/// It exists so the tools need no HTTP client dependency; it is never used by the service.
public enum SimpleHTTPClient {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public enum Failure: Error, CustomStringConvertible {
        case invalidURL(String)
        case connect(host: String, port: Int, errno: Int32)
        case io(String)
        case malformedResponse(String)
        case invalidHeader(String)

        public var description: String {
            switch self {
            case .invalidURL(let url): "invalid URL \(url)"
            case .connect(let host, let port, let code): "cannot connect to \(host):\(port): \(String(cString: strerror(code)))"
            case .io(let what): "I/O error: \(what)"
            case .malformedResponse(let why): "malformed HTTP response: \(why)"
            case .invalidHeader(let name): "header \(name) holds a line break"
            }
        }
    }

    /// GET `url` (http://host:port/path?query). IPv4 hosts and `localhost` only.
    public static func get(_ url: String, timeoutSeconds: Int = 5) throws -> Response {
        try request("GET", url, timeoutSeconds: timeoutSeconds)
    }

    /// Any method, with an optional JSON body and extra headers (names and values must not hold
    /// CR or LF: they are written as given).
    public static func request(_ method: String, _ url: String, body: [UInt8]? = nil,
                               headers: [(String, String)] = [], timeoutSeconds: Int = 5) throws -> Response {
        for (name, value) in headers where (name + value).contains(where: { $0 == "\r" || $0 == "\n" }) {
            throw Failure.invalidHeader(name)
        }
        guard let components = URLComponents(string: url), components.scheme == "http", let host = components.host else {
            throw Failure.invalidURL(url)
        }
        let port = components.port ?? 80
        var path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        if let query = components.percentEncodedQuery { path += "?" + query }

        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure.io("socket: \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address.sin_addr) == 1 else {
            throw Failure.invalidURL(url)
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure.connect(host: host, port: port, errno: errno) }

        var head = "\(method) \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\nAccept: application/json\r\n"
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        let request = Array((head + "\r\n").utf8) + (body ?? [])
        var offset = 0
        while offset < request.count {
            let sent = request[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            guard sent > 0 else { throw Failure.io("send: \(String(cString: strerror(errno)))") }
            offset += sent
        }

        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            guard n > 0 else { throw Failure.io("recv: \(String(cString: strerror(errno)))") }
            data.append(contentsOf: chunk[0..<n])
        }
        return try parse(data)
    }

    static func parse(_ data: [UInt8]) throws -> Response {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let headerEnd = data.firstRange(of: separator) else { throw Failure.malformedResponse("no header end") }
        let head = String(decoding: data[..<headerEnd.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw Failure.malformedResponse("status line") }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(data[headerEnd.upperBound...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" { body = try dechunk(body) }
        return Response(status: status, headers: headers, body: body)
    }

    static func dechunk(_ data: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while index < data.count {
            guard let lineEnd = data[index...].firstRange(of: [13, 10]) else { throw Failure.malformedResponse("chunk size") }
            let sizeText = String(decoding: data[index..<lineEnd.lowerBound], as: UTF8.self)
            guard let size = Int(sizeText.split(separator: ";").first ?? "", radix: 16) else {
                throw Failure.malformedResponse("chunk size '\(sizeText)'")
            }
            if size == 0 { break }
            let start = lineEnd.upperBound
            guard start + size <= data.count else { throw Failure.malformedResponse("truncated chunk") }
            out.append(contentsOf: data[start..<start + size])
            index = start + size + 2
        }
        return out
    }
}
