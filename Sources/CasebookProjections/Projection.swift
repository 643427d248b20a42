/// A read model derived from the log: one row per case of the workflows it follows, and tallies
/// (aggregates) that are always the sum of what the rows contribute plus what events added.
///
/// Folding must be deterministic: it sees only the event (whose time came from the command), never
/// the clock, so the same events always give the same rows and tallies, byte for byte.
public protocol Projection: Sendable {
    /// Its per-case row.
    associatedtype Row: ProjectionRow
    /// Its name (`requests`, `admissions`, `ledger`, `rectifications`, `ratings`).
    static var name: String { get }
    /// The workflows whose cases it follows.
    static var workflows: Set<String> { get }
    /// The layout of what it stores. Bump it whenever what the projection stores, or what it means,
    /// changes: a store folded under another number is rebuilt from the log at its next catch-up
    /// instead of being read wrongly.
    static var format: UInt64 { get }
    /// A fresh projection (projections hold no state of their own: it is all in their rows).
    init()
    /// A case's row as it starts, from the case's opening event (which is then folded into it like
    /// any other).
    func open(_ event: CaseEvent) -> Row
    /// Folds an event into the case's row. Returns contributions that belong to the event rather than
    /// to the row's state (e.g. ledger postings in the month they happen); they are added once and
    /// never taken back.
    func fold(_ row: inout Row, _ event: CaseEvent) -> [Contribution]
    /// What the row, as it stands, contributes to the tallies.
    func contributions(of row: Row) -> [Contribution]
}

/// Keys of a projection's table: case rows under `c`, tallies under other first parts.
enum TableKey {
    static func row(_ caseId: String) -> String { RowKey.make("c", caseId) }
    /// The row key's bytes, made without joining strings (a rebuild makes one for every case).
    static func row(bytes caseId: String) -> Key {
        var bytes: [UInt8] = [UInt8(ascii: "c"), 0x1F]
        bytes.append(contentsOf: caseId.utf8)
        return Key(bytes: bytes)
    }
}

/// Applies events to one projection through a write-back cache over its table. Cached rows are
/// found by their index in the cache, which the caller keeps per case (see ``entryIndex(caseId:absentIfUncached:load:)``)
/// until the cache is emptied (``epoch``).
///
/// Runners are reached through ``Runner``, which calls the code compiled for each projection directly
/// for what is done per event, and through ``AnyProjectionRunner`` (the generic code) for the rest; the
/// `@_specialize` lines give the latter the projections' own row types too.
final class ProjectionRunner<P: Projection> {
    /// A cached row, its case, and whether it must be written. Nothing in it is allocated for it: the case
    /// id is the run's own string for the case (inline when short); the key and contributions are made
    /// when it is written.
    struct Entry: Sendable {
        let caseId: String
        /// The row, if `exists` (else an empty one). Not an optional: a row is folded, tallied and encoded
        /// where it lies, which the payload of an optional could not be without copying it out.
        var row: P.Row
        /// Whether the case has a row (it is one of this projection's).
        var exists: Bool
        var dirty = false
    }
    /// A cached tally and whether it must be written.
    struct TallyEntry: Sendable {
        var tally: Tally
        var dirty = false
    }

    let projection: P
    /// Rows held in memory, inline (not one object each): made, found and freed without a reference
    /// to follow or count.
    private var entries: ContiguousArray<Entry> = []
    /// By entry index, the rows as they were loaded from the table, whose contributions are in the tallies
    /// (kept apart: most rows are new, and inline they would double the size of every entry). They share
    /// the rows' strings until the rows change them.
    private var loaded: [Int32: P.Row] = [:]
    private var tallies: [Key: TallyEntry] = [:]
    /// Indices in `entries` of the rows changed since the last flush.
    private var dirtyRows: [Int32] = []
    private var dirtyTallies: [Key] = []
    /// Counts the times the cache was emptied: an entry index handed out under an earlier epoch is stale.
    private(set) var epoch: UInt32 = 0

    init(_ projection: P) { self.projection = projection }

    /// Entries held in memory.
    var cachedCount: Int { entries.count + tallies.count }
    /// Tallies held in memory (a flush may keep them).
    var cachedTallies: Int { tallies.count }

