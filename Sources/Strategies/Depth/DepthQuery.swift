/// `GET /api/v1/metrics/all`: filtering, sorting and pagination as a pure function
/// (inventory §5.3).
///
/// Semantics, as in the seed:
/// - `symbols`: keep only these symbols (the CSV is stripped and uppercased; nil or empty means
///   no filter).
/// - `minPressure` / `maxPressure`: inclusive bounds on the **rounded** (2 decimals) net pressure.
/// - `trend`: compared case-insensitively with the row's trend; nil or empty means no filter.
/// - `sortBy`: `symbol`, `pressure` (rounded net pressure), `imbalance` (rounded imbalance
///   percent) or `liquidity` (rounded total liquidity); any other value, or nil, keeps the input
///   (insertion) order. Keys are the rounded values the response shows, so rows equal after
///   rounding keep their input order. Symbols compare by Unicode code points, as Python does.
/// - `sortOrder`: exactly `"desc"` sorts descending, anything else ascending. The sort is stable
///   in both directions (Python's `sorted(reverse=True)` keeps equal rows in input order).
/// - Pagination: `limit` in 1...200 (default 50), `offset ≥ 0` (default 0), otherwise the seed
///   answers 422; here `init` throws `DepthQueryError`.

public struct DepthRow: Sendable, Equatable {
    public var symbol: String
    public var metrics: DepthMetrics
    /// The symbol's pressure trend, as the row's `trend` field shows it.
    public var trend: TrendDirection
    /// The book behind the row (nil in rows built without one).
    public var book: BookInfo?

    public init(symbol: String, metrics: DepthMetrics, trend: TrendDirection, book: BookInfo? = nil) {
        self.symbol = symbol
        self.metrics = metrics
        self.trend = trend
        self.book = book
    }
}

public struct DepthPage: Sendable, Equatable {
    /// The rows of this page, in response order.
    public var rows: [DepthRow]
    /// Rows after filtering, before pagination.
    public var total: Int
    public var limit: Int
    public var offset: Int
    /// `offset / limit + 1`
    public var page: Int
    /// `ceil(total / limit)`, 0 when nothing matched.
    public var pages: Int
    /// `offset + limit < total`
    public var hasNext: Bool
    /// `offset > 0`
    public var hasPrevious: Bool

    /// The response's `symbols_count`.
    public var symbolsCount: Int { rows.count }

    public init(rows: [DepthRow], total: Int, limit: Int, offset: Int, page: Int, pages: Int, hasNext: Bool,
                hasPrevious: Bool) {
        self.rows = rows
        self.total = total
        self.limit = limit
        self.offset = offset
        self.page = page
        self.pages = pages
        self.hasNext = hasNext
        self.hasPrevious = hasPrevious
    }
}

/// A rejected query parameter (the seed's 422).
public enum DepthQueryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `limit` outside 1...200.
    case limitOutOfRange(Int)
    /// `offset` below 0.
    case negativeOffset(Int)

    /// The offending query parameter.
    public var field: String {
        switch self {
        case .limitOutOfRange: "limit"
        case .negativeOffset: "offset"
        }
    }

    public var description: String {
        switch self {
        case .limitOutOfRange(let v): "limit must be between \(DepthQuery.limitRange.lowerBound) and \(DepthQuery.limitRange.upperBound), got \(v)"
        case .negativeOffset(let v): "offset must be greater than or equal to 0, got \(v)"
        }
    }
}

public struct DepthQuery: Sendable, Equatable {
    public static let limitRange = 1...200
    public static let defaultLimit = 50

    /// Uppercased, stripped symbols; nil or empty means all.
    public var symbols: [String]?
    public var minPressure: Double?
    public var maxPressure: Double?
    /// As given; compared lowercased.
    public var trend: String?
    public private(set) var limit: Int
    public private(set) var offset: Int
    public var sortBy: String?
    public var sortOrder: String?

