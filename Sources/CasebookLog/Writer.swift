import CasebookLMDB
import Dispatch
import Foundation
import Synchronization

/// An append as the writer receives it: the request, with each event's envelope already encoded by the
/// appender (on its own thread), waiting only for its position, version and time.
struct PreparedAppend: Sendable {
    let request: AppendRequest
    let envelopes: [[UInt8]]

    init(_ request: AppendRequest) {
        self.request = request
        let commandId = request.commandId ?? ""
        envelopes = request.events.map { e in
            Envelope.prepare(
                streamId: request.streamId, commandId: commandId, type: e.type, schemaVersion: e.schemaVersion,
                payloadEncoding: e.payloadEncoding, actor: e.actor, correlationId: e.correlationId,
                causationId: e.causationId, payload: e.payload)
        }
    }
}

/// The single writer: takes the waiting appends, writes them in one transaction with one commit (LMDB
/// syncs the data pages, then the meta page), and only then answers each caller. Runs on its own thread;
/// a write transaction never crosses an `await`.
final class Writer: Sendable {
    let env: Environment
    let db: Schema.Handles
    let options: EventStoreOptions
    let queue: AppendQueue
    let committed: CommitNotifier
    /// Wakes the callers of large batches, so that this thread can start the next transaction.
    let responder = Responder()
    /// Where the writer's time goes, for benchmarks.
    let timing = WriterTiming()

    init(env: Environment, db: Schema.Handles, options: EventStoreOptions, queue: AppendQueue, committed: CommitNotifier) {
        self.env = env
        self.db = db
        self.options = options
        self.queue = queue
        self.committed = committed
    }

    /// What the writer knows of the log's tail between batches. Re-checked at the start of every
    /// transaction, so that another process's appends are never overwritten.
    struct Tail {
        var frontier = MerkleFrontier()
        var streamCount: UInt64 = 0
    }

    func run() {
        var tail: Tail? = nil
        var gather = 1
        var linger: UInt64 = 0
        while true {
            let t0 = WriterTiming.now()
            let first = queue.take(maxEvents: options.maxBatchEvents)
            timing.waiting.add(WriterTiming.now() - t0, ordering: .relaxed)
            if first.isEmpty { break }  // closed and drained
            let t1 = WriterTiming.now()
            let size = commit(first, gathering: gather, until: .now() + .nanoseconds(Int(linger)), tail: &tail)
            // Next time, gather as many appends as this batch had (those callers are about to return),
            // lingering at most a fraction of what this commit took. Past a few hundred appends a bigger
            // batch saves little, so the writer does not wait for more than that.
            gather = min(size, 256)
            linger = min(options.maxLinger, (WriterTiming.now() - t1) / 4)
        }
        responder.finish()
    }

