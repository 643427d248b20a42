import Crypto

/// A SHA-256 digest: a Merkle leaf, node or root. Held inline (no heap allocation).
public struct MerkleHash: Sendable, Hashable, CustomStringConvertible {
    private var storage: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    /// Copies 32 bytes; nil for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self = bytes.withUnsafeBytes { MerkleHash($0) }
    }

    /// Copies 32 bytes from `buffer`, which must hold exactly 32.
    init(_ buffer: UnsafeRawBufferPointer) {
        precondition(buffer.count == 32)
        withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: buffer) }
    }

    /// Parses 64 hex digits.
    public init?(hex: String) {
        guard let b = Hex.decode(hex) else { return nil }
        self.init(bytes: b)
    }

    init<D: Digest>(_ digest: D) {
        self = digest.withUnsafeBytes { MerkleHash($0) }
    }

    /// The 32 digest bytes.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// Calls `body` with the 32 digest bytes.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: storage, body)
    }

    public static func == (a: MerkleHash, b: MerkleHash) -> Bool {
        a.storage.0 == b.storage.0 && a.storage.1 == b.storage.1 && a.storage.2 == b.storage.2 && a.storage.3 == b.storage.3
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.0)
        hasher.combine(storage.1)
        hasher.combine(storage.2)
        hasher.combine(storage.3)
    }

    /// Lower-case hex.
    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }
}

/// RFC 6962 / RFC 9162 Merkle tree hashing (SHA-256, leaf prefix `0x00`, node prefix `0x01`), audit
/// paths and consistency proofs, and their verification.
///
/// Proof generation works over any source of subtree hashes (the store's persisted nodes, or leaves in
/// memory); verification needs only the proof, the hashes and the sizes, so it runs anywhere.
public enum Merkle {
    /// The hash of the empty tree: SHA-256 of no bytes.
    public static let emptyRoot = MerkleHash(SHA256.hash(data: [UInt8]()))

    /// `SHA-256(0x00 || data)`.
    public static func leafHash(_ data: UnsafeRawBufferPointer) -> MerkleHash {
        var h = SHA256()
        withUnsafeBytes(of: UInt8(0)) { h.update(bufferPointer: $0) }
        h.update(bufferPointer: data)
        return MerkleHash(h.finalize())
    }

    /// `SHA-256(0x00 || data)`.
    public static func leafHash(_ data: [UInt8]) -> MerkleHash {
        data.withUnsafeBytes { leafHash($0) }
    }

    /// `SHA-256(0x01 || left || right)`.
    public static func nodeHash(_ left: MerkleHash, _ right: MerkleHash) -> MerkleHash {
        var h = SHA256()
        withUnsafeBytes(of: UInt8(1)) { h.update(bufferPointer: $0) }
        left.withUnsafeBytes { h.update(bufferPointer: $0) }
        right.withUnsafeBytes { h.update(bufferPointer: $0) }
        return MerkleHash(h.finalize())
    }

    /// The largest power of two strictly less than `n` (n ≥ 2).
    static func split(_ n: UInt64) -> UInt64 {
        precondition(n >= 2)
        return UInt64(1) << (63 - (n - 1).leadingZeroBitCount)
    }

    /// The hash of the subtree of `size` leaves starting at `start`, built from perfect, aligned subtrees
    /// supplied by `perfect(start, level)` (a subtree of `2^level` leaves).
    public static func subtreeHash(
        start: UInt64, size: UInt64, perfect: (UInt64, Int) throws -> MerkleHash
    ) rethrows -> MerkleHash {
        if size == 0 { return emptyRoot }
        if size & (size - 1) == 0 { return try perfect(start, size.trailingZeroBitCount) }
        let k = split(size)
        return nodeHash(try perfect(start, k.trailingZeroBitCount), try subtreeHash(start: start + k, size: size - k, perfect: perfect))
    }

    /// The audit path (RFC 6962 §2.1.1) for leaf `index` in the tree of the first `size` leaves,
    /// bottom-up.
    public static func inclusionProof(
        index: UInt64, size: UInt64, perfect: (UInt64, Int) throws -> MerkleHash
    ) rethrows -> [MerkleHash] {
        precondition(index < size)
        var path: [MerkleHash] = []
        func walk(_ m: UInt64, _ start: UInt64, _ n: UInt64) throws {
            if n == 1 { return }
            let k = split(n)
            if m < k {
                try walk(m, start, k)
                path.append(try subtreeHash(start: start + k, size: n - k, perfect: perfect))
            } else {
                try walk(m - k, start + k, n - k)
                path.append(try subtreeHash(start: start, size: k, perfect: perfect))
            }
        }
        try walk(index, 0, size)
        return path
    }

