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

extension Projection {
    /// A runner folding events into this projection.
    static func runner() -> any AnyProjectionRunner { ProjectionRunner(Self()) }
}

/// Keys of a projection's table: case rows under `c`, tallies under other first parts.
enum TableKey {
    static func row(_ caseId: String) -> String { RowKey.make("c", caseId) }
    static func row(bytes caseId: String) -> Key { Key(bytes: Array(row(caseId).utf8)) }
}

/// A cached row, its key, its contributions as last tallied, and whether it must be written.
final class RowEntry<Row> {
    let key: Key
    var row: Row?
    var contributions: [Contribution]
    var dirty = false
    init(key: Key, row: Row?, contributions: [Contribution]) {
        self.key = key
        self.row = row
        self.contributions = contributions
    }
}

/// A cached tally and whether it must be written.
final class TallyEntry {
    var tally: Tally
    var dirty = false
    init(_ tally: Tally) { self.tally = tally }
}

/// Applies events to one projection through a write-back cache over its table. Rows are cached by
/// the case's number in the run's ``CaseNumbers`` (an array index, not a hashed key).
///
/// Runners are reached through ``AnyProjectionRunner``, which calls the generic code; the
/// `@_specialize` lines give the projections that ship with the engine code compiled for their own
/// row types (a projection not listed works the same, only more slowly).
final class ProjectionRunner<P: Projection> {
    let projection: P
    /// By case number: 1 + the index of its entry in `entries`, 0 when it is not cached.
    private var slots: [Int32] = []
    private var entries: [RowEntry<P.Row>] = []
    private var tallies: [Key: TallyEntry] = [:]
    /// Indices in `entries` of the rows changed since the last flush.
    private var dirtyRows: [Int32] = []
    private var dirtyTallies: [Key] = []

    init(_ projection: P) { self.projection = projection }

    /// Entries held in memory.
    var cachedCount: Int { entries.count + tallies.count }

    /// Forgets everything cached (after a flush, or when another writer may have changed the table,
    /// or when the cases were numbered afresh).
    @_specialize(where P == RequestsProjection)
    @_specialize(where P == AdmissionsProjection)
    @_specialize(where P == LedgerProjection)
    @_specialize(where P == RectificationsProjection)
    @_specialize(where P == RatingsProjection)
    func evict() {
        precondition(dirtyRows.isEmpty && dirtyTallies.isEmpty, "evicting unflushed rows")
        slots.removeAll(keepingCapacity: true)
        entries.removeAll(keepingCapacity: true)
        tallies.removeAll(keepingCapacity: true)
    }

    /// Forgets everything, flushed or not (after a transaction was aborted).
    func discard() {
        dirtyRows.removeAll()
        dirtyTallies.removeAll()
        evict()
    }

    /// Whether it follows cases of `workflow`.
    func follows(_ workflow: String) -> Bool { P.workflows.contains(workflow) }

