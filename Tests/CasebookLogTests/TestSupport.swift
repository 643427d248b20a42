import CasebookLog
import Foundation

/// A fresh store directory under the system temporary directory, removed by `cleanup()`.
struct TempDir {
    let path: String

    init(_ name: String = "store") {
        path = NSTemporaryDirectory() + "casebook-test-\(name)-\(UUID().uuidString)"
    }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// Opens a store in a temporary directory, runs `body`, closes and deletes it.
func withStore<T>(
    _ configure: (inout EventStoreOptions) -> Void = { _ in }, _ body: (EventStore, String) async throws -> T
) async throws -> T {
    let dir = TempDir()
    defer { dir.cleanup() }
    var options = EventStoreOptions()
    options.clock = { Timestamp(millisecondsSince1970: 1_767_225_600_000) }  // 2026-01-01T00:00:00Z
    configure(&options)
    let store = try EventStore(path: dir.path, options: options)
    defer { store.close() }
    return try await body(store, dir.path)
}

func event(_ type: String = "test.happened", _ json: String = "{}") -> ProposedEvent {
    ProposedEvent(type: type, json: json)
}
