import CasebookLog
import CasebookTestSupport
import Foundation
import Testing

@testable import CasebookWorkflow

@Suite struct EffectTests {
    @Test func aFailedRectificationWithdrawsTheLinkedAdmissionOnce() async throws {
        try await StoreHarness.run { h in
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
        try await StoreHarness.run { h in
            try await h.publish(testAdmissionYAML, file: "task-admission.yaml")
            try await h.publish(testRectificationYAML, file: "rectification.yaml")
            let office = Actor(role: "district-office", id: "zhou")
            let t = Timestamp(iso8601: "2026-03-02T09:00:00+08:00")!
            _ = try await h.engine.open(workflow: "rectification", caseId: "r2", actor: office, data: .object(["admission": .string("none")]), at: t)
            let outcome = try await h.engine.handle(caseId: "r2", command: "reapply", actor: office, data: .object(["title": .string("挂牌")]), at: t)
            guard case .accepted(let state, let position) = outcome else { Issue.record("reapply refused: \(outcome)"); return }
            // Named after the source case and the stream version of the causing command (1: after the opening).
            let linked = "r2-task-admission-1"
            #expect(try h.version("r2", at: position) == 1)
            #expect(state.data["followup"] == .string(linked))
            // The role district-office may not apply for admission: the new case records the refusal.
            let opened = try h.types(linked)
            #expect(opened == [CaseEventType.commandRejected])
            #expect(try h.engine.load("r2")?.data["followup"] == .string(linked))
        }
    }
}

@Suite struct EffectCaseIdTests {
    /// Runs `steps` (case, command) in order on a fresh store, each case's steps in its own task when
    /// `concurrently`; returns each rectification's `followup` (the id of the case its `reapply` opened).
    static func openedIds(_ steps: [(String, String)], concurrently: Bool = false) async throws -> [String: String] {
        try await StoreHarness.run { h in
            try await h.publish(testAdmissionYAML, file: "task-admission.yaml")
            try await h.publish(testRectificationYAML, file: "rectification.yaml")
            let office = Actor(role: "district-office", id: "zhou")
            let t = Timestamp(iso8601: "2026-03-02T09:00:00+08:00")!
            @Sendable func issue(_ caseId: String, _ command: String) async throws {
                switch command {
                case "open":
                    _ = try await h.engine.open(workflow: "rectification", caseId: caseId, actor: office, data: .object(["admission": .string("none")]), at: t)
                case "apply":  // an unrelated case: its events take log positions
                    _ = try await h.engine.open(workflow: "task-admission", caseId: caseId, actor: Actor(role: "department", id: "民政局"),
                                                data: .object(["title": .string("台账")]), at: t)
                default:
                    _ = try await h.engine.handle(caseId: caseId, command: command, actor: office, data: .object(["title": .string("挂牌")]), at: t)
                }
            }
            if concurrently {
                let byCase = Dictionary(grouping: steps, by: \.0)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (caseId, own) in byCase {
                        group.addTask { for (_, command) in own { try await issue(caseId, command) } }
                    }
                    try await group.waitForAll()
                }
            } else {
                for (caseId, command) in steps { try await issue(caseId, command) }
            }
            var out: [String: String] = [:]
            for id in ["ra", "rb"] {
                if case .string(let linked)? = try h.state(id).data["followup"] { out[id] = linked }
            }
            return out
        }
    }

    @Test func casesOpenedByEffectsAreNamedTheSameWhateverTheInterleaving() async throws {
        let first = try await Self.openedIds([("ra", "open"), ("rb", "open"), ("ra", "reapply"), ("rb", "reapply")])
        #expect(first == ["ra": "ra-task-admission-1", "rb": "rb-task-admission-1"])
        // Other cases' commands in between (and the other order) move the global positions, not the ids.
        let second = try await Self.openedIds([("x1", "apply"), ("rb", "open"), ("x2", "apply"), ("rb", "reapply"), ("x3", "apply"),
                                               ("ra", "open"), ("x4", "apply"), ("ra", "reapply")])
        #expect(second == first)
        let concurrent = try await Self.openedIds([("ra", "open"), ("ra", "reapply"), ("rb", "open"), ("rb", "reapply"),
                                                   ("x1", "apply"), ("x2", "apply")], concurrently: true)
        #expect(concurrent == first)
    }
}