    /// Folds `event` into the row of its case, number `c` (loading it on a miss unless
    /// `absentIfUncached`). Returns whether the case is one of this projection's.
    @discardableResult
    @_specialize(where P == RequestsProjection)
    @_specialize(where P == AdmissionsProjection)
    @_specialize(where P == LedgerProjection)
    @_specialize(where P == RectificationsProjection)
    @_specialize(where P == RatingsProjection)
    func apply(_ event: borrowing CaseEvent, case c: Int, absentIfUncached: Bool, load: (Key) throws -> [UInt8]?) throws -> Bool {
        let entry: RowEntry<P.Row>
        let index: Int32
        if c < slots.count && slots[c] > 0 {
            index = slots[c] - 1
            entry = entries[Int(index)]
        } else {
            let key = TableKey.row(bytes: event.caseId)
            let old = absentIfUncached ? nil : try load(key).map { bytes in try bytes.withUnsafeBytes { b in try Self.decodeRow(b, key.string) } }
            entry = RowEntry(key: key, row: old, contributions: old.map(projection.contributions(of:)) ?? [])
            if c >= slots.count { slots.grow(to: c + 1, with: 0) }
            index = Int32(entries.count)
            entries.append(entry)
            slots[c] = index + 1
        }
        if event.kind == .opened { entry.row = projection.open(event) }
        // Moved out, not copied, so that the row's strings and lists change in place. Nil: not a case
        // of this projection.
        guard var row = entry.row.take() else { return false }
        // What the row contributes to the tallies is worked out once per flush, not once per event.
        let added = projection.fold(&row, event)
        entry.row = consume row
        if !entry.dirty {
            entry.dirty = true
            dirtyRows.append(index)
        }
        if !added.isEmpty { try tally(added, sign: 1, load: load) }
        return true
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
            let entry: TallyEntry
            if let cached = tallies[c.key] {
                entry = cached
            } else {
                if let bytes = try load(c.key) {
                    guard let stored = bytes.withUnsafeBytes({ Tally($0) }) else { throw MalformedRow(projection: P.name, key: c.key.string) }
                    entry = TallyEntry(stored)
                } else {
                    entry = TallyEntry(Tally(counters: []))
                }
                tallies[c.key] = entry
            }
            entry.tally.add(c.tally, sign: sign)
            if !entry.dirty {
                entry.dirty = true
                dirtyTallies.append(c.key)
            }
        }
    }

    /// Settles the tallies of every changed row (its contributions as it stands now replace those
    /// tallied before), then hands every changed row and tally to `write` (nil: delete), in key order,
    /// and marks them clean.
    @_specialize(where P == RequestsProjection)
    @_specialize(where P == AdmissionsProjection)
    @_specialize(where P == LedgerProjection)
    @_specialize(where P == RectificationsProjection)
    @_specialize(where P == RatingsProjection)
    func flush(load: (Key) throws -> [UInt8]?, _ write: (Key, [UInt8]?) throws -> Void) throws {
        // Sorted by the keys' first 16 bytes, read once into integers, and by the whole keys only where
        // those are the same: comparing the keys' bytes at each step of the sort reads every key anew.
        var order = dirtyRows.map { index in
            let key = entries[Int(index)].key
            let (p0, p1) = key.prefix16
            return (p0: p0, p1: p1, key: key, index: index)
        }
        order.sort { a, b in a.p0 != b.p0 ? a.p0 < b.p0 : a.p1 != b.p1 ? a.p1 < b.p1 : a.key < b.key }
        var w = RowWriter()
        for (_, _, key, index) in order {
            let entry = entries[Int(index)]
            entry.dirty = false
            let contributions = entry.row.map(projection.contributions(of:)) ?? []
            if contributions != entry.contributions {
                try tally(entry.contributions, sign: -1, load: load)
                try tally(contributions, sign: 1, load: load)
                entry.contributions = contributions
            }
            guard let row = entry.row else { try write(key, nil); continue }
            w.removeAll()
            row.encode(into: &w)
            try write(key, w.bytes)
        }
        dirtyTallies.sort()
        for key in dirtyTallies {
            let entry = tallies[key]!
            entry.dirty = false
            try write(key, entry.tally.isEmpty ? nil : entry.tally.encode())
        }
        dirtyRows.removeAll(keepingCapacity: true)
        dirtyTallies.removeAll(keepingCapacity: true)
    }
}

extension Array {
    /// Appends `filler` until it has `count` elements, growing its storage at least twofold.
    mutating func grow(to count: Int, with filler: Element) {
        guard count > self.count else { return }
        if count > capacity { reserveCapacity(Swift.max(count, 2 * capacity)) }
        append(contentsOf: repeatElement(filler, count: count - self.count))
    }
}

/// The projection runner, without its row type.
protocol AnyProjectionRunner: AnyObject {
    var name: String { get }
    var cachedCount: Int { get }
    func evict()
    func discard()
    func follows(_ workflow: String) -> Bool
    func apply(_ event: borrowing CaseEvent, case c: Int, absentIfUncached: Bool, load: (Key) throws -> [UInt8]?) throws -> Bool
    func flush(load: (Key) throws -> [UInt8]?, _ write: (Key, [UInt8]?) throws -> Void) throws
}

extension ProjectionRunner: AnyProjectionRunner {
    var name: String { P.name }
}
