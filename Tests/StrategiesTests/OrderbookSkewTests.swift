import Testing
@testable import Strategies

extension OrderbookSkew {
    /// Runs the strategy outside `#expect`/`#require`, which cannot take mutating calls.
    mutating func run(_ key: SymbolKey, _ book: (PriceLevels, PriceLevels), at timeMs: Int64) -> Signal? {
        onBook(key: key, bids: book.0, asks: book.1, eventTimeMs: timeMs)
    }
}

@Suite("orderbook_skew")
struct OrderbookSkewTests {
    let key = SymbolKey(venue: .spot, symbol: "BTCUSDT")

    func result(_ strategy: inout OrderbookSkew, _ key: SymbolKey, _ book: (PriceLevels, PriceLevels),
                _ timeMs: Int64) -> Signal? {
        strategy.run(key, book, at: timeMs)
    }

    /// Five levels a side with 0.01 price steps: a spread of 0.02 on 100 (0.02 %).
    func book(bid: Double, ask: Double) -> (PriceLevels, PriceLevels) {
        (PriceLevels((0..<5).map { (100.0 - 0.01 * Double($0), bid) }),
         PriceLevels((0..<5).map { (100.02 + 0.01 * Double($0), ask) }))
    }

    @Test("a bid-heavy book buys at the best bid with confidence from base, imbalance and spread weights")
    func buysOnBidSkew() throws {
        var strategy = OrderbookSkew()
        let (bids, asks) = book(bid: 3, ask: 2)  // ratio 1.5
        let signal = try #require(result(&strategy, key, (bids, asks), 1_000))
        #expect(signal.action == .buy)
        #expect(signal.price == 100.0)
        #expect(signal.currentPrice == (100.0 + 100.02) / 2)
        // s_i = (1.5 - 1.2) / 1.2 = 0.25; spread 0.02 % of a 0.1 % limit → s_s = 0.8;
        // 0.70 + 0.30 · (0.6 · 0.25 + 0.4 · 0.8) = 0.841
        #expect(abs(signal.confidence - 0.841) < 1e-9)
        // The strategy's own risk levels: 0.5 % stop below, 1 % target above the entry.
        #expect(signal.stopLoss == 100.0 * (1 - 0.005))
        #expect(signal.takeProfit == 100.0 * (1 + 0.01))
        #expect(signal.strategyId == "orderbook_skew")
        #expect(signal.indicators.first { $0.0 == "ratio" }?.1 == 1.5)
    }

    @Test("an ask-heavy book sells at the best ask")
    func sellsOnAskSkew() throws {
        var strategy = OrderbookSkew()
        let (bids, asks) = book(bid: 1, ask: 2)  // ratio 0.5
        let signal = try #require(result(&strategy, key, (bids, asks), 1_000))
        #expect(signal.action == .sell)
        #expect(signal.price == 100.02)
        // s_i = (0.8 - 0.5) / 0.8 = 0.375 → 0.70 + 0.30 · (0.225 + 0.32) = 0.8635
        #expect(abs(signal.confidence - 0.8635) < 1e-9)
        #expect(try #require(signal.stopLoss) > signal.price)
        #expect(try #require(signal.takeProfit) < signal.price)
    }

    @Test("confidence is capped at 0.95")
    func confidenceIsCapped() throws {
        var strategy = OrderbookSkew()
        let (bids, asks) = book(bid: 10, ask: 1)
        #expect(try #require(result(&strategy, key, (bids, asks), 0)).confidence == 0.95)
    }

    @Test("a balanced book, a wide spread or an empty ask side gives no signal")
    func noSignalCases() {
        var strategy = OrderbookSkew()
        let (bids, asks) = book(bid: 1, ask: 1)
        #expect(result(&strategy, key, (bids, asks), 0) == nil)
        let wideAsks = PriceLevels((0..<5).map { (101.0 + Double($0), 1.0) })  // spread 1 %
        #expect(strategy.onBook(key: key, bids: book(bid: 5, ask: 1).0, asks: wideAsks, eventTimeMs: 0) == nil)
        #expect(result(&strategy, key, (bids, PriceLevels()), 0) == nil)
        // Exactly at the threshold is not above it.
        let (b12, a12) = book(bid: 1.2, ask: 1)
        #expect(result(&strategy, key, (b12, a12), 0) == nil)
    }

    @Test("a wider spread lowers confidence; weights come from the parameters")
    func spreadAndWeights() throws {
        var values = ParameterValues()
        values.values = ["imbalance_weight": .double(1.0), "spread_weight": .double(0.0), "base_confidence": .double(0.6)]
        var strategy = OrderbookSkew(parameters: values)
        let signal = try #require(result(&strategy, key, book(bid: 3, ask: 2), 0))
        // Only the imbalance counts now: 0.6 + 0.4 · 0.25 = 0.7
        #expect(abs(signal.confidence - 0.7) < 1e-9)
        #expect(OrderbookSkew.schema.map(\.name).contains("base_confidence"))
    }

    @Test("per-symbol cooldown state is bounded by max_symbols")
    func boundedState() {
        var values = ParameterValues()
        values.values = ["max_symbols": .int(100)]
        var strategy = OrderbookSkew(parameters: values)
        for i in 0..<10_000 {
            _ = result(&strategy, SymbolKey(venue: .spot, symbol: "S\(i)"), book(bid: 3, ask: 2), Int64(i))
        }
        #expect(strategy.trackedSymbols == 100)
    }

    @Test("only the top levels count")
    func onlyTopLevelsCount() throws {
        var parameters = OrderbookSkewParameters()
        parameters.topLevels = 2
        var strategy = OrderbookSkew(parameters: parameters)
        // Top 2 balanced; deeper bid levels are heavy but must be ignored.
        let bids = PriceLevels([(100, 1), (99.99, 1), (99.98, 50), (99.97, 50)])
        let asks = PriceLevels([(100.01, 1), (100.02, 1), (100.03, 1), (100.04, 1)])
        #expect(result(&strategy, key, (bids, asks), 0) == nil)
    }

    @Test("the per-symbol cooldown runs on event time and is independent per symbol")
    func cooldownOnEventTime() {
        var strategy = OrderbookSkew()  // 60 s cooldown
        let (bids, asks) = book(bid: 3, ask: 2)
        #expect(result(&strategy, key, (bids, asks), 0) != nil)
        #expect(result(&strategy, key, (bids, asks), 59_999) == nil)
        let other = SymbolKey(venue: .usdm, symbol: "BTCUSDT")
        #expect(result(&strategy, other, (bids, asks), 59_999) != nil)
        #expect(result(&strategy, key, (bids, asks), 60_000) != nil)
    }
}
