import CasebookLog
import CasebookProjections
import CasebookWorkflow
import Foundation
import Testing
@testable import CasebookTestSupport

// Resident requests (一门受理、一次性告知、限时办结、满意度; DOMAIN.md §1) with the service-item catalogue
// of Workflows/resident-request.yaml version 2.

@Suite struct RequestsProjectionTests {
    typealias C = RequestsProjection.Counter

    @Test func aRequestReceivedCompletedOnTimeAndRated() async throws {
        try await World.run { w in
            try await w.requestCommands()
            let p = try w.projections()
            let r = try #require(try p.requestRow("req-1"))
            #expect(r.community == "新河社区" && r.patch == "三片" && r.item == "residence-certificate" && r.certificate == "must")
            #expect(r.owner == "王芳" && r.handler == "back-office" && r.state == "closed" && r.rating == "satisfied")
            #expect(r.receivedAt == ms("2026-03-02T09:00:00+08:00") && r.completedAt == ms("2026-03-03T10:00:00+08:00"))
            #expect(r.dueAt == endOfDay("2026-03-05"), "the catalogue's 3 working days")
            #expect(!r.isLate && r.handlingMinutes == 1500 && r.pausedMs == 0 && r.notices == 0)

            let dept = try #require(try p.requestRow("req-4"))
            #expect(dept.department == "民政局" && dept.handler == "民政局" && dept.rating == "basically-satisfied")
            #expect(dept.dueAt == endOfDay("2026-03-10") && !dept.isLate && dept.handlingMinutes == 4440)
        }
    }

    @Test func oneNoticeOfMissingMaterialsPausesTheClockAndASecondIsRefused() async throws {
        try await World.run { w in
            try await w.requestCommands()
            let p = try w.projections()
            let r = try #require(try p.requestRow("req-2"))
            #expect(r.notices == 1 && r.noticeRefusals == 1)
            // Waiting for materials from 2 March 11:00 to 4 March 09:00 does not count.
            #expect(r.pausedMs == 46 * 3_600_000 && r.pausedSince == 0)
            // Due at the end of 9 March, moved by the 2 working days waited (3 and 4 March): the end of 11 March.
            #expect(r.dueAt == endOfDay("2026-03-11"))
            #expect(r.completedAt == ms("2026-03-12T10:00:00+08:00") && r.isLate)
            #expect(r.handlingMinutes == 11_640, "10 days less 46 hours waiting")
            #expect(r.rating == "dissatisfied")
        }
    }