    /// Writes `first`, and while the transaction is open keeps taking and writing appends that arrive,
    /// until `gather` appends are in it, the batch is full, or `deadline` passes; then commits. Returns
    /// how many appends the batch held.
    private func commit(_ first: [Pending], gathering gather: Int, until deadline: DispatchTime, tail: inout Tail?) -> Int {
        var batch = first
        var outcomes: [Result<AppendResult, EventStoreError>] = []
        var newTail = Tail()
        var retrying = false
        var startSize: UInt64 = 0
        while true {
            do {
                let now = options.clock()
                var applying: UInt64 = 0
                let t0 = WriterTiming.now()
                var t1 = t0
                (outcomes, newTail) = try env.write { txn in
                    var t = try current(tail, txn)
                    startSize = t.frontier.size
                    var events = 0
                    var results = try applyAll(batch[...], txn, &t, now, events: &events, nanoseconds: &applying)
                    // Callers answered a moment ago are coming back: write what arrives while waiting for them.
                    while !retrying, batch.count < gather, events < options.maxBatchEvents {
                        let more = queue.takeArrivals(
                            want: max(1, (gather - batch.count) / 4), maxEvents: options.maxBatchEvents - events, deadline: deadline)
                        if more.isEmpty { break }
                        batch += more
                        results += try applyAll(more[...], txn, &t, now, events: &events, nanoseconds: &applying)
                    }
                    t1 = WriterTiming.now()
                    return (results, t)
                }
                timing.applying.add(applying, ordering: .relaxed)
                timing.waiting.add(t1 - t0 - applying, ordering: .relaxed)
                timing.committing.add(WriterTiming.now() - t1, ordering: .relaxed)
                break
            } catch let error as LMDBError where error.code == .mapFull {
                // Nothing was written: grow the map and write the whole batch again.
                retrying = true
                let size = env.mapSize
                if size >= options.maxMapSize {
                    fail(batch, .storeFull(mapSize: size, ceiling: options.maxMapSize))
                    return batch.count
                }
                do {
                    try env.resize(to: min(options.maxMapSize, size * 2))
                } catch {
                    fail(batch, .storage("growing the map: \(error)"))
                    return batch.count
                }
            } catch {
                tail = nil
                switch error {
                case let e as LMDBError: fail(batch, e.isDiskFull ? .diskFull(e.description) : .storage(e.description))
                case let e as EventStoreError: fail(batch, e)
                default: fail(batch, .storage("\(error)"))
                }
                return batch.count
            }
        }
        if let observe = options.commitObserver, newTail.frontier.size > startSize {
            observe(startSize, newTail.frontier.size - startSize)
        }
        tail = newTail
        // Durable now: tell subscribers, then answer every caller. Waking a caller costs microseconds; a
        // lone caller is woken here, a crowd by the responder thread while this one writes the next batch.
        committed.publish(newTail.frontier.size)
        if batch.count <= 2 {
            Responder.answer(batch, outcomes)
        } else {
            responder.answer(batch, outcomes)
        }
        return batch.count
    }

    private func fail(_ batch: [Pending], _ error: EventStoreError) {
        responder.answer(batch, Array(repeating: .failure(error), count: batch.count))
    }

    /// Applies a run of appends inside the batch's transaction in two passes. The first checks each
    /// append and writes everything but its event records (stream heads, index entries, command records),
    /// giving each event its position, version and time. The second patches those into copies of the
    /// envelopes, hashes them (on two threads when there are many: hashing is most of a record's cost),
    /// and writes the records in position order, each followed by the subtree hashes it completes.
    private func applyAll(
        _ appends: ArraySlice<Pending>, _ txn: borrowing Transaction, _ tail: inout Tail, _ now: Timestamp,
        events: inout Int, nanoseconds: inout UInt64
    ) throws -> [Result<AppendResult, EventStoreError>] {
        let start = WriterTiming.now()
        defer { nanoseconds += WriterTiming.now() - start }
        var results: [Result<AppendResult, EventStoreError>] = []
        results.reserveCapacity(appends.count)
        var records: [PlannedRecord] = []
        var nextPosition = tail.frontier.size
        for pending in appends {
            events += pending.prepared.request.events.count
            results.append(try plan(pending.prepared, txn, &tail, now, nextPosition: &nextPosition, records: &records))
        }
        try write(records, txn, &tail)
        return results
    }

    /// An event record the second pass writes: its envelope as prepared, and what the writer fills in.
    private struct PlannedRecord {
        let envelope: [UInt8]
        let position: UInt64
        let version: UInt64
        let recordedAt: Timestamp
    }

    /// From how many records on the second pass hashes on two threads.
    private static let parallelHashing = 128

