import Strategies

/// The seed's metrics API shapes (inventory §5.3), built from published snapshots.
/// Rounding is Python's `round()` (correctly rounded) so values match the seed's JSON.
enum DepthResponses {
    static func r(_ x: Double, _ digits: Int) -> JSONValue { .double(PythonRounding.round(x, digits)) }

    static func depth(_ snapshot: DepthSnapshot, nowMs: Int64 = WallClock.nowMs(), staleMs: Int64 = 5000) -> JSONValue {
        let m = snapshot.metrics
        let a = m.apiFields
        func level(_ l: PriceLevel?, _ roundedVolume: Double?) -> JSONValue {
            guard let l, let roundedVolume else { return .null }
            return .object([("price", .double(l.price)), ("volume", .double(roundedVolume))])
        }
        return .object([
            ("symbol", .string(snapshot.key.symbol)),
            ("venue", .string(snapshot.key.venue.description)),
            ("timestamp", .string(formatISO8601Millis(m.eventTimeMs))),
        ] + bookFields(snapshot.book, nowMs: nowMs, staleMs: staleMs) + [
            ("imbalance", .object([
                ("ratio", .double(a.imbalanceRatio)), ("percent", .double(a.imbalancePercent)),
                ("bid_volume", .double(a.bidVolume)), ("ask_volume", .double(a.askVolume)),
            ])),
            ("pressure", .object([
                ("buy_pressure", .double(a.buyPressure)), ("sell_pressure", .double(a.sellPressure)),
                ("net_pressure", .double(a.netPressure)), ("interpretation", .string(m.interpretation)),
            ])),
            ("liquidity", .object([
                ("total", .double(a.totalLiquidity)),
                ("bid_depth_5", .double(a.bidDepth5)), ("ask_depth_5", .double(a.askDepth5)),
                ("bid_depth_10", .double(a.bidDepth10)), ("ask_depth_10", .double(a.askDepth10)),
            ])),
            ("spread", .object([
                ("best_bid", .double(m.bestBid)), ("best_ask", .double(m.bestAsk)),
                ("spread_abs", .double(a.spreadAbs)), ("spread_bps", .double(a.spreadBps)),
                ("mid_price", .double(m.midPrice)),
            ])),
            ("vwap", .object([("bid", .double(a.vwapBid)), ("ask", .double(a.vwapAsk)), ("spread", .double(a.vwapSpread))])),
            ("order_book_quality", .object([
                ("bid_levels", .int(m.bidLevels)), ("ask_levels", .int(m.askLevels)), ("total_levels", .int(m.totalLevels)),
            ])),
            ("strongest_levels", .object([
                ("bid", level(m.strongestBid, a.strongestBidVolume)), ("ask", level(m.strongestAsk, a.strongestAskVolume)),
            ])),
        ])
    }

    /// At most this many history points are returned, as in the seed.
    static let maxHistoryPoints = 100

    static func pressure(_ snapshot: DepthSnapshot, timeframe: PressureTimeframe) -> JSONValue {
        let points = snapshot.history.points(in: timeframe)
        let returned = points.suffix(maxHistoryPoints)
        let summary = snapshot.history.summary(for: timeframe)
        return .object([
            ("symbol", .string(snapshot.key.symbol)),
            ("venue", .string(snapshot.key.venue.description)),
            ("timeframe", .string(timeframe.rawValue)),
            ("summary", summary.map { s in
                .object([
                    ("avg_pressure", r(s.avgPressure, 2)), ("max_pressure", r(s.maxPressure, 2)),
                    ("min_pressure", r(s.minPressure, 2)), ("trend", .string(s.trend.rawValue)),
                    ("trend_strength", r(s.trendStrength, 2)),
                ])
            } ?? .null),
            ("total_data_points", .int(points.count)),
            ("returned_data_points", .int(returned.count)),
            ("pressure_history", .array(returned.map {
                .object([("timestamp", .string(formatISO8601Millis($0.timeMs))), ("pressure", r($0.netPressure, 2))])
            })),
            ("imbalance_history", .array(returned.map {
                .object([("timestamp", .string(formatISO8601Millis($0.timeMs))), ("imbalance", r($0.imbalanceRatio, 4))])
            })),
        ])
    }

