#if canImport(Glibc)
import Glibc
#endif
import Strategies

/// `memory` and `file:<dir>` stores.
///
/// File layout: `audit.jsonl` is the write-ahead log, one JSON record per line; a write is
/// committed when its line is appended and fsynced, and only then. A failed append is cut off
/// again (`ftruncate` to the old end), so an answered error never comes back at the next load,
/// and a torn line is never glued to the next record. `configs/<key>.json` are the current
/// documents, replaced atomically (temp file, fsync, rename, fsync of the directory); they are a
/// view of the log: one that cannot be written (read-only directory) is rebuilt from the log
/// later, and the write still counts, since the log has it. On open, documents behind the log are
/// rebuilt and a torn last line is cut, so a `kill -9` at any moment loses no acknowledged write.
///
/// The log is bounded: past `maxAuditRecords` records or `maxAuditBytes` bytes, it is compacted
/// to its newest 90 % / half (documents first made current, so nothing depends on the dropped
/// records). An index of every record's position serves audit pages with one `pread` each.
/// An exclusive `flock` on `lock` keeps a second process out: sidecars that share config use `nats-kv`.
public final class LocalConfigStore: ConfigStore {
    public let name: String
    private let directory: String?
    private let maxAuditRecords: Int
    private let maxAuditBytes: Int
    private var documents: [ConfigKey: ConfigDocument] = [:]
    /// Memory store only: the audit trail, bounded.
    private var memoryAudit: [AuditRecord] = []
    /// File store: where each record of `audit.jsonl` is, oldest first.
    private var auditIndex: [AuditPosition] = []
    /// Bytes of `audit.jsonl` that hold whole records.
    private var auditSize = 0
    /// Keys whose document file is older than the log (a failed document write).
    private var documentsBehind: Set<ConfigKey> = []
    /// Highest version ever handed out by this process, committed or not: never reused.
    private var lastVersion: Int64 = 0
    /// Set when a failed append could not be cut off: writes are refused until the next load.
    private var broken: String?
    private var auditFD: Int32 = -1
    private var auditReadFD: Int32 = -1
    private var lockFD: Int32 = -1
    private var opened = false

    struct AuditPosition {
        var version: Int64
        var key: ConfigKey
        var offset: Int
        var length: Int
    }

    public init(directory: String?, maxAuditRecords: Int = 10_000, maxAuditBytes: Int = 16 << 20) {
        self.directory = directory
        self.maxAuditRecords = max(10, maxAuditRecords)
        self.maxAuditBytes = max(64 << 10, maxAuditBytes)
        name = directory.map { "file:\($0)" } ?? "memory"
    }

    deinit { close() }

    public func close() {
        closeAuditFiles()
        if lockFD >= 0 { _ = Glibc.close(lockFD); lockFD = -1 }
        opened = false
    }

    private func closeAuditFiles() {
        if auditFD >= 0 { _ = Glibc.close(auditFD); auditFD = -1 }
        if auditReadFD >= 0 { _ = Glibc.close(auditReadFD); auditReadFD = -1 }
    }

    public func watch(_ onChange: @escaping @Sendable (ConfigKey, ConfigDocument?) -> Void) {}

    /// Records in the log (file store) or in memory; for tests and `/info`.
    public var auditRecordCount: Int { directory == nil ? memoryAudit.count : auditIndex.count }

