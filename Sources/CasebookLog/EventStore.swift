import CasebookLMDB
import Dispatch
import Foundation
import Synchronization

/// Settings for opening an ``EventStore``.
public struct EventStoreOptions: Sendable {
    /// The map size a new store starts with, in bytes.
    public var initialMapSize: Int = 64 << 20
    /// The ceiling the map may grow to; appends beyond it fail with ``EventStoreError/storeFull(mapSize:ceiling:)``.
    public var maxMapSize: Int = 1 << 40
    /// The most events one group commit writes; further appends wait for the next commit.
    public var maxBatchEvents: Int = 8192
    /// The longest the writer waits, once an append is queued, for the callers of the previous batch
    /// to append again so that they share the next commit (nanoseconds; it waits at most a quarter of
    /// the previous commit's time, and never when only one append was in the previous batch). 0 turns
    /// this off.
    public var maxLinger: UInt64 = 1_000_000
    /// Told, on the writer thread, of every commit: its first position and how many events it holds
    /// (benchmarks use it to replay the same batches against raw LMDB). Keep it quick.
    public var commitObserver: (@Sendable (_ firstPosition: UInt64, _ count: UInt64) -> Void)? = nil
    /// Open without a writer: appends fail with ``EventStoreError/readOnly``.
    public var readOnly: Bool = false
    /// Skip fsync at commit. Only for throwaway stores in tests: acknowledged appends may then be lost.
    public var unsafeNoSync: Bool = false
    /// The clock that stamps events appended without a time of their own.
    public var clock: @Sendable () -> Timestamp = { Timestamp.now() }

    /// Default options: 64 MiB initial map, 1 TiB ceiling, durable commits.
    public init() {}
}

/// The append-only event log: an LMDB environment with group-committed appends, reads, catch-up
/// subscriptions and an RFC 6962 Merkle tree over every record.
///
/// Appends are handed to one dedicated writer thread. It takes every append waiting, writes them in
/// one LMDB transaction, commits it with one fsync, and only then answers each caller. Positions are
/// 0-based, gapless and in commit order. Reads are short read transactions on the caller's thread.
public final class EventStore: Sendable {
    /// The store directory.
    public let path: String
    let env: Environment
    let db: Schema.Handles
    let options: EventStoreOptions
    private let queue: AppendQueue
    private let writerRunning = DispatchGroup()
    let committed: CommitNotifier
    private let timing: WriterTiming?
    /// A random identifier given to the store when it was created; checkpoints name it as their origin.
    public let storeId: String

    /// Opens the store at `path`, creating it if it does not exist.
    public init(path: String, options: EventStoreOptions = .init()) throws {
        if !options.readOnly {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } else if !FileManager.default.fileExists(atPath: path + "/data.mdb") {
            throw EventStoreError.outOfRange("no store at \(path) (run `casebook init` first)")
        }
        var envOptions = EnvironmentOptions()
        envOptions.mapSize = options.initialMapSize
        envOptions.readOnly = options.readOnly
        envOptions.noSync = options.unsafeNoSync
        let env = try Environment(path: path, databases: Schema.databases, options: envOptions)
        let db = Schema.Handles(env)
        let storeId: String = try {
            if options.readOnly {
                return try env.read { txn in try txn.get(db.meta, key: Array("store-id".utf8)) }.map { String(decoding: $0, as: UTF8.self) } ?? ""
            }
            return try env.write { txn in
                if let format = try txn.get(db.meta, key: Array("format".utf8)) {
                    let text = String(decoding: format, as: UTF8.self)
                    guard text == Schema.formatValue else {
                        throw EventStoreError.corrupt(position: nil, reason: "store format is '\(text)', this build reads '\(Schema.formatValue)'")
                    }
                } else {
                    try txn.put(db.meta, key: Array("format".utf8), value: Array(Schema.formatValue.utf8))
                }
                if let id = try txn.get(db.meta, key: Array("store-id".utf8)) { return String(decoding: id, as: UTF8.self) }
                let id = UUID().uuidString.lowercased()
                try txn.put(db.meta, key: Array("store-id".utf8), value: Array(id.utf8))
                return id
            }
        }()
        let count = try env.read { txn in try txn.eventCount(db) }

        self.path = path
        self.env = env
        self.db = db
        self.options = options
        self.storeId = storeId
        self.queue = AppendQueue()
        self.committed = CommitNotifier(count: count)

        if options.readOnly {
            queue.close()
            timing = nil
        } else {
            let writer = Writer(env: env, db: db, options: options, queue: queue, committed: committed)
            timing = writer.timing
            let running = writerRunning
            running.enter()
            let thread = Thread {
                writer.run()
                running.leave()
            }
            thread.name = "casebook-log-writer"
            thread.start()
        }
    }