@Suite struct EffectRedriveTests {
    @Test func aFailedEffectIsRecordedAndFinishedLaterExactlyOnce() async throws {
        try await StoreHarness.run { h in
            // The rectification workflow is published before the admission workflow it opens cases of.
            try await h.publish(testRectificationYAML, file: "rectification.yaml")
            let office = Actor(role: "district-office", id: "zhou")
            let t = Timestamp(iso8601: "2026-03-02T09:00:00+08:00")!
            _ = try await h.engine.open(workflow: "rectification", caseId: "r3", actor: office, data: .object(["admission": .string("none")]), at: t)
            let outcome = try await h.engine.handle(caseId: "r3", command: "reapply", actor: office, data: .object(["title": .string("挂牌")]), at: t)
            guard case .accepted(_, let position) = outcome else { Issue.record("reapply refused: \(outcome)"); return }
            #expect(try h.types("r3").contains(CaseEventType.effectFailed))
            let linked = CaseEngine.openedCaseId(source: "r3", workflow: "task-admission", version: try h.version("r3", at: position))
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

/// Notices that a `sweep` archives by topic: `send … to-cases-of` its own workflow, matching command data.
private let noticeBoardYAML = """
    workflow: notice-board
    title: 公告栏 Notice board
    roles: [office]
    fields:
      topic: string
    states:
      posted: { initial: true, owner: office }
      archived: { final: true }
    commands:
      post:
        opens: true
        roles: [office]
        data: { topic: string }
        set: { topic: data.topic }
      archive: { from: [posted], to: archived, roles: [office] }
      sweep:
        from: [posted]
        roles: [office]
        data: { topic: string }
        send: { command: archive, to-cases-of: notice-board, where: { topic: data.topic } }
    """

@Suite struct SendToMatchingCasesTests {
    @Test func matchingCasesInNonFinalStatesAreSentTheCommandAndAnUnsetValueMatchesNothing() async throws {
        try await StoreHarness.run { h in
            try await h.publish(noticeBoardYAML, file: "notice-board.yaml")
            let office = Actor(role: "office", id: "zhou")
            let t = Timestamp(iso8601: "2026-03-02T09:00:00+08:00")!
            for (id, topic) in [("n2", "停水"), ("n1", "停水"), ("n3", "停电"), ("n5", "停水")] {
                _ = try await h.engine.open(workflow: "notice-board", caseId: id, actor: office, data: .object(["topic": .string(topic)]), at: t)
            }
            _ = try await h.engine.open(workflow: "notice-board", caseId: "n4", actor: office, at: t)
            _ = try await h.engine.handle(caseId: "n5", command: "archive", actor: office, at: t)
            let n5Events = try h.events("n5").count

            // No topic given: nothing matches (not even n4, whose topic is not set either), and that is recorded.
            _ = try await h.engine.handle(caseId: "n4", command: "sweep", actor: office, at: t)
            let none = try #require(try h.events("n4").first { $0.type == CaseEventType.effectTargeted })
            #expect(enginePayload(none)["targets"] == .array([]))
            #expect(enginePayload(none)["where"] == .object(["topic": .null]))
            #expect(try ["n1", "n2", "n3", "n4"].allSatisfy { try h.state($0).state == "posted" })

            let swept = try await h.engine.handle(caseId: "n3", command: "sweep", actor: office, data: .object(["topic": .string("停水")]), at: t)
            // The source case as returned includes its record of the targets.
            #expect(swept.acceptedState?.streamVersion == (try h.events("n3").last?.streamVersion))
            let record = try #require(try h.events("n3").first { $0.type == CaseEventType.effectTargeted })
            // n5 is archived already (a final state): not selected, not sent anything.
            #expect(enginePayload(record)["targets"] == .array([.string("n1"), .string("n2")]))
            #expect(try h.state("n1").state == "archived" && h.state("n2").state == "archived")
            #expect(try h.state("n3").state == "posted" && h.state("n4").state == "posted")
            #expect(try h.events("n5").count == n5Events)
            // Sent in the order of the case ids, whatever order the cases were opened in.
            let n1 = try #require(try h.events("n1").last { enginePayload($0)["command"] == .string("archive") })
            let n2 = try #require(try h.events("n2").last { enginePayload($0)["command"] == .string("archive") })
            #expect(n1.position < n2.position)
        }
    }
}
