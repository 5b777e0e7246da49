// The only place where libnats calls back into Swift. Every C callback of the wrapper is a
// non-capturing `@convention(c)` trampoline declared here; each one turns its `void *closure`
// back into the Swift context object it was registered with.
//
// Ownership rules implemented here (and nowhere else):
//   * `natsMsg_Destroy` for every received message: `natsMessageTrampoline`, after the Swift
//     handler returns (one `defer`).
//   * The +1 retain on a `SubscriptionContext` handed to libnats at subscribe time is released
//     only by `natsSubscriptionCompleteTrampoline` (the subscription's OnComplete callback, which
//     libnats invokes after the subscription is closed and its handler has returned for the
//     last time).
//   * The +1 retain on a `ConnectionContext` handed to libnats at connect time is released only
//     by `natsClosedTrampoline` (the connection's closed callback, the last connection callback
//     libnats posts), or by `NATSClient.connectOnce` when `natsConnection_Connect` failed and
//     therefore never created a connection that could call back.

import CNATS
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - NATS thread marker

/// Marks libnats-owned threads (the message delivery thread and the async-callback thread) the
/// first time they call into Swift, and the wrapper's first-connect thread, so that blocking waits (drain completion, closed event) are
/// skipped when `close()`/`drain()` are called from inside a handler: waiting there would wait
/// for the very thread that is waiting.
enum NATSThread {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let rc = pthread_key_create(&key, nil)
        precondition(rc == 0, "pthread_key_create failed: \(rc)")  // process resource exhaustion, not external input
        return key
    }()

    @inline(__always)
    static func markCurrent() {
        if pthread_getspecific(key) == nil {
            _ = pthread_setspecific(key, UnsafeRawPointer(bitPattern: 0x1))
        }
    }

    static var isCurrent: Bool { pthread_getspecific(key) != nil }
}

// MARK: - Small synchronisation helpers

/// One-shot latch: `open()` once, any number of bounded waiters.
final class CompletionLatch: @unchecked Sendable {
    private let condition = NSCondition()
    private var opened = false

    func open() {
        condition.lock()
        opened = true
        condition.broadcast()
        condition.unlock()
    }

    var isOpen: Bool {
        condition.lock()
        defer { condition.unlock() }
        return opened
    }

    /// Waits until open or until `deadline`. Returns whether the latch is open.
    func wait(until deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !opened {
            if !condition.wait(until: deadline) { return opened }
        }
        return true
    }
}

/// Rundown protection for the connection handle: operations `enter()` before touching the
/// `natsConnection*`; `close()` sets the closed bit and waits for in-flight operations to leave
/// before `natsConnection_Destroy`. Two uncontended atomic RMWs on the publish path, no lock.
final class RundownGate: @unchecked Sendable {
    private static let closedBit = 1 << 62
    private let state = Atomic<Int>(0)

    @inline(__always)
    func enter() -> Bool {
        let value = state.add(1, ordering: .acquiring).newValue
        if value & Self.closedBit != 0 {
            state.subtract(1, ordering: .releasing)
            return false
        }
        return true
    }

    @inline(__always)
    func leave() { state.subtract(1, ordering: .releasing) }

    /// Refuses new entries from now on.
    func shut() { state.bitwiseOr(Self.closedBit, ordering: .acquiringAndReleasing) }

    /// Waits (polling, operations are short or bounded by their own timeouts) for in-flight ops.
    func waitForInFlight() {
        while state.load(ordering: .acquiring) & ~Self.closedBit != 0 {
            usleep(100)
        }
    }
}

// MARK: - Reconnect backoff

/// Exponential reconnect backoff with jitter, used through `natsOptions_SetCustomReconnectDelay`.
enum NATSReconnectBackoff {
    /// `attempt` is libnats' count of full passes over the server list (1, 2, ...).
    /// delay = min(cap, base * 2^(attempt-1)) + uniform(0...jitter)
    static func delayMs(attempt: Int, baseMs: Int64, capMs: Int64, jitterMs: Int64,
                        random: (ClosedRange<Int64>) -> Int64 = { Int64.random(in: $0) }) -> Int64 {
        let base = max(baseMs, 0)
        let cap = max(capMs, base)
        let shift = min(max(attempt - 1, 0), 30)
        let (scaled, overflow) = base.multipliedReportingOverflow(by: Int64(1) << Int64(shift))
        let delay = overflow ? cap : min(scaled, cap)
        let jitter = jitterMs > 0 ? random(0...jitterMs) : 0
        return delay + jitter
    }
}

// MARK: - Connection context

/// Swift side of the connection callbacks: counters plus the optional event handler.
/// Retained once for libnats at connect; released in the closed callback.
final class ConnectionContext: @unchecked Sendable {
    let onEvent: (@Sendable (NATSConnectionEvent) -> Void)?
    let reconnectWaitMs: Int64
    let maxReconnectWaitMs: Int64
    let reconnectJitterMs: Int64

    let connects = Atomic<UInt64>(0)
    let disconnects = Atomic<UInt64>(0)
    let reconnects = Atomic<UInt64>(0)
    let slowConsumerErrors = Atomic<UInt64>(0)
    let asyncErrors = Atomic<UInt64>(0)
    let closedLatch = CompletionLatch()

    init(options: NATSClientOptions, onEvent: (@Sendable (NATSConnectionEvent) -> Void)?) {
        self.onEvent = onEvent
        self.reconnectWaitMs = options.reconnectWaitMs
        self.maxReconnectWaitMs = options.maxReconnectWaitMs
        self.reconnectJitterMs = options.reconnectJitterMs
    }

