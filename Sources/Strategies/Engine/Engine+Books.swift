/// The book layer of the engine (docs/BOOKS.md): partial-book attribution, futures depth
/// classification, the local book from diffs, REST snapshots, and what is published from it.
extension Engine {
    // MARK: - Attribution of partial books without `s`

    /// The symbol a spot partial book belongs to, and whether evidence confirmed it; nil when no
    /// tracked symbol, or more than one, is consistent with it.
    func attribute(_ depth: DepthEvent) -> (SymbolKey, Bool)? {
        let config = configuration.book
        let label = depth.key
        let id = depth.finalUpdateId
        var mid = 0.0
        if let bid = depth.bids.prices.first, let ask = depth.asks.prices.first { mid = (bid + ask) / 2 }
        let time = depth.eventTimeMs
        let labelled = existingState(for: label)
        if let labelled, labelled.book.isConsistent(id: id, mid: mid, eventTimeMs: time, config: config) {
            books.attributedToLabel.increment()
            return (label, true)
        }
        var found: SymbolKey? = nil
        var candidates = 0
        var otherSpotSymbols = 0
        for (key, state) in symbols where key.venue == label.venue && key != label {
            otherSpotSymbols += 1
            if state.book.isConsistent(id: id, mid: mid, eventTimeMs: time, config: config) {
                candidates += 1
                found = key
                if candidates > 1 { break }
            }
        }
        if candidates == 1, let found {
            books.attributedByEvidence.increment()
            return (found, true)
        }
        // Start-up: nothing to compare with, and no other symbol it could be.
        if candidates == 0 && otherSpotSymbols == 0 && !(labelled?.book.hasEvidence ?? false) {
            books.attributedUnverified.increment()
            return (label, false)
        }
        return nil
    }

    // MARK: - Depth

    func processDepth(_ depth: DepthEvent, state: SymbolState, receiveTimeMs: Int64, trusted: Bool) {
        let book = state.book
        var isPartial = depth.isSnapshot
        if depth.isAmbiguous {
            // A futures depthUpdate under a partial label: continuity with the diff chain decides.
            if book.lastDiffU >= 0 && depth.previousFinalUpdateId == book.lastDiffU {
                books.futuresAsDiff.increment()
                books.labelMismatch(.diffDepth).increment()  // a diff under a partial-depth label
                isPartial = false
            } else if book.lastDiffU >= 0 && depth.finalUpdateId == book.lastDiffU
                && depth.previousFinalUpdateId == book.lastDiffPU
            {
                // The ids of the diff just applied: a partial book of that state.
                books.futuresAsPartial.increment()
                isPartial = true
            } else {
                // Cannot be told apart: remember its ids so the next diff can chain, never apply it.
                books.futuresUnclassified.increment()
                book.lastDiffU = depth.finalUpdateId
                book.lastDiffPU = depth.previousFinalUpdateId
                return
            }
        }
        if isPartial {
            processPartial(depth, state: state, receiveTimeMs: receiveTimeMs, trusted: trusted)
        } else {
            processDiff(depth, state: state, receiveTimeMs: receiveTimeMs)
        }
        trackSyncState(book)
    }

    private func processDiff(_ depth: DepthEvent, state: SymbolState, receiveTimeMs: Int64) {
        let book = state.book
        book.lastDiffU = depth.finalUpdateId
        book.lastDiffPU = depth.previousFinalUpdateId
        book.diffSincePartial = true
        book.noteUpdateId(depth.finalUpdateId)
        let result = book.local.apply(firstUpdateId: depth.firstUpdateId, finalUpdateId: depth.finalUpdateId,
                                      previousFinalUpdateId: depth.previousFinalUpdateId, bids: depth.bids,
                                      asks: depth.asks, eventTimeMs: depth.eventTimeMs)
        switch result {
        case .applied, .appliedOnSnapshot:
            books.diffsApplied.increment()
            if result == .appliedOnSnapshot {
                books.deepened.increment()
                book.snapshotRequestedMs = 0
            }
            book.localReceiveMs = receiveTimeMs
            publishLocal(state, receiveTimeMs: receiveTimeMs, runStrategies: true)
            book.strategiesRanOnDiffAt = book.local.lastUpdateId
        case .stale:
            books.diffsStale.increment()
        case .buffered, .gap, .crossed, .exhausted:
            // Not synced (any more): nothing for the strategies; a sync point is needed.
            let counter = switch result {
            case .buffered: books.diffsBuffered
            case .gap: books.gaps
            case .crossed: books.crossedAfterUpdate
            default: books.exhausted
            }
            counter.increment()
            skippedWhileResyncing()
            requestSnapshotIfDue(state, receiveTimeMs: receiveTimeMs)
        }
    }

