import Foundation
import Logging

/// One JSON object per line on stderr, for log shippers (`LOG_FORMAT=json`).
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(String, JSONValue)] = [
            ("ts", .string(formatTimestamp())),
            ("level", .string(event.level.rawValue)),
            ("logger", .string(label)),
            ("msg", .string(event.message.description)),
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for key in merged.keys.sorted() {
            if let value = merged[key] { fields.append((key, .string(value.description))) }
        }
        var line = JSONValue.object(fields).bytes
        line.append(UInt8(ascii: "\n"))
        line.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, stderr) }
    }

    private func formatTimestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return formatISO8601Millis(Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }
}

import Strategies

public enum LoggingSetup {
    /// Installs the process-wide log handler once, before any logger is created.
    public static func bootstrap(format: LogFormat, level: String) {
        let parsedLevel = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = format == .json
                ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = parsedLevel
            return handler
        }
    }
}
