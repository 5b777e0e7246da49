import CNATS
import Foundation
import Synchronization

/// A borrowed view of one received message, valid only during the handler call (the message is
/// destroyed by the wrapper as soon as the handler returns). Do not store it or its buffers.
public struct NATSMessageView {
    let msg: OpaquePointer
    /// Subject bytes (UTF-8, not NUL-terminated in the buffer's count).
    public let subject: UnsafeRawBufferPointer
    /// Payload bytes.
    public let payload: UnsafeRawBufferPointer

    init(msg: OpaquePointer, subject: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer) {
        self.msg = msg
        self.subject = subject
        self.payload = payload
    }

    /// The subject as a Swift string (allocates).
    public var subjectString: String { String(decoding: subject, as: UTF8.self) }

    /// The first value of header `key` (case-sensitive, as in libnats ≥ 3.0), or nil if absent.
    public func header(_ key: String) -> String? {
        var value: UnsafePointer<CChar>? = nil
        let status = key.withCString { natsMsgHeader_Get(msg, $0, &value) }
        guard status == NATS_OK, let value else { return nil }
        return String(cString: value)
    }
}

/// An asynchronous subscription. Messages are delivered on the client's single delivery thread.
///
/// Lifecycle: the libnats handle is destroyed only after the subscription is closed (after
/// `drain` observed OnComplete, or after the connection was closed by `NATSClient.close`), never
/// while it is live (libnats 3.4.1 race #637).
public final class NATSSubscription: @unchecked Sendable {
    public let subject: String
    public let queueGroup: String?

    let context: SubscriptionContext
    weak var owner: NATSClient?

    /// The libnats handle is only touched while holding `state`'s lock.
    private struct State: @unchecked Sendable {
        var handle: OpaquePointer?
        var lastDropped: Int = 0
        var lastPendingMessages: Int = 0
        var lastPendingBytes: Int = 0
        var lastDelivered: Int = 0
    }
    private let state: Mutex<State>

    /// Without a handle until `attach`: the client makes it on the server now, or at the first
    /// connect.
    init(subject: String, queueGroup: String?, context: SubscriptionContext, owner: NATSClient) {
        self.subject = subject
        self.queueGroup = queueGroup
        self.context = context
        self.owner = owner
        self.state = Mutex(State(handle: nil))
    }

    /// The libnats subscription, once made on the server (called once, under the client's lock).
    func attach(_ handle: OpaquePointer) {
        state.withLock { $0.handle = handle }
    }

    /// Messages dropped by libnats because the pending limits were reached (slow consumer).
    public var droppedCount: Int {
        state.withLock { s in
            if let h = s.handle {
                var dropped: Int64 = 0
                if natsSubscription_GetDropped(h, &dropped) == NATS_OK { s.lastDropped = Int(dropped) }
            }
            return s.lastDropped
        }
    }

    /// Messages received from the server and waiting to be handled.
    public var pendingCount: Int { pending().messages }

    /// Bytes received from the server and waiting to be handled.
    public var pendingBytes: Int { pending().bytes }

    /// Messages handed to the handler so far.
    public var deliveredCount: Int {
        state.withLock { s in
            if let h = s.handle {
                var delivered: Int64 = 0
                if natsSubscription_GetDelivered(h, &delivered) == NATS_OK { s.lastDelivered = Int(delivered) }
            }
            return s.lastDelivered
        }
    }

    /// True while libnats considers the subscription active (not closed, drained or unsubscribed).
    public var isValid: Bool {
        state.withLock { s in
            guard let h = s.handle else { return false }
            return natsSubscription_IsValid(h)
        }
    }

    /// True once libnats has invoked OnComplete: the handler will never run again.
    public var isComplete: Bool { context.completed.isOpen }

