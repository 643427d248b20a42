import CasebookLog
import CasebookWorkflow
import Foundation
import Testing

@testable import CasebookAudit

/// The repository root, found from this file's path (…/Tests/CasebookAuditTests/<file>).
let auditRepoRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

/// A temporary store with an engine over it; removed at the end.
struct AuditHarness: Sendable {
    let dir: String
    let store: EventStore
    let engine: CaseEngine

    static let calendarDirectory = auditRepoRoot + "/Workflows/calendars"

    static func run<T>(_ body: (AuditHarness) async throws -> T) async throws -> T {
        let dir = NSTemporaryDirectory() + "casebook-audit-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = EventStoreOptions()
        options.unsafeNoSync = true
        options.clock = { Timestamp(millisecondsSince1970: 1_767_225_600_000) }  // 2026-01-01T00:00:00Z
        let store = try EventStore(path: dir + "/store", options: options)
        defer { store.close() }
        return try await body(AuditHarness(dir: dir, store: store, engine: try CaseEngine(store: store)))
    }

    /// Publishes every definition in the repository's Workflows/ with the real calendars and catalogues.
    func publishRepositoryWorkflows() async throws {
        let folder = auditRepoRoot + "/Workflows"
        for file in try FileManager.default.contentsOfDirectory(atPath: folder).sorted() where file.hasSuffix(".yaml") {
            try await engine.registry.publish(file: folder + "/" + file, calendarDirectory: Self.calendarDirectory)
        }
    }

    /// Writes `yaml` to `<dir>/<file>` and publishes it.
    @discardableResult
    func publish(_ yaml: String, file: String) async throws -> CompiledWorkflow {
        let path = dir + "/" + file
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return try await engine.registry.publish(file: path, calendarDirectory: Self.calendarDirectory)
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
