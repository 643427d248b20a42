import CasebookLog
import Foundation

/// Errors of the engine itself (as opposed to a refused command, which is a ``Rejection``).
public enum EngineError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No published workflow has this name.
    case unknownWorkflow(String, published: [String])
    /// No published definition has this hash.
    case unknownDefinition(String)
    /// The case does not exist.
    case unknownCase(String)
    /// A record in the log cannot be read as the engine wrote it.
    case corrupt(String)
    /// The case kept changing under the command; it was tried this many times.
    case conflict(caseId: String, attempts: Int)
    /// Time arithmetic needs a calendar year that is not in the workflow's calendar.
    case calendar(String)

    public var description: String {
        switch self {
        case let .unknownWorkflow(name, published):
            return "no published workflow '\(name)'" + (published.isEmpty ? " (none is published: run `casebook workflow publish`)" : "; published: \(published.joined(separator: ", "))")
        case .unknownDefinition(let hash): return "no published definition with hash \(hash)"
        case .unknownCase(let id): return "no case '\(id)'"
        case .corrupt(let what): return "corrupt record: \(what)"
        case let .conflict(id, attempts): return "case '\(id)' changed under the command \(attempts) times; try again"
        case .calendar(let what): return what
        }
    }
}

/// Event types the engine writes on a case's stream.
public enum CaseEventType {
    /// The case was opened by an opening command.
    public static let opened = "case.opened"
    /// A command was accepted.
    public static let commandAccepted = "case.command-accepted"
    /// A command was refused (recorded: "I applied and was refused" must be provable).
    public static let commandRejected = "case.command-rejected"
    /// A clock passed its deadline (recorded exactly once per deadline).
    public static let clockBreached = "clock.breached"
    /// A case opened by an effect was linked into a reference field.
    public static let linked = "case.linked"
    /// The case's data subject was erased: its personal data can no longer be read.
    public static let subjectErased = "subject.erased"
    /// A command was accepted but one of its effects on another case failed (it can be re-driven).
    public static let effectFailed = "case.effect-failed"
    /// The case was moved, by an explicit command, to another published definition.
    public static let migrated = "case.migrated"

    /// Whether the engine alone writes events of this type: every `case.` type (those above, and any it
    /// adds), clock breaches and erasures. It replays them, and projections fold them, trusting that it
    /// wrote them.
    public static func isWrittenByEngineAlone(_ type: String) -> Bool {
        type.hasPrefix("case.") || type == clockBreached || type == subjectErased
    }
}

/// Reads sealed personal data: given the subject and the ciphertext, the plaintext JSON, or nil if the
/// subject's key is gone.
public typealias PersonalDataReader = (_ subject: String, _ ciphertext: String) throws -> String?

/// How personal data appears in event payloads: `{"pii": "<subject>", "ct": "<base64>"}`.
public enum PersonalData {
    /// The subject a case's personal data belongs to.
    public static func subject(ofCase caseId: String) -> String { "case:\(caseId)" }

    /// The sealed form of a JSON value.
    public static func seal(_ value: JSONValue, subject: String, vault: KeyVault) throws -> JSONValue {
        .object(["pii": .string(subject), "ct": .string(try vault.seal(value.json, subject: subject))])
    }

    /// What tools and refusals show in place of a personal-data value.
    public static let placeholder = "[personal data]"

    /// `json` with every sealed value (at any depth) replaced by ``placeholder``.
    public static func redacting(_ json: JSONValue) -> JSONValue {
        if sealed(json) != nil { return .string(placeholder) }
        switch json {
        case .object(let o): return .object(o.mapValues(redacting))
        case .array(let a): return .array(a.map(redacting))
        default: return json
        }
    }

    /// The subject and ciphertext of a sealed value, or nil if `json` is not one.
    public static func sealed(_ json: JSONValue) -> (subject: String, ciphertext: String)? {
        guard let o = json.object, o.count == 2, let s = o["pii"]?.string, let c = o["ct"]?.string else { return nil }
        return (s, c)
    }
}

/// A case as its events leave it. Deterministic: the same events always give the same state.
public struct CaseState: Sendable, Equatable {
    /// The case id.
    public var caseId: String
    /// The workflow's name.
    public var workflow: String = ""
    /// The definition hash the case is pinned to.
    public var definitionHash: String = ""
    /// The definition's version number.
    public var definitionVersion: Int = 0
    /// Whether an opening command was accepted.
    public var isOpen = false
    /// The current state.
    public var state: String = ""
    /// Case data.
    public var data: [String: Value] = [:]
    /// Clocks by name.
    public var clocks: [String: ClockState] = [:]
    /// Deadlines already breached, by clock (so each fires once).
    public var breaches: [String: Timestamp] = [:]
    /// Personal-data fields whose value can no longer be read (the subject was erased, or no key reader
    /// was given).
    public var redacted: Set<String> = []
    /// The version of the case stream's last event (nil: no events).
    public var streamVersion: UInt64?
    /// Commands accepted.
    public var accepted = 0
    /// Commands refused.
    public var rejected = 0
    /// When the case was opened and last changed.
    public var openedAt: Timestamp?
    /// The time of the last accepted command or breach.
    public var updatedAt: Timestamp?

