import CasebookLog
import CasebookProjections

/// The projections' rows as result tables, one column per field (no personal data: the projections
/// hold none). Each kind names the column a period filters on and the column "overdue/late" means.
public enum RowTable: String, Sendable, CaseIterable {
    /// `requests`: one row per resident request.
    case requests
    /// `admissions`: the register of departmental work.
    case admissions
    /// `ledger`: one row per piece of entrusted work, money in fen.
    case ledger
    /// `rectifications`: evaluations of departments and rectifications.
    case rectifications
    /// `ratings`: residents' satisfaction surveys of their community, counts and the special fund (fen).
    case ratings

    /// The time column `--period` filters on.
    public var periodColumn: String {
        switch self {
        case .requests: return "received_at"
        case .admissions: return "applied_at"
        case .ledger: return "entrusted_at"
        case .rectifications, .ratings: return "opened_at"
        }
    }

    /// The flag column `--overdue` filters on.
    public var overdueColumn: String? {
        switch self {
        case .requests: return "late"
        case .admissions: return nil
        case .ledger, .rectifications, .ratings: return "overdue"
        }
    }

    /// The column `--state` filters on.
    public var stateColumn: String { "state" }

    /// The table of rows, read from `projections`.
    public func table(_ projections: ProjectionStore) throws -> ResultTable {
        switch self {
        case .requests: return Self.requests(try projections.requestRows())
        case .admissions: return Self.admissions(try projections.admissionRows())
        case .ledger: return Self.ledger(try projections.ledgerRows())
        case .rectifications: return Self.rectifications(try projections.rectificationRows())
        case .ratings: return Self.ratings(try projections.ratingRows())
        }
    }

    /// Request rows as a table.
    public static func requests(_ rows: [(caseId: String, row: RequestRow)]) -> ResultTable {
        ResultTable(
            columns: ["case", "community", "patch", "item", "certificate", "owner", "handler", "department", "state", "received_at", "due_at",
                      "completed_at", "handling_minutes", "paused_minutes", "notices", "notice_refusals", "reopened", "late", "appointment", "rating"],
            rows: rows.map { id, r in
                [.text(id), .text(r.community), .text(r.patch), .text(r.item), .text(r.certificate), .text(r.owner), .text(r.handler),
                 .text(r.department), .text(r.state), .time(r.receivedAt), .time(r.dueAt), .time(r.completedAt),
                 r.handlingMinutes.map(Cell.int) ?? .empty, .int(r.pausedMs / 60_000), .int(r.notices), .int(r.noticeRefusals), .int(r.reopened),
                 .flag(r.isLate), .flag(r.appointment), .text(r.rating)]
            })
    }

    /// Admission rows as a table (the approval trail as `command by actor` entries).
    public static func admissions(_ rows: [(caseId: String, row: AdmissionRow)]) -> ResultTable {
        ResultTable(
            columns: ["case", "kind", "title", "community", "department", "state", "category", "legal_basis", "meeting", "votes_for",
                      "votes_against", "votes_abstain", "resolution_passed", "applied_at", "last_at", "trail"],
            rows: rows.map { id, r in
                let trail = r.trailCommands.indices.map { i in
                    r.trailCommands[i] + (i < r.trailActors.count && !r.trailActors[i].isEmpty ? " by \(r.trailRoles[i]):\(r.trailActors[i])" : "")
                }
                return [.text(id), .text(r.kind), .text(r.title), .text(r.community), .text(r.department), .text(r.state), .text(r.category),
                        .text(r.hasLegalBasis ? r.legalBasis : ""), .text(r.meeting), .int(r.votesFor), .int(r.votesAgainst), .int(r.votesAbstain),
                        .flag(r.resolutionPassed), .time(r.appliedAt), .time(r.lastAt), .text(trail.joined(separator: "; "))]
            })
    }

    /// The ledger's money columns (fen), which `--amount-field` may name.
    public static let ledgerAmounts = ["unit_price", "fixed_amount", "accrued", "unbilled", "assessed", "paid", "outstanding", "advances", "reimbursed"]

    /// Ledger rows as a table, money in fen.
    public static func ledger(_ rows: [(caseId: String, row: LedgerRow)]) -> ResultTable {
        ResultTable(
            columns: ["case", "department", "community", "item", "admission", "mode", "state", "unit_price", "fixed_amount", "delivered", "accrued",
                      "unbilled", "assessed", "paid", "outstanding", "advances", "reimbursed", "entrusted_at", "assessed_at", "due_at", "settled_at",
                      "overdue", "without_admission", "without_funding"],
            rows: rows.map { id, r in
                [.text(id), .text(r.department), .text(r.community), .text(r.item), .text(r.admission), .text(r.mode), .text(r.state),
                 .fen(r.unitPrice), .fen(r.fixedAmount), .int(r.delivered), .fen(r.accrued), .fen(r.unbilled), .fen(r.assessed), .fen(r.paid),
                 .fen(r.outstanding), .fen(r.advances), .fen(r.reimbursed), .time(r.entrustedAt), .time(r.assessedAt), .time(r.dueAt),
                 .time(r.settledAt), .flag(r.overdueFlag), .flag(r.withoutAdmission), .flag(r.withoutFunding)]
            })
    }