    /// The consistency proof (RFC 6962 §2.1.2) between the trees of the first `oldSize` and `newSize`
    /// leaves, bottom-up.
    public static func consistencyProof(
        oldSize: UInt64, newSize: UInt64, perfect: (UInt64, Int) throws -> MerkleHash
    ) rethrows -> [MerkleHash] {
        precondition(oldSize <= newSize)
        if oldSize == 0 || oldSize == newSize { return [] }
        var proof: [MerkleHash] = []
        func sub(_ m: UInt64, _ start: UInt64, _ n: UInt64, _ complete: Bool) throws {
            if m == n {
                if !complete { proof.append(try subtreeHash(start: start, size: n, perfect: perfect)) }
                return
            }
            let k = split(n)
            if m <= k {
                try sub(m, start, k, complete)
                proof.append(try subtreeHash(start: start + k, size: n - k, perfect: perfect))
            } else {
                try sub(m - k, start + k, n - k, false)
                proof.append(try subtreeHash(start: start, size: k, perfect: perfect))
            }
        }
        try sub(oldSize, 0, newSize, true)
        return proof
    }

    /// Checks an audit path (RFC 9162 §2.1.3.2): true if `leaf` at `index` is in the tree of `size`
    /// leaves whose root is `root`.
    public static func verifyInclusion(
        leaf: MerkleHash, index: UInt64, size: UInt64, proof: [MerkleHash], root: MerkleHash
    ) -> Bool {
        guard index < size else { return false }
        var fn = index
        var sn = size - 1
        var r = leaf
        for p in proof {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// Checks a consistency proof (RFC 9162 §2.1.4.2): true if the tree of `oldSize` leaves with root
    /// `oldRoot` is a prefix of the tree of `newSize` leaves with root `newRoot`.
    public static func verifyConsistency(
        oldSize: UInt64, newSize: UInt64, oldRoot: MerkleHash, newRoot: MerkleHash, proof: [MerkleHash]
    ) -> Bool {
        if oldSize > newSize { return false }
        if oldSize == newSize { return proof.isEmpty && oldRoot == newRoot }
        if oldSize == 0 { return proof.isEmpty }
        var path = proof
        if oldSize & (oldSize - 1) == 0 { path.insert(oldRoot, at: 0) }
        guard !path.isEmpty else { return false }
        var fn = oldSize - 1
        var sn = newSize - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0]
        var sr = path[0]
        for c in path.dropFirst() {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && fr == oldRoot && sr == newRoot
    }
}

/// The right edge of a Merkle tree (one perfect-subtree hash per set bit of the size), enough to append
/// leaves and compute the root without reading older nodes.
public struct MerkleFrontier: Sendable, Equatable {
    /// The number of leaves.
    public private(set) var size: UInt64 = 0
    /// `levels[l]` is the hash of the perfect subtree of `2^l` leaves on the right edge, if bit `l` of
    /// `size` is set.
    private(set) var levels: [MerkleHash?] = []

    /// An empty tree.
    public init() {}

    /// Rebuilds the frontier of a tree of `size` leaves from its perfect subtrees.
    public init(size: UInt64, perfect: (UInt64, Int) throws -> MerkleHash) rethrows {
        self.size = size
        levels = Array(repeating: nil, count: 64 - size.leadingZeroBitCount)
        var start: UInt64 = 0
        for level in stride(from: levels.count - 1, through: 0, by: -1) where size & (UInt64(1) << level) != 0 {
            levels[level] = try perfect(start, level)
            start += UInt64(1) << level
        }
    }

    /// Appends a leaf hash.
    public mutating func append(_ leaf: MerkleHash) {
        append(leaf) { _, _ in }
    }

    /// Appends a leaf hash; calls `completed(level, hash)` for each perfect subtree the leaf completes,
    /// starting with the leaf itself at level 0.
    public mutating func append(_ leaf: MerkleHash, completed: (Int, MerkleHash) throws -> Void) rethrows {
        var hash = leaf
        var level = 0
        try completed(0, hash)
        while size & (UInt64(1) << level) != 0 {
            hash = Merkle.nodeHash(levels[level]!, hash)
            levels[level] = nil
            level += 1
            try completed(level, hash)
        }
        if level == levels.count { levels.append(nil) }
        levels[level] = hash
        size += 1
    }

    /// The root of the tree.
    public var root: MerkleHash {
        var acc: MerkleHash?
        for case let h? in levels {
            acc = acc.map { Merkle.nodeHash(h, $0) } ?? h
        }
        return acc ?? Merkle.emptyRoot
    }
}
