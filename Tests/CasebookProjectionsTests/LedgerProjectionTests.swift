import CasebookLog
import CasebookProjections
import CasebookWorkflow
import Foundation
import Testing
@testable import CasebookTestSupport

// "Cost follows task" (费随事转, DOMAIN.md §3) in the ledger: payment after assessment, double entry in
// integer fen, staff advances, overdue payments and ageing, work entrusted without admission.

@Suite struct LedgerProjectionTests {
    /// Every tally set balances: debits equal credits.
    private func expectBalanced(_ balances: [AccountBalance], _ what: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let debit = balances.reduce(0) { $0 + $1.debit }, credit = balances.reduce(0) { $0 + $1.credit }
        #expect(debit == credit && debit > 0, "\(what): debits \(debit) vs credits \(credit)", sourceLocation: sourceLocation)
    }

    /// Not due, 1–30, 31–60, 61–90, over 90 days overdue.
    private func buckets(_ a: Ageing) -> [Int64] { [a.notDue, a.days1to30, a.days31to60, a.days61to90, a.over90] }

    @Test func assessmentFixesThePayableAmountAndTheLedgerBalances() async throws {
        try await World.run { w in
            try await w.ledgerCommands()
            let p = try w.projections()

            let r = try #require(try p.ledgerRow("led-1"))
            #expect(r.state == "payable" && r.mode == "per-unit" && r.admission == "adm-1" && !r.withoutAdmission)
            #expect(r.unitPrice == 5000 && r.delivered == 30)
            #expect(r.accrued == 150_000, "30 units at 50 yuan")
            #expect(r.assessed == 140_000, "payable = unit price × assessed quantity (28)")
            #expect(r.unbilled == 0, "the assessment clears what was accrued")
            #expect(r.paid == 40_000 && r.outstanding == 100_000)
            #expect(r.advances == 3000 && r.reimbursed == 1000)
            #expect(r.entrustedAt == ms("2026-03-02T09:00:00+08:00") && r.assessedAt == ms("2026-04-01T10:00:00+08:00"))
            #expect(r.dueAt == endOfDay("2026-05-01"), "30 calendar days after the assessment")
            #expect(!r.overdueFlag && r.settledAt == 0)

            // Accounts of 民政局 in 新河社区 (led-1 only), all months.
            let led1 = try p.ledgerBalances(department: "民政局", community: "新河社区")
            expectBalanced(led1, "民政局/新河社区")
            func bal(_ account: String) -> AccountBalance? { led1.first { $0.account == account } }
            #expect(bal("unbilled")?.debit == 150_000 && bal("unbilled")?.credit == 150_000 && bal("unbilled")?.balance == 0)
            #expect(bal("income")?.balance == -140_000, "income is what the assessment fixed")
            #expect(bal("income")?.debit == 10_000, "the 2 units not accepted are taken back out of income")
            #expect(bal("receivable")?.balance == r.outstanding)
            #expect(bal("cash")?.balance == 39_000, "paid 400 yuan, reimbursed 10")
            #expect(bal("expense")?.balance == 3000)
            #expect(bal("staff-payable")?.balance == -(r.advances - r.reimbursed), "owed to staff: advances not yet reimbursed")
            #expect(Set(led1.map(\.account)) == Set(LedgerProjection.accounts))

            // Postings fall in the month they happen: deliveries and the advance in March, the rest in April.
            let months = try p.ledgerBalances(department: "民政局", community: "新河社区", byMonth: true)
            func posted(_ account: String, _ month: String) -> (Int64, Int64)? {
                months.first { $0.account == account && $0.month == month }.map { ($0.debit, $0.credit) }
            }
            #expect(posted("unbilled", "2026-03")! == (150_000, 0))
            #expect(posted("income", "2026-03")! == (0, 150_000))
            #expect(posted("unbilled", "2026-04")! == (0, 150_000))
            #expect(posted("receivable", "2026-04")! == (140_000, 40_000))
            #expect(posted("income", "2026-04")! == (10_000, 0))
            #expect(posted("expense", "2026-03")! == (3000, 0))
            #expect(posted("staff-payable", "2026-03")! == (0, 3000))
            #expect(posted("staff-payable", "2026-04")! == (1000, 0))
            #expect(posted("cash", "2026-04")! == (40_000, 1000))
            #expect(posted("receivable", "2026-03") == nil && posted("cash", "2026-03") == nil)
            for month in ["2026-03", "2026-04"] {
                expectBalanced(try p.ledgerBalances(period: month), month)
            }
            // Summed over departments and communities too; and March's unbilled is what was delivered in March.
            expectBalanced(try p.ledgerBalances(), "everything")
            #expect(try p.balance("unbilled", period: "2026-03")?.debit == 150_000 + 20_000 + 300_000)

            // Per department and community.
            typealias C = LedgerProjection.Counter
            let totals = try p.ledgerTotals()
            let t = try #require(totals.first { $0.department == "民政局" && $0.community == "新河社区" })
            #expect(t[.items] == 1 && t[.accrued] == 150_000 && t[.assessed] == 140_000 && t[.paid] == 40_000 && t[.outstanding] == 100_000)
            #expect(t[.advances] == 3000 && t[.reimbursed] == 1000 && t[.advancesOutstanding] == 2000)
            #expect(t[.overdueOutstanding] == 0 && t[.withoutAdmission] == 0 && t[.withoutFunding] == 0)
        }
    }

