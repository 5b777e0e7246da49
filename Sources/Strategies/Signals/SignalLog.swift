import Synchronization

/// The last N signals, with sequence numbers, for pull clients (socket `GetSignals`) and
/// streaming subscribers. Sequence numbers start at 1 and never repeat within a process.
public final class SignalLog: Sendable {
    public struct Page: Sendable {
        /// Matching signals in sequence order.
        public var signals: [Signal]
        /// The cursor for the next call (`after_seq`): the last sequence examined.
        public var nextSequence: UInt64
        /// True when `after` had already fallen out of the ring: signals were missed.
        public var truncated: Bool
    }

    private struct Ring: Sendable {
        var slots: [Signal?]
        var nextSequence: UInt64 = 1
    }

    public let capacity: Int
    private let ring: Mutex<Ring>

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        ring = Mutex(Ring(slots: Array(repeating: nil, count: max(1, capacity))))
    }

    /// Assigns the next sequence number, stores the signal and returns it as stored.
    @discardableResult
    public func append(_ signal: Signal) -> Signal {
        ring.withLock { ring in
            var stored = signal
            stored.sequence = ring.nextSequence
            ring.slots[Int((ring.nextSequence - 1) % UInt64(capacity))] = stored
            ring.nextSequence += 1
            return stored
        }
    }

    /// The sequence number of the newest signal, 0 if none.
    public var lastSequence: UInt64 { ring.withLock { $0.nextSequence - 1 } }

    /// Signals with a sequence above `after`, oldest first, at most `limit`, filtered by symbol
    /// and strategy id (empty sets mean no filter).
    public func read(after: UInt64, limit: Int, symbols: Set<String> = [], strategies: Set<String> = []) -> Page {
        ring.withLock { ring in
            let newest = ring.nextSequence - 1
            let oldest = ring.nextSequence > UInt64(capacity) ? ring.nextSequence - UInt64(capacity) : 1
            var sequence = after + 1
            var truncated = false
            if sequence < oldest {
                truncated = after < oldest - 1
                sequence = oldest
            }
            var signals: [Signal] = []
            var cursor = max(after, sequence - 1)
            while sequence <= newest && signals.count < max(0, limit) {
                if let signal = ring.slots[Int((sequence - 1) % UInt64(capacity))],
                   symbols.isEmpty || symbols.contains(signal.key.symbol),
                   strategies.isEmpty || strategies.contains(signal.strategyId) {
                    signals.append(signal)
                }
                cursor = sequence
                sequence += 1
            }
            return Page(signals: signals, nextSequence: cursor, truncated: truncated)
        }
    }
}
