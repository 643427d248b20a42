import CasebookLog
import Foundation
import Testing

// RFC 6962 / RFC 9162 Merkle tree: the library's hashing, proofs and verification against the
// published-style vectors in Fixtures/rfc6962.json, negative cases, and a seeded randomized
// cross-check against a reference implementation written straight from the RFC's definitions.

/// The fixture file, as stored.
private struct Vectors: Decodable {
    struct Inclusion: Decodable {
        var leafIndex: UInt64
        var treeSize: UInt64
        var proof: [String]
        enum CodingKeys: String, CodingKey {
            case leafIndex = "leaf_index"
            case treeSize = "tree_size"
            case proof
        }
    }
    struct Consistency: Decodable {
        var size1: UInt64
        var size2: UInt64
        var proof: [String]
    }
    var leafInputsHex: [String]
    var roots: [String]
    var inclusion: [Inclusion]
    var consistency: [Consistency]
    enum CodingKeys: String, CodingKey {
        case leafInputsHex = "leaf_inputs_hex"
        case roots, inclusion, consistency
    }

    static func load() throws -> Vectors {
        let url = try #require(Bundle.module.url(forResource: "rfc6962", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
    }
}

private func hash(_ hex: String) throws -> MerkleHash {
    try #require(MerkleHash(hex: hex), "not a 32-byte hex hash: \(hex)")
}

private func hashes(_ hex: [String]) throws -> [MerkleHash] {
    try hex.map(hash)
}

/// The hash of the perfect subtree of `2^level` leaves starting at `start`, computed naively from the
/// leaf list (the helper the library's proof generators are fed with).
private func naivePerfect(_ leaves: [MerkleHash], _ start: UInt64, _ level: Int) -> MerkleHash {
    precondition(start % (UInt64(1) << level) == 0, "unaligned perfect subtree")
    precondition(start + (UInt64(1) << level) <= UInt64(leaves.count), "perfect subtree beyond the leaves")
    if level == 0 { return leaves[Int(start)] }
    let half = UInt64(1) << (level - 1)
    return Merkle.nodeHash(naivePerfect(leaves, start, level - 1), naivePerfect(leaves, start + half, level - 1))
}

/// Every perfect, aligned subtree hash of a leaf list, precomputed level by level.
private struct PerfectTable {
    var levels: [[MerkleHash]]

    init(_ leaves: [MerkleHash]) {
        levels = [leaves]
        while let last = levels.last, last.count >= 2 {
            levels.append(stride(from: 0, to: last.count - 1, by: 2).map { Merkle.nodeHash(last[$0], last[$0 + 1]) })
        }
    }

    func perfect(_ start: UInt64, _ level: Int) -> MerkleHash {
        precondition(start % (UInt64(1) << level) == 0, "unaligned perfect subtree")
        return levels[level][Int(start >> level)]
    }
}

// MARK: - Reference implementation, straight from RFC 6962 §2.1 (k = largest power of two < n).

private func largestPowerOfTwoBelow(_ n: Int) -> Int {
    var k = 1
    while k * 2 < n { k *= 2 }
    return k
}

/// MTH(D[n]).
private func referenceRoot(_ d: ArraySlice<MerkleHash>) -> MerkleHash {
    if d.isEmpty { return Merkle.emptyRoot }
    if d.count == 1 { return d.first! }
    let k = largestPowerOfTwoBelow(d.count)
    return Merkle.nodeHash(referenceRoot(d.prefix(k)), referenceRoot(d.dropFirst(k)))
}

/// PATH(m, D[n]).
private func referencePath(_ m: Int, _ d: ArraySlice<MerkleHash>) -> [MerkleHash] {
    if d.count <= 1 { return [] }
    let k = largestPowerOfTwoBelow(d.count)
    if m < k { return referencePath(m, d.prefix(k)) + [referenceRoot(d.dropFirst(k))] }
    return referencePath(m - k, d.dropFirst(k)) + [referenceRoot(d.prefix(k))]
}

/// The shape of PATH(m, D[n]): for each proof element, bottom-up, whether it is a left sibling.
private func pathShape(_ m: Int, _ n: Int) -> [Bool] {
    if n <= 1 { return [] }
    let k = largestPowerOfTwoBelow(n)
    if m < k { return pathShape(m, k) + [false] }
    return pathShape(m - k, n - k) + [true]
}

