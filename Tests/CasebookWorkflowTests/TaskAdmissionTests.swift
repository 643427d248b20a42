import CasebookLog
import CasebookTestSupport
import Foundation
import Testing

@testable import CasebookWorkflow

// Scenario tests for Workflows/task-admission.yaml (工作准入, DOMAIN.md §2 and §4), run on the real
// definition file and the real calendars.

private let taskAdmissionFile = workflowsDirectory + "/task-admission.yaml"

private let department = Actor(role: "department", id: "civil-affairs")
private let committee = Actor(role: "residents-committee", id: "chen")
private let street = Actor(role: "street-office", id: "li")
private let district = Actor(role: "district-office", id: "zhou")

/// Monday 2 March 2026, 09:00 China time, and the days after it.
private func day(_ d: Int, hour: Int = 9) -> Timestamp {
    at("2026-03-\(d < 10 ? "0" : "")\(d)T\(hour < 10 ? "0" : "")\(hour):00:00+08:00")
}

private func application(kind: String, legalBasis: String?) -> JSONValue {
    var o: [String: JSONValue] = [
        "kind": .string(kind), "title": .string("测试事项 test item"), "community": .string("和平社区"),
        "department": .string("民政局"), "has_legal_basis": .bool(legalBasis != nil),
    ]
    if let legalBasis { o["legal_basis"] = .string(legalBasis) }
    return .object(o)
}

private func votes(for f: Int64, against a: Int64, abstain b: Int64) -> JSONValue {
    .object(["meeting": .string("representatives-meeting"), "votes_for": .int(f), "votes_against": .int(a), "votes_abstain": .int(b)])
}

