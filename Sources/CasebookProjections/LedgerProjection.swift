/// One piece of entrusted work (`entrusted-service` case) in the ledger. Money is integer fen.
public struct LedgerRow: ProjectionRow {
    public var department = "", community = "", item = "", admission = "", mode = "", state = ""
    public var unitPrice: Int64 = 0, fixedAmount: Int64 = 0, delivered: Int64 = 0
    /// Work accrued at contract prices and not yet assessed (fen).
    public var unbilled: Int64 = 0
    /// Accrued in all (fen).
    public var accrued: Int64 = 0
    /// The payable amount the assessment fixed, paid so far, outstanding (fen).
    public var assessed: Int64 = 0, paid: Int64 = 0, outstanding: Int64 = 0
    /// Staff advances recorded and reimbursed (fen).
    public var advances: Int64 = 0, reimbursed: Int64 = 0
    /// When entrusted, assessed, and when payment is due (ms since the epoch; 0: not yet).
    public var entrustedAt: Int64 = 0, assessedAt: Int64 = 0, dueAt: Int64 = 0, settledAt: Int64 = 0
    /// The payment clock passed its deadline.
    public var overdueFlag = false

    /// Work entrusted without naming an admitted item: auditors must find these.
    public var withoutAdmission: Bool { admission.isEmpty }
    /// Entrusted without funding terms (no unit price and no fixed amount).
    public var withoutFunding: Bool { unitPrice == 0 && fixedAmount == 0 }

    public init() {}

    public func encode(into w: inout RowWriter) {
        w.string(department); w.string(community); w.string(item); w.string(admission); w.string(mode)
        w.string(state)
        w.int(unitPrice); w.int(fixedAmount); w.int(delivered); w.int(unbilled); w.int(accrued); w.int(assessed)
        w.int(paid); w.int(outstanding); w.int(advances); w.int(reimbursed); w.int(entrustedAt); w.int(assessedAt)
        w.int(dueAt); w.int(settledAt)
        w.bool(overdueFlag)
    }

    public init(from r: inout RowReader) {
        department = r.string(); community = r.string(); item = r.string(); admission = r.string(); mode = r.string(); state = r.string()
        unitPrice = r.int(); fixedAmount = r.int(); delivered = r.int(); unbilled = r.int(); accrued = r.int(); assessed = r.int()
        paid = r.int(); outstanding = r.int(); advances = r.int(); reimbursed = r.int()
        entrustedAt = r.int(); assessedAt = r.int(); dueAt = r.int(); settledAt = r.int()
        overdueFlag = r.bool()
    }
}

/// "Cost follows task" in double entry, integer fen, from the community's side of each entrusted item:
///
/// | what happens | debit | credit |
/// |---|---|---|
/// | work accrues at contract prices (fixed part when entrusted, units as delivered) | unbilled | income |
/// | assessment fixes the payable amount P against A accrued | receivable P (+ income A−P if less) | unbilled A (+ income P−A if more) |
/// | the department pays X | cash X | receivable X |
/// | community staff advance X | expense X | staff-payable X |
/// | an advance is reimbursed X | staff-payable X | cash X |
///
/// Postings are tallied per account, department, community and month; every posting balances, so
/// debits equal credits in every tally set. Per department and community the state of the work is
/// tallied too (accrued, assessed, paid, outstanding, overdue, advances), and each row keeps the due
/// date, from which ageing is worked out as of any date.
public struct LedgerProjection: Projection {
    public static let name = "ledger"
    public static let workflows: Set<String> = ["entrusted-service"]
    public static let format: UInt64 = 1

    /// The accounts.
    public static let accounts = ["unbilled", "income", "receivable", "cash", "expense", "staff-payable"]

    /// Counters of a department-community tally, in order.
    public enum Counter: Int, CaseIterable, Sendable {
        case items, accrued, assessed, paid, outstanding, overdueOutstanding, advances, reimbursed, advancesOutstanding,
             withoutAdmission, withoutFunding
    }

    public init() {}

    public func open(_ e: CaseEvent) -> LedgerRow {
        var r = LedgerRow()
        r.entrustedAt = e.at
        return r
    }

