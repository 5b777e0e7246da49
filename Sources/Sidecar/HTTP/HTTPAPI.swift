import Hummingbird
import NATS
import Strategies

/// What the HTTP API reads. Every reader goes through published snapshots and counters;
/// none touches engine state.
public struct HTTPAPIContext: Sendable {
    public var board: DepthBoard
    public var stats: IngestStats
    public var signalLog: SignalLog
    public var defaultVenue: Venue
    public var serviceVersion: String
    public var strategies: [String]
    /// NATS connected and subscribed.
    public var ingestReady: @Sendable () -> Bool
    public var natsConnected: @Sendable () -> Bool
    public var slowConsumerDrops: @Sendable () -> Int
    public var startedAtMs: Int64
    /// `BOOK_STALE_MS`: depth answers say `stale` past it.
    public var bookStaleMs: Int64 = 5000
    /// Name/value pairs with secrets redacted, for `/info`.
    public var effectiveConfiguration: [(String, String)] = []
    /// Unix-socket counters, shown in `/api/v1/stats`.
    public var socketStats: SocketStats?
    /// Runtime strategy configuration; nil serves no config API.
    public var config: StrategyConfigService?
    /// The readiness checks; nil: NATS connected and subscribed only.
    public var readiness: Readiness?
    /// Liveness of the ingest thread; nil: always live.
    public var liveness: (@Sendable () -> CheckResult)?
    /// `/metrics`; nil: not served.
    public var metrics: MetricsExporter?
    /// Connection counters of the NATS client (disconnects, reconnects).
    public var natsCounters: @Sendable () -> NATSClientStats = { NATSClientStats() }

    /// The readiness checks, evaluated now.
    public func evaluateReadiness() -> Readiness.Evaluation {
        if let readiness { return readiness.evaluate() }
        let fallback = Readiness([
            ReadinessCheck(name: "nats_connected") { natsConnected() ? .ok("connected") : .failed("not connected") },
            ReadinessCheck(name: "nats_subscribed") { ingestReady() ? .ok("subscribed") : .failed("not subscribed") },
        ])
        return fallback.evaluate()
    }

    public func evaluateLiveness() -> CheckResult { liveness?() ?? .ok("ingest thread responsive") }
}

enum HTTPAPI {
    /// `writeGuard`: the public listener's; nil on the admin listener, which takes writes as they come.
    static func router(_ api: HTTPAPIContext, writeGuard: WriteAuthorization? = nil) -> Router<BasicRequestContext> {
        let table = routes(api, writeGuard: writeGuard)
        table.router.add(middleware: MethodNotAllowedMiddleware(routes: table.routes))
        return table.router
    }