    deinit { close() }

    /// Stops the writer after the appends already queued; later appends fail with ``EventStoreError/closed``.
    /// Subscriptions end. Safe to call more than once.
    public func close() {
        queue.close()
        writerRunning.wait()
        committed.close()
    }

    /// Writes everything committed so far to disk now. A store opened with ``EventStoreOptions/unsafeNoSync``
    /// leaves that to the system, which does it later, at a time of its choosing (benchmarks call this so
    /// that the flush of their setup does not fall into what they time); for any other store it has nothing to do.
    public func sync() throws {
        try env.sync()
    }

    /// The number of committed events (the next position). Every position below it is durable.
    public var count: UInt64 { committed.count }

    /// Appends events to one stream atomically and returns once they are durable.
    ///
    /// Fails with ``EventStoreError/wrongExpectedVersion(stream:expected:actual:)`` (naming the actual
    /// version) if the stream is not at the expected version; nothing is written then. An append whose
    /// command id was already committed returns the original result, with `deduplicated` set.
    public func append(_ request: AppendRequest) async throws -> AppendResult {
        try AppendLimits.validate(request)
        let prepared = PreparedAppend(request)  // encoded here, on the caller's thread, not the writer's
        return try await withUnsafeThrowingContinuation { continuation in
            if !queue.enqueue(Pending(prepared: prepared, continuation: continuation)) {
                continuation.resume(throwing: options.readOnly ? EventStoreError.readOnly : EventStoreError.closed)
            }
        }
    }

    /// Appends events to one stream atomically; see ``append(_:)``.
    @discardableResult
    public func append(
        to streamId: String, expectedVersion: ExpectedVersion = .any, events: [ProposedEvent], commandId: String? = nil
    ) async throws -> AppendResult {
        try await append(AppendRequest(streamId: streamId, expectedVersion: expectedVersion, events: events, commandId: commandId))
    }

    /// Milliseconds the writer thread has spent waiting for appends, applying them inside write
    /// transactions, and committing (LMDB's page writes and fsyncs), since the store opened.
    public var writerMilliseconds: (waiting: Double, applying: Double, committing: Double) {
        guard let timing else { return (0, 0, 0) }
        return (Double(timing.waiting.load(ordering: .relaxed)) / 1e6, Double(timing.applying.load(ordering: .relaxed)) / 1e6,
                Double(timing.committing.load(ordering: .relaxed)) / 1e6)
    }

    /// Group commits (write transactions) this process has made since the store opened.
    public var commitCount: UInt64 { committed.commits }

    /// The current and maximum map sizes in bytes.
    public var mapSize: (current: Int, ceiling: Int) { (env.mapSize, options.maxMapSize) }
}

/// An append waiting for the writer.
struct Pending: Sendable {
    let prepared: PreparedAppend
    /// Resumed exactly once: by the writer (or responder) with the outcome, or at once if the queue is closed.
    let continuation: UnsafeContinuation<AppendResult, any Error>
}

/// The queue between appenders and the writer thread.
final class AppendQueue: Sendable {
    private struct State {
        var items: [Pending] = []
        var queuedEvents = 0
        var closed = false
        /// How many queued appends the writer waits for before it wants waking (0: it is not waiting).
        var wakeAt = 0
        var wakeAtEvents = Int.max
    }
    private let state = Mutex(State())
    private let wakeUp = DispatchSemaphore(value: 0)

    /// Adds an append; false if the queue is closed.
    func enqueue(_ pending: Pending) -> Bool {
        enum Outcome { case refused, queued, wake }
        let accepted = state.withLock { s -> Outcome in
            if s.closed { return .refused }
            s.items.append(pending)
            s.queuedEvents += pending.prepared.request.events.count
            // Wake the writer only when what it waits for has arrived: one signal per batch, not per append.
            guard s.wakeAt > 0, s.items.count >= s.wakeAt || s.queuedEvents >= s.wakeAtEvents else { return .queued }
            s.wakeAt = 0
            return .wake
        }
        if accepted == .wake { wakeUp.signal() }
        return accepted != .refused
    }