    /// An empty (not yet opened) case.
    public init(caseId: String) { self.caseId = caseId }

    /// The stream a case's events are kept on.
    public static func stream(_ caseId: String) -> String { "case-\(caseId)" }

    /// Folds one event. `definition` resolves the pinned definition (needed to read typed values).
    public mutating func apply(
        _ event: RecordedEvent, definition: (String) throws -> CompiledWorkflow, reveal: PersonalDataReader? = nil
    ) throws {
        guard Self.folds(event.type) else {
            streamVersion = event.streamVersion
            return  // domain events emitted alongside are for projections
        }
        let payload = (try? event.payload.withUnsafeBytes { bytes throws(JSONSyntaxError) in try CasePayload.parse(bytes) }) ?? nil
        try applyFolded(type: event.type, payload: payload, streamVersion: event.streamVersion, position: event.position,
                        definition: definition, reveal: reveal)
    }

    /// Folds one event read in place, as ``apply(_:definition:reveal:)`` folds a copied one.
    public mutating func apply(
        _ event: borrowing EventView, definition: (String) throws -> CompiledWorkflow, reveal: PersonalDataReader? = nil
    ) throws {
        // Lengths first: most types differ in length from most folded ones.
        guard let type = Self.foldedTypeList.first(where: { $0.utf8.count == event.type.count && $0.utf8.elementsEqual(event.type) }) else {
            streamVersion = event.streamVersion
            return  // domain events emitted alongside are for projections
        }
        let payload = (try? CasePayload.parse(event.payload)) ?? nil
        try applyFolded(type: type, payload: payload, streamVersion: event.streamVersion, position: event.position,
                        definition: definition, reveal: reveal)
    }

    /// Folds one event given by its type, place and payload as the caller read it (nil: not a JSON object), so
    /// that a tool reading the payload too reads it once.
    public mutating func apply(
        type: String, payload: CasePayload?, streamVersion version: UInt64, position: UInt64,
        definition: (String) throws -> CompiledWorkflow, reveal: PersonalDataReader? = nil
    ) throws {
        guard Self.folds(type) else {
            streamVersion = version
            return  // domain events emitted alongside are for projections
        }
        try applyFolded(type: type, payload: payload, streamVersion: version, position: position, definition: definition, reveal: reveal)
    }

    /// Folds an event of a type that ``folds(_:)``.
    private mutating func applyFolded(
        type: String, payload: CasePayload?, streamVersion version: UInt64, position: UInt64,
        definition: (String) throws -> CompiledWorkflow, reveal: PersonalDataReader?
    ) throws {
        guard let payload else {
            throw EngineError.corrupt("case '\(caseId)' event at position \(position) is not a JSON object")
        }
        streamVersion = version
        try fold(type: type, payload: payload, position: position, definition: definition, reveal: reveal)
    }

    /// Whether events of `type` change the case when folded (others only advance its stream version).
    public static func folds(_ type: String) -> Bool { foldedTypes.contains(type) }

    static let foldedTypes = Set(foldedTypeList)
    static let foldedTypeList = [
        CaseEventType.opened, CaseEventType.commandAccepted, CaseEventType.commandRejected, CaseEventType.clockBreached, CaseEventType.linked,
        CaseEventType.subjectErased, CaseEventType.migrated,
    ]

    /// Folds an event given as its type and decoded payload (the engine uses this for the events it has
    /// just appended, instead of reading them back).
    public mutating func apply(
        type: String, payload: [String: JSONValue], streamVersion version: UInt64, position: UInt64,
        definition: (String) throws -> CompiledWorkflow, reveal: PersonalDataReader? = nil
    ) throws {
        try apply(type: type, payload: CasePayload(payload), streamVersion: version, position: position, definition: definition, reveal: reveal)
    }

