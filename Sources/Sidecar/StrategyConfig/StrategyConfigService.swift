import Dispatch
import Logging
import Metrics
import Strategies
import Synchronization

/// A failed config operation, with the HTTP status it maps to.
public enum ConfigServiceError: Error, Equatable, CustomStringConvertible {
    case unknownStrategy(String)
    case validation([ValidationIssue])
    case conflict(key: ConfigKey, expected: Int64, current: Int64)
    case notFound(String)
    case storeUnavailable(String)

    public var description: String {
        switch self {
        case .unknownStrategy(let id): "Strategy not found: \(id)"
        case .validation(let issues): "Validation failed: " + issues.map(\.message).joined(separator: "; ")
        case .conflict(let key, let expected, let current):
            "Version conflict on \(key): expected \(expected), current \(current)"
        case .notFound(let message): message
        case .storeUnavailable(let reason): "Config store unavailable: \(reason)"
        }
    }

    public var code: String {
        switch self {
        case .unknownStrategy, .notFound: "NOT_FOUND"
        case .validation: "VALIDATION_ERROR"
        case .conflict: "VERSION_CONFLICT"
        case .storeUnavailable: "STORE_UNAVAILABLE"
        }
    }

    public var httpStatus: Int {
        switch self {
        case .unknownStrategy, .notFound: 404
        case .validation: 422
        case .conflict: 409
        case .storeUnavailable: 503
        }
    }
}

/// The state of the store as `/ready` and `/info` report it.
public struct ConfigStoreStatus: Sendable, Equatable {
    public enum State: String, Sendable { case loading, ready, degraded }
    public var store: String
    public var state: State
    /// Why it is degraded (the sidecar then runs on environment and defaults).
    public var reason: String?
}

/// The resolved configuration of one strategy in one scope, as the API shows it.
public struct ResolvedConfigView: Sendable {
    public var strategyId: String
    public var symbol: String?
    public var resolved: ResolvedParameters
    /// The stored override of exactly this scope, if any.
    public var stored: ConfigDocument?
    public var enabled: Bool
}

/// What a write asks for.
public struct ConfigWriteRequest: Sendable {
    public var parameters: [(String, ParameterInput)]
    public var changedBy: String
    public var reason: String?
    public var expectedVersion: Int64?
    public var validateOnly = false

    public init(parameters: [(String, ParameterInput)], changedBy: String, reason: String? = nil,
                expectedVersion: Int64? = nil, validateOnly: Bool = false) {
        self.parameters = parameters; self.changedBy = changedBy; self.reason = reason
        self.expectedVersion = expectedVersion; self.validateOnly = validateOnly
    }
}

/// Runtime strategy configuration: validates, merges and stores overrides, keeps the audit
/// trail, and hands every change to the engine (applied before its next message).
///
/// All state lives on one serial queue; store calls block that queue only. When the store is
/// unreachable the service is `degraded`: strategies run on environment and defaults, reads
/// still answer, writes fail with `storeUnavailable`, and it retries every `retrySeconds`.
public final class StrategyConfigService: @unchecked Sendable {
    private let queue = DispatchQueue(label: "realtime-sidecar.config")
    private let store: ConfigStore
    private let settings: StrategySettings
    private let mailbox: StrategyConfigMailbox
    private let retrySeconds: Double
    /// Stored overrides (keys) at most: what a client can make the store and memory hold.
    private let maxOverrides: Int
    private let logger: Logger
    private let statusBox: Mutex<ConfigStoreStatus>
    // Queue-confined.
    private var documents: [ConfigKey: ConfigDocument] = [:]
    private var retryScheduled = false
    private var watching = false
    private var closed = false

    public init(store: ConfigStore, settings: StrategySettings, mailbox: StrategyConfigMailbox,
                retrySeconds: Double, maxOverrides: Int = 2_000, logger: Logger) {
        self.store = store
        self.maxOverrides = max(1, maxOverrides)
        self.settings = settings
        self.mailbox = mailbox
        self.retrySeconds = max(0.1, retrySeconds)
        self.logger = logger
        statusBox = Mutex(ConfigStoreStatus(store: store.name, state: .loading, reason: nil))
        // Until the store answers, strategies run on environment and defaults.
        mailbox.post(StrategySettings.allIds.map { update(for: $0, documents: [:]) })
    }

