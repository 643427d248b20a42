/// A read model derived from the log: one row per case of the workflows it follows, and tallies
/// (aggregates) that are always the sum of what the rows contribute plus what events added.
///
/// Folding must be deterministic: it sees only the event (whose time came from the command), never
/// the clock, so the same events always give the same rows and tallies, byte for byte.
public protocol Projection: Sendable {
    /// Its per-case row.
    associatedtype Row: ProjectionRow
    /// Its name (`requests`, `admissions`, `ledger`, `rectifications`).
    static var name: String { get }
    /// The workflows whose cases it follows.
    static var workflows: Set<String> { get }
    /// Folds an event into the case's row (nil before the case's first event). Returns contributions
    /// that belong to the event rather than to the row's state (e.g. ledger postings in the month they
    /// happen); they are added once and never taken back.
    func fold(_ row: inout Row?, _ event: CaseEvent) -> [Contribution]
    /// What the row, as it stands, contributes to the tallies.
    func contributions(of row: Row) -> [Contribution]
}

/// Keys of a projection's table: case rows under `c`, tallies under other first parts.
enum TableKey {
    static func row(_ caseId: String) -> String { RowKey.make("c", caseId) }
}

/// Applies events to one projection through a write-back cache over its table.
final class ProjectionRunner<P: Projection> {
    let projection: P
    private var rows: [String: P.Row?] = [:]
    private var tallies: [String: Tally] = [:]
    private var dirtyRows: Set<String> = []
    private var dirtyTallies: Set<String> = []

    init(_ projection: P) { self.projection = projection }

    /// Entries held in memory.
    var cachedCount: Int { rows.count + tallies.count }

    /// Forgets everything cached (after a flush, or when another writer may have changed the table).
    func evict() {
        precondition(dirtyRows.isEmpty && dirtyTallies.isEmpty, "evicting unflushed rows")
        rows.removeAll(keepingCapacity: true)
        tallies.removeAll(keepingCapacity: true)
    }

    /// Forgets everything, flushed or not (after a transaction was aborted).
    func discard() {
        dirtyRows.removeAll()
        dirtyTallies.removeAll()
        evict()
    }

    func apply(_ event: CaseEvent, load: (String) throws -> [UInt8]?) throws {
        if event.kind == .opened {
            guard let workflow = event.workflow, P.workflows.contains(workflow) else { return }
        }
        let key = TableKey.row(event.caseId)
        let old: P.Row?
        if let cached = rows[key] {
            old = cached
        } else {
            old = try load(key).map { bytes in try bytes.withUnsafeBytes { b in try Self.decodeRow(b, key) } }
            rows[key] = .some(old)
        }
        if old == nil && event.kind != .opened { return }  // not a case of this projection
        var new = old
        let added = projection.fold(&new, event)
        if new != old {
            if let old { try tally(projection.contributions(of: old), sign: -1, load: load) }
            if let new { try tally(projection.contributions(of: new), sign: 1, load: load) }
            rows[key] = .some(new)
            dirtyRows.insert(key)
        }
        if !added.isEmpty { try tally(added, sign: 1, load: load) }
    }

    static func decodeRow(_ b: UnsafeRawBufferPointer, _ key: String) throws -> P.Row {
        var r = RowReader(b)
        let row = P.Row(from: &r)
        guard r.isComplete else { throw MalformedRow(projection: P.name, key: key) }
        return row
    }

    private func tally(_ contributions: [Contribution], sign: Int64, load: (String) throws -> [UInt8]?) throws {
        for c in contributions {
            var t: Tally
            if let cached = tallies[c.key] {
                t = cached
            } else if let bytes = try load(c.key) {
                guard let stored = bytes.withUnsafeBytes({ Tally($0) }) else { throw MalformedRow(projection: P.name, key: c.key) }
                t = stored
            } else {
                t = Tally(counters: [])
            }
            t.add(c.tally, sign: sign)
            tallies[c.key] = t
            dirtyTallies.insert(c.key)
        }
    }

    /// Hands every changed row and tally to `write` (nil: delete), in key order, and marks them clean.
    func flush(_ write: (String, [UInt8]?) throws -> Void) throws {
        for key in dirtyRows.sorted() {
            guard let row = rows[key] ?? nil else { try write(key, nil); continue }
            var w = RowWriter()
            row.encode(into: &w)
            try write(key, w.bytes)
        }
        for key in dirtyTallies.sorted() {
            let t = tallies[key]!
            try write(key, t.isEmpty ? nil : t.encode())
        }
        dirtyRows.removeAll(keepingCapacity: true)
        dirtyTallies.removeAll(keepingCapacity: true)
    }
}

/// The projection runner, without its row type.
protocol AnyProjectionRunner: AnyObject {
    var name: String { get }
    var cachedCount: Int { get }
    func evict()
    func discard()
    func apply(_ event: CaseEvent, load: (String) throws -> [UInt8]?) throws
    func flush(_ write: (String, [UInt8]?) throws -> Void) throws
}

extension ProjectionRunner: AnyProjectionRunner {
    var name: String { P.name }
}
