import CasebookLog
import CasebookWorkflow
import Foundation

/// Where a replay stops: after a log position, or after the last event recorded at or before a time.
public enum ReplayPoint: Sendable, Hashable, CustomStringConvertible {
    /// Every event of the case at or before this global position.
    case position(UInt64)
    /// Every event of the case recorded at or before this time.
    case time(Timestamp)

    /// Parses a position (digits) or an ISO 8601 time; nil for anything else.
    public init?(_ text: String) {
        if !text.isEmpty, text.allSatisfy(\.isASCII), text.allSatisfy(\.isNumber), let p = UInt64(text) {
            self = .position(p)
        } else if let t = Timestamp(iso8601: text) {
            self = .time(t)
        } else {
            return nil
        }
    }

    /// True if the timeline step lies at or before the point.
    public func includes(_ step: TimelineStep) -> Bool { includes(position: step.position, at: step.at) }

    /// True if an event at `position`, recorded at `time`, lies at or before the point.
    public func includes(position: UInt64, at time: Timestamp) -> Bool {
        switch self {
        case .position(let p): return position <= p
        case .time(let t): return time <= t
        }
    }

    public var description: String {
        switch self {
        case .position(let p): return "position \(p)"
        case .time(let t): return t.iso8601
        }
    }
}

/// One clock of a case as it stood after a step.
public struct ClockSnapshot: Sendable, Hashable {
    /// The clock's name.
    public var name: String
    /// Its budget (e.g. `3 working days`), once started.
    public var budget: String?
    /// `not started`, `running`, `paused` or `stopped`.
    public var status: String
    /// When it is due (ISO 8601), if it runs (or is paused after its deadline); nil otherwise.
    public var deadline: Timestamp?
    /// The deadline already recorded as breached, if any.
    public var breachedAt: Timestamp?
    /// Milliseconds spent paused so far.
    public var pausedMilliseconds: Int64

    /// Takes the snapshot of `clock` at `time` under `calendar`.
    public init(name: String, clock: ClockState, calendar: WorkingCalendar?, breachedAt: Timestamp?, at time: Timestamp) {
        self.name = name
        budget = clock.budget?.description
        status = !clock.isStarted ? "not started" : clock.isStopped ? "stopped" : clock.isPaused ? "paused" : "running"
        deadline = calendar.flatMap { try? clock.deadline(calendar: $0) }
        self.breachedAt = breachedAt
        pausedMilliseconds = clock.pausedDuration(at: time)
    }

    /// The snapshot as JSON.
    public var json: JSONValue {
        var o: [String: JSONValue] = ["clock": .string(name), "status": .string(status), "pausedMilliseconds": .int(pausedMilliseconds)]
        o["budget"] = budget.map(JSONValue.string) ?? .null
        o["deadline"] = deadline.map { .string($0.iso8601) } ?? .null
        o["breached"] = breachedAt.map { .string($0.iso8601) } ?? .null
        return .object(o)
    }

    /// One line of text, e.g. `completion: running, 3 working days, due 2026-02-17T16:00:00.000Z`.
    public var text: String {
        var parts = ["\(name): \(status)"]
        if let budget { parts.append(budget) }
        if let deadline { parts.append("due \(deadline.iso8601)") }
        if pausedMilliseconds > 0 { parts.append("paused \(Self.duration(pausedMilliseconds)) so far") }
        if let breachedAt { parts.append("BREACHED at \(breachedAt.iso8601)") }
        return parts.joined(separator: ", ")
    }

    static func duration(_ ms: Int64) -> String {
        let hours = ms / 3_600_000
        return hours >= 48 ? "\(hours / 24) days" : hours >= 1 ? "\(hours) h" : "\(ms / 60_000) min"
    }
}

