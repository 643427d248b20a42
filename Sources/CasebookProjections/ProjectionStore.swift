import CasebookLMDB
import CasebookLog
import Foundation
import Synchronization

/// How far a projection has got.
public struct ProjectionStatus: Sendable, Hashable {
    /// The projection's name.
    public var name: String
    /// The position of the next event it will read (= events folded so far).
    public var checkpoint: UInt64
    /// How many times it was rebuilt (its table swapped).
    public var generation: UInt64
    /// Rows and tallies in its table.
    public var entries: Int
}

/// What a catch-up or a rebuild did.
public struct ProjectionRun: Sendable, Hashable {
    /// Events read from the log.
    public var events: UInt64
    /// Write transactions committed on the projections' store.
    public var transactions: Int
    /// Wall time in seconds.
    public var seconds: Double
    /// Events per second.
    public var eventsPerSecond: Double { seconds > 0 ? Double(events) / seconds : 0 }
}

/// The projections' LMDB environment, beside the log (`<store>/projections`), and the work of keeping
/// them up to date.
///
/// Each projection has two tables (`<name>.a`, `<name>.b`); the meta table says which is live and the
/// position the live one has folded up to. Rows and that checkpoint are written in the same
/// transaction, so a projection is always exactly "the log up to its checkpoint". A rebuild folds the
/// whole log into the other table and swaps the two in one transaction: readers see the old table or
/// the new one, never a half-built one.
public final class ProjectionStore: Sendable {
    /// The projections, in the order they are listed and folded.
    static let all: [any Projection.Type] = [RequestsProjection.self, AdmissionsProjection.self, LedgerProjection.self, RectificationsProjection.self, RatingsProjection.self]

    /// The known projections, by name.
    public static let names = all.map { $0.name }

    static func type(_ name: String) -> any Projection.Type { all.first { $0.name == name }! }

    /// The log the projections come from.
    public let store: EventStore
    /// Where the projections are kept.
    public let path: String
    let env: Environment
    private let meta: Database

    /// Opens (creating if needed) the projections of `store`, by default in `<store>/projections`.
    public convenience init(store: EventStore, path: String? = nil, readOnly: Bool = false) throws {
        try self.init(store: store, path: path, readOnly: readOnly, readAhead: ReadAheadSettings())
    }

    /// When a second thread reads and parses the log while the calling one folds.
    struct ReadAheadSettings: Sendable {
        /// Runs of at least this many events are read ahead; shorter ones are read by the folding thread.
        var minimumEvents: UInt64 = 8192
        /// Log positions per batch (handed over, or read by the folding thread itself).
        var batchSize = 4096
        /// When a batch is handed over unread, for the folding thread to read and parse itself.
        var unread = Unread.whenFoldingWaits

        /// When the reading thread hands a batch over unread.
        enum Unread: Sendable {
            /// When at most one batch is waiting to be folded: the folding thread would soon wait, and reads
            /// the next one instead (this balances the two threads' work, whichever is the slower).
            case whenFoldingWaits
            /// Every batch (tests: the folding thread reads everything).
            case always
        }
    }
    let readAhead: ReadAheadSettings

