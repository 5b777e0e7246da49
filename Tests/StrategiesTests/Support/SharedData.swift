import Foundation

/// Access to the recorded Binance frames in `<package root>/../shared/binance-real`.
///
/// The package root is three levels up from this file (`Tests/StrategiesTests/Support`). The
/// path is tried both as written and with symlinks resolved (so a scratch package that links
/// `Tests/StrategiesTests` still finds the data); `BINANCE_REAL_DIR` overrides both.
enum SharedData {
    static let directory: URL? = {
        let fm = FileManager.default
        var candidates: [URL] = []
        if let env = ProcessInfo.processInfo.environment["BINANCE_REAL_DIR"], !env.isEmpty {
            candidates.append(URL(fileURLWithPath: env))
        }
        let here = URL(fileURLWithPath: #filePath)
        for file in [here, here.resolvingSymlinksInPath()] {
            let root = file.deletingLastPathComponent()  // Support
                .deletingLastPathComponent()  // StrategiesTests
                .deletingLastPathComponent()  // Tests
                .deletingLastPathComponent()  // package root
            candidates.append(root.deletingLastPathComponent().appendingPathComponent("shared/binance-real"))
        }
        var isDir: ObjCBool = false
        return candidates.first { fm.fileExists(atPath: $0.path, isDirectory: &isDir) && isDir.boolValue }
    }()

    static var isAvailable: Bool { directory != nil }

    static let skipMessage = "SKIPPED: ../shared/binance-real not found"

    /// One input file of the data set.
    struct DataFile {
        var url: URL
        /// Path relative to the data directory, e.g. `replay/usdm_5symbols_20210405.nats.jsonl.gz`.
        var name: String
        /// The market the file was recorded from (from its name).
        var venue: String { (url.lastPathComponent.hasPrefix("usdm") ? "usdm" : "spot") }
        /// A REST `/depth` answer per line rather than a stream frame.
        var isRestSnapshot: Bool { url.lastPathComponent.contains("rest_depth_snapshots") }
    }

    /// Every `.jsonl` and `.jsonl.gz` file under the data directory, sorted by name.
    static func files() -> [DataFile] {
        guard let dir = directory,
            let walker = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil)
        else { return [] }
        var out: [DataFile] = []
        let base = dir.resolvingSymlinksInPath().path
        for case let url as URL in walker {
            let n = url.lastPathComponent
            guard n.hasSuffix(".jsonl") || n.hasSuffix(".jsonl.gz") else { continue }
            var rel = url.resolvingSymlinksInPath().path
            if rel.hasPrefix(base + "/") { rel.removeFirst(base.count + 1) }
            out.append(DataFile(url: url, name: rel))
        }
        return out.sorted { $0.name < $1.name }
    }

    /// The non-empty lines of a file (without the newline). `.gz` files are decompressed with
    /// `gzip -dc`.
    static func lines(of url: URL) throws -> [Data] {
        let data: Data
        if url.pathExtension == "gz" {
            data = try gunzip(url)
        } else {
            data = try Data(contentsOf: url)
        }
        var lines: [Data] = []
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var start = 0
            for i in 0...raw.count {
                if i == raw.count || raw[i] == 0x0A {
                    var end = i
                    if end > start && raw[end - 1] == 0x0D { end -= 1 }
                    if end > start { lines.append(Data(raw[start..<end])) }
                    start = i + 1
                }
            }
        }
        return lines
    }

    private static func gunzip(_ url: URL) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-dc", url.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: url.path])
        }
        return data
    }

    /// The symbol of a REST snapshot file's line `i`, from its `.meta.txt` (one line per
    /// snapshot, `url=...symbol=XYZ&...`; hftbacktest's meta has no URL: the symbol is in the
    /// file name).
    static func restSnapshotSymbols(for file: DataFile, count: Int) -> [String] {
        let metaURL = file.url.deletingPathExtension().appendingPathExtension("meta.txt")
        let meta = (try? String(contentsOf: metaURL, encoding: .utf8)) ?? ""
        var symbols: [String] = []
        for line in meta.split(separator: "\n") {
            if let r = line.range(of: "symbol=") {
                symbols.append(String(line[r.upperBound...].prefix { $0 != "&" && $0 != " " }))
            }
        }
        if symbols.count < count {
            // e.g. hftbacktest/spot_ethusdt_20240808...: symbol from the file name.
            let parts = file.url.lastPathComponent.split(separator: "_")
            let guess = parts.count > 1 ? parts[1].uppercased() : "UNKNOWN"
            symbols += Array(repeating: guess, count: count - symbols.count)
        }
        return symbols
    }
}
