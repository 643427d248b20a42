import CasebookLog
import Foundation
import CasebookWorkflow

/// A scalar as the engine recorded it in a payload. Sealed personal data and lists are not kept
/// (projections never hold personal data); a list is kept as its length.
public enum RecordedScalar: Sendable, Hashable {
    case null
    case string(String)
    case int(Int64)
    case bool(Bool)
    /// A list, by its number of elements.
    case list(count: Int)
    /// Anything else (sealed personal data, objects).
    case other

    /// The string, if this is one.
    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    /// The integer, if this is one.
    public var int: Int64? { if case .int(let i) = self { return i } else { return nil } }
    /// The boolean, if this is one.
    public var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }
}

/// One clock operation recorded with a command: which clock, what happened, and the deadline it
/// left (present while the clock runs).
public struct RecordedClockOperation: Sendable, Hashable {
    /// The clock's name.
    public var clock: String
    /// start, pause, resume or stop.
    public var op: String
    /// The deadline after the operation (ms since the epoch), when the engine recorded one.
    public var deadline: Int64?
}

/// What projections read of an engine event on a case stream: the event's kind, position and time
/// (the envelope's recorded-at, which the engine sets to the command's time), and the payload fields
/// the projections use.
public struct CaseEvent: Sendable {
    /// The engine event types projections follow.
    public enum Kind: Sendable, Hashable {
        case opened, accepted, rejected, breached, migrated, erased
    }
    /// Which engine event this is.
    public var kind: Kind
    /// Its global position.
    public var position: UInt64
    /// Its time (ms since the epoch).
    public var at: Int64
    /// The case.
    public var caseId: String = ""
    /// The workflow (on `opened` only).
    public var workflow: String?
    /// The command (accepted, rejected).
    public var command: String = ""
    /// The actor's id and role.
    public var actor: String = ""
    public var role: String = ""
    /// The state after the command, when the payload says.
    public var state: String?
    /// Fields set by the command, in payload order.
    public var set: [(field: String, value: RecordedScalar)] = []
    /// Clock operations.
    public var clocks: [RecordedClockOperation] = []
    /// A refusal's check (e.g. `guard`, `state`).
    public var check: String?
    /// A breach: the clock, its deadline and the flag it set.
    public var breachedClock: String?
    public var breachDeadline: Int64?
    public var flag: String?
    /// The state a breach moved the case to (absent when it moved nothing: the clock had stopped, late,
    /// or the case was already final).
    public var moveTo: String?

    /// Reads an event; nil if it is not one of the engine's case events. To read many, a
    /// ``Reader`` is cheaper.
    public static func read(_ event: borrowing EventView) throws -> CaseEvent? {
        var reader = Reader()
        return try reader.read(event)
    }

    /// Reads case events one after another, reusing what it made for earlier ones: the longer strings
    /// it has met (field names, commands, workflows, actors, recurring values), which it would
    /// otherwise allocate anew for every event, and its scratch lists. What it reads is the same as
    /// ``CaseEvent/read(_:)`` reads.
    public struct Reader {
        private var words = ReusedStrings()
        private var fields: [(field: String, value: RecordedScalar)] = []
        private var clocks: [RecordedClockOperation] = []

        /// A reader that has met nothing yet.
        public init() {}