    /// Folds an event of a type that `folds`, given its decoded payload (its stream version already set).
    private mutating func fold(
        type: String, payload: CasePayload, position: UInt64, definition: (String) throws -> CompiledWorkflow,
        reveal: PersonalDataReader?
    ) throws {
        let event = (type: type, position: position)
        func string(_ value: String?, _ key: String) throws -> String {
            guard let value else { throw EngineError.corrupt("case '\(caseId)' event at \(event.position) lacks '\(key)'") }
            return value
        }
        func time(_ value: String?, _ key: String) throws -> Timestamp {
            guard let t = Timestamp(iso8601: try string(value, key)) else { throw EngineError.corrupt("case '\(caseId)' event at \(event.position): bad time in '\(key)'") }
            return t
        }
        switch event.type {
        case CaseEventType.commandRejected:
            rejected += 1
            return
        case CaseEventType.opened:
            definitionHash = try string(payload.definition, "definition")
            let compiled = try definition(definitionHash)
            workflow = compiled.definition.name
            definitionVersion = compiled.definition.version
            isOpen = true
            let at = try time(payload.at, "at")
            openedAt = at
            try applyChanges(payload, compiled, at: at, reveal: reveal)
            accepted += 1
        case CaseEventType.commandAccepted:
            try applyChanges(payload, try definition(definitionHash), at: try time(payload.at, "at"), reveal: reveal)
            accepted += 1
        case CaseEventType.subjectErased:
            let compiled = try definition(definitionHash)
            for field in compiled.definition.fields where field.pii && data[field.name] != nil {
                data[field.name] = .null
                redacted.insert(field.name)
            }
        case CaseEventType.migrated:
            definitionHash = try string(payload.to, "to")
            let compiled = try definition(definitionHash)
            definitionVersion = compiled.definition.version
            accepted += 1
            updatedAt = try time(payload.at, "at")
        case CaseEventType.linked:
            data[try string(payload.field, "field")] = .string(try string(payload.linked, "linked"))
        case CaseEventType.clockBreached:
            let clock = try string(payload.clock, "clock")
            let deadline = try time(payload.deadline, "deadline")
            breaches[clock] = deadline
            if let move = payload.moveTo { state = move }
            if let flag = payload.flag { data[flag] = .boolean(true) }
            updatedAt = deadline
        default:
            return
        }
    }

    private mutating func applyChanges(
        _ payload: CasePayload, _ compiled: CompiledWorkflow, at: Timestamp, reveal: PersonalDataReader?
    ) throws {
        if let to = payload.state { state = to }
        for (field, json) in payload.set {
            guard let type = compiled.fieldTypes[field] else {
                throw EngineError.corrupt("case '\(caseId)': '\(field)' is not a field of \(compiled.definition.name)")
            }
            var value = json
            if let sealed = PersonalData.sealed(json) {
                // Personal data: readable only while the subject's key exists.
                guard let text = try reveal?(sealed.subject, sealed.ciphertext), let plain = try? JSONValue.parse(text) else {
                    data[field] = .null
                    redacted.insert(field)
                    continue
                }
                value = plain
            }
            do {
                data[field] = try ValueCoding.decode(value, as: type, field: field)
                if !redacted.isEmpty { redacted.remove(field) }
            } catch {
                throw EngineError.corrupt("case '\(caseId)': \(error)")
            }
        }
        for op in payload.clocks {
            guard let o = op.object, let name = o["clock"]?.string, let kindText = o["op"]?.string,
                  let kind = ClockOperation.Kind(rawValue: kindText), let spec = compiled.definition.clock(name)
            else { throw EngineError.corrupt("case '\(caseId)': unreadable clock operation \(op)") }
            var clock = clocks[name] ?? ClockState()
            do {
                switch kind {
                case .start:
                    // The budget the command recorded, if it did (events before budgets were recorded: the definition's).
                    var budget = ClockBudget(spec.budget)
                    if let text = o["budget"]?.string {
                        guard let recorded = ClockBudget(recorded: text) else {
                            throw EngineError.corrupt("case '\(caseId)': clock '\(name)': unreadable budget '\(text)'")
                        }
                        budget = recorded
                    }
                    clock = ClockState()
                    try clock.start(at: at, budget: budget)
                    breaches[name] = nil
                case .pause: try clock.pause(at: at)
                case .resume: try clock.resume(at: at)
                case .stop: try clock.stop(at: at)
                }
            } catch {
                throw EngineError.corrupt("case '\(caseId)': clock '\(name)': \(error)")
            }
            clocks[name] = clock
        }
        updatedAt = at
    }
}

extension ClockBudget {
    /// Reads a budget as the engine records it (``description``: `3 working days`, `1 hour`, `0 calendar days`).
    public init?(recorded text: String) {
        let parts = text.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2, let n = Int(parts[0]), (0...ClockBudget.maximumAmount).contains(n), String(n) == parts[0] else { return nil }
        switch parts[1] {
        case "working days", "working day": self = .workingDays(n)
        case "calendar days", "calendar day": self = .calendarDays(n)
        case "hours", "hour": self = .hours(n)
        default: return nil
        }
    }

    /// The runtime budget for a budget as written in a definition.
    public init(_ spec: ClockBudgetSpec) {
        switch spec.unit {
        case .workingDays: self = .workingDays(spec.amount)
        case .calendarDays: self = .calendarDays(spec.amount)
        case .hours: self = .hours(spec.amount)
        }
    }
}
