import CasebookLMDB

/// The single writer: takes waiting appends, writes them in one transaction with one fsync, answers
/// each caller after the commit. Runs on its own thread; a write transaction never crosses an `await`.
final class Writer: Sendable {
    let env: Environment
    let db: Schema.Handles
    let options: EventStoreOptions
    let queue: AppendQueue
    let committed: CommitNotifier

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
        while true {
            let batch = queue.take(maxEvents: options.maxBatchEvents)
            if batch.isEmpty { break }
            commit(batch, tail: &tail)
        }
    }

    private func commit(_ batch: [Pending], tail: inout Tail?) {
        var outcomes: [Result<AppendResult, EventStoreError>] = []
        var newTail: Tail? = nil
        while true {
            do {
                let now = options.clock()
                (outcomes, newTail) = try env.write { txn in
                    var t = try current(tail, txn)
                    let results = try batch.map { try apply($0.request, txn, &t, now) }
                    return (results, t)
                }
                break
            } catch let error as LMDBError where error.code == .mapFull {
                let size = env.mapSize
                if size >= options.maxMapSize {
                    fail(batch, .storeFull(mapSize: size, ceiling: options.maxMapSize))
                    return
                }
                do {
                    try env.resize(to: min(options.maxMapSize, size * 2))
                } catch {
                    fail(batch, .storage("growing the map: \(error)"))
                    return
                }
            } catch let error as LMDBError {
                tail = nil
                fail(batch, error.isDiskFull ? .diskFull(error.description) : .storage(error.description))
                return
            } catch let error as EventStoreError {
                tail = nil
                fail(batch, error)
                return
            } catch {
                tail = nil
                fail(batch, .storage("\(error)"))
                return
            }
        }
        tail = newTail
        if let size = newTail?.frontier.size { committed.publish(size) }
        for (pending, outcome) in zip(batch, outcomes) {
            pending.continuation.resume(with: outcome.mapError { $0 as any Error })
        }
    }

    private func fail(_ batch: [Pending], _ error: EventStoreError) {
        for p in batch { p.continuation.resume(throwing: error) }
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

    /// Applies one append inside the batch's transaction. A refused append (wrong version, reused
    /// command id) writes nothing and does not disturb the others; a storage error aborts the batch.
    private func apply(
        _ request: AppendRequest, _ txn: borrowing Transaction, _ tail: inout Tail, _ now: Timestamp
    ) throws -> Result<AppendResult, EventStoreError> {
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
        let firstPosition = tail.frontier.size
        var version = firstVersion
        for event in request.events {
            let position = tail.frontier.size
            let record = RecordedEvent(
                position: position, streamId: request.streamId, streamVersion: version, type: event.type,
                schemaVersion: event.schemaVersion, recordedAt: event.recordedAt ?? now, actor: event.actor,
                correlationId: event.correlationId, causationId: event.causationId, commandId: request.commandId ?? "",
                payloadEncoding: event.payloadEncoding, payload: event.payload)
            let envelope = Envelope.encode(record)
            let positionKey = BigEndian.bytes(position)
            try txn.put(db.events, key: positionKey, value: envelope, flags: .append)
            try txn.put(db.streamIndex, key: BigEndian.bytes(streamNumber, version), value: positionKey)
            try tail.frontier.append(Merkle.leafHash(envelope)) { level, hash in
                try txn.put(db.merkle, key: Schema.merkleKey(lastLeaf: position, level: level), value: hash.bytes, flags: .append)
            }
            version += 1
        }
        let lastVersion = version - 1
        try txn.put(db.streams, key: Array(request.streamId.utf8), value: Schema.StreamHead(number: streamNumber, version: lastVersion).bytes)
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
