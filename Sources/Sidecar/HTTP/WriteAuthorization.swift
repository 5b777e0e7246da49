import Foundation
import Hummingbird
import Logging
import NATS
import Strategies
import Synchronization

/// Who may change the configuration over HTTP. Trust comes from the listener that accepted the
/// request, not from the client's address: the admin listener (loopback by default) takes writes
/// as they are; the public listener (`HTTP_PORT`) takes a write only with
/// `Authorization: Bearer <SIDECAR_API_TOKEN>`. Reads are open on both.
///
/// The token from `SIDECAR_API_TOKEN_FILE` is re-read when the file changes (checked at most once
/// a second, on a write), so a rotated Secret takes effect without a restart; an unreadable or
/// empty file keeps the last good token and is logged once.
public final class WriteAuthorization: Sendable {
    /// Writes refused on the public listener (`realtime_http_unauthorized_total`).
    public let refused = StatCounter()
    /// Tokens are compared over at least this many bytes, whatever their length.
    static let minimumCompareBytes = 256
    static let realm = #"Bearer realm="realtime-sidecar""#

    private let file: String?
    private let recheckInterval: Duration
    private let logger: Logger
    private let state: Mutex<State>

    private struct State {
        var token: [UInt8]?
        var stamp: FileStamp?
        var lastCheck: ContinuousClock.Instant
        var unreadableLogged = false
        var refusalLog = RateLimitedLog(perMinute: 10)
    }

    /// What identifies one version of the token file: a Secret update swaps the file behind a
    /// symlink, so the resolved path and inode change even when the size does not.
    private struct FileStamp: Equatable {
        var resolvedPath: String
        var inode: Int
        var size: Int
        var modified: Date

        init?(_ path: String) {
            let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: resolved) else { return nil }
            resolvedPath = resolved
            inode = (attributes[.systemFileNumber] as? NSNumber)?.intValue ?? 0
            size = (attributes[.size] as? NSNumber)?.intValue ?? 0
            modified = attributes[.modificationDate] as? Date ?? .distantPast
        }
    }

    /// `file`, when given, is read now: unreadable or empty is a `ConfigurationError` naming the
    /// file (never its content). Without a file, `token` (nil: no write on the public listener).
    public init(token: SecretString?, file: String?, logger: Logger,
                recheckInterval: Duration = .seconds(1)) throws(ConfigurationError) {
        self.file = file
        self.recheckInterval = recheckInterval
        self.logger = logger
        var initial = State(token: token.map { Array($0.value.utf8) }, lastCheck: .now)
        if let file {
            initial.stamp = FileStamp(file)
            initial.token = Array(try SecretString.fromFile(file, variable: "SIDECAR_API_TOKEN_FILE").value.utf8)
        }
        state = Mutex(initial)
    }

    /// Whether a token is configured now.
    public var hasToken: Bool { state.withLock { $0.token != nil } }

    /// nil when `request` may write; else the 401 to send. Nothing of the header is logged.
    func refusal(_ request: Request) -> Response? {
        let presented = Self.bearerToken(request.headers[.authorization])
        let decision: String? = state.withLock { state in
            refreshFromFile(&state)
            guard let token = state.token else { return "no API token configured" }
            guard let presented else { return "no bearer token" }
            return Self.constantTimeEquals(presented, token) ? nil : "wrong bearer token"
        }
        guard let decision else { return nil }
        refused.increment()
        let log = state.withLock { $0.refusalLog.allow() }
        if log {
            logger.warning("config write refused on the public HTTP listener", metadata: [
                "method": "\(request.method.rawValue)", "path": "\(request.uri.path.prefix(200))", "reason": "\(decision)",
                "refused_total": "\(refused.value)",
            ])
        }
        let message = hasToken
            ? "config writes on this port need Authorization: Bearer <SIDECAR_API_TOKEN>"
            : "config writes go through the admin listener (ADMIN_HTTP_HOST:ADMIN_HTTP_PORT), or set SIDECAR_API_TOKEN(_FILE) and send it as a bearer token"
        var response = ConfigRoutes.failure(code: "UNAUTHORIZED", message: message, details: .null, status: .unauthorized)
        response.headers[.wwwAuthenticate] = Self.realm
        return response
    }

    /// The credentials of `Bearer <token>` (scheme case-insensitive), nil for anything else.
    static func bearerToken(_ header: String?) -> [UInt8]? {
        guard let header else { return nil }
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.count > 7, trimmed.prefix(7).lowercased() == "bearer " else { return nil }
        let credentials = trimmed.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return credentials.isEmpty ? nil : Array(credentials.utf8)
    }

    /// Equal bytes, in a time that depends on neither the content nor the presented length:
    /// every byte of a fixed span (the token's length, at least 256) is compared, without an
    /// early exit, and a length difference is folded into the result.
    static func constantTimeEquals(_ presented: [UInt8], _ token: [UInt8]) -> Bool {
        let span = max(minimumCompareBytes, token.count)
        var difference = UInt64(truncatingIfNeeded: presented.count ^ token.count)
        if presented.count > span { difference |= 1 }
        for i in 0..<span {
            let a: UInt8 = i < presented.count ? presented[i] : 0
            let b: UInt8 = i < token.count ? token[i] : 0
            difference |= UInt64(a ^ b)
        }
        return difference == 0
    }

    private func refreshFromFile(_ state: inout State) {
        guard let file else { return }
        let now = ContinuousClock.now
        guard now - state.lastCheck >= recheckInterval else { return }
        state.lastCheck = now
        let stamp = FileStamp(file)
        if let stamp, stamp == state.stamp { return }
        do {
            let token = try SecretString.fromFile(file, variable: "SIDECAR_API_TOKEN_FILE")
            let changed = Array(token.value.utf8) != (state.token ?? [])
            state.token = Array(token.value.utf8)
            state.stamp = stamp
            if changed || state.unreadableLogged {
                logger.notice("API token reloaded from SIDECAR_API_TOKEN_FILE", metadata: ["file": "\(file)"])
            }
            state.unreadableLogged = false
        } catch {
            // Keep the last good token: a Secret briefly missing mid-update must not lock writes out.
            if !state.unreadableLogged {
                logger.error("API token file unreadable; keeping the last good token", metadata: ["error": "\(error)"])
                state.unreadableLogged = true
            }
        }
    }
}
