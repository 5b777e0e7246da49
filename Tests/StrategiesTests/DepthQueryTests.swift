import Testing
@testable import Strategies

@Suite("GET /all query (§5.3)")
struct DepthQueryTests {
    private static func row(_ symbol: String, net: Double = 0, imbalancePercent: Double = 0, liquidity: Double = 0,
                            trend: TrendDirection = .neutral) -> DepthRow {
        var m = DepthMetrics()
        m.netPressure = net
        m.imbalancePercent = imbalancePercent
        m.totalLiquidity = liquidity
        return DepthRow(symbol: symbol, metrics: m, trend: trend)
    }

    private static let five: [DepthRow] = [
        row("BTCUSDT", net: 25, imbalancePercent: 25, liquidity: 30.5, trend: .bullish),
        row("ETHUSDT", net: -30, imbalancePercent: -30, liquidity: 120, trend: .bearish),
        row("BNBUSDT", net: 5, imbalancePercent: 5, liquidity: 80, trend: .neutral),
        row("ADAUSDT", net: 40, imbalancePercent: 40, liquidity: 10_000, trend: .bullish),
        row("SOLUSDT", net: 19.99, imbalancePercent: 19.99, liquidity: 300, trend: .neutral),
    ]

    @Test("golden: sort_by=pressure desc, limit=1 over 2 symbols gives total 2, page 1 of 2, has_next, no previous")
    func paginationGolden() throws {
        let fixture = DepthMetrics.compute(
            bids: PriceLevels([(50000, 1.5), (49950, 2.3), (49900, 3.1), (49850, 4.2), (49800, 5.5)]),
            asks: PriceLevels([(50050, 1.2), (50100, 2.1), (50150, 2.8), (50200, 3.5), (50250, 4.3)]),
            eventTimeMs: 0)
        let eth = DepthMetrics.compute(bids: PriceLevels([(2000, 1)]), asks: PriceLevels([(2005, 2)]), eventTimeMs: 0)
        let rows = [DepthRow(symbol: "ETHUSDT", metrics: eth, trend: .bearish),
                    DepthRow(symbol: "BTCUSDT", metrics: fixture, trend: .neutral)]
        let query = try DepthQuery(limit: 1, sortBy: "pressure", sortOrder: "desc")
        let page = query.apply(rows)
        #expect(page.total == 2)
        #expect(page.limit == 1)
        #expect(page.offset == 0)
        #expect(page.page == 1)
        #expect(page.pages == 2)
        #expect(page.hasNext == true)
        #expect(page.hasPrevious == false)
        #expect(page.symbolsCount == 1)
        #expect(page.rows.map(\.symbol) == ["BTCUSDT"])
    }

    @Test("limit=2&offset=2 over 5 symbols: 2 rows, total 5, page 2, has_next and has_previous")
    func middlePage() throws {
        let page = try DepthQuery(limit: 2, offset: 2).apply(Self.five)
        #expect(page.rows.map(\.symbol) == ["BNBUSDT", "ADAUSDT"])
        #expect(page.total == 5)
        #expect(page.page == 2)
        #expect(page.pages == 3)
        #expect(page.hasNext && page.hasPrevious)
    }

    @Test("limit outside 1...200 and a negative offset are rejected (the seed's 422)")
    func validation() throws {
        #expect(throws: DepthQueryError.limitOutOfRange(0)) { try DepthQuery(limit: 0) }
        #expect(throws: DepthQueryError.limitOutOfRange(201)) { try DepthQuery(limit: 201) }
        #expect(throws: DepthQueryError.negativeOffset(-1)) { try DepthQuery(offset: -1) }
        #expect(DepthQueryError.limitOutOfRange(0).field == "limit")
        #expect(DepthQueryError.negativeOffset(-1).field == "offset")
        let edge = try DepthQuery(limit: 200)
        #expect(edge.limit == 200)
        let one = try DepthQuery(limit: 1)
        #expect(one.limit == 1)
        let defaults = try DepthQuery()
        #expect(defaults.limit == 50 && defaults.offset == 0)
    }