/// The clocks of a case step after step (``CaseTimeline/clocks(_:calendar:at:)``), computing a clock's deadline
/// again only when the clock, its breach or the definition (its calendar) changed: the deadline depends on
/// nothing else. The time spent paused also depends on the step's time, so it is worked out again at every
/// step for any clock that has paused.
struct ClockSnapshots {
    private var last: [ClockSnapshot] = []
    private var lastClocks: [String: ClockState] = [:]
    private var lastBreaches: [String: Timestamp] = [:]
    private var lastDefinition = ""
    private var byName: [String: (clock: ClockState, definition: String, snapshot: ClockSnapshot)] = [:]

    /// The clocks of `state` (running under `definition`, whose calendar is `calendar`) at `time`, sorted by name.
    mutating func take(_ state: CaseState, definition: String, calendar: WorkingCalendar?, at time: Timestamp) -> [ClockSnapshot] {
        if state.clocks == lastClocks, state.breaches == lastBreaches, definition == lastDefinition {
            // Nothing changed but the time: only the time spent paused may have.
            for i in last.indices {
                let clock = state.clocks[last[i].name]!
                if !clock.pauses.isEmpty { last[i].pausedMilliseconds = clock.pausedDuration(at: time) }
            }
            return last
        }
        last = state.clocks.keys.sorted().map { name in
            let clock = state.clocks[name]!
            if let known = byName[name], known.clock == clock, known.definition == definition {
                var snapshot = known.snapshot
                snapshot.breachedAt = state.breaches[name]
                snapshot.pausedMilliseconds = clock.pausedDuration(at: time)
                return snapshot
            }
            let snapshot = ClockSnapshot(name: name, clock: clock, calendar: calendar, breachedAt: state.breaches[name], at: time)
            byName[name] = (clock, definition, snapshot)
            return snapshot
        }
        lastClocks = state.clocks
        lastBreaches = state.breaches
        lastDefinition = definition
        return last
    }
}

/// A definition a timeline's case ran under, with what the timeline works out from it once: its commands' plans.
final class DefinitionContext {
    let hash: String
    let compiled: CompiledWorkflow
    private var plans: [String: CommandPlan?] = [:]

    init(hash: String, compiled: CompiledWorkflow) {
        self.hash = hash
        self.compiled = compiled
    }

    private var last: (name: String, plan: CommandPlan?)?

    /// The plan of the command called `name`, or nil if the definition has no such command.
    func plan(_ name: String) -> CommandPlan? {
        // Long cases repeat a command many times in a row: compare with the last name before hashing.
        if let last, last.name == name { return last.plan }
        let plan = lookUp(name)
        last = (name, plan)
        return plan
    }

    private func lookUp(_ name: String) -> CommandPlan? {
        if let known = plans[name] { return known }
        let plan = compiled.definition.command(name).map { CommandPlan($0, compiled: compiled) }
        plans[name] = plan
        return plan
    }
}

/// What showing and explaining one command needs from its definition.
final class CommandPlan {
    /// The command's data fields that are personal data, each name as its first declaration says
    /// (as a lookup by name finds it).
    let personalData: [String]
    /// The case fields that are personal data.
    let casePII: Set<String>
    /// The command's data fields declared personal data.
    let dataPII: Set<String>
    /// The command's data types by name (the first declaration of a name).
    let dataTypes: [String: FieldType]
    /// The command's guards, as the workflow compiled them.
    let guards: [(Guard, CasebookWorkflow.Expression)]

