import ArgumentParser
import Foundation
import Sidecar

struct DepthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "depth",
        abstract: "Show depth metrics over the sidecar's Unix socket: one symbol, or --all as a table.",
        discussion: """
            depth SYMBOL shows one symbol's metrics (the values of HTTP /api/v1/metrics/depth/SYMBOL); \
            --levels adds the order book behind them. depth --all lists every live symbol with the \
            filters, sorting and paging of HTTP /api/v1/metrics/all, sorted by symbol unless --sort-by says \
            otherwise. Values the sidecar rejects (an unknown --venue, a --limit above 200) exit with 65; \
            an unknown or stale symbol with 66.
            """)

    @OptionGroup var socket: SocketOptions

    @Argument(help: "The symbol, e.g. BTCUSDT (omit with --all).") var symbol: String?

    @Option(help: ArgumentHelp("Venue: spot or usdm (default: the sidecar's default venue).", valueName: "venue"))
    var venue: String?

    @Flag(help: "With SYMBOL: also show the order book levels.") var levels = false

    @Flag(help: "Every live symbol, as a table (HTTP /all).") var all = false

    @Option(help: ArgumentHelp("With --all: symbol, pressure, imbalance or liquidity (default: symbol).", valueName: "key"))
    var sortBy: String?

    @Option(help: ArgumentHelp("With --all: asc or desc (default: asc).", valueName: "order")) var sortOrder: String?

    @Option(help: ArgumentHelp("With --all: rows per page, 1-200 (default 50).", valueName: "n")) var limit: Int?

    @Option(help: ArgumentHelp("With --all: rows to skip.", valueName: "n")) var offset: Int?

    @Option(help: ArgumentHelp("With --all: only these symbols, comma-separated.", valueName: "A,B")) var symbols: String?

    @Option(help: ArgumentHelp("With --all: net pressure at least this.", valueName: "x")) var minPressure: Double?

    @Option(help: ArgumentHelp("With --all: net pressure at most this.", valueName: "x")) var maxPressure: Double?

    @Option(help: ArgumentHelp("With --all: bullish, bearish or neutral (5-minute trend).", valueName: "trend"))
    var trend: String?

    func validate() throws {
        let listOptions: [(String, Bool)] = [
            ("--sort-by", sortBy != nil), ("--sort-order", sortOrder != nil), ("--limit", limit != nil),
            ("--offset", offset != nil), ("--symbols", symbols != nil), ("--min-pressure", minPressure != nil),
            ("--max-pressure", maxPressure != nil), ("--trend", trend != nil),
        ]
        if all {
            if symbol != nil { throw ValidationError("give either a SYMBOL or --all, not both") }
            if levels { throw ValidationError("--levels needs a SYMBOL (not --all)") }
        } else {
            guard let symbol, !symbol.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ValidationError("give a SYMBOL, or --all for every symbol")
            }
            if let used = listOptions.first(where: \.1) { throw ValidationError("\(used.0) is only for --all") }
        }
        // The sidecar, like the HTTP API it mirrors, ignores unknown sort keys and filters an unknown
        // trend to nothing: a typo here would silently change the answer, so it is a usage error.
        let choices: [(String, String?, [String])] = [
            ("--sort-by", sortBy, ["symbol", "pressure", "imbalance", "liquidity"]), ("--sort-order", sortOrder, ["asc", "desc"]),
            ("--trend", trend?.lowercased(), ["bullish", "bearish", "neutral"]),
        ]
        for (name, given, allowed) in choices {
            if let given, !allowed.contains(given) {
                throw ValidationError("\(name) must be one of \(allowed.joined(separator: ", ")), not '\(given)'")
            }
        }
        // Values beyond UInt32 cannot be sent; the sidecar checks the rest (1-200) itself.
        // 0 on the wire means "the default", so it cannot be passed on for the sidecar to reject.
        if let limit, limit < 1 || limit > Int(UInt32.max) { throw ValidationError("--limit must be 1-200") }
        if let offset, offset < 0 || offset > Int(UInt32.max) { throw ValidationError("--offset must not be negative") }
    }

    func run() throws {
        try socket.withClient("depth") { client in
            if all {
                try showAll(client)
            } else {
                try showOne(client, symbol: symbol ?? "")
            }
        }
    }

    func showOne(_ client: SocketClient, symbol: String) throws {
        let d = try client.getDepthMetrics(.init(symbol: symbol, venue: venue ?? "", includeLevels: levels))
        if socket.json {
            CtlOutput.line(ProtoJSON.depth(d, levels: levels).render(pretty: true))
            return
        }
        let n = CtlOutput.number
        func strongest(_ has: Bool, _ price: Double, _ volume: Double) -> String { has ? "\(n(price)) × \(n(volume))" : "-" }
        CtlOutput.line(CtlOutput.fields([
            ("symbol", "\(d.symbol) (\(d.venue))"),
            ("event time", CtlOutput.time(d.eventTimeMs)),
            ("book", d.bookSource.isEmpty ? "-"
                : "\(d.bookSource)\(d.synced ? ", synced" : ", local book not synced"), update id \(d.lastUpdateId), "
                + "age \(d.ageMs) ms\(d.stale ? " (STALE)" : "")"),
            ("mid price", n(d.midPrice)),
            ("best bid / ask", "\(n(d.bestBid)) / \(n(d.bestAsk))"),
            ("spread", "\(n(d.spreadAbs)) (\(n(d.spreadBps)) bps)"),
            ("imbalance ratio", "\(n(d.imbalanceRatio)) (\(n(d.imbalancePercent)) %)"),
            ("bid / ask volume", "\(n(d.bidVolume)) / \(n(d.askVolume))"),
            ("buy / sell pressure", "\(n(d.buyPressure)) / \(n(d.sellPressure))"),
            ("net pressure", "\(n(d.netPressure)) (\(d.interpretation))"),
            ("trend (5m)", d.trend.isEmpty ? "-" : d.trend),
            ("total liquidity", n(d.totalLiquidity)),
            ("depth 5 bid / ask", "\(n(d.bidDepth5)) / \(n(d.askDepth5))"),
            ("depth 10 bid / ask", "\(n(d.bidDepth10)) / \(n(d.askDepth10))"),
            ("vwap bid / ask", "\(n(d.vwapBid)) / \(n(d.vwapAsk)) (spread \(n(d.vwapSpread)))"),
            ("levels bid / ask", "\(d.bidLevels) / \(d.askLevels)"),
            ("strongest bid", strongest(d.hasStrongestBid, d.strongestBidPrice, d.strongestBidVolume)),
            ("strongest ask", strongest(d.hasStrongestAsk, d.strongestAskPrice, d.strongestAskVolume)),
        ]))
        guard levels else { return }
        var book = CtlOutput.Table(["#", "BID QTY", "BID", "ASK", "ASK QTY"], rightAligned: [0, 1, 2, 3, 4])
        let rows = max(d.bidPrices.count, d.askPrices.count)
        func cell(_ values: [Double], _ i: Int) -> String { i < values.count ? n(values[i]) : "" }
        for i in 0..<rows {
            book.add(["\(i + 1)", cell(d.bidQuantities, i), cell(d.bidPrices, i), cell(d.askPrices, i), cell(d.askQuantities, i)])
        }
        CtlOutput.line("")
        CtlOutput.line(rows == 0 ? "(empty book)" : book.render())
    }

    func showAll(_ client: SocketClient) throws {
        var request = SocketProtocol.ListDepthMetrics()
        request.symbols = (symbols ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        request.minPressure = minPressure
        request.maxPressure = maxPressure
        request.trend = trend ?? ""
        request.limit = UInt32(clamping: limit ?? 0)
        request.offset = UInt32(clamping: offset ?? 0)
        request.sortBy = sortBy ?? "symbol"
        request.sortOrder = sortOrder ?? ""
        request.venue = venue ?? ""
        let page = try client.listDepthMetrics(request)
        if socket.json {
            CtlOutput.line(ProtoJSON.depthPage(page).render(pretty: true))
            return
        }
        let n = CtlOutput.number
        var table = CtlOutput.Table(["SYMBOL", "VENUE", "MID", "NET PRESSURE", "IMBALANCE %", "SPREAD BPS", "LIQUIDITY",
                                     "TREND", "INTERPRETATION"], rightAligned: [2, 3, 4, 5, 6])
        for m in page.metrics {
            table.add([m.symbol, m.venue, n(m.midPrice), n(m.netPressure), n(m.imbalancePercent), n(m.spreadBps),
                       n(m.totalLiquidity), m.trend, m.interpretation])
        }
        CtlOutput.line(page.metrics.isEmpty ? "(no symbols)" : table.render())
        var footer = "page \(page.page) of \(max(page.pages, 1)): \(page.metrics.count) of \(page.total) symbols"
        if page.hasNext { footer += "; next: --offset \(UInt64(page.offset) + UInt64(page.limit))" }
        CtlOutput.line(footer)
    }
}

