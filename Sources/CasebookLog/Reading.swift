import CasebookLMDB

/// The direction of a stream read.
public enum ReadDirection: Sendable {
    /// Ascending versions.
    case forward
    /// Descending versions.
    case backward
}

extension EventStore {
    /// Up to `limit` events in position order, starting at `position`. One short read transaction.
    public func read(from position: UInt64, limit: Int = 1000) throws -> [RecordedEvent] {
        try env.read { txn in
            try txn.withCursor(db.events) { cursor in
                var out: [RecordedEvent] = []
                out.reserveCapacity(min(limit, 4096))
                var entry = try BigEndian.bytes(position).withUnsafeBytes { try cursor.seek(atLeast: $0) }
                while let (key, value) = entry, out.count < limit {
                    out.append(try Self.decode(key: key, value: value))
                    entry = try cursor.next()
                }
                return out
            }
        }
    }

    /// Visits every event from `position` on, in batches of short read transactions, never holding one
    /// for long. `body` returns false to stop early.
    public func scan(from position: UInt64 = 0, batchSize: Int = 4096, _ body: (RecordedEvent) throws -> Bool) throws {
        let batchSize = max(1, batchSize)
        var next = position
        while true {
            let batch = try read(from: next, limit: batchSize)
            for e in batch where try !body(e) { return }
            guard let last = batch.last else { return }
            next = last.position + 1
        }
    }

    /// Visits the events in `[position, end)` (end: the head when nil) without copying them: each
    /// ``EventView`` points into LMDB's memory and is valid only during its call of `body`. Batches of
    /// `batchSize` events share one short read transaction. This is the fast path for projections; use
    /// ``scan(from:batchSize:_:)`` when the events must outlive the call. Returns the position after the
    /// last event visited.
    @discardableResult
    public func scanViews(
        from position: UInt64, to end: UInt64? = nil, batchSize: Int = 8192, _ body: (borrowing EventView) throws -> Void
    ) throws -> UInt64 {
        let batchSize = max(1, batchSize)
        var next = position
        while end.map({ next < $0 }) ?? true {
            let visited: Int = try env.read { txn in
                try txn.withCursor(db.events) { cursor in
                    var n = 0
                    var entry = try BigEndian.bytes(next).withUnsafeBytes { try cursor.seek(atLeast: $0) }
                    while let (key, value) = entry, n < batchSize {
                        guard key.count == 8, let p = BigEndian.read(key), end.map({ p < $0 }) ?? true else { break }
                        try Self.withView(record: value, position: p, body)
                        next = p + 1
                        n += 1
                        entry = try cursor.next()
                    }
                    return n
                }
            }
            if visited < batchSize { break }
        }
        return next
    }

    /// The event at `position`, or nil past the end.
    public func event(at position: UInt64) throws -> RecordedEvent? {
        try env.read { txn in
            try BigEndian.bytes(position).withUnsafeBytes { key in
                try txn.get(db.events, key: key).map { try Self.decode(key: key, value: $0) }
            }
        }
    }

    /// The version of the stream's last event, or nil if the stream does not exist.
    public func streamVersion(_ streamId: String) throws -> UInt64? {
        try env.read { txn in try txn.streamHead(db, streamId)?.version }
    }

    /// Up to `limit` events of one stream, from `version` (inclusive; default: the first event going
    /// forward, the last going backward).
    public func readStream(
        _ streamId: String, from version: UInt64? = nil, direction: ReadDirection = .forward, limit: Int = 1000
    ) throws -> [RecordedEvent] {
        try env.read { txn in
            let positions = try streamPositions(txn, streamId, from: version, direction: direction, limit: limit)
            var out: [RecordedEvent] = []
            out.reserveCapacity(positions.count)
            for position in positions {
                try record(txn, at: position) { key, raw in out.append(try Self.decode(key: key, value: raw)) }
            }
            return out
        }
    }

    /// Visits up to `limit` events of one stream, as ``readStream(_:from:direction:limit:)`` reads them, without
    /// copying them: each ``EventView`` points into LMDB's memory and is valid only during its call of `body`.
    /// One read transaction.
    public func readStreamViews(
        _ streamId: String, from version: UInt64? = nil, direction: ReadDirection = .forward, limit: Int = Int.max,
        _ body: (borrowing EventView) throws -> Void
    ) throws {
        try env.read { txn in
            for position in try streamPositions(txn, streamId, from: version, direction: direction, limit: limit) {
                try record(txn, at: position) { _, raw in try Self.withView(record: raw, position: position, body) }
            }
        }
    }

