import Foundation
import Testing

/// The module direction of docs/ARCHITECTURE.md, checked on the source tree by
/// scripts/check-module-imports: each offence is reported as its own issue, `file:line: reason`.
@Suite("Module direction")
struct ModuleDirectionTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func check(_ tree: URL) throws -> (status: Int32, lines: [String]) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["bash", root.appendingPathComponent("scripts/check-module-imports").path, tree.path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice  // its summary line; the offences are on stdout
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        return (process.terminationStatus, lines)
    }

    @Test func noModuleImportsAgainstTheDirection() throws {
        let result = try Self.check(Self.root)
        for line in result.lines {
            // `path:line: reason`: the issue points at the offending import itself.
            let parts = line.split(separator: ":", maxSplits: 2).map(String.init)
            guard parts.count == 3, let number = Int(parts[1]) else { Issue.record("\(line)"); continue }
            Issue.record("\(line)", sourceLocation: SourceLocation(
                fileID: parts[0], filePath: Self.root.appendingPathComponent(parts[0]).path, line: number, column: 1))
        }
        #expect(result.status == 0, "scripts/check-module-imports exited \(result.status)")
    }

    /// The check is not vacuous: a tree with one offence of each kind fails on exactly those lines.
    @Test func theCheckCatchesEachKindOfOffence() throws {
        let tree = FileManager.default.temporaryDirectory.appendingPathComponent("module-direction-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: tree) }
        let files = [
            "Sources/NATS/Fine.swift": "import CNATS\nimport Foundation\n",
            "Sources/NATS/Up.swift": "import Foundation\n@testable import Sidecar\n",
            "Sources/Sidecar/C.swift": "import Foundation\nimport CNATS\n",
            "Sources/Strategies/Core.swift": "import struct NATS.NATSClient\n",
            "Sources/Strategies/Names.swift": "import NATSExtra\nimport SidecarProtocolX\n",
        ]
        for (path, text) in files {
            let url = tree.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        let result = try Self.check(tree)
        #expect(result.status == 1)
        #expect(result.lines.map { $0.prefix { $0 != " " } }.sorted()
            == ["Sources/NATS/Up.swift:2:", "Sources/Sidecar/C.swift:2:", "Sources/Strategies/Core.swift:1:"])
    }
}
