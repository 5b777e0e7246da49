import Foundation

/// A strict reader of the Prometheus text exposition format (0.0.4), for tests: every
/// non-comment line must be `name{label="value",...} value` (or `name value`), every sample
/// must belong to a family whose `# TYPE` came before it, a family is typed and described at
/// most once, and histogram series must be cumulative with `_count` equal to the `+Inf` bucket.
struct PrometheusText {
    struct Sample: CustomStringConvertible {
        var name: String
        var labels: [String: String]
        var value: Double
        var description: String {
            "\(name){\(labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ","))} \(value)"
        }
    }

    struct Malformed: Error, CustomStringConvertible {
        var line: Int
        var text: String
        var why: String
        var description: String { "line \(line): \(why): \(text)" }
    }

    private(set) var samples: [Sample] = []
    /// Family name → type.
    private(set) var types: [String: String] = [:]
    private(set) var helps: [String: String] = [:]

    init(_ text: String) throws {
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = String(raw)
            let number = index + 1
            if line.isEmpty { continue }
            func fail(_ why: String) -> Malformed { Malformed(line: number, text: line, why: why) }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
                guard parts.count >= 3 else { throw fail("short comment") }
                switch parts[1] {
                case "TYPE":
                    guard parts.count == 4, ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]) else {
                        throw fail("bad TYPE line")
                    }
                    guard types[parts[2]] == nil else { throw fail("second TYPE for \(parts[2])") }
                    guard !samples.contains(where: { Self.family(of: $0.name, types: [parts[2]: parts[3]]) == parts[2] }) else {
                        throw fail("TYPE after samples of \(parts[2])")
                    }
                    types[parts[2]] = parts[3]
                case "HELP":
                    guard helps[parts[2]] == nil else { throw fail("second HELP for \(parts[2])") }
                    helps[parts[2]] = parts.count == 4 ? parts[3] : ""
                default:
                    continue  // other comments are allowed
                }
                continue
            }
            let sample = try Self.parseSample(line) { fail($0) }
            guard Self.family(of: sample.name, types: types) != nil else {
                throw fail("sample of \(sample.name) without a TYPE line before it")
            }
            samples.append(sample)
        }
        try checkHistograms()
    }

    /// The family a sample name belongs to: itself, or a histogram's name for `_bucket`,
    /// `_sum` and `_count`.
    static func family(of name: String, types: [String: String]) -> String? {
        if types[name] != nil { return name }
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if let type = types[base], type == "histogram" || type == "summary" { return base }
        }
        return nil
    }

    private static func parseSample(_ line: String, _ fail: (String) -> Malformed) throws -> Sample {
        let scalars = Array(line.unicodeScalars)
        var i = 0
        func isNameChar(_ c: Unicode.Scalar, first: Bool) -> Bool {
            (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" || c == ":" || (!first && c >= "0" && c <= "9")
        }
        var name = ""
        while i < scalars.count, isNameChar(scalars[i], first: name.isEmpty) {
            name.unicodeScalars.append(scalars[i])
            i += 1
        }
        guard !name.isEmpty else { throw fail("no metric name") }
        var labels: [String: String] = [:]
        if i < scalars.count, scalars[i] == "{" {
            i += 1
            while i < scalars.count, scalars[i] != "}" {
                var label = ""
                while i < scalars.count, isNameChar(scalars[i], first: label.isEmpty), scalars[i] != ":" {
                    label.unicodeScalars.append(scalars[i])
                    i += 1
                }
                guard !label.isEmpty, i + 1 < scalars.count, scalars[i] == "=", scalars[i + 1] == "\"" else {
                    throw fail("bad label")
                }
                i += 2
                var value = ""
                while i < scalars.count, scalars[i] != "\"" {
                    if scalars[i] == "\\" {
                        i += 1
                        guard i < scalars.count else { throw fail("dangling escape") }
                        switch scalars[i] {
                        case "n": value += "\n"
                        case "\\": value += "\\"
                        case "\"": value += "\""
                        default: throw fail("bad escape")
                        }
                    } else {
                        value.unicodeScalars.append(scalars[i])
                    }
                    i += 1
                }
                guard i < scalars.count else { throw fail("unterminated label value") }
                i += 1
                guard labels[label] == nil else { throw fail("repeated label \(label)") }
                labels[label] = value
                if i < scalars.count, scalars[i] == "," { i += 1 }
            }
            guard i < scalars.count else { throw fail("unterminated label set") }
            i += 1
        }
        guard i < scalars.count, scalars[i] == " " else { throw fail("no space before the value") }
        let rest = String(String.UnicodeScalarView(scalars[(i + 1)...])).split(separator: " ")
        guard rest.count == 1 || rest.count == 2 else { throw fail("expected a value and an optional timestamp") }
        let text = String(rest[0])
        let value: Double
        switch text {
        case "+Inf": value = .infinity
        case "-Inf": value = -.infinity
        case "NaN": value = .nan
        default:
            guard let parsed = Double(text) else { throw fail("value is not a number") }
            value = parsed
        }
        return Sample(name: name, labels: labels, value: value)
    }

    private func checkHistograms() throws {
        for (family, type) in types where type == "histogram" {
            let buckets = samples.filter { $0.name == family + "_bucket" }
            var series: [[String: String]: [(Double, Double)]] = [:]
            for bucket in buckets {
                guard let le = bucket.labels["le"] else {
                    throw Malformed(line: 0, text: bucket.description, why: "bucket without le")
                }
                var key = bucket.labels
                key["le"] = nil
                let bound = le == "+Inf" ? Double.infinity : (Double(le) ?? .nan)
                series[key, default: []].append((bound, bucket.value))
            }
            for (key, points) in series {
                let sorted = points.sorted { $0.0 < $1.0 }
                guard sorted.last?.0 == .infinity else {
                    throw Malformed(line: 0, text: "\(family) \(key)", why: "no +Inf bucket")
                }
                for (a, b) in zip(sorted, sorted.dropFirst()) where b.1 < a.1 {
                    throw Malformed(line: 0, text: "\(family) \(key)", why: "buckets are not cumulative")
                }
                let count = value(family + "_count", key)
                guard count == sorted.last?.1, value(family + "_sum", key) != nil else {
                    throw Malformed(line: 0, text: "\(family) \(key)", why: "_count differs from the +Inf bucket or _sum is missing")
                }
            }
        }
    }

    /// The value of the sample with exactly these labels.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    /// Samples of `name` whose labels include `matching`.
    func all(_ name: String, matching: [String: String] = [:]) -> [Sample] {
        samples.filter { sample in sample.name == name && matching.allSatisfy { sample.labels[$0.key] == $0.value } }
    }

    func sum(_ name: String, matching: [String: String] = [:]) -> Double {
        all(name, matching: matching).reduce(0) { $0 + $1.value }
    }
}
