import CasebookLog

/// Request statistics of one community in one month, as the `requests` projection tallies them.
public struct MonthlyRequestStats: Sendable, Hashable {
    /// The community.
    public var community: String
    /// The month received (`2026-03`).
    public var month: String
    /// Counters, by ``RequestsProjection/Counter``, and sorted handling times in minutes.
    public var stats: RequestStats
}

/// A piece of entrusted work that cannot be traced to admitted work, and why.
public struct UnadmittedWork: Sendable, Equatable {
    /// The entrusted-service case.
    public var caseId: String
    /// Its ledger row.
    public var row: LedgerRow
    /// Why it counts as entered without admission.
    public var reason: String
}

/// A department with rectifications escalated or open past their deadline: due for the withdrawal of
/// its admitted work.
public struct WithdrawalCandidate: Sendable, Hashable {
    /// The department.
    public var department: String
    /// Its rectifications escalated, and open past their deadline.
    public var escalated: Int, overdue: Int
    /// The rectification cases concerned, in case-id order.
    public var cases: [String]
    /// The admitted items (task-admission cases) those rectifications name.
    public var admissions: [String]
}

extension ProjectionStore {
    /// Request statistics per community and month received (every tally of the `requests` projection),
    /// in community then month order.
    public func monthlyRequestStats() throws -> [MonthlyRequestStats] {
        try tallies(RequestsProjection.name, prefix: RowKey.make("m", "")).compactMap { parts, t in
            guard parts.count == 3 else { return nil }
            return MonthlyRequestStats(
                community: parts[1], month: parts[2],
                stats: RequestStats(community: parts[1], period: parts[2], counters: t.counters, handlingMinutes: t.samples))
        }
    }

    /// Requests completed after their deadline, or still open with their deadline breached.
    public func lateRequests() throws -> [(caseId: String, row: RequestRow)] {
        try requestRows().filter { $0.row.isLate }
    }

    /// Requests on which a second notice of missing materials was attempted (and refused): the
    /// one-time-notice rule says everything missing is told at once.
    public func secondNoticeAttempts() throws -> [(caseId: String, row: RequestRow)] {
        try requestRows().filter { $0.row.noticeRefusals > 0 }
    }

    /// Entrusted work entered without admission: ledger rows that name no admitted item, and rows whose
    /// `admission` case is not an admitted row of the `admissions` register (missing, or in another state).
    public func workWithoutAdmission() throws -> [UnadmittedWork] {
        let register = Dictionary(try admissionRows().map { ($0.caseId, $0.row) }, uniquingKeysWith: { a, _ in a })
        var out: [UnadmittedWork] = []
        for (id, row) in try ledgerRows() {
            if row.withoutAdmission {
                out.append(UnadmittedWork(caseId: id, row: row, reason: "no admitted item named"))
            } else if let admission = register[row.admission] {
                if admission.state != "admitted" {
                    out.append(UnadmittedWork(caseId: id, row: row, reason: "admission \(row.admission) is \(admission.state.isEmpty ? "undecided" : admission.state), not admitted"))
                }
            } else {
                out.append(UnadmittedWork(caseId: id, row: row, reason: "admission \(row.admission) is not in the register"))
            }
        }
        return out
    }

    /// Entrusted work without funding terms (neither a unit price nor a fixed amount).
    public func workWithoutFunding() throws -> [(caseId: String, row: LedgerRow)] {
        try ledgerRows().filter { $0.row.withoutFunding }
    }

    /// Payables with something outstanding past their due date as of `asOf` (ms since the epoch), or
    /// whose payment clock was recorded as breached; with whole days overdue (0 on the due day itself,
    /// as ``ageing(asOf:department:community:)`` counts them), most overdue first.
    public func overduePayables(asOf: Int64) throws -> [(caseId: String, row: LedgerRow, daysOverdue: Int64)] {
        try ledgerRows().compactMap { id, r -> (String, LedgerRow, Int64)? in
            guard r.outstanding > 0 else { return nil }
            let pastDue = r.dueAt > 0 && asOf >= r.dueAt
            guard pastDue || r.overdueFlag else { return nil }
            return (id, r, pastDue ? (asOf - r.dueAt) / 86_400_000 : 0)
        }.sorted { ($1.2, $0.0) < ($0.2, $1.0) }
    }

    /// Rectifications still open past their deadline as of `asOf` (ms), or whose deadline clock was
    /// recorded as breached.
    public func rectificationsPastDeadline(asOf: Int64) throws -> [(caseId: String, row: RectificationRow)] {
        try rectificationRows().filter { _, r in r.isPastDeadline(asOf: asOf) }
    }

    /// Departments with rectifications escalated or open past their deadline as of `asOf` (ms): due for
    /// the withdrawal of their admitted work. In department order.
    public func departmentsDueForWithdrawal(asOf: Int64) throws -> [WithdrawalCandidate] {
        var groups: [String: WithdrawalCandidate] = [:]
        for (id, r) in try rectificationRows() where r.kind == "rectification" {
            let escalated = r.state == "escalated"
            let overdue = !escalated && r.isPastDeadline(asOf: asOf)
            guard escalated || overdue else { continue }
            var g = groups[r.department] ?? WithdrawalCandidate(department: r.department, escalated: 0, overdue: 0, cases: [], admissions: [])
            if escalated { g.escalated += 1 } else { g.overdue += 1 }
            g.cases.append(id)
            if !r.admission.isEmpty && !g.admissions.contains(r.admission) { g.admissions.append(r.admission) }
            groups[r.department] = g
        }
        return groups.keys.sorted().map { groups[$0]! }
    }
}