    @Test("the symbols CSV is split, stripped and uppercased; an empty CSV means no filter")
    func symbolsFilter() throws {
        let symbols = DepthQuery.parseSymbols(csv: " adausdt, btcUSDT ,xrpusdt")
        #expect(symbols == ["ADAUSDT", "BTCUSDT", "XRPUSDT"])
        #expect(DepthQuery.parseSymbols(csv: "") == nil)
        #expect(DepthQuery.parseSymbols(csv: nil) == nil)
        let page = try DepthQuery(symbols: symbols).apply(Self.five)
        // Insertion order of the rows, not the order of the filter.
        #expect(page.rows.map(\.symbol) == ["BTCUSDT", "ADAUSDT"])
        #expect(page.total == 2)
        // Symbols given as an array are normalised too.
        let lower = try DepthQuery(symbols: ["ethusdt "]).apply(Self.five)
        #expect(lower.rows.map(\.symbol) == ["ETHUSDT"])
    }

    @Test("min_pressure=20 keeps net 25 and drops 19.99; bounds are inclusive")
    func pressureBounds() throws {
        let page = try DepthQuery(minPressure: 20).apply(Self.five)
        #expect(page.rows.map(\.symbol) == ["BTCUSDT", "ADAUSDT"])
        let inclusive = try DepthQuery(minPressure: 25, maxPressure: 25).apply(Self.five)
        #expect(inclusive.rows.map(\.symbol) == ["BTCUSDT"])
        let below = try DepthQuery(maxPressure: 5).apply(Self.five)
        #expect(below.rows.map(\.symbol) == ["ETHUSDT", "BNBUSDT"])
    }

    @Test("pressure bounds compare the net pressure rounded to 2 decimals")
    func boundsUseRoundedPressure() throws {
        let rows = [Self.row("A", net: 19.996), Self.row("B", net: 19.994), Self.row("C", net: 10.004)]
        let min = try DepthQuery(minPressure: 20).apply(rows)
        #expect(min.rows.map(\.symbol) == ["A"])  // 19.996 shows as 20.0
        let max = try DepthQuery(maxPressure: 10).apply(rows)
        #expect(max.rows.map(\.symbol) == ["C"])  // 10.004 shows as 10.0
    }

    @Test("the trend filter is case-insensitive; an empty one is ignored")
    func trendFilter() throws {
        let bullish = try DepthQuery(trend: "BULLISH").apply(Self.five)
        #expect(bullish.rows.map(\.symbol) == ["BTCUSDT", "ADAUSDT"])
        let bearish = try DepthQuery(trend: "Bearish").apply(Self.five)
        #expect(bearish.rows.map(\.symbol) == ["ETHUSDT"])
        let none = try DepthQuery(trend: "sideways").apply(Self.five)
        #expect(none.total == 0 && none.pages == 0 && none.rows.isEmpty)
        let empty = try DepthQuery(trend: "").apply(Self.five)
        #expect(empty.total == 5)
    }