/// PROOF(m, D[n]) via SUBPROOF(m, D[n], true).
private func referenceConsistency(_ m: Int, _ d: ArraySlice<MerkleHash>) -> [MerkleHash] {
    func sub(_ m: Int, _ d: ArraySlice<MerkleHash>, _ b: Bool) -> [MerkleHash] {
        if m == d.count { return b ? [] : [referenceRoot(d)] }
        let k = largestPowerOfTwoBelow(d.count)
        if m <= k { return sub(m, d.prefix(k), b) + [referenceRoot(d.dropFirst(k))] }
        return sub(m - k, d.dropFirst(k), false) + [referenceRoot(d.prefix(k))]
    }
    if m == 0 || m == d.count { return [] }
    return sub(m, d, true)
}

/// A small deterministic generator (SplitMix64), so the randomized checks are reproducible.
private struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The same hash with one bit flipped.
private func flipped(_ h: MerkleHash, bit: Int = 0) -> MerkleHash {
    var b = h.bytes
    b[bit / 8 % 32] ^= UInt8(1) << (bit % 8)
    return MerkleHash(bytes: b)!
}

@Suite struct MerkleVectorTests {
    // MARK: Fixture vectors

    @Test func fixtureIsComplete() throws {
        let v = try Vectors.load()
        #expect(v.leafInputsHex.count == 8)
        #expect(v.roots.count == 9)
        #expect(v.inclusion.count == 36)  // every (index, size) with size 1…8
        #expect(v.consistency.count == 36)  // every (m, n) with 1 ≤ m ≤ n ≤ 8
    }