extension StoreHarness {
    /// Issues a command that must be accepted; returns the case as it then stands.
    @discardableResult
    fileprivate func accept(
        _ caseId: String, _ command: String, _ actor: Actor, _ data: JSONValue = .object([:]), at: Timestamp,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async throws -> CaseState {
        let outcome = try await engine.handle(caseId: caseId, command: command, actor: actor, data: data, at: at)
        return try #require(outcome.acceptedState, "\(command) should be accepted: \(outcome)", sourceLocation: sourceLocation)
    }

    /// Issues a command that must be refused; returns the rejection.
    fileprivate func refuse(
        _ caseId: String, _ command: String, _ actor: Actor, _ data: JSONValue = .object([:]), at: Timestamp,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async throws -> Rejection {
        let outcome = try await engine.handle(caseId: caseId, command: command, actor: actor, data: data, at: at)
        return try #require(outcome.rejection, "\(command) should be refused: \(outcome)", sourceLocation: sourceLocation)
    }

    /// Opens an application that must be accepted.
    @discardableResult
    fileprivate func apply(_ caseId: String, kind: String, legalBasis: String?, at: Timestamp = day(2),
                           sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws -> CaseState {
        let outcome = try await engine.open(workflow: "task-admission", caseId: caseId, actor: department,
                                            data: application(kind: kind, legalBasis: legalBasis), at: at)
        return try #require(outcome.acceptedState, "apply should be accepted: \(outcome)", sourceLocation: sourceLocation)
    }

    /// The last recorded event of the case.
    fileprivate func lastEvent(_ caseId: String) throws -> RecordedEvent? { try events(caseId).last }
}

@Suite struct TaskAdmissionTests {
    @Test func definitionLintsClean() throws {
        let (definition, diagnostics) = DefinitionParser.parse(contentsOf: taskAdmissionFile)
        #expect(diagnostics.map(\.description) == [])
        let d = try #require(definition)
        #expect(d.name == "task-admission")
        let calendars = try CalendarSet.load(directory: calendarDirectory).calendars
        let context = LintContext(knownWorkflows: ["task-admission"], calendars: calendars, years: [2026])
        #expect(Linter.lint(d, context: context).map(\.description) == [])
    }

    @Test func workWithLegalBasisGoesStraightToReviewAndIsAdmittedAsMustUndertake() async throws {
        try await StoreHarness.run { h in
            try await h.publishRepositoryWorkflow("task-admission")
            let opened = try await h.apply("t1", kind: "work-task", legalBasis: "《城市居民委员会组织法》第三条")
            #expect(opened.state == "applied")
            #expect(opened.data["has_legal_basis"] == .boolean(true))
            #expect(opened.data["legal_basis"] == .string("《城市居民委员会组织法》第三条"))
            #expect(opened.data["resolution_passed"] == .boolean(false))
            #expect(opened.clocks["review"]?.isStarted == true)

            let reviewed = try await h.accept("t1", "review", street, at: day(3))
            #expect(reviewed.state == "awaiting-filing")
            #expect(reviewed.data["reviewed_by"] == .string("li"))
            let filed = try await h.accept("t1", "approve", district, at: day(4))
            #expect(filed.state == "filed")
            #expect(filed.data["category"] == .string("must-undertake"))
            #expect(filed.data["filed_by"] == .string("zhou"))
            let admitted = try await h.accept("t1", "admit", district, at: day(5))
            #expect(admitted.state == "admitted")
            #expect(admitted.clocks["review"]?.isStopped == true)

            #expect(try h.types("t1") == [
                CaseEventType.opened, "admission.applied",
                CaseEventType.commandAccepted, "admission.reviewed",
                CaseEventType.commandAccepted, "admission.filed",
                CaseEventType.commandAccepted, "admission.admitted",
            ])
            // The filing records the decision: table, rule and inputs.
            let filing = try #require(try h.events("t1").first { $0.type == CaseEventType.commandAccepted && enginePayload($0)["command"] == .string("approve") })
            let decision = try #require(enginePayload(filing)["decisions"]?.array?.first?.object)
            #expect(decision["table"] == .string("classification"))
            #expect(decision["rule"] == .int(1))
            #expect(decision["outputs"] == .object(["category": .string("must-undertake")]))
            // The fold from scratch agrees with the engine.
            #expect(try h.replayed("t1")?.state == "admitted")
            // A stopped clock never breaches.
            #expect(try await h.engine.runTimers(until: at("2026-12-31T00:00:00+08:00")).isEmpty)
            #expect(try h.state("t1").state == "admitted")
        }
    }

    @Test func claimingALegalBasisWithoutCitingItIsRefused() async throws {
        try await StoreHarness.run { h in
            try await h.publishRepositoryWorkflow("task-admission")
            var data = application(kind: "work-task", legalBasis: "x").object!
            data["legal_basis"] = nil
            let outcome = try await h.engine.open(workflow: "task-admission", caseId: "t2", actor: department, data: .object(data), at: day(2))
            let rejection = try #require(outcome.rejection)
            #expect(rejection.check == .guardFailed)
            #expect(rejection.message.contains("must cite it"))
            #expect(try h.types("t2") == [CaseEventType.commandRejected])
            #expect(try h.engine.load("t2")?.isOpen == false)
        }
    }

    @Test func workWithoutLegalBasisCannotBeReviewedOrFiledBeforeTheResolution() async throws {
        try await StoreHarness.run { h in
            try await h.publishRepositoryWorkflow("task-admission")
            try await h.apply("t3", kind: "work-task", legalBasis: nil)
            let review = try await h.refuse("t3", "review", street, at: day(3))
            #expect(review.check == .guardFailed)
            #expect(review.message.contains("cannot be submitted for filing before the residents' resolution"))
            #expect(review.message.hasPrefix("无法律依据的工作须经居民会议或居民代表会议讨论通过"))
            let approve = try await h.refuse("t3", "approve", district, at: day(3))
            #expect(approve.check == .state)
            let admit = try await h.refuse("t3", "admit", district, at: day(3))
            #expect(admit.check == .state)
            // Only the residents' committee records the resolution.
            let byStreet = try await h.refuse("t3", "record-resolution", street, votes(for: 30, against: 1, abstain: 0), at: day(3))
            #expect(byStreet.check == .role)

            let s = try h.state("t3")
            #expect(s.state == "applied")
            #expect(s.data["resolution_passed"] == .boolean(false))
            #expect(s.data["category"] == nil || s.data["category"] == .null)
            #expect(s.rejected == 4)
            let types = try h.types("t3")
            #expect(types.filter { $0 == CaseEventType.commandRejected }.count == 4)
            #expect(!types.contains("admission.reviewed") && !types.contains("admission.filed"))
            let refusal = try #require(try h.events("t3").first { $0.type == CaseEventType.commandRejected })
            #expect(enginePayload(refusal)["check"] == .string("guard"))
            #expect(enginePayload(refusal)["command"] == .string("review"))
        }
    }

    @Test func workWithLegalBasisNeedsNoResolution() async throws {
        try await StoreHarness.run { h in
            try await h.publishRepositoryWorkflow("task-admission")
            try await h.apply("t4", kind: "statistical-survey", legalBasis: "《统计法》")
            let r = try await h.refuse("t4", "record-resolution", committee, votes(for: 30, against: 1, abstain: 0), at: day(3))
            #expect(r.check == .guardFailed)
            #expect(r.message.contains("needs no residents' resolution"))
            #expect(try h.state("t4").state == "applied")
        }
    }

    @Test func aResolutionThatFailsTheVoteIsRefused() async throws {
        try await StoreHarness.run { h in
            try await h.publishRepositoryWorkflow("task-admission")
            try await h.apply("t5", kind: "work-task", legalBasis: nil)
            // Exactly half of the votes cast is not more than half.
            let half = try await h.refuse("t5", "record-resolution", committee, votes(for: 20, against: 15, abstain: 5), at: day(5))
            #expect(half.check == .guardFailed)
            #expect(half.message.contains("this vote failed"))
            #expect(half.details["data.votes_for"] == "20")
            let lost = try await h.refuse("t5", "record-resolution", committee, votes(for: 3, against: 30, abstain: 2), at: day(5))
            #expect(lost.check == .guardFailed)
            let negative = try await h.refuse("t5", "record-resolution", committee, votes(for: 30, against: -1, abstain: 0), at: day(5))
            #expect(negative.message.contains("cannot be negative"))

            let s = try h.state("t5")
            #expect(s.state == "applied")
            #expect(s.data["resolution_passed"] == .boolean(false))
            #expect(s.data["votes_for"] == nil || s.data["votes_for"] == .null)
            #expect(try h.types("t5") == [CaseEventType.opened, "admission.applied"] + Array(repeating: CaseEventType.commandRejected, count: 3))
            // The failed vote stays refused for review too.
            #expect(try await h.refuse("t5", "review", street, at: day(6)).check == .guardFailed)
        }
    }

    @Test func afterAPassingVoteTheWorkIsAdmittedAsMayBeEntrusted() async throws {
        try await StoreHarness.run { h in
            try await h.publishRepositoryWorkflow("task-admission")
            try await h.apply("t6", kind: "statistical-survey", legalBasis: nil)
            let resolved = try await h.accept("t6", "record-resolution", committee, votes(for: 21, against: 15, abstain: 5), at: day(9))
            #expect(resolved.state == "resolved")
            #expect(resolved.data["resolution_passed"] == .boolean(true))
            #expect(resolved.data["votes_for"] == .integer(21))
            #expect(resolved.data["votes_against"] == .integer(15))
            #expect(resolved.data["votes_abstain"] == .integer(5))
            #expect(resolved.data["meeting"] == .string("representatives-meeting"))
            #expect(try await h.accept("t6", "review", street, at: day(10)).state == "awaiting-filing")
            let filed = try await h.accept("t6", "approve", district, at: day(11))
            #expect(filed.data["category"] == .string("may-be-entrusted"))
            let admitted = try await h.accept("t6", "admit", district, at: day(12))
            #expect(admitted.state == "admitted")
            #expect(try h.types("t6") == [
                CaseEventType.opened, "admission.applied",
                CaseEventType.commandAccepted, "admission.resolution-passed",
                CaseEventType.commandAccepted, "admission.reviewed",
                CaseEventType.commandAccepted, "admission.filed",
                CaseEventType.commandAccepted, "admission.admitted",
            ])
            #expect(try h.replayed("t6")?.data["category"] == .string("may-be-entrusted"))
        }
    }

    @Test func workTheCommunityShouldNotUndertakeCannotBeAdmittedAndIsRejected() async throws {
        try await StoreHarness.run { h in
            try await h.publishRepositoryWorkflow("task-admission")
            try await h.apply("t7", kind: "rating-campaign", legalBasis: nil)
            try await h.accept("t7", "record-resolution", committee, votes(for: 40, against: 2, abstain: 1), at: day(3))
            try await h.accept("t7", "review", street, at: day(4))
            let filed = try await h.accept("t7", "approve", district, at: day(5))
            #expect(filed.data["category"] == .string("should-not-undertake"))
            let admit = try await h.refuse("t7", "admit", district, at: day(5))
            #expect(admit.check == .guardFailed)
            #expect(admit.message.contains("should not undertake cannot be admitted"))
            #expect(try await h.refuse("t7", "reject", district, at: day(6)).check == .data)  // a reason is required
            let rejected = try await h.accept("t7", "reject", district, .object(["reason": .string("创建评比不该由社区承担")]), at: day(6))
            #expect(rejected.state == "rejected")
            #expect(rejected.data["reason"] == .string("创建评比不该由社区承担"))
            #expect(rejected.clocks["review"]?.isStopped == true)
            let types = try h.types("t7")
            #expect(Array(types.suffix(2)) == [CaseEventType.commandAccepted, "admission.rejected"])
            #expect(!types.contains("admission.admitted"))
        }
    }

    @Test func theDecisionTableClassifiesEveryKind() async throws {
        try await StoreHarness.run { h in
            try await h.publishRepositoryWorkflow("task-admission")
            let expected: [(String, Bool, String)] = [
                ("work-task", true, "must-undertake"), ("stamping-item", true, "must-undertake"),
                ("statistical-survey", true, "should-assist"), ("organisation", true, "should-assist"),
                ("plaque", true, "should-assist"), ("rating-campaign", true, "should-assist"),
                ("work-task", false, "may-be-entrusted"), ("statistical-survey", false, "may-be-entrusted"),
                ("organisation", false, "may-be-entrusted"), ("plaque", false, "should-not-undertake"),
                ("rating-campaign", false, "should-not-undertake"), ("stamping-item", false, "should-not-undertake"),
            ]
            for (i, (kind, legal, category)) in expected.enumerated() {
                let id = "c\(i)"
                try await h.apply(id, kind: kind, legalBasis: legal ? "某法第一条" : nil)
                if !legal { try await h.accept(id, "record-resolution", committee, votes(for: 10, against: 0, abstain: 0), at: day(3)) }
                try await h.accept(id, "review", street, at: day(4))
                let filed = try await h.accept(id, "approve", district, at: day(5))
                #expect(filed.data["category"] == .string(category), "\(kind), legal basis \(legal)")
            }
        }
    }

    @Test func theStreetOfficeCanDecline() async throws {
        try await StoreHarness.run { h in
            try await h.publishRepositoryWorkflow("task-admission")
            try await h.apply("t8", kind: "plaque", legalBasis: "某条例")
            let declined = try await h.accept("t8", "decline", street, .object(["reason": .string("重复挂牌")]), at: day(3))
            #expect(declined.state == "rejected")
            #expect(declined.data["reason"] == .string("重复挂牌"))
            // A final state takes no more commands, and its stopped clock never breaches.
            #expect(try await h.refuse("t8", "review", street, at: day(4)).check == .state)
            #expect(try await h.engine.runTimers(until: at("2026-12-31T00:00:00+08:00")).isEmpty)
            #expect(try h.types("t8") == [
                CaseEventType.opened, "admission.applied", CaseEventType.commandAccepted, "admission.rejected", CaseEventType.commandRejected,
            ])
        }
    }

    @Test func aReviewNotFinishedWithinTwentyWorkingDaysExpires() async throws {
        try await StoreHarness.run { h in
            try await h.publishRepositoryWorkflow("task-admission")
            try await h.apply("t9", kind: "work-task", legalBasis: nil, at: day(2))
            try await h.accept("t9", "record-resolution", committee, votes(for: 12, against: 3, abstain: 0), at: day(10))
            // 20 working days from Monday 2 March run to the end of March: not due on the 27th.
            #expect(try await h.engine.runTimers(until: at("2026-03-27T00:00:00+08:00")).isEmpty)
            #expect(try h.state("t9").state == "resolved")
            let fired = try await h.engine.runTimers(until: at("2026-04-15T00:00:00+08:00"))
            #expect(fired.count == 1)
            #expect(fired.first?.caseId == "t9")
            #expect(fired.first?.clock == "review")
            let s = try h.state("t9")
            #expect(s.state == "expired")
            #expect(s.data["overdue"] == .boolean(true))
            #expect(s.breaches["review"] != nil)
            #expect(Array(try h.types("t9").suffix(2)) == [CaseEventType.clockBreached, "admission.expired"])
            let breach = try #require(try h.events("t9").last)
            #expect(enginePayload(breach)["moveTo"] == .string("expired"))
            #expect(enginePayload(breach)["notify"] == .string("district-office"))
            // Exactly once, and the expired case takes no more commands.
            #expect(try await h.engine.runTimers(until: at("2026-05-30T00:00:00+08:00")).isEmpty)
            #expect(try await h.refuse("t9", "review", street, at: at("2026-04-16T09:00:00+08:00")).check == .state)
            #expect(try h.replayed("t9")?.state == "expired")
        }
    }

    @Test func theDistrictOfficeWithdrawsAdmittedWork() async throws {
        try await StoreHarness.run { h in
            try await h.publishRepositoryWorkflow("task-admission")
            try await h.apply("t10", kind: "organisation", legalBasis: "某规定")
            try await h.accept("t10", "review", street, at: day(3))
            try await h.accept("t10", "approve", district, at: day(3))
            try await h.accept("t10", "admit", district, at: day(4))
            #expect(try await h.refuse("t10", "withdraw", department, at: day(20)).check == .role)
            let withdrawn = try await h.accept("t10", "withdraw", district, .object(["reason": .string("整改后仍无明显改变")]), at: day(20))
            #expect(withdrawn.state == "withdrawn")
            #expect(withdrawn.data["reason"] == .string("整改后仍无明显改变"))
            #expect(withdrawn.data["category"] == .string("should-assist"))
            #expect(Array(try h.types("t10").suffix(3)) == [CaseEventType.commandRejected, CaseEventType.commandAccepted, "admission.withdrawn"])
            // Withdrawal applies only to admitted work.
            #expect(try await h.refuse("t10", "withdraw", district, at: day(21)).check == .state)
        }
    }

    @Test func aFailedRectificationWithdrawsTheAdmittedWorkThroughSend() async throws {
        try await StoreHarness.run { h in
            try await h.publishRepositoryWorkflow("task-admission")
            try await h.publish(testRectificationYAML, file: "rectification.yaml")
            try await h.apply("t11", kind: "work-task", legalBasis: "某法")
            try await h.accept("t11", "review", street, at: day(3))
            try await h.accept("t11", "approve", district, at: day(3))
            try await h.accept("t11", "admit", district, at: day(4))
            _ = try await h.engine.open(workflow: "rectification", caseId: "r1", actor: district, data: .object(["admission": .string("t11")]), at: day(10))
            #expect(try await h.accept("r1", "withdraw-work", district, at: day(30)).state == "closed")
            let s = try h.state("t11")
            #expect(s.state == "withdrawn")
            #expect(Array(try h.types("t11").suffix(2)) == [CaseEventType.commandAccepted, "admission.withdrawn"])
        }
    }
}