    /// The positions of up to `limit` events of one stream, from `version`, in `direction`: its index entries
    /// (version, position), sorted by version under its stream number, checked to be gapless.
    private func streamPositions(
        _ txn: borrowing Transaction, _ streamId: String, from version: UInt64?, direction: ReadDirection, limit: Int
    ) throws -> [UInt64] {
        guard let head = try txn.streamHead(db, streamId), limit > 0 else { return [] }
        let start: UInt64
        switch direction {
        case .forward:
            start = version ?? 0
            guard start <= head.version else { return [] }
        case .backward:
            start = Swift.min(version ?? head.version, head.version)
        }
        var positions: [UInt64] = []
        positions.reserveCapacity(Swift.min(limit, Int(head.version) + 1))
        var key = head.number.bigEndian
        var from = (start.bigEndian, UInt64(0))
        try withUnsafeBytes(of: &key) { k in
            try withUnsafeBytes(of: &from) { v in
                try txn.withCursor(db.streamIndex) { cursor in
                    var entry = try cursor.seek(key: k, valueAtLeast: v)
                    var expected = start
                    while let (_, value) = entry, positions.count < limit {
                        guard value.count == 16, BigEndian.read(value) == expected, let p = BigEndian.read(value, at: 8) else {
                            throw EventStoreError.corrupt(position: nil, reason: "stream '\(streamId)' has no index entry for version \(expected)")
                        }
                        positions.append(p)
                        if direction == .forward {
                            guard expected < head.version else { break }
                            expected += 1
                            entry = try cursor.nextDuplicate()
                        } else {
                            guard expected > 0 else { break }
                            expected -= 1
                            entry = try cursor.previousDuplicate()
                        }
                    }
                }
            }
        }
        return positions
    }

    /// Calls `body` with the key and record of the event at `position`, which the stream index says exists.
    private func record(
        _ txn: borrowing Transaction, at position: UInt64, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        var positionKey = position.bigEndian
        try withUnsafeBytes(of: &positionKey) { key in
            guard let raw = try txn.get(db.events, key: key) else {
                throw EventStoreError.corrupt(position: position, reason: "indexed event is missing")
            }
            try body(key, raw)
        }
    }

    /// Calls `body` with a view of the event stored as `record` at `position`; throws if the record is not one.
    private static func withView(
        record: UnsafeRawBufferPointer, position: UInt64, _ body: (borrowing EventView) throws -> Void
    ) throws {
        guard let (envelope, _) = Schema.split(record: record, position: position), let view = EventView(envelope),
              view.position == position
        else {
            throw EventStoreError.corrupt(position: position, reason: "malformed event envelope")
        }
        try body(view)
    }

    static func decode(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws -> RecordedEvent {
        let position = BigEndian.read(key)
        guard key.count == 8, let position, let (envelope, _) = Schema.split(record: value, position: position),
              let event = Envelope.decode(envelope), event.position == position
        else {
            throw EventStoreError.corrupt(position: position, reason: "malformed event envelope")
        }
        return event
    }

    /// A catch-up subscription from `position`: history first, then live appends as they commit, each
    /// event exactly once and in order. Reads use short transactions; none is held while waiting.
    public func subscribe(from position: UInt64 = 0, batchSize: Int = 512) -> EventSubscription {
        EventSubscription(store: self, from: position, batchSize: max(1, batchSize))
    }
}

/// The events of the log from a position on, history then live. Ends when the store closes; iterating
/// throws ``EventStoreError`` on a read failure and `CancellationError` when the task is cancelled.
public struct EventSubscription: AsyncSequence, Sendable {
    public typealias Element = RecordedEvent
    let store: EventStore
    let from: UInt64
    let batchSize: Int

    public func makeAsyncIterator() -> Iterator {
        Iterator(store: store, next: from, batchSize: batchSize)
    }

    /// Reads batches by position and waits for the writer's commit notices between them.
    public struct Iterator: AsyncIteratorProtocol {
        let store: EventStore
        var next: UInt64
        let batchSize: Int
        var buffer: [RecordedEvent] = []
        var index = 0

        public mutating func next() async throws -> RecordedEvent? {
            while true {
                if index < buffer.count {
                    defer { index += 1 }
                    return buffer[index]
                }
                try Task.checkCancellation()
                // Only positions the writer has announced (in a process that does not write, the count at open).
                let durable = store.committed.count
                if next < durable {
                    buffer = try store.read(from: next, limit: Int(Swift.min(UInt64(batchSize), durable - next)))
                    index = 0
                    if let last = buffer.last {
                        next = last.position + 1
                        continue
                    }
                }
                if store.committed.isClosed { return nil }
                await store.committed.wait(beyond: next)
            }
        }
    }
}
