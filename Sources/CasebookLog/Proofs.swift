import CasebookLMDB

/// Proof that one event is in the log as of a tree size (RFC 6962 audit path).
public struct InclusionProof: Codable, Sendable, Equatable {
    /// The event's position (its leaf index).
    public var position: UInt64
    /// The tree size the proof is for.
    public var treeSize: UInt64
    /// The leaf hash of the event's envelope, hex.
    public var leafHash: String
    /// The audit path, bottom-up, hex.
    public var path: [String]
    /// The root of the tree of `treeSize` leaves, hex.
    public var root: String

    /// Checks the proof on its own (no store needed), optionally against the envelope bytes.
    public func verify(envelope: [UInt8]? = nil) -> Bool {
        guard let leaf = MerkleHash(hex: leafHash), let root = MerkleHash(hex: root) else { return false }
        if let envelope, Merkle.leafHash(envelope) != leaf { return false }
        let hashes = path.compactMap(MerkleHash.init(hex:))
        guard hashes.count == path.count else { return false }
        return Merkle.verifyInclusion(leaf: leaf, index: position, size: treeSize, proof: hashes, root: root)
    }
}

/// Proof that the log of `fromSize` events is a prefix of the log of `toSize` events (RFC 6962).
public struct ConsistencyProof: Codable, Sendable, Equatable {
    /// The older tree size.
    public var fromSize: UInt64
    /// The newer tree size.
    public var toSize: UInt64
    /// The older root, hex.
    public var fromRoot: String
    /// The newer root, hex.
    public var toRoot: String
    /// The proof hashes, hex.
    public var path: [String]

    /// Checks the proof on its own (no store needed).
    public func verify() -> Bool {
        guard let old = MerkleHash(hex: fromRoot), let new = MerkleHash(hex: toRoot) else { return false }
        let hashes = path.compactMap(MerkleHash.init(hex:))
        guard hashes.count == path.count else { return false }
        return Merkle.verifyConsistency(oldSize: fromSize, newSize: toSize, oldRoot: old, newRoot: new, proof: hashes)
    }
}

extension EventStore {
    private func withTree<T>(size: UInt64?, _ body: (UInt64, (UInt64, Int) throws -> MerkleHash) throws -> T) throws -> T {
        try env.read { txn in
            let count = try txn.eventCount(db)
            let n = size ?? count
            guard n <= count else { throw EventStoreError.outOfRange("tree size \(n) is beyond the log's \(count) events") }
            return try body(n) { start, level in try txn.merkleNode(db, start: start, level: level) }
        }
    }

    /// The Merkle root over the first `treeSize` events (default: all), from the persisted nodes.
    public func root(treeSize: UInt64? = nil) throws -> MerkleHash {
        try withTree(size: treeSize) { n, perfect in try Merkle.subtreeHash(start: 0, size: n, perfect: perfect) }
    }

    /// An inclusion proof for the event at `position` in the tree of `treeSize` events (default: all).
    public func inclusionProof(position: UInt64, treeSize: UInt64? = nil) throws -> InclusionProof {
        try withTree(size: treeSize) { n, perfect in
            guard position < n else { throw EventStoreError.outOfRange("position \(position) is not below tree size \(n)") }
            let path = try Merkle.inclusionProof(index: position, size: n, perfect: perfect)
            return InclusionProof(
                position: position, treeSize: n, leafHash: try perfect(position, 0).hex, path: path.map(\.hex),
                root: try Merkle.subtreeHash(start: 0, size: n, perfect: perfect).hex)
        }
    }

    /// A consistency proof between the trees of `fromSize` and `toSize` events (default: all).
    public func consistencyProof(from fromSize: UInt64, to toSize: UInt64? = nil) throws -> ConsistencyProof {
        try withTree(size: toSize) { n, perfect in
            guard fromSize <= n else { throw EventStoreError.outOfRange("size \(fromSize) is beyond size \(n)") }
            let path = try Merkle.consistencyProof(oldSize: fromSize, newSize: n, perfect: perfect)
            return ConsistencyProof(
                fromSize: fromSize, toSize: n,
                fromRoot: try Merkle.subtreeHash(start: 0, size: fromSize, perfect: perfect).hex,
                toRoot: try Merkle.subtreeHash(start: 0, size: n, perfect: perfect).hex, path: path.map(\.hex))
        }
    }
}
