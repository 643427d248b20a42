import CasebookLog
import CasebookWorkflow
import Foundation

/// A command as a case recorded it (accepted or refused): enough to issue it again.
public struct RecordedCommand: Sendable, Hashable {
    /// The position of the event that recorded it.
    public var position: UInt64
    /// The command's name.
    public var command: String
    /// Who issued it.
    public var actor: Actor
    /// When.
    public var at: Timestamp
    /// Its data; sealed personal data replaced by ``PersonalData/placeholder``.
    public var data: JSONValue

    /// The commands recorded on a case's events (opened, accepted and refused; migrations are not commands
    /// of the definition and are left out), in order.
    public static func commands(in events: [RecordedEvent]) -> [RecordedCommand] {
        events.compactMap { e in
            guard e.type == CaseEventType.opened || e.type == CaseEventType.commandAccepted || e.type == CaseEventType.commandRejected,
                  let p = (try? JSONValue.parse(Data(e.payload)))?.object, let command = p["command"]?.string, command != "migrate",
                  let role = p["role"]?.string, let id = p["actor"]?.string, let at = p["at"]?.string.flatMap(Timestamp.init(iso8601:))
            else { return nil }
            return RecordedCommand(position: e.position, command: command, actor: Actor(role: role, id: id), at: at,
                                   data: PersonalData.redacting(p["data"] ?? .object([:])))
        }
    }

}

/// How one step of a case went: accepted or refused, the state afterwards, and the clocks' deadlines.
public struct StepOutcome: Sendable, Hashable {
    /// Whether the command was accepted (for a breach step: whether a breach was recorded).
    public var accepted: Bool
    /// The refusal's check and reason, if refused.
    public var refusal: String?
    /// The case's state afterwards.
    public var state: String
    /// Each clock's deadline afterwards (ISO 8601, or `—` when it has none: not started, paused, stopped).
    public var deadlines: [String: String]
    /// Each clock's budget afterwards.
    public var budgets: [String: String]
    /// Each clock's breached deadline so far.
    public var breaches: [String: String]

    init(accepted: Bool, refusal: String?, state: CaseState, clocks: [ClockSnapshot]) {
        self.accepted = accepted
        self.refusal = refusal
        self.state = state.state
        deadlines = Dictionary(uniqueKeysWithValues: clocks.map { ($0.name, $0.deadline?.iso8601 ?? "—") })
        budgets = Dictionary(uniqueKeysWithValues: clocks.map { ($0.name, $0.budget ?? "—") })
        breaches = Dictionary(uniqueKeysWithValues: clocks.map { ($0.name, $0.breachedAt?.iso8601 ?? "—") })
    }

    var json: JSONValue {
        .object([
            "accepted": .bool(accepted), "refusal": refusal.map(JSONValue.string) ?? .null, "state": .string(state),
            "deadlines": .object(deadlines.mapValues(JSONValue.string)), "budgets": .object(budgets.mapValues(JSONValue.string)),
            "breaches": .object(breaches.mapValues(JSONValue.string)),
        ])
    }
}

/// One recorded step issued again under another definition, with both outcomes.
public struct WhatIfStep: Sendable {
    /// The position of the original event.
    public var position: UInt64
    /// When it happened.
    public var at: Timestamp
    /// The command (or `clock breach` for a recorded breach, at which the timers are run again).
    public var command: String
    /// Who issued it.
    public var actor: String
    /// As recorded.
    public var original: StepOutcome
    /// Under the other definition.
    public var alternative: StepOutcome
    /// Where they differ (`outcome`, `state`, `deadline <clock>`, `budget <clock>`, `breach <clock>`).
    public var differences: [CaseChange]
}

/// A case's recorded commands run again, with the same actors, data and times, against another definition in a
/// throwaway store: where do the outcomes diverge?
public struct WhatIfReport: Sendable {
    /// The case.
    public var caseId: String
    /// The definition the case ran under (its first), and the one tried.
    public var originalDefinition: String, alternativeDefinition: String
    /// The steps.
    public var steps: [WhatIfStep]

    /// The steps whose outcomes differ.
    public var divergent: [WhatIfStep] { steps.filter { !$0.differences.isEmpty } }