    init(_ command: CommandDefinition, compiled: CompiledWorkflow) {
        let d = compiled.definition
        var names: [String] = [], seen: Set<String> = []
        for field in command.data where seen.insert(field.name).inserted {
            if field.pii { names.append(field.name) }
        }
        personalData = names
        casePII = Set(d.fields.filter(\.pii).map(\.name))
        dataPII = Set(command.data.filter(\.pii).map(\.name))
        dataTypes = Dictionary(command.data.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
        guards = compiled.guards(of: command.name)
    }
}

/// The last `.`-separated component of `name` that is not empty (`case.x` → `x`), or `name` if there is none:
/// `name.split(separator: ".").last ?? name`, reading ASCII names byte by byte.
func lastComponent(_ name: String) -> String {
    let bytes = name.utf8
    guard bytes.allSatisfy({ $0 < 0x80 }) else { return name.split(separator: ".").last.map(String.init) ?? name }
    var end = bytes.endIndex
    while end > bytes.startIndex, bytes[bytes.index(before: end)] == UInt8(ascii: ".") { end = bytes.index(before: end) }
    guard end > bytes.startIndex else { return name }
    var start = end
    while start > bytes.startIndex, bytes[bytes.index(before: start)] != UInt8(ascii: ".") { start = bytes.index(before: start) }
    if start == bytes.startIndex && end == bytes.endIndex { return name }
    return String(name[start..<end])
}

/// One line of an explanation: a guard with the values it saw, or a decision table's rule and outputs.
public struct ExplanationLine: Sendable, Hashable {
    /// `guard`, `decision` or `refusal`.
    public var kind: String
    /// The guard's source, the table's name, or the failed check.
    public var subject: String
    /// The guard's value (`true`, `false`, `null`), the matched rule or item, or the refusal's reason.
    public var outcome: String
    /// The names read and the values seen (personal data shown as ``PersonalData/placeholder``).
    public var values: [(name: String, value: String)]

    public static func == (a: ExplanationLine, b: ExplanationLine) -> Bool {
        a.kind == b.kind && a.subject == b.subject && a.outcome == b.outcome
            && a.values.map(\.name) == b.values.map(\.name) && a.values.map(\.value) == b.values.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(kind)
        hasher.combine(subject)
        hasher.combine(outcome)
    }

    /// The line as JSON.
    public var json: JSONValue {
        .object([
            "kind": .string(kind), "subject": .string(subject), "outcome": .string(outcome),
            "values": .object(Dictionary(values.map { ($0.name, JSONValue.string($0.value)) }, uniquingKeysWith: { a, _ in a })),
        ])
    }
}

/// One event of a case's timeline, with the case as it stood afterwards.
public struct TimelineStep: Sendable {
    /// The event's global position.
    public var position: UInt64
    /// Its version in the case stream.
    public var streamVersion: UInt64
    /// The event type.
    public var type: String
    /// When it was recorded.
    public var at: Timestamp
    /// Who caused it (`role:id` as recorded on the envelope).
    public var actor: String
    /// The actor's role, as the payload records it.
    public var role: String?
    /// The command, for opened / accepted / refused commands.
    public var command: String?
    /// `opened`, `accepted`, `refused`, `breach`, `linked`, `targeted` (cases a `send … to-cases-of` chose),
    /// `migrated`, `erased`, `effect-failed` or `event`.
    public var outcome: String
    /// The command's data, each value as text (personal data as ``PersonalData/placeholder``).
    public var data: [String: String]
    /// The names of `data` that are personal data.
    public var personalFields: [String]
    /// The definition hash the case ran under at this step.
    public var definitionHash: String
    /// That definition's version.
    public var definitionVersion: Int
    /// The state before the step.
    public var from: String
    /// The state after the step.
    public var to: String
    /// For a refusal: the failed check and reason.
    public var refusal: String?
    /// Guards and decisions that applied, with the values they saw (``CaseTimeline/build`` with `explain`).
    public var explanation: [ExplanationLine]
    /// The clocks after the step.
    public var clocks: [ClockSnapshot]
    /// The case after the step.
    public var state: CaseState
}

/// A case's timeline: its own stream folded one event at a time with `CaseState.apply`, under the
/// definitions the events ran under.
public struct CaseTimeline: Sendable {
    /// The case id.
    public var caseId: String
    /// The steps, in stream order.
    public var steps: [TimelineStep]
    /// The case after the last step (an unopened case if there are none).
    public var final: CaseState
    /// The case fields that are personal data under any definition the case ran under (always redacted in output).
    public var personalCaseFields: Set<String> = []

