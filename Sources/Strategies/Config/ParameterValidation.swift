/// Validation of strategy parameters submitted through the config API.
///
/// Differences from the seed's `validate_parameters` (inventory §4.3), on purpose:
/// - an unknown strategy id is an error (the seed accepted anything);
/// - a JSON boolean is not a number (`{"spread_threshold_bps": true}` was valid in the seed);
/// - "must be a boolean" is an `INVALID_TYPE`, not `OUT_OF_RANGE`;
/// - every schema key can be submitted (the seed's schemas left keys out, §4.2);
/// - cross-field conflicts are checked on the merged result (the seed had none);
/// - every error is collected.

/// A submitted value with its JSON type kept: `3.0` is a `.double`, `3` an `.int`.
public enum ParameterInput: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    /// An array or object, which no parameter takes.
    case composite(String)

    /// A stored value as input, for re-validating it (rollback).
    public init(_ value: ParameterValue) {
        switch value {
        case .double(let d): self = .double(d)
        case .int(let i): self = .int(i)
        case .bool(let b): self = .bool(b)
        case .string(let s): self = .string(s)
        }
    }

    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .int: "integer"
        case .double: "number"
        case .string: "string"
        case .composite(let kind): kind
        }
    }

    var text: String {
        switch self {
        case .null: "null"
        case .bool(let b): "\(b)"
        case .int(let i): "\(i)"
        case .double(let d): "\(d)"
        case .string(let s): "\"\(s)\""
        case .composite(let kind): kind
        }
    }
}

extension ParameterType {
    /// The type name the config API shows (the seed's schema names).
    public var apiName: String {
        switch self { case .double: "float"; case .int: "int"; case .bool: "bool"; case .string: "string" }
    }
}

/// One validation failure.
public struct ValidationIssue: Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case unknownStrategy = "UNKNOWN_STRATEGY"
        case unknownParameter = "UNKNOWN_PARAMETER"
        case invalidType = "INVALID_TYPE"
        case outOfRange = "OUT_OF_RANGE"
        case notAllowed = "NOT_ALLOWED"
        case conflict = "CONFLICT"
        case unsupportedScope = "UNSUPPORTED_SCOPE"
        case invalidSymbol = "INVALID_SYMBOL"
        /// `reason` or `changed_by` longer than the audit log keeps.
        case tooLong = "TOO_LONG"
        /// A new override past the number the store keeps.
        case tooMany = "TOO_MANY"
    }

    public var field: String
    public var code: Code
    public var message: String

    public init(field: String, code: Code, message: String) {
        self.field = field; self.code = code; self.message = message
    }

    public var description: String { message }
}

/// A rule between parameters, checked on the resolved values.
public enum ParameterConstraint: Sendable, Equatable {
    /// `lower` < `upper`.
    case lessThan(lower: String, upper: String)
    /// The named weights sum to at most `limit`.
    case sumAtMost([String], limit: Double)

    var fields: [String] {
        switch self {
        case .lessThan(let a, let b): [a, b]
        case .sumAtMost(let names, _): names
        }
    }
}

public enum ParameterValidation {
    /// Checks submitted values against a strategy's schema. Returns the typed values of the
    /// valid entries and every issue found (an empty list means all were valid).
    public static func validate(strategyId: String, input: [(String, ParameterInput)])
        -> (values: [String: ParameterValue], issues: [ValidationIssue]) {
        guard let descriptor = StrategySettings.descriptor(strategyId) else {
            return ([:], [ValidationIssue(field: "strategy_id", code: .unknownStrategy,
                                          message: "Unknown strategy: \(strategyId)")])
        }
        var values: [String: ParameterValue] = [:]
        var issues: [ValidationIssue] = []
        for (name, raw) in input {
            guard let spec = descriptor.schema.first(where: { $0.name == name }) else {
                issues.append(ValidationIssue(field: name, code: .unknownParameter, message: "Unknown parameter: \(name)"))
                continue
            }
            switch check(raw, against: spec) {
            case .success(let value): values[name] = value
            case .failure(let found): issues.append(contentsOf: found)
            }
        }
        return (values, issues)
    }

