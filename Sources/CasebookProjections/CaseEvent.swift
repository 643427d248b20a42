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
///
/// Its strings are made when they are read, from the words the event was read with: a projection reads
/// a few of them, and making all of them for every event cost more than folding it.
public struct CaseEvent: Sendable, CustomStringConvertible {
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
    /// A breach's deadline (ms since the epoch).
    public var breachDeadline: Int64?

    /// The other strings, as ids in `words` (-1: absent).
    var ids = WordRefs()
    /// The fields set and the clock operations, with their strings as ids in `words`.
    var packedFields: [PackedField] = []
    var packedClocks: [PackedClock] = []
    /// The words, by id (shared with the reader that made the event, not copied).
    var words: [String] = []

    /// Word ids of an event's strings.
    struct WordRefs: Sendable {
        var workflow: Int32 = -1, command: Int32 = -1, actor: Int32 = -1, role: Int32 = -1, state: Int32 = -1
        var check: Int32 = -1, breachedClock: Int32 = -1, flag: Int32 = -1, moveTo: Int32 = -1
    }

    /// An event of `kind` at `position` and time `at`, with no strings, fields or clock operations.
    public init(kind: Kind, position: UInt64, at: Int64) {
        self.kind = kind
        self.position = position
        self.at = at
    }

    @inline(__always) private func string(_ id: Int32) -> String { id >= 0 ? words[Int(id)] : "" }
    @inline(__always) private func optional(_ id: Int32) -> String? { id >= 0 ? words[Int(id)] : nil }

    /// The workflow (on `opened` only).
    public var workflow: String? { optional(ids.workflow) }
    /// The command (accepted, rejected).
    public var command: String { string(ids.command) }
    /// The actor's id.
    public var actor: String { string(ids.actor) }
    /// The actor's role.
    public var role: String { string(ids.role) }
    /// The state after the command, when the payload says.
    public var state: String? { optional(ids.state) }
    /// A refusal's check (e.g. `guard`, `state`).
    public var check: String? { optional(ids.check) }
    /// A breach: the clock and the flag it set.
    public var breachedClock: String? { optional(ids.breachedClock) }
    public var flag: String? { optional(ids.flag) }
    /// The state a breach moved the case to (absent when it moved nothing: the clock had stopped, late,
    /// or the case was already final).
    public var moveTo: String? { optional(ids.moveTo) }
    /// Fields set by the command, in payload order.
    public var set: Fields { Fields(packed: packedFields, words: words) }
    /// Clock operations.
    public var clocks: Clocks { Clocks(packed: packedClocks, words: words) }

    /// What it says, field by field (its strings as text, not as the words they were read as).
    public var description: String {
        "CaseEvent(kind: \(kind), position: \(position), at: \(at), caseId: \(caseId.debugDescription), "
            + "workflow: \(String(describing: workflow)), command: \(command.debugDescription), actor: \(actor.debugDescription), "
            + "role: \(role.debugDescription), state: \(String(describing: state)), check: \(String(describing: check)), "
            + "breachedClock: \(String(describing: breachedClock)), breachDeadline: \(String(describing: breachDeadline)), "
            + "flag: \(String(describing: flag)), moveTo: \(String(describing: moveTo)), set: \(Array(set)), clocks: \(clocks))"
    }

    /// The fields an event's command set, in payload order: each a name and its value.
    public struct Fields: RandomAccessCollection, Sendable {
        let packed: [PackedField]
        let words: [String]
        public var startIndex: Int { 0 }
        public var endIndex: Int { packed.count }
        public subscript(i: Int) -> (field: String, value: RecordedScalar) {
            let f = packed[i]
            let value: RecordedScalar
            switch f.value.tag {
            case .null: value = .null
            case .string: value = .string(words[Int(f.value.value)])
            case .int: value = .int(f.value.value)
            case .bool: value = .bool(f.value.value != 0)
            case .list: value = .list(count: Int(f.value.value))
            case .other: value = .other
            }
            return (words[Int(f.name)], value)
        }
    }

    /// An event's clock operations, in payload order.
    public struct Clocks: RandomAccessCollection, Sendable, CustomStringConvertible {
        let packed: [PackedClock]
        let words: [String]
        public var startIndex: Int { 0 }
        public var endIndex: Int { packed.count }
        public subscript(i: Int) -> RecordedClockOperation {
            let c = packed[i]
            return RecordedClockOperation(clock: c.clock >= 0 ? words[Int(c.clock)] : "", op: c.op >= 0 ? words[Int(c.op)] : "", deadline: c.deadline)
        }
        /// As a list of ``RecordedClockOperation`` prints.
        public var description: String { Array(self).description }
    }

    /// Reads an event; nil if it is not one of the engine's case events. To read many, a
    /// ``Reader`` is cheaper.
    public static func read(_ event: borrowing EventView) throws -> CaseEvent? {
        var reader = Reader()
        return try reader.read(event)
    }

    /// Reads case events one after another, reusing what it made for earlier ones: the strings it has
    /// met (field names, commands, workflows, actors, recurring values), which it would otherwise make
    /// anew for every event, and its scratch lists. What it reads is the same as ``CaseEvent/read(_:)``
    /// reads.
    public struct Reader {
        private var packer = PackedEventReader()
        private var unpacker = PackedEventUnpacker()
        private var scratch = PackedEvents()

        /// A reader that has met nothing yet.
        public init() {}

        /// Reads an event; nil if it is not one of the engine's case events.
        public mutating func read(_ event: borrowing EventView) throws -> CaseEvent? {
            scratch.removeAll()
            let isCaseEvent: Bool
            do {
                isCaseEvent = try packer.read(event, into: &scratch)
            } catch {
                // The words numbered before the payload turned out malformed are learnt all the same, so
                // that the next events' word ids still match.
                unpacker.take(scratch)
                throw error
            }
            unpacker.take(scratch)
            guard isCaseEvent else { return nil }
            let id = scratch.events[0].caseId
            unpacker.unpack(scratch, 0, caseId: String(decoding: scratch.caseIds[Int(id.lowerBound)..<Int(id.upperBound)], as: UTF8.self))
            return unpacker.event
        }
    }
}
