import Testing
@testable import Strategies

@Suite("Replay time shift and loop")
struct ReplayTimeShiftTests {
    static let trade = #"{"stream":"btcusdt@trade","data":{"e":"trade","E":1617580800123,"s":"BTCUSDT","t":1,"p":"58000.01","q":"0.5","T":1617580800120,"m":true,"M":true},"timestamp":"2021-04-05T00:00:00.123456Z","message_id":"m","source":"binance-websocket","version":"1.0"}"#
    /// Spot partial depth has no E/T: the envelope timestamp is its event time.
    static let depth = #"{"stream":"btcusdt@depth20@100ms","data":{"lastUpdateId":7,"bids":[["100.0","1.0"]],"asks":[["100.5","1.0"]]},"timestamp":"2021-12-31T23:59:59.250Z","message_id":"m","source":"binance-websocket","version":"1.0"}"#

    func eventTime(_ bytes: [UInt8]) -> Int64? {
        var parser = MarketDataParser()
        return bytes.withUnsafeBytes { raw in
            if case .event(let e, _, _) = parser.parse(raw, subjectVenue: nil, receiveTimeMs: 0) { return e.eventTimeMs }
            return nil
        }
    }

    func shifted(_ text: String, seconds: Int64) -> [UInt8] {
        var bytes = Array(text.utf8)
        let shift = bytes.withUnsafeBytes { ReplayTimeShift($0) }
        bytes.withUnsafeMutableBytes { shift.apply(seconds: seconds, to: $0) }
        return bytes
    }

    @Test("E, T and the envelope timestamp move by the same whole seconds and the frame keeps its length")
    func shiftsEveryTimeField() throws {
        let seconds: Int64 = 86_400 * 400 + 3661
        let out = shifted(Self.trade, seconds: seconds)
        let text = String(decoding: out, as: UTF8.self)
        #expect(out.count == Self.trade.utf8.count)
        #expect(text.contains(#""E":\#(1_617_580_800_123 + seconds * 1000)"#))
        #expect(text.contains(#""T":\#(1_617_580_800_120 + seconds * 1000)"#))
        #expect(text.contains(#""timestamp":"2022-05-10T01:01:01.123456Z""#))
        #expect(try #require(eventTime(out)) - #require(eventTime(Array(Self.trade.utf8))) == seconds * 1000)
    }

    @Test("a frame timed by its envelope timestamp crosses a year boundary correctly")
    func shiftsTimestampOnlyFrames() throws {
        let out = shifted(Self.depth, seconds: 1)
        #expect(String(decoding: out, as: UTF8.self).contains(#""timestamp":"2022-01-01T00:00:00.250Z""#))
        #expect(try #require(eventTime(out)) - #require(eventTime(Array(Self.depth.utf8))) == 1000)
        let original = Array(Self.depth.utf8).withUnsafeBytes { ReplayTimeShift($0).eventTimeMs }
        #expect(original == 1_640_995_199_250)
    }

    @Test("a loop over two recordings merges them by time and each symbol's time only moves forward across passes")
    func loopKeepsTimeMonotonic() throws {
        // Recording 0 is a day older than recording 1; both start at the same instant in the loop.
        let older = (0..<3).map { i in Array(Self.trade.replacing("1617580800123", with: "\(1_617_580_800_123 + Int64(i) * 1000)").utf8) }
        let newer = (0..<3).map { i in Array(Self.trade.replacing("btcusdt@trade", with: "ethusdt@trade")
            .replacing("\"BTCUSDT\"", with: "\"ETHUSDT\"")
            .replacing("1617580800123", with: "\(1_617_667_200_123 + Int64(i) * 500)").utf8) }
        let loop = ReplayLoop(older.map { ($0, 0) } + newer.map { ($0, 1) })
        var last: [String: Int64] = [:]
        var previous = Int64.min
        for _ in 0..<(loop.count * 3) {
            loop.prepare(1)
            let frame = Array(loop.take())
            let time = try #require(eventTime(frame))
            let symbol = String(decoding: frame, as: UTF8.self).contains("BTCUSDT") ? "BTC" : "ETH"
            #expect(time > (last[symbol] ?? .min))
            #expect(time >= previous)  // merged: the whole feed is in time order
            last[symbol] = time
            previous = time
        }
        #expect(loop.passes == 3)
    }
}