    /// Evaluation and rectification rows as a table.
    public static func rectifications(_ rows: [(caseId: String, row: RectificationRow)]) -> ResultTable {
        ResultTable(
            columns: ["case", "kind", "department", "community", "state", "result", "outcome", "admission", "year", "total", "reports", "opened_at",
                      "deadline", "closed_at", "overdue"],
            rows: rows.map { id, r in
                [.text(id), .text(r.kind), .text(r.department), .text(r.community), .text(r.state), .text(r.result), .text(r.outcome),
                 .text(r.admission), .int(r.year), .int(r.total), .int(r.reports), .time(r.openedAt), .time(r.deadline), .time(r.closedAt),
                 .flag(r.overdueFlag)]
            })
    }

    /// Survey rows as a table: the recorded counts, and the satisfaction rate (satisfied answers of all
    /// answers) and the sample reached (households visited of the sample) worked out from them in integers;
    /// the special fund in fen.
    public static func ratings(_ rows: [(caseId: String, row: RatingRow)]) -> ResultTable {
        ResultTable(
            columns: ["case", "community", "street", "year", "period", "state", "sample", "households", "reached", "batches"] + RatingRow.aspects
                + ["answers", "satisfied", "satisfaction", "fund_eligible", "special_fund", "overdue", "opened_at", "deadline", "concluded_at",
                   "published_at"],
            rows: rows.map { id, r in
                [.text(id), .text(r.community), .text(r.street), .int(r.year), .text(r.period), .text(r.state), .int(r.sample), .int(r.households),
                 .ratio(r.households, of: r.sample), .int(r.batches)] + r.aspectCounts.map(Cell.int)
                    + [.int(r.answers), .int(r.satisfied), .ratio(r.satisfied, of: r.answers), .flag(r.fundEligible), .fen(r.specialFund),
                       .flag(r.overdueFlag), .time(r.openedAt), .time(r.deadline), .time(r.concludedAt), .time(r.publishedAt)]
            })
    }

    /// Survey tallies per community and year as a table: the satisfaction rate over the surveys' answers,
    /// the share of concluded surveys above the 70% line, the fund in fen.
    public static func ratingStats(_ stats: [RatingStats]) -> ResultTable {
        ResultTable(
            columns: ["community", "year", "surveys", "concluded", "published", "above_line", "above_line_share", "special_fund", "overdue",
                      "households", "answers", "satisfied", "satisfaction"],
            rows: stats.map { s in
                [.text(s.community), .text(s.year), .int(s[.surveys]), .int(s[.concluded]), .int(s[.published]), .int(s[.aboveLine]),
                 .ratio(s[.aboveLine], of: s[.concluded]), .fen(s[.fundFen]), .int(s[.overdue]), .int(s[.households]), .int(s[.answers]),
                 .int(s[.satisfied]), .ratio(s[.satisfied], of: s[.answers])]
            })
    }

    /// Account balances as a table (debit, credit and balance in fen).
    public static func balances(_ balances: [AccountBalance]) -> ResultTable {
        ResultTable(columns: ["account", "department", "community", "month", "debit", "credit", "balance"],
                    rows: balances.map { [.text($0.account), .text($0.department), .text($0.community), .text($0.month), .fen($0.debit), .fen($0.credit), .fen($0.balance)] })
    }

    /// Ageing buckets as a table, one row per group.
    public static func ageing(_ groups: [(department: String, community: String, ageing: Ageing)]) -> ResultTable {
        ResultTable(columns: ["department", "community", "not_due", "days_1_30", "days_31_60", "days_61_90", "over_90", "overdue", "outstanding"],
                    rows: groups.map { d, c, a in
                        [.text(d), .text(c), .fen(a.notDue), .fen(a.days1to30), .fen(a.days31to60), .fen(a.days61to90), .fen(a.over90), .fen(a.overdue), .fen(a.total)]
                    })
    }
}

extension ProjectionStore {
    /// Ageing of outstanding payables as of `asOf` (ms), per department and/or community (all summed
    /// when both are false), in name order; `department` and `community` filter.
    public func ageingTable(asOf: Int64, department: String? = nil, community: String? = nil, byDepartment: Bool, byCommunity: Bool) throws -> ResultTable {
        var keys = Set<[String]>()
        for (_, r) in try ledgerRows() where r.outstanding > 0 {
            guard department.map({ $0 == r.department }) ?? true, community.map({ $0 == r.community }) ?? true else { continue }
            keys.insert([byDepartment ? r.department : "", byCommunity ? r.community : ""])
        }
        if keys.isEmpty { keys.insert(["", ""]) }
        let groups = try keys.sorted { $0.lexicographicallyPrecedes($1) }.map { k in
            (department: k[0], community: k[1],
             ageing: try ageing(asOf: asOf, department: byDepartment ? k[0] : department, community: byCommunity ? k[1] : community))
        }
        return RowTable.ageing(groups)
    }
}
