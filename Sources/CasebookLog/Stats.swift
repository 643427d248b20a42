import CasebookLMDB

/// Figures about a store, for `casebook stats`.
public struct StoreStats: Sendable, Codable {
    /// The store id.
    public var storeId: String
    /// Committed events.
    public var events: UInt64
    /// Streams.
    public var streams: Int
    /// Idempotency records.
    public var commands: Int
    /// The Merkle root of the whole log, hex.
    public var root: String
    /// The map size in bytes.
    public var mapSize: Int
    /// The map ceiling in bytes.
    public var maxMapSize: Int
    /// Bytes of the map in use.
    public var usedBytes: Int
}

extension EventStore {
    /// Counts and sizes, read in one short transaction.
    public func stats() throws -> StoreStats {
        try env.read { txn in
            let n = try txn.eventCount(db)
            let root = try Merkle.subtreeHash(start: 0, size: n) { s, l in try txn.merkleNode(db, start: s, level: l) }
            return StoreStats(
                storeId: storeId, events: n, streams: try txn.count(db.streams), commands: try txn.count(db.commands),
                root: root.hex, mapSize: env.mapSize,
                maxMapSize: options.maxMapSize, usedBytes: env.usedBytes)
        }
    }
}
