/// One application to bring departmental work into a community, as the `admissions` register keeps it.
public struct AdmissionRow: ProjectionRow {
    public var kind = "", title = "", community = "", department = "", state = "", category = ""
    /// The legal basis cited, if any; otherwise the residents' meeting and its vote.
    public var hasLegalBasis = false, legalBasis = "", meeting = ""
    public var votesFor: Int64 = 0, votesAgainst: Int64 = 0, votesAbstain: Int64 = 0
    public var resolutionPassed = false
    /// When applied, and when last changed (ms since the epoch).
    public var appliedAt: Int64 = 0, lastAt: Int64 = 0
    /// The approval trail: one entry per accepted command, `command`, `role`, `actor` and time.
    public var trailCommands: [String] = [], trailRoles: [String] = [], trailActors: [String] = []
    public var trailTimes: [Int64] = []

    public init() {}

    public func encode(into w: inout RowWriter) {
        w.string(kind); w.string(title); w.string(community); w.string(department); w.string(state)
        w.string(category); w.string(legalBasis); w.string(meeting)
        w.bool(hasLegalBasis); w.bool(resolutionPassed)
        w.int(votesFor); w.int(votesAgainst); w.int(votesAbstain); w.int(appliedAt); w.int(lastAt)
        w.strings(trailCommands); w.strings(trailRoles); w.strings(trailActors); w.ints(trailTimes)
    }

    public init(from r: inout RowReader) {
        kind = r.string(); title = r.string(); community = r.string(); department = r.string(); state = r.string()
        category = r.string(); legalBasis = r.string(); meeting = r.string()
        hasLegalBasis = r.bool(); resolutionPassed = r.bool()
        votesFor = r.int(); votesAgainst = r.int(); votesAbstain = r.int(); appliedAt = r.int(); lastAt = r.int()
        trailCommands = r.strings(); trailRoles = r.strings(); trailActors = r.strings(); trailTimes = r.ints()
    }
}

/// The register of departmental work admitted into communities (`task-admission` cases): each
/// application with its legal basis or residents' resolution and its approval trail; per community and
/// kind the applications and their outcomes (the "before and after" the documents cite, e.g. stamped
/// items 62→21); an index of admitted items per community by category.
public struct AdmissionsProjection: Projection {
    public static let name = "admissions"
    public static let workflows: Set<String> = ["task-admission"]
    public static let format: UInt64 = 1

    /// The counters of a community-kind tally, in order.
    public enum Counter: Int, CaseIterable, Sendable {
        case applied, admitted, rejected, expired, withdrawn, pending, withLegalBasis, byResolution
    }

    public init() {}

    public func open(_ e: CaseEvent) -> AdmissionRow {
        var r = AdmissionRow()
        r.appliedAt = e.at
        return r
    }

    public func fold(_ r: inout AdmissionRow, _ e: CaseEvent) -> [Contribution] {
        switch e.kind {
        case .opened, .accepted:
            for (field, value) in e.set {
                switch field {
                case "kind": r.kind = value.string ?? ""
                case "title": r.title = value.string ?? ""
                case "community": r.community = value.string ?? ""
                case "department": r.department = value.string ?? ""
                case "category": r.category = value.string ?? ""
                case "has_legal_basis": r.hasLegalBasis = value.bool ?? false
                case "legal_basis": r.legalBasis = value.string ?? ""
                case "meeting": r.meeting = value.string ?? ""
                case "votes_for": r.votesFor = value.int ?? 0
                case "votes_against": r.votesAgainst = value.int ?? 0
                case "votes_abstain": r.votesAbstain = value.int ?? 0
                case "resolution_passed": r.resolutionPassed = value.bool ?? false
                default: break
                }
            }
            if let state = e.state { r.state = state }
            r.trailCommands.append(e.command)
            r.trailRoles.append(e.role)
            r.trailActors.append(e.actor)
            r.trailTimes.append(e.at)
        case .breached:
            r.trailCommands.append("clock.breached")
            r.trailRoles.append("")
            r.trailActors.append("")
            r.trailTimes.append(e.at)
            // The engine moves the case only if the clock was still running: one stopped late (declined or
            // admitted after the deadline, before the timers ran) records the breach and moves nothing.
            if let state = e.moveTo { r.state = state }
        case .rejected, .migrated, .erased:
            return []
        }
        r.lastAt = e.at
        return []
    }

    /// Whether an application is still being decided.
    static func isPending(_ state: String) -> Bool { ["applied", "resolved", "awaiting-filing", "filed"].contains(state) }

    public func contributions(of r: AdmissionRow) -> [Contribution] {
        var c = [Int64](repeating: 0, count: Counter.allCases.count)
        func inc(_ k: Counter, _ yes: Bool = true) { if yes { c[k.rawValue] += 1 } }
        inc(.applied)
        inc(.admitted, r.state == "admitted")
        inc(.rejected, r.state == "rejected")
        inc(.expired, r.state == "expired")
        inc(.withdrawn, r.state == "withdrawn")
        inc(.pending, Self.isPending(r.state))
        inc(.withLegalBasis, r.hasLegalBasis)
        inc(.byResolution, !r.hasLegalBasis && r.resolutionPassed)
        var out = [Contribution(RowKey.key("k", r.community, r.kind), c)]
        if r.state == "admitted" {
            out.append(Contribution(RowKey.key("g", r.community, r.category), [1]))
        }
        return out
    }
}
