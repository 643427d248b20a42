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
            var e = CaseEvent(kind: .opened, position: 0, at: 0)
            let id = scratch.events[0].caseId
            unpacker.unpack(scratch, 0, caseId: String(decoding: scratch.caseIds[Int(id.lowerBound)..<Int(id.upperBound)], as: UTF8.self), into: &e)
            return e
        }
    }
}