    public var status: ConfigStoreStatus { statusBox.withLock { $0 } }

    /// Whether the strategy runs (`STRATEGY_ENABLED_<ID>`; not changed at run time).
    public func isEnabled(_ id: String) -> Bool { settings.isEnabled(id) }

    /// Loads the store (retrying in the background until it answers).
    public func start() {
        queue.async { self.attemptLoad() }
    }

    /// Waits until the first load attempt finished (ready or degraded).
    public func waitUntilLoaded() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in queue.async { c.resume() } }
    }

    public func close() {
        queue.sync {
            closed = true
            store.close()
        }
    }

    // MARK: - Reads

    public func view(strategyId: String, symbol: String?) async throws(ConfigServiceError) -> ResolvedConfigView {
        try await onQueue { () throws(ConfigServiceError) in try self.viewLocked(strategyId, symbol) }
    }

    /// One line of the strategy list.
    public struct StrategySummary: Sendable {
        public var descriptor: any StrategyDescriptor.Type
        public var enabled: Bool
        public var hasGlobalConfig: Bool
        public var symbolOverrides: [String]
    }

    /// Every strategy, in catalog order, with its stored overrides.
    public func strategies() async -> [StrategySummary] {
        let keys = (try? await onQueue { () throws(ConfigServiceError) in self.documents.keys.sorted() }) ?? []
        return StrategySettings.catalog.map { d in
            StrategySummary(descriptor: d, enabled: settings.isEnabled(d.id),
                            hasGlobalConfig: keys.contains(ConfigKey(strategyId: d.id, symbol: nil)),
                            symbolOverrides: keys.filter { $0.strategyId == d.id }.compactMap(\.symbol))
        }
    }

    /// Newest first; `beforeVersion` (the last version of the previous page) pages back.
    public func audit(strategyId: String, symbol: String?, limit: Int, beforeVersion: Int64? = nil)
        async throws(ConfigServiceError) -> [AuditRecord] {
        try await onQueue { () throws(ConfigServiceError) in
            _ = try self.descriptor(strategyId)
            try self.requireReady()
            do throws(ConfigStoreError) {
                return try self.store.auditTrail(strategyId: strategyId, symbol: symbol, limit: limit, beforeVersion: beforeVersion)
            } catch {
                throw self.storeFailed(error)
            }
        }
    }

    /// Checks values against the schema and the cross-field rules without storing anything.
    public func validate(strategyId: String, symbol: String?, parameters: [(String, ParameterInput)])
        async throws(ConfigServiceError) -> [ValidationIssue] {
        try await onQueue { () throws(ConfigServiceError) in
            do throws(ConfigServiceError) {
                _ = try self.prepare(strategyId, symbol, ConfigWriteRequest(parameters: parameters, changedBy: "validate"))
                return []
            } catch .validation(let issues) {
                return issues
            }
        }
    }

    /// Reloads every override from the store.
    public func refresh() async throws(ConfigServiceError) {
        try await onQueue { () throws(ConfigServiceError) in
            self.attemptLoad()
            try self.requireReady()
        }
    }

    // MARK: - Writes

    /// Bounds of the audit record's free text (in Unicode scalars, so no grapheme cluster of
    /// combining marks can exceed them): a few requests must not fill the store's volume.
    public static let maxReasonLength = 1024
    public static let maxChangedByLength = 128

    private static func checkAuditText(changedBy: String, reason: String?) throws(ConfigServiceError) {
        var issues: [ValidationIssue] = []
        let who = changedBy.unicodeScalars.count
        if who > maxChangedByLength {
            issues.append(ValidationIssue(field: "changed_by", code: .tooLong,
                                          message: "changed_by has \(who) characters; at most \(maxChangedByLength)"))
        }
        if let reason, reason.unicodeScalars.count > maxReasonLength {
            issues.append(ValidationIssue(field: "reason", code: .tooLong,
                                          message: "reason has \(reason.unicodeScalars.count) characters; at most \(maxReasonLength)"))
        }
        if !issues.isEmpty { throw .validation(issues) }
    }

    /// Merges the submitted values over the stored override of this scope (a partial update).
    public func set(strategyId: String, symbol: String?, _ request: ConfigWriteRequest)
        async throws(ConfigServiceError) -> ResolvedConfigView {
        try Self.checkAuditText(changedBy: request.changedBy, reason: request.reason)
        return try await onQueue { () throws(ConfigServiceError) in
            let plan = try self.prepare(strategyId, symbol, request)
            if request.validateOnly { return try self.viewLocked(strategyId, symbol) }
            try self.requireReady()
            try self.commit(ConfigChange(
                key: plan.key, action: plan.current == nil ? .create : .update, baseVersion: plan.current?.version ?? 0,
                oldParameters: plan.current?.parameters, newParameters: plan.merged, changedBy: request.changedBy,
                reason: request.reason, atMs: WallClock.nowMs(), createdAtMs: plan.current?.createdAtMs ?? WallClock.nowMs()))
            return try self.viewLocked(strategyId, symbol)
        }
    }

    public func delete(strategyId: String, symbol: String?, changedBy: String, reason: String?,
                       expectedVersion: Int64?) async throws(ConfigServiceError) {
        try Self.checkAuditText(changedBy: changedBy, reason: reason)
        try await onQueue { () throws(ConfigServiceError) in
            let key = try self.key(strategyId, symbol)
            try self.requireReady()
            guard let current = self.documents[key] else {
                throw .notFound("No \(key.scope) configuration stored for \(key)")
            }
            if let expectedVersion, expectedVersion != current.version {
                throw .conflict(key: key, expected: expectedVersion, current: current.version)
            }
            try self.commit(ConfigChange(
                key: key, action: .delete, baseVersion: current.version, oldParameters: current.parameters,
                newParameters: nil, changedBy: changedBy, reason: reason, atMs: WallClock.nowMs(),
                createdAtMs: current.createdAtMs))
        }
    }

    /// Restores the state before the latest change (default), or the state a version or audit
    /// record id produced. Recorded as `ROLLBACK`; restoring "no override" deletes the key.
    public func rollback(strategyId: String, symbol: String?, targetVersion: Int64?, rollbackId: String?,
                         changedBy: String, reason: String?) async throws(ConfigServiceError) -> ResolvedConfigView {
        try Self.checkAuditText(changedBy: changedBy, reason: reason)
        return try await onQueue { () throws(ConfigServiceError) in
            let key = try self.key(strategyId, symbol)
            try self.requireReady()
            let trail: [AuditRecord]
            do throws(ConfigStoreError) {
                trail = try self.store.auditTrail(strategyId: strategyId, symbol: symbol, limit: 1000, beforeVersion: nil)
                    .filter { $0.key == key }
            } catch {
                throw self.storeFailed(error)
            }
            let target: [String: ParameterValue]?
            let defaultReason: String
            if let wanted = targetVersion ?? rollbackId.flatMap({ Int64($0) }) {
                guard wanted >= 1 else {
                    throw .validation([ValidationIssue(field: "target_version", code: .outOfRange,
                                                       message: "Invalid version number (must be >= 1)")])
                }
                guard let record = trail.first(where: { $0.version == wanted }) else {
                    throw .notFound("Configuration version \(wanted) not found for \(key)")
                }
                target = record.newParameters
                defaultReason = "Rollback to version \(wanted)"
            } else if let rollbackId {
                throw .notFound("Configuration with ID \(rollbackId) not found for strategy \(strategyId)")
            } else {
                guard let latest = trail.first else {
                    throw .notFound("No previous configuration found for \(key) to roll back to")
                }
                target = latest.oldParameters
                defaultReason = "Rollback to previous"
            }
            let current = self.documents[key]
            if let target {
                let input = target.sorted { $0.key < $1.key }.map { ($0.key, ParameterInput($0.value)) }
                _ = try self.prepare(strategyId, symbol,
                                     ConfigWriteRequest(parameters: input, changedBy: changedBy), replacing: true)
            } else if current == nil {
                return try self.viewLocked(strategyId, symbol)
            }
            try self.commit(ConfigChange(
                key: key, action: .rollback, baseVersion: current?.version ?? 0, oldParameters: current?.parameters,
                newParameters: target, changedBy: changedBy, reason: reason ?? defaultReason, atMs: WallClock.nowMs(),
                createdAtMs: current?.createdAtMs ?? WallClock.nowMs()))
            return try self.viewLocked(strategyId, symbol)
        }
    }

    // MARK: - Queue-confined work

    private struct WritePlan {
        var key: ConfigKey
        var current: ConfigDocument?
        var merged: [String: ParameterValue]
    }

    private func descriptor(_ id: String) throws(ConfigServiceError) -> any StrategyDescriptor.Type {
        guard let d = StrategySettings.descriptor(id) else { throw .unknownStrategy(id) }
        return d
    }

    private func key(_ strategyId: String, _ symbol: String?) throws(ConfigServiceError) -> ConfigKey {
        let d = try descriptor(strategyId)
        if let symbol {
            if let issue = ParameterValidation.checkSymbol(symbol) { throw .validation([issue]) }
            guard d.supportsSymbolOverrides else {
                throw .validation([ValidationIssue(
                    field: "symbol", code: .unsupportedScope,
                    message: "\(strategyId) keeps one market-wide state and takes no per-symbol override")])
            }
        }
        return ConfigKey(strategyId: strategyId, symbol: symbol)
    }

    /// Validates a write and merges it; every issue is collected before failing.
    private func prepare(_ strategyId: String, _ symbol: String?, _ request: ConfigWriteRequest,
                         replacing: Bool = false) throws(ConfigServiceError) -> WritePlan {
        let key = try key(strategyId, symbol)
        let current = documents[key]
        if current == nil, documents.count >= maxOverrides {
            throw .validation([ValidationIssue(field: symbol == nil ? "strategy_id" : "symbol", code: .tooMany,
                                               message: "\(documents.count) overrides are stored, the most CONFIG_MAX_OVERRIDES allows; delete one first")])
        }
        if let expected = request.expectedVersion, expected != (current?.version ?? 0) {
            throw .conflict(key: key, expected: expected, current: current?.version ?? 0)
        }
        var (values, issues) = ParameterValidation.validate(strategyId: strategyId, input: request.parameters)
        if request.parameters.isEmpty && !replacing {
            issues.append(ValidationIssue(field: "parameters", code: .invalidType, message: "parameters must not be empty"))
        }
        guard issues.isEmpty else { throw .validation(issues) }
        let merged = replacing ? values : (current?.parameters ?? [:]).merging(values) { $1 }
        var proposed = documents
        proposed[key] = ConfigDocument(parameters: merged, version: current?.version ?? 0, createdAtMs: 0,
                                       updatedAtMs: 0, updatedBy: "", reason: nil)
        let update = update(for: strategyId, documents: proposed)
        // The written scope, and for a global write every symbol override that inherits from it.
        let scopes = symbol.map { [update.symbols[$0] ?? update.global] } ?? [update.global] + update.symbols.values
        for resolved in scopes {
            for issue in ParameterValidation.conflicts(strategyId: strategyId, resolved: resolved.values)
            where !issues.contains(issue) {
                issues.append(issue)
            }
        }
        guard issues.isEmpty else { throw .validation(issues) }
        return WritePlan(key: key, current: current, merged: merged)
    }

    private func commit(_ change: ConfigChange) throws(ConfigServiceError) {
        let record: AuditRecord
        do throws(ConfigStoreError) {
            record = try store.commit(change)
        } catch .conflict(let key, let current) {
            // Another sidecar wrote first: take its state, and let the caller retry on it.
            reloadQuietly()
            throw .conflict(key: key, expected: change.baseVersion, current: current)
        } catch {
            throw storeFailed(error)
        }
        documents[change.key] = record.document
        mailbox.post([update(for: change.key.strategyId, documents: documents)])
        Counter(label: "realtime_config_changes_total",
                dimensions: [("strategy_id", change.key.strategyId), ("action", change.action.rawValue),
                             ("scope", change.key.scope)]).increment()
        logger.notice("config \(change.action.rawValue) \(change.key) v\(record.version) by \(change.changedBy)",
                      metadata: ["reason": .string(change.reason ?? "")])
    }

    private func viewLocked(_ strategyId: String, _ symbol: String?) throws(ConfigServiceError) -> ResolvedConfigView {
        let d = try descriptor(strategyId)
        if let symbol, let issue = ParameterValidation.checkSymbol(symbol) { throw .validation([issue]) }
        let update = update(for: strategyId, documents: documents)
        let resolved = symbol.flatMap { update.symbols[$0] } ?? update.global
        let key = ConfigKey(strategyId: strategyId, symbol: d.supportsSymbolOverrides ? symbol : nil)
        return ResolvedConfigView(strategyId: strategyId, symbol: symbol, resolved: resolved,
                                  stored: symbol == nil || d.supportsSymbolOverrides ? documents[key] : nil,
                                  enabled: settings.isEnabled(strategyId))
    }

    private func update(for strategyId: String, documents: [ConfigKey: ConfigDocument]) -> StrategyConfigUpdate {
        let environment = settings.values(for: strategyId)
        let global = documents[ConfigKey(strategyId: strategyId, symbol: nil)].map { ($0.parameters, $0.version) }
        var symbols: [String: ResolvedParameters] = [:]
        for (key, doc) in documents where key.strategyId == strategyId {
            guard let symbol = key.symbol else { continue }
            symbols[symbol] = ResolvedParameters.resolve(strategyId: strategyId, environment: environment,
                                                         global: global, symbol: (doc.parameters, doc.version))
        }
        return StrategyConfigUpdate(
            strategyId: strategyId,
            global: ResolvedParameters.resolve(strategyId: strategyId, environment: environment, global: global, symbol: nil),
            symbols: symbols)
    }

    private func requireReady() throws(ConfigServiceError) {
        let s = status
        guard s.state == .ready else { throw .storeUnavailable(s.reason ?? "loading") }
    }

    private func storeFailed(_ error: ConfigStoreError) -> ConfigServiceError {
        if case .conflict(let key, let current) = error {
            return .conflict(key: key, expected: documents[key]?.version ?? 0, current: current)
        }
        degrade(error.description)
        return .storeUnavailable(error.description)
    }

    private func attemptLoad() {
        guard !closed else { return }
        do throws(ConfigStoreError) {
            let loaded = try store.load()
            let changed = loaded != documents
            documents = loaded
            let wasReady = status.state == .ready
            statusBox.withLock { $0 = ConfigStoreStatus(store: store.name, state: .ready, reason: nil) }
            if !wasReady { logger.notice("config store \(store.name) ready with \(loaded.count) override(s)") }
            if changed || !wasReady { mailbox.post(StrategySettings.allIds.map { update(for: $0, documents: documents) }) }
            if !watching {
                watching = true
                store.watch { [weak self] key, document in
                    guard let service = self else { return }
                    service.queue.async { service.applyRemote(key, document) }
                }
            }
        } catch {
            degrade(error.description)
        }
    }

    private func reloadQuietly() {
        if let loaded = try? store.load() {
            documents = loaded
            mailbox.post(StrategySettings.allIds.map { update(for: $0, documents: documents) })
        }
    }

    /// A change made through another sidecar sharing the store.
    private func applyRemote(_ key: ConfigKey, _ document: ConfigDocument?) {
        if let document, let mine = documents[key], mine.version >= document.version { return }
        if document == nil && documents[key] == nil { return }
        documents[key] = document
        mailbox.post([update(for: key.strategyId, documents: documents)])
        logger.info("config \(key) changed elsewhere, now v\(document?.version ?? 0)")
    }

    private func degrade(_ reason: String) {
        let was = status.state
        statusBox.withLock { $0 = ConfigStoreStatus(store: store.name, state: .degraded, reason: reason) }
        if was != .degraded {
            logger.warning("config store \(store.name) degraded: \(reason); running on environment and defaults")
        }
        guard !retryScheduled, !closed else { return }
        retryScheduled = true
        queue.asyncAfter(deadline: .now() + retrySeconds) {
            self.retryScheduled = false
            self.attemptLoad()
        }
    }

    private func onQueue<T: Sendable>(_ body: @escaping @Sendable () throws(ConfigServiceError) -> T)
        async throws(ConfigServiceError) -> T {
        let result: Result<T, ConfigServiceError> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(ConfigServiceError) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}