    /// A store whose runs are read ahead as `readAhead` says (tests use small figures, to read small logs ahead).
    init(store: EventStore, path: String?, readOnly: Bool, readAhead: ReadAheadSettings) throws {
        self.readAhead = readAhead
        self.store = store
        let path = path ?? store.path + "/projections"
        self.path = path
        if !readOnly { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        var options = EnvironmentOptions()
        options.mapSize = 256 << 20
        options.readOnly = readOnly
        options.writeMap = true
        var specs = [DatabaseSpec("meta")]
        for name in Self.names { specs += [DatabaseSpec(name + ".a"), DatabaseSpec(name + ".b")] }
        env = try Environment(path: path, databases: specs, options: options)
        meta = env.database("meta")
    }

    static func makeRunners(_ names: [String]) -> [Runner] { names.map(Runner.init) }

    /// Validates projection names (nil or empty: all).
    public static func validate(_ names: [String]?) throws -> [String] {
        guard let names, !names.isEmpty else { return Self.names }
        for n in names where !Self.names.contains(n) {
            throw ProjectionError.unknown(n, known: Self.names)
        }
        return Self.names.filter(names.contains)
    }

    // MARK: Meta

    struct Slot {
        var live: String  // "a" or "b"
        var checkpoint: UInt64
        var generation: UInt64
        var spare: String { live == "a" ? "b" : "a" }
    }

    func slot(_ txn: borrowing Transaction, _ name: String) throws -> Slot {
        let live = try txn.get(meta, key: Array((name + ".live").utf8)).map { String(decoding: $0, as: UTF8.self) } ?? "a"
        return Slot(live: live, checkpoint: try number(txn, name + ".checkpoint"), generation: try number(txn, name + ".generation"))
    }

    private func number(_ txn: borrowing Transaction, _ key: String) throws -> UInt64 {
        guard let bytes = try txn.get(meta, key: Array(key.utf8)), bytes.count == 8 else { return 0 }
        return bytes.withUnsafeBytes { UInt64(bigEndian: $0.loadUnaligned(as: UInt64.self)) }
    }

    private func setNumber(_ txn: borrowing Transaction, _ key: String, _ value: UInt64) throws {
        try txn.put(meta, key: Array(key.utf8), value: withUnsafeBytes(of: value.bigEndian) { Array($0) })
    }

    func table(_ name: String, _ slot: String) -> Database { env.database(name + "." + slot) }

    /// Each projection's checkpoint, generation and size.
    public func status() throws -> [ProjectionStatus] {
        try env.read { txn in
            try Self.names.map { name in
                let s = try slot(txn, name)
                return ProjectionStatus(name: name, checkpoint: s.checkpoint, generation: s.generation, entries: try txn.count(table(name, s.live)))
            }
        }
    }

    // MARK: Catching up

    /// Events per transaction of a catch-up, by default. A transaction holds the projections' write lock
    /// (other processes' catch-ups wait; readers never do) for about a quarter of a second at most; each
    /// costs a commit and writes out what it cached. A first catch-up of the demo log takes 4 of them,
    /// in 0.97–1.09 s (in 16 of 65,536 events: 1.37–1.90 s).
    public static let catchUpBatchSize = 262_144

    /// Folds the events appended since each projection's checkpoint, in transactions of at most
    /// `batchSize` events, until every projection has reached the log's head — or position `limit`
    /// (exclusive), for a projection "as it stood" at that point. With `recordedAtOrBefore` (ms since
    /// the epoch), events recorded later are passed over: the projection as it stood at that time. Both
    /// are meant for a projection store of its own (e.g. in a temporary directory), since the checkpoint
    /// still advances over what was passed over.
    ///
    /// Projections that have folded nothing yet (a new store) are folded as a rebuild folds them: no
    /// case is looked up in a table that is known to be empty, and rows are appended. Within a
    /// transaction, at most `cacheLimit` rows and tallies are kept in memory (see ``rebuild(_:batchSize:cacheLimit:)``).
    @discardableResult
    public func catchUp(
        _ names: [String]? = nil, upTo limit: UInt64? = nil, recordedAtOrBefore: Int64? = nil, batchSize: Int = ProjectionStore.catchUpBatchSize,
        cacheLimit: Int = ProjectionStore.rebuildCacheLimit
    ) throws -> ProjectionRun {
        let names = try Self.validate(names)
        let started = DispatchTime.now().uptimeNanoseconds
        var run = ProjectionRun(events: 0, transactions: 0, seconds: 0)
        // A projection folded under an older layout is rebuilt rather than misread.
        let stale = try env.read { txn in
            try names.filter { name in try slot(txn, name).checkpoint > 0 && number(txn, name + ".format") != Self.type(name).format }
        }
        if !stale.isEmpty {
            // A rebuild folds the whole log; a catch-up to a point cannot give the older rows a new layout.
            guard limit == nil && recordedAtOrBefore == nil else { throw ProjectionError.staleLayout(stale) }
            let rebuilt = try rebuild(stale)
            run.events += rebuilt.events
            run.transactions += rebuilt.transactions
        }
        let runners = Self.makeRunners(names)
        var router = Router()
        // Where this run's last transaction left the projections (their checkpoint and generation): while
        // the next starts there, nobody else has folded into them meanwhile.
        var left: [(UInt64, UInt64)]?
        while true {
            let (read, more) = try writeGrowing(onRetry: { for r in runners { r.discard() }; router = Router(); left = nil }) { txn -> (UInt64, Bool) in
                let head = min(store.count, limit ?? .max)
                let slots = try names.map { try slot(txn, $0) }
                let from = slots.map(\.checkpoint).min() ?? head
                guard from < head else { return (0, false) }
                let end = min(head, from + UInt64(max(1, batchSize)))
                let tables = zip(names, slots).map { table($0, $1.live) }
                if left == nil, try slots.allSatisfy({ $0.checkpoint == 0 }) && tables.allSatisfy({ try txn.count($0) == 0 }) {
                    router = Router(emptyTables: tables.count)
                } else if let left, !left.elementsEqual(slots.map { ($0.checkpoint, $0.generation) }, by: ==) {
                    router = Router()
                }
                try fold(txn, runners: runners, tables: tables, starts: slots.map(\.checkpoint), from: from, to: end, router: &router,
                         recordedAtOrBefore: recordedAtOrBefore, cacheLimit: cacheLimit)
                for (name, s) in zip(names, slots) where s.checkpoint < end {
                    try setNumber(txn, name + ".checkpoint", end)
                    try setNumber(txn, name + ".format", Self.type(name).format)
                }
                left = slots.map { (max($0.checkpoint, end), $0.generation) }
                return (end - from, end < head)
            }
            // Another process may fold into the tables before the next transaction: the tallies a flush
            // kept go.
            for r in runners { r.evict() }
            if read > 0 { run.events += read; run.transactions += 1 }
            if !more { break }
        }
        run.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return run
    }

    /// What a run knows of each case, by case number: its id, which runner it belongs to (learnt from
    /// its opening event) and where that runner caches its row. `complete` when it has seen every event
    /// from position 0, so that a case it does not know is nobody's.
    struct Router {
        /// A case: its id, its owner (the runner's index, -1 for none, ``unknown`` when not yet learnt),
        /// and the index of its row in runner `cachedBy`'s cache as of that cache's `epoch`. Kept together,
        /// so that routing an event reads one place in memory.
        struct Case {
            var id: String
            var owner: Int16 = Router.unknown
            var cachedBy: Int16 = -1
            var epoch: UInt32 = 0
            var entry: Int32 = -1
        }
        var cases: [Case] = []
        var complete: Bool
        /// Numbers the cases by their ids, which batches bring as bytes.
        var numbers = CaseNumbers()
        /// When the run writes into tables that were empty when it began (a rebuild, or a first catch-up):
        /// by table, the greatest key written so far (nil: none yet), so that greater keys are appended.
        var greatest: [Key?]?
        static let unknown: Int16 = -2
        static let limit = 2_000_000

        /// A router that learns what it needs as it goes, reading the tables for the rest.
        init(complete: Bool = false, greatest: [Key?]? = nil) {
            self.complete = complete
            self.greatest = greatest
        }

        /// A router for a run from position 0 into `count` empty tables: every case is met from its opening
        /// (none is looked up in a table), and every key is new (greater ones are appended).
        init(emptyTables count: Int) { self.init(complete: true, greatest: [Key?](repeating: nil, count: count)) }
    }

    /// Folds events [from, to) into the runners (each skipping events before its own start) and
    /// writes what changed into their tables, leaving no row cached.
    private func fold(
        _ txn: borrowing Transaction, runners: [Runner], tables: [Database], starts: [UInt64], from: UInt64, to end: UInt64,
        router: inout Router, recordedAtOrBefore: Int64? = nil, cacheLimit: Int = .max
    ) throws {
        if router.numbers.count > Router.limit {
            // Number cases afresh; rows cached under the old numbers go (all are flushed by now).
            router = Router(complete: false, greatest: router.greatest)
            for r in runners { r.evict() }
        }
        /// Folds `event` into runner `i`'s row of case `c`, cached (and loaded unless `absentIfUncached`)
        /// if it is not yet. Returns whether the case is one of that runner's.
        func apply(_ event: borrowing CaseEvent, runner i: Int, case c: Int, absentIfUncached: Bool) throws -> Bool {
            let runner = runners[i]
            if router.cases[c].cachedBy != Int16(i) || router.cases[c].epoch != runner.epoch {
                router.cases[c].entry = try runner.entryIndex(caseId: router.cases[c].id, absentIfUncached: absentIfUncached) { k in
                    try txn.get(tables[i], key: k.bytes)
                }
                router.cases[c].cachedBy = Int16(i)
                router.cases[c].epoch = runner.epoch
            }
            return try runner.apply(event, entry: router.cases[c].entry) { k in try txn.get(tables[i], key: k.bytes) }
        }
        func route(_ event: borrowing CaseEvent, case c: Int) throws {
            if event.kind == .opened, let workflow = event.workflow {
                let i = runners.firstIndex { $0.follows(workflow) } ?? -1
                router.cases[c].owner = Int16(i)
                if i >= 0 && starts[i] <= event.position {
                    _ = try apply(event, runner: i, case: c, absentIfUncached: router.complete)
                }
                return
            }
            let owner = router.cases[c].owner
            if owner != Router.unknown {
                let i = Int(owner)
                if i >= 0 && starts[i] <= event.position {
                    _ = try apply(event, runner: i, case: c, absentIfUncached: false)
                }
                return
            }
            if router.complete { return }
            var asked = 0
            for i in runners.indices where starts[i] <= event.position {
                asked += 1
                if try apply(event, runner: i, case: c, absentIfUncached: false) {
                    router.cases[c].owner = Int16(i)
                    return
                }
            }
            if asked == runners.count { router.cases[c].owner = -1 }
        }
        /// Writes every changed row into the tables and empties the caches of rows. The tallies are written
        /// and dropped too at the end of the run (`final`), or when they take more than half the cache;
        /// otherwise they stay cached, and changed ones are written by a later flush.
        func flush(final: Bool) throws {
            let keepingTallies = !final && runners.reduce(0, { $0 + $1.cachedTallies }) <= cacheLimit / 2
            for i in runners.indices {
                try runners[i].flush(keepingTallies: keepingTallies, load: { k in try txn.get(tables[i], key: k.bytes) }) { key, value in
                    if let value {
                        // A key after every key in the table is appended: LMDB then neither searches the
                        // tree nor splits pages, and fills them.
                        if router.greatest != nil, router.greatest![i].map({ $0 < key }) ?? true {
                            try txn.put(tables[i], key: key.bytes, value: value, flags: .append)
                            // Copied into the bytes kept, not shared: the caller reuses its key's storage.
                            if router.greatest![i] == nil { router.greatest![i] = Key(bytes: []) }
                            router.greatest![i]!.bytes.removeAll(keepingCapacity: true)
                            router.greatest![i]!.bytes.append(contentsOf: key.bytes)
                        } else {
                            try txn.put(tables[i], key: key.bytes, value: value)
                        }
                    } else {
                        _ = try txn.delete(tables[i], key: key.bytes)
                    }
                }
            }
        }

        var unpacker = PackedEventUnpacker()
        // For batches handed over unread: this thread's own reader and words, and a batch to parse into.
        var ownReader = PackedEventReader()
        var ownUnpacker = PackedEventUnpacker()
        var parsed = PackedEvents()
        func fold(_ batch: borrowing PackedEvents) throws {
            if let range = batch.unread {
                parsed.removeAll()
                try Self.read(store, range, recordedAtOrBefore: recordedAtOrBefore, with: &ownReader, into: &parsed)
                try foldParsed(parsed, &ownUnpacker)
            } else {
                try foldParsed(batch, &unpacker)
            }
            // Memory stays bounded whatever the run's length: past the limit, what is cached is written
            // into the transaction and dropped (and read back from it when needed again).
            if cacheLimit < .max && runners.reduce(0, { $0 + $1.cachedCount }) > cacheLimit {
                try flush(final: false)
            }
        }
        func foldParsed(_ batch: borrowing PackedEvents, _ unpacker: inout PackedEventUnpacker) throws {
            unpacker.take(batch)
            try batch.caseIds.withUnsafeBytes { ids in
                for k in batch.events.indices {
                    let range = batch.events[k].caseId
                    let id = UnsafeRawBufferPointer(rebasing: ids[Int(range.lowerBound)..<Int(range.upperBound)])
                    var isNew = false
                    let c = Int(router.numbers.number(id) { _ in isNew = true })
                    if isNew { router.cases.append(Router.Case(id: String(decoding: id, as: UTF8.self))) }
                    unpacker.unpack(batch, k, caseId: router.cases[c].id)
                    try route(unpacker.event, case: c)
                }
            }
        }
        if end - from >= readAhead.minimumEvents {
            // Long runs: read and parse on a second thread while this one folds (and holds the write
            // transaction, which must stay on the thread that began it).
            try readOnSecondThread(from: from, to: end, recordedAtOrBefore: recordedAtOrBefore, unread: readAhead.unread, fold)
        } else {
            // Short runs: this thread reads every span itself, as it reads one handed over unread.
            for span in Self.spans(from: from, to: end, size: readAhead.batchSize) { try fold(PackedEvents(unread: span)) }
        }
        try flush(final: true)
    }

    /// Positions [from, to) in consecutive spans of `size` (at least 1), the last one shorter if need be.
    static func spans(from: UInt64, to end: UInt64, size: Int) -> some Sequence<Range<UInt64>> {
        let size = max(1, size)
        return stride(from: from, to: end, by: size).lazy.map { $0..<min(end, $0 + UInt64(size)) }
    }

    /// Reads and parses the events at `positions` into `batch` with `reader`, passing over those recorded
    /// after `recordedAtOrBefore` (if given).
    static func read(
        _ store: EventStore, _ positions: Range<UInt64>, recordedAtOrBefore: Int64?, with reader: inout PackedEventReader,
        into batch: inout PackedEvents
    ) throws {
        try store.scanViews(from: positions.lowerBound, to: positions.upperBound) { view in
            if let t = recordedAtOrBefore, view.recordedAt.millisecondsSince1970 > t { return }
            _ = try parse(view, with: &reader, into: &batch)
        }
    }

    /// Parses `view` into `batch` with `reader`; false if it is not a case event. A payload the engine
    /// would not write is named by ``ProjectionError/unreadableEvent(position:type:reason:)``.
    static func parse(_ view: borrowing EventView, with reader: inout PackedEventReader, into batch: inout PackedEvents) throws -> Bool {
        do {
            return try reader.read(view, into: &batch)
        } catch let error as MalformedPayload {
            throw ProjectionError.unreadableEvent(position: view.position, type: String(decoding: view.type, as: UTF8.self), reason: error.description)
        }
    }

    /// Reads and parses every event of `store` on the calling thread as the reading thread of a rebuild
    /// does, without folding them: the floor under any rebuild, for benchmarks. Returns the events read
    /// and how many of them projections follow.
    public static func readAndParse(_ store: EventStore) throws -> (events: UInt64, caseEvents: Int) {
        var caseEvents = 0
        var reader = PackedEventReader()
        var batch = PackedEvents()
        for span in spans(from: 0, to: store.count, size: ReadAheadSettings().batchSize) {
            batch.removeAll()
            try read(store, span, recordedAtOrBefore: nil, with: &reader, into: &batch)
            caseEvents += batch.events.count
        }
        return (store.count, caseEvents)
    }

    /// Reads and parses events [from, to) on a second thread, handing them over in packed batches of
    /// `readAhead.batchSize` positions each, some unread (as `unread` says); events recorded after
    /// `recordedAtOrBefore` (if given) are passed over unparsed.
    private func readOnSecondThread(
        from: UInt64, to end: UInt64, recordedAtOrBefore: Int64?, unread: ReadAheadSettings.Unread,
        _ body: (borrowing PackedEvents) throws -> Void
    ) throws {
        // Up to 64 batches ahead, so that the reader keeps parsing while a full cache is written out.
        let pipe = EventPipe(capacity: 64)
        let store = self.store
        let batchSize = readAhead.batchSize
        Thread {
            do {
                // Batches the folding thread has finished with, to fill again.
                var pool: [PackedEvents] = []
                var reader = PackedEventReader()
                for span in Self.spans(from: from, to: end, size: batchSize) {
                    var batch = pool.popLast() ?? PackedEvents()
                    batch.removeAll()
                    switch unread {
                    case .whenFoldingWaits where pipe.queued <= 1, .always: batch.unread = span
                    case .whenFoldingWaits: try Self.read(store, span, recordedAtOrBefore: recordedAtOrBefore, with: &reader, into: &batch)
                    }
                    // Handed over without a reference left here.
                    guard let spent = pipe.put(consume batch) else { throw CancellationError() }
                    pool += spent
                    if pool.count > 2 { pool.removeFirst(pool.count - 2) }
                }
                pipe.finish(nil)
            } catch {
                pipe.finish(error)
            }
        }.start()
        defer { pipe.cancelAndWait() }
        while let batch = try pipe.take() {
            try body(batch)
            pipe.giveBack(consume batch)
        }
    }

    /// A write transaction that grows the map and tries again when it is full.
    /// `onRetry` runs before the retry, to drop what the aborted transaction had folded.
    private func writeGrowing<T>(onRetry: () -> Void = {}, _ body: (borrowing Transaction) throws -> T) throws -> T {
        while true {
            do {
                return try env.write(body)
            } catch let error as LMDBError where error.code == .mapFull {
                guard env.mapSize < 1 << 40 else { throw error }
                try env.resize(to: env.mapSize * 2)
                onRetry()
            }
        }
    }

    // MARK: Rebuilding

    /// Events per transaction when no other process writes the tables being folded (a rebuild's spare
    /// tables, a store of one's own): few, large transactions (memory stays bounded by the cache limit).
    public static let privateBatchSize = 1_048_576

    /// The rows and tallies a rebuild keeps in memory by default (about 0.5 KiB each on the demo city's log).
    public static let rebuildCacheLimit = 50_000

    /// Rebuilds projections from position 0 into their spare tables, then swaps each spare in for its
    /// live table in one transaction (which also folds whatever was appended meanwhile). Rows are
    /// committed every `batchSize` events. Memory stays bounded however long the log: whenever more
    /// than `cacheLimit` rows and tallies are cached (about 0.5 KiB each on the demo city's log), they are
    /// written into the transaction and dropped, and read back from it when their cases come up again.
    @discardableResult
    public func rebuild(_ names: [String]? = nil, batchSize: Int = ProjectionStore.privateBatchSize, cacheLimit: Int = ProjectionStore.rebuildCacheLimit) throws -> ProjectionRun {
        let names = try Self.validate(names)
        let runners = Self.makeRunners(names)
        // Room for a full cache from the start: grown as it fills, the rows would be copied over and over.
        for r in runners { r.reserve(rows: cacheLimit) }
        let started = DispatchTime.now().uptimeNanoseconds
        var run = ProjectionRun(events: 0, transactions: 0, seconds: 0)
        // Empty the spare tables (a rebuild that died half-way may have left rows there).
        let spares: [String] = try writeGrowing { txn in
            try names.map { name in
                let s = try slot(txn, name)
                try txn.clear(table(name, s.spare))
                return s.spare
            }
        }
        let tables = zip(names, spares).map { table($0, $1) }
        let starts = Array(repeating: UInt64(0), count: names.count)
        var position: UInt64 = 0
        var router = Router(emptyTables: names.count)
        while true {
            let (done, end): (Bool, UInt64) = try writeGrowing(onRetry: { for r in runners { r.discard() }; router = Router() }) { txn in
                let head = store.count
                let last = head - position <= UInt64(batchSize)
                let end = last ? head : position + UInt64(batchSize)
                try fold(txn, runners: runners, tables: tables, starts: starts, from: position, to: end, router: &router, cacheLimit: cacheLimit)
                guard last else { return (false, end) }
                // Swap: the spare becomes live at the log's head, the old live table is emptied.
                for (name, spare) in zip(names, spares) {
                    let s = try slot(txn, name)
                    guard s.spare == spare else { throw ProjectionError.concurrentRebuild(name) }
                    try txn.put(meta, key: Array((name + ".live").utf8), value: Array(spare.utf8))
                    try setNumber(txn, name + ".checkpoint", end)
                    try setNumber(txn, name + ".generation", s.generation + 1)
                    try setNumber(txn, name + ".format", Self.type(name).format)
                    try txn.clear(table(name, s.live))
                }
                return (true, end)
            }
            run.events += end - position
            position = end
            run.transactions += 1
            if done { break }
        }
        run.seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        return run
    }

    // MARK: Reading

    /// Every key and value of a projection's live table, in key order (for comparisons and export).
    public func dump(_ name: String) throws -> [(key: String, value: [UInt8])] {
        _ = try Self.validate([name])
        return try env.read { txn in
            let db = table(name, try slot(txn, name).live)
            return try txn.withCursor(db) { cursor in
                var out: [(String, [UInt8])] = []
                var entry = try cursor.first()
                while let (k, v) = entry {
                    out.append((String(decoding: k, as: UTF8.self), Array(v)))
                    entry = try cursor.next()
                }
                return out
            }
        }
    }

    /// Visits the live table's entries whose keys start with `prefix`, in key order, in one read
    /// transaction; `body` returns false to stop.
    func scan(_ name: String, prefix: String, _ body: (String, UnsafeRawBufferPointer) throws -> Bool) throws {
        let prefixBytes = Array(prefix.utf8)
        try env.read { txn in
            let db = table(name, try slot(txn, name).live)
            try txn.withCursor(db) { cursor in
                var entry = try prefixBytes.withUnsafeBytes { try cursor.seek(atLeast: $0) }
                while let (k, v) = entry {
                    guard prefixBytes.isEmpty || (k.count >= prefixBytes.count && prefixBytes.withUnsafeBytes({ memcmp($0.baseAddress!, k.baseAddress!, prefixBytes.count) == 0 }))
                    else { break }
                    guard try body(String(decoding: k, as: UTF8.self), v) else { break }
                    entry = try cursor.next()
                }
            }
        }
    }

    /// The rows of a projection, in case-id order.
    func rows<P: Projection>(_ type: P.Type) throws -> [(caseId: String, row: P.Row)] {
        var out: [(String, P.Row)] = []
        let prefix = TableKey.row("")
        try scan(P.name, prefix: prefix) { key, value in
            out.append((String(key.dropFirst(prefix.count)), try ProjectionRunner<P>.decodeRow(value, key)))
            return true
        }
        return out
    }

    /// The tallies of a projection whose keys start with `prefix`, as (key parts, tally).
    func tallies(_ name: String, prefix: String) throws -> [(parts: [String], tally: Tally)] {
        var out: [([String], Tally)] = []
        try scan(name, prefix: prefix) { key, value in
            guard let t = Tally(value) else { throw MalformedRow(projection: name, key: key) }
            out.append((RowKey.parts(key), t))
            return true
        }
        return out
    }

    /// The tallies of projection `name` under `prefix` with `count` key parts, summed into groups: `group` says
    /// which group a tally's key parts belong to (nil: none) and makes that group the first time; `add` adds the
    /// tally to its group. The groups come in the order of their keys.
    func grouped<Group>(
        _ name: String, prefix: String, parts count: Int, _ group: ([String]) -> (key: String, make: () -> Group)?,
        add: (inout Group, Tally) -> Void
    ) throws -> [Group] {
        var groups: [String: Group] = [:]
        for (parts, tally) in try tallies(name, prefix: prefix) where parts.count == count {
            guard let (key, make) = group(parts) else { continue }
            add(&groups[key, default: make()], tally)
        }
        return groups.keys.sorted().map { groups[$0]! }
    }
}

/// Numbers the cases met in a run (0, 1, 2, … in the order they are first met), so that the folding
/// thread finds a case's owner and cached rows by array index. The ids are numbered by the same table
/// as the reading thread's words (``WordIds``), keyed by their UTF-8 bytes.
struct CaseNumbers {
    private var ids = WordIds()
    /// Cases numbered so far.
    var count: Int { ids.count }