    @Test("sort by pressure, imbalance, liquidity and symbol, ascending unless sort_order is exactly \"desc\"")
    func sorting() throws {
        #expect(try DepthQuery(sortBy: "pressure", sortOrder: "desc").apply(Self.five).rows.map(\.symbol)
            == ["ADAUSDT", "BTCUSDT", "SOLUSDT", "BNBUSDT", "ETHUSDT"])
        #expect(try DepthQuery(sortBy: "pressure").apply(Self.five).rows.map(\.symbol)
            == ["ETHUSDT", "BNBUSDT", "SOLUSDT", "BTCUSDT", "ADAUSDT"])
        #expect(try DepthQuery(sortBy: "liquidity", sortOrder: "desc").apply(Self.five).rows.map(\.symbol)
            == ["ADAUSDT", "SOLUSDT", "ETHUSDT", "BNBUSDT", "BTCUSDT"])
        #expect(try DepthQuery(sortBy: "imbalance", sortOrder: "asc").apply(Self.five).rows.map(\.symbol)
            == ["ETHUSDT", "BNBUSDT", "SOLUSDT", "BTCUSDT", "ADAUSDT"])
        #expect(try DepthQuery(sortBy: "symbol").apply(Self.five).rows.map(\.symbol)
            == ["ADAUSDT", "BNBUSDT", "BTCUSDT", "ETHUSDT", "SOLUSDT"])
        #expect(try DepthQuery(sortBy: "symbol", sortOrder: "desc").apply(Self.five).rows.map(\.symbol)
            == ["SOLUSDT", "ETHUSDT", "BTCUSDT", "BNBUSDT", "ADAUSDT"])
        // "DESC" is not "desc": ascending.
        #expect(try DepthQuery(sortBy: "pressure", sortOrder: "DESC").apply(Self.five).rows.first?.symbol == "ETHUSDT")
    }

    @Test("an unknown or missing sort_by keeps insertion order")
    func unknownSortKeepsOrder() throws {
        let inserted = Self.five.map(\.symbol)
        #expect(try DepthQuery(sortBy: "volume", sortOrder: "desc").apply(Self.five).rows.map(\.symbol) == inserted)
        #expect(try DepthQuery(sortBy: "Pressure").apply(Self.five).rows.map(\.symbol) == inserted)
        #expect(try DepthQuery().apply(Self.five).rows.map(\.symbol) == inserted)
    }

    @Test("sorting is stable in both directions on the rounded values: equal rows keep input order")
    func stableTies() throws {
        // 25.001 and 24.999 both show as 25.0.
        let rows = [Self.row("X", net: 25.001), Self.row("Y", net: 10), Self.row("Z", net: 24.999), Self.row("W", net: 25)]
        #expect(try DepthQuery(sortBy: "pressure", sortOrder: "desc").apply(rows).rows.map(\.symbol)
            == ["X", "Z", "W", "Y"])
        #expect(try DepthQuery(sortBy: "pressure").apply(rows).rows.map(\.symbol) == ["Y", "X", "Z", "W"])
    }

    @Test("an offset past the end gives an empty page that still reports totals")
    func offsetPastEnd() throws {
        let page = try DepthQuery(limit: 2, offset: 10).apply(Self.five)
        #expect(page.rows.isEmpty)
        #expect(page.total == 5 && page.pages == 3 && page.page == 6)
        #expect(!page.hasNext && page.hasPrevious)
        let huge = try DepthQuery(limit: 200, offset: .max).apply(Self.five)
        #expect(huge.rows.isEmpty && !huge.hasNext && huge.hasPrevious)
    }

    @Test("no rows: total 0, pages 0, page 1")
    func noRows() throws {
        let page = try DepthQuery().apply([])
        #expect(page.total == 0 && page.pages == 0 && page.page == 1)
        #expect(!page.hasNext && !page.hasPrevious)
    }
}

@Suite("GET /all query: extreme pagination (found by schemathesis)")
struct DepthQueryExtremeTests {
    @Test("offset Int.max with limit 1 pages past the end without trapping (it crashed the sidecar: page = offset / limit + 1 overflowed)")
    func hugeOffsetDoesNotOverflow() throws {
        let rows = ["BTCUSDT", "ETHUSDT"].map { DepthRow(symbol: $0, metrics: DepthMetrics(), trend: .neutral) }
        for (offset, limit) in [(Int.max, 1), (Int.max - 1, 1), (Int.max, 200), (Int.max / 2, 2)] {
            let page = try DepthQuery(limit: limit, offset: offset).apply(rows)
            #expect(page.rows.isEmpty && page.total == 2 && !page.hasNext && page.hasPrevious)
            #expect(page.page >= 1)
        }
        #expect(try DepthQuery(limit: 1, offset: Int.max).apply(rows).page == Int.max)
    }
}
