import CNATS

/// A failure reported by libnats (or by the wrapper's own argument checks, which use the same
/// status vocabulary). Carries the libnats status text (`natsStatus_GetText`), the operation that
/// failed and the subject involved, so a log line is self-explanatory.
public struct NATSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Coarse classification of the libnats status, for callers that branch on the failure.
    public enum Kind: Sendable, Equatable {
        case connectionClosed
        case disconnected
        case notYetConnected
        case noServer
        case invalidSubject
        case invalidQueueName
        case invalidArgument
        case invalidSubscription
        case illegalState
        case timeout
        case slowConsumer
        case payloadTooLarge
        /// The reconnect buffer (`reconnectBufferBytes`) is full while disconnected.
        case reconnectBufferFull
        case draining
        case noServerSupport
        case notPermitted
        case ioError
        case libraryNotInitialized
        case other
    }

    public let kind: Kind
    /// Numeric libnats status (the `natsStatus` value), for diagnostics only.
    public let statusCode: Int
    /// `natsStatus_GetText(status)`.
    public let statusText: String
    /// The wrapper operation that failed, e.g. `"subscribe"`, `"publish"`, `"connect"`.
    public let operation: String
    /// The subject involved, if any.
    public let subject: String?
    /// Extra detail: libnats' thread-local last error text, or the wrapper's explanation.
    public let detail: String?

    public init(kind: Kind, statusCode: Int, statusText: String, operation: String,
                subject: String? = nil, detail: String? = nil) {
        self.kind = kind
        self.statusCode = statusCode
        self.statusText = statusText
        self.operation = operation
        self.subject = subject
        self.detail = detail
    }

    public var description: String {
        var text = "NATS \(operation) failed"
        if let subject { text += " on subject '\(subject)'" }
        text += ": \(statusText) (status \(statusCode))"
        if let detail, !detail.isEmpty, detail != statusText { text += " – \(detail)" }
        return text
    }

    /// The status text and libnats' detail without the operation, e.g. "Not Permitted: Authorization Violation".
    public var summary: String {
        guard let detail, !detail.isEmpty, detail != statusText else { return statusText }
        return "\(statusText): \(detail)"
    }
}

// MARK: - Internal construction from natsStatus (C types stay in this module's NATS files)

extension NATSError {
    /// Builds an error from a libnats status. Reads libnats' thread-local last-error text, so call
    /// it on the thread that made the failing call, right after the call.
    init(status: natsStatus, operation: String, subject: String? = nil, detail: String? = nil) {
        var lastError: String? = nil
        if detail == nil, let cText = nats_GetLastError(nil) {
            let text = String(cString: cText)
            if !text.isEmpty { lastError = text }
        }
        self.init(kind: Self.kind(of: status),
                  statusCode: Int(status.rawValue),
                  statusText: Self.text(of: status),
                  operation: operation,
                  subject: subject,
                  detail: detail ?? lastError)
    }

    static func text(of status: natsStatus) -> String {
        guard let cText = natsStatus_GetText(status) else { return "unknown status \(status.rawValue)" }
        return String(cString: cText)
    }

    static func kind(of status: natsStatus) -> Kind {
        switch status {
        case NATS_CONNECTION_CLOSED: return .connectionClosed
        case NATS_CONNECTION_DISCONNECTED: return .disconnected
        case NATS_NOT_YET_CONNECTED: return .notYetConnected
        case NATS_NO_SERVER: return .noServer
        case NATS_INVALID_SUBJECT: return .invalidSubject
        case NATS_INVALID_QUEUE_NAME: return .invalidQueueName
        case NATS_INVALID_ARG, NATS_INVALID_TIMEOUT, NATS_ADDRESS_MISSING: return .invalidArgument
        case NATS_INVALID_SUBSCRIPTION: return .invalidSubscription
        case NATS_ILLEGAL_STATE: return .illegalState
        case NATS_TIMEOUT: return .timeout
        case NATS_SLOW_CONSUMER: return .slowConsumer
        case NATS_MAX_PAYLOAD: return .payloadTooLarge
        case NATS_INSUFFICIENT_BUFFER: return .reconnectBufferFull
        case NATS_DRAINING: return .draining
        case NATS_NO_SERVER_SUPPORT: return .noServerSupport
        case NATS_NOT_PERMITTED, NATS_CONNECTION_AUTH_FAILED: return .notPermitted
        case NATS_IO_ERROR, NATS_STALE_CONNECTION: return .ioError
        case NATS_NOT_INITIALIZED, NATS_FAILED_TO_INITIALIZE: return .libraryNotInitialized
        default: return .other
        }
    }

    /// Throws unless `status` is `NATS_OK`.
    @inline(__always)
    static func check(_ status: natsStatus, _ operation: @autoclosure () -> String,
                      subject: @autoclosure () -> String? = nil) throws {
        if status != NATS_OK {
            throw NATSError(status: status, operation: operation(), subject: subject())
        }
    }

    /// An argument check made by the wrapper itself, reported with the matching libnats status text.
    static func invalid(_ status: natsStatus, operation: String, subject: String? = nil,
                        detail: String) -> NATSError {
        NATSError(status: status, operation: operation, subject: subject, detail: detail)
    }
}