    private func processPartial(_ depth: DepthEvent, state: SymbolState, receiveTimeMs: Int64, trusted: Bool) {
        let book = state.book
        let id = depth.finalUpdateId
        if trusted && book.local.venue == .spot { book.noteUpdateId(id) }
        let diffsFlowing = book.diffSincePartial
        book.diffSincePartial = false
        guard isBestFirst(depth.bids, descending: true), isBestFirst(depth.asks, descending: false) else {
            books.unsortedPartials.increment()
            if !book.local.isSynced { publishPartial(depth, state: state, receiveTimeMs: receiveTimeMs) }
            return
        }
        // No diff since the last partial book: nothing will bring the book forward but the
        // partial books themselves, so a newer one re-syncs it.
        if book.local.isSynced && id > book.local.lastUpdateId && !diffsFlowing { book.local.reset() }
        let result = book.local.sync(updateId: id, bids: depth.bids, asks: depth.asks,
                                     wholeBids: !isNominalDepth(depth.bids.count),
                                     wholeAsks: !isNominalDepth(depth.asks.count), eventTimeMs: depth.eventTimeMs)
        switch result {
        case .synced:
            books.syncedFromPartial.increment()
            book.localReceiveMs = receiveTimeMs
            publishLocal(state, receiveTimeMs: receiveTimeMs, runStrategies: true)
            // Exact only for the partial book's levels: with diffs flowing, a REST snapshot gives it depth.
            if book.lastDiffU >= 0 { requestSnapshotIfDue(state, receiveTimeMs: receiveTimeMs) }
        case .confirmed(let changed):
            book.localReceiveMs = receiveTimeMs
            if changed { books.partialCorrected.increment() } else { books.partialConfirmed.increment() }
            if changed || book.strategiesRanOnDiffAt != id {
                // New to the strategies (a partial-only feed sees each book once, as the seed did).
                publishLocal(state, receiveTimeMs: receiveTimeMs, runStrategies: true)
                book.strategiesRanOnDiffAt = -1
            } else {
                state.cell.refresh(book: localInfo(book))
            }
        case .old:
            books.oldSnapshots.increment()
        case .unneeded:
            break
        case .deepened, .pending:
            break  // only REST snapshots deepen
        case .tooOld, .gapAfterSync:
            if result == .tooOld { books.tooOldSnapshots.increment() } else { books.gaps.increment() }
            publishPartial(depth, state: state, receiveTimeMs: receiveTimeMs)
        }
    }

    func processBookTicker(_ ticker: BookTickerEvent, state: SymbolState, receiveTimeMs: Int64) {
        let book = state.book
        if ticker.bidPrice > 0 && ticker.askPrice > 0 {
            book.notePrice((ticker.bidPrice + ticker.askPrice) / 2, eventTimeMs: ticker.eventTimeMs)
        }
        // Spot bookTicker `u` is the book's update id; futures ids are shared across symbols.
        if book.local.venue == .spot { book.noteUpdateId(ticker.updateId) }
        // Newer than the local book: publish the book with its best levels refreshed (the book
        // itself keeps following the diffs, which must chain).
        guard book.local.isSynced, ticker.updateId > book.local.lastUpdateId, ticker.bidPrice > 0,
            ticker.askPrice > ticker.bidPrice
        else { return }
        books.bookTickerRefreshes.increment()
        let n = configuration.book.metricsLevels
        book.local.bids.copyTop(n, into: &topBids)
        book.local.asks.copyTop(n, into: &topAsks)
        refreshBest(&topBids, price: ticker.bidPrice, quantity: ticker.bidQuantity, descending: true, maxLevels: n)
        refreshBest(&topAsks, price: ticker.askPrice, quantity: ticker.askQuantity, descending: false, maxLevels: n)
        let info = BookInfo(source: .local, synced: true, lastUpdateId: ticker.updateId,
                            eventTimeMs: max(book.local.eventTimeMs, ticker.eventTimeMs), receiveMs: receiveTimeMs)
        publish(state, bids: topBids, asks: topAsks, info: info, receiveTimeMs: receiveTimeMs, runStrategies: false)
    }

    // MARK: - REST snapshots

    private func requestSnapshotIfDue(_ state: SymbolState, receiveTimeMs: Int64) {
        let config = configuration.book
        guard config.requestSnapshots else { return }
        let book = state.book
        if book.snapshotRequestedMs != 0
            && receiveTimeMs.subtractingSaturated(book.snapshotRequestedMs) < config.snapshotRetryMs
        {
            return
        }
        book.snapshotRequestedMs = receiveTimeMs
        books.snapshotRequests.increment()
        snapshotMailbox.request(state.key)
    }