    func emit(_ event: NATSConnectionEvent) { onEvent?(event) }

    private let connectFailure = Mutex<String?>(nil)
    var lastConnectFailure: String? { connectFailure.withLock { $0 } }

    /// Records a failed connect attempt; true when its text differs from the previous one, so a
    /// retry loop logs a changed reason once instead of every second.
    @discardableResult
    func recordConnectFailure(_ error: NATSError) -> Bool {
        let text = error.summary
        return connectFailure.withLock { last in
            defer { last = text }
            return last != text
        }
    }
}

// MARK: - Subscription context

/// Swift side of one subscription: the handler and the OnComplete latch.
/// Retained once for libnats right after `natsConnection_Subscribe` succeeds; released only in
/// `natsSubscriptionCompleteTrampoline`.
final class SubscriptionContext: @unchecked Sendable {
    enum Handler {
        case raw((_ subject: UnsafeRawBufferPointer, _ payload: UnsafeRawBufferPointer) -> Void)
        case view((NATSMessageView) -> Void)
    }

    let subject: String
    let handler: Handler
    let completed = CompletionLatch()

    init(subject: String, handler: Handler) {
        self.subject = subject
        self.handler = handler
    }

    /// Runs on the single delivery thread. `msg` is borrowed: the trampoline destroys it.
    @inline(__always)
    func deliver(_ msg: OpaquePointer) {
        let subjectBuffer: UnsafeRawBufferPointer
        if let cSubject = natsMsg_GetSubject(msg) {
            subjectBuffer = UnsafeRawBufferPointer(start: cSubject, count: strlen(cSubject))
        } else {
            subjectBuffer = UnsafeRawBufferPointer(start: nil, count: 0)
        }
        let length = Int(natsMsg_GetDataLength(msg))
        let payload: UnsafeRawBufferPointer
        if let data = natsMsg_GetData(msg), length > 0 {
            payload = UnsafeRawBufferPointer(start: data, count: length)
        } else {
            payload = UnsafeRawBufferPointer(start: nil, count: 0)
        }
        switch handler {
        case .raw(let body):
            body(subjectBuffer, payload)
        case .view(let body):
            body(NATSMessageView(msg: msg, subject: subjectBuffer, payload: payload))
        }
    }
}

// MARK: - Trampolines

/// `natsMsgHandler`. The single place where received messages are destroyed.
let natsMessageTrampoline: natsMsgHandler = { _, _, msg, closure in
    guard let msg else { return }          // only timeout subscriptions pass NULL; we use none
    defer { natsMsg_Destroy(msg) }         // exactly once per received message, after the handler
    NATSThread.markCurrent()
    guard let closure else { return }
    // +1 owned by libnats until OnComplete, which cannot run while this handler runs.
    Unmanaged<SubscriptionContext>.fromOpaque(closure).takeUnretainedValue().deliver(msg)
}

/// `natsOnCompleteCB`. The single release point of a subscription's context.
let natsSubscriptionCompleteTrampoline: natsOnCompleteCB = { closure in
    NATSThread.markCurrent()
    guard let closure else { return }
    let context = Unmanaged<SubscriptionContext>.fromOpaque(closure).takeRetainedValue()
    context.completed.open()
}

let natsDisconnectedTrampoline: natsConnectionHandler = { _, closure in
    NATSThread.markCurrent()
    guard let closure else { return }
    let context = Unmanaged<ConnectionContext>.fromOpaque(closure).takeUnretainedValue()
    context.disconnects.add(1, ordering: .relaxed)
    context.emit(.disconnected)
}

let natsReconnectedTrampoline: natsConnectionHandler = { _, closure in
    NATSThread.markCurrent()
    guard let closure else { return }
    let context = Unmanaged<ConnectionContext>.fromOpaque(closure).takeUnretainedValue()
    context.reconnects.add(1, ordering: .relaxed)
    context.emit(.reconnected)
}

/// Closed callback: the last callback libnats posts for a connection; releases the context.
let natsClosedTrampoline: natsConnectionHandler = { _, closure in
    NATSThread.markCurrent()
    guard let closure else { return }
    let context = Unmanaged<ConnectionContext>.fromOpaque(closure).takeRetainedValue()
    context.emit(.closed)
    context.closedLatch.open()
}

/// Async error handler. Never touches `sub`: in 3.4.1 it may already be freed (fixed in 3.7.0).
let natsErrorTrampoline: natsErrHandler = { _, _, status, closure in
    NATSThread.markCurrent()
    guard let closure else { return }
    let context = Unmanaged<ConnectionContext>.fromOpaque(closure).takeUnretainedValue()
    if status == NATS_SLOW_CONSUMER {
        context.slowConsumerErrors.add(1, ordering: .relaxed)
        context.emit(.slowConsumer)
    } else {
        context.asyncErrors.add(1, ordering: .relaxed)
        context.emit(.error(NATSError.text(of: status)))
    }
}

/// Custom reconnect delay (runs on libnats' reconnect thread; must not block).
let natsReconnectDelayTrampoline: natsCustomReconnectDelayHandler = { _, attempts, closure in
    guard let closure else { return 1000 }
    let context = Unmanaged<ConnectionContext>.fromOpaque(closure).takeUnretainedValue()
    return NATSReconnectBackoff.delayMs(attempt: Int(attempts), baseMs: context.reconnectWaitMs,
                                        capMs: context.maxReconnectWaitMs,
                                        jitterMs: context.reconnectJitterMs)
}
