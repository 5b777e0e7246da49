import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Strategies

/// Fetches REST depth snapshots (`GET <url>?symbol=X&limit=N`) for the books the engine asks
/// for, one at a time, at most one request per `minIntervalMs` over all symbols, and backs off
/// on errors (exponentially, 1 s to 60 s; `Retry-After` on 418/429). Never on the ingest thread:
/// requests and answers pass through the engine's `BookSnapshotMailbox`.
public final class DepthSnapshotFetcher: Service, Sendable {
    /// A snapshot answer that could not be used.
    public enum FetchError: Error, CustomStringConvertible {
        case http(status: Int, url: String)
        case malformed(url: String, reason: String)
        case transport(url: String, reason: String)

        public var description: String {
            switch self {
            case .http(let status, let url): "HTTP \(status) from \(url)"
            case .malformed(let url, let reason): "unusable snapshot from \(url): \(reason)"
            case .transport(let url, let reason): "request to \(url) failed: \(reason)"
            }
        }
    }

    private let mailbox: BookSnapshotMailbox
    private let urls: [Venue: String]
    private let limit: Int
    private let minIntervalMs: Int
    private let stats: BookStats
    private let logger: Logger

    public init(mailbox: BookSnapshotMailbox, urls: [Venue: String], maxLevels: Int, minIntervalMs: Int,
                stats: BookStats, logger: Logger) {
        self.mailbox = mailbox
        self.urls = urls
        // The smallest limit every venue accepts that covers the book.
        limit = [5, 10, 20, 50, 100, 500, 1000].first { $0 >= maxLevels } ?? 1000
        self.minIntervalMs = minIntervalMs
        self.stats = stats
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown { [self] in
            var seen: UInt64 = 0
            var backoffMs = 0
            while !Task.isCancelled {
                let generation = mailbox.requestGeneration
                if generation == seen {
                    try await Task.sleep(for: .milliseconds(50))
                    continue
                }
                seen = generation
                for key in mailbox.takeRequests() {
                    guard let base = urls[key.venue] else { continue }
                    if backoffMs > 0 { try await Task.sleep(for: .milliseconds(backoffMs)) }
                    do {
                        let snapshot = try await fetch(key, base: base)
                        mailbox.deliver(snapshot)
                        backoffMs = 0
                    } catch let error as FetchError {
                        stats.snapshotFailures.increment()
                        backoffMs = min(60_000, max(1000, backoffMs * 2))
                        if case .http(let status, _) = error, status == 418 || status == 429 { backoffMs = 60_000 }
                        logger.warning("depth snapshot failed; the book waits for a partial book or the next request",
                                       metadata: ["symbol": "\(key)", "error": "\(error)", "backoff_ms": "\(backoffMs)"])
                    }
                    if minIntervalMs > 0 { try await Task.sleep(for: .milliseconds(minIntervalMs)) }
                }
            }
        }
    }

    /// A 1000-level answer is about 60 KiB; anything far larger is not a depth snapshot.
    static let maxAnswerBytes = 8 << 20

    private func fetch(_ key: SymbolKey, base: String) async throws(FetchError) -> BookSnapshot {
        let text = "\(base)?symbol=\(key.symbol)&limit=\(limit)"
        let request = HTTPClientRequest(url: text)
        let data: Data
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            guard response.status == .ok else { throw FetchError.http(status: Int(response.status.code), url: text) }
            let body = try await response.body.collect(upTo: Self.maxAnswerBytes)
            data = Data(body.readableBytesView)
        } catch let error as FetchError {
            throw error
        } catch {
            throw .transport(url: text, reason: "\(error)")
        }
        return try Self.parse(data, key: key, limit: limit, url: text)
    }

    /// `{lastUpdateId, bids: [[price, qty], …], asks: […]}` (futures add `E`, `T`).
    static func parse(_ data: Data, key: SymbolKey, limit: Int, url: String) throws(FetchError) -> BookSnapshot {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw .malformed(url: url, reason: "not a JSON object")
        }
        guard let id = (object["lastUpdateId"] as? NSNumber)?.int64Value, id > 0 else {
            throw .malformed(url: url, reason: "no lastUpdateId")
        }
        func levels(_ name: String) throws(FetchError) -> PriceLevels {
            guard let rows = object[name] as? [[Any]] else { throw .malformed(url: url, reason: "no \(name)") }
            var out = PriceLevels(capacity: rows.count)
            for row in rows {
                guard row.count >= 2, let price = number(row[0]), let quantity = number(row[1]), price > 0,
                    quantity >= 0, price.isFinite, quantity.isFinite
                else { throw .malformed(url: url, reason: "bad level in \(name)") }
                out.append(price: price, quantity: quantity)
            }
            return out
        }
        let bids = try levels("bids")
        let asks = try levels("asks")
        if let bid = bids.prices.first, let ask = asks.prices.first, bid >= ask {
            throw .malformed(url: url, reason: "crossed book")
        }
        let time = (object["E"] as? NSNumber)?.int64Value ?? 0
        return BookSnapshot(key: key, lastUpdateId: id, bids: bids, asks: asks, limit: limit, eventTimeMs: time)
    }

    private static func number(_ value: Any) -> Double? {
        if let s = value as? String { return Double(s) }
        return (value as? NSNumber)?.doubleValue
    }
}