    /// Builds the timeline of `caseId` from `store`, up to `until` (everything if nil). With `explain`,
    /// each command's guards are evaluated again (with the pinned definition's guard expressions, against the
    /// case as it stood before the command) and its recorded decisions are listed. `reveal` opens personal
    /// data for the fold (the tools pass nil: personal data stays redacted; output always redacts it).
    public static func build(
        store: EventStore, registry: WorkflowRegistry, caseId: String, until: ReplayPoint? = nil, explain: Bool = false,
        reveal: PersonalDataReader? = nil
    ) throws -> CaseTimeline {
        let stream = CaseState.stream(caseId)
        guard let last = try store.streamVersion(stream) else { throw EngineError.unknownCase(caseId) }
        // The events are read in place (not copied out of the store); the types and actors they repeat are made
        // into strings once.
        var strings = ReusedStrings()
        return try fold(caseId: caseId, capacity: Int(last) + 1, definition: registry.definition(hash:), explain: explain, reveal: reveal) { add in
            try store.readStreamViews(stream) { view in
                if let until, !until.includes(position: view.position, at: view.recordedAt) { return }
                try add(view.position, view.streamVersion, strings.string(view.type), view.recordedAt, strings.string(view.actor),
                        view.payloadEncoding == .json, view.payload)
            }
        }
    }

    /// Builds the timeline from a case's events (in stream order), with `definition` resolving hashes.
    public static func build(
        caseId: String, events: [RecordedEvent], definition: (String) throws -> CompiledWorkflow, explain: Bool = false,
        reveal: PersonalDataReader? = nil
    ) throws -> CaseTimeline {
        try fold(caseId: caseId, capacity: events.count, definition: definition, explain: explain, reveal: reveal) { add in
            for e in events {
                try e.payload.withUnsafeBytes { payload in
                    try add(e.position, e.streamVersion, e.type, e.recordedAt, e.actor, e.payloadEncoding == .json, payload)
                }
            }
        }
    }

    /// Adds one event's step: its position, stream version, type, time, actor, whether its payload is JSON, and the payload.
    typealias AddStep = (
        _ position: UInt64, _ streamVersion: UInt64, _ type: String, _ at: Timestamp, _ actor: String, _ isJSON: Bool,
        _ payload: UnsafeRawBufferPointer
    ) throws -> Void

    /// Folds the events `feed` gives (in stream order) into a timeline.
    private static func fold(
        caseId: String, capacity: Int, definition lookUp: (String) throws -> CompiledWorkflow, explain: Bool, reveal: PersonalDataReader?,
        _ feed: (AddStep) throws -> Void
    ) throws -> CaseTimeline {
        // The folder uses the lookup only while `feed` runs, and neither it nor `feed` outlives this call.
        try withoutActuallyEscaping(lookUp) { definition in
            var folder = TimelineFolder(caseId: caseId, capacity: capacity, definitions: TimelineDefinitions(definition), explain: explain,
                                        reveal: reveal)
            try feed { try folder.add($0, $1, $2, $3, $4, $5, $6) }
            return CaseTimeline(caseId: caseId, steps: folder.steps, final: folder.state, personalCaseFields: folder.definitions.personal)
        }
    }

    /// Whether events of `type` record a command (domain events emitted with a command repeat its name but are not one).
    static func recordsCommand(_ type: String) -> Bool {
        type == CaseEventType.commandAccepted || type == CaseEventType.opened || type == CaseEventType.commandRejected
    }

    static func outcome(_ type: String) -> String {
        switch type {
        case CaseEventType.opened: return "opened"
        case CaseEventType.commandAccepted: return "accepted"
        case CaseEventType.commandRejected: return "refused"
        case CaseEventType.clockBreached: return "breach"
        case CaseEventType.linked: return "linked"
        case CaseEventType.migrated: return "migrated"
        case CaseEventType.subjectErased: return "erased"
        case CaseEventType.effectFailed: return "effect-failed"
        case CaseEventType.effectTargeted: return "targeted"
        default: return "event"
        }
    }

