import CasebookLog

/// Resident requests of one community in one period (a month `2026-03`, a year `2026`, or all).
public struct RequestStats: Sendable, Hashable {
    /// The community ("" when summed over all).
    public var community: String
    /// The period: a month, a year or "" (all).
    public var period: String
    /// Counters, by ``RequestsProjection/Counter``.
    public var counters: [Int64]
    /// Handling times (minutes) of completed requests, sorted.
    public var handlingMinutes: [Int64]

    /// A counter.
    public subscript(_ c: RequestsProjection.Counter) -> Int64 { c.rawValue < counters.count ? counters[c.rawValue] : 0 }
    /// Completed on time ÷ completed (nil when none completed).
    public var onTimeRate: Double? { self[.completed] > 0 ? Double(self[.onTime]) / Double(self[.completed]) : nil }
    /// (Satisfied + basically satisfied) ÷ rated (nil when none rated).
    public var satisfactionRate: Double? {
        self[.rated] > 0 ? Double(self[.satisfied] + self[.basicallySatisfied]) / Double(self[.rated]) : nil
    }
    /// The median handling time in minutes (the lower middle for an even count).
    public var medianHandlingMinutes: Int64? { handlingMinutes.isEmpty ? nil : handlingMinutes[(handlingMinutes.count - 1) / 2] }
    /// Whether satisfaction exceeds the special-fund line: committees whose residents' satisfaction
    /// exceeds 70% get a special fund of 5,000 yuan (seed 000; DOMAIN.md §3).
    public func clearsSpecialFundLine(threshold: Double = RequestStats.specialFundThreshold) -> Bool {
        (satisfactionRate ?? 0) > threshold
    }
    /// The special-fund satisfaction line (exceeding 70%).
    public static let specialFundThreshold = 0.70
}

/// A department's admitted-work register counts in one community (or all), by kind.
public struct AdmissionCounts: Sendable, Hashable {
    public var community: String
    public var kind: String
    /// Counters, by ``AdmissionsProjection/Counter``.
    public var counters: [Int64]
    public subscript(_ c: AdmissionsProjection.Counter) -> Int64 { c.rawValue < counters.count ? counters[c.rawValue] : 0 }
}

/// Debits and credits of one account (for one department, community and month, or summed).
public struct AccountBalance: Sendable, Hashable {
    public var account: String, department: String, community: String, month: String
    public var debit: Int64, credit: Int64
    /// Debit minus credit (fen).
    public var balance: Int64 { debit - credit }
}

/// Entrusted work between a department and a community (or summed).
public struct LedgerTotals: Sendable, Hashable {
    public var department: String, community: String
    /// Counters, by ``LedgerProjection/Counter`` (money in fen).
    public var counters: [Int64]
    public subscript(_ c: LedgerProjection.Counter) -> Int64 { c.rawValue < counters.count ? counters[c.rawValue] : 0 }
}

/// Outstanding payables by how long they are overdue.
public struct Ageing: Sendable, Hashable {
    /// Not yet due; 1–30, 31–60, 61–90 and over 90 days overdue (fen).
    public var notDue: Int64 = 0, days1to30: Int64 = 0, days31to60: Int64 = 0, days61to90: Int64 = 0, over90: Int64 = 0
    /// Everything outstanding.
    public var total: Int64 { notDue + days1to30 + days31to60 + days61to90 + over90 }
    /// Everything overdue.
    public var overdue: Int64 { total - notDue }
}

/// A department's evaluations and rectifications.
public struct DepartmentRecord: Sendable, Hashable {
    public var department: String
    /// By ``RectificationsProjection/EvaluationCounter``.
    public var evaluations: [Int64]
    /// By ``RectificationsProjection/Counter``.
    public var rectifications: [Int64]
    public subscript(_ c: RectificationsProjection.Counter) -> Int64 { c.rawValue < rectifications.count ? rectifications[c.rawValue] : 0 }
    public subscript(_ c: RectificationsProjection.EvaluationCounter) -> Int64 { c.rawValue < evaluations.count ? evaluations[c.rawValue] : 0 }
}

func sum(_ a: [Int64], _ b: [Int64]) -> [Int64] {
    var out = a.count >= b.count ? a : b
    for (i, v) in (a.count >= b.count ? b : a).enumerated() { out[i] += v }
    return out
}

func mergeSorted(_ a: [Int64], _ b: [Int64]) -> [Int64] {
    var out: [Int64] = []
    out.reserveCapacity(a.count + b.count)
    var i = 0, j = 0
    while i < a.count || j < b.count {
        if j == b.count || (i < a.count && a[i] <= b[j]) { out.append(a[i]); i += 1 } else { out.append(b[j]); j += 1 }
    }
    return out
}

extension ProjectionStore {
    // MARK: requests

    /// Every request row, in case-id order.
    public func requestRows() throws -> [(caseId: String, row: RequestRow)] { try rows(RequestsProjection.self) }

    /// Request statistics grouped by community (or all communities when `byCommunity` is false) and by
    /// period: `period` is a prefix of the month received (`2026` sums a year, `2026-03` one month,
    /// "" everything); `community` filters.
    public func requestStats(community: String? = nil, period: String = "", byCommunity: Bool = true) throws -> [RequestStats] {
        let prefix = community.map { RowKey.make("m", $0, "") } ?? RowKey.make("m", "")
        return try grouped(RequestsProjection.name, prefix: prefix, parts: 3) { parts in
            guard parts[2].hasPrefix(period) else { return nil }
            let c = byCommunity ? parts[1] : ""
            return (c, { RequestStats(community: c, period: period, counters: [], handlingMinutes: []) })
        } add: { g, t in
            g.counters = sum(g.counters, t.counters)
            g.handlingMinutes = mergeSorted(g.handlingMinutes, t.samples)
        }
    }