    public func fold(_ r: inout LedgerRow, _ e: CaseEvent) -> [Contribution] {
        let before = r
        switch e.kind {
        case .opened, .accepted:
            for (field, value) in e.set {
                switch field {
                case "department": r.department = value.string ?? ""
                case "community": r.community = value.string ?? ""
                case "item": r.item = value.string ?? ""
                case "admission": r.admission = value.string ?? ""
                case "mode": r.mode = value.string ?? ""
                case "unit_price": r.unitPrice = value.int ?? 0
                case "fixed_amount": r.fixedAmount = value.int ?? 0
                case "delivered": r.delivered = value.int ?? 0
                case "payable": r.assessed = value.int ?? 0
                case "paid": r.paid = value.int ?? 0
                case "outstanding": r.outstanding = value.int ?? 0
                case "advances": r.advances = value.int ?? 0
                case "reimbursed": r.reimbursed = value.int ?? 0
                case "overdue": r.overdueFlag = value.bool ?? false
                default: break
                }
            }
            for op in e.clocks where op.clock == "payment" && op.op == "start" { r.dueAt = op.deadline ?? 0 }
            if let state = e.state {
                if state == "payable" && before.state != "payable" { r.assessedAt = e.at }
                if state == "paid" && before.state != "paid" { r.settledAt = e.at }
                r.state = state
            }
        case .breached:
            if e.breachedClock == "payment" { r.overdueFlag = true }
        case .rejected, .migrated, .erased:
            return []
        }
        // Postings, from what changed.
        var postings: [(debit: String, credit: String, amount: Int64)] = []
        let accrual = (r.fixedAmount - before.fixedAmount) + (r.delivered - before.delivered) * r.unitPrice
        if accrual != 0 {
            postings.append(("unbilled", "income", accrual))
            r.unbilled += accrual
            r.accrued += accrual
        }
        if r.assessed != before.assessed || (r.assessedAt != 0 && before.assessedAt == 0) {
            let assessedNow = r.assessed - before.assessed
            let clearing = r.unbilled
            postings.append(("receivable", "unbilled", min(assessedNow, clearing)))
            if clearing > assessedNow { postings.append(("income", "unbilled", clearing - assessedNow)) }
            if assessedNow > clearing { postings.append(("receivable", "income", assessedNow - clearing)) }
            r.unbilled = 0
        }
        if r.paid != before.paid { postings.append(("cash", "receivable", r.paid - before.paid)) }
        if r.advances != before.advances { postings.append(("expense", "staff-payable", r.advances - before.advances)) }
        if r.reimbursed != before.reimbursed { postings.append(("staff-payable", "cash", r.reimbursed - before.reimbursed)) }
        let month = RowKey.month(e.at)
        var out: [Contribution] = []
        for p in postings where p.amount != 0 {
            out.append(Contribution(RowKey.key("b", p.debit, r.department, r.community, month), [p.amount, 0]))
            out.append(Contribution(RowKey.key("b", p.credit, r.department, r.community, month), [0, p.amount]))
        }
        return out
    }

    public func contributions(of r: LedgerRow) -> [Contribution] {
        var c = [Int64](repeating: 0, count: Counter.allCases.count)
        c[Counter.items.rawValue] = 1
        c[Counter.accrued.rawValue] = r.accrued
        c[Counter.assessed.rawValue] = r.assessed
        c[Counter.paid.rawValue] = r.paid
        c[Counter.outstanding.rawValue] = r.outstanding
        c[Counter.overdueOutstanding.rawValue] = r.overdueFlag ? r.outstanding : 0
        c[Counter.advances.rawValue] = r.advances
        c[Counter.reimbursed.rawValue] = r.reimbursed
        c[Counter.advancesOutstanding.rawValue] = r.advances - r.reimbursed
        c[Counter.withoutAdmission.rawValue] = r.withoutAdmission ? 1 : 0
        c[Counter.withoutFunding.rawValue] = r.withoutFunding ? 1 : 0
        return [Contribution(RowKey.key("d", r.department, r.community), c)]
    }
}