struct PressureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pressure",
        abstract: "Show a symbol's pressure history over the sidecar's Unix socket.",
        discussion: """
            One point per second of event time, as HTTP /api/v1/metrics/pressure/SYMBOL: the summary \
            over the timeframe and its newest points (--json: the last 100 points).
            """)

    @OptionGroup var socket: SocketOptions

    @Argument(help: "The symbol, e.g. BTCUSDT.") var symbol: String

    @Option(help: ArgumentHelp("1m, 5m or 15m.", valueName: "timeframe")) var timeframe = "5m"

    @Option(help: ArgumentHelp("Venue: spot or usdm (default: the sidecar's default venue).", valueName: "venue"))
    var venue: String?

    @Option(help: ArgumentHelp("Newest points shown in the table (0-100).", valueName: "n")) var points = 10

    func validate() throws {
        if symbol.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("SYMBOL must not be empty") }
        if points < 0 || points > 100 { throw ValidationError("--points must be in 0...100") }
    }

    func run() throws {
        try socket.withClient("pressure") { client in
            let h = try client.getPressureHistory(.init(symbol: symbol, timeframe: timeframe, venue: venue ?? ""))
            if socket.json {
                CtlOutput.line(ProtoJSON.pressure(h).render(pretty: true))
                return
            }
            let n = CtlOutput.number
            CtlOutput.line(CtlOutput.fields([
                ("symbol", "\(h.symbol) (\(h.venue))"),
                ("timeframe", h.timeframe),
                ("avg / min / max pressure", "\(n(h.avgPressure)) / \(n(h.minPressure)) / \(n(h.maxPressure))"),
                ("trend", h.trend.isEmpty ? "-" : "\(h.trend) (strength \(n(h.trendStrength)))"),
                ("data points", "\(h.totalDataPoints)"),
            ]))
            let count = min(points, h.timeMs.count, h.pressure.count, h.imbalance.count)
            guard count > 0 else { return }
            var table = CtlOutput.Table(["TIME", "NET PRESSURE", "IMBALANCE"], rightAligned: [1, 2])
            for i in (h.timeMs.count - count)..<h.timeMs.count where i < h.pressure.count && i < h.imbalance.count {
                table.add([CtlOutput.time(h.timeMs[i]), n(h.pressure[i]), n(h.imbalance[i])])
            }
            CtlOutput.line("")
            CtlOutput.line(table.render())
        }
    }
}
