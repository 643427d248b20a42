import CasebookLog
import CasebookWorkflow

/// One difference between a case at two points: its state, a data field, a clock, or its definition.
public struct CaseChange: Sendable, Hashable, CustomStringConvertible {
    /// What changed: `state`, `definition`, `data.<field>`, `clock.<name>.<aspect>`, `accepted`, `refused`.
    public var subject: String
    /// The value at the first point (`—` if absent).
    public var before: String
    /// The value at the second point (`—` if absent).
    public var after: String

    public var description: String { "\(subject): \(before) → \(after)" }

    /// The change as JSON.
    public var json: JSONValue { .object(["subject": .string(subject), "before": .string(before), "after": .string(after)]) }
}

/// What changed in a case between two points of its timeline.
public struct CaseDiff: Sendable {
    /// The first point.
    public var from: ReplayPoint
    /// The second point.
    public var to: ReplayPoint
    /// The changes, by subject.
    public var changes: [CaseChange]
    /// The events of the case strictly after `from` and up to `to` (positions).
    public var positions: [UInt64]

    /// Compares the case as it stood at `from` and at `to`, folding its events once.
    public static func between(
        store: EventStore, registry: WorkflowRegistry, caseId: String, from: ReplayPoint, to: ReplayPoint
    ) throws -> CaseDiff {
        let timeline = try CaseTimeline.build(store: store, registry: registry, caseId: caseId)
        return try between(timeline: timeline, from: from, to: to, definition: registry.definition(hash:))
    }

    /// Compares two points of an already built timeline.
    public static func between(
        timeline: CaseTimeline, from: ReplayPoint, to: ReplayPoint, definition: (String) throws -> CompiledWorkflow
    ) throws -> CaseDiff {
        func at(_ point: ReplayPoint) -> TimelineStep? { timeline.steps.last { step in point.includes(step) } }
        let a = at(from), b = at(to)
        let empty = CaseState(caseId: timeline.caseId)
        let sa = a?.state ?? empty, sb = b?.state ?? empty
        var changes: [CaseChange] = []
        func add(_ subject: String, _ x: String, _ y: String) {
            if x != y { changes.append(CaseChange(subject: subject, before: x, after: y)) }
        }
        add("state", sa.isOpen ? sa.state : "—", sb.isOpen ? sb.state : "—")
        add("definition", sa.definitionHash.isEmpty ? "—" : "v\(sa.definitionVersion) \(sa.definitionHash)",
            sb.definitionHash.isEmpty ? "—" : "v\(sb.definitionVersion) \(sb.definitionHash)")
        for field in Set(sa.data.keys).union(sb.data.keys).sorted() {
            func shown(_ s: CaseState) -> String {
                s.data[field] == nil ? "—" : CaseTimeline.text(field: field, of: s, personal: timeline.personalCaseFields)
            }
            let x = shown(sa), y = shown(sb)
            if x == PersonalData.placeholder && y == PersonalData.placeholder && sa.data[field] != sb.data[field] {
                changes.append(CaseChange(subject: "data.\(field)", before: x, after: "\(y) (changed)"))
            } else {
                add("data.\(field)", x, y)
            }
        }
        let ca = Dictionary(uniqueKeysWithValues: (a?.clocks ?? []).map { ($0.name, $0) })
        let cb = Dictionary(uniqueKeysWithValues: (b?.clocks ?? []).map { ($0.name, $0) })
        for name in Set(ca.keys).union(cb.keys).sorted() {
            let x = ca[name], y = cb[name]
            add("clock.\(name).status", x?.status ?? "—", y?.status ?? "—")
            add("clock.\(name).budget", x?.budget ?? "—", y?.budget ?? "—")
            add("clock.\(name).deadline", x?.deadline?.iso8601 ?? "—", y?.deadline?.iso8601 ?? "—")
            add("clock.\(name).breached", x?.breachedAt?.iso8601 ?? "—", y?.breachedAt?.iso8601 ?? "—")
            add("clock.\(name).paused", x.map { ClockSnapshot.duration($0.pausedMilliseconds) } ?? "—",
                y.map { ClockSnapshot.duration($0.pausedMilliseconds) } ?? "—")
        }
        add("accepted", String(sa.accepted), String(sb.accepted))
        add("refused", String(sa.rejected), String(sb.rejected))
        let lo = a?.position, hi = b?.position
        let positions = timeline.steps.map(\.position).filter { p in (lo.map { p > $0 } ?? true) && (hi.map { p <= $0 } ?? false) }
        return CaseDiff(from: from, to: to, changes: changes, positions: positions)
    }

    /// The diff as text.
    public var text: String {
        var out = ["from \(from) to \(to): \(positions.count) events" + (positions.isEmpty ? "" : " (positions \(positions.map(String.init).joined(separator: ", ")))")]
        if changes.isEmpty { out.append("no changes") }
        out += changes.map { "  \($0)" }
        return out.joined(separator: "\n")
    }

    /// The diff as JSON.
    public var json: JSONValue {
        .object([
            "from": .string(from.description), "to": .string(to.description),
            "positions": .array(positions.map { .int(Int64($0)) }), "changes": .array(changes.map(\.json)),
        ])
    }
}
