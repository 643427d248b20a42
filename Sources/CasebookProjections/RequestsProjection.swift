/// One resident request as the `requests` projection keeps it (no personal data).
public struct RequestRow: ProjectionRow {
    public var community = "", patch = "", item = "", certificate = "", owner = "", handler = "", department = "", state = ""
    /// Times in ms since the epoch; 0 when not (yet) known.
    public var receivedAt: Int64 = 0, dueAt: Int64 = 0, completedAt: Int64 = 0, lastAt: Int64 = 0
    /// Time spent waiting for the resident's materials (calendar ms), and since when it is waiting now.
    public var pausedMs: Int64 = 0, pausedSince: Int64 = 0
    /// One-time notices given, and refused attempts at a further notice.
    public var notices: Int64 = 0, noticeRefusals: Int64 = 0
    /// Times reopened.
    public var reopened: Int64 = 0
    /// Completions that came after the deadline then in force (a reopened request completed late once
    /// stays late, whatever happens after).
    public var lateCompletions: Int64 = 0
    /// The completion clock passed its deadline (recorded by the engine's timer).
    public var overdueFlag = false
    /// An appointment outside office hours was booked.
    public var appointment = false
    /// satisfied, basically-satisfied, dissatisfied, or empty.
    public var rating = ""

    /// Whether it was completed after its deadline, or is still open past it.
    public var isLate: Bool { lateCompletions > 0 || (completedAt == 0 && overdueFlag) }
    /// Handling time (received to completed, less the time waiting for materials), in minutes.
    public var handlingMinutes: Int64? { completedAt > 0 ? max(0, completedAt - receivedAt - pausedMs) / 60_000 : nil }

    public init() {}

    public func encode(into w: inout RowWriter) {
        w.string(community); w.string(patch); w.string(item); w.string(certificate); w.string(owner)
        w.string(handler); w.string(department); w.string(state); w.string(rating)
        w.int(receivedAt); w.int(dueAt); w.int(completedAt); w.int(lastAt); w.int(pausedMs); w.int(pausedSince)
        w.int(notices); w.int(noticeRefusals); w.int(reopened); w.int(lateCompletions)
        w.bool(overdueFlag)
        w.bool(appointment)
    }

    public init(from r: inout RowReader) {
        community = r.string(); patch = r.string(); item = r.string(); certificate = r.string(); owner = r.string()
        handler = r.string(); department = r.string(); state = r.string(); rating = r.string()
        receivedAt = r.int(); dueAt = r.int(); completedAt = r.int(); lastAt = r.int(); pausedMs = r.int(); pausedSince = r.int()
        notices = r.int(); noticeRefusals = r.int(); reopened = r.int(); lateCompletions = r.int()
        overdueFlag = r.bool(); appointment = r.bool()
    }
}

/// Resident requests (`resident-request` cases): each request's status, owner, patch, service item,
/// times, pauses, notices and rating; per community and month received: counts, on-time completions,
/// handling times (for the median) and ratings.
public struct RequestsProjection: Projection {
    public static let name = "requests"
    public static let workflows: Set<String> = ["resident-request"]
    public static let format: UInt64 = 2
    /// The completion clock's name in the definition.
    public static let clock = "completion"

    /// The counters of a community-month tally, in order.
    public enum Counter: Int, CaseIterable, Sendable {
        case received, completed, onTime, late, refused, withNotice, secondNoticeAttempts, rated, satisfied, basicallySatisfied,
             dissatisfied, openOverdue, reopened, appointments
    }

    public init() {}

    public func open(_ e: CaseEvent) -> RequestRow {
        var r = RequestRow()
        r.receivedAt = e.at
        return r
    }

    public func fold(_ r: inout RequestRow, _ e: CaseEvent) -> [Contribution] {
        switch e.kind {
        case .opened, .accepted:
            for (field, value) in e.set {
                switch field {
                case "community": r.community = value.string ?? ""
                case "patch": r.patch = value.string ?? ""
                case "item": r.item = value.string ?? ""
                case "certificate": r.certificate = value.string ?? ""
                case "owner": r.owner = value.string ?? ""
                case "handler": r.handler = value.string ?? ""
                case "department": r.department = value.string ?? ""
                case "notices": r.notices = value.int ?? 0
                case "overdue": r.overdueFlag = value.bool ?? false
                case "rating": r.rating = value.string ?? ""
                case "appointment": r.appointment = value != .null
                default: break
                }
            }
            for op in e.clocks where op.clock == Self.clock {
                switch op.op {
                case "start": r.dueAt = op.deadline ?? 0; r.pausedSince = 0
                case "pause": r.pausedSince = e.at
                case "resume":
                    if r.pausedSince > 0 { r.pausedMs += e.at - r.pausedSince }
                    r.pausedSince = 0
                    r.dueAt = op.deadline ?? r.dueAt
                default: break
                }
            }
            if let state = e.state {
                if state == "completed" && r.state != "completed" {
                    r.completedAt = e.at
                    if r.dueAt > 0 && e.at > r.dueAt { r.lateCompletions += 1 }
                }
                if e.command == "reopen" { r.reopened += 1; r.completedAt = 0 }
                r.state = state
            }
        case .rejected:
            if e.command == "notify-missing" && r.notices > 0 { r.noticeRefusals += 1 }
        case .breached:
            if e.breachedClock == Self.clock { r.overdueFlag = true }
        case .migrated, .erased:
            break
        }
        r.lastAt = e.at
        return []
    }

    public func contributions(of r: RequestRow) -> [Contribution] {
        var c = [Int64](repeating: 0, count: Counter.allCases.count)
        func inc(_ k: Counter, _ yes: Bool = true) { if yes { c[k.rawValue] += 1 } }
        inc(.received)
        let completed = r.completedAt > 0
        inc(.completed, completed)
        inc(.onTime, completed && !r.isLate)
        inc(.late, completed && r.isLate)
        inc(.refused, r.state == "refused")
        inc(.withNotice, r.notices > 0)
        c[Counter.secondNoticeAttempts.rawValue] = r.noticeRefusals
        inc(.rated, !r.rating.isEmpty)
        inc(.satisfied, r.rating == "satisfied")
        inc(.basicallySatisfied, r.rating == "basically-satisfied")
        inc(.dissatisfied, r.rating == "dissatisfied")
        inc(.openOverdue, !completed && r.overdueFlag && r.state != "refused" && r.state != "closed")
        c[Counter.reopened.rawValue] = r.reopened
        inc(.appointments, r.appointment)
        return [Contribution(RowKey.key("m", r.community, RowKey.month(r.receivedAt)), c, samples: r.handlingMinutes.map { [$0] } ?? [])]
    }
}
