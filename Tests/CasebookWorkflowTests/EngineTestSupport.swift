import CasebookLog
import Foundation
import Testing

@testable import CasebookWorkflow

// Helpers for EngineTests: a temporary store with an engine over it, test definitions written to
// temporary files, and small readers for the events the engine records.

/// The repository root, found from this file's path (…/Tests/CasebookWorkflowTests/<file>).
let engineTestRepoRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

/// A temporary directory holding a store (`<dir>/store`) and the test's definition files, with an
/// engine over the store.
struct EngineHarness: Sendable {
    /// The temporary directory (removed at the end of the test).
    let dir: String
    /// The store.
    let store: EventStore
    /// The engine.
    let engine: CaseEngine

    /// The store's path.
    var storePath: String { dir + "/store" }
    /// The real calendar directory of the repository.
    static let calendarDirectory = engineTestRepoRoot + "/Workflows/calendars"
    /// The real resident-request definition.
    static let residentRequestFile = engineTestRepoRoot + "/Workflows/resident-request.yaml"

    static func options() -> EventStoreOptions {
        var options = EventStoreOptions()
        options.clock = { Timestamp(millisecondsSince1970: 1_767_225_600_000) }  // 2026-01-01T00:00:00Z
        return options
    }

    /// Makes a temporary directory and store, runs `body`, closes the store and deletes the directory.
    @discardableResult
    static func run<T>(_ body: (EngineHarness) async throws -> T) async throws -> T {
        let dir = NSTemporaryDirectory() + "casebook-engine-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try EventStore(path: dir + "/store", options: options())
        defer { store.close() }
        return try await body(EngineHarness(dir: dir, store: store, engine: try CaseEngine(store: store)))
    }

    /// Publishes the repository's resident-request definition with the real calendars.
    @discardableResult
    func publishResidentRequest() async throws -> CompiledWorkflow {
        try await engine.registry.publish(file: Self.residentRequestFile, calendarDirectory: Self.calendarDirectory)
    }

    /// Writes `yaml` to `<dir>/<file>` and publishes it with the real calendars.
    @discardableResult
    func publish(_ yaml: String, file: String) async throws -> CompiledWorkflow {
        let path = dir + "/" + file
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return try await engine.registry.publish(file: path, calendarDirectory: Self.calendarDirectory)
    }

    /// Every event of case `caseId`'s stream.
    func events(_ caseId: String) throws -> [RecordedEvent] {
        try store.readStream(CaseState.stream(caseId), limit: Int.max)
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

    /// The case as its events leave it (fails the test if it does not exist).
    func state(_ caseId: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> CaseState {
        try #require(try engine.load(caseId), "case \(caseId) should exist", sourceLocation: sourceLocation)
    }
}

/// Parses an ISO 8601 instant written in a test.
func engineTime(_ text: String) -> Timestamp {
    guard let t = Timestamp(iso8601: text) else { fatalError("bad test timestamp \(text)") }
    return t
}

/// Parses JSON written in a test.
func engineJSON(_ text: String) -> JSONValue {
    do { return try JSONValue.parse(text) } catch { fatalError("bad test JSON \(text): \(error)") }
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