    /// Applies the snapshots the fetcher delivered since the last message (one atomic load otherwise).
    func applySnapshots(receiveTimeMs: Int64) {
        let generation = snapshotMailbox.answerGeneration
        guard generation != appliedSnapshotGeneration else { return }
        appliedSnapshotGeneration = generation
        for snapshot in snapshotMailbox.takeSnapshots() {
            guard let state = symbols[snapshot.key] else { continue }
            let book = state.book
            book.noteUpdateId(snapshot.lastUpdateId)
            let result = book.local.sync(updateId: snapshot.lastUpdateId, bids: snapshot.bids, asks: snapshot.asks,
                                         wholeBids: snapshot.bids.count < snapshot.limit,
                                         wholeAsks: snapshot.asks.count < snapshot.limit,
                                         eventTimeMs: snapshot.eventTimeMs, deep: true)
            switch result {
            case .deepened:
                books.deepened.increment()
                book.snapshotRequestedMs = 0
                publishLocal(state, receiveTimeMs: receiveTimeMs, runStrategies: false)
            case .synced:
                books.syncedFromSnapshot.increment()
                book.snapshotRequestedMs = 0
                book.localReceiveMs = receiveTimeMs
                publishLocal(state, receiveTimeMs: receiveTimeMs, runStrategies: true)
            case .pending:
                break  // applied when the diff that straddles it arrives
            case .old, .confirmed, .unneeded:
                books.oldSnapshots.increment()
            case .tooOld:
                books.tooOldSnapshots.increment()
                book.snapshotRequestedMs = 0
                requestSnapshotIfDue(state, receiveTimeMs: receiveTimeMs)
            case .gapAfterSync:
                books.gaps.increment()
                book.snapshotRequestedMs = 0
                requestSnapshotIfDue(state, receiveTimeMs: receiveTimeMs)
            }
            trackSyncState(book)
        }
    }

    // MARK: - Publishing

    private func localInfo(_ book: SymbolBook) -> BookInfo {
        BookInfo(source: .local, synced: true, lastUpdateId: book.local.lastUpdateId,
                 eventTimeMs: book.local.eventTimeMs, receiveMs: book.localReceiveMs)
    }

    private func publishLocal(_ state: SymbolState, receiveTimeMs: Int64, runStrategies: Bool) {
        let book = state.book
        let n = configuration.book.metricsLevels
        book.local.bids.copyTop(n, into: &topBids)
        book.local.asks.copyTop(n, into: &topAsks)
        publish(state, bids: topBids, asks: topAsks, info: localInfo(book), receiveTimeMs: receiveTimeMs,
                runStrategies: runStrategies)
    }

    /// The partial book as received (its levels are the parser's buffers, read in place).
    private func publishPartial(_ depth: DepthEvent, state: SymbolState, receiveTimeMs: Int64) {
        let info = BookInfo(source: .partial, synced: false, lastUpdateId: depth.finalUpdateId,
                            eventTimeMs: depth.eventTimeMs, receiveMs: receiveTimeMs)
        publish(state, bids: depth.bids, asks: depth.asks, info: info, receiveTimeMs: receiveTimeMs, runStrategies: true)
    }

    private func publish(_ state: SymbolState, bids: PriceLevels, asks: PriceLevels, info: BookInfo,
                         receiveTimeMs: Int64, runStrategies: Bool) {
        let metrics = DepthMetrics.compute(bids: bids, asks: asks, eventTimeMs: info.eventTimeMs)
        state.cell.publish(metrics, bids: bids, asks: asks, receiveMs: receiveTimeMs,
                           historySeconds: board.historySeconds, book: info)
        onDepthPublished?(state.cell)
        if runStrategies {
            runBookStrategies(state.key, state: state, bids: bids, asks: asks, eventTimeMs: info.eventTimeMs)
        }
    }

    private func trackSyncState(_ book: SymbolBook) {
        let now = book.local.state
        guard now != book.countedState else { return }
        if book.countedState == .synced { books.booksSynced.add(-1) }
        if book.countedState == .resyncing { books.booksResyncing.add(-1) }
        if now == .synced { books.booksSynced.add(1) }
        if now == .resyncing { books.booksResyncing.add(1) }
        book.countedState = now
    }

    /// Gauges follow a dropped symbol's book out.
    func forgetBook(_ book: SymbolBook) {
        book.local.reset()
        trackSyncState(book)
    }
}

/// Binance partial books have 5, 10 or 20 levels; fewer means the side ends there.
@inline(__always)
private func isNominalDepth(_ count: Int) -> Bool { count == 5 || count == 10 || count == 20 }

/// Strictly best first: bids descending, asks ascending.
private func isBestFirst(_ levels: PriceLevels, descending: Bool) -> Bool {
    let p = levels.prices
    guard p.count > 1 else { return true }
    for i in 1..<p.count where descending ? !(p[i] < p[i - 1]) : !(p[i] > p[i - 1]) { return false }
    return true
}

/// A bookTicker's best level on a copy of the top levels: better levels are gone, its quantity
/// is new. In place, in the copy's storage (no allocation once its capacity is reached).
private func refreshBest(_ levels: inout PriceLevels, price: Double, quantity: Double, descending: Bool, maxLevels: Int) {
    var drop = 0
    while drop < levels.count && (descending ? levels.prices[drop] > price : levels.prices[drop] < price) { drop += 1 }
    if drop > 0 {
        levels.prices.removeFirst(drop)
        levels.quantities.removeFirst(drop)
    }
    if let first = levels.prices.first, first == price {
        if quantity > 0 {
            levels.quantities[0] = quantity
        } else {
            levels.prices.removeFirst()
            levels.quantities.removeFirst()
        }
    } else if quantity > 0 {
        levels.prices.insert(price, at: 0)
        levels.quantities.insert(quantity, at: 0)
        if levels.count > maxLevels {
            levels.prices.removeLast()
            levels.quantities.removeLast()
        }
    }
}
