#if canImport(Glibc)
import Glibc
#endif
import Strategies

/// `memory` and `file:<dir>` stores.
///
/// File layout: `audit.jsonl` is the write-ahead log, one JSON record per line, appended and
/// fsynced before a write is acknowledged; `configs/<key>.json` are the current documents,
/// replaced atomically (temp file, fsync, rename, fsync of the directory). On open, documents
/// behind the log are rebuilt from it and a torn last line is cut, so a `kill -9` at any moment
/// loses no acknowledged write and never leaves a torn document. An exclusive `flock` on
/// `lock` keeps a second process out: sidecars that share config use `nats-kv`.
public final class LocalConfigStore: ConfigStore {
    public let name: String
    private let directory: String?
    private var documents: [ConfigKey: ConfigDocument] = [:]
    /// Memory store only: the audit trail, bounded.
    private var memoryAudit: [AuditRecord] = []
    private static let memoryAuditLimit = 10_000
    private var lastVersion: Int64 = 0
    private var auditFD: Int32 = -1
    private var lockFD: Int32 = -1
    private var opened = false

    public init(directory: String?) {
        self.directory = directory
        name = directory.map { "file:\($0)" } ?? "memory"
    }

    deinit { close() }

    public func close() {
        if auditFD >= 0 { _ = Glibc.close(auditFD); auditFD = -1 }
        if lockFD >= 0 { _ = Glibc.close(lockFD); lockFD = -1 }
        opened = false
    }

    public func watch(_ onChange: @escaping @Sendable (ConfigKey, ConfigDocument?) -> Void) {}

    public func load() throws(ConfigStoreError) -> [ConfigKey: ConfigDocument] {
        guard let directory else { return documents }
        close()
        try Self.makeDirectory(directory)
        try Self.makeDirectory(directory + "/configs")
        lockFD = open(directory + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else { throw Self.ioError("open lock", directory) }
        guard flock(lockFD, LOCK_EX | LOCK_NB) == 0 else {
            close()
            throw .unavailable("\(directory) is in use by another process")
        }
        let records = try readAuditLog(directory + "/audit.jsonl")
        auditFD = open(directory + "/audit.jsonl", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard auditFD >= 0 else { throw Self.ioError("open audit.jsonl", directory) }

        // The log decides; documents are its materialised view.
        var fromLog: [ConfigKey: AuditRecord] = [:]
        for record in records {
            lastVersion = max(lastVersion, record.version)
            fromLog[record.key] = record
        }
        documents = [:]
        for name in try Self.listDirectory(directory + "/configs") where name.hasSuffix(".json") {
            guard let key = ConfigKey(storageName: String(name.dropLast(5))) else { continue }
            if let text = try? Self.readFile(directory + "/configs/" + name), let doc = Self.document(text) {
                documents[key] = doc
                lastVersion = max(lastVersion, doc.version)
            }
        }
        for (key, record) in fromLog where (documents[key]?.version ?? 0) < record.version {
            if let doc = record.document {
                try writeDocument(key, doc)
                documents[key] = doc
            } else {
                try removeDocument(key)
                documents[key] = nil
            }
        }
        opened = true
        return documents
    }

    public func commit(_ change: ConfigChange) throws(ConfigStoreError) -> AuditRecord {
        if directory != nil && !opened { throw .unavailable("not open") }
        let current = documents[change.key]?.version ?? 0
        guard current == change.baseVersion else { throw .conflict(key: change.key, current: current) }
        let record = AuditRecord(key: change.key, action: change.action, oldParameters: change.oldParameters,
                                 newParameters: change.newParameters, version: lastVersion + 1,
                                 changedBy: change.changedBy, changedAtMs: change.atMs, reason: change.reason,
                                 createdAtMs: change.createdAtMs)
        if directory != nil {
            var line = ConfigJSON.audit(record).bytes
            line.append(0x0A)
            try appendDurably(line)
            if let doc = record.document { try writeDocument(change.key, doc) } else { try removeDocument(change.key) }
        } else {
            memoryAudit.append(record)
            if memoryAudit.count > Self.memoryAuditLimit { memoryAudit.removeFirst(memoryAudit.count - Self.memoryAuditLimit) }
        }
        lastVersion = record.version
        documents[change.key] = record.document
        return record
    }

    public func auditTrail(strategyId: String, symbol: String?, limit: Int) throws(ConfigStoreError) -> [AuditRecord] {
        let all: [AuditRecord]
        if let directory {
            guard opened else { throw .unavailable("not open") }
            all = try readAuditLog(directory + "/audit.jsonl", repair: false)
        } else {
            all = memoryAudit
        }
        return Array(all.reversed().lazy.filter {
            $0.key.strategyId == strategyId && (symbol == nil || $0.key.symbol == symbol)
        }.prefix(limit))
    }

    // MARK: - Files

    private func appendDurably(_ bytes: [UInt8]) throws(ConfigStoreError) {
        let written = bytes.withUnsafeBytes { write(auditFD, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw Self.ioError("append to audit.jsonl", directory ?? "") }
        guard fsync(auditFD) == 0 else { throw Self.ioError("fsync audit.jsonl", directory ?? "") }
    }

    private func writeDocument(_ key: ConfigKey, _ doc: ConfigDocument) throws(ConfigStoreError) {
        guard let directory else { return }
        let dir = directory + "/configs"
        let final = "\(dir)/\(key.storageName).json"
        let temp = "\(dir)/.\(key.storageName).json.tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Self.ioError("create \(temp)", directory) }
        let bytes = Self.documentJSON(doc).bytes
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        _ = Glibc.close(fd)
        guard written == bytes.count, synced else { throw Self.ioError("write \(temp)", directory) }
        guard rename(temp, final) == 0 else { throw Self.ioError("rename \(temp)", directory) }
        try Self.syncDirectory(dir)
    }

    private func removeDocument(_ key: ConfigKey) throws(ConfigStoreError) {
        guard let directory else { return }
        let path = "\(directory)/configs/\(key.storageName).json"
        if unlink(path) != 0 && errno != ENOENT { throw Self.ioError("remove \(path)", directory) }
        try Self.syncDirectory(directory + "/configs")
    }

    /// Reads the log; with `repair`, cuts a torn last line (a crash mid-append) off the file.
    private func readAuditLog(_ path: String, repair: Bool = true) throws(ConfigStoreError) -> [AuditRecord] {
        guard let bytes = try Self.readFile(path) else { return [] }
        var records: [AuditRecord] = []
        var seen = Set<Int64>()
        var lineStart = 0
        var validEnd = 0
        for (i, byte) in bytes.enumerated() where byte == 0x0A {
            let line = Array(bytes[lineStart..<i])
            lineStart = i + 1
            guard let json = try? JSONValue.parse(line), let record = ConfigJSON.audit(json) else { continue }
            validEnd = i + 1
            if seen.insert(record.version).inserted { records.append(record) }
        }
        if repair, validEnd < bytes.count {
            guard truncate(path, off_t(validEnd)) == 0 else { throw Self.ioError("truncate torn audit line", path) }
        }
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