    /// What a `send … to-cases-of` effect selected, as a step's data: the command sent (`send`), the
    /// workflow searched, the `where` values and states it matched, and the cases it chose (`targets`,
    /// in the order they were sent the command; empty if none matched).
    static func targetsText(_ payload: [String: JSONValue]) -> [String: String] {
        func list(_ value: JSONValue?) -> String { (value?.array ?? []).map { text($0) }.joined(separator: ", ") }
        var out: [String: String] = [
            "send": payload["send"]?.string ?? "?", "workflow": payload["workflow"]?.string ?? "?",
            "targets": list(payload["targets"]),
        ]
        if let wanted = payload["where"]?.object {
            out["where"] = wanted.keys.sorted().map { "\($0)=\(text(wanted[$0]!))" }.joined(separator: ", ")
        }
        if let states = payload["inStates"]?.array, !states.isEmpty { out["inStates"] = list(payload["inStates"]) }
        return out
    }

    /// The clocks of `state`, sorted by name.
    public static func clocks(_ state: CaseState, calendar: WorkingCalendar?, at time: Timestamp) -> [ClockSnapshot] {
        state.clocks.keys.sorted().map { name in
            ClockSnapshot(name: name, clock: state.clocks[name]!, calendar: calendar, breachedAt: state.breaches[name], at: time)
        }
    }

    /// A JSON value as text: strings bare, everything else as JSON.
    static func text(_ value: JSONValue) -> String {
        value.string ?? value.json
    }

    /// A case field's value as text, redacted if it is personal data (by `personal`, or unreadable).
    public static func text(field: String, of state: CaseState, personal: Set<String>) -> String {
        if state.redacted.contains(field) || personal.contains(field) { return PersonalData.placeholder }
        return state.data[field]?.description ?? "null"
    }

    /// The guards of the command `plan` is for, evaluated against the case before it, and its recorded decisions.
    static func explain(
        _ plan: CommandPlan, payload: [String: JSONValue], before: CaseState, compiled: CompiledWorkflow, at: Timestamp, rejected: Bool
    ) -> [ExplanationLine] {
        var lines: [ExplanationLine] = []
        let casePII = before.redacted.isEmpty ? plan.casePII : plan.casePII.union(before.redacted)
        let dataPII = plan.dataPII
        // The command's data, decoded with its declared types (sealed personal data stays unknown: null).
        var commandData: [String: Value] = [:]
        for (key, json) in payload["data"]?.object ?? [:] where PersonalData.sealed(json) == nil {
            if let type = plan.dataTypes[key], let v = try? ValueCoding.decode(json, as: type, field: key) {
                commandData[key] = v
            }
        }
        let guards = plan.guards
        let actor = (payload["actor"]?.string) ?? ""
        let role = (payload["role"]?.string) ?? ""
        let context = EvaluationContext(caseData: before.data, commandData: commandData, now: at, actor: actor, role: role,
                                        officeHours: compiled.officeHours)
        func shown(_ name: String, _ value: Value) -> String {
            let field = lastComponent(name)
            if (name.hasPrefix("case.") && casePII.contains(field)) || (name.hasPrefix("data.") && dataPII.contains(field)) {
                return PersonalData.placeholder
            }
            return value.description
        }
        for (g, expression) in guards {
            let outcome: String
            do { outcome = try expression.evaluate(context).description } catch { outcome = "error: \(error.message)" }
            let values = expression.explain(context).map { (name: $0.name, value: shown($0.name, $0.value)) }
            lines.append(ExplanationLine(kind: "guard", subject: g.source, outcome: outcome, values: values))
        }
        for decision in payload["decisions"]?.array ?? [] {
            guard let o = decision.object else { continue }
            let table = o["table"]?.string ?? "?"
            let inputs = (o["inputs"]?.array ?? []).map(text)
            let sources = compiled.definition.decision(table)?.inputs.map(\.source) ?? []
            var values: [(name: String, value: String)] = []
            for (i, input) in inputs.enumerated() { values.append((i < sources.count ? sources[i] : "input \(i + 1)", input)) }
            for (field, out) in (o["outputs"]?.object ?? [:]).sorted(by: { $0.key < $1.key }) { values.append(("→ case.\(field)", text(out))) }
            let matched: String
            if let item = o["item"]?.string {
                matched = "catalogue \(o["catalogue"]?.string ?? "?") item \(item) (line \(o["line"].map(text) ?? "?"))"
            } else {
                matched = "rule \(o["rule"].map(text) ?? "?") (line \(o["line"].map(text) ?? "?"))"
            }
            lines.append(ExplanationLine(kind: "decision", subject: table, outcome: matched, values: values))
        }
        if rejected {
            let details = (payload["details"]?.object ?? [:]).sorted { $0.key < $1.key }.map { (name: $0.key, value: text($0.value)) }
            lines.append(ExplanationLine(kind: "refusal", subject: payload["check"]?.string ?? "?",
                                         outcome: payload["reason"]?.string ?? "", values: details))
        }
        return lines
    }
}

extension CaseTimeline {
    /// The minimum gap between two events that text output folds into one "… without events …" line.
    public static let idleFold: Int64 = 2 * 86_400_000