    /// The number of the case whose id is `bytes`; `new` is called with them when it is met for the
    /// first time (and given the next free number).
    @inline(__always) mutating func number(_ bytes: UnsafeRawBufferPointer, new: (UnsafeRawBufferPointer) -> Void) -> Int32 {
        ids.id(bytes, new: new)
    }

}

/// A bounded hand-over of parsed events from a reading thread to the folding one.
final class EventPipe: Sendable {
    private struct State: Sendable {
        var queue: [PackedEvents] = []
        /// Batches folded, for the reader to refill or free: memory goes back to the thread that
        /// allocated it, which is cheaper for the allocator than freeing it on the folding thread.
        var spent: [PackedEvents] = []
        var done = false
        var cancelled = false
        var error: (any Error)?
    }
    private let state = Mutex(State())
    private let slots: DispatchSemaphore
    private let items = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    init(capacity: Int) { slots = DispatchSemaphore(value: capacity) }

    /// Batches handed over and not yet taken.
    var queued: Int { state.withLock { $0.queue.count } }

    /// Hands over a batch, waiting for room. Returns the batches folded since the last call (for the
    /// reader to reuse or free), or nil if the reader was cancelled.
    func put(_ batch: consuming PackedEvents) -> [PackedEvents]? {
        slots.wait()
        var spent: [PackedEvents] = []
        var batch = Optional(batch)
        let ok = state.withLock { s in
            swap(&spent, &s.spent)
            guard !s.cancelled else { return false }
            s.queue.append(batch.take()!)  // moved, so that the queue holds the only reference
            return true
        }
        if ok { items.signal() }
        return ok ? spent : nil
    }

