import CasebookLog
import Synchronization

/// The case ids of each workflow, kept in memory from the log's `case.opened` events.
///
/// It reads the log incrementally: each catch-up visits only the events appended since the last one
/// (the first visits the whole log). A case belongs to the workflow it was opened under for good
/// (a migration keeps the workflow). Lists are returned sorted by case id, so whoever walks them does
/// so in an order that does not depend on how commands interleaved.
final class CaseIndex: Sendable {
    private struct State {
        /// Case ids by workflow, sorted when `sorted` holds the workflow.
        var byWorkflow: [String: [String]] = [:]
        var sorted: Set<String> = []
        /// The position of the next event to read.
        var next: UInt64 = 0
        /// Events visited since the index was made (to show that it resumes rather than rescans).
        var eventsRead: UInt64 = 0
    }
    private let state = Mutex(State())

    /// Reads the events appended since the last call, then returns the case ids of `workflow`, sorted.
    func caseIds(of workflow: String, in store: EventStore) throws -> [String] {
        try state.withLock { s throws in
            try Self.catchUp(&s, store)
            return Self.sortedIds(&s, workflow)
        }
    }

    /// Reads the events appended since the last call, then returns every case id of every workflow,
    /// sorted by workflow name, then by case id.
    func allCaseIds(in store: EventStore) throws -> [String] {
        try state.withLock { s throws in
            try Self.catchUp(&s, store)
            return s.byWorkflow.keys.sorted().flatMap { Self.sortedIds(&s, $0) }
        }
    }

    /// Where the index stands: the position of the next event it will read, and how many it has read.
    var progress: (next: UInt64, eventsRead: UInt64) {
        state.withLock { ($0.next, $0.eventsRead) }
    }

    private static func sortedIds(_ s: inout State, _ workflow: String) -> [String] {
        guard var ids = s.byWorkflow[workflow] else { return [] }
        if !s.sorted.contains(workflow) {
            ids.sort()
            s.byWorkflow[workflow] = ids
            s.sorted.insert(workflow)
        }
        return ids
    }

    private static let casePrefix = Array("case-".utf8)

    private static func catchUp(_ s: inout State, _ store: EventStore) throws {
        var found: [(workflow: String, caseId: String)] = []
        var read: UInt64 = 0
        let next = try store.scanViews(from: s.next) { view in
            read += 1
            guard view.typeIs("case.opened"), view.streamId.starts(with: casePrefix) else { return }
            // An opening that does not name its workflow (not written by the engine) is kept under "", so
            // that loading the case reports what is wrong with it.
            let workflow = (try? JSONValue.parse(view.payload).object)?["workflow"]?.string ?? ""
            found.append((workflow, String(decoding: view.streamId.dropFirst(casePrefix.count), as: UTF8.self)))
        }
        for (workflow, caseId) in found {
            s.byWorkflow[workflow, default: []].append(caseId)
            s.sorted.remove(workflow)
        }
        s.next = max(s.next, next)
        s.eventsRead += read
    }
}