    /// The timeline as text: one block per event (a domain event recorded with a command: one line) with the
    /// transition, clocks and the case's data when it changed; with `explain`, the guards and decisions too.
    /// Idle periods of two days or more are folded into one line.
    public func text(explain: Bool) -> String {
        var out: [String] = []
        var previous: Timestamp?
        var lastHash = ""
        var lastFields = ""
        for step in steps {
            if let previous, step.at.millisecondsSince1970 - previous.millisecondsSince1970 >= Self.idleFold {
                let days = (step.at.millisecondsSince1970 - previous.millisecondsSince1970) / 86_400_000
                out.append("      … \(days) days without events …")
            }
            previous = step.at
            if step.outcome == "event" {
                // A domain event recorded with the command before it: one line.
                out.append("#\(step.position) v\(step.streamVersion) \(step.at.iso8601) event \(step.type)")
                continue
            }
            var head = "#\(step.position) v\(step.streamVersion) \(step.at.iso8601) \(step.outcome)"
            if let command = step.command { head += " \(command)" }
            head += " by \(step.actor.isEmpty ? "?" : step.actor)"
            if let role = step.role { head += " (role \(role))" }
            out.append(head)
            if step.definitionHash != lastHash, !step.definitionHash.isEmpty {
                out.append("    definition: \(step.state.workflow) v\(step.definitionVersion) \(step.definitionHash)")
                lastHash = step.definitionHash
            }
            if step.type != CaseEventType.commandRejected && step.type != CaseEventType.commandAccepted && step.type != CaseEventType.opened {
                out.append("    event: \(step.type)")
            }
            if !step.data.isEmpty {
                let shown = step.data.keys.sorted().map { "\($0)=\(step.data[$0]!)" }.joined(separator: ", ")
                out.append("    data: \(shown)" + (step.personalFields.isEmpty ? "" : "  (personal data: \(step.personalFields.joined(separator: ", ")))"))
            }
            if let refusal = step.refusal { out.append("    REFUSED \(refusal)") }
            out.append("    state: \(step.from.isEmpty ? "—" : step.from) → \(step.to)")
            if explain {
                for line in step.explanation {
                    let values = line.values.map { "\($0.name)=\($0.value)" }.joined(separator: ", ")
                    out.append("    \(line.kind) \(line.subject) ⇒ \(line.outcome)" + (values.isEmpty ? "" : "  [\(values)]"))
                }
            }
            for clock in step.clocks { out.append("    clock \(clock.text)") }
            // The case's data after the step, when it changed.
            let d = step.state.fieldsText(personal: personalCaseFields)
            if !d.isEmpty && d != lastFields { out.append("    case: \(d)") }
            lastFields = d
        }
        out.append("final: state '\(final.state)', \(final.accepted) accepted, \(final.rejected) refused, \(steps.count) events")
        return out.joined(separator: "\n")
    }

