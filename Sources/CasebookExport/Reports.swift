import CasebookLog
import CasebookProjections

/// The standing audit reports: each a question auditors ask every time, answered from the projections
/// as a result table (filtered, sorted and written like any query).
public enum AuditReport: String, Sendable, CaseIterable {
    /// Requests completed after their deadline, or open past it.
    case lateRequests = "late-requests"
    /// Requests on which a second notice of missing materials was attempted.
    case secondNotices = "second-notices"
    /// Entrusted work with no admitted item behind it (none named, or one not admitted).
    case withoutAdmission = "without-admission"
    /// Entrusted work without funding terms.
    case withoutFunding = "without-funding"
    /// Payables outstanding past their due date, with days overdue and ageing bucket.
    case overduePayables = "overdue-payables"
    /// Rectifications open past their deadline.
    case rectificationsOverdue = "rectifications-overdue"
    /// Departments with rectifications escalated or overdue: due for withdrawal of their work.
    case withdrawalDue = "withdrawal-due"

    /// One line on what the report lists.
    public var summary: String {
        switch self {
        case .lateRequests: return "resident requests completed after their deadline, or still open past it"
        case .secondNotices: return "requests where a second notice of missing materials was attempted (one-time-notice rule)"
        case .withoutAdmission: return "entrusted work naming no admitted item, or an item the admissions register does not show as admitted"
        case .withoutFunding: return "entrusted work without funding terms (no unit price, no fixed amount)"
        case .overduePayables: return "payables outstanding past their due date, with days overdue and ageing bucket"
        case .rectificationsOverdue: return "rectifications still open past their deadline"
        case .withdrawalDue: return "departments with rectifications escalated or open past their deadline: due for withdrawal of their admitted work"
        }
    }

    /// The report by name; throws listing the reports.
    public static func named(_ name: String) throws -> AuditReport {
        guard let r = AuditReport(rawValue: name) else { throw QueryError.unknownReport(name, known: allCases.map(\.rawValue)) }
        return r
    }

    /// The row table the report's rows come from (for filters such as `--community`), if any.
    public var rowTable: RowTable? {
        switch self {
        case .lateRequests, .secondNotices: return .requests
        case .withoutAdmission, .withoutFunding, .overduePayables: return .ledger
        case .rectificationsOverdue: return .rectifications
        case .withdrawalDue: return nil
        }
    }

    /// The report as of `asOf` (ms since the epoch: "now" for what is overdue).
    public func run(_ projections: ProjectionStore, asOf: Int64) throws -> ResultTable {
        switch self {
        case .lateRequests:
            return RowTable.requests(try projections.lateRequests())
        case .secondNotices:
            return RowTable.requests(try projections.secondNoticeAttempts())
        case .withoutAdmission:
            let found = try projections.workWithoutAdmission()
            var t = RowTable.ledger(found.map { ($0.caseId, $0.row) })
            t.columns.insert("reason", at: 1)
            for i in t.rows.indices { t.rows[i].insert(.text(found[i].reason), at: 1) }
            return t
        case .withoutFunding:
            return RowTable.ledger(try projections.workWithoutFunding())
        case .overduePayables:
            let found = try projections.overduePayables(asOf: asOf)
            var t = RowTable.ledger(found.map { ($0.caseId, $0.row) })
            t.columns.insert(contentsOf: ["days_overdue", "bucket"], at: 1)
            for i in t.rows.indices {
                let d = found[i].daysOverdue
                let bucket = d < 30 ? "1-30" : d < 60 ? "31-60" : d < 90 ? "61-90" : ">90"
                t.rows[i].insert(contentsOf: [.int(d), .text(bucket)], at: 1)
            }
            return t
        case .rectificationsOverdue:
            return RowTable.rectifications(try projections.rectificationsPastDeadline(asOf: asOf))
        case .withdrawalDue:
            return ResultTable(columns: ["department", "escalated", "overdue", "cases", "admissions"],
                               rows: try projections.departmentsDueForWithdrawal(asOf: asOf).map {
                                   [.text($0.department), .int(Int64($0.escalated)), .int(Int64($0.overdue)), .text($0.cases.joined(separator: " ")),
                                    .text($0.admissions.joined(separator: " "))]
                               })
        }
    }
}

extension EventStore {
    /// The time of the last event before `end` (default: the head) that is not an access record: the
    /// "now" of the projections when no other is given (ms; 0 for an empty log).
    public func lastCaseworkTime(before end: UInt64? = nil) throws -> Int64 {
        var p = min(end ?? count, count)
        while p > 0 {
            p -= 1
            guard let e = try event(at: p) else { break }
            if e.streamId != AccessLog.stream { return e.recordedAt.millisecondsSince1970 }
        }
        return 0
    }
}
