import ArgumentParser
import Foundation
import Sidecar

struct SignalsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signals",
        abstract: "Show signals from the sidecar's signal log over its Unix socket; --follow streams new ones.",
        discussion: """
            Without --after: the newest --limit matching signals (default 20). With --after N: the \
            first --limit matching signals with seq > N (default 1000), in order; with --json the \
            document's next_seq is the cursor for the next call and truncated says signals after N \
            already fell out of the sidecar's ring (SIGNAL_LOG_CAPACITY).

            --follow then subscribes and prints new signals as they arrive until interrupted. If the \
            sidecar drops events because this client fell behind, it sends a Gap: the missed range is \
            re-pulled with GetSignals and a notice goes to stderr (saying how many were lost for good \
            when the ring had already overwritten them). With --json, --follow prints one JSON \
            signal object per line. The stream ends with exit code 69 when the sidecar shuts down.
            """)

    @OptionGroup var socket: SocketOptions

    @Flag(name: [.short, .long], help: "After the pull, subscribe and print new signals as they arrive.")
    var follow = false

    @Option(help: ArgumentHelp("Start after this signal sequence number (a cursor from a previous next_seq).", valueName: "seq"))
    var after: UInt64?

    @Option(name: .customLong("symbol"), help: ArgumentHelp("Only this symbol (repeatable, or comma-separated).", valueName: "symbol"))
    var symbols: [String] = []

    @Option(name: .customLong("strategy"), help: ArgumentHelp("Only this strategy id (repeatable, or comma-separated).", valueName: "id"))
    var strategies: [String] = []

    @Option(help: ArgumentHelp("At most this many signals from the log (default 20, or 1000 with --after); with --follow it bounds only the initial pull.",
                               valueName: "n"))
    var limit: Int?

    func validate() throws {
        if let limit, limit < 0 || limit > 1_000_000 { throw ValidationError("--limit must be in 0...1000000") }
    }

    private var symbolFilter: [String] { Self.split(symbols).map { $0.uppercased() } }
    private var strategyFilter: [String] { Self.split(strategies) }

    static func split(_ values: [String]) -> [String] {
        values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func run() throws {
        try socket.withClient("signals") { client in
            let printer = SignalPrinter(json: socket.json)
            let pulled = try pull(client)
            if pulled.truncated, let after {
                if after > pulled.nextSeq {
                    // Sequences restart at 1 with every sidecar process.
                    CtlOutput.warn("sidecarctl signals: --after \(after) is ahead of the sidecar's newest signal "
                                   + "(\(pulled.nextSeq)): the sidecar restarted since that cursor; signals may have been lost")
                } else {
                    CtlOutput.warn("sidecarctl signals: signals after \(after) were LOST: they fell out of the sidecar's signal "
                                   + "ring (SIGNAL_LOG_CAPACITY); the oldest held is \(pulled.oldestSeq)")
                }
            }
            if follow {
                for signal in pulled.signals { printer.print(signal) }
                try stream(client, from: pulled.nextSeq, printer: printer)
            } else if socket.json {
                CtlOutput.line(ProtoJSON.signalPage(pulled.signals, nextSeq: pulled.nextSeq, truncated: pulled.truncated,
                                                    oldestSeq: pulled.oldestSeq).render(pretty: true))
            } else {
                for signal in pulled.signals { printer.print(signal) }
                if pulled.signals.isEmpty { CtlOutput.warn("sidecarctl signals: no signals (next_seq \(pulled.nextSeq))") }
            }
        }
    }

    // MARK: Pull

    struct Pulled {
        var signals: [SocketProtocol.Signal] = []
        var nextSeq: UInt64 = 0
        var truncated = false
        var oldestSeq: UInt64 = 0
    }

    /// With --after, the first `limit` signals after the cursor; without, the newest `limit`.
    /// The log scans until it has `max` matches, so an empty page means caught up.
    func pull(_ client: SocketClient) throws -> Pulled {
        let tail = after == nil
        let wanted = limit ?? (tail ? 20 : 1000)
        var cursor = after ?? 0
        if tail && symbolFilter.isEmpty && strategyFilter.isEmpty {
            // Unfiltered: the newest `wanted` are exactly the last sequence numbers.
            let last = client.server.lastSignalSeq
            cursor = last > UInt64(wanted) ? last - UInt64(wanted) : 0
        }
        var result = Pulled(nextSeq: cursor)
        var firstPage = true
        while true {
            let room = tail ? SocketProtocol.maxSignalsPerPage : min(wanted - result.signals.count, SocketProtocol.maxSignalsPerPage)
            guard room > 0 else { break }
            let page = try client.getSignals(.init(afterSeq: cursor, max: UInt32(room), symbols: symbolFilter,
                                                   strategies: strategyFilter))
            // Only meaningful for an explicit cursor: a tail starts wherever the ring does.
            if firstPage && !tail { result.truncated = page.truncated }
            firstPage = false
            result.oldestSeq = page.oldestSeq
            result.signals += page.signals
            if tail && result.signals.count > wanted { result.signals.removeFirst(result.signals.count - wanted) }
            // The server corrects a cursor from an earlier process (sequences restart at 1).
            result.nextSeq = page.nextSeq
            if page.signals.isEmpty || page.nextSeq <= cursor { break }
            cursor = page.nextSeq
        }
        return result
    }

    // MARK: Follow

    /// Subscribes from `cursor` and prints until interrupted or the sidecar goes away.
    func stream(_ client: SocketClient, from cursor: UInt64, printer: SignalPrinter) throws {
        var lastPrinted = cursor
        let filters = (symbols: symbolFilter, strategies: strategyFilter)

        /// Prints the signals after the last one printed up to the gap's end, re-pulled from the
        /// log, and says on stderr what was re-pulled and what the ring had already overwritten.
        func repull(_ gap: SocketProtocol.Gap) throws {
            var pulled = 0
            var firstHeld: UInt64?
            var pullCursor = lastPrinted
            while pullCursor < gap.toSeq {
                let page = try client.getSignals(.init(afterSeq: pullCursor, max: UInt32(SocketProtocol.maxSignalsPerPage),
                                                       symbols: filters.symbols, strategies: filters.strategies))
                if page.truncated && firstHeld == nil { firstHeld = page.oldestSeq }
                for signal in page.signals where signal.seq > lastPrinted && signal.seq <= gap.toSeq {
                    printer.print(signal)
                    lastPrinted = signal.seq
                    pulled += 1
                }
                if page.signals.isEmpty || page.nextSeq <= pullCursor { break }
                pullCursor = page.nextSeq
            }
            var notice = "sidecarctl signals: gap: this client fell behind and the sidecar dropped signals "
                + "\(gap.fromSeq)–\(gap.toSeq) from the stream"
            let ring = "they had already fallen out of the sidecar's signal ring (SIGNAL_LOG_CAPACITY)"
            if let firstHeld, firstHeld > gap.fromSeq {
                if firstHeld > gap.toSeq {
                    notice += "; all of them were LOST: \(ring)"
                } else {
                    notice += "; signals \(gap.fromSeq)–\(firstHeld - 1) were LOST: \(ring); re-pulled \(firstHeld)–\(gap.toSeq) "
                        + "with GetSignals (\(pulled) matching)"
                }
            } else {
                notice += "; re-pulled them with GetSignals (\(pulled) matching)"
            }
            CtlOutput.warn(notice)
        }

        let request = SocketProtocol.Subscribe(stream: .signals, symbols: filters.symbols, strategies: filters.strategies,
                                               afterSeq: cursor)
        let end = try client.subscribe(request, onSubscribed: { _ in
            // after_seq 0 means "live only": pick up what was logged between the pull and now.
            if cursor == 0 {
                var page = try client.getSignals(.init(afterSeq: 0, symbols: filters.symbols, strategies: filters.strategies))
                while !page.signals.isEmpty {
                    for signal in page.signals where signal.seq > lastPrinted {
                        printer.print(signal)
                        lastPrinted = signal.seq
                    }
                    page = try client.getSignals(.init(afterSeq: page.nextSeq, symbols: filters.symbols,
                                                       strategies: filters.strategies))
                }
            }
        }) { event in
            switch event {
            case .signal(let signal):
                // A replay and the live stream may overlap; sequence numbers only grow.
                guard signal.seq > lastPrinted else { return true }
                printer.print(signal)
                lastPrinted = signal.seq
            case .gap(let gap):
                try repull(gap)
            case .goodbye(let reason):
                CtlOutput.warn("sidecarctl signals: the sidecar is shutting down\(reason.isEmpty ? "" : " (\(reason))")")
            case .depth:
                break
            }
            return true
        }
        switch end {
        case .stopped:
            return
        case .goodbye, .closed:
            if case .closed = end { CtlOutput.warn("sidecarctl signals: the sidecar closed the stream") }
            throw ExitCodes.unavailable
        }
    }
}

