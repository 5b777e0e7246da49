/// Why a signal subject template was refused.
public enum SignalSubjectError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The template is empty.
    case empty
    /// A token between dots is empty (leading, trailing or doubled `.`).
    case emptyToken(template: String)
    /// `*` or `>` outside a placeholder: a publish subject cannot hold wildcards.
    case wildcard(template: String)
    /// Whitespace or a control character outside a placeholder.
    case whitespace(template: String)
    /// A `{name}` other than `{strategy_id}` and `{symbol}`.
    case unknownPlaceholder(template: String, name: String)
    /// A `{` without its `}` or a stray `}`.
    case unbalancedBrace(template: String)

    public var description: String {
        switch self {
        case .empty:
            "signal subject template is empty"
        case .emptyToken(let t):
            "signal subject template \"\(t)\" has an empty token (leading, trailing or double '.')"
        case .wildcard(let t):
            "signal subject template \"\(t)\" contains a wildcard ('*' or '>'), which a publish subject cannot hold"
        case .whitespace(let t):
            "signal subject template \"\(t)\" contains whitespace or a control character"
        case .unknownPlaceholder(let t, let name):
            "signal subject template \"\(t)\" has an unknown placeholder {\(name)}; use {strategy_id} or {symbol}"
        case .unbalancedBrace(let t):
            "signal subject template \"\(t)\" has an unbalanced '{' or '}'"
        }
    }
}

/// The NATS subject a signal is published on, from a template such as `signals.trading`,
/// `signals.trading.{strategy_id}` or `cio.intent.trading.{strategy_id}.{symbol}`.
///
/// `{strategy_id}` and `{symbol}` are replaced by the signal's values with `.`, `*`, `>`,
/// whitespace and control characters turned into `_` (an empty value becomes `_`), so each
/// placeholder yields exactly one valid token (wire contracts §B8). The template itself is checked
/// at init: after substitution it must be a valid publish subject (non-empty tokens, no wildcards,
/// no whitespace), so `subject(for:)` can never produce an invalid one.
///
/// Note: tradeengine subscribes to `signals.trading.*`, which does not match the bare
/// `signals.trading` (wire contracts §0.2); that template is valid but only reaches other
/// subscribers.
public struct SignalSubjectTemplate: Sendable, Equatable, CustomStringConvertible {
    enum Part: Sendable, Equatable {
        case literal(String)
        case strategyId
        case symbol
    }

    /// The template as given.
    public let template: String
    let parts: [Part]

    public init(_ template: String) throws(SignalSubjectError) {
        guard !template.isEmpty else { throw .empty }
        var parts: [Part] = []
        var literal = ""
        var probe = ""  // the template with each placeholder replaced by a valid token
        var index = template.startIndex
        while index < template.endIndex {
            let c = template[index]
            if c == "{" {
                guard let close = template[index...].firstIndex(of: "}") else {
                    throw .unbalancedBrace(template: template)
                }
                let name = template[template.index(after: index)..<close]
                if name.contains("{") { throw .unbalancedBrace(template: template) }
                let part: Part
                switch name {
                case "strategy_id": part = .strategyId
                case "symbol": part = .symbol
                default: throw .unknownPlaceholder(template: template, name: String(name))
                }
                if !literal.isEmpty {
                    parts.append(.literal(literal))
                    literal = ""
                }
                parts.append(part)
                probe.append("x")
                index = template.index(after: close)
                continue
            }
            if c == "}" { throw .unbalancedBrace(template: template) }
            if c == "*" || c == ">" { throw .wildcard(template: template) }
            if c.unicodeScalars.contains(where: { Self.isSpaceOrControl($0) }) {
                throw .whitespace(template: template)
            }
            literal.append(c)
            probe.append(c)
            index = template.index(after: index)
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        if probe.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) {
            throw .emptyToken(template: template)
        }
        self.template = template
        self.parts = parts
    }

    /// Validates a template, e.g. a configuration value, and returns it parsed.
    public static func validated(_ template: String) throws(SignalSubjectError) -> SignalSubjectTemplate {
        try SignalSubjectTemplate(template)
    }

    /// True when the template has no placeholder, i.e. every signal goes to the same subject.
    public var isConstant: Bool { !parts.contains { $0 == .strategyId || $0 == .symbol } }

    public var description: String { template }

    public func subject(for signal: Signal) -> String {
        var subject = ""
        subject.reserveCapacity(template.utf8.count + 16)
        for part in parts {
            switch part {
            case .literal(let s): subject.append(s)
            case .strategyId: Self.appendToken(signal.strategyId, to: &subject)
            case .symbol: Self.appendToken(signal.key.symbol, to: &subject)
            }
        }
        return subject
    }

    /// One subject token from an arbitrary value.
    public static func token(_ value: String) -> String {
        var s = ""
        appendToken(value, to: &s)
        return s
    }

    static func appendToken(_ value: String, to subject: inout String) {
        if value.isEmpty {
            subject.append("_")
            return
        }
        for scalar in value.unicodeScalars {
            if scalar == "." || scalar == "*" || scalar == ">" || isSpaceOrControl(scalar) {
                subject.append("_")
            } else {
                subject.unicodeScalars.append(scalar)
            }
        }
    }

    static func isSpaceOrControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value <= 0x20 || scalar.value == 0x7F || scalar.properties.isWhitespace
    }
}
