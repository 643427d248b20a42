import CasebookLog
import CasebookTestSupport
import Foundation
import Testing

@testable import CasebookWorkflow

private func permit(version: Int, extra: String = "", states: String = "  done: { final: true }\n") -> String {
    """
    workflow: permit
    version: \(version)
    roles: [clerk]
    fields:
      note: string
    states:
      open: { initial: true, owner: clerk }
    \(states)commands:
      start:
        opens: true
        roles: [clerk]
      finish:
        from: [open]
        to: done
        roles: [clerk]
    \(extra)
    """
}

@Suite struct MigrationTests {
    @Test func anExplicitMigrationMovesACaseAndIsRecorded() async throws {
        try await StoreHarness.run { h in
            let v1 = try await h.publish(permit(version: 1), file: "permit-1.yaml")
            let clerk = Actor(role: "clerk", id: "x")
            let t = Timestamp(iso8601: "2026-03-02T09:00:00+08:00")!
            _ = try await h.engine.open(workflow: "permit", caseId: "m1", actor: clerk, at: t)
            let v2 = try await h.publish(permit(version: 2, extra: """
                  annotate:
                    from: [open]
                    roles: [clerk]
                    set: { note: "'annotated'" }
                """), file: "permit-2.yaml")
            // Publishing v2 changes nothing for the running case.
            #expect(try h.engine.load("m1")?.definitionHash == v1.hash)
            guard case .rejected(let r, _) = try await h.engine.handle(caseId: "m1", command: "annotate", actor: clerk, at: t) else {
                Issue.record("annotate accepted under v1"); return
            }
            #expect(r.check == .unknownCommand)
            // The migration command moves it, as an event.
            guard case .accepted(let migrated, _) = try await h.engine.migrate(caseId: "m1", to: nil, actor: clerk, at: t) else {
                Issue.record("migration refused"); return
            }
            #expect(migrated.definitionHash == v2.hash && migrated.definitionVersion == 2)
            #expect(try h.types("m1").contains(CaseEventType.migrated))
            guard case .accepted(let annotated, _) = try await h.engine.handle(caseId: "m1", command: "annotate", actor: clerk, at: t) else {
                Issue.record("annotate refused under v2"); return
            }
            #expect(annotated.data["note"] == .string("annotated"))
            #expect(try h.replayed("m1") == annotated)
        }
    }

    @Test func aMigrationThatWouldStrandTheCaseIsRefused() async throws {
        try await StoreHarness.run { h in
            let v1 = try await h.publish(permit(version: 1), file: "permit-1.yaml")
            let clerk = Actor(role: "clerk", id: "x")
            let t = Timestamp(iso8601: "2026-03-02T09:00:00+08:00")!
            _ = try await h.engine.open(workflow: "permit", caseId: "m2", actor: clerk, at: t)
            // v3 renames the initial state: the open case's state would not exist.
            let v3 = permit(version: 3, states: "  done: { final: true }\n").replacingOccurrences(of: "open:", with: "opened:")
                .replacingOccurrences(of: "from: [open]", with: "from: [opened]")
            try await h.publish(v3, file: "permit-3.yaml")
            guard case .rejected(let r, _) = try await h.engine.migrate(caseId: "m2", to: nil, actor: clerk, at: t) else {
                Issue.record("migration accepted"); return
            }
            #expect(r.message.contains("state 'open' does not exist in the target"))
            #expect(try h.engine.load("m2")?.definitionHash == v1.hash)
        }
    }
}