    /// Runs the case's commands against the definition in `workflowFile` (published with the calendars in
    /// `calendarDirectory` and the catalogues in `catalogueDirectory`, default `catalogues/` beside it) in a
    /// temporary store that is deleted afterwards. Personal data in the recorded commands is unreadable by
    /// design and is replaced by a placeholder string. Where the case recorded a clock breach, the other
    /// run's timers are run up to that time.
    public static func run(
        store: EventStore, registry: WorkflowRegistry, caseId: String, workflowFile: String, calendarDirectory: String,
        catalogueDirectory: String? = nil
    ) async throws -> WhatIfReport {
        let events = try store.readStream(CaseState.stream(caseId), limit: Int.max)
        guard !events.isEmpty else { throw EngineError.unknownCase(caseId) }
        let timeline = try CaseTimeline.build(caseId: caseId, events: events, definition: registry.definition(hash:))
        let commands = Dictionary(uniqueKeysWithValues: RecordedCommand.commands(in: events).map { ($0.position, $0) })

        let dir = NSTemporaryDirectory() + "casebook-what-if-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = EventStoreOptions()
        options.unsafeNoSync = true  // throwaway
        let scratch = try EventStore(path: dir, options: options)
        defer { scratch.close() }
        let engine = try CaseEngine(store: scratch)
        let alternative = try await engine.registry.publish(
            file: workflowFile, calendarDirectory: calendarDirectory, catalogueDirectory: catalogueDirectory)

        func altOutcome(accepted: Bool, refusal: String?, at: Timestamp) throws -> StepOutcome {
            let state = try engine.load(caseId) ?? CaseState(caseId: caseId)
            let calendar = state.definitionHash.isEmpty ? nil : try engine.registry.definition(hash: state.definitionHash).calendar
            return StepOutcome(accepted: accepted, refusal: refusal, state: state, clocks: CaseTimeline.clocks(state, calendar: calendar, at: at))
        }
        var steps: [WhatIfStep] = []
        for step in timeline.steps {
            let original = StepOutcome(accepted: step.refusal == nil, refusal: step.refusal, state: step.state, clocks: step.clocks)
            let alt: StepOutcome
            let name: String
            if step.type == CaseEventType.clockBreached {
                name = "clock breach"
                let fired = try await engine.runTimers(until: step.at)
                alt = try altOutcome(accepted: !fired.isEmpty, refusal: nil, at: step.at)
            } else if let c = commands[step.position] {
                name = c.command
                let open = try engine.load(caseId)?.isOpen == true
                let outcome = open
                    ? try await engine.handle(caseId: caseId, command: c.command, actor: c.actor, data: c.data, at: c.at)
                    : try await engine.open(workflow: alternative.definition.name, caseId: caseId, command: c.command, actor: c.actor, data: c.data, at: c.at)
                switch outcome {
                case .accepted: alt = try altOutcome(accepted: true, refusal: nil, at: c.at)
                case .rejected(let r, _): alt = try altOutcome(accepted: false, refusal: "\(r.check.rawValue): \(r.message)", at: c.at)
                }
            } else {
                continue  // domain events, links, erasures: not commands
            }
            var differences: [CaseChange] = []
            func compare(_ subject: String, _ a: String, _ b: String) {
                if a != b { differences.append(CaseChange(subject: subject, before: a, after: b)) }
            }
            if step.type == CaseEventType.clockBreached {
                compare("outcome", "breach recorded", alt.accepted ? "breach recorded" : "no breach due")
            } else {
                compare("outcome", original.accepted ? "accepted" : "refused (\(original.refusal ?? ""))",
                        alt.accepted ? "accepted" : "refused (\(alt.refusal ?? ""))")
            }
            compare("state", original.state, alt.state)
            for clock in Set(original.deadlines.keys).union(alt.deadlines.keys).sorted() {
                compare("deadline \(clock)", original.deadlines[clock] ?? "—", alt.deadlines[clock] ?? "—")
                compare("budget \(clock)", original.budgets[clock] ?? "—", alt.budgets[clock] ?? "—")
                compare("breach \(clock)", original.breaches[clock] ?? "—", alt.breaches[clock] ?? "—")
            }
            steps.append(WhatIfStep(position: step.position, at: step.at, command: name, actor: step.actor, original: original,
                                    alternative: alt, differences: differences))
        }
        let first = timeline.steps.first { !$0.definitionHash.isEmpty }
        return WhatIfReport(
            caseId: caseId,
            originalDefinition: first.map { "\($0.state.workflow) v\($0.definitionVersion) \($0.definitionHash)" } ?? "—",
            alternativeDefinition: "\(alternative.definition.name) v\(alternative.definition.version) \(alternative.hash)", steps: steps)
    }

    /// The report as text: every step, the divergent ones with their differences.
    public var text: String {
        var out = ["case \(caseId): recorded under \(originalDefinition)", "          tried under \(alternativeDefinition)"]
        for s in steps {
            out.append("\(s.differences.isEmpty ? "  same" : "  DIFF") #\(s.position) \(s.at.iso8601) \(s.command) by \(s.actor)")
            for d in s.differences { out.append("         \(d.subject): recorded \(d.before) | would be \(d.after)") }
        }
        let n = divergent.count
        out.append(n == 0 ? "no divergence in \(steps.count) steps" : "\(n) of \(steps.count) steps diverge; first at position \(divergent[0].position)")
        return out.joined(separator: "\n")
    }

    /// The report as JSON.
    public var json: JSONValue {
        .object([
            "case": .string(caseId), "original": .string(originalDefinition), "alternative": .string(alternativeDefinition),
            "steps": .array(steps.map { s in
                .object([
                    "position": .int(Int64(s.position)), "at": .string(s.at.iso8601), "command": .string(s.command), "actor": .string(s.actor),
                    "original": s.original.json, "alternative": s.alternative.json, "differences": .array(s.differences.map(\.json)),
                ])
            }),
        ])
    }
}