    /// Hands a folded batch back to the reader, which reuses or frees it.
    func giveBack(_ batch: consuming PackedEvents) {
        var batch = Optional(batch)
        state.withLock { s in
            if !s.done, let b = batch.take() { s.spent.append(b) }
        }
    }

    /// The reader is done (with an error, if it failed).
    func finish(_ error: (any Error)?) {
        state.withLock { s in
            s.done = true
            s.error = error
        }
        items.signal()
        finished.signal()
    }

    /// The next batch; nil at the end; throws the reader's error.
    func take() throws -> PackedEvents? {
        items.wait()
        let next: Result<PackedEvents?, any Error> = state.withLock { s in
            if !s.queue.isEmpty { return .success(s.queue.removeFirst()) }
            if let e = s.error { return .failure(e) }
            return .success(nil)
        }
        if case .success(let b?) = next { _ = b; slots.signal() }
        return try next.get()
    }

    /// Stops the reader (if still running) and waits for it to finish.
    func cancelAndWait() {
        state.withLock { $0.cancelled = true }
        slots.signal()
        finished.wait()
    }
}

/// Errors of the projections store.
public enum ProjectionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No projection has this name.
    case unknown(String, known: [String])
    /// Another rebuild swapped the tables first.
    case concurrentRebuild(String)
    /// These projections were folded under an older row layout, and a catch-up to a point (a position
    /// or a time) was asked of them; only a full catch-up or a rebuild brings them to the new layout.
    case staleLayout([String])
    /// The event at this position has an engine event type but a payload the engine does not write
    /// (e.g. appended by hand); projections cannot fold past it.
    case unreadableEvent(position: UInt64, type: String, reason: String)

    public var description: String {
        switch self {
        case let .unknown(name, known): return "no projection '\(name)'; the projections are \(known.joined(separator: ", "))"
        case .concurrentRebuild(let name): return "projection '\(name)' was rebuilt by another process meanwhile; run the rebuild again if needed"
        case let .unreadableEvent(position, type, reason):
            return "event \(position) (\(type)) cannot be folded into the projections: its payload is not one the case engine writes (\(reason)); "
                + "projections stop before it. See who appended it with `casebook read --from \(position) --limit 1`"
        case .staleLayout(let names):
            return "projections \(names.joined(separator: ", ")) were folded under an older row layout; catch them up to a point only in a fresh projection store, or rebuild them first (casebook projections rebuild)"
        }
    }
}
