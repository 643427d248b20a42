import CasebookLog
import CasebookProjections
import CasebookWorkflow
import Foundation
import Testing
@testable import CasebookTestSupport

// The admissions register (工作准入, DOMAIN.md §2) built from task-admission cases driven with the
// repository's definition: legal basis or residents' resolution, classification, approval trail,
// counts by kind, expiry by the review clock.

@Suite struct AdmissionsProjectionTests {
    @Test func admittedWorkKeepsItsLegalBasisCategoryAndFullApprovalTrail() async throws {
        try await World.run { w in
            try await w.admissionCommands()
            let p = try w.projections()

            let a1 = try #require(try p.admissionRow("adm-1"))
            #expect(a1.state == "admitted" && a1.kind == "work-task" && a1.community == "新河社区" && a1.department == "民政局")
            #expect(a1.hasLegalBasis && a1.legalBasis == "《中华人民共和国老年人权益保障法》第三十一条")
            #expect(a1.category == "must-undertake")
            #expect(a1.meeting == "" && !a1.resolutionPassed)
            // The trail: every accepted command, by whom in which role, when. The refused resolution is not in it.
            #expect(a1.trailCommands == ["apply", "review", "approve", "admit"])
            #expect(a1.trailRoles == ["department", "street-office", "district-office", "district-office"])
            #expect(a1.trailActors == ["民政局", "李科长", "周主任", "周主任"])
            #expect(a1.trailTimes == [ms("2026-03-02T09:00:00+08:00"), ms("2026-03-03T10:00:00+08:00"), ms("2026-03-04T11:00:00+08:00"),
                                      ms("2026-03-05T15:00:00+08:00")])
            #expect(a1.appliedAt == ms("2026-03-02T09:00:00+08:00") && a1.lastAt == ms("2026-03-05T15:00:00+08:00"))

            // Without legal basis: admitted only after the residents' representatives passed it.
            let a2 = try #require(try p.admissionRow("adm-2"))
            #expect(a2.state == "admitted" && !a2.hasLegalBasis && a2.legalBasis == "")
            #expect(a2.resolutionPassed && a2.meeting == "representatives-meeting")
            #expect(a2.votesFor == 120 && a2.votesAgainst == 30 && a2.votesAbstain == 10)
            #expect(a2.category == "may-be-entrusted")
            #expect(a2.trailCommands == ["apply", "record-resolution", "review", "approve", "admit"])
            #expect(a2.trailRoles == ["department", "residents-committee", "street-office", "district-office", "district-office"])
            #expect(a2.trailActors == ["统计局", "东风居委会", "李科长", "周主任", "周主任"])
            // The resolution came before the review: the refused early review and filing are not in the trail.
            #expect(a2.trailTimes[1] == ms("2026-03-06T19:00:00+08:00") && a2.trailTimes[2] == ms("2026-03-09T10:00:00+08:00"))

            // A failed vote changes nothing: no resolution recorded, then declined.
            let a3 = try #require(try p.admissionRow("adm-3"))
            #expect(a3.state == "rejected" && !a3.resolutionPassed && a3.votesFor == 0 && a3.meeting == "")
            #expect(a3.trailCommands == ["apply", "decline"])

            // A stamping item without legal basis: should not be undertaken, never admitted.
            let a4 = try #require(try p.admissionRow("adm-4"))
            #expect(a4.state == "rejected" && a4.category == "should-not-undertake")
            #expect(!a4.trailCommands.contains("admit"))

            // Only admitted items are indexed by category.
            #expect(try p.admittedByCategory() == ["must-undertake": 1, "may-be-entrusted": 1])
            #expect(try p.admittedByCategory(community: "新河社区") == ["must-undertake": 1])
            #expect(try p.admittedByCategory(community: "东风社区") == ["may-be-entrusted": 1])
        }
    }

    @Test func countsByKindFollowEachApplicationToItsOutcome() async throws {
        try await World.run { w in
            try await w.admissionCommands()
            let p = try w.projections()
            typealias C = AdmissionsProjection.Counter
            func counts(_ list: [AdmissionCounts], _ kind: String) -> [C: Int64] {
                guard let c = list.first(where: { $0.kind == kind }) else { return [:] }
                return Dictionary(uniqueKeysWithValues: C.allCases.compactMap { c[$0] != 0 ? ($0, c[$0]) : nil })
            }
            // Before the timers: the plaque is still pending.
            let xinhe = try p.admissionCounts(community: "新河社区")
            #expect(xinhe.map(\.kind) == ["organisation", "plaque", "stamping-item", "work-task"])
            #expect(xinhe.allSatisfy { $0.community == "新河社区" })
            #expect(counts(xinhe, "work-task") == [.applied: 2, .admitted: 1, .rejected: 1, .withLegalBasis: 1])
            #expect(counts(xinhe, "stamping-item") == [.applied: 1, .rejected: 1, .byResolution: 1])
            #expect(counts(xinhe, "plaque") == [.applied: 1, .pending: 1, .withLegalBasis: 1])
            #expect(counts(xinhe, "organisation") == [.applied: 1, .rejected: 1, .withLegalBasis: 1])
            let dongfeng = try p.admissionCounts(community: "东风社区")
            #expect(dongfeng.count == 1)
            #expect(counts(dongfeng, "statistical-survey") == [.applied: 1, .admitted: 1, .byResolution: 1])

            // Summed over communities.
            let all = try p.admissionCounts(byCommunity: false)
            #expect(all.map(\.kind) == ["organisation", "plaque", "stamping-item", "statistical-survey", "work-task"])
            #expect(all.reduce(0) { $0 + $1[.applied] } == 6)
            #expect(all.reduce(0) { $0 + $1[.admitted] } == 2)
            #expect(all.allSatisfy { $0.community == "" })
        }
    }

    @Test func theReviewClockExpiresAnUndecidedApplication() async throws {
        try await World.run { w in
            try await w.admissionCommands()
            let p = try w.projections()
            #expect(try p.admissionRow("adm-5")?.state == "applied")
            try await w.admissionTimers()
            try p.catchUp()

            let a5 = try #require(try p.admissionRow("adm-5"))
            #expect(a5.state == "expired")
            #expect(a5.trailCommands == ["apply", "clock.breached"])
            // Recorded at the deadline: the end of the 20th working day after 2 March.
            #expect(a5.trailTimes.last == endOfDay("2026-03-30"))
            let plaque = try #require(try p.admissionCounts(community: "新河社区").first { $0.kind == "plaque" })
            #expect(plaque[.expired] == 1 && plaque[.pending] == 0 && plaque[.applied] == 1)

            // adm-6 was declined after its deadline, before the timers ran: the breach is recorded on the case but
            // moves nothing, so the register must keep it rejected, as the case is.
            #expect(try w.state("adm-6").state == "rejected")
            let a6 = try #require(try p.admissionRow("adm-6"))
            #expect(a6.state == "rejected")
            let organisation = try #require(try p.admissionCounts(community: "新河社区").first { $0.kind == "organisation" })
            #expect(organisation[.rejected] == 1 && organisation[.expired] == 0)
        }
    }
}