    public func load() throws(ConfigStoreError) -> [ConfigKey: ConfigDocument] {
        guard let directory else { return documents }
        close()
        broken = nil
        try Self.makeDirectory(directory)
        try Self.makeDirectory(directory + "/configs")
        lockFD = open(directory + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else { throw Self.ioError("open lock", directory) }
        guard flock(lockFD, LOCK_EX | LOCK_NB) == 0 else {
            close()
            throw .unavailable("\(directory) is in use by another process")
        }
        let records = try readAuditLog(directory + "/audit.jsonl")
        try openAuditFiles(directory)

        // The log decides; documents are its materialised view.
        var fromLog: [ConfigKey: AuditRecord] = [:]
        for record in records {
            lastVersion = max(lastVersion, record.version)
            fromLog[record.key] = record
        }
        documents = [:]
        documentsBehind = []
        for name in try Self.listDirectory(directory + "/configs") where name.hasSuffix(".json") {
            guard let key = ConfigKey(storageName: String(name.dropLast(5))) else { continue }
            if let text = try? Self.readFile(directory + "/configs/" + name), let doc = Self.document(text) {
                documents[key] = doc
                lastVersion = max(lastVersion, doc.version)
            }
        }
        for (key, record) in fromLog where (documents[key]?.version ?? 0) < record.version {
            documents[key] = record.document
            materialize(key)
        }
        opened = true
        compactIfNeeded()
        return documents
    }

    public func commit(_ change: ConfigChange) throws(ConfigStoreError) -> AuditRecord {
        if directory != nil {
            guard opened else { throw .unavailable("not open") }
            if let broken { throw .unavailable(broken) }
        }
        let current = documents[change.key]?.version ?? 0
        guard current == change.baseVersion else { throw .conflict(key: change.key, current: current) }
        // Taken before the write: a failed attempt burns its number rather than lending it to the next.
        lastVersion += 1
        let record = AuditRecord(key: change.key, action: change.action, oldParameters: change.oldParameters,
                                 newParameters: change.newParameters, version: lastVersion,
                                 changedBy: change.changedBy, changedAtMs: change.atMs, reason: change.reason,
                                 createdAtMs: change.createdAtMs)
        if directory != nil {
            var line = ConfigJSON.audit(record).bytes
            line.append(0x0A)
            try appendRecord(line, record)
            documents[change.key] = record.document
            materialize(change.key)
            compactIfNeeded()
        } else {
            memoryAudit.append(record)
            if memoryAudit.count > maxAuditRecords { memoryAudit.removeFirst(memoryAudit.count - maxAuditRecords * 9 / 10) }
            documents[change.key] = record.document
        }
        return record
    }

    public func auditTrail(strategyId: String, symbol: String?, limit: Int, beforeVersion: Int64?) throws(ConfigStoreError) -> [AuditRecord] {
        func wanted(_ key: ConfigKey, _ version: Int64) -> Bool {
            key.strategyId == strategyId && (symbol == nil || key.symbol == symbol) && version < (beforeVersion ?? .max)
        }
        guard directory != nil else {
            return Array(memoryAudit.reversed().lazy.filter { wanted($0.key, $0.version) }.prefix(limit))
        }
        guard opened else { throw .unavailable("not open") }
        var result: [AuditRecord] = []
        for position in auditIndex.reversed() where wanted(position.key, position.version) {
            guard result.count < limit else { break }
            result.append(try readRecord(position))
        }
        return result
    }

    // MARK: - Log

    private func openAuditFiles(_ directory: String) throws(ConfigStoreError) {
        auditFD = open(directory + "/audit.jsonl", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard auditFD >= 0 else { throw Self.ioError("open audit.jsonl", directory) }
        auditReadFD = open(directory + "/audit.jsonl", O_RDONLY | O_CLOEXEC)
        guard auditReadFD >= 0 else { throw Self.ioError("open audit.jsonl for reading", directory) }
    }

    /// Appends and fsyncs one record; on any failure the log is cut back to its previous end.
    private func appendRecord(_ line: [UInt8], _ record: AuditRecord) throws(ConfigStoreError) {
        let offset = auditSize
        var failure: ConfigStoreError?
        if !Self.writeAll(auditFD, line) {
            failure = Self.ioError("append to audit.jsonl", directory ?? "")
        } else if fsync(auditFD) != 0 {
            failure = Self.ioError("fsync audit.jsonl", directory ?? "")
        }
        if let failure {
            guard ftruncate(auditFD, off_t(offset)) == 0, fsync(auditFD) == 0 else {
                let reason = "\(failure.description); cutting the failed record off failed too "
                    + "(\(String(cString: strerror(errno)))): version \(record.version) may reappear at the next load"
                broken = reason
                throw .unavailable(reason)
            }
            throw failure
        }
        auditIndex.append(AuditPosition(version: record.version, key: record.key, offset: offset, length: line.count))
        auditSize = offset + line.count
    }

    private func readRecord(_ position: AuditPosition) throws(ConfigStoreError) -> AuditRecord {
        var bytes = [UInt8](repeating: 0, count: position.length)
        let n = bytes.withUnsafeMutableBytes { pread(auditReadFD, $0.baseAddress, position.length, off_t(position.offset)) }
        guard n == position.length else { throw Self.ioError("read audit.jsonl", directory ?? "") }
        guard let json = try? JSONValue.parse(Array(bytes.dropLast())), let record = ConfigJSON.audit(json) else {
            throw .unavailable("audit.jsonl changed under the sidecar at offset \(position.offset)")
        }
        return record
    }

    /// Writes the key's document file; a failure leaves it to the next commit or load (the log has the change).
    private func materialize(_ key: ConfigKey) {
        documentsBehind.insert(key)
        writeDocumentsBehind()
    }

    private func writeDocumentsBehind() {
        do throws(ConfigStoreError) {
            for behind in documentsBehind {
                if let doc = documents[behind] { try writeDocument(behind, doc) } else { try removeDocument(behind) }
                documentsBehind.remove(behind)
            }
        } catch {
            // Kept in `documentsBehind`; compaction waits for it.
        }
    }

    /// Keeps the newest 90 % of `maxAuditRecords` and at most half of `maxAuditBytes` once either
    /// bound is passed. Copies the kept tail to a temp file and renames it over the log.
    private func compactIfNeeded() {
        guard let directory, auditIndex.count > maxAuditRecords || auditSize > maxAuditBytes else { return }
        writeDocumentsBehind()
        guard documentsBehind.isEmpty else { return }
        var first = max(0, auditIndex.count - maxAuditRecords * 9 / 10)
        while first < auditIndex.count - 1, auditSize - auditIndex[first].offset > maxAuditBytes / 2 { first += 1 }
        let start = auditIndex[first].offset
        let path = directory + "/audit.jsonl"
        let temp = directory + "/.audit.jsonl.tmp"
        var tail = [UInt8](repeating: 0, count: auditSize - start)
        let n = tail.withUnsafeMutableBytes { pread(auditReadFD, $0.baseAddress, $0.count, off_t(start)) }
        guard n == tail.count else { return }
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let written = Self.writeAll(fd, tail) && fsync(fd) == 0
        _ = Glibc.close(fd)
        guard written, rename(temp, path) == 0 else {
            _ = unlink(temp)
            return
        }
        _ = try? Self.syncDirectory(directory)
        closeAuditFiles()
        do throws(ConfigStoreError) {
            try openAuditFiles(directory)
        } catch {
            broken = error.description
            return
        }
        auditIndex.removeFirst(first)
        for i in auditIndex.indices { auditIndex[i].offset -= start }
        auditSize -= start
    }

    // MARK: - Files

    /// `write` until every byte is out; false on an error or a write that makes no progress.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                done += n
            }
            return true
        }
    }

    private func writeDocument(_ key: ConfigKey, _ doc: ConfigDocument) throws(ConfigStoreError) {
        guard let directory else { return }
        let dir = directory + "/configs"
        let final = "\(dir)/\(key.storageName).json"
        let temp = "\(dir)/.\(key.storageName).json.tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Self.ioError("create \(temp)", directory) }
        let written = Self.writeAll(fd, Self.documentJSON(doc).bytes)
        let synced = fsync(fd) == 0
        _ = Glibc.close(fd)
        guard written, synced else {
            _ = unlink(temp)
            throw Self.ioError("write \(temp)", directory)
        }
        guard rename(temp, final) == 0 else { throw Self.ioError("rename \(temp)", directory) }
        try Self.syncDirectory(dir)
    }

    private func removeDocument(_ key: ConfigKey) throws(ConfigStoreError) {
        guard let directory else { return }
        let path = "\(directory)/configs/\(key.storageName).json"
        if unlink(path) != 0 && errno != ENOENT { throw Self.ioError("remove \(path)", directory) }
        try Self.syncDirectory(directory + "/configs")
    }

    /// Reads the log, indexes its records and cuts a torn or unreadable tail (a crash mid-append)
    /// off the file, so the next append starts on a line of its own.
    private func readAuditLog(_ path: String) throws(ConfigStoreError) -> [AuditRecord] {
        auditIndex = []
        auditSize = 0
        guard let bytes = try Self.readFile(path) else { return [] }
        var records: [AuditRecord] = []
        var seen = Set<Int64>()
        var lineStart = 0
        var validEnd = 0
        for (i, byte) in bytes.enumerated() where byte == 0x0A {
            let range = lineStart..<i
            lineStart = i + 1
            guard let json = try? JSONValue.parse(Array(bytes[range])), let record = ConfigJSON.audit(json) else { continue }
            validEnd = i + 1
            if seen.insert(record.version).inserted {
                records.append(record)
                auditIndex.append(AuditPosition(version: record.version, key: record.key, offset: range.lowerBound,
                                                length: range.count + 1))
            }
        }
        if validEnd < bytes.count {
            guard truncate(path, off_t(validEnd)) == 0 else { throw Self.ioError("truncate torn audit line", path) }
        }
        auditSize = validEnd
        return records
    }

    static func documentJSON(_ doc: ConfigDocument) -> JSONValue {
        .object([
            ("parameters", ConfigJSON.parameters(doc.parameters)),
            ("version", .int(doc.version)),
            ("created_at_ms", .int(doc.createdAtMs)),
            ("updated_at_ms", .int(doc.updatedAtMs)),
            ("updated_by", .string(doc.updatedBy)),
            ("reason", doc.reason.map { .string($0) } ?? .null),
        ])
    }

    static func document(_ bytes: [UInt8]) -> ConfigDocument? {
        guard let json = try? JSONValue.parse(bytes), let parameters = ConfigJSON.parameters(json["parameters"]),
              let version = json["version"]?.int64Value else { return nil }
        return ConfigDocument(parameters: parameters, version: version,
                              createdAtMs: json["created_at_ms"]?.int64Value ?? 0,
                              updatedAtMs: json["updated_at_ms"]?.int64Value ?? 0,
                              updatedBy: json["updated_by"]?.stringValue ?? "", reason: json["reason"]?.stringValue)
    }

    static func ioError(_ what: String, _ path: String) -> ConfigStoreError {
        .unavailable("\(what) in \(path): \(String(cString: strerror(errno)))")
    }

    static func makeDirectory(_ path: String) throws(ConfigStoreError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST { throw ioError("mkdir", prefix) }
        }
    }

    static func syncDirectory(_ path: String) throws(ConfigStoreError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ioError("open directory", path) }
        defer { _ = Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw ioError("fsync directory", path) }
    }

    /// The file's bytes, or nil when it does not exist.
    static func readFile(_ path: String) throws(ConfigStoreError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw ioError("open", path)
        }
        defer { _ = Glibc.close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { throw ioError("read", path) }
            if n == 0 { return out }
            out.append(contentsOf: chunk[0..<n])
        }
    }

    static func listDirectory(_ path: String) throws(ConfigStoreError) -> [String] {
        guard let dir = opendir(path) else { throw ioError("opendir", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