    /// The timeline as one JSON object.
    public func json(explain: Bool) -> JSONValue {
        .object([
            "case": .string(caseId),
            "final": Self.stateJSON(final, personal: personalCaseFields, clocks: steps.last?.clocks ?? []),
            "steps": .array(steps.map { step in
                var o: [String: JSONValue] = [
                    "position": .int(Int64(step.position)), "version": .int(Int64(step.streamVersion)), "type": .string(step.type),
                    "at": .string(step.at.iso8601), "actor": .string(step.actor), "outcome": .string(step.outcome),
                    "definition": .string(step.definitionHash), "definitionVersion": .int(Int64(step.definitionVersion)),
                    "from": .string(step.from), "to": .string(step.to),
                    "data": .object(step.data.mapValues(JSONValue.string)), "personalData": .array(step.personalFields.map(JSONValue.string)),
                    "clocks": .array(step.clocks.map(\.json)), "state": Self.stateJSON(step.state, personal: personalCaseFields, clocks: nil),
                ]
                o["role"] = step.role.map(JSONValue.string) ?? .null
                o["command"] = step.command.map(JSONValue.string) ?? .null
                o["refusal"] = step.refusal.map(JSONValue.string) ?? .null
                if explain { o["explanation"] = .array(step.explanation.map(\.json)) }
                return .object(o)
            }),
        ])
    }

    /// A case's state, data (personal data redacted) and, if given, clocks, as JSON.
    public static func stateJSON(_ state: CaseState, personal: Set<String>, clocks: [ClockSnapshot]?) -> JSONValue {
        var data: [String: JSONValue] = [:]
        for (field, value) in state.data {
            data[field] = state.redacted.contains(field) || personal.contains(field) ? .string(PersonalData.placeholder) : ValueCoding.encode(value)
        }
        var o: [String: JSONValue] = [
            "state": .string(state.state), "data": .object(data), "accepted": .int(Int64(state.accepted)), "refused": .int(Int64(state.rejected)),
        ]
        if let clocks { o["clocks"] = .array(clocks.map(\.json)) }
        return .object(o)
    }
}

extension CaseState {
    /// The case's data as `field=value` text, sorted, personal data redacted.
    func fieldsText(personal: Set<String>) -> String {
        data.keys.sorted().map { key in "\(key)=\(redacted.contains(key) || personal.contains(key) ? PersonalData.placeholder : data[key]!.description)" }
            .joined(separator: ", ")
    }
}


/// The definitions a timeline's case ran under, each looked up once (by hash), and the one of the latest step.
private final class TimelineDefinitions {
    private let lookUp: (String) throws -> CompiledWorkflow
    private var contexts: [String: DefinitionContext] = [:]
    /// The definition of the step before (a case runs under one definition for long stretches): the fold and the
    /// step look it up once per definition, not once per event.
    var current: DefinitionContext?
    /// The case fields that are personal data under any of them.
    private(set) var personal: Set<String> = []

    init(_ lookUp: @escaping (String) throws -> CompiledWorkflow) { self.lookUp = lookUp }

    /// The compiled definition of `hash`.
    func resolve(_ hash: String) throws -> CompiledWorkflow {
        if let current, current.hash == hash { return current.compiled }
        return try context(hash).compiled
    }

    /// The context of `hash`, made the first time.
    func context(_ hash: String) throws -> DefinitionContext {
        if let known = contexts[hash] { return known }
        let c = DefinitionContext(hash: hash, compiled: try lookUp(hash))
        contexts[hash] = c
        personal.formUnion(c.compiled.definition.fields.filter(\.pii).map(\.name))
        return c
    }
}

/// What folding a case's events into steps carries from one event to the next.
private struct TimelineFolder {
    let explain: Bool
    let reveal: PersonalDataReader?
    let definitions: TimelineDefinitions
    var state: CaseState
    var steps: [TimelineStep] = []
    var clockSnapshots = ClockSnapshots()

