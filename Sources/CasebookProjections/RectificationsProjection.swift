/// A department evaluation or a rectification, as the `rectifications` projection keeps it.
public struct RectificationRow: ProjectionRow {
    /// `evaluation` (a department-evaluation case) or `rectification`.
    public var kind = ""
    public var department = "", community = "", state = "", result = "", outcome = "", admission = ""
    /// The evaluation's year and total score (10..50).
    public var year: Int64 = 0, total: Int64 = 0
    /// Rectification reports made.
    public var reports: Int64 = 0
    /// When opened, the rectification deadline, when closed (ms since the epoch; 0: not yet).
    public var openedAt: Int64 = 0, deadline: Int64 = 0, closedAt: Int64 = 0
    /// The deadline passed without a report.
    public var overdueFlag = false

    /// Whether a rectification is still running (not rectified or withdrawn).
    public var isOpen: Bool { kind == "rectification" && !["rectified", "withdrawn"].contains(state) }

    /// Still open past its deadline as of `asOf` (ms since the epoch), or its deadline clock was recorded as breached.
    public func isPastDeadline(asOf: Int64) -> Bool { isOpen && (overdueFlag || (deadline > 0 && asOf > deadline)) }

    public init() {}

    public func encode(into w: inout RowWriter) {
        w.string(kind); w.string(department); w.string(community); w.string(state); w.string(result)
        w.string(outcome); w.string(admission)
        w.int(year); w.int(total); w.int(reports); w.int(openedAt); w.int(deadline); w.int(closedAt)
        w.bool(overdueFlag)
    }

    public init(from r: inout RowReader) {
        kind = r.string(); department = r.string(); community = r.string(); state = r.string(); result = r.string()
        outcome = r.string(); admission = r.string()
        year = r.int(); total = r.int(); reports = r.int(); openedAt = r.int(); deadline = r.int(); closedAt = r.int()
        overdueFlag = r.bool()
    }
}

/// Evaluations of departments by communities and the rectifications they lead to
/// (`department-evaluation` and `rectification` cases): per department, results and rectifications
/// open, overdue, closed, escalated and withdrawn.
public struct RectificationsProjection: Projection {
    public static let name = "rectifications"
    public static let workflows: Set<String> = ["department-evaluation", "rectification"]
    public static let format: UInt64 = 1

    /// Counters of a department's rectification tally, in order.
    public enum Counter: Int, CaseIterable, Sendable {
        case rectifications, open, overdue, rectified, escalated, withdrawn
    }

    /// Counters of a department's evaluation tally, in order.
    public enum EvaluationCounter: Int, CaseIterable, Sendable {
        case evaluations, satisfied, basicallySatisfied, unsatisfactory, totalScore
    }

    public init() {}

    public func open(_ e: CaseEvent) -> RectificationRow {
        var r = RectificationRow()
        r.kind = e.workflow == "rectification" ? "rectification" : "evaluation"
        r.openedAt = e.at
        return r
    }

    public func fold(_ r: inout RectificationRow, _ e: CaseEvent) -> [Contribution] {
        switch e.kind {
        case .opened, .accepted:
            for (field, value) in e.set {
                switch field {
                case "department": r.department = value.string ?? ""
                case "community": r.community = value.string ?? ""
                case "result": r.result = value.string ?? ""
                case "outcome": r.outcome = value.string ?? ""
                case "admission": r.admission = value.string ?? ""
                case "year": r.year = value.int ?? 0
                case "total": r.total = value.int ?? 0
                case "reports": r.reports = value.int ?? 0
                case "overdue": r.overdueFlag = value.bool ?? false
                default: break
                }
            }
            for op in e.clocks where op.clock == "deadline" {
                if op.op == "start" || op.op == "resume" { r.deadline = op.deadline ?? 0; r.overdueFlag = false }
            }
            if let state = e.state {
                if ["rectified", "withdrawn", "closed", "rectification-ordered"].contains(state) && r.closedAt == 0 { r.closedAt = e.at }
                r.state = state
            }
        case .breached:
            if e.breachedClock == "deadline" {
                r.overdueFlag = true
                if let state = e.moveTo { r.state = state }
            }
        case .rejected, .migrated, .erased:
            return []
        }
        return []
    }

    public func contributions(of r: RectificationRow) -> [Contribution] {
        if r.kind == "evaluation" {
            guard !r.result.isEmpty else { return [] }
            var c = [Int64](repeating: 0, count: EvaluationCounter.allCases.count)
            c[EvaluationCounter.evaluations.rawValue] = 1
            switch r.result {
            case "satisfied": c[EvaluationCounter.satisfied.rawValue] = 1
            case "basically-satisfied": c[EvaluationCounter.basicallySatisfied.rawValue] = 1
            default: c[EvaluationCounter.unsatisfactory.rawValue] = 1
            }
            c[EvaluationCounter.totalScore.rawValue] = r.total
            return [Contribution(RowKey.key("e", r.department), c)]
        }
        var c = [Int64](repeating: 0, count: Counter.allCases.count)
        c[Counter.rectifications.rawValue] = 1
        c[Counter.open.rawValue] = r.isOpen ? 1 : 0
        c[Counter.overdue.rawValue] = r.isOpen && r.overdueFlag ? 1 : 0
        c[Counter.rectified.rawValue] = r.state == "rectified" ? 1 : 0
        c[Counter.escalated.rawValue] = r.state == "escalated" ? 1 : 0
        c[Counter.withdrawn.rawValue] = r.state == "withdrawn" ? 1 : 0
        return [Contribution(RowKey.key("r", r.department), c)]
    }
}
