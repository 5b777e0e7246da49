import CNATS
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A JetStream key-value bucket (libnats `kvStore`). One owner per C object: this class owns the
/// `jsCtx` and the `kvStore` and releases both in `deinit`; each `kvEntry` and list is destroyed
/// in the call that received it; a watcher is stopped, joined and destroyed by `stop()`.
public final class NATSKeyValue: @unchecked Sendable {
    public enum Operation: Sendable { case put, delete, purge }

    public struct Entry: Sendable {
        public var key: String
        public var value: [UInt8]
        public var revision: UInt64
        public var operation: Operation
    }

    private let client: NATSClient
    private let js: OpaquePointer
    private let kv: OpaquePointer
    public let bucket: String

    /// Binds to `bucket`, creating it with `history` revisions per key if it does not exist.
    public init(client: NATSClient, bucket: String, history: UInt8, timeoutMs: Int64 = 2000) throws {
        self.client = client
        self.bucket = bucket
        var jsOut: OpaquePointer? = nil
        try client.withConnection("jetstream") { nc in
            var opts = jsOptions()
            try NATSError.check(jsOptions_Init(&opts), "jetstream options")
            opts.Wait = timeoutMs
            try NATSError.check(natsConnection_JetStream(&jsOut, nc, &opts), "jetstream context")
        }
        guard let js = jsOut else { throw NATSError.invalid(NATS_ERR, operation: "jetstream context", detail: "no context") }
        var kvOut: OpaquePointer? = nil
        var status = bucket.withCString { js_KeyValue(&kvOut, js, $0) }
        if status != NATS_OK {
            status = bucket.withCString { name in
                var cfg = kvConfig()
                kvConfig_Init(&cfg)
                cfg.Bucket = name
                cfg.History = history
                return js_CreateKeyValue(&kvOut, js, &cfg)
            }
        }
        guard status == NATS_OK, let kv = kvOut else {
            jsCtx_Destroy(js)
            throw NATSError(status: status, operation: "open key-value bucket", subject: bucket,
                            detail: String(cString: nats_GetLastError(nil)))
        }
        self.js = js
        self.kv = kv
    }

    deinit {
        kvStore_Destroy(kv)
        jsCtx_Destroy(js)
    }

    /// The latest entry of `key`, or nil when it was never written.
    public func get(_ key: String) throws -> Entry? {
        var entry: OpaquePointer? = nil
        let status = key.withCString { kvStore_Get(&entry, kv, $0) }
        if status == NATS_NOT_FOUND { return nil }
        try NATSError.check(status, "kv get", subject: key)
        defer { kvEntry_Destroy(entry) }
        return entry.map(Self.entry)
    }

    /// Writes only if `key` is at `lastRevision` (0: never written or deleted); returns the new revision.
    public func update(_ key: String, _ value: [UInt8], lastRevision: UInt64) throws -> UInt64 {
        var revision: UInt64 = 0
        let status = key.withCString { k in
            value.withUnsafeBytes { bytes in
                lastRevision == 0
                    ? kvStore_Create(&revision, kv, k, bytes.baseAddress, Int32(bytes.count))
                    : kvStore_Update(&revision, kv, k, bytes.baseAddress, Int32(bytes.count), lastRevision)
            }
        }
        try NATSError.check(status, "kv update", subject: key)
        return revision
    }

    public func keys() throws -> [String] {
        var list = kvKeysList()
        let status = kvStore_Keys(&list, kv, nil)
        if status == NATS_NOT_FOUND { return [] }
        try NATSError.check(status, "kv keys", subject: bucket)
        defer { kvKeysList_Destroy(&list) }
        return (0..<Int(list.Count)).compactMap { i in list.Keys[i].map { String(cString: $0) } }
    }

    /// Every kept revision of `key`, oldest first (bounded by the bucket's history setting).
    public func history(_ key: String) throws -> [Entry] {
        var list = kvEntryList()
        let status = key.withCString { kvStore_History(&list, kv, $0, nil) }
        if status == NATS_NOT_FOUND { return [] }
        try NATSError.check(status, "kv history", subject: key)
        defer { kvEntryList_Destroy(&list) }
        return (0..<Int(list.Count)).compactMap { i in list.Entries[i].map(Self.entry) }
    }

    /// Calls `onEntry` on a thread of its own for every change after the current state
    /// (which it delivers first). Stop it with `stop()` on the returned watcher.
    public func watchAll(_ onEntry: @escaping @Sendable (Entry) -> Void) throws -> Watcher {
        var watcher: OpaquePointer? = nil
        try NATSError.check(kvStore_WatchAll(&watcher, kv, nil), "kv watch", subject: bucket)
        guard let watcher else { throw NATSError.invalid(NATS_ERR, operation: "kv watch", detail: "no watcher") }
        return Watcher(owner: self, watcher: watcher, onEntry: onEntry)
    }

    public final class Watcher: @unchecked Sendable {
        private let owner: NATSKeyValue
        private let watcher: OpaquePointer
        private let onEntry: @Sendable (Entry) -> Void
        private let stopped = Atomic<Bool>(false)
        private var thread = pthread_t()
        private var started = false

        fileprivate init(owner: NATSKeyValue, watcher: OpaquePointer, onEntry: @escaping @Sendable (Entry) -> Void) {
            self.owner = owner
            self.watcher = watcher
            self.onEntry = onEntry
            let box = Unmanaged.passRetained(self)
            started = pthread_create(&thread, nil, { raw in
                let me = Unmanaged<Watcher>.fromOpaque(raw!).takeRetainedValue()
                me.loop()
                return nil
            }, box.toOpaque()) == 0
            if !started { box.release() }
        }

        private func loop() {
            while !stopped.load(ordering: .acquiring) {
                var entry: OpaquePointer? = nil
                let status = kvWatcher_Next(&entry, watcher, 500)
                if status == NATS_OK, let entry {
                    let e = NATSKeyValue.entry(entry)
                    kvEntry_Destroy(entry)
                    onEntry(e)
                } else if status != NATS_OK && status != NATS_TIMEOUT {
                    // Closed or stopped: libnats resumes a watcher across reconnects itself.
                    if stopped.load(ordering: .acquiring) || status == NATS_ILLEGAL_STATE { return }
                    usleep(200_000)
                }
            }
        }

        /// Stops the thread and releases the watcher; call once.
        public func stop() {
            guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
            kvWatcher_Stop(watcher)
            if started { pthread_join(thread, nil) }
            kvWatcher_Destroy(watcher)
        }
    }

    fileprivate static func entry(_ e: OpaquePointer) -> Entry {
        let count = Int(kvEntry_ValueLen(e))
        var value: [UInt8] = []
        if count > 0, let raw = kvEntry_Value(e) {
            value = Array(UnsafeRawBufferPointer(start: raw, count: count))
        }
        let operation: Operation = switch kvEntry_Operation(e) {
        case kvOp_Delete: .delete
        case kvOp_Purge: .purge
        default: .put
        }
        return Entry(key: String(cString: kvEntry_Key(e)), value: value, revision: kvEntry_Revision(e), operation: operation)
    }
}
