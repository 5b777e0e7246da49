// Replay tooling for benchmarks and load tests: no I/O, stdlib only.

/// Recorded payloads packed in one allocation and visited round-robin without retain/release, so a
/// benchmark or load loop adds a few instructions per message to the code it drives.
///
/// The recordings are played side by side as a live feed would deliver them: each is moved
/// (`ReplayTimeShift`, whole seconds) to start at the same instant and the frames are merged by
/// event time. Every pass moves all of them forward by the span of the longest, so each
/// symbol's event time only moves forward. Call `prepare(_:)` outside the measurement before
/// taking that many frames.
public final class ReplayLoop: @unchecked Sendable {
    @usableFromInline let storage: UnsafeMutableRawPointer
    @usableFromInline let spans: UnsafeMutableBufferPointer<(offset: Int, count: Int)>
    @usableFromInline var next = 0
    @usableFromInline var pass = 0
    public let count: Int
    public let bytes: Int
    @usableFromInline let last: Int
    /// Completed passes over the frames.
    public var passes: Int { pass }
    private let shifts: [ReplayTimeShift]
    private let baseSeconds: [Int64]
    private var appliedPass: [Int]
    private let passSeconds: Int64

    /// `input`: payloads with the index of the recording each came from, each recording in its
    /// recorded order.
    public init(_ input: [(bytes: [UInt8], recording: Int)]) {
        precondition(!input.isEmpty, "ReplayLoop needs at least one frame")
        let start: Int64 = 1_767_225_600  // 2026-01-01T00:00:00Z
        let inputShifts = input.map { f in f.bytes.withUnsafeBytes { ReplayTimeShift($0) } }
        var firstSecond: [Int: Int64] = [:]
        for (i, f) in input.enumerated() {
            if let t = inputShifts[i].eventTimeMs { firstSecond[f.recording] = min(firstSecond[f.recording] ?? .max, t / 1000) }
        }
        let shiftOf = input.map { start - (firstSecond[$0.recording] ?? start) }
        let shiftedMs = input.indices.map { i in (inputShifts[i].eventTimeMs ?? start * 1000) + shiftOf[i] * 1000 }
        let order = input.indices.sorted { (shiftedMs[$0], $0) < (shiftedMs[$1], $1) }
        let span = ((shiftedMs.max() ?? 0) - (shiftedMs.min() ?? 0)) / 1000

        bytes = input.reduce(0) { $0 + $1.bytes.count }
        count = input.count
        last = input.count - 1
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 64)
        let spans = UnsafeMutableBufferPointer<(offset: Int, count: Int)>.allocate(capacity: input.count)
        self.storage = storage
        self.spans = spans
        var offset = 0
        for (slot, i) in order.enumerated() {
            input[i].bytes.withUnsafeBytes { storage.advanced(by: offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            spans[slot] = (offset, input[i].bytes.count)
            offset += input[i].bytes.count
        }
        shifts = order.map { inputShifts[$0] }
        baseSeconds = order.map { shiftOf[$0] }
        passSeconds = span + 1
        appliedPass = Array(repeating: -1, count: input.count)
        prepare(count)
    }

    deinit {
        storage.deallocate()
        spans.deallocate()
    }

    /// Rewrites the event times of the next `n` frames for the pass they will be taken in.
    public func prepare(_ n: Int) {
        for k in 0..<min(n, count) {
            let position = next + k
            let i = position % count
            let p = pass + position / count
            guard appliedPass[i] != p else { continue }
            let span = spans[i]
            shifts[i].apply(seconds: baseSeconds[i] + Int64(p) * passSeconds,
                            to: UnsafeMutableRawBufferPointer(start: storage.advanced(by: span.offset), count: span.count))
            appliedPass[i] = p
        }
    }

    /// The next frame; valid for the life of the ring.
    @inlinable @inline(__always)
    public func take() -> UnsafeRawBufferPointer {
        let span = spans[next]
        if next == last {
            next = 0
            pass &+= 1
        } else {
            next &+= 1
        }
        return UnsafeRawBufferPointer(start: storage.advanced(by: span.offset), count: span.count)
    }
}