    /// Forgets everything cached (after a transaction, when another writer may have changed the table,
    /// or when the cases were numbered afresh), keeping the storage to fill again.
    @_specialize(where P == RequestsProjection)
    @_specialize(where P == AdmissionsProjection)
    @_specialize(where P == LedgerProjection)
    @_specialize(where P == RectificationsProjection)
    @_specialize(where P == RatingsProjection)
    func evict() {
        precondition(dirtyRows.isEmpty && dirtyTallies.isEmpty, "evicting unflushed rows")
        evictRows()
        tallies.removeAll(keepingCapacity: true)
    }

    /// Forgets the cached rows (flushed), keeping the tallies.
    private func evictRows() {
        epoch &+= 1
        entries.removeAll(keepingCapacity: true)
        loaded.removeAll(keepingCapacity: true)
    }

    /// Makes room for `rows` cached rows (up to 1,048,576), so that the cache is not copied as it grows.
    func reserve(rows: Int) { entries.reserveCapacity(min(rows, 1 << 20)) }

    /// Forgets everything, flushed or not (after a transaction was aborted).
    func discard() {
        dirtyRows.removeAll()
        dirtyTallies.removeAll()
        evict()
    }

    /// Whether it follows cases of `workflow`.
    func follows(_ workflow: String) -> Bool { P.workflows.contains(workflow) }

    /// Caches the row of case `caseId` (loaded unless `absentIfUncached`; nil when the table has none)
    /// and returns its index, valid until the cache is emptied.
    func entryIndex(caseId: String, absentIfUncached: Bool, load: (Key) throws -> [UInt8]?) throws -> Int32 {
        var old: P.Row?
        if !absentIfUncached {
            let key = TableKey.row(bytes: caseId)
            old = try load(key).map { bytes in try bytes.withUnsafeBytes { b in try Self.decodeRow(b, key.string) } }
        }
        entries.append(Entry(caseId: caseId, row: old ?? P.Row(), exists: old != nil))
        let index = Int32(entries.count - 1)
        if let old { loaded[index] = old }
        return index
    }

    /// Folds `event` into the cached row at `index`. Returns whether the case is one of this projection's.
    @discardableResult
    func apply(_ event: borrowing CaseEvent, entry index: Int32, load: (Key) throws -> [UInt8]?) throws -> Bool {
        let i = Int(index)
        // The entry is changed where it lies (through the array's subscript, it would be copied out whole).
        let (follows, added, newlyDirty) = entries.withUnsafeMutableBufferPointer { entries -> (Bool, [Contribution], Bool) in
            if event.kind == .opened {
                entries[i].row = projection.open(event)
                entries[i].exists = true
            }
            guard entries[i].exists else { return (false, [], false) }
            // Folded where it lies: moved out and back, the row (hundreds of bytes) would be copied twice.
            // What the row contributes to the tallies is worked out once per flush, not once per event.
            let added = projection.fold(&entries[i].row, event)
            defer { entries[i].dirty = true }
            return (true, added, !entries[i].dirty)
        }
        if newlyDirty { dirtyRows.append(index) }
        if !added.isEmpty { try tally(added, sign: 1, load: load) }
        return follows
    }

    /// The first 16 bytes of `id` as two big-endian integers (zero-padded), which order as the bytes do.
    static func prefix16(_ id: String) -> (UInt64, UInt64) {
        var id = id
        return id.withUTF8 { Key.prefix16(UnsafeRawBufferPointer($0)) }
    }

    static func decodeRow(_ b: UnsafeRawBufferPointer, _ key: String) throws -> P.Row {
        var r = RowReader(b)
        let row = P.Row(from: &r)
        guard r.isComplete else { throw MalformedRow(projection: P.name, key: key) }
        return row
    }