    /// Closes the queue; true the first time.
    @discardableResult
    func close() -> Bool {
        let first = state.withLock { s in
            defer { s.closed = true }
            return !s.closed
        }
        wakeUp.signal()
        return first
    }

    /// Waits for appends and takes as many as fit in `maxEvents` (at least one); an empty array means
    /// the queue is closed and drained.
    func take(maxEvents: Int) -> [Pending] {
        while true {
            let (batch, closed) = state.withLock { s -> ([Pending], Bool) in
                if s.items.isEmpty { s.wakeAt = 1 }
                return (Self.takeLocked(&s, maxEvents: maxEvents), s.closed)
            }
            if !batch.isEmpty || closed { return batch }
            wakeUp.wait()
        }
    }

    /// Takes the appends that arrive before `deadline`: returns as soon as `want` are queued (taking
    /// all that fit in `maxEvents`), or at the deadline with whatever is queued (possibly nothing).
    ///
    /// The writer calls this with its transaction open, to write the callers it just answered into the
    /// same batch as they come back, instead of alternating between two half-size batches.
    func takeArrivals(want: Int, maxEvents: Int, deadline: DispatchTime) -> [Pending] {
        while true {
            let batch = state.withLock { s -> [Pending]? in
                if s.items.count >= want || s.queuedEvents >= maxEvents || s.closed || DispatchTime.now() >= deadline {
                    s.wakeAt = 0
                    return Self.takeLocked(&s, maxEvents: maxEvents)
                }
                s.wakeAt = want
                s.wakeAtEvents = maxEvents
                return nil
            }
            if let batch { return batch }
            _ = wakeUp.wait(timeout: deadline)
        }
    }

    private static func takeLocked(_ s: inout State, maxEvents: Int) -> [Pending] {
        var events = 0
        var n = 0
        while n < s.items.count {
            let count = s.items[n].prepared.request.events.count
            if n > 0 && events + count > maxEvents { break }
            events += count
            n += 1
        }
        s.queuedEvents -= events
        if n == s.items.count {  // the usual case: take the whole queue without copying it
            var batch: [Pending] = []
            batch.reserveCapacity(s.items.count)
            swap(&batch, &s.items)
            return batch
        }
        let batch = Array(s.items.prefix(n))
        s.items.removeFirst(n)
        return batch
    }
}

/// Tells waiters how many events are committed.
final class CommitNotifier: Sendable {
    private struct State {
        var count: UInt64
        var closed = false
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var cancelled: Set<UInt64> = []
        var nextId: UInt64 = 0
    }
    private let state: Mutex<State>
    private let atomicCount: Atomic<UInt64>

    init(count: UInt64) {
        state = Mutex(State(count: count))
        atomicCount = Atomic(count)
    }

    private let commitCount = Atomic<UInt64>(0)

    var count: UInt64 { atomicCount.load(ordering: .acquiring) }

    /// Write transactions committed by this process since the store opened.
    var commits: UInt64 { commitCount.load(ordering: .relaxed) }

    func publish(_ count: UInt64) {
        commitCount.add(1, ordering: .relaxed)
        atomicCount.store(count, ordering: .releasing)
        let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.count = count
            defer { s.waiters.removeAll(keepingCapacity: true) }
            return Array(s.waiters.values)
        }
        for c in ready { c.resume() }
    }

    func close() {
        let ready = state.withLock { s -> [CheckedContinuation<Void, Never>] in
            s.closed = true
            defer { s.waiters.removeAll() }
            return Array(s.waiters.values)
        }
        for c in ready { c.resume() }
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    /// Returns when more than `position` events are committed, the store closes, or the task is cancelled.
    func wait(beyond position: UInt64) async {
        let id = state.withLock { s -> UInt64 in
            s.nextId += 1
            return s.nextId
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.count > position || s.closed || s.cancelled.remove(id) != nil { return true }
                    s.waiters[id] = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let c = state.withLock { s -> CheckedContinuation<Void, Never>? in
                if let c = s.waiters.removeValue(forKey: id) { return c }
                s.cancelled.insert(id)
                return nil
            }
            c?.resume()
        }
        state.withLock { _ = $0.cancelled.remove(id) }
    }
}
