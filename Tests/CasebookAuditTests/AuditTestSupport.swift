import CasebookLog
import CasebookTestSupport
import CasebookWorkflow
import Foundation
import Testing

@testable import CasebookAudit

// Helpers for the audit tests over the shared ``StoreHarness``, which they run with `unsafeNoSync`
// (none of them is about durability).

extension StoreHarness {
    /// Publishes every definition in the repository's Workflows/ with the real calendars and catalogues.
    func publishRepositoryWorkflows() async throws {
        for file in try FileManager.default.contentsOfDirectory(atPath: workflowsDirectory).sorted() where file.hasSuffix(".yaml") {
            try await engine.registry.publish(file: workflowsDirectory + "/" + file, calendarDirectory: calendarDirectory)
        }
    }

    /// Reads the vault (for comparing with the engine's own folds, which open personal data).
    var reveal: PersonalDataReader { { [engine] s, c in try engine.vault.open(c, subject: s) } }

    /// Issues a command (opening the case if it is not open) and returns whether it was accepted.
    @discardableResult
    func issue(_ caseId: String, _ command: String, _ actor: String, _ data: String = "{}", at: String,
               workflow: String? = nil) async throws -> Bool {
        let who = try #require(Actor(actor))
        let json = try JSONValue.parse(data)
        let time = try #require(Timestamp(iso8601: at))
        let outcome = if let workflow {
            try await engine.open(workflow: workflow, caseId: caseId, command: command, actor: who, data: json, at: time)
        } else {
            try await engine.handle(caseId: caseId, command: command, actor: who, data: json, at: time)
        }
        if case .accepted = outcome { return true }
        return false
    }
}

/// A workflow small enough for a bundle whose every byte is mutated in a test (no calendar, no catalogue).
let tinyWorkflowYAML = """
    workflow: tiny
    title: Tiny
    roles: [clerk]
    fields:
      note: string
    states:
      open: { initial: true, owner: clerk }
      done: { final: true }
    commands:
      start:
        opens: true
        roles: [clerk]
        data: { note: string }
        set: { note: data.note }
      note:
        from: [open]
        roles: [clerk]
        data: { note: { type: string, required: true } }
        guard:
          - { if: "len(data.note) > 0", message: a note must say something }
        set: { note: data.note }
      finish:
        from: [open]
        to: done
        roles: [clerk]
    """
