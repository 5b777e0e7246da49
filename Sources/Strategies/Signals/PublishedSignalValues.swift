/// The values a signal carries on NATS once `TradeEngineSignalEncoder` has applied the default
/// tiers, for the other wire formats (the socket's protobuf `Signal`) to carry exactly the same.
public struct PublishedSignalValues: Sendable, Equatable {
    /// The deterministic id (`id`, `signal_id`, `Nats-Msg-Id`).
    public var id: String
    /// Clamped to [0, 1]; 0 when not finite.
    public var confidence: Double
    public var strength: String
    public var quantity: Double
    /// nil where NATS publishes `null` (hold/close without strategy levels).
    public var stopLoss: Double?
    public var takeProfit: Double?
    public var stopLossPct: Double
    public var takeProfitPct: Double
    /// The JSON object published as `metadata`, byte for byte.
    public var metadataJSON: String

    public init(_ signal: Signal) {
        let confidence = signal.confidence.isFinite ? min(max(signal.confidence, 0), 1) : 0
        let levels = TradeEngineSignalEncoder.riskLevels(signal, confidence: confidence)
        id = TradeEngineSignalEncoder.signalId(signal)
        self.confidence = confidence
        strength = Signal.strength(forConfidence: confidence)
        if let q = signal.quantity, q.isFinite {
            quantity = q
        } else {
            quantity = TradeEngineSignalEncoder.defaultQuantity(price: signal.price)
        }
        stopLoss = levels.stopLoss
        takeProfit = levels.takeProfit
        stopLossPct = levels.stopLossPct
        takeProfitPct = levels.takeProfitPct
        metadataJSON = Self.metadataObject(of: signal)
    }

    /// Cuts the `metadata` object out of the encoder's own output, so it cannot drift from NATS.
    static func metadataObject(of signal: Signal) -> String {
        var json: [UInt8] = []
        json.reserveCapacity(1024)
        TradeEngineSignalEncoder().encode(signal, into: &json)
        // Inside JSON strings a quote is always escaped, so this key text appears only once, as the key.
        // A plain byte search: the generic `firstRange(of:)` cost ~165 µs and ~850 mallocs per
        // signal (Benchmarks, `protobuf/signal map`), on the socket's event loop for every signal.
        guard let keyEnd = firstEnd(of: #","metadata":{"#, in: json) else { return "{}" }
        let start = keyEnd - 1
        var depth = 0
        var inString = false
        var escaped = false
        var i = start
        while i < json.count {
            let b = json[i]
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
            } else if b == UInt8(ascii: "\"") {
                inString = true
            } else if b == UInt8(ascii: "{") {
                depth += 1
            } else if b == UInt8(ascii: "}") {
                depth -= 1
                if depth == 0 { return String(decoding: json[start...i], as: UTF8.self) }
            }
            i += 1
        }
        return "{}"
    }

    /// The index just past the first occurrence of `pattern` in `bytes`, nil when absent.
    static func firstEnd(of pattern: StaticString, in bytes: [UInt8]) -> Int? {
        let n = pattern.utf8CodeUnitCount
        guard n > 0, bytes.count >= n else { return nil }
        let p = pattern.utf8Start
        return bytes.withUnsafeBufferPointer { b -> Int? in
            var i = 0
            outer: while i + n <= b.count {
                if b[i] == p[0] {
                    for j in 1..<n where b[i + j] != p[j] {
                        i += 1
                        continue outer
                    }
                    return i + n
                }
                i += 1
            }
            return nil
        }
    }
}
