import CasebookLog
import CasebookProjections
import Foundation

/// A point in the log's history at which to answer: after the first N events, or over the events
/// recorded at or before a time.
public enum HistoryPoint: Sendable, Hashable, CustomStringConvertible {
    /// The log's first `n` events (positions 0..<n).
    case position(UInt64)
    /// The events recorded at or before this time (ms since the epoch).
    case time(Int64)

    public var description: String {
        switch self {
        case .position(let n): return "position \(n)"
        case .time(let t): return Timestamp(millisecondsSince1970: t).iso8601
        }
    }
}

/// Answers "as the projections stood then": builds projections in a temporary directory by folding
/// the log up to that point, hands them to `body`, and deletes them.
///
/// The cost is a fold of the log up to the point (every event before it is read and parsed; events
/// after it are still read when answering as of a time, since times need not be in position order), so
/// it grows with the log: see `casebook query --help` for figures measured on a demo store.
public enum AsOf {
    /// Runs `body` over projections as they stood at `point`; returns its result and the fold's run.
    public static func withProjections<T>(
        of store: EventStore, at point: HistoryPoint, _ body: (ProjectionStore) throws -> T
    ) throws -> (result: T, fold: ProjectionRun) {
        let dir = NSTemporaryDirectory() + "casebook-asof-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let projections = try ProjectionStore(store: store, path: dir)
        let run: ProjectionRun
        switch point {
        case .position(let n):
            guard n <= store.count else { throw QueryError.beyondHead(n, head: store.count) }
            run = try projections.catchUp(upTo: n, batchSize: ProjectionStore.privateBatchSize)
        case .time(let t):
            run = try projections.catchUp(recordedAtOrBefore: t, batchSize: ProjectionStore.privateBatchSize)
        }
        return (try body(projections), run)
    }
}
