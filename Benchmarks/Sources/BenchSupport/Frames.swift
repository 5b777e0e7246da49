import Foundation
import Strategies

/// Frames for the benchmarks: the real replays in `../shared/binance-real/replay` (the exact
/// NATS payloads the sidecar receives), or synthetic envelopes of the same shapes when that
/// folder is absent. `BINANCE_REAL_DIR` overrides the location.
public enum BenchData {
    public static let replayDirectory: URL? = {
        var candidates: [URL] = []
        if let env = ProcessInfo.processInfo.environment["BINANCE_REAL_DIR"], !env.isEmpty {
            candidates.append(URL(fileURLWithPath: env).appendingPathComponent("replay"))
        }
        // Benchmarks/Sources/BenchSupport/Frames.swift → repository root → ../shared.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.deletingLastPathComponent().appendingPathComponent("shared/binance-real/replay"))
        return candidates.first { FileManager.default.fileExists(atPath: $0.path) }
    }()

    /// One recorded payload and the index of the recording it came from.
    public struct Frame: Sendable {
        public var bytes: [UInt8]
        public var file: Int
    }

    /// Every replay line in file order (files sorted by name), or synthetic frames.
    public static let all: (frames: [Frame], source: String) = {
        if let dir = replayDirectory,
            let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path)
                .filter({ $0.hasSuffix(".nats.jsonl.gz") }).sorted(),
            !names.isEmpty
        {
            var frames: [Frame] = []
            for (i, name) in names.enumerated() {
                frames += lines(gunzip(dir.appendingPathComponent(name))).map { Frame(bytes: $0, file: i) }
            }
            if !frames.isEmpty { return (frames, "real: \(dir.path) (\(names.count) replays)") }
        }
        return (Synthetic.frames().map { Frame(bytes: $0, file: 0) }, "SYNTHETIC (../shared/binance-real/replay not found)")
    }()

    /// The frames the parser classifies as one of `kinds`, in recorded order.
    public static func frames(of kinds: Set<StreamKind>) -> [Frame] {
        var parser = MarketDataParser()
        return all.frames.filter { frame in
            frame.bytes.withUnsafeBytes { raw in
                switch parser.parse(raw, subjectVenue: nil, receiveTimeMs: 0) {
                case .event(_, let kind, _): kinds.contains(kind)
                case .ignored(let kind): kinds.contains(kind)
                case .rejected: false
                }
            }
        }
    }

    private static func gunzip(_ url: URL) -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-dc", url.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        do { try process.run() } catch { return Data() }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? data : Data()
    }

    private static func lines(_ data: Data) -> [[UInt8]] {
        data.split(separator: 0x0A, omittingEmptySubsequences: true).map { Array($0) }
    }
}

extension ReplayLoop {
    public convenience init(_ frames: [BenchData.Frame]) {
        self.init(frames.map { (bytes: $0.bytes, recording: $0.file) })
    }
}

/// The benchmarks' name for the replay loop.
public typealias FrameRing = ReplayLoop

/// Synthetic envelopes with the shapes of the real replays (spot frames, 8-decimal strings).
public enum Synthetic {
    public static func frames() -> [[UInt8]] {
        var out: [String] = []
        let symbols = ["BTCUSDT", "ETHUSDT", "BNBUSDT"]
        var t: Int64 = 1_722_470_400_000
        var rng = SystemRandomNumberGenerator()
        for step in 0..<3000 {
            t += 37
            let symbol = symbols[step % symbols.count]
            let lower = symbol.lowercased()
            let mid = 1000.0 + Double(step % 97)
            func px(_ x: Double) -> String { String(format: "%.8f", x) }
            func qty() -> String { String(format: "%.8f", Double.random(in: 0.001...5, using: &rng)) }
            let ts = formatISO8601Millis(t)
            let envelope = #","timestamp":"\#(ts)","message_id":"00000000-0000-4000-8000-000000000000","source":"binance-websocket","version":"1.0"}"#
            switch step % 6 {
            case 0, 1:
                let bids = (0..<20).map { #"["\#(px(mid - 0.01 * Double($0 + 1)))","\#(qty())"]"# }.joined(separator: ",")
                let asks = (0..<20).map { #"["\#(px(mid + 0.01 * Double($0 + 1)))","\#(qty())"]"# }.joined(separator: ",")
                out.append(#"{"stream":"\#(lower)@depth20@100ms","data":{"lastUpdateId":\#(step),"bids":[\#(bids)],"asks":[\#(asks)]}"# + envelope)
            case 2:
                out.append(#"{"stream":"\#(lower)@trade","data":{"e":"trade","E":\#(t),"s":"\#(symbol)","t":\#(step),"p":"\#(px(mid))","q":"\#(qty())","T":\#(t),"m":\#(step % 4 == 0),"M":true}"# + envelope)
            case 3:
                out.append(#"{"stream":"\#(lower)@aggTrade","data":{"e":"aggTrade","E":\#(t),"s":"\#(symbol)","a":\#(step),"p":"\#(px(mid))","q":"\#(qty())","f":1,"l":2,"T":\#(t),"m":false,"M":true}"# + envelope)
            case 4:
                out.append(#"{"stream":"\#(lower)@bookTicker","data":{"u":\#(step),"s":"\#(symbol)","b":"\#(px(mid - 0.01))","B":"\#(qty())","a":"\#(px(mid + 0.01))","A":"\#(qty())"}"# + envelope)
            default:
                out.append(#"{"stream":"\#(lower)@ticker","data":{"e":"24hrTicker","E":\#(t),"s":"\#(symbol)","p":"\#(px(1.5))","P":"0.150","w":"\#(px(mid))","x":"\#(px(mid))","c":"\#(px(mid))","Q":"\#(qty())","b":"\#(px(mid - 0.01))","B":"\#(qty())","a":"\#(px(mid + 0.01))","A":"\#(qty())","o":"\#(px(mid - 1))","h":"\#(px(mid + 5))","l":"\#(px(mid - 5))","v":"\#(qty())","q":"\#(qty())","O":0,"C":\#(t),"F":0,"L":\#(step),"n":\#(step)}"# + envelope)
            }
        }
        // A depth diff per 20 frames, so the diff benchmark has input too.
        for step in 0..<150 {
            let symbol = symbols[step % symbols.count].lowercased()
            out.append(#"{"stream":"\#(symbol)@depth@100ms","data":{"e":"depthUpdate","E":\#(t + Int64(step)),"s":"\#(symbol.uppercased())","U":\#(step),"u":\#(step + 3),"b":[["999.99000000","1.00000000"],["999.98000000","0.00000000"]],"a":[["1000.01000000","2.50000000"]]},"timestamp":"\#(formatISO8601Millis(t))","message_id":"m","source":"binance-websocket","version":"1.0"}"#)
        }
        return out.map { Array($0.utf8) }
    }
}
