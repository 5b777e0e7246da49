import ArgumentParser
import Foundation
import Sidecar

struct SummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary",
        abstract: "Show the market summary (sentiment, liquidity, top-pressure symbols) over the sidecar's Unix socket.")

    @OptionGroup var socket: SocketOptions

    @Option(help: ArgumentHelp("Venue: spot or usdm (default: the sidecar's default venue).", valueName: "venue"))
    var venue: String?

    func run() throws {
        try socket.withClient("summary") { client in
            let s = try client.getMarketSummary(venue: venue ?? "")
            if socket.json {
                CtlOutput.line(ProtoJSON.summary(s).render(pretty: true))
                return
            }
            let n = CtlOutput.number
            func list(_ symbols: [String]) -> String { symbols.isEmpty ? "-" : symbols.joined(separator: ", ") }
            CtlOutput.line(CtlOutput.fields([
                ("time", CtlOutput.time(s.timeMs)),
                ("symbols tracked", "\(s.symbolsTracked)"),
                ("bullish / bearish / neutral", "\(s.bullishSymbols) / \(s.bearishSymbols) / \(s.neutralSymbols)"),
                ("avg net pressure", n(s.avgNetPressure)),
                ("avg imbalance ratio", n(s.avgImbalanceRatio)),
                ("avg spread bps", n(s.avgSpreadBps)),
                ("total liquidity", n(s.totalLiquidity)),
                ("highest buy pressure", list(s.highestBuyPressure)),
                ("highest sell pressure", list(s.highestSellPressure)),
            ]))
        }
    }
}

struct StatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show the sidecar's counters (messages, rejections, signals, socket) over its Unix socket.")

    @OptionGroup var socket: SocketOptions

    func run() throws {
        try socket.withClient("stats") { client in
            let s = try client.getStats()
            if socket.json {
                CtlOutput.line(ProtoJSON.stats(s).render(pretty: true))
                return
            }
            CtlOutput.line(CtlOutput.fields([
                ("messages received", "\(s.messagesReceived)"),
                ("messages processed", "\(s.messagesProcessed)"),
                ("messages rejected", "\(s.messagesRejected)"),
                ("slow-consumer dropped", "\(s.slowConsumerDropped)"),
                ("symbols tracked", "\(s.symbolsTracked)"),
                ("nats connected", CtlOutput.yesNo(s.natsConnected)),
                ("last signal seq", "\(s.lastSignalSeq)"),
                ("last event time", CtlOutput.time(s.lastEventTimeMs)),
                ("socket clients", "\(s.socketClients)"),
                ("socket events dropped", "\(s.socketEventsDropped)"),
                ("socket gaps", "\(s.socketGaps)"),
                ("uptime", String(format: "%.1f s", s.uptimeSeconds)),
            ]))
            // One table per counter family; zero rows of the fixed families are left out.
            for (title, counters) in [("MESSAGES BY KIND", s.messagesByKind), ("REJECTED BY REASON", s.rejectedByReason)] {
                let nonZero = counters.filter { $0.value > 0 }
                guard !nonZero.isEmpty else { continue }
                var table = CtlOutput.Table([title, "COUNT"], rightAligned: [1])
                for counter in nonZero { table.add([counter.name, "\(counter.value)"]) }
                CtlOutput.line("")
                CtlOutput.line(table.render())
            }
            let strategies = Set(s.signalsGenerated.map(\.name)).union(s.signalsPublished.map(\.name)).sorted()
            if !strategies.isEmpty {
                let generated = Dictionary(s.signalsGenerated.map { ($0.name, $0.value) }, uniquingKeysWith: +)
                let published = Dictionary(s.signalsPublished.map { ($0.name, $0.value) }, uniquingKeysWith: +)
                var table = CtlOutput.Table(["STRATEGY", "GENERATED", "PUBLISHED"], rightAligned: [1, 2])
                for name in strategies { table.add([name, "\(generated[name] ?? 0)", "\(published[name] ?? 0)"]) }
                CtlOutput.line("")
                CtlOutput.line(table.render())
            }
        }
    }
}

struct HealthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Check the sidecar over its Unix socket: exit 0 when ready, 69 otherwise (a probe).",
        discussion: """
            Ready means connected to NATS and subscribed to market data. Not ready, socket missing, \
            refused or silent: exit 69. Permission denied: 77. Usable as a Kubernetes exec probe.
            """)

    @OptionGroup var socket: SocketOptions

    func run() throws {
        var ready = false
        try socket.withClient("health") { client in
            let h = try client.health()
            ready = h.ready
            if socket.json {
                CtlOutput.line(ProtoJSON.health(h).render(pretty: true))
            } else {
                CtlOutput.line(CtlOutput.fields([
                    ("status", h.ready ? "ready" : "NOT READY"),
                    ("live", CtlOutput.yesNo(h.live)),
                    ("nats connected", CtlOutput.yesNo(h.natsConnected)),
                    ("nats subscribed", CtlOutput.yesNo(h.natsSubscribed)),
                    ("version", h.version),
                ]))
            }
        }
        if !ready {
            CtlOutput.warn("sidecarctl health: the sidecar is not ready (needs a NATS connection and its subscriptions)")
            throw ExitCodes.unavailable
        }
    }
}
