import Foundation
import Testing
@testable import Sidecar

/// The file config store on a failing disk, through a real `realtime-sidecar` process: appends
/// cut short by the file-size limit (EFBIG), an audit log the kernel refuses to write (immutable),
/// and read-only directories mid-burst. An answered error never takes effect, not even after a
/// restart; an acknowledged write always does; versions are never reused; no line is torn or glued.
@Suite(.serialized) struct ConfigDiskFailureTests {
    struct Write { var symbol: String; var value: Int; var version: Int64 }

    static func run(_ tool: String, _ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    /// `chattr +i` makes a file or directory unwritable even for root (mode bits are not: tests run as root).
    static func setImmutable(_ path: String, _ on: Bool) -> Bool { run("chattr", [on ? "+i" : "-i", path]) }

    func size(_ path: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? -1
    }

    @Test func failingDiskNeverTurnsAnErrorIntoAWrite() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("config-disk-\(UUID().uuidString)").path
        let audit = dir + "/audit.jsonl"
        defer {
            for path in [audit, dir + "/configs", dir] { _ = Self.setImmutable(path, false) }
            try? FileManager.default.removeItem(atPath: dir)
        }
        let env = ["CONFIG_STORE": "file:\(dir)", "CONFIG_RETRY_SECONDS": "0.2"]
        var sidecar = try SidecarProcess(environment: env)
        try await sidecar.waitUntilConfigReady()
        var acknowledged: [Write] = []
        var refused: [String] = []
        var value = 0

        /// One write; its reason names it so the audit can be searched for it later.
        func write(_ symbol: String, expectOK: Bool) async throws -> Int {
            value += 1
            let reason = expectOK ? "ok-\(value)" : "refused-\(value)"
            let body = #"{"parameters":{"min_total_volume":\#(value)},"changed_by":"disk-test","reason":"\#(reason)"}"#
            let r = try await sidecar.admin.call("POST", "/api/v1/strategies/orderbook_skew/config/\(symbol)", body)
            if r.status == 200, let version = r.json[path: "data.stored_version"]?.int64Value {
                acknowledged.append(Write(symbol: symbol, value: value, version: version))
            } else {
                refused.append(reason)
            }
            return r.status
        }

        for i in 0..<5 { #expect(try await write("SYM\(i % 2)USDT", expectOK: true) == 200) }

        // 1. The file-size limit lets the next append write 10 bytes, then EFBIG: cut off, 503.
        let before = size(audit)
        let pid = "\(sidecar.process.processIdentifier)"
        #expect(Self.run("prlimit", ["--pid", pid, "--fsize=\(before + 10):unlimited"]), "prlimit works")
        #expect(try await write("SYM0USDT", expectOK: false) == 503)
        #expect(size(audit) == before, "the partial record was cut off")
        #expect(Self.run("prlimit", ["--pid", pid, "--fsize=unlimited:unlimited"]))
        try await sidecar.waitUntilConfigReady()
        #expect(try await write("SYM0USDT", expectOK: true) == 200)

        // 2. The kernel refuses every write to the log, the cut-off included: 503, and nothing recorded.
        if Self.setImmutable(audit, true) {
            let frozen = size(audit)
            #expect(try await write("SYM1USDT", expectOK: false) == 503)
            #expect(Self.setImmutable(audit, false))
            #expect(size(audit) == frozen)
            try await sidecar.waitUntilConfigReady()
            #expect(try await write("SYM1USDT", expectOK: true) == 200)
        } else {
            print("ConfigDiskFailureTests: chattr +i not available here (needs root on ext4); immutable-log and read-only-directory phases skipped")
        }

        // 3. Directories made read-only mid-burst: document files cannot be written, the log still
        //    commits, so every write is acknowledged and holds after a restart.
        if Self.setImmutable(dir + "/configs", true), Self.setImmutable(dir, true) {
            for i in 0..<10 { #expect(try await write("SYM\(i % 3)USDT", expectOK: true) == 200) }
            _ = Self.setImmutable(dir, false)
            _ = Self.setImmutable(dir + "/configs", false)
        }

        // A restart after kill -9: the log decides.
        sidecar.kill9()
        sidecar = try SidecarProcess(environment: env)
        defer { sidecar.terminate() }
        try await sidecar.waitUntilConfigReady()
        let versions = acknowledged.map(\.version)
        #expect(Set(versions).count == versions.count && versions == versions.sorted(), "acknowledged versions rise and are unique: \(versions)")
        var latest: [String: Write] = [:]
        for w in acknowledged { latest[w.symbol] = w }
        for (symbol, last) in latest {
            let config = try await sidecar.http.call("GET", "/api/v1/strategies/orderbook_skew/config/\(symbol)")
            #expect(config.json[path: "data.overrides.min_total_volume"]?.doubleValue == Double(last.value), "\(symbol)")
            #expect(config.json[path: "data.stored_version"]?.int64Value == last.version, "\(symbol)")
        }
        let trail = try await sidecar.http.call("GET", "/api/v1/strategies/orderbook_skew/audit?limit=1000")
        let records = try #require(trail.json[path: "data"]?.arrayItems)
        let reasons = Set(records.compactMap { $0["reason"]?.stringValue })
        for reason in refused { #expect(!reasons.contains(reason), "\(reason) was answered with an error and must not be recorded") }
        #expect(records.count == acknowledged.count, "exactly the acknowledged writes are audited")
        // Every line of the log is one whole record.
        let text = try String(contentsOfFile: audit, encoding: .utf8)
        #expect(text.hasSuffix("\n"))
        for line in text.split(separator: "\n") { #expect((try? JSONValue.parse(Array(line.utf8))) != nil, "torn line: \(line.prefix(80))") }
        #expect(refused.count >= 1)
    }
}