    @Test func belowThePassMarkNothingIsPayableAndTheAccrualIsReversed() async throws {
        try await World.run { w in
            try await w.ledgerCommands()
            let p = try w.projections()
            let r = try #require(try p.ledgerRow("led-2"))
            #expect(r.state == "payable" && r.accrued == 20_000 && r.assessed == 0 && r.outstanding == 0 && r.unbilled == 0)
            let accounts = try p.ledgerBalances(department: "民政局", community: "东风社区")
            expectBalanced(accounts, "民政局/东风社区")
            #expect(accounts.first { $0.account == "unbilled" }?.balance == 0)
            #expect(accounts.first { $0.account == "income" }.map { ($0.debit, $0.credit) }! == (20_000, 20_000), "the accrual is reversed")
            #expect(accounts.first { $0.account == "receivable" } == nil, "nothing is receivable")
            let reversal = try p.ledgerBalances(department: "民政局", community: "东风社区", period: "2026-04")
            #expect(reversal.first { $0.account == "income" }?.debit == 20_000)
            #expect(try p.ageing(asOf: ms("2026-12-31T00:00:00+08:00"), community: "东风社区").total == 0)
        }
    }

    @Test func workEntrustedWithoutAdmissionIsFlagged() async throws {
        try await World.run { w in
            try await w.ledgerCommands()
            let p = try w.projections()
            let r = try #require(try p.ledgerRow("led-3"))
            #expect(r.withoutAdmission && r.admission == "" && r.mode == "lump-sum" && r.fixedAmount == 300_000)
            #expect(r.accrued == 300_000 && r.unbilled == 300_000, "a lump sum accrues when entrusted")
            let t = try #require(try p.ledgerTotals().first { $0.department == "城管局" })
            #expect(t.community == "新河社区" && t[.withoutAdmission] == 1 && t[.items] == 1 && t[.accrued] == 300_000)
            let all = try #require(try p.ledgerTotals(byDepartment: false, byCommunity: false).first)
            #expect(all[.items] == 3 && all[.withoutAdmission] == 1)
            #expect(try p.ledgerTotals().filter { $0[.withoutAdmission] > 0 }.map(\.department) == ["城管局"])
        }
    }

    @Test func anOverduePaymentIsFlaggedAndAgedFromItsDueDate() async throws {
        try await World.run { w in
            try await w.ledgerCommands()
            let p = try w.projections()
            // Due at the end of 1 May; outstanding 1,000 yuan.
            #expect(buckets(try p.ageing(asOf: ms("2026-04-20T12:00:00+08:00"))) == [100_000, 0, 0, 0, 0])
            #expect(try p.ageing(asOf: ms("2026-05-01T12:00:00+08:00")).notDue == 100_000, "not overdue on the day it falls due")
            #expect(buckets(try p.ageing(asOf: ms("2026-05-02T12:00:00+08:00"))) == [0, 100_000, 0, 0, 0])
            #expect(buckets(try p.ageing(asOf: ms("2026-06-15T12:00:00+08:00"))) == [0, 0, 100_000, 0, 0])
            #expect(buckets(try p.ageing(asOf: ms("2026-07-20T12:00:00+08:00"))) == [0, 0, 0, 100_000, 0])
            #expect(buckets(try p.ageing(asOf: ms("2026-08-15T12:00:00+08:00"))) == [0, 0, 0, 0, 100_000])
            #expect(try p.ageing(asOf: ms("2026-06-15T12:00:00+08:00"), department: "城管局").total == 0)

            try await w.ledgerTimers()
            try p.catchUp()
            let r = try #require(try p.ledgerRow("led-1"))
            #expect(r.overdueFlag && r.state == "payable")
            let t = try #require(try p.ledgerTotals().first { $0.department == "民政局" && $0.community == "新河社区" })
            #expect(t[.overdueOutstanding] == 100_000)
            #expect(try p.ageing(asOf: ms("2026-05-10T00:00:00+08:00")).overdue == 100_000)

            // Paid in full in June: nothing outstanding, nothing overdue, every account of the item settled.
            try await w.ledgerSettlement()
            try p.catchUp()
            let settled = try #require(try p.ledgerRow("led-1"))
            #expect(settled.state == "closed" && settled.outstanding == 0 && settled.paid == 140_000)
            #expect(settled.settledAt == ms("2026-06-16T10:00:00+08:00"))
            #expect(settled.reimbursed == 3000)
            let accounts = try p.ledgerBalances(department: "民政局", community: "新河社区")
            expectBalanced(accounts, "settled")
            #expect(accounts.first { $0.account == "receivable" }?.balance == 0)
            #expect(accounts.first { $0.account == "staff-payable" }?.balance == 0)
            #expect(accounts.first { $0.account == "cash" }?.balance == 137_000, "1,400 yuan paid less 30 reimbursed")
            #expect(try p.ledgerBalances(department: "民政局", community: "新河社区", period: "2026-06")
                .first { $0.account == "cash" }.map { ($0.debit, $0.credit) }! == (100_000, 2000))
            let after = try #require(try p.ledgerTotals().first { $0.department == "民政局" && $0.community == "新河社区" })
            #expect(after[.outstanding] == 0 && after[.overdueOutstanding] == 0 && after[.advancesOutstanding] == 0 && after[.paid] == 140_000)
            #expect(try p.ageing(asOf: ms("2026-08-15T12:00:00+08:00")).total == 0)
        }
    }
}