    init(caseId: String, capacity: Int, definitions: TimelineDefinitions, explain: Bool, reveal: PersonalDataReader?) {
        self.explain = explain
        self.reveal = reveal
        self.definitions = definitions
        state = CaseState(caseId: caseId)
        steps.reserveCapacity(capacity)
    }

    /// Folds one event and adds its step.
    mutating func add(
        _ position: UInt64, _ streamVersion: UInt64, _ type: String, _ at: Timestamp, _ actor: String, _ isJSON: Bool,
        _ payload: UnsafeRawBufferPointer
    ) throws {
        let before = state
        // Each payload is read once, for the fold and for the step: only the members they use, unless
        // the whole payload is wanted (to explain a command, or to list the cases an effect chose).
        let isCommand = CaseTimeline.recordsCommand(type)
        let isTargets = type == CaseEventType.effectTargeted
        var whole: [String: JSONValue]?
        var parsed: CasePayload?
        if isCommand || isTargets || CaseState.folds(type), isJSON {
            if (explain && isCommand) || isTargets {
                whole = try JSONValue.parse(payload).object
                parsed = whole.map(CasePayload.init)
            } else {
                parsed = try CasePayload.parse(payload, showing: isCommand)
            }
        }
        let definitions = self.definitions
        try state.apply(type: type, payload: parsed, streamVersion: streamVersion, position: position, definition: definitions.resolve,
                        reveal: reveal)
        if state.definitionHash.isEmpty {
            definitions.current = nil
        } else if definitions.current?.hash != state.definitionHash {
            definitions.current = try definitions.context(state.definitionHash)
        }
        let current = definitions.current
        let rejected = type == CaseEventType.commandRejected
        // (Domain events recorded with a command repeat its name but are not one.)
        let command = isCommand ? parsed?.command : nil
        let plan = command.flatMap { current?.plan($0) }
        // The command's data as text (personal data as the placeholder), made at its size.
        var dataText: [String: String] = [:]
        var personalFields: [String] = []
        if command != nil, let data = parsed?.data {
            dataText.reserveCapacity(data.count)
            let pii = plan?.personalData ?? []
            for (key, value) in data {
                if PersonalData.sealed(value) != nil || pii.contains(key) {
                    if dataText.updateValue(PersonalData.placeholder, forKey: key) == nil { personalFields.append(key) }
                } else {
                    dataText[key] = CaseTimeline.text(value)
                }
            }
            personalFields.sort()
        } else if isTargets, let targets = whole {
            dataText = CaseTimeline.targetsText(targets)
        }
        var explanation: [ExplanationLine] = []
        if explain, let current, let plan {
            explanation = CaseTimeline.explain(
                plan, payload: whole ?? [:], before: before, compiled: current.compiled, at: at, rejected: rejected)
        }
        var clocks: [ClockSnapshot] = []
        if !state.clocks.isEmpty {
            clocks = clockSnapshots.take(state, definition: state.definitionHash, calendar: current?.compiled.calendar, at: at)
        }
        // The step is made whole and moved into the timeline (not copied).
        steps.append(TimelineStep(
            position: position, streamVersion: streamVersion, type: type, at: at,
            actor: actor, role: isCommand ? parsed?.role : nil, command: command,
            outcome: CaseTimeline.outcome(type), data: dataText, personalFields: personalFields, definitionHash: state.definitionHash,
            definitionVersion: state.definitionVersion, from: before.isOpen ? before.state : "", to: rejected ? before.state : state.state,
            refusal: rejected ? "\(parsed?.check ?? "?"): \(parsed?.reason ?? "")" : nil,
            explanation: explanation, clocks: clocks, state: state))
    }
}
