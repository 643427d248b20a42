import CasebookLog
import CasebookTestSupport
import Foundation
import Testing

@testable import CasebookWorkflow

// Helpers for EngineTests over the shared ``StoreHarness`` (a temporary store with an engine over it,
// test definitions written to temporary files): small readers for the events the engine records.

extension StoreHarness {
    /// Publishes the repository's resident-request definition with the real calendars.
    @discardableResult
    func publishResidentRequest() async throws -> CompiledWorkflow {
        try await publishRepositoryWorkflow("resident-request")
    }

    /// The event types of case `caseId`'s stream.
    func types(_ caseId: String) throws -> [String] {
        try events(caseId).map(\.type)
    }

    /// The case folded from its events from scratch, one at a time with `CaseState.apply`, bypassing
    /// anything the engine may cache (nil if the stream is empty).
    func replayed(_ caseId: String) throws -> CaseState? {
        let events = try events(caseId)
        guard !events.isEmpty else { return nil }
        var state = CaseState(caseId: caseId)
        for e in events { try state.apply(e, definition: engine.registry.definition(hash:), reveal: { s, c in try engine.vault.open(c, subject: s) }) }
        return state
    }

    /// The stream version of the event of case `caseId` at log position `position` (fails the test if there is none).
    func version(_ caseId: String, at position: UInt64, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> UInt64 {
        try #require(try events(caseId).first { $0.position == position }, "no event of \(caseId) at \(position)",
                     sourceLocation: sourceLocation).streamVersion
    }
}

/// An event's payload as a JSON object (empty if it is not one).
func enginePayload(_ event: RecordedEvent) -> [String: JSONValue] {
    guard let text = event.payloadText, let value = try? JSONValue.parse(text), let object = value.object else { return [:] }
    return object
}

extension CommandOutcome {
    /// The state of an accepted command, nil if refused.
    var acceptedState: CaseState? {
        if case .accepted(let state, _) = self { return state }
        return nil
    }

    /// The rejection of a refused command, nil if accepted.
    var rejection: Rejection? {
        if case .rejected(let rejection, _) = self { return rejection }
        return nil
    }

    /// The log position of the first event recorded for the command.
    var position: UInt64 {
        switch self {
        case .accepted(_, let p): return p
        case .rejected(_, let p): return p
        }
    }
}

/// A minimal task admission (apply → admitted → withdrawn), independent of Workflows/task-admission.yaml,
/// for the tests of effects between workflows.
let testAdmissionYAML = """
    workflow: task-admission
    title: 工作准入（测试用）Task admission (test)
    roles: [department, district-office]
    fields:
      title: string
    states:
      applied: { initial: true, owner: district-office }
      admitted: { owner: department }
      withdrawn: { final: true }
    commands:
      apply:
        opens: true
        roles: [department]
        data: { title: { type: string, required: true } }
        set: { title: data.title }
      admit:
        from: [applied]
        to: admitted
        roles: [district-office]
      withdraw:
        from: [admitted]
        to: withdrawn
        roles: [district-office]
        emit: [admission.withdrawn]
    """

/// A minimal rectification that withdraws the admitted work it refers to (`send`) or applies anew (`open`).
let testRectificationYAML = """
    workflow: rectification
    title: 整改（测试用）Rectification (test)
    roles: [district-office]
    fields:
      admission: reference(task-admission)
      followup: reference(task-admission)
    states:
      open: { initial: true, owner: district-office }
      closed: { final: true }
    commands:
      open:
        opens: true
        roles: [district-office]
        data: { admission: { type: reference(task-admission), required: true } }
        set: { admission: data.admission }
      withdraw-work:
        from: [open]
        to: closed
        roles: [district-office]
        send: { command: withdraw, to-case-in: admission }
      reapply:
        from: [open]
        roles: [district-office]
        data: { title: string }
        open: { workflow: task-admission, command: apply, store-id-in: followup }
    """