        /// Reads an event; nil if it is not one of the engine's case events.
        public mutating func read(_ event: borrowing EventView) throws -> CaseEvent? {
            let kind: Kind
            if event.typeIs("case.command-accepted") { kind = .accepted }
            else if event.typeIs("case.opened") { kind = .opened }
            else if event.typeIs("case.command-rejected") { kind = .rejected }
            else if event.typeIs("clock.breached") { kind = .breached }
            else if event.typeIs("case.migrated") { kind = .migrated }
            else if event.typeIs("subject.erased") { kind = .erased }
            else { return nil }
            var e = CaseEvent(kind: kind, position: event.position, at: event.recordedAt.millisecondsSince1970)
            let payload = event.payload
            let j = JSONScanner(payload)
            // The helpers return where the value they read ends, when reading it went through it, so
            // that the scanner carries on from there instead of looking through it again.
            func read(_ v: Int, into target: inout String?) throws -> Int? {
                guard let (s, end) = try j.stringAndEnd(v, plain: { words.string($0) }) else { target = nil; return nil }
                target = s
                return end
            }
            func read(_ v: Int, into target: inout String) throws -> Int? {
                guard let (s, end) = try j.stringAndEnd(v, plain: { words.string($0) }) else { target = ""; return nil }
                target = s
                return end
            }
            func read(_ v: Int, time target: inout Int64?) throws -> Int? {
                guard let (s, end) = try j.stringAndEnd(v) else { target = nil; return nil }
                target = Timestamp(iso8601: s)?.millisecondsSince1970
                return end
            }
            func scalar(_ v: Int) throws -> (RecordedScalar, end: Int?) {
                switch v < payload.count ? payload[v] : 0 {
                case UInt8(ascii: "\""):
                    var s = ""
                    let end = try read(v, into: &s)
                    return (.string(s), end)
                case UInt8(ascii: "t"), UInt8(ascii: "f"): return (.bool(j.bool(v)!), nil)
                case UInt8(ascii: "n"): return (.null, nil)
                case UInt8(ascii: "["):
                    var n = 0
                    let end = try j.elements(v) { _ in n += 1; return nil }
                    return (.list(count: n), end)
                case UInt8(ascii: "{"): return (.other, nil)
                default: return (j.int(v).map(RecordedScalar.int) ?? .other, nil)
                }
            }
            try j.members(0) { ks, ke, v in
                switch ke - ks {
                case 3 where j.equals(ks, ke, "set"):
                    fields.removeAll(keepingCapacity: true)
                    let end = try j.members(v) { fs, fe, fv in
                        let (value, end) = try scalar(fv)
                        fields.append((words.string(UnsafeRawBufferPointer(rebasing: payload[fs..<fe])), value))
                        return end
                    }
                    // A copy of the exact size, so that the scratch list stays unshared. (`Array(fields[...])`
                    // shares the scratch list's storage, at its full capacity, and the next removeAll then
                    // allocates another of that capacity.)
                    if !fields.isEmpty { e.set = fields.withUnsafeBufferPointer(Array.init) }
                    return end
                case 4 where j.equals(ks, ke, "case"): return try read(v, into: &e.caseId)
                case 4 where j.equals(ks, ke, "role"): return try read(v, into: &e.role)
                case 4 where j.equals(ks, ke, "flag"): return try read(v, into: &e.flag)
                case 5 where j.equals(ks, ke, "state"): return try read(v, into: &e.state)
                case 5 where j.equals(ks, ke, "actor"): return try read(v, into: &e.actor)
                case 5 where j.equals(ks, ke, "check"): return try read(v, into: &e.check)
                case 5 where j.equals(ks, ke, "clock"): return try read(v, into: &e.breachedClock)
                case 6 where j.equals(ks, ke, "moveTo"): return try read(v, into: &e.moveTo)
                case 6 where j.equals(ks, ke, "clocks"):
                    clocks.removeAll(keepingCapacity: true)
                    let end = try j.elements(v) { o in
                        var op = RecordedClockOperation(clock: "", op: "", deadline: nil)
                        let end = try j.members(o) { cs, ce, cv in
                            if j.equals(cs, ce, "clock") { return try read(cv, into: &op.clock) }
                            if j.equals(cs, ce, "op") { return try read(cv, into: &op.op) }
                            if j.equals(cs, ce, "deadline") { return try read(cv, time: &op.deadline) }
                            return nil
                        }
                        clocks.append(op)
                        return end
                    }
                    if !clocks.isEmpty { e.clocks = clocks.withUnsafeBufferPointer(Array.init) }
                    return end
                case 7 where j.equals(ks, ke, "command"): return try read(v, into: &e.command)
                case 8 where j.equals(ks, ke, "workflow"): return try read(v, into: &e.workflow)
                case 8 where j.equals(ks, ke, "deadline"): return try read(v, time: &e.breachDeadline)
                default: return nil
                }
            }
            return e
        }
    }
}
