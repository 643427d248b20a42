import Dispatch
import Synchronization

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
/// Runners are reached through ``AnyProjectionRunner``, which calls the generic code; the
/// `@_specialize` lines give the projections that ship with the engine code compiled for their own
/// row types (a projection not listed works the same, only more slowly).
final class ProjectionRunner<P: Projection> {
    /// A cached row, its key, its contributions as last tallied, and whether it must be written.
    struct Entry: Sendable {
        let key: Key
        var row: P.Row?
        var contributions: [Contribution]
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
    private var tallies: [Key: TallyEntry] = [:]
    /// Indices in `entries` of the rows changed since the last flush.
    private var dirtyRows: [Int32] = []
    private var dirtyTallies: [Key] = []
    /// Counts the times the cache was emptied: an entry index handed out under an earlier epoch is stale.
    private(set) var epoch: UInt32 = 0

    init(_ projection: P) { self.projection = projection }

    /// Entries held in memory.
    var cachedCount: Int { entries.count + tallies.count }

    /// Forgets everything cached (after a flush, or when another writer may have changed the table,
    /// or when the cases were numbered afresh). The memory is given back on another thread: freeing tens
    /// of thousands of rows is work the folding thread need not wait for.
    @_specialize(where P == RequestsProjection)
    @_specialize(where P == AdmissionsProjection)
    @_specialize(where P == LedgerProjection)
    @_specialize(where P == RectificationsProjection)
    @_specialize(where P == RatingsProjection)
    func evict() {
        precondition(dirtyRows.isEmpty && dirtyTallies.isEmpty, "evicting unflushed rows")
        epoch &+= 1
        var rows = ContiguousArray<Entry>()
        rows.reserveCapacity(entries.count)
        swap(&rows, &entries)
        var sums = [Key: TallyEntry](minimumCapacity: tallies.count)
        swap(&sums, &tallies)
        Release.elsewhere((rows, sums))
    }

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
    @_specialize(where P == RequestsProjection)
    @_specialize(where P == AdmissionsProjection)
    @_specialize(where P == LedgerProjection)
    @_specialize(where P == RectificationsProjection)
    @_specialize(where P == RatingsProjection)
    func entryIndex(caseId: String, absentIfUncached: Bool, load: (Key) throws -> [UInt8]?) throws -> Int32 {
        let key = TableKey.row(bytes: caseId)
        let old = absentIfUncached ? nil : try load(key).map { bytes in try bytes.withUnsafeBytes { b in try Self.decodeRow(b, key.string) } }
        entries.append(Entry(key: key, row: old, contributions: old.map(projection.contributions(of:)) ?? []))
        return Int32(entries.count - 1)
    }

    /// Folds `event` into the cached row at `index`. Returns whether the case is one of this projection's.
    @discardableResult
    @_specialize(where P == RequestsProjection)
    @_specialize(where P == AdmissionsProjection)
    @_specialize(where P == LedgerProjection)
    @_specialize(where P == RectificationsProjection)
    @_specialize(where P == RatingsProjection)
    func apply(_ event: borrowing CaseEvent, entry index: Int32, load: (Key) throws -> [UInt8]?) throws -> Bool {
        let i = Int(index)
        if event.kind == .opened { entries[i].row = projection.open(event) }
        // Moved out, not copied, so that the row's strings and lists change in place. Nil: not a case
        // of this projection.
        guard var row = entries[i].row.take() else { return false }
        // What the row contributes to the tallies is worked out once per flush, not once per event.
        let added = projection.fold(&row, event)
        entries[i].row = consume row
        if !entries[i].dirty {
            entries[i].dirty = true
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
            let (p0, p1) = entries[Int(index)].key.prefix16
            return (p0: p0, p1: p1, index: index)
        }
        order.sort { a, b in
            a.p0 != b.p0 ? a.p0 < b.p0 : a.p1 != b.p1 ? a.p1 < b.p1 : entries[Int(a.index)].key < entries[Int(b.index)].key
        }
        var w = RowWriter()
        for (_, _, index) in order {
            let i = Int(index)
            entries[i].dirty = false
            let contributions = entries[i].row.map(projection.contributions(of:)) ?? []
            if contributions != entries[i].contributions {
                try tally(entries[i].contributions, sign: -1, load: load)
                try tally(contributions, sign: 1, load: load)
                entries[i].contributions = contributions
            }
            guard let row = entries[i].row else { try write(entries[i].key, nil); continue }
            w.removeAll()
            row.encode(into: &w)
            try write(entries[i].key, w.bytes)
        }
        dirtyTallies.sort()
        for key in dirtyTallies {
            let i = tallies.index(forKey: key)!
            tallies.values[i].dirty = false
            try write(key, tallies.values[i].tally.isEmpty ? nil : tallies.values[i].tally.encode())
        }
        dirtyRows.removeAll(keepingCapacity: true)
        dirtyTallies.removeAll(keepingCapacity: true)
    }
}

/// A value handed from one thread to another, moved rather than copied (so that storage it holds
/// alone stays unshared and is changed in place by its next holder).
final class Handoff<Value: Sendable>: Sendable {
    private let slot: Mutex<Value?>

    /// Holds `value`.
    init(_ value: consuming Value) { slot = Mutex(Optional(value)) }

    /// Takes the value out (nil if it was taken).
    func take() -> Value? { slot.withLock { $0.take() } }

    /// Puts a value in (in place of any held).
    func put(_ value: consuming Value) {
        var value = Optional(value)
        slot.withLock { $0 = value.take() }
    }
}

/// Frees memory on another thread.
enum Release {
    private static let queue = DispatchQueue(label: "casebook.release", qos: .userInitiated)
    private static let pending = Mutex(0)

    /// Drops `value` (holding the last references to what it holds) on a background queue, or here if
    /// the queue is still busy with the last one (so that what waits to be freed never adds up).
    static func elsewhere<T: Sendable>(_ value: consuming T) {
        let queued = pending.withLock { n in
            guard n == 0 else { return false }
            n += 1
            return true
        }
        guard queued else { return }
        let handoff = Handoff(value)
        queue.async {
            _ = handoff.take()
            pending.withLock { $0 -= 1 }
        }
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
    var epoch: UInt32 { get }
    func evict()
    func discard()
    func follows(_ workflow: String) -> Bool
    func entryIndex(caseId: String, absentIfUncached: Bool, load: (Key) throws -> [UInt8]?) throws -> Int32
    func apply(_ event: borrowing CaseEvent, entry index: Int32, load: (Key) throws -> [UInt8]?) throws -> Bool
    func flush(load: (Key) throws -> [UInt8]?, _ write: (Key, [UInt8]?) throws -> Void) throws
}

extension ProjectionRunner: AnyProjectionRunner {
    var name: String { P.name }
}
