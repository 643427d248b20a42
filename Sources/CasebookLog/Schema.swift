import CasebookLMDB

/// The named LMDB databases of a store and the layout of their keys and values.
///
/// | database | key | value |
/// |---|---|---|
/// | `meta` | UTF-8 name | UTF-8 value (`format`, `store-id`) |
/// | `events` | position, u64 big-endian | the event's ``Envelope``, then its Merkle hashes (below) |
/// | `streams` | stream id, UTF-8 | stream number (u64 BE) + version of its last event (u64 BE) |
/// | `stream_index` | stream number (u64 BE) | one value per event, sorted (`MDB_DUPSORT`, `MDB_DUPFIXED`): stream version (u64 BE) + position (u64 BE) |
/// | `commands` | command id, UTF-8 | varints: first position, first version, event count; then the stream id |
///
/// The Merkle tree is kept with the records: the event at position `i` (leaf `i`) completes the perfect
/// subtrees of levels 0 … t, where t is the number of trailing one bits of `i`, and its record ends with
/// their hashes, level 0 (the leaf hash, SHA-256 of `0x00` and the envelope) first, 32 bytes each. So
/// half the records carry one hash, a quarter two, and so on; an append writes one `events` entry (with
/// `MDB_APPEND`) and no separate tree, and any subtree hash is one lookup away.
enum Schema {
    static let formatValue = "casebook-log/1"
    static let databases: [DatabaseSpec] = [
        DatabaseSpec("meta"), DatabaseSpec("events"), DatabaseSpec("streams"),
        DatabaseSpec("stream_index", duplicateKeys: true, fixedSizeValues: true), DatabaseSpec("commands"),
    ]

    struct Handles: Sendable {
        let meta: Database
        let events: Database
        let streams: Database
        let streamIndex: Database
        let commands: Database

        init(_ env: Environment) {
            meta = env.database("meta")
            events = env.database("events")
            streams = env.database("streams")
            streamIndex = env.database("stream_index")
            commands = env.database("commands")
        }
    }

    /// How many subtree hashes leaf `index` completes (and its record carries).
    static func merkleLevels(completedBy index: UInt64) -> Int {
        (~index).trailingZeroBitCount + 1
    }

    /// Splits a stored record into its envelope and its Merkle hashes; nil if it is too short.
    static func split(record: UnsafeRawBufferPointer, position: UInt64) -> (envelope: UnsafeRawBufferPointer, hashes: UnsafeRawBufferPointer)? {
        let hashBytes = 32 * merkleLevels(completedBy: position)
        guard record.count > hashBytes else { return nil }
        let cut = record.count - hashBytes
        return (UnsafeRawBufferPointer(rebasing: record[..<cut]), UnsafeRawBufferPointer(rebasing: record[cut...]))
    }

    struct StreamHead {
        var number: UInt64
        var version: UInt64

        init?(_ buffer: UnsafeRawBufferPointer) {
            guard buffer.count == 16, let n = BigEndian.read(buffer), let v = BigEndian.read(buffer, at: 8) else { return nil }
            number = n
            version = v
        }
    }

    struct CommandRecord {
        var firstPosition: UInt64
        var firstVersion: UInt64
        var count: UInt64
        var streamId: String

        init(firstPosition: UInt64, firstVersion: UInt64, count: UInt64, streamId: String) {
            self.firstPosition = firstPosition
            self.firstVersion = firstVersion
            self.count = count
            self.streamId = streamId
        }

        init?(_ buffer: UnsafeRawBufferPointer) {
            var r = ByteReader(buffer)
            guard let p = r.varint(), let v = r.varint(), let c = r.varint(), c > 0, let s = r.string(), r.isAtEnd else { return nil }
            self.init(firstPosition: p, firstVersion: v, count: c, streamId: s)
        }

        var bytes: [UInt8] {
            var w = ByteWriter(capacity: 32 + streamId.utf8.count)
            w.varint(firstPosition)
            w.varint(firstVersion)
            w.varint(count)
            w.string(streamId)
            return w.bytes
        }

        var result: AppendResult {
            AppendResult(streamId: streamId, firstPosition: firstPosition, lastPosition: firstPosition + count - 1,
                         firstVersion: firstVersion, lastVersion: firstVersion + count - 1, deduplicated: true)
        }
    }
}

extension Transaction {
    /// The number of events: one more than the last position, or 0.
    func eventCount(_ db: Schema.Handles) throws -> UInt64 {
        try withCursor(db.events) { cursor in
            guard let last = try cursor.last() else { return 0 }
            guard let p = BigEndian.read(last.key), last.key.count == 8 else {
                throw EventStoreError.corrupt(position: nil, reason: "malformed event key")
            }
            return p + 1
        }
    }

    /// The persisted hash of the perfect subtree of `2^level` leaves starting at `start`.
    func merkleNode(_ db: Schema.Handles, start: UInt64, level: Int) throws -> MerkleHash {
        let last = start + (UInt64(1) << level) - 1
        var key = last.bigEndian
        return try withUnsafeBytes(of: &key) { key in
            guard let raw = try get(db.events, key: key), let (_, hashes) = Schema.split(record: raw, position: last),
                  hashes.count >= 32 * (level + 1)
            else {
                throw EventStoreError.corrupt(position: last, reason: "Merkle node (level \(level)) missing or malformed")
            }
            return MerkleHash(UnsafeRawBufferPointer(rebasing: hashes[(32 * level)..<(32 * level + 32)]))
        }
    }

    /// The position of version `version` of stream number `stream`, from the stream index.
    func indexedPosition(_ db: Schema.Handles, stream: UInt64, version: UInt64) throws -> UInt64? {
        var key = stream.bigEndian
        var value = (version.bigEndian, UInt64(0))
        return try withUnsafeBytes(of: &key) { k in
            try withUnsafeBytes(of: &value) { v in
                try withCursor(db.streamIndex) { cursor in
                    guard let (_, found) = try cursor.seek(key: k, valueAtLeast: v), found.count == 16,
                          BigEndian.read(found) == version
                    else { return nil }
                    return BigEndian.read(found, at: 8)
                }
            }
        }
    }

    func streamHead(_ db: Schema.Handles, _ streamId: String) throws -> Schema.StreamHead? {
        var id = streamId
        return try id.withUTF8 { utf8 in
            guard let raw = try get(db.streams, key: UnsafeRawBufferPointer(utf8)) else { return nil }
            guard let head = Schema.StreamHead(raw) else {
                throw EventStoreError.corrupt(position: nil, reason: "malformed head of stream '\(streamId)'")
            }
            return head
        }
    }
}