    @Test func leafHashesAndRootsMatchVectors() throws {
        let v = try Vectors.load()
        let inputs = try v.leafInputsHex.map { try #require(Hex.decode($0)) }
        let leaves = inputs.map { Merkle.leafHash($0) }
        // The leaf hash is SHA-256(0x00 || input): the root of the one-leaf tree.
        for (i, input) in inputs.enumerated() {
            // The buffer-pointer form hashes the same bytes.
            #expect(input.withUnsafeBytes { Merkle.leafHash($0) } == leaves[i])
        }
        #expect(leaves[0].hex == v.roots[1])
        #expect(Merkle.emptyRoot.hex == v.roots[0])
        #expect(Merkle.emptyRoot.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

        var frontier = MerkleFrontier()
        #expect(frontier.root.hex == v.roots[0] && frontier.size == 0)
        for n in 0...8 {
            let expected = try hash(v.roots[n])
            let viaSubtrees = Merkle.subtreeHash(start: 0, size: UInt64(n)) { start, level in naivePerfect(leaves, start, level) }
            #expect(viaSubtrees == expected, "subtreeHash root of \(n) leaves")
            #expect(referenceRoot(leaves.prefix(n)) == expected, "reference root of \(n) leaves")
            if n > 0 { frontier.append(leaves[n - 1]) }
            #expect(frontier.size == UInt64(n))
            #expect(frontier.root == expected, "frontier root of \(n) leaves")
            // A frontier rebuilt from the perfect subtrees of n leaves is the same frontier.
            let rebuilt = MerkleFrontier(size: UInt64(n)) { start, level in naivePerfect(leaves, start, level) }
            #expect(rebuilt == frontier, "rebuilt frontier of \(n) leaves")
            #expect(rebuilt.root == expected)
        }
    }

    @Test func frontierReportsEveryCompletedPerfectSubtree() throws {
        let v = try Vectors.load()
        let leaves = try v.leafInputsHex.map { Merkle.leafHash(try #require(Hex.decode($0))) }
        var frontier = MerkleFrontier()
        var completed: [String: MerkleHash] = [:]  // "start/level" → hash
        for (i, leaf) in leaves.enumerated() {
            frontier.append(leaf) { level, h in
                let start = UInt64(i) + 1 - (UInt64(1) << level)
                completed["\(start)/\(level)"] = h
            }
        }
        // 8 leaves complete 8 + 4 + 2 + 1 perfect subtrees, each equal to its naive hash.
        #expect(completed.count == 15)
        for level in 0...3 {
            for start in stride(from: 0, to: 8, by: 1 << level) {
                #expect(completed["\(start)/\(level)"] == naivePerfect(leaves, UInt64(start), level), "node \(start)/\(level)")
            }
        }
        #expect(completed["0/3"]?.hex == v.roots[8])
    }

    @Test func inclusionVectorsMatchAndVerify() throws {
        let v = try Vectors.load()
        let leaves = try v.leafInputsHex.map { Merkle.leafHash(try #require(Hex.decode($0))) }
        for vector in v.inclusion {
            let expected = try hashes(vector.proof)
            let proof = Merkle.inclusionProof(index: vector.leafIndex, size: vector.treeSize) { naivePerfect(leaves, $0, $1) }
            #expect(proof == expected, "inclusion proof for leaf \(vector.leafIndex) in tree \(vector.treeSize)")
            #expect(referencePath(Int(vector.leafIndex), leaves.prefix(Int(vector.treeSize))) == expected)
            let root = try hash(v.roots[Int(vector.treeSize)])
            #expect(Merkle.verifyInclusion(
                leaf: leaves[Int(vector.leafIndex)], index: vector.leafIndex, size: vector.treeSize, proof: expected, root: root),
                "verify leaf \(vector.leafIndex) in tree \(vector.treeSize)")
        }
    }

    @Test func consistencyVectorsMatchAndVerify() throws {
        let v = try Vectors.load()
        let leaves = try v.leafInputsHex.map { Merkle.leafHash(try #require(Hex.decode($0))) }
        for vector in v.consistency {
            let expected = try hashes(vector.proof)
            let proof = Merkle.consistencyProof(oldSize: vector.size1, newSize: vector.size2) { naivePerfect(leaves, $0, $1) }
            #expect(proof == expected, "consistency proof \(vector.size1) → \(vector.size2)")
            #expect(referenceConsistency(Int(vector.size1), leaves.prefix(Int(vector.size2))) == expected)
            #expect(Merkle.verifyConsistency(
                oldSize: vector.size1, newSize: vector.size2,
                oldRoot: try hash(v.roots[Int(vector.size1)]), newRoot: try hash(v.roots[Int(vector.size2)]), proof: expected),
                "verify consistency \(vector.size1) → \(vector.size2)")
        }
        // The empty tree is a prefix of every tree, with an empty proof.
        for n in 0...8 {
            #expect(Merkle.consistencyProof(oldSize: 0, newSize: UInt64(n)) { naivePerfect(leaves, $0, $1) }.isEmpty)
            #expect(Merkle.verifyConsistency(oldSize: 0, newSize: UInt64(n), oldRoot: Merkle.emptyRoot,
                                             newRoot: try hash(v.roots[n]), proof: []))
        }
    }

    // MARK: Negative cases on the vectors

    @Test func tamperedInclusionProofsFail() throws {
        let v = try Vectors.load()
        let leaves = try v.leafInputsHex.map { Merkle.leafHash(try #require(Hex.decode($0))) }
        let roots = try hashes(v.roots)
        for vector in v.inclusion {
            let index = vector.leafIndex, size = vector.treeSize
            let proof = try hashes(vector.proof)
            let leaf = leaves[Int(index)], root = roots[Int(size)]
            let what = "leaf \(index) in tree \(size)"
            func verify(leaf: MerkleHash = leaf, index: UInt64 = index, size: UInt64 = size, proof: [MerkleHash] = proof,
                        root: MerkleHash = root) -> Bool {
                Merkle.verifyInclusion(leaf: leaf, index: index, size: size, proof: proof, root: root)
            }
            #expect(verify(), "\(what): untouched")

            // Any flipped bit in any proof hash.
            for i in proof.indices {
                for bit in [0, 77, 255] {
                    var bad = proof
                    bad[i] = flipped(bad[i], bit: bit)
                    #expect(!verify(proof: bad), "\(what): proof[\(i)] bit \(bit) flipped")
                }
            }
            // The wrong leaf, the wrong root.
            #expect(!verify(leaf: flipped(leaf)), "\(what): tampered leaf")
            #expect(!verify(root: flipped(root)), "\(what): tampered root")
            for other in 0..<Int(size) where other != Int(index) {
                #expect(!verify(leaf: leaves[other]), "\(what): leaf \(other) instead")
            }
            for n in 0...8 where n != Int(size) {
                #expect(!verify(root: roots[n]), "\(what): root of \(n) leaves instead")
            }
            // Every wrong index.
            for other in 0..<UInt64(10) where other != index {
                #expect(!verify(index: other), "\(what): index \(other) instead")
            }
            // A wrong size, claimed with the root of that size: never verifies.
            for n in UInt64(0)...8 where n != size {
                #expect(!verify(size: n, root: roots[Int(n)]), "\(what): size \(n) with its root")
            }
            // A wrong size with the right root: RFC 9162 verification binds the size only through the
            // shape of the audit path, so it fails exactly when the shape differs.
            for n in index + 1...12 where n != size {
                let sameShape = pathShape(Int(index), Int(n)) == pathShape(Int(index), Int(size))
                #expect(verify(size: n) == sameShape, "\(what): size \(n), same shape: \(sameShape)")
            }
            // An extra element (at either end, or a duplicate), a missing element.
            #expect(!verify(proof: proof + [root]), "\(what): extra element at the end")
            #expect(!verify(proof: proof + [leaf]), "\(what): extra leaf at the end")
            #expect(!verify(proof: [leaf] + proof), "\(what): extra element at the start")
            if let last = proof.last {
                #expect(!verify(proof: proof + [last]), "\(what): last element duplicated")
                #expect(!verify(proof: Array(proof.dropLast())), "\(what): last element missing")
                #expect(!verify(proof: Array(proof.dropFirst())), "\(what): first element missing")
            }
            if proof.count >= 2 {
                #expect(!verify(proof: proof.reversed()), "\(what): elements reversed")
            }
        }
        // A one-leaf tree has an empty path; the leaf must be the root.
        #expect(Merkle.verifyInclusion(leaf: leaves[0], index: 0, size: 1, proof: [], root: roots[1]))
        #expect(!Merkle.verifyInclusion(leaf: leaves[1], index: 0, size: 1, proof: [], root: roots[1]))
        // Nothing is in the empty tree.
        #expect(!Merkle.verifyInclusion(leaf: roots[0], index: 0, size: 0, proof: [], root: roots[0]))
        // A concrete wrong size: leaf 2 proven in the tree of 3 does not verify as size 4.
        let p23 = try hashes(v.inclusion.first { $0.leafIndex == 2 && $0.treeSize == 3 }!.proof)
        #expect(!Merkle.verifyInclusion(leaf: leaves[2], index: 2, size: 4, proof: p23, root: roots[3]))
        #expect(!Merkle.verifyInclusion(leaf: leaves[2], index: 2, size: 4, proof: p23, root: roots[4]))
    }

    @Test func tamperedConsistencyProofsFail() throws {
        let v = try Vectors.load()
        let roots = try hashes(v.roots)
        for vector in v.consistency {
            let m = vector.size1, n = vector.size2
            let proof = try hashes(vector.proof)
            let what = "consistency \(m) → \(n)"
            func verify(m: UInt64 = m, n: UInt64 = n, old: MerkleHash = roots[Int(m)], new: MerkleHash = roots[Int(n)],
                        proof: [MerkleHash] = proof) -> Bool {
                Merkle.verifyConsistency(oldSize: m, newSize: n, oldRoot: old, newRoot: new, proof: proof)
            }
            #expect(verify(), "\(what): untouched")

            for i in proof.indices {
                for bit in [0, 100, 255] {
                    var bad = proof
                    bad[i] = flipped(bad[i], bit: bit)
                    #expect(!verify(proof: bad), "\(what): proof[\(i)] bit \(bit) flipped")
                }
            }
            #expect(!verify(old: flipped(roots[Int(m)])), "\(what): tampered old root")
            #expect(!verify(new: flipped(roots[Int(n)])), "\(what): tampered new root")
            if m != n {
                #expect(!verify(old: roots[Int(n)], new: roots[Int(m)]), "\(what): roots swapped")
                #expect(!verify(m: n, n: m, old: roots[Int(n)], new: roots[Int(m)]), "\(what): sizes and roots swapped")
            }
            for other in 0...8 where other != Int(m) && other != Int(n) {
                #expect(!verify(old: roots[other]), "\(what): old root of \(other) leaves")
                #expect(!verify(new: roots[other]), "\(what): new root of \(other) leaves")
            }
            // Wrong sizes, each claimed with the root of that size.
            for other in UInt64(1)...8 where other != m {
                #expect(!verify(m: other, old: roots[Int(other)]), "\(what): old size \(other)")
            }
            for other in UInt64(1)...8 where other != n {
                #expect(!verify(n: other, new: roots[Int(other)]), "\(what): new size \(other)")
            }
            // Extra and missing elements.
            #expect(!verify(proof: proof + [roots[Int(n)]]), "\(what): extra element at the end")
            #expect(!verify(proof: [roots[Int(m)]] + proof), "\(what): old root prepended")
            if let last = proof.last {
                #expect(!verify(proof: proof + [last]), "\(what): last element duplicated")
                #expect(!verify(proof: Array(proof.dropLast())), "\(what): last element missing")
                #expect(!verify(proof: Array(proof.dropFirst())), "\(what): first element missing")
            }
            if proof.count >= 2 {
                #expect(!verify(proof: proof.reversed()), "\(what): elements reversed")
            }
        }
        // From the empty tree: only the empty proof.
        #expect(!Merkle.verifyConsistency(oldSize: 0, newSize: 3, oldRoot: roots[0], newRoot: roots[3], proof: [roots[1]]))
        // A tree is not a prefix of a smaller tree.
        #expect(!Merkle.verifyConsistency(oldSize: 5, newSize: 3, oldRoot: roots[5], newRoot: roots[3], proof: []))
    }

    // MARK: Randomized cross-check

    @Test func seededRandomTreesUpTo300Leaves() throws {
        var rng = SeededGenerator(seed: 0xCA5E_B00C_6962)
        let maxSize = 300
        // Random leaf inputs of random length, made distinct by a 2-byte index prefix.
        let leaves: [MerkleHash] = (0..<maxSize).map { i in
            let length = Int.random(in: 0...48, using: &rng)
            let input = [UInt8(i >> 8), UInt8(i & 0xff)] + (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            return Merkle.leafHash(input)
        }
        #expect(Set(leaves).count == maxSize)
        let table = PerfectTable(leaves)
        let perfect: (UInt64, Int) -> MerkleHash = { table.perfect($0, $1) }
        // The table agrees with the naive helper.
        for (start, level) in [(0, 0), (0, 8), (128, 7), (256, 5), (296, 2), (299, 0)] {
            #expect(table.perfect(UInt64(start), level) == naivePerfect(leaves, UInt64(start), level))
        }

        // Roots: incremental frontier, subtree hashes, and the RFC definition agree for every size.
        var roots: [MerkleHash] = [Merkle.emptyRoot]
        var frontier = MerkleFrontier()
        for n in 1...maxSize {
            frontier.append(leaves[n - 1])
            roots.append(frontier.root)
        }
        for n in 0...maxSize {
            #expect(Merkle.subtreeHash(start: 0, size: UInt64(n), perfect: perfect) == roots[n], "root of \(n)")
            if n % 7 == 0 || n < 20 || n == maxSize {
                #expect(referenceRoot(leaves.prefix(n)) == roots[n], "reference root of \(n)")
            }
            if n % 37 == 0 || n == maxSize {
                var incremental = MerkleFrontier()
                for l in leaves.prefix(n) { incremental.append(l) }
                #expect(MerkleFrontier(size: UInt64(n), perfect: perfect) == incremental, "rebuilt frontier of \(n)")
            }
        }
        #expect(Set(roots).count == maxSize + 1)

        // Inclusion: every leaf of every tree up to 40 leaves, and a sample of leaves in larger trees.
        var inclusionChecked = 0
        for n in 1...maxSize {
            var indices: Set<Int> = n <= 40 ? Set(0..<n) : [0, n - 1, n / 2]
            if n > 40 { for _ in 0..<10 { indices.insert(Int.random(in: 0..<n, using: &rng)) } }
            for m in indices.sorted() {
                let proof = Merkle.inclusionProof(index: UInt64(m), size: UInt64(n), perfect: perfect)
                let ok = Merkle.verifyInclusion(leaf: leaves[m], index: UInt64(m), size: UInt64(n), proof: proof, root: roots[n])
                #expect(ok, "inclusion of \(m) in \(n)")
                #expect(proof.count == pathShape(m, n).count)
                if n <= 64 || m % 5 == 0 {
                    #expect(proof == referencePath(m, leaves.prefix(n)), "reference path of \(m) in \(n)")
                }
                if !proof.isEmpty {
                    var bad = proof
                    let i = Int.random(in: 0..<bad.count, using: &rng)
                    bad[i] = flipped(bad[i], bit: Int.random(in: 0..<256, using: &rng))
                    #expect(!Merkle.verifyInclusion(leaf: leaves[m], index: UInt64(m), size: UInt64(n), proof: bad, root: roots[n]))
                    let other = (m + 1) % n
                    #expect(!Merkle.verifyInclusion(leaf: leaves[m], index: UInt64(other), size: UInt64(n), proof: proof, root: roots[n]))
                    #expect(!Merkle.verifyInclusion(leaf: leaves[other], index: UInt64(m), size: UInt64(n), proof: proof, root: roots[n]))
                    #expect(!Merkle.verifyInclusion(leaf: leaves[m], index: UInt64(m), size: UInt64(n), proof: proof, root: roots[n - 1]))
                }
                inclusionChecked += 1
            }
        }
        #expect(inclusionChecked > 3000)

        // Consistency: every pair up to 24 leaves, and 2,500 random pairs up to 300.
        var pairs: [(Int, Int)] = []
        for n in 0...24 { for m in 0...n { pairs.append((m, n)) } }
        for _ in 0..<2500 {
            let n = Int.random(in: 1...maxSize, using: &rng)
            pairs.append((Int.random(in: 0...n, using: &rng), n))
        }
        for (k, (m, n)) in pairs.enumerated() {
            let proof = Merkle.consistencyProof(oldSize: UInt64(m), newSize: UInt64(n), perfect: perfect)
            #expect(Merkle.verifyConsistency(oldSize: UInt64(m), newSize: UInt64(n), oldRoot: roots[m], newRoot: roots[n], proof: proof),
                    "consistency \(m) → \(n)")
            if n <= 64 || k % 10 == 0 {
                #expect(proof == referenceConsistency(m, leaves.prefix(n)), "reference consistency \(m) → \(n)")
            }
            if 0 < m && m < n {
                var bad = proof
                let i = Int.random(in: 0..<bad.count, using: &rng)
                bad[i] = flipped(bad[i], bit: Int.random(in: 0..<256, using: &rng))
                #expect(!Merkle.verifyConsistency(oldSize: UInt64(m), newSize: UInt64(n), oldRoot: roots[m], newRoot: roots[n], proof: bad))
                #expect(!Merkle.verifyConsistency(oldSize: UInt64(m), newSize: UInt64(n), oldRoot: roots[n], newRoot: roots[m], proof: proof))
                #expect(!Merkle.verifyConsistency(oldSize: UInt64(m), newSize: UInt64(n), oldRoot: roots[m], newRoot: roots[n - 1], proof: proof))
                #expect(!Merkle.verifyConsistency(oldSize: UInt64(m), newSize: UInt64(n), oldRoot: roots[m], newRoot: roots[n], proof: proof + [roots[m]]))
                #expect(!Merkle.verifyConsistency(oldSize: UInt64(m), newSize: UInt64(n), oldRoot: roots[m], newRoot: roots[n], proof: Array(proof.dropLast())))
            }
        }
    }

    @Test func hashTextForms() throws {
        let h = Merkle.leafHash([UInt8]())
        #expect(h.hex == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
        #expect(MerkleHash(hex: h.hex) == h)
        #expect(MerkleHash(hex: h.hex.uppercased()) == h)
        #expect(MerkleHash(hex: String(h.hex.dropLast(2))) == nil)
        #expect(MerkleHash(hex: h.hex + "00") == nil)
        #expect(MerkleHash(hex: "zz" + h.hex.dropFirst(2)) == nil)
        #expect(MerkleHash(bytes: Array(repeating: 0, count: 31)) == nil)
        #expect(h.description == h.hex)
    }
}
