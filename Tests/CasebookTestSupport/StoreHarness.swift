import CasebookLog
import CasebookWorkflow
import Foundation
import Testing

// The one temporary-store harness of the tests that drive the engine (workflow, audit, projections and
// export tests): a temporary directory holding a store and the test's definition files, a case engine
// over the store, and the repository's own definitions and calendars.

/// The repository root, found from this file's path (…/Tests/CasebookTestSupport/<file>).
public let repositoryRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

/// The repository's `Workflows` folder.
public let workflowsDirectory = repositoryRoot + "/Workflows"

/// The repository's real calendars (`Workflows/calendars`).
public let calendarDirectory = workflowsDirectory + "/calendars"

/// A temporary directory holding a store (`<dir>/store`) and the test's definition files, with an
/// engine over the store.
public struct StoreHarness: Sendable {
    /// The temporary directory (removed at the end of the test).
    public let dir: String
    /// The store.
    public let store: EventStore
    /// The engine.
    public let engine: CaseEngine

    /// A harness over a store the test opened itself (in `dir`, which the test removes).
    public init(dir: String, store: EventStore, engine: CaseEngine) {
        self.dir = dir
        self.store = store
        self.engine = engine
    }

    /// The store's path.
    public var storePath: String { dir + "/store" }

    /// The store's options in the tests: the store's clock fixed at 2026-01-01T00:00:00Z; with
    /// `unsafeNoSync`, commits are not synced to the disk (for tests that do not reopen the store after a crash).
    public static func options(unsafeNoSync: Bool = false) -> EventStoreOptions {
        var options = EventStoreOptions()
        options.unsafeNoSync = unsafeNoSync
        options.clock = { Timestamp(millisecondsSince1970: 1_767_225_600_000) }  // 2026-01-01T00:00:00Z
        return options
    }

    /// Makes a temporary directory and a store in it (with ``options(unsafeNoSync:)``), runs `body`,
    /// closes the store and deletes the directory.
    @discardableResult
    public static func run<T>(unsafeNoSync: Bool = false, _ body: (StoreHarness) async throws -> T) async throws -> T {
        let dir = NSTemporaryDirectory() + "casebook-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try EventStore(path: dir + "/store", options: options(unsafeNoSync: unsafeNoSync))
        defer { store.close() }
        return try await body(StoreHarness(dir: dir, store: store, engine: try CaseEngine(store: store)))
    }

    /// Publishes the repository's definition `Workflows/<name>.yaml` with the real calendars.
    @discardableResult
    public func publishRepositoryWorkflow(_ name: String) async throws -> CompiledWorkflow {
        try await engine.registry.publish(file: workflowsDirectory + "/\(name).yaml", calendarDirectory: calendarDirectory)
    }

    /// Writes `yaml` to `<dir>/<file>` and publishes it with the real calendars.
    @discardableResult
    public func publish(_ yaml: String, file: String) async throws -> CompiledWorkflow {
        let path = dir + "/" + file
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return try await engine.registry.publish(file: path, calendarDirectory: calendarDirectory)
    }

    /// Every event of case `caseId`'s stream.
    public func events(_ caseId: String) throws -> [RecordedEvent] {
        try store.readStream(CaseState.stream(caseId), limit: Int.max)
    }

    /// The case as its events leave it (fails the test if it does not exist).
    public func state(_ caseId: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> CaseState {
        try #require(try engine.load(caseId), "case \(caseId) should exist", sourceLocation: sourceLocation)
    }
}
