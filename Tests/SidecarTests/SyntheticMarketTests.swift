import Foundation
import Testing
@testable import Sidecar

@Suite("SyntheticMarket")
struct SyntheticMarketTests {
    static func payloads(_ configuration: SyntheticMarket.Configuration, seconds: Int64) -> [(Int64, [UInt8])] {
        var market = SyntheticMarket(configuration)
        let end = configuration.startTimeMs + seconds * 1000
        var result: [(Int64, [UInt8])] = []
        while true {
            let (time, payload) = market.next()
            if time >= end { break }
            result.append((time, payload))
        }
        return result
    }

    static func object(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    /// `2026-01-01T00:00:00.123000Z` or `2026-01-01T00:00:01Z` → ms since the epoch.
    static func parseTimestamp(_ text: String) -> Int64? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = text.contains(".") ? [.withInternetDateTime, .withFractionalSeconds] : [.withInternetDateTime]
        guard let date = formatter.date(from: text) else { return nil }
        return Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    static func levels(_ value: Any?) throws -> [(Double, Double)] {
        let rows = try #require(value as? [[String]])
        return try rows.map { row in
            #expect(row.count == 2)
            return (try #require(Double(row[0])), try #require(Double(row[1])))
        }
    }

    @Test("the same seed gives identical bytes, a different seed different ones")
    func determinism() {
        let a = Self.payloads(.init(seed: 7), seconds: 5)
        let b = Self.payloads(.init(seed: 7), seconds: 5)
        let c = Self.payloads(.init(seed: 8), seconds: 5)
        #expect(a.count > 500)
        #expect(a.map(\.0) == b.map(\.0))
        #expect(a.map(\.1) == b.map(\.1))
        #expect(a.map(\.1) != c.map(\.1))
    }

    @Test("10 s of output: envelopes with valid spot books, trades and a ticker per second per symbol")
    func shapeOfTenSeconds() throws {
        let config = SyntheticMarket.Configuration()
        let messages = Self.payloads(config, seconds: 10)
        var depthCount: [String: Int] = [:]
        var tradeCount: [String: Int] = [:]
        var tickerSeconds: [String: Set<Int64>] = [:]
        var tickerCount: [String: Int] = [:]
        var lastTimestamp: Int64 = .min
        var lastEventTime: Int64 = .min
        var messageIds: Set<String> = []
        var lastUpdateIds: [String: Int64] = [:]
        let uuidPattern = try Regex(#"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"#)

        for (eventTime, payload) in messages {
            #expect(eventTime >= lastEventTime)
            lastEventTime = eventTime
            let envelope = try Self.object(payload)
            #expect(Set(envelope.keys) == ["stream", "data", "timestamp", "message_id", "source", "version"])
            #expect(envelope["source"] as? String == "binance-websocket")
            #expect(envelope["version"] as? String == "1.0")
            let id = try #require(envelope["message_id"] as? String)
            #expect(id.wholeMatch(of: uuidPattern) != nil)
            messageIds.insert(id)
            let timestampText = try #require(envelope["timestamp"] as? String)
            let timestamp = try #require(Self.parseTimestamp(timestampText), "\(timestampText)")
            #expect(timestamp == eventTime)
            #expect(timestamp >= lastTimestamp)
            lastTimestamp = timestamp

            let stream = try #require(envelope["stream"] as? String)
            let parts = stream.split(separator: "@", maxSplits: 1).map(String.init)
            let symbol = parts[0].uppercased()
            #expect(config.symbols.contains(symbol))
            let data = try #require(envelope["data"] as? [String: Any])
            switch parts[1] {
            case "depth20@100ms":
                depthCount[symbol, default: 0] += 1
                #expect(Set(data.keys) == ["lastUpdateId", "bids", "asks"])
                let updateId = try #require((data["lastUpdateId"] as? NSNumber)?.int64Value)
                #expect(updateId > lastUpdateIds[symbol, default: 0])
                lastUpdateIds[symbol] = updateId
                let bids = try Self.levels(data["bids"])
                let asks = try Self.levels(data["asks"])
                #expect(bids.count == 20)
                #expect(asks.count == 20)
                #expect(bids[0].0 < asks[0].0)
                #expect(zip(bids, bids.dropFirst()).allSatisfy { $0.0 > $1.0 })
                #expect(zip(asks, asks.dropFirst()).allSatisfy { $0.0 < $1.0 })
                #expect((bids + asks).allSatisfy { $0.1 > 0 && $0.0 > 0 })
                let mid = (bids[0].0 + asks[0].0) / 2
                #expect((asks[0].0 - bids[0].0) / mid < 0.0005)
                let raw = try #require(data["bids"] as? [[String]])
                #expect(raw[0][0].split(separator: ".").last?.count == 8)
            case "trade":
                tradeCount[symbol, default: 0] += 1
                #expect(data["e"] as? String == "trade")
                #expect(data["s"] as? String == symbol)
                #expect((data["E"] as? NSNumber)?.int64Value == eventTime)
                let tradeTime = try #require((data["T"] as? NSNumber)?.int64Value)
                #expect(tradeTime <= eventTime)
                #expect(data["t"] is NSNumber)
                #expect(Double(try #require(data["p"] as? String)) ?? 0 > 0)
                #expect(Double(try #require(data["q"] as? String)) ?? 0 > 0)
                #expect(data["m"] is Bool)
                #expect(data["M"] as? Bool == true)
            case "ticker":
                tickerCount[symbol, default: 0] += 1
                tickerSeconds[symbol, default: []].insert((eventTime - config.startTimeMs) / 1000)
                #expect(data["e"] as? String == "24hrTicker")
                #expect(data["s"] as? String == symbol)
                for key in ["p", "P", "w", "x", "c", "Q", "b", "B", "a", "A", "o", "h", "l", "v", "q"] {
                    let text = try #require(data[key] as? String, "ticker \(key)")
                    #expect(Double(text) != nil, "ticker \(key) = \(text)")
                }
                for key in ["E", "O", "C", "F", "L", "n"] { #expect(data[key] is NSNumber, "ticker \(key)") }
                let high = Double(data["h"] as! String)!, low = Double(data["l"] as! String)!
                let last = Double(data["c"] as! String)!
                #expect(low <= last && last <= high)
                let bid = Double(data["b"] as! String)!, ask = Double(data["a"] as! String)!
                #expect(bid < ask)
            default:
                Issue.record("unexpected stream \(stream)")
            }
        }
        #expect(messageIds.count == messages.count)
        for symbol in config.symbols {
            #expect((95...105).contains(depthCount[symbol, default: 0]), "\(symbol) depth \(depthCount[symbol, default: 0])")
            #expect((100...320).contains(tradeCount[symbol, default: 0]), "\(symbol) trades \(tradeCount[symbol, default: 0])")
            #expect(tickerCount[symbol] == 10, "\(symbol) tickers")
            #expect(tickerSeconds[symbol]?.count == 10)
        }
    }

    @Test("over 10 minutes the top-5 volume ratio leaves 0.8…1.2 on both sides, but stays inside most of the time")
    func skewRegimes() throws {
        let config = SyntheticMarket.Configuration()
        var market = SyntheticMarket(config)
        let end = config.startTimeMs + 600_000
        var books = 0, above = 0, below = 0
        var abovePerSymbol: [String: Int] = [:], belowPerSymbol: [String: Int] = [:]
        var maxSpreadFraction = 0.0
        while true {
            let (time, payload) = market.next()
            if time >= end { break }
            // Cheap pre-filter before parsing: only depth payloads.
            guard String(decoding: payload.prefix(40), as: UTF8.self).contains("@depth20@100ms") else { continue }
            let envelope = try Self.object(payload)
            guard let stream = envelope["stream"] as? String, stream.hasSuffix("@depth20@100ms") else { continue }
            let data = try #require(envelope["data"] as? [String: Any])
            let bids = try Self.levels(data["bids"])
            let asks = try Self.levels(data["asks"])
            let bidVolume = bids.prefix(5).reduce(0) { $0 + $1.1 }
            let askVolume = asks.prefix(5).reduce(0) { $0 + $1.1 }
            let ratio = bidVolume / askVolume
            books += 1
            let symbol = String(stream.prefix { $0 != "@" })
            if ratio > 1.2 { above += 1; abovePerSymbol[symbol, default: 0] += 1 }
            if ratio < 0.8 { below += 1; belowPerSymbol[symbol, default: 0] += 1 }
            maxSpreadFraction = max(maxSpreadFraction, (asks[0].0 - bids[0].0) / bids[0].0)
        }
        let inside = books - above - below
        print("SyntheticMarket 10 min: books \(books), ratio > 1.2: \(above), < 0.8: \(below), max spread \(maxSpreadFraction * 100) %, above \(abovePerSymbol), below \(belowPerSymbol)")
        #expect(books == 5 * 6000)
        #expect(above > 0)
        #expect(below > 0)
        #expect(Double(inside) / Double(books) > 0.75)
        #expect(Double(above + below) / Double(books) > 0.01)
        #expect(maxSpreadFraction * 100 < 0.05)
        // Both sides show up on several symbols, not just one.
        #expect(abovePerSymbol.count >= 3)
        #expect(belowPerSymbol.count >= 3)
    }

    @Test("configuration edge cases: unknown symbols, no trades, no tickers")
    func configurationEdges() throws {
        var market = SyntheticMarket(.init(symbols: ["abcusdt", "ABCUSDT", ""], tradesPerSecond: 0, tickerIntervalMs: 0))
        #expect(market.configuration.symbols == ["ABCUSDT"])
        for _ in 0..<50 {
            let (_, payload) = market.next()
            let envelope = try Self.object(payload)
            #expect(envelope["stream"] as? String == "abcusdt@depth20@100ms")
        }
    }
}