    @_specialize(where P == RequestsProjection)
    @_specialize(where P == AdmissionsProjection)
    @_specialize(where P == LedgerProjection)
    @_specialize(where P == RectificationsProjection)
    @_specialize(where P == RatingsProjection)
    private func tally(_ contributions: [Contribution], sign: Int64, load: (Key) throws -> [UInt8]?) throws {
        for c in contributions {
            var index = tallies.index(forKey: c.key)
            if index == nil {
                var tally = Tally(counters: [])
                if let bytes = try load(c.key) {
                    guard let stored = bytes.withUnsafeBytes({ Tally($0) }) else { throw MalformedRow(projection: P.name, key: c.key.string) }
                    tally = stored
                }
                tallies[c.key] = TallyEntry(tally: tally)
                index = tallies.index(forKey: c.key)
            }
            let i = index!
            tallies.values[i].tally.add(c.tally, sign: sign)
            if !tallies.values[i].dirty {
                tallies.values[i].dirty = true
                dirtyTallies.append(c.key)
            }
        }
    }

    /// Settles the tallies of every changed row (its contributions as it stands now replace those
    /// tallied before), then hands every changed row to `write` (nil: delete), in key order, and forgets
    /// the cached rows: what comes next reads them back from the table. If `keepingTallies`, the tallies
    /// stay cached, changed ones unwritten (they are few, and nearly every flush changes most of them
    /// again: a later flush writes them once); otherwise every changed tally is written too, and all go.
    @_specialize(where P == RequestsProjection)
    @_specialize(where P == AdmissionsProjection)
    @_specialize(where P == LedgerProjection)
    @_specialize(where P == RectificationsProjection)
    @_specialize(where P == RatingsProjection)
    func flush(keepingTallies: Bool, load: (Key) throws -> [UInt8]?, _ write: (Key, [UInt8]?) throws -> Void) throws {
        // Sorted by the case ids' first 16 bytes, read once into integers, and by the whole ids only where
        // those are the same (row keys are the ids behind one prefix): comparing bytes at each step of the
        // sort reads every id anew.
        var order = dirtyRows.map { index in
            let (p0, p1) = Self.prefix16(entries[Int(index)].caseId)
            return (p0: p0, p1: p1, index: index)
        }
        order.sort { a, b in
            a.p0 != b.p0 ? a.p0 < b.p0 : a.p1 != b.p1 ? a.p1 < b.p1 : entries[Int(a.index)].caseId.utf8.lexicographicallyPrecedes(entries[Int(b.index)].caseId.utf8)
        }
        var w = RowWriter()
        let prefix = TableKey.row(bytes: "").bytes
        var key = Key(bytes: prefix)
        // Entries are read and changed where they lie (through the array's subscript, each would be copied out whole).
        try entries.withUnsafeMutableBufferPointer { entries in
            for (_, _, index) in order {
                let i = Int(index)
                // Moved out (an empty row left behind: the cache is emptied below). Read where it lies, the row
                // was copied for every call that reads it, its strings retained and released.
                var row = P.Row()
                swap(&row, &entries[i].row)
                let contributions = entries[i].exists ? projection.contributions(of: row) : []
                if let tallied = loaded.removeValue(forKey: index) {
                    let before = projection.contributions(of: tallied)
                    if contributions != before {
                        try tally(before, sign: -1, load: load)
                        try tally(contributions, sign: 1, load: load)
                    }
                } else {
                    try tally(contributions, sign: 1, load: load)
                }
                key.bytes.removeSubrange(prefix.count...)
                key.bytes.append(contentsOf: entries[i].caseId.utf8)
                guard entries[i].exists else { try write(key, nil); continue }
                w.removeAll()
                row.encode(into: &w)
                try write(key, w.bytes)
            }
        }
        dirtyRows.removeAll(keepingCapacity: true)
        if keepingTallies {
            evictRows()
            return
        }
        dirtyTallies.sort()
        for key in dirtyTallies {
            let i = tallies.index(forKey: key)!
            tallies.values[i].dirty = false
            try write(key, tallies.values[i].tally.isEmpty ? nil : tallies.values[i].tally.encode())
        }
        dirtyTallies.removeAll(keepingCapacity: true)
        evict()
    }
}

