import CasebookLog
import CasebookTestSupport
import Foundation
import Testing

@testable import CasebookWorkflow

/// A 4-hour response clock that flags the case when breached.
private let callbackYAML = """
    workflow: callback
    title: 回访 Call back
    calendar: cn
    roles: [agent]
    fields:
      late: boolean
    states:
      waiting: { initial: true, owner: agent }
      done: { final: true }
    clocks:
      response:
        budget: 4 hours
        on-breach: { event: callback.late, flag: late, notify: agent }
    commands:
      create:
        opens: true
        roles: [agent]
        clocks: { response: start }
      call:
        from: [waiting]
        to: done
        roles: [agent]
        clocks: { response: stop }
    """

@Suite struct CaseIndexTests {
    let agent = Actor(role: "agent", id: "wang")

    @Test func runTimersSeesCasesOpenedAfterItsLastRunWithoutRereadingTheLog() async throws {
        try await StoreHarness.run { h in
            try await h.publish(callbackYAML, file: "callback.yaml")
            try await h.publish(testAdmissionYAML, file: "task-admission.yaml")
            _ = try await h.engine.open(workflow: "callback", caseId: "cb-2", actor: agent, at: at("2026-03-02T09:00:00+08:00"))
            let logBefore = h.store.count
            let first = try await h.engine.runTimers(until: at("2026-03-02T14:00:00+08:00"))
            #expect(first.map(\.caseId) == ["cb-2"])
            let afterFirst = h.engine.caseIndexProgress
            #expect(afterFirst.nextPosition == logBefore && afterFirst.eventsRead == logBefore)

            // Cases opened after the index last looked: one of another workflow, two whose clocks are due.
            _ = try await h.engine.open(workflow: "task-admission", caseId: "adm-1", actor: Actor(role: "department", id: "民政局"),
                                        data: .object(["title": .string("台账")]), at: at("2026-03-02T10:00:00+08:00"))
            _ = try await h.engine.open(workflow: "callback", caseId: "cb-3", actor: agent, at: at("2026-03-02T10:00:00+08:00"))
            _ = try await h.engine.open(workflow: "callback", caseId: "cb-1", actor: agent, at: at("2026-03-02T10:30:00+08:00"))
            let appended = h.store.count - afterFirst.nextPosition
            let second = try await h.engine.runTimers(until: at("2026-03-02T16:00:00+08:00"))
            // By case id, not by when the cases were opened; cb-2's breach is not recorded twice.
            #expect(second.map(\.caseId) == ["cb-1", "cb-3"])
            #expect(try h.state("cb-3").data["late"] == .boolean(true))
            // The index read only the events appended since its last run, not the log from position 0.
            let afterSecond = h.engine.caseIndexProgress
            #expect(afterSecond.eventsRead - afterFirst.eventsRead == appended)
            #expect(try h.engine.caseIds(ofWorkflow: "callback") == ["cb-1", "cb-2", "cb-3"])
            #expect(try h.engine.caseIds(ofWorkflow: "task-admission") == ["adm-1"])
            #expect(try h.engine.caseIds(ofWorkflow: "nothing").isEmpty)
        }
    }

    @Test func aCaseRefusedAtOpeningIsNotIndexedUntilItOpens() async throws {
        try await StoreHarness.run { h in
            try await h.publish(testAdmissionYAML, file: "task-admission.yaml")
            // The district office may not apply: the refusal is on the stream, but no case is open.
            _ = try await h.engine.open(workflow: "task-admission", caseId: "adm-9", actor: Actor(role: "district-office", id: "zhou"),
                                        data: .object(["title": .string("台账")]), at: at("2026-03-02T10:00:00+08:00"))
            #expect(try h.engine.caseIds(ofWorkflow: "task-admission").isEmpty)
            _ = try await h.engine.open(workflow: "task-admission", caseId: "adm-9", actor: Actor(role: "department", id: "民政局"),
                                        data: .object(["title": .string("台账")]), at: at("2026-03-02T10:05:00+08:00"))
            #expect(try h.engine.caseIds(ofWorkflow: "task-admission") == ["adm-9"])
        }
    }
}