    // MARK: admissions

    /// Every admission row, in case-id order.
    public func admissionRows() throws -> [(caseId: String, row: AdmissionRow)] { try rows(AdmissionsProjection.self) }

    /// Applications and outcomes by kind, per community (or summed over all when `byCommunity` is false).
    public func admissionCounts(community: String? = nil, byCommunity: Bool = true) throws -> [AdmissionCounts] {
        let prefix = community.map { RowKey.make("k", $0, "") } ?? RowKey.make("k", "")
        return try grouped(AdmissionsProjection.name, prefix: prefix, parts: 3) { parts in
            let c = byCommunity ? parts[1] : ""
            return (RowKey.make(c, parts[2]), { AdmissionCounts(community: c, kind: parts[2], counters: []) })
        } add: { g, t in
            g.counters = sum(g.counters, t.counters)
        }
    }

    /// Admitted items by category (per community, or summed).
    public func admittedByCategory(community: String? = nil) throws -> [String: Int64] {
        var out: [String: Int64] = [:]
        let prefix = community.map { RowKey.make("g", $0, "") } ?? RowKey.make("g", "")
        for (parts, t) in try tallies(AdmissionsProjection.name, prefix: prefix) where parts.count == 3 {
            out[parts[2], default: 0] += t.counters.first ?? 0
        }
        return out
    }

    // MARK: ledger

    /// Every ledger row, in case-id order.
    public func ledgerRows() throws -> [(caseId: String, row: LedgerRow)] { try rows(LedgerProjection.self) }

    /// Account balances; each filter narrows, and the parts not kept are summed over.
    public func ledgerBalances(
        department: String? = nil, community: String? = nil, period: String = "", byDepartment: Bool = false, byCommunity: Bool = false,
        byMonth: Bool = false
    ) throws -> [AccountBalance] {
        try grouped(LedgerProjection.name, prefix: RowKey.make("b", ""), parts: 5) { parts in
            let (account, d, c, m) = (parts[1], parts[2], parts[3], parts[4])
            guard department.map({ $0 == d }) ?? true, community.map({ $0 == c }) ?? true, m.hasPrefix(period) else { return nil }
            let b = AccountBalance(account: account, department: byDepartment ? d : "", community: byCommunity ? c : "",
                                   month: byMonth ? m : period, debit: 0, credit: 0)
            return (RowKey.make(b.account, b.department, b.community, b.month), { b })
        } add: { g, t in
            g.debit += t.counters.count > 0 ? t.counters[0] : 0
            g.credit += t.counters.count > 1 ? t.counters[1] : 0
        }
    }

    /// Entrusted-work totals per department and community (or summed when both flags are false).
    public func ledgerTotals(byDepartment: Bool = true, byCommunity: Bool = true) throws -> [LedgerTotals] {
        try grouped(LedgerProjection.name, prefix: RowKey.make("d", ""), parts: 3) { parts in
            let d = byDepartment ? parts[1] : "", c = byCommunity ? parts[2] : ""
            return (RowKey.make(d, c), { LedgerTotals(department: d, community: c, counters: []) })
        } add: { g, t in
            g.counters = sum(g.counters, t.counters)
        }
    }

    /// Outstanding payables aged as of `asOf` (ms since the epoch), by days past their due date.
    public func ageing(asOf: Int64, department: String? = nil, community: String? = nil) throws -> Ageing {
        var a = Ageing()
        for (_, r) in try ledgerRows() where r.outstanding > 0 {
            guard department.map({ $0 == r.department }) ?? true, community.map({ $0 == r.community }) ?? true else { continue }
            // Whole days past the due date; not yet due (negative) until the due instant itself. (Truncating
            // division would put the last day before the due date at 0 days, i.e. overdue.)
            let days = r.dueAt > 0 && asOf >= r.dueAt ? (asOf - r.dueAt) / 86_400_000 : -1
            switch days {
            case ..<0: a.notDue += r.outstanding
            case 0..<30: a.days1to30 += r.outstanding
            case 30..<60: a.days31to60 += r.outstanding
            case 60..<90: a.days61to90 += r.outstanding
            default: a.over90 += r.outstanding
            }
        }
        return a
    }

    // MARK: rectifications

    /// Every evaluation and rectification row, in case-id order.
    public func rectificationRows() throws -> [(caseId: String, row: RectificationRow)] { try rows(RectificationsProjection.self) }

    /// Evaluations and rectifications per department.
    public func departmentRecords() throws -> [DepartmentRecord] {
        var groups: [String: DepartmentRecord] = [:]
        let all = try tallies(RectificationsProjection.name, prefix: RowKey.make("e", "")) + tallies(RectificationsProjection.name, prefix: RowKey.make("r", ""))
        for (parts, t) in all where parts.count == 2 {
            var g = groups[parts[1]] ?? DepartmentRecord(department: parts[1], evaluations: [], rectifications: [])
            if parts[0] == "e" { g.evaluations = sum(g.evaluations, t.counters) } else { g.rectifications = sum(g.rectifications, t.counters) }
            groups[parts[1]] = g
        }
        return groups.keys.sorted().map { groups[$0]! }
    }
}