    public init(symbols: [String]? = nil, minPressure: Double? = nil, maxPressure: Double? = nil,
                trend: String? = nil, limit: Int = DepthQuery.defaultLimit, offset: Int = 0, sortBy: String? = nil,
                sortOrder: String? = nil) throws(DepthQueryError) {
        guard Self.limitRange.contains(limit) else { throw .limitOutOfRange(limit) }
        guard offset >= 0 else { throw .negativeOffset(offset) }
        self.symbols = symbols.map { $0.map(Self.normalizeSymbol) }
        self.minPressure = minPressure
        self.maxPressure = maxPressure
        self.trend = trend
        self.limit = limit
        self.offset = offset
        self.sortBy = sortBy
        self.sortOrder = sortOrder
    }

    /// The `symbols` query parameter: split on commas, each part stripped and uppercased;
    /// nil for nil or an empty string (Python's falsy check).
    public static func parseSymbols(csv: String?) -> [String]? {
        guard let csv, !csv.isEmpty else { return nil }
        return csv.split(separator: ",", omittingEmptySubsequences: false).map { normalizeSymbol(String($0)) }
    }

    static func normalizeSymbol(_ s: String) -> String {
        var scalars = Substring(s)
        while let c = scalars.first, c.isWhitespace { scalars.removeFirst() }
        while let c = scalars.last, c.isWhitespace { scalars.removeLast() }
        return scalars.uppercased()
    }

    /// True when the sort is descending (`sortOrder == "desc"`).
    public var isDescending: Bool { sortOrder == "desc" }

    /// Filters, sorts and paginates `rows` (given in insertion order).
    public func apply(_ rows: [DepthRow]) -> DepthPage {
        let trendFilter: String? = {
            guard let trend, !trend.isEmpty else { return nil }
            return trend.lowercased()
        }()
        let symbolFilter: Set<String>? = {
            guard let symbols, !symbols.isEmpty else { return nil }
            return Set(symbols)
        }()

        struct Candidate {
            var index: Int
            var net: Double
            var imbalance: Double
            var liquidity: Double
        }
        var kept: [Candidate] = []
        kept.reserveCapacity(rows.count)
        for (i, row) in rows.enumerated() {
            if let symbolFilter, !symbolFilter.contains(row.symbol) { continue }
            let net = PythonRounding.round(row.metrics.netPressure, 2)
            if let minPressure, net < minPressure { continue }
            if let maxPressure, net > maxPressure { continue }
            if let trendFilter, row.trend.rawValue != trendFilter { continue }
            kept.append(Candidate(index: i, net: net,
                                  imbalance: PythonRounding.round(row.metrics.imbalancePercent, 2),
                                  liquidity: PythonRounding.round(row.metrics.totalLiquidity, 4)))
        }

        let less: ((Int, Int) -> Bool)?
        switch sortBy {
        case "symbol":
            less = { a, b in
                rows[kept[a].index].symbol.unicodeScalars
                    .lexicographicallyPrecedes(rows[kept[b].index].symbol.unicodeScalars)
            }
        case "pressure": less = { a, b in kept[a].net < kept[b].net }
        case "imbalance": less = { a, b in kept[a].imbalance < kept[b].imbalance }
        case "liquidity": less = { a, b in kept[a].liquidity < kept[b].liquidity }
        default: less = nil
        }
        let order: [Int]
        if let less {
            order = DepthSorting.stableOrder(count: kept.count, descending: isDescending, less: less)
        } else {
            order = Array(0..<kept.count)
        }

        let total = kept.count
        let start = min(offset, total)
        let end = start == total ? total : min(start + limit, total)  // no overflow for huge offsets
        let pageRows = order[start..<end].map { rows[kept[$0].index] }
        // Saturating: offset Int.max with limit 1 would overflow (schemathesis crashed the sidecar with it).
        let (page, overflow) = (offset / limit).addingReportingOverflow(1)
        return DepthPage(rows: pageRows, total: total, limit: limit, offset: offset, page: overflow ? Int.max : page,
                         pages: (total + limit - 1) / limit, hasNext: offset < total - limit,
                         hasPrevious: offset > 0)
    }
}