    /// The second pass of ``applyAll``: `records` are consecutive positions from the tail's size on.
    /// A few records are patched and hashed in place in their pages; many are first patched into a scratch
    /// copy and hashed there on two threads, then copied into their pages.
    private func write(_ records: [PlannedRecord], _ txn: borrowing Transaction, _ tail: inout Tail) throws {
        guard records.count >= Self.parallelHashing else {
            for r in records {
                try put(r, txn, &tail) { out in
                    r.envelope.withUnsafeBytes { out.copyMemory(from: $0) }
                    Envelope.patch(out, position: r.position, version: r.version, recordedAt: r.recordedAt)
                    return Merkle.leafHash(UnsafeRawBufferPointer(out))
                }
            }
            return
        }
        var offsets: [Int] = []
        offsets.reserveCapacity(records.count + 1)
        var total = 0
        for r in records {
            offsets.append(total)
            total += r.envelope.count
        }
        offsets.append(total)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 8)
        defer { scratch.deallocate() }
        let leaves = UnsafeMutableBufferPointer<MerkleHash>.allocate(capacity: records.count)
        defer { leaves.deallocate() }
        for (k, r) in records.enumerated() {
            let part = UnsafeMutableRawBufferPointer(rebasing: scratch[offsets[k]..<offsets[k + 1]])
            r.envelope.withUnsafeBytes { part.copyMemory(from: $0) }
            Envelope.patch(part, position: r.position, version: r.version, recordedAt: r.recordedAt)
        }
        let envelopes = UnsafeRawBufferPointer(scratch)
        // Shared by the two hashing threads: both only read `envelopes`, each writes its own half of `leaves`,
        // and concurrentPerform returns only after both are done.
        nonisolated(unsafe) let (input, output) = (envelopes, leaves)
        let (count, bounds) = (records.count, offsets)
        DispatchQueue.concurrentPerform(iterations: 2) { half in
            for k in half == 0 ? 0..<count / 2 : count / 2..<count {
                output[k] = Merkle.leafHash(UnsafeRawBufferPointer(rebasing: input[bounds[k]..<bounds[k + 1]]))
            }
        }
        for (k, r) in records.enumerated() {
            try put(r, txn, &tail) { out in
                out.copyMemory(from: UnsafeRawBufferPointer(rebasing: envelopes[offsets[k]..<offsets[k + 1]]))
                return leaves[k]
            }
        }
    }

    /// Writes one event record at the tail: `fill` puts the patched envelope at the start of the record and
    /// returns its leaf hash; the hashes of the subtrees the leaf completes follow it (level 0: the leaf's own).
    private func put(
        _ r: PlannedRecord, _ txn: borrowing Transaction, _ tail: inout Tail, fill: (UnsafeMutableRawBufferPointer) -> MerkleHash
    ) throws {
        precondition(r.position == tail.frontier.size, "the writer's records must follow the tail")
        var positionKey = r.position.bigEndian
        try withUnsafeBytes(of: &positionKey) { key in
            let size = r.envelope.count + 32 * Schema.merkleLevels(completedBy: r.position)
            try txn.reserve(db.events, key: key, size: size, flags: .append) { out in
                let leaf = fill(UnsafeMutableRawBufferPointer(rebasing: out[..<r.envelope.count]))
                let hashes = out.baseAddress! + r.envelope.count
                tail.frontier.append(leaf) { level, hash in
                    hash.withUnsafeBytes { (hashes + 32 * level).copyMemory(from: $0.baseAddress!, byteCount: 32) }
                }
            }
        }
    }

    /// The tail as the transaction sees it: the cached one if no one else appended, else reloaded.
    private func current(_ cached: Tail?, _ txn: borrowing Transaction) throws -> Tail {
        let count = try txn.eventCount(db)
        if let cached, cached.frontier.size == count { return cached }
        var t = Tail()
        t.frontier = try MerkleFrontier(size: count) { start, level in try txn.merkleNode(db, start: start, level: level) }
        t.streamCount = UInt64(try txn.count(db.streams))
        return t
    }

    /// The first pass for one append inside the batch's transaction. A refused append (wrong version,
    /// reused command id) writes nothing and does not disturb the others; a storage error aborts the batch.
    /// An accepted one writes its stream's head, its index entries and its command record, and adds its
    /// events to `records` at positions from `nextPosition` on.
    private func plan(
        _ prepared: PreparedAppend, _ txn: borrowing Transaction, _ tail: inout Tail, _ now: Timestamp,
        nextPosition: inout UInt64, records: inout [PlannedRecord]
    ) throws -> Result<AppendResult, EventStoreError> {
        let request = prepared.request
        if let commandId = request.commandId {
            let existing = try Array(commandId.utf8).withUnsafeBytes { key in
                try txn.get(db.commands, key: key).map { raw -> Schema.CommandRecord in
                    guard let record = Schema.CommandRecord(raw) else {
                        throw EventStoreError.corrupt(position: nil, reason: "malformed record of command '\(commandId)'")
                    }
                    return record
                }
            }
            if let existing {
                guard existing.streamId == request.streamId else {
                    return .failure(.commandIdReused(commandId: commandId, originalStream: existing.streamId, stream: request.streamId))
                }
                return .success(existing.result)
            }
        }

        let head = try txn.streamHead(db, request.streamId)
        switch request.expectedVersion {
        case .any: break
        case .noStream:
            if head != nil { return .failure(.wrongExpectedVersion(stream: request.streamId, expected: .noStream, actual: head?.version)) }
        case .exact(let v):
            if head?.version != v { return .failure(.wrongExpectedVersion(stream: request.streamId, expected: .exact(v), actual: head?.version)) }
        }

        let streamNumber: UInt64
        if let head {
            streamNumber = head.number
        } else {
            streamNumber = tail.streamCount
            tail.streamCount += 1
        }
        let firstVersion = head.map { $0.version + 1 } ?? 0
        let firstPosition = nextPosition
        var version = firstVersion
        for (event, envelope) in zip(request.events, prepared.envelopes) {
            let position = nextPosition
            records.append(PlannedRecord(envelope: envelope, position: position, version: version, recordedAt: event.recordedAt ?? now))
            var streamKey = streamNumber.bigEndian
            var indexValue = (version.bigEndian, position.bigEndian)
            try withUnsafeBytes(of: &streamKey) { k in
                try withUnsafeBytes(of: &indexValue) { try txn.put(db.streamIndex, key: k, value: $0, flags: .appendDuplicate) }
            }
            nextPosition += 1
            version += 1
        }
        let lastVersion = version - 1
        var headValue = (streamNumber.bigEndian, lastVersion.bigEndian)
        var streamId = request.streamId
        try streamId.withUTF8 { id in
            try withUnsafeBytes(of: &headValue) { try txn.put(db.streams, key: UnsafeRawBufferPointer(id), value: $0) }
        }
        let count = UInt64(request.events.count)
        if let commandId = request.commandId {
            let record = Schema.CommandRecord(firstPosition: firstPosition, firstVersion: firstVersion, count: count, streamId: request.streamId)
            try txn.put(db.commands, key: Array(commandId.utf8), value: record.bytes)
        }
        return .success(AppendResult(
            streamId: request.streamId, firstPosition: firstPosition, lastPosition: firstPosition + count - 1,
            firstVersion: firstVersion, lastVersion: lastVersion, deduplicated: false))
    }
}

