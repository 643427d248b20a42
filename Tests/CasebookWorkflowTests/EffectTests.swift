import CasebookLog
import Foundation
import Testing

@testable import CasebookWorkflow

@Suite struct EffectTests {
    @Test func aFailedRectificationWithdrawsTheLinkedAdmissionOnce() async throws {
        try await EngineHarness.run { h in
            try await h.publish(testAdmissionYAML, file: "task-admission.yaml")
            try await h.publish(testRectificationYAML, file: "rectification.yaml")
            let dept = Actor(role: "department", id: "civil-affairs"), office = Actor(role: "district-office", id: "zhou")
            let t = Timestamp(iso8601: "2026-03-02T09:00:00+08:00")!
            _ = try await h.engine.open(workflow: "task-admission", caseId: "a1", actor: dept, data: .object(["title": .string("统计调查")]), at: t)
            _ = try await h.engine.handle(caseId: "a1", command: "admit", actor: office, at: t)
            _ = try await h.engine.open(workflow: "rectification", caseId: "r1", actor: office, data: .object(["admission": .string("a1")]), at: t)
            let outcome = try await h.engine.handle(caseId: "r1", command: "withdraw-work", actor: office, at: t, commandId: "withdraw-1")
            guard case .accepted(let rectification, _) = outcome else { Issue.record("withdraw-work refused: \(outcome)"); return }
            #expect(rectification.state == "closed")
            let admission = try #require(try h.engine.load("a1"))
            #expect(admission.state == "withdrawn")
            #expect(try h.types("a1").contains("admission.withdrawn"))
            // Repeating the source command (same command id) acts on the other case no more.
            _ = try await h.engine.handle(caseId: "r1", command: "withdraw-work", actor: office, at: t, commandId: "withdraw-1")
            #expect(try h.types("a1").filter { $0 == CaseEventType.commandAccepted }.count == 2)
        }
    }

    @Test func openingALinkedCaseRecordsItsIdAndPassesMatchingData() async throws {
        try await EngineHarness.run { h in
            try await h.publish(testAdmissionYAML, file: "task-admission.yaml")
            try await h.publish(testRectificationYAML, file: "rectification.yaml")
            let office = Actor(role: "district-office", id: "zhou")
            let t = Timestamp(iso8601: "2026-03-02T09:00:00+08:00")!
            _ = try await h.engine.open(workflow: "rectification", caseId: "r2", actor: office, data: .object(["admission": .string("none")]), at: t)
            let outcome = try await h.engine.handle(caseId: "r2", command: "reapply", actor: office, data: .object(["title": .string("挂牌")]), at: t)
            guard case .accepted(let state, let position) = outcome else { Issue.record("reapply refused: \(outcome)"); return }
            let linked = "r2-task-admission-\(position)"
            #expect(state.data["followup"] == .string(linked))
            // The role district-office may not apply for admission: the new case records the refusal.
            let opened = try h.types(linked)
            #expect(opened == [CaseEventType.commandRejected])
            #expect(try h.engine.load("r2")?.data["followup"] == .string(linked))
        }
    }
}

@Suite struct EffectRedriveTests {
    @Test func aFailedEffectIsRecordedAndFinishedLaterExactlyOnce() async throws {
        try await EngineHarness.run { h in
            // The rectification workflow is published before the admission workflow it opens cases of.
            try await h.publish(testRectificationYAML, file: "rectification.yaml")
            let office = Actor(role: "district-office", id: "zhou")
            let t = Timestamp(iso8601: "2026-03-02T09:00:00+08:00")!
            _ = try await h.engine.open(workflow: "rectification", caseId: "r3", actor: office, data: .object(["admission": .string("none")]), at: t)
            let outcome = try await h.engine.handle(caseId: "r3", command: "reapply", actor: office, data: .object(["title": .string("挂牌")]), at: t)
            guard case .accepted(_, let position) = outcome else { Issue.record("reapply refused: \(outcome)"); return }
            #expect(try h.types("r3").contains(CaseEventType.effectFailed))
            let linked = "r3-task-admission-\(position)"
            #expect(try h.events(linked).isEmpty)

            try await h.publish(testAdmissionYAML, file: "task-admission.yaml")
            #expect(try await h.engine.redriveEffects() == 1)
            #expect(try h.types(linked) == [CaseEventType.commandRejected])  // the office may not apply: recorded there
            #expect(try h.engine.load("r3")?.data["followup"] == .string(linked))
            let eventsAfterFirst = h.store.count
            // Running it again does nothing new.
            try await h.engine.redriveEffects()
            #expect(h.store.count == eventsAfterFirst)
        }
    }
}