    @Test func theDueDateMovesOnlyWhenTheResidentSuppliesTheMaterials() async throws {
        try await World.run { w in
            try await w.open("resident-request", "pause-1", as: A.counter,
                             #"{"item":"hardship-certificate","community":"新河社区","applicant":"李四"}"#, at: "2026-03-02T10:00:00+08:00")
            let p = try w.projections()
            #expect(try p.requestRow("pause-1")?.dueAt == endOfDay("2026-03-09"))
            try await w.accept("pause-1", "notify-missing", as: A.counter, #"{"missing":["收入证明"]}"#, at: "2026-03-02T11:00:00+08:00")
            try p.catchUp()
            let waiting = try #require(try p.requestRow("pause-1"))
            #expect(waiting.state == "waiting-materials" && waiting.pausedSince == ms("2026-03-02T11:00:00+08:00") && waiting.pausedMs == 0)
            try await w.accept("pause-1", "supply-materials", as: A.resident, at: "2026-03-04T09:00:00+08:00")
            try p.catchUp()
            let resumed = try #require(try p.requestRow("pause-1"))
            #expect(resumed.state == "in-progress" && resumed.pausedSince == 0 && resumed.pausedMs == 46 * 3_600_000)
            #expect(resumed.dueAt == endOfDay("2026-03-11"))
        }
    }

    @Test func aCertificateTheCommunityMayNotIssueIsRefused() async throws {
        try await World.run { w in
            try await w.requestCommands()
            #expect(try w.state("req-3").string("refusal")?.contains("户籍所在地派出所或公证处") == true, "refused with the referral")
            let p = try w.projections()
            let r = try #require(try p.requestRow("req-3"))
            #expect(r.certificate == "may-not" && r.state == "refused" && r.completedAt == 0 && !r.isLate && r.handlingMinutes == nil)
            let march = try #require(try p.requestStats(community: "新河社区", period: "2026-03").first)
            #expect(march[.refused] == 1)
        }
    }

    @Test func statisticsPerCommunityAndMonth() async throws {
        try await World.run { w in
            try await w.requestCommands()
            try await w.requestTimers()
            let p = try w.projections()

            let xinhe = try p.requestStats(community: "新河社区", period: "2026-03")
            #expect(xinhe.count == 1)
            let m = try #require(xinhe.first)
            #expect(m.community == "新河社区" && m.period == "2026-03")
            #expect(m[.received] == 5 && m[.completed] == 4 && m[.onTime] == 3 && m[.late] == 1 && m[.refused] == 1)
            #expect(m[.withNotice] == 1 && m[.secondNoticeAttempts] == 1)
            #expect(m[.rated] == 4 && m[.satisfied] == 2 && m[.basicallySatisfied] == 1 && m[.dissatisfied] == 1)
            #expect(m[.openOverdue] == 0 && m[.appointments] == 0)
            #expect(m.onTimeRate == 0.75)
            #expect(m.handlingMinutes == [150, 1500, 4440, 11640])
            #expect(m.medianHandlingMinutes == 1500, "the lower middle of four")
            #expect(m.satisfactionRate == 0.75)
            #expect(m.clearsSpecialFundLine(), "75% satisfied exceeds the 70% line of the special fund")

            // 东风社区: one completed and rated dissatisfied, one still open past its deadline.
            let d = try #require(try p.requestStats(community: "东风社区", period: "2026-03").first)
            #expect(d[.received] == 2 && d[.completed] == 1 && d[.onTime] == 1 && d[.openOverdue] == 1)
            #expect(d.satisfactionRate == 0 && !d.clearsSpecialFundLine())
            #expect(d.medianHandlingMinutes == 1440)
            let open = try #require(try p.requestRow("req-7"))
            #expect(open.overdueFlag && open.isLate && open.completedAt == 0 && open.dueAt == endOfDay("2026-03-12"))

            // April is its own month.
            let april = try #require(try p.requestStats(community: "新河社区", period: "2026-04").first)
            #expect(april[.received] == 1 && april[.completed] == 1 && april[.onTime] == 1 && april[.appointments] == 1)
            #expect(april.medianHandlingMinutes == 1440 && april.satisfactionRate == 1)
            #expect(try p.requestRow("req-8")?.appointment == true)

            // The year, per community and over all communities.
            let year = try p.requestStats(period: "2026")
            #expect(year.map(\.community) == ["东风社区", "新河社区"].sorted())
            #expect(year.first { $0.community == "新河社区" }?[.received] == 6)
            let all = try #require(try p.requestStats(period: "2026-03", byCommunity: false).first)
            #expect(all.community == "" && all[.received] == 7 && all[.completed] == 5 && all[.rated] == 5)
            #expect(all.handlingMinutes == [150, 1440, 1500, 4440, 11640] && all.medianHandlingMinutes == 1500)
            #expect(all.satisfactionRate == 0.6 && !all.clearsSpecialFundLine())
            #expect(try p.requestStats(period: "2025").isEmpty)
        }
    }
}

@Suite struct RequestReopeningTests {
    typealias C = RequestsProjection.Counter

    @Test func aReopenedRequestIsHandledAgainAgainstTheFullLimit() async throws {
        try await World.run { w in
            try await w.open("resident-request", "reo-1", as: A.counter,
                             #"{"item":"residence-certificate","community":"新河社区","applicant":"张三"}"#, at: "2026-03-02T09:00:00+08:00")
            try await w.accept("reo-1", "hand-off", as: A.counter, at: "2026-03-02T09:10:00+08:00")
            try await w.accept("reo-1", "complete", as: A.backOffice, at: "2026-03-03T10:00:00+08:00")
            let p = try w.projections()
            let first = try #require(try p.requestStats(community: "新河社区").first)
            #expect(first[.completed] == 1 && first[.onTime] == 1 && first.handlingMinutes == [1500])

            // Reopened on 4 March: the 3-working-day limit runs again (end of 9 March); completed on 10 March, late.
            let reopened = try await w.accept("reo-1", "reopen", as: A.supervisor, at: "2026-03-04T09:00:00+08:00")
            #expect(reopened.state == "in-progress")
            try p.catchUp()
            let open = try #require(try p.requestRow("reo-1"))
            #expect(open.reopened == 1 && open.completedAt == 0 && open.dueAt == endOfDay("2026-03-09"))
            let during = try #require(try p.requestStats(community: "新河社区").first)
            #expect(during[.completed] == 0 && during[.reopened] == 1 && during.handlingMinutes.isEmpty)

            try await w.accept("reo-1", "complete", as: A.backOffice, at: "2026-03-10T10:00:00+08:00")
            try p.catchUp()
            let r = try #require(try p.requestRow("reo-1"))
            #expect(r.completedAt == ms("2026-03-10T10:00:00+08:00") && r.isLate && r.handlingMinutes == 11_580)
            let after = try #require(try p.requestStats(community: "新河社区").first)
            #expect(after[.received] == 1 && after[.completed] == 1 && after[.late] == 1 && after[.onTime] == 0 && after[.reopened] == 1)
            #expect(after.handlingMinutes == [11_580], "one sample per request: the first handling's is taken back")
        }
    }
}