/// Prints signals as aligned rows (fixed widths, so streamed rows line up) or JSON lines.
final class SignalPrinter {
    let json: Bool
    private var headerPrinted = false

    init(json: Bool) { self.json = json }

    static let columns: [(String, Int, Bool)] = [
        ("SEQ", 7, true), ("EVENT TIME", 24, false), ("STRATEGY", 21, false), ("SYMBOL", 10, false),
        ("VENUE", 5, false), ("ACTION", 6, false), ("CONF", 5, true), ("STRENGTH", 8, false),
        ("PRICE", 12, true), ("QTY", 10, true), ("STOP", 12, true), ("TAKE", 12, true),
    ]

    static func row(_ cells: [String]) -> String {
        zip(columns, cells).map { column, cell in
            let pad = String(repeating: " ", count: max(0, column.1 - cell.count))
            return column.2 ? pad + cell : cell + pad
        }.joined(separator: "  ").trimmingTrailingSpaces()
    }

    func print(_ s: SocketProtocol.Signal) {
        if json {
            CtlOutput.line(ProtoJSON.signal(s).render(pretty: false))
            return
        }
        if !headerPrinted {
            CtlOutput.line(Self.row(Self.columns.map(\.0)))
            headerPrinted = true
        }
        // Stop and take-profit are 0 when not published (hold/close without levels).
        CtlOutput.line(Self.row([
            "\(s.seq)", CtlOutput.time(s.eventTimeMs), s.strategyId, s.symbol, s.venue, ProtoJSON.action(s.action).uppercased(),
            CtlOutput.fixed(s.confidence, 2), s.strength, CtlOutput.number(s.price), CtlOutput.number(s.quantity),
            s.stopLoss == 0 ? "-" : CtlOutput.number(s.stopLoss), s.takeProfit == 0 ? "-" : CtlOutput.number(s.takeProfit),
        ]))
    }
}