    static func summary(_ summary: MarketSummary, nowMs: Int64) -> JSONValue {
        .object([
            ("timestamp", .string(formatISO8601Millis(nowMs))),
            ("symbols_tracked", .int(summary.symbolsTracked)),
            ("market_sentiment", .object([
                ("bullish_symbols", .int(summary.bullishSymbols)),
                ("bearish_symbols", .int(summary.bearishSymbols)),
                ("neutral_symbols", .int(summary.neutralSymbols)),
                ("avg_net_pressure", .double(summary.avgNetPressure)),
                ("avg_imbalance_ratio", .double(summary.avgImbalanceRatio)),
            ])),
            ("liquidity", .object([
                ("avg_spread_bps", .double(summary.avgSpreadBps)),
                ("total_liquidity", .double(summary.totalLiquidity)),
            ])),
            ("top_pressure_symbols", .object([
                ("highest_buy_pressure", .array(summary.highestBuyPressure.map { .string($0) })),
                ("highest_sell_pressure", .array(summary.highestSellPressure.map { .string($0) })),
            ])),
        ])
    }

    /// The book fields of every depth answer (docs/BOOKS.md).
    static func bookFields(_ book: BookInfo, nowMs: Int64, staleMs: Int64) -> [(String, JSONValue)] {
        [
            ("book_source", .string(book.source.description)),
            ("synced", .bool(book.synced)),
            ("last_update_id", .int(Int(clamping: book.lastUpdateId))),
            ("event_time", .int(Int(clamping: book.eventTimeMs))),
            ("age_ms", .int(Int(clamping: book.ageMs(nowMs: nowMs)))),
            ("stale", .bool(book.isStale(nowMs: nowMs, staleMs: staleMs))),
        ]
    }

    static func all(_ page: DepthPage, query: DepthQuery, nowMs: Int64 = WallClock.nowMs(), staleMs: Int64 = 5000) -> JSONValue {
        .object([
            ("data", .object(page.rows.map { row in
                (row.symbol, .object((row.book.map { bookFields($0, nowMs: nowMs, staleMs: staleMs) } ?? []) + [
                    ("timestamp", .string(formatISO8601Millis(row.metrics.eventTimeMs))),
                    ("net_pressure", r(row.metrics.netPressure, 2)),
                    ("imbalance_percent", r(row.metrics.imbalancePercent, 2)),
                    ("spread_bps", r(row.metrics.spreadBps, 2)),
                    ("total_liquidity", r(row.metrics.totalLiquidity, 4)),
                    ("mid_price", .double(row.metrics.midPrice)),
                    ("trend", .string(row.trend.rawValue)),
                ]))
            })),
            ("pagination", .object([
                ("total", .int(page.total)), ("limit", .int(page.limit)), ("offset", .int(page.offset)),
                ("page", .int(page.page)), ("pages", .int(page.pages)),
                ("has_next", .bool(page.hasNext)), ("has_previous", .bool(page.hasPrevious)),
            ])),
            ("filters_applied", .object([
                ("symbols", query.symbols.map { .array($0.map { .string($0) }) } ?? .null),
                ("min_pressure", .number(query.minPressure)),
                ("max_pressure", .number(query.maxPressure)),
                ("trend", query.trend.map { .string($0) } ?? .null),
            ])),
            ("sort", .object([
                ("by", query.sortBy.map { .string($0) } ?? .null),
                ("order", .string(query.sortOrder ?? "asc")),
            ])),
            ("symbols_count", .int(page.rows.count)),
        ])
    }
}