/// A thread that resumes appenders' continuations, in the order the writer hands them over.
final class Responder: Sendable {
    private struct State {
        var work: [([Pending], [Result<AppendResult, EventStoreError>])] = []
        var finished = false
    }
    private let state = Mutex(State())
    private let wakeUp = DispatchSemaphore(value: 0)
    private let done = DispatchSemaphore(value: 0)

    init() {
        let thread = Thread { [self] in run() }
        thread.name = "casebook-log-responder"
        thread.start()
    }

    static func answer(_ batch: [Pending], _ outcomes: [Result<AppendResult, EventStoreError>]) {
        for (pending, outcome) in zip(batch, outcomes) {
            pending.continuation.resume(with: outcome.mapError { $0 as any Error })
        }
    }

    /// Queues answers for the responder thread.
    func answer(_ batch: [Pending], _ outcomes: [Result<AppendResult, EventStoreError>]) {
        state.withLock { $0.work.append((batch, outcomes)) }
        wakeUp.signal()
    }

    /// Answers everything queued, then stops the thread; returns when it has.
    func finish() {
        state.withLock { $0.finished = true }
        wakeUp.signal()
        done.wait()
    }

    private func run() {
        while true {
            let (work, finished) = state.withLock { s in
                defer { s.work.removeAll(keepingCapacity: true) }
                return (s.work, s.finished)
            }
            for (batch, outcomes) in work { Self.answer(batch, outcomes) }
            if work.isEmpty {
                if finished { break }
                wakeUp.wait()
            }
        }
        done.signal()
    }
}

/// Cumulative nanoseconds the writer spent waiting for appends, applying them, and committing.
final class WriterTiming: Sendable {
    let waiting = Atomic<UInt64>(0)
    let applying = Atomic<UInt64>(0)
    let committing = Atomic<UInt64>(0)

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
}
