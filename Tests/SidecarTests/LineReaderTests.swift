import Foundation
import Testing
@testable import Sidecar

@Suite("LineReader")
struct LineReaderTests {
    /// A fresh temporary directory, removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("linereader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func gzip(_ url: URL) throws -> URL {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-k", "-f", url.path]
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "gzip failed")
        return URL(fileURLWithPath: url.path + ".gz")
    }

    static func readAll(_ path: String) throws -> (lines: [String], count: Int) {
        let reader = try LineReader(path: path)
        var lines: [String] = []
        let count = try reader.forEachLine { lines.append(String(decoding: $0, as: UTF8.self)) }
        return (lines, count)
    }

    static let longLine = "{\"big\":\"" + String(repeating: "abcdefghij", count: 20_000) + "\"}"  // ~200 KB

    /// The file content and the lines a reader must return.
    static let content: (bytes: String, lines: [String]) = {
        let bytes = "{\"a\":1}\n" + "{\"b\":2}\r\n" + "\n" + "\r\n" + longLine + "\n" + "{\"c\":\"é😀\"}\r\n" + "last-without-newline"
        return (bytes, ["{\"a\":1}", "{\"b\":2}", longLine, "{\"c\":\"é😀\"}", "last-without-newline"])
    }()

    @Test("plain and gzip files with CRLF, empty lines and a 200 KB line read identically")
    func plainAndGzip() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = dir.appendingPathComponent("lines.jsonl")
        try Data(Self.content.bytes.utf8).write(to: plain)
        let gz = try Self.gzip(plain)

        let fromPlain = try Self.readAll(plain.path)
        let fromGzip = try Self.readAll(gz.path)
        #expect(fromPlain.lines == Self.content.lines)
        #expect(fromGzip.lines == Self.content.lines)
        #expect(fromPlain.count == 5)
        #expect(fromGzip.count == 5)
        #expect(fromPlain.lines[2].utf8.count > 200_000)
        #expect(try LineReader.countLines(path: plain.path) == 5)
        #expect(try LineReader.countLines(path: gz.path) == 5)

        // bytesRead reports the on-disk (compressed) offset after reading.
        let reader = try LineReader(path: gz.path)
        _ = try reader.forEachLine { _ in }
        let size = try #require(try FileManager.default.attributesOfItem(atPath: gz.path)[.size] as? NSNumber).intValue
        #expect(reader.bytesRead > 0)
        #expect(reader.bytesRead <= size)
        // A second pass starts from the beginning.
        var again: [String] = []
        #expect(try reader.forEachLine { again.append(String(decoding: $0, as: UTF8.self)) } == 5)
        #expect(again == Self.content.lines)
    }

    @Test("many lines spanning chunk boundaries are all delivered")
    func manyLines() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = dir.appendingPathComponent("many.jsonl")
        let lines = (0..<50_000).map { "{\"n\":\($0),\"pad\":\"\(String(repeating: "x", count: $0 % 97))\"}" }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: plain)
        let gz = try Self.gzip(plain)
        for path in [plain.path, gz.path] {
            let read = try Self.readAll(path)
            #expect(read.count == lines.count)
            #expect(read.lines == lines)
        }
    }

    @Test("an error thrown by the body stops reading and propagates")
    func bodyError() throws {
        struct Stop: Error {}
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = dir.appendingPathComponent("lines.jsonl")
        try Data(Self.content.bytes.utf8).write(to: plain)
        let reader = try LineReader(path: plain.path)
        var seen = 0
        #expect(throws: Stop.self) {
            _ = try reader.forEachLine { _ in
                seen += 1
                if seen == 2 { throw Stop() }
            }
        }
        #expect(seen == 2)
    }

    @Test("a missing file is a typed error naming the path")
    func missingFile() {
        let path = "/nonexistent-\(UUID().uuidString)/data.jsonl.gz"
        #expect(throws: LineReaderError.fileNotFound(path: path)) { try LineReader(path: path) }
        #expect(throws: LineReaderError.self) { try LineReader.countLines(path: path) }
        do {
            _ = try LineReader(path: path)
        } catch {
            #expect(error.path == path)
            #expect(error.description.contains(path))
        }
    }

    @Test("a directory is a typed unreadable error")
    func directory() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            _ = try LineReader(path: dir.path)
            Issue.record("expected an error")
        } catch {
            guard case .unreadable(let path, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(path == dir.path)
        }
    }

    @Test("truncated and corrupted gzip data are typed errors, not crashes")
    func damagedGzip() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = dir.appendingPathComponent("lines.jsonl")
        try Data(Self.content.bytes.utf8).write(to: plain)
        let gz = try Self.gzip(plain)
        let bytes = try Data(contentsOf: gz)

        let truncated = dir.appendingPathComponent("truncated.jsonl.gz")
        try bytes.prefix(bytes.count / 2).write(to: truncated)
        #expect {
            try LineReader.countLines(path: truncated.path)
        } throws: { error in
            guard case LineReaderError.corrupt(let path, _) = error else { return false }
            return path == truncated.path
        }

        // Only the trailer (CRC and length) cut off.
        let noTrailer = dir.appendingPathComponent("no-trailer.jsonl.gz")
        try bytes.prefix(bytes.count - 4).write(to: noTrailer)
        #expect(throws: LineReaderError.self) { try LineReader.countLines(path: noTrailer.path) }

        // Flipped bytes in the deflate stream.
        var damaged = bytes
        for i in stride(from: 20, to: min(damaged.count - 8, 400), by: 7) { damaged[i] ^= 0x5A }
        let corrupt = dir.appendingPathComponent("corrupt.jsonl.gz")
        try damaged.write(to: corrupt)
        #expect {
            try LineReader.countLines(path: corrupt.path)
        } throws: { error in
            if case LineReaderError.corrupt = error { return true }
            return false
        }
    }

    @Test("the recorded 10-symbol replay has 16,786 lines")
    func realReplay() throws {
        // The package root is the working directory under `swift test`; shared data sits beside it.
        let candidates = [
            FileManager.default.currentDirectoryPath + "/../shared/binance-real/replay/spot_10symbols_20210405.nats.jsonl.gz",
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().path + "/../shared/binance-real/replay/spot_10symbols_20210405.nats.jsonl.gz",
        ]
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            print("SKIP LineReaderTests.realReplay: spot_10symbols_20210405.nats.jsonl.gz not found (looked in \(candidates))")
            return
        }
        let reader = try LineReader(path: path)
        var bytes = 0
        var objects = 0
        let count = try reader.forEachLine { line in
            bytes += line.count
            if line.first == UInt8(ascii: "{") && line.last == UInt8(ascii: "}") { objects += 1 }
        }
        #expect(count == 16_786)
        #expect(objects == count)
        #expect(reader.bytesRead == (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue)
        #expect(bytes > 1_000_000)
    }
}