    /// Type, range and allowed-set checks of one value. Range errors for both bounds can fire.
    static func check(_ raw: ParameterInput, against spec: ParameterSpec) -> Result<ParameterValue, IssueList> {
        let name = spec.name
        func typeError(_ expected: String) -> Result<ParameterValue, IssueList> {
            .failure(IssueList([ValidationIssue(field: name, code: .invalidType,
                                                message: "\(name) must be \(expected), got \(raw.typeName) \(raw.text)")]))
        }
        func ranged(_ number: Double, _ value: ParameterValue) -> Result<ParameterValue, IssueList> {
            var issues: [ValidationIssue] = []
            if let low = spec.minimum, number < low {
                issues.append(ValidationIssue(field: name, code: .outOfRange, message: "\(name) must be >= \(format(low)), got \(raw.text)"))
            }
            if let high = spec.maximum, number > high {
                issues.append(ValidationIssue(field: name, code: .outOfRange, message: "\(name) must be <= \(format(high)), got \(raw.text)"))
            }
            return issues.isEmpty ? .success(value) : .failure(IssueList(issues))
        }
        switch (spec.type, raw) {
        case (.int, .int(let i)):
            return ranged(Double(i), .int(i))
        case (.int, _):
            return typeError("an integer")
        case (.double, .int(let i)):
            return ranged(Double(i), .double(Double(i)))
        case (.double, .double(let d)):
            guard d.isFinite else { return typeError("a finite number") }
            return ranged(d, .double(d))
        case (.double, _):
            return typeError("a number")
        case (.bool, .bool(let b)):
            return .success(.bool(b))
        case (.bool, _):
            return typeError("a boolean")
        case (.string, .string(let s)):
            if !spec.allowed.isEmpty && !spec.allowed.contains(s) {
                return .failure(IssueList([ValidationIssue(
                    field: name, code: .notAllowed,
                    message: "\(name) must be one of \(spec.allowed.joined(separator: ", ")), got \"\(s)\"")]))
            }
            return .success(.string(s))
        case (.string, _):
            return typeError("a string")
        }
    }

    /// Cross-field rules, checked on the values a strategy would run with (defaults, environment
    /// and overrides merged), so a partial update cannot create a conflict with stored values.
    public static func conflicts(strategyId: String, resolved: ParameterValues) -> [ValidationIssue] {
        guard let descriptor = StrategySettings.descriptor(strategyId) else { return [] }
        func value(_ name: String) -> Double? {
            resolved.values[name]?.doubleValue
                ?? descriptor.schema.first(where: { $0.name == name })?.defaultValue.doubleValue
        }
        var issues: [ValidationIssue] = []
        for constraint in descriptor.constraints {
            switch constraint {
            case .lessThan(let lower, let upper):
                if let a = value(lower), let b = value(upper), !(a < b) {
                    issues.append(ValidationIssue(field: lower, code: .conflict,
                                                  message: "\(lower) (\(format(a))) must be < \(upper) (\(format(b)))"))
                }
            case .sumAtMost(let names, let limit):
                let sum = names.compactMap(value).reduce(0, +)
                if sum > limit + 1e-9 {
                    issues.append(ValidationIssue(field: names.joined(separator: "+"), code: .conflict,
                                                  message: "\(names.joined(separator: " + ")) must be <= \(format(limit)), got \(format(sum))"))
                }
            }
        }
        return issues
    }

    /// Symbols are upper-case alphanumerics (Binance), 2 to 32 characters.
    public static func checkSymbol(_ symbol: String) -> ValidationIssue? {
        let ok = (2...32).contains(symbol.utf8.count)
            && symbol.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x41...0x5A).contains($0) }
        return ok ? nil : ValidationIssue(field: "symbol", code: .invalidSymbol,
                                          message: "symbol must be 2-32 upper-case letters or digits, got \"\(symbol)\"")
    }

    static func format(_ d: Double) -> String {
        d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : "\(d)"
    }

    /// Issues of one value (a `Result` failure needs an `Error`).
    struct IssueList: Error { var issues: [ValidationIssue]; init(_ i: [ValidationIssue]) { issues = i } }
}

extension Array where Element == ValidationIssue {
    mutating func append(contentsOf list: ParameterValidation.IssueList) { append(contentsOf: list.issues) }
}
