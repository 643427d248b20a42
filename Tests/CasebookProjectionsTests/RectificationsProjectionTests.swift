import CasebookLog
import CasebookProjections
import CasebookWorkflow
import Foundation
import Testing
@testable import CasebookTestSupport

// Communities rate departments; an unsatisfactory department rectifies; a failed rectification
// withdraws its work from the community (双评议, 整改, 撤出社区; DOMAIN.md §4).

@Suite struct RectificationsProjectionTests {
    typealias E = RectificationsProjection.EvaluationCounter
    typealias R = RectificationsProjection.Counter

    private func record(_ p: ProjectionStore, _ department: String) throws -> DepartmentRecord? {
        try p.departmentRecords().first { $0.department == department }
    }

    @Test func anUnsatisfactoryEvaluationOrdersARectificationThatIsReportedAndConfirmed() async throws {
        try await World.run { w in
            try await w.evaluationCommands()
            let p = try w.projections()
            let rc1 = try w.rectificationOf("ev-1")
            #expect(rc1.hasPrefix("ev-1-rectification-"), "opened by the engine's effect")

            let ev1 = try #require(try p.rectificationRow("ev-1"))
            #expect(ev1.kind == "evaluation" && ev1.department == "城管局" && ev1.community == "新河社区" && ev1.year == 2025)
            #expect(ev1.result == "unsatisfactory" && ev1.total == 20 && ev1.state == "rectification-ordered")
            #expect(ev1.closedAt == ms("2026-03-10T10:00:00+08:00"))

            let r = try #require(try p.rectificationRow(rc1))
            #expect(r.kind == "rectification" && r.department == "城管局" && r.community == "新河社区")
            #expect(r.state == "rectified" && r.outcome == "rectified" && r.reports == 1 && !r.isOpen && !r.overdueFlag)
            #expect(r.openedAt == ms("2026-03-10T10:00:00+08:00") && r.closedAt == ms("2026-04-02T10:00:00+08:00"))
            // 20 working days from 10 March; Qingming (4–6 April) is not counted.
            #expect(r.deadline == endOfDay("2026-04-08"))

            let cm = try #require(try record(p, "城管局"))
            #expect(cm[E.evaluations] == 1 && cm[E.unsatisfactory] == 1 && cm[E.satisfied] == 0 && cm[E.totalScore] == 20)
            #expect(cm[R.rectifications] == 1 && cm[R.rectified] == 1 && cm[R.open] == 0 && cm[R.overdue] == 0 && cm[R.withdrawn] == 0)

            // A satisfied department has an evaluation and no rectification.
            let ca = try #require(try record(p, "民政局"))
            #expect(ca[E.evaluations] == 1 && ca[E.satisfied] == 1 && ca[E.totalScore] == 50)
            #expect(ca[R.rectifications] == 0)
            #expect(try p.rectificationRow("ev-3")?.state == "closed")

            // Cost follows task rated 1: unsatisfactory whatever the total.
            let hc = try #require(try record(p, "住建局"))
            #expect(hc[E.unsatisfactory] == 1 && hc[E.totalScore] == 46)
            #expect(hc[R.rectifications] == 1 && hc[R.open] == 1 && hc[R.overdue] == 0)
            #expect(try p.departmentRecords().map(\.department) == ["住建局", "城管局", "民政局"].sorted())
        }
    }

    @Test func aFailedRectificationWithdrawsTheDepartmentsAdmittedItem() async throws {
        try await World.run { w in
            try await w.evaluationCommands()
            let p = try w.projections()
            let rc2 = try w.rectificationOf("ev-2")
            #expect(try p.rectificationRow(rc2)?.admission == "rec-adm")
            #expect(try p.admittedByCategory(community: "东风社区") == ["must-undertake": 1])

            // The deadline passes without a report: overdue.
            try await w.evaluationTimers()
            try p.catchUp()
            let overdue = try #require(try p.rectificationRow(rc2))
            #expect(overdue.state == "overdue" && overdue.overdueFlag && overdue.isOpen)
            var hc = try #require(try record(p, "住建局"))
            #expect(hc[R.open] == 1 && hc[R.overdue] == 1)

            // Reported late; the panel finds no clear change: escalated.
            try await w.evaluationEscalation()
            try p.catchUp()
            #expect(try p.rectificationRow(rc2)?.state == "escalated")
            #expect(try p.rectificationRow(rc2)?.reports == 1)
            hc = try #require(try record(p, "住建局"))
            #expect(hc[R.escalated] == 1 && hc[R.open] == 1)

            // The office withdraws the department's work: the admitted item ends.
            try await w.evaluationWithdrawal()
            try p.catchUp()
            let withdrawn = try #require(try p.rectificationRow(rc2))
            #expect(withdrawn.state == "withdrawn" && withdrawn.outcome == "withdrawn" && !withdrawn.isOpen)
            #expect(withdrawn.closedAt == ms("2026-04-21T10:00:00+08:00"))
            hc = try #require(try record(p, "住建局"))
            #expect(hc[R.rectifications] == 1 && hc[R.withdrawn] == 1 && hc[R.open] == 0 && hc[R.overdue] == 0 && hc[R.escalated] == 0)
            let cm = try #require(try record(p, "城管局"))
            #expect(cm[R.withdrawn] == 0 && cm[R.rectified] == 1)

            let item = try #require(try p.admissionRow("rec-adm"))
            #expect(item.state == "withdrawn")
            #expect(item.trailCommands == ["apply", "review", "approve", "admit", "withdraw"])
            #expect(item.trailRoles.last == "district-office" && item.trailActors.last == "周主任")
            #expect(item.trailTimes.last == ms("2026-04-21T10:00:00+08:00"))
            let counts = try #require(try p.admissionCounts(community: "东风社区").first { $0.kind == "work-task" })
            #expect(counts[.withdrawn] == 1 && counts[.admitted] == 0 && counts[.applied] == 1)
            #expect(try p.admittedByCategory(community: "东风社区").isEmpty, "withdrawn work is no longer admitted")
        }
    }
}

@Suite struct RectificationExtensionTests {
    @Test func moreTimeRestartsTheDeadlineAndClearsOverdue() async throws {
        try await World.run { w in
            try await w.evaluationCommands()
            try await w.evaluationTimers()
            let rc2 = try w.rectificationOf("ev-2")
            let p = try w.projections()
            #expect(try p.rectificationRow(rc2)?.state == "overdue")
            // The office gives 20 more working days from 13 April: the end of 13 May (Labour Day 1–5 May off, Saturday 9 May worked).
            let extended = try await w.accept(rc2, "extend", as: A.district, at: "2026-04-13T10:00:00+08:00")
            #expect(extended.state == "rectifying")
            try p.catchUp()
            let r = try #require(try p.rectificationRow(rc2))
            #expect(r.state == "rectifying" && !r.overdueFlag && r.isOpen)
            #expect(r.deadline == endOfDay("2026-05-13"))
            let hc = try #require(try p.departmentRecords().first { $0.department == "住建局" })
            #expect(hc[RectificationsProjection.Counter.open] == 1 && hc[RectificationsProjection.Counter.overdue] == 0)
        }
    }
}