    static func routes(_ api: HTTPAPIContext, writeGuard: WriteAuthorization? = nil) -> RouteTable {
        let router = RouteTable(writeGuard: writeGuard)
        router.get("/healthz") { _, _ in
            let live = api.evaluateLiveness()
            var fields: [(String, JSONValue)] = [("status", .string(live.ok ? "healthy" : "unhealthy"))]
            if !live.ok { fields.append(("reason", .string(live.detail))) }
            fields += [
                ("checks", .object([
                    ("ingest_thread", .object([("ok", .bool(live.ok)), ("detail", .string(live.detail))])),
                ])),
                ("uptime_seconds", .double(Double(WallClock.nowMs() - api.startedAtMs) / 1000)),
                ("version", .string(api.serviceVersion)),
            ]
            return json(.object(fields), status: live.ok ? .ok : .serviceUnavailable)
        }
        router.get("/ready") { _, _ in
            let evaluation = api.evaluateReadiness()
            return json(.object([
                ("ready", .bool(evaluation.ready)),
                ("shutting_down", .bool(evaluation.shuttingDown)),
                ("checks", .object(evaluation.results.map { check in
                    (check.name, .object([
                        ("ok", .bool(check.result.ok)),
                        ("required", .bool(check.required)),
                        ("detail", .string(check.result.detail)),
                    ]))
                })),
            ]), status: evaluation.ready ? .ok : .serviceUnavailable)
        }
        router.get("/metrics") { _, _ in
            guard let metrics = api.metrics else {
                return json(.object([("error", .string("metrics are not enabled"))]), status: .notFound)
            }
            let body = metrics.scrape()
            var headers = HTTPFields()
            headers[.contentType] = MetricsExporter.contentType
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        router.get("/api/v1/stats") { _, _ in json(statsJSON(api)) }
        router.get("/") { _, _ in
            json(.object([
                ("service", .string("realtime-sidecar")),
                ("version", .string(api.serviceVersion)),
                ("endpoints", .object(endpoints.map { ($0.0, .string($0.1)) })),
            ]))
        }
        router.get("/info") { _, _ in
            json(.object([
                ("service", .object([("name", .string("realtime-sidecar")), ("version", .string(api.serviceVersion))])),
                ("configuration", .object(api.effectiveConfiguration.map { ($0.0, .string($0.1)) })),
                ("strategies", .object([
                    ("enabled", .array(api.strategies.map { .string($0) })),
                    ("available", .array(StrategySettings.allIds.map { .string($0) })),
                ])),
            ]))
        }

        router.get("/api/v1/metrics/depth/{symbol}") { request, context in
            let key = try symbolKey(request, context, api)
            guard let body = api.board.cell(key, nowMs: WallClock.nowMs())?.read({ DepthResponses.depth($0, staleMs: api.bookStaleMs) }) else {
                return json(.object([
                    ("error", .string("No metrics available for \(key.symbol)")),
                    ("message", .string("Symbol may not be actively tracked or data is stale")),
                    ("suggestion", .string("Check GET /api/v1/metrics/all to see tracked symbols")),
                ]), status: .notFound)
            }
            return json(body)
        }
        router.get("/api/v1/metrics/pressure/{symbol}") { request, context in
            let text = request.uri.queryParameters.get("timeframe") ?? "5m"
            guard let timeframe = PressureTimeframe(rawValue: text) else {
                return json(.object([("detail", .string("Invalid timeframe. Must be '1m', '5m', or '15m'"))]),
                            status: .badRequest)
            }
            let key = try symbolKey(request, context, api)
            guard let body = api.board.cell(key, nowMs: WallClock.nowMs())?
                .read({ DepthResponses.pressure($0, timeframe: timeframe) }) else {
                return json(.object([
                    ("error", .string("No pressure history available for \(key.symbol)")),
                    ("message", .string("Symbol may not be actively tracked")),
                ]), status: .notFound)
            }
            return json(body)
        }
        router.get("/api/v1/metrics/summary") { request, _ in
            let venue = try venue(request, api)
            let now = WallClock.nowMs()
            let entries = api.board.liveCells(nowMs: now).filter { $0.key.venue == venue }
                .compactMap { cell in cell.read { (symbol: $0.key.symbol, metrics: $0.metrics) } }
            guard let summary = MarketSummary.compute(entries) else {
                return json(.object([("error", .string("No data available")), ("symbols_tracked", .int(0))]))
            }
            return json(DepthResponses.summary(summary, nowMs: now))
        }
        router.get("/api/v1/metrics/all") { request, _ in
            let venue = try venue(request, api)
            let query: DepthQuery
            do {
                query = try depthQuery(request)
            } catch {
                return json(.object([("detail", .string("\(error)"))]), status: .unprocessableContent)
            }
            let rows = api.board.liveCells(nowMs: WallClock.nowMs()).filter { $0.key.venue == venue }
                .compactMap { cell in
                    cell.read { snapshot in
                        DepthRow(symbol: snapshot.key.symbol, metrics: snapshot.metrics,
                                 trend: snapshot.history.summary(for: .fiveMinutes)?.trend ?? .neutral, book: snapshot.book)
                    }
                }
            return json(DepthResponses.all(query.apply(rows), query: query, staleMs: api.bookStaleMs))
        }
        if let config = api.config {
            ConfigRoutes.register(on: router, config)
        }
        let document = OpenAPIDocument.build().bytes
        router.get("/openapi.json") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: document)))
        }
        return router
    }

    /// What `/` lists.
    static let endpoints: [(String, String)] = [
        ("health", "/healthz"), ("readiness", "/ready"), ("metrics", "/metrics"), ("info", "/info"), ("stats", "/api/v1/stats"),
        ("depth", "/api/v1/metrics/depth/{symbol}"), ("pressure", "/api/v1/metrics/pressure/{symbol}?timeframe=1m|5m|15m"),
        ("summary", "/api/v1/metrics/summary"), ("all_depth", "/api/v1/metrics/all"),
        ("configuration_api", "/api/v1/strategies"), ("openapi_spec", "/openapi.json"),
    ]

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: value.bytes)))
    }

    static func venue(_ request: Request, _ api: HTTPAPIContext) throws -> Venue {
        guard let text = request.uri.queryParameters.get("venue") else { return api.defaultVenue }
        guard let venue = Venue(name: text) else {
            throw HTTPError(.badRequest, message: "Unknown venue '\(text)': use spot or usdm")
        }
        return venue
    }

    static func symbolKey(_ request: Request, _ context: BasicRequestContext, _ api: HTTPAPIContext) throws -> SymbolKey {
        let symbol = try context.parameters.require("symbol").uppercased()
        return SymbolKey(venue: try venue(request, api), symbol: symbol)
    }

    /// A query parameter that is present but not a number.
    struct InvalidQueryNumber: Error, CustomStringConvertible {
        var name: String
        var value: String
        var description: String { "\(name) must be a number, got '\(value)'" }
    }

    static func depthQuery(_ request: Request) throws -> DepthQuery {
        let q = request.uri.queryParameters
        func double(_ name: String) throws -> Double? {
            guard let text = q.get(name) else { return nil }
            guard let value = Double(text), value.isFinite else { throw InvalidQueryNumber(name: name, value: text) }
            return value
        }
        func int(_ name: String, _ fallback: Int) throws -> Int {
            guard let text = q.get(name) else { return fallback }
            guard let value = Int(text) else { throw InvalidQueryNumber(name: name, value: text) }
            return value
        }
        return try DepthQuery(symbols: DepthQuery.parseSymbols(csv: q.get("symbols")),
                              minPressure: try double("min_pressure"), maxPressure: try double("max_pressure"),
                              trend: q.get("trend"), limit: try int("limit", DepthQuery.defaultLimit),
                              offset: try int("offset", 0), sortBy: q.get("sort_by"), sortOrder: q.get("sort_order"))
    }

    static func booksJSON(_ s: IngestStats) -> JSONValue {
        let b = s.books
        return .object([
            ("synced", .int(b.booksSynced.value)),
            ("resyncing", .int(b.booksResyncing.value)),
            ("attribution", .object([
                ("label", .int(b.attributedToLabel.value)), ("evidence", .int(b.attributedByEvidence.value)),
                ("unverified", .int(b.attributedUnverified.value)),
                ("symbol_ambiguous", .int(s.rejected(.symbolAmbiguous).value)),
            ])),
            ("futures_depth", .object([
                ("as_diff", .int(b.futuresAsDiff.value)), ("as_partial", .int(b.futuresAsPartial.value)),
                ("unclassified", .int(b.futuresUnclassified.value)),
            ])),
            ("diffs", .object([
                ("applied", .int(b.diffsApplied.value)), ("buffered", .int(b.diffsBuffered.value)),
                ("stale", .int(b.diffsStale.value)),
            ])),
            ("gaps", .int(b.gaps.value)),
            ("crossed_after_update", .int(b.crossedAfterUpdate.value)),
            ("exhausted", .int(b.exhausted.value)),
            ("deepened_from_snapshot", .int(b.deepened.value)),
            ("synced_from", .object([("snapshot", .int(b.syncedFromSnapshot.value)), ("partial", .int(b.syncedFromPartial.value))])),
            ("old_snapshots", .int(b.oldSnapshots.value)),
            ("too_old_snapshots", .int(b.tooOldSnapshots.value)),
            ("partial_confirmed", .int(b.partialConfirmed.value)),
            ("partial_corrected", .int(b.partialCorrected.value)),
            ("unsorted_partials", .int(b.unsortedPartials.value)),
            ("book_ticker_refreshes", .int(b.bookTickerRefreshes.value)),
            ("snapshot_requests", .int(b.snapshotRequests.value)),
            ("snapshot_failures", .int(b.snapshotFailures.value)),
            ("book_updates_served", .int(b.bookUpdatesServed.value)),
            ("strategy_skips", .object([
                ("stale", .int(b.skippedStale.value)), ("resyncing", .int(b.skippedResyncing.value)),
                ("one_sided", .int(b.skippedOneSided.value)),
            ])),
        ])
    }

    static func statsJSON(_ api: HTTPAPIContext) -> JSONValue {
        let s = api.stats
        func counters(_ dict: [String: StatCounter]) -> JSONValue {
            .object(dict.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value.value)) })
        }
        let lastEvent = s.lastEventTimeMs.value
        return .object([
            ("messages", .object([
                ("received", .int(s.received.value)),
                ("processed", .int(s.processed.value)),
                ("rejected", .int(s.rejected.value)),
                ("rejected_by_reason", .object(RejectReason.allCases.map { ($0.description, .int(s.rejected($0).value)) })),
                ("by_kind", .object(StreamKind.allCases.map { ($0.description, .int(s.kind($0).value)) })),
                ("symbol_mismatches", .int(s.symbolMismatches.value)),
                ("label_mismatch", .object(StreamKind.allCases.map { ($0.description, .int(s.books.labelMismatch($0).value)) })),
                ("filtered_symbols", .int(s.filteredSymbols.value)),
                ("slow_consumer_dropped", .int(api.slowConsumerDrops())),
            ])),
            ("signals", .object([
                ("generated", counters(s.signalsGenerated)),
                ("accepted", counters(s.signalsAccepted)),
                ("published", counters(s.signalsPublished)),
                ("below_min_confidence", .int(s.signalsBelowConfidence.value)),
                ("publish_errors", .int(s.publishErrors.value)),
                ("lost", .int(s.signalsLost.value)),
                ("feed_messages", .int(s.feedMessages.value)),
                ("feed_rejected", .int(s.feedRejected.value)),
                ("last_sequence", .int(Int64(api.signalLog.lastSequence))),
            ])),
            ("books", booksJSON(s)),
            ("symbols", .object([
                ("tracked", .int(s.symbolsTracked.value)),
                ("evicted", .int(s.symbolsEvicted.value)),
                ("expired", .int(s.symbolsExpired.value)),
            ])),
            ("nats", { () -> JSONValue in
                let counters = api.natsCounters()
                return .object([
                    ("connected", .bool(api.natsConnected())),
                    ("subscribed", .bool(api.ingestReady())),
                    ("disconnects", .int(Int(clamping: counters.disconnects))),
                    ("reconnects", .int(Int(clamping: counters.reconnects))),
                ])
            }()),
            ("socket", api.socketStats.map { socket in
                .object([
                    ("clients", .int(socket.clients.value)),
                    ("connections_accepted", .int(socket.connectionsAccepted.value)),
                    ("permission_denied", .int(socket.permissionDenied.value)),
                    ("bad_frames", .int(socket.badFrames.value)),
                    ("subscriptions", .int(socket.subscriptions.value)),
                    ("events_sent", .int(socket.eventsSent.value)),
                    ("events_dropped", .int(socket.eventsDropped.value)),
                    ("gaps", .int(socket.gaps.value)),
                    ("requests", .object(SocketStats.Call.allCases.map { ($0.description, .int(socket.requests($0).value)) })),
                ])
            } ?? .null),
            ("last_event_time", lastEvent > 0 ? .string(formatISO8601Millis(Int64(lastEvent))) : .null),
            ("uptime_seconds", .double(Double(WallClock.nowMs() - api.startedAtMs) / 1000)),
        ])
    }
}