    /// Stops interest, lets already-received messages be handled, then waits (up to about
    /// `timeoutMs` + 1 s) for libnats' OnComplete. After a successful return the handler will not
    /// run again. Idempotent. Called from inside a NATS handler it does not wait (the delivery
    /// thread could not complete the drain while blocked); completion then happens after the
    /// handler returns.
    public func drain(timeoutMs: Int64) throws {
        guard timeoutMs > 0 else {
            throw NATSError.invalid(NATS_INVALID_TIMEOUT, operation: "drain", subject: subject,
                                    detail: "drain timeout must be > 0 ms")
        }
        let status: natsStatus? = state.withLock { s in
            guard let h = s.handle else { return nil }
            Self.snapshotCounters(h, &s)
            return natsSubscription_DrainTimeout(h, timeoutMs)
        }
        guard let status else {
            // Not made on the server yet (waiting for the first connect), or already destroyed
            // (drained or connection closed): nothing to drain either way.
            _ = owner?.withdrawAwaiting(self)
            return
        }
        if status != NATS_OK {
            // An already-closed subscription (connection closed, drain in progress) still reaches
            // OnComplete; anything else is a real failure.
            let benign = status == NATS_INVALID_SUBSCRIPTION || status == NATS_CONNECTION_CLOSED
                || status == NATS_DRAINING || status == NATS_ILLEGAL_STATE
            if !benign && !context.completed.isOpen {
                throw NATSError(status: status, operation: "drain", subject: subject)
            }
        }
        if NATSThread.isCurrent { return }
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000 + 1)
        guard context.completed.wait(until: deadline) else {
            throw NATSError.invalid(NATS_TIMEOUT, operation: "drain", subject: subject,
                                    detail: "OnComplete not observed within \(timeoutMs) ms + 1 s")
        }
        destroyHandleAfterClose()
        owner?.forget(self)
    }

    // MARK: internal

    func startDrain(timeoutMs: Int64) {
        state.withLock { s in
            guard let h = s.handle else { return }
            Self.snapshotCounters(h, &s)
            _ = natsSubscription_DrainTimeout(h, timeoutMs)
        }
    }

    /// Releases the wrapper's reference on the libnats subscription. Only call once the
    /// subscription is closed (OnComplete observed, or the connection closed), never while live.
    func destroyHandleAfterClose() {
        state.withLock { s in
            guard let h = s.handle else { return }
            Self.snapshotCounters(h, &s)
            s.lastPendingMessages = 0
            s.lastPendingBytes = 0
            natsSubscription_Destroy(h)
            s.handle = nil
        }
    }

    /// Captures counters while the handle can still answer (a closed subscription returns
    /// NATS_INVALID_SUBSCRIPTION from the getters, so the last good values are kept).
    func snapshotCounters() {
        state.withLock { s in
            guard let h = s.handle else { return }
            Self.snapshotCounters(h, &s)
        }
    }

    private static func snapshotCounters(_ h: OpaquePointer, _ s: inout State) {
        var dropped: Int64 = 0
        if natsSubscription_GetDropped(h, &dropped) == NATS_OK { s.lastDropped = Int(dropped) }
        var delivered: Int64 = 0
        if natsSubscription_GetDelivered(h, &delivered) == NATS_OK { s.lastDelivered = Int(delivered) }
        var messages: Int32 = 0
        var bytes: Int32 = 0
        if natsSubscription_GetPending(h, &messages, &bytes) == NATS_OK {
            s.lastPendingMessages = Int(messages)
            s.lastPendingBytes = Int(bytes)
        }
    }

    private func pending() -> (messages: Int, bytes: Int) {
        state.withLock { s in
            if let h = s.handle {
                var messages: Int32 = 0
                var bytes: Int32 = 0
                if natsSubscription_GetPending(h, &messages, &bytes) == NATS_OK {
                    s.lastPendingMessages = Int(messages)
                    s.lastPendingBytes = Int(bytes)
                }
            }
            return (s.lastPendingMessages, s.lastPendingBytes)
        }
    }
}