/// The projection runner, without its row type.
protocol AnyProjectionRunner: AnyObject {
    var cachedCount: Int { get }
    var cachedTallies: Int { get }
    func reserve(rows: Int)
    func evict()
    func discard()
    func follows(_ workflow: String) -> Bool
    func flush(keepingTallies: Bool, load: (Key) throws -> [UInt8]?, _ write: (Key, [UInt8]?) throws -> Void) throws
}

extension ProjectionRunner: AnyProjectionRunner {}

/// The runner of one of the projections (``ProjectionStore/all``), by its projection: what is done per
/// event calls the code compiled for that projection directly (through a protocol, generic code would
/// look up the row type's metadata at every call), the rest goes through ``AnyProjectionRunner``.
enum Runner {
    case requests(ProjectionRunner<RequestsProjection>)
    case admissions(ProjectionRunner<AdmissionsProjection>)
    case ledger(ProjectionRunner<LedgerProjection>)
    case rectifications(ProjectionRunner<RectificationsProjection>)
    case ratings(ProjectionRunner<RatingsProjection>)

    /// The runner of the projection named `name` (one of ``ProjectionStore/names``).
    init(_ name: String) {
        switch name {
        case RequestsProjection.name: self = .requests(ProjectionRunner(RequestsProjection()))
        case AdmissionsProjection.name: self = .admissions(ProjectionRunner(AdmissionsProjection()))
        case LedgerProjection.name: self = .ledger(ProjectionRunner(LedgerProjection()))
        case RectificationsProjection.name: self = .rectifications(ProjectionRunner(RectificationsProjection()))
        case RatingsProjection.name: self = .ratings(ProjectionRunner(RatingsProjection()))
        default: preconditionFailure("no projection '\(name)'")
        }
    }

    private var base: any AnyProjectionRunner {
        switch self {
        case .requests(let r): r
        case .admissions(let r): r
        case .ledger(let r): r
        case .rectifications(let r): r
        case .ratings(let r): r
        }
    }

    var cachedCount: Int { base.cachedCount }
    func reserve(rows: Int) { base.reserve(rows: rows) }
    func evict() { base.evict() }
    func discard() { base.discard() }
    func follows(_ workflow: String) -> Bool { base.follows(workflow) }
    var cachedTallies: Int { base.cachedTallies }
    func flush(keepingTallies: Bool, load: (Key) throws -> [UInt8]?, _ write: (Key, [UInt8]?) throws -> Void) throws {
        try base.flush(keepingTallies: keepingTallies, load: load, write)
    }

    /// ``ProjectionRunner/epoch``.
    var epoch: UInt32 {
        switch self {
        case .requests(let r): r.epoch
        case .admissions(let r): r.epoch
        case .ledger(let r): r.epoch
        case .rectifications(let r): r.epoch
        case .ratings(let r): r.epoch
        }
    }

    /// ``ProjectionRunner/entryIndex(caseId:absentIfUncached:load:)``.
    func entryIndex(caseId: String, absentIfUncached: Bool, load: (Key) throws -> [UInt8]?) throws -> Int32 {
        switch self {
        case .requests(let r): try r.entryIndex(caseId: caseId, absentIfUncached: absentIfUncached, load: load)
        case .admissions(let r): try r.entryIndex(caseId: caseId, absentIfUncached: absentIfUncached, load: load)
        case .ledger(let r): try r.entryIndex(caseId: caseId, absentIfUncached: absentIfUncached, load: load)
        case .rectifications(let r): try r.entryIndex(caseId: caseId, absentIfUncached: absentIfUncached, load: load)
        case .ratings(let r): try r.entryIndex(caseId: caseId, absentIfUncached: absentIfUncached, load: load)
        }
    }

    /// ``ProjectionRunner/apply(_:entry:load:)``.
    func apply(_ event: borrowing CaseEvent, entry index: Int32, load: (Key) throws -> [UInt8]?) throws -> Bool {
        switch self {
        case .requests(let r): try r.apply(event, entry: index, load: load)
        case .admissions(let r): try r.apply(event, entry: index, load: load)
        case .ledger(let r): try r.apply(event, entry: index, load: load)
        case .rectifications(let r): try r.apply(event, entry: index, load: load)
        case .ratings(let r): try r.apply(event, entry: index, load: load)
        }
    }
}
