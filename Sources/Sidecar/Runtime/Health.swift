import Foundation
import Synchronization

/// The outcome of one health or readiness check.
public struct CheckResult: Sendable, Equatable {
    public var ok: Bool
    public var detail: String

    public init(ok: Bool, detail: String) {
        self.ok = ok
        self.detail = detail
    }

    public static func ok(_ detail: String) -> CheckResult { CheckResult(ok: true, detail: detail) }
    public static func failed(_ detail: String) -> CheckResult { CheckResult(ok: false, detail: detail) }
}

/// One named readiness check. A failing `required` check makes `/ready` answer 503; an optional
/// one is reported only.
public struct ReadinessCheck: Sendable {
    public var name: String
    public var required: Bool
    public var probe: @Sendable () -> CheckResult

    public init(name: String, required: Bool = true, probe: @escaping @Sendable () -> CheckResult) {
        self.name = name
        self.required = required
        self.probe = probe
    }
}

/// The readiness checks of the sidecar, extensible at run time (e.g. the config store replaces
/// the `config` check with "loaded" / "degraded: reason"), plus the shutdown latch: once a
/// graceful shutdown has begun the sidecar is not ready, whatever the checks say.
public final class Readiness: Sendable {
    private let checks = Mutex<[ReadinessCheck]>([])
    private let shuttingDown = Atomic<Bool>(false)

    public init(_ checks: [ReadinessCheck] = []) {
        self.checks.withLock { $0 = checks }
    }

    /// Adds `check`, or replaces the check of the same name in place.
    public func register(_ check: ReadinessCheck) {
        checks.withLock { list in
            if let index = list.firstIndex(where: { $0.name == check.name }) {
                list[index] = check
            } else {
                list.append(check)
            }
        }
    }

    public func register(name: String, required: Bool = true, probe: @escaping @Sendable () -> CheckResult) {
        register(ReadinessCheck(name: name, required: required, probe: probe))
    }

    public var names: [String] { checks.withLock { $0.map(\.name) } }

    /// From now on the sidecar reports not ready (the first step of a graceful shutdown).
    public func beginShutdown() { shuttingDown.store(true, ordering: .releasing) }
    public var isShuttingDown: Bool { shuttingDown.load(ordering: .acquiring) }

    public struct Evaluation: Sendable {
        public var ready: Bool
        public var shuttingDown: Bool
        public var results: [(name: String, required: Bool, result: CheckResult)]
    }

    /// Runs every probe (outside the lock: probes may take their own locks).
    public func evaluate() -> Evaluation {
        let list = checks.withLock { $0 }
        let results = list.map { (name: $0.name, required: $0.required, result: $0.probe()) }
        let shutting = isShuttingDown
        let ready = !shutting && results.allSatisfy { !$0.required || $0.result.ok }
        return Evaluation(ready: ready, shuttingDown: shutting, results: results)
    }
}

/// Monotonic milliseconds from the kernel's coarse clock: a few nanoseconds per read (no
/// syscall, vDSO), a resolution of a few milliseconds; for stall detection on the ingest thread.
public enum CoarseClock {
    @inline(__always)
    public static func nowMs() -> Int64 {
        var ts = timespec()
        #if os(Linux)
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
        #else
        clock_gettime(CLOCK_MONOTONIC, &ts)
        #endif
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

/// What the NATS delivery callbacks record for liveness: the monotonic time the current
/// callback entered processing (0 when none is running). Two relaxed atomic stores per message.
/// Also carries an internal test hook that runs inside the callback (one relaxed load when unset).
public final class IngestWatch: Sendable {
    private let busySinceMs = Atomic<Int64>(0)
    private let hookInstalled = Atomic<Bool>(false)
    private let hook = Mutex<(@Sendable () -> Void)?>(nil)

    public init() {}

    @inline(__always)
    func enter() {
        busySinceMs.store(max(CoarseClock.nowMs(), 1), ordering: .relaxed)
        if hookInstalled.load(ordering: .relaxed) { runHook() }
    }

    @inline(__always)
    func exit() { busySinceMs.store(0, ordering: .relaxed) }

    /// How long the running callback has been inside, in milliseconds; nil when none runs.
    public func busyForMs(nowMs: Int64 = CoarseClock.nowMs()) -> Int64? {
        let since = busySinceMs.load(ordering: .relaxed)
        return since == 0 ? nil : max(nowMs - since, 0)
    }

    /// Liveness: failed when one callback has been processing for more than `limitMs`.
    public func liveness(limitMs: Int64) -> CheckResult {
        guard let busy = busyForMs(), busy > limitMs else { return .ok("ingest thread responsive") }
        return .failed(String(format: "ingest callback busy for %.1f s (limit %.0f s): the ingest thread is stuck",
                              Double(busy) / 1000, Double(limitMs) / 1000))
    }

    /// Internal, for tests: `body` runs on the delivery thread inside each callback, after entry
    /// is recorded (e.g. to block it on a semaphore). nil removes it.
    func setHookForTesting(_ body: (@Sendable () -> Void)?) {
        hook.withLock { $0 = body }
        hookInstalled.store(body != nil, ordering: .relaxed)
    }

    private func runHook() {
        if let body = hook.withLock({ $0 }) { body() }
    }
}
