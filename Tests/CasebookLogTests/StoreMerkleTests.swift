import CasebookLog
import Crypto  // reached through CasebookLog's dependency; used only to make and check keys directly
import Foundation
import Synchronization
import Testing

// The store's persisted Merkle tree against one recomputed from the events read back, its inclusion
// and consistency proofs, and signed checkpoints.

/// Appends `count` events in a mix of single and multi-event appends over a few streams, some with
/// command ids; returns the number appended.
private func fill(_ store: EventStore, count: Int, tag: String = "e") async throws {
    var written = 0
    var k = 0
    while written < count {
        let n = min(count - written, [1, 3, 1, 7, 2, 1, 16][k % 7])
        let events = (0..<n).map { i in event("test.\(tag)", "{\"n\":\(written + i),\"tag\":\"\(tag)\"}") }
        try await store.append(to: "stream-\(k % 5)", events: events, commandId: k % 3 == 0 ? "cmd-\(tag)-\(k)" : nil)
        written += n
        k += 1
    }
}

/// The leaf hashes of every event, recomputed from the envelopes of the events read back.
private func leavesReadBack(_ store: EventStore) throws -> [MerkleHash] {
    var leaves: [MerkleHash] = []
    try store.scan(from: 0, batchSize: 97) { e in
        #expect(e.position == UInt64(leaves.count))
        leaves.append(Merkle.leafHash(Envelope.encode(e)))
        return true
    }
    return leaves
}

/// Perfect subtree hashes over leaves in memory.
private struct MemoryTree {
    var levels: [[MerkleHash]]

    init(_ leaves: [MerkleHash]) {
        levels = [leaves]
        while let last = levels.last, last.count >= 2 {
            levels.append(stride(from: 0, to: last.count - 1, by: 2).map { Merkle.nodeHash(last[$0], last[$0 + 1]) })
        }
    }

    func perfect(_ start: UInt64, _ level: Int) -> MerkleHash { levels[level][Int(start >> level)] }

    func root(_ size: UInt64) -> MerkleHash { Merkle.subtreeHash(start: 0, size: size, perfect: perfect) }
}

/// The root by the RFC 6962 definition, independent of the library's tree code.
private func definitionRoot(_ d: ArraySlice<MerkleHash>) -> MerkleHash {
    if d.isEmpty { return Merkle.emptyRoot }
    if d.count == 1 { return d.first! }
    var k = 1
    while k * 2 < d.count { k *= 2 }
    return Merkle.nodeHash(definitionRoot(d.prefix(k)), definitionRoot(d.dropFirst(k)))
}

private func isOutOfRange(_ error: any Error) -> Bool {
    if case .outOfRange? = error as? EventStoreError { return true }
    return false
}

/// A signing key in a fresh temporary key file.
private func makeSigner(_ dir: TempDir) throws -> CheckpointSigner {
    try CheckpointSigner(keyFile: dir.path + "/keys/checkpoint.key", create: true)
}

private let signingTime = Timestamp(iso8601: "2026-03-01T12:00:00Z")!

@Suite struct StoreMerkleTests {
    static let sizes: [UInt64] = [0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 100, 127, 128, 129, 255, 256, 257, 299, 300]

    @Test func persistedRootsMatchRootsRecomputedFromEnvelopes() async throws {
        try await withStore { store, _ in
            try await fill(store, count: 300)
            #expect(store.count == 300)
            let leaves = try leavesReadBack(store)
            #expect(leaves.count == 300)
            let tree = MemoryTree(leaves)
            var frontier = MerkleFrontier()
            var frontierRoots = [frontier.root]
            for leaf in leaves {
                frontier.append(leaf)
                frontierRoots.append(frontier.root)
            }
            for n in Self.sizes {
                let stored = try store.root(treeSize: n)
                #expect(stored == definitionRoot(leaves.prefix(Int(n))), "root of \(n) events")
                #expect(stored == frontierRoots[Int(n)], "root of \(n) events")
                #expect(stored == tree.root(n))
            }
            #expect(try store.root() == frontierRoots[300])
            #expect(try store.root(treeSize: 0) == Merkle.emptyRoot)
            // Each stored leaf is the hash of the envelope as read back.
            for p in [UInt64(0), 1, 150, 299] {
                let proof = try store.inclusionProof(position: p)
                #expect(proof.leafHash == leaves[Int(p)].hex)
            }
        }
    }

    @Test func inclusionProofsVerifyForEveryPositionAtSeveralSizes() async throws {
        try await withStore { store, _ in
            try await fill(store, count: 300)
            let events = try store.read(from: 0, limit: 1000)
            #expect(events.map(\.position) == Array(0..<300))
            let envelopes = events.map(Envelope.encode)
            let tree = MemoryTree(envelopes.map { Merkle.leafHash($0) })
            for n in Self.sizes where n > 0 {
                let root = try store.root(treeSize: n)
                for p in 0..<n {
                    let proof = try store.inclusionProof(position: p, treeSize: n)
                    #expect(proof.position == p && proof.treeSize == n)
                    #expect(proof.root == root.hex)
                    #expect(proof.leafHash == Merkle.leafHash(envelopes[Int(p)]).hex)
                    #expect(proof.path == Merkle.inclusionProof(index: p, size: n, perfect: tree.perfect).map(\.hex))
                    #expect(proof.verify(), "position \(p) in \(n)")
                    #expect(proof.verify(envelope: envelopes[Int(p)]), "position \(p) in \(n) with its envelope")
                    // Another event's envelope is not the one proven.
                    #expect(!proof.verify(envelope: envelopes[Int((p + 1) % 300)]))
                }
            }
            // The default tree size is the whole log.
            let whole = try store.inclusionProof(position: 42)
            let wholeRoot = try store.root()
            #expect(whole.treeSize == 300 && whole.root == wholeRoot.hex && whole.verify(envelope: envelopes[42]))
            // A proof survives a JSON round trip.
            let decoded = try JSONDecoder().decode(InclusionProof.self, from: JSONEncoder().encode(whole))
            #expect(decoded == whole && decoded.verify(envelope: envelopes[42]))
        }
    }

    @Test func editedInclusionProofsFail() async throws {
        try await withStore { store, _ in
            try await fill(store, count: 300)
            let good = try store.inclusionProof(position: 0, treeSize: 256)
            let envelope = Envelope.encode(try #require(try store.event(at: 0)))
            #expect(good.verify(envelope: envelope))
            #expect(good.path.count == 8)
            var p = good
            p.position = 1
            #expect(!p.verify())
            p = good
            p.treeSize = 257  // another path shape
            #expect(!p.verify())
            p = good
            p.treeSize = 0
            #expect(!p.verify())
            p = good
            p.root = try store.root(treeSize: 257).hex
            #expect(!p.verify())
            p = good
            p.leafHash = Merkle.leafHash(envelope + [0]).hex
            #expect(!p.verify())
            p = good
            p.path[3] = p.path[4]
            #expect(!p.verify())
            p = good
            p.path.removeLast()
            #expect(!p.verify())
            p = good
            p.path.append(good.root)
            #expect(!p.verify())
            p = good
            p.path[0] = "not hex"
            #expect(!p.verify())
            p = good
            p.root = String(good.root.dropLast(2))
            #expect(!p.verify())
            p = good
            p.leafHash = ""
            #expect(!p.verify())
        }
    }

    @Test func consistencyProofsVerifyBetweenSizes() async throws {
        try await withStore { store, _ in
            try await fill(store, count: 300)
            let tree = MemoryTree(try leavesReadBack(store))
            for (i, a) in Self.sizes.enumerated() {
                for b in Self.sizes[i...] {
                    let proof = try store.consistencyProof(from: a, to: b)
                    #expect(proof.fromSize == a && proof.toSize == b)
                    #expect(proof.fromRoot == (try store.root(treeSize: a)).hex)
                    #expect(proof.toRoot == (try store.root(treeSize: b)).hex)
                    #expect(proof.path == Merkle.consistencyProof(oldSize: a, newSize: b, perfect: tree.perfect).map(\.hex))
                    #expect(proof.verify(), "consistency \(a) → \(b)")
                    if a > 0 && a < b {
                        var bad = proof
                        bad.fromRoot = tree.root(a - 1).hex
                        #expect(!bad.verify(), "consistency \(a) → \(b) with another old root")
                        bad = proof
                        bad.toRoot = tree.root(b - 1).hex
                        #expect(!bad.verify(), "consistency \(a) → \(b) with another new root")
                        bad = proof
                        (bad.fromRoot, bad.toRoot) = (bad.toRoot, bad.fromRoot)
                        #expect(!bad.verify(), "consistency \(a) → \(b) with roots swapped")
                        bad = proof
                        bad.path.removeLast()
                        #expect(!bad.verify(), "consistency \(a) → \(b) missing an element")
                    }
                }
            }
            // The default target is the whole log.
            let toEnd = try store.consistencyProof(from: 100)
            #expect(toEnd.toSize == 300 && toEnd.verify())
            let decoded = try JSONDecoder().decode(ConsistencyProof.self, from: JSONEncoder().encode(toEnd))
            #expect(decoded == toEnd && decoded.verify())
        }
    }

    @Test func sizesBeyondTheLogThrowOutOfRange() async throws {
        try await withStore { store, _ in
            // An empty log: only the empty tree exists.
            #expect(try store.root() == Merkle.emptyRoot)
            #expect(throws: EventStoreError.self) { try store.inclusionProof(position: 0) }
            #expect(throws: EventStoreError.self) { try store.root(treeSize: 1) }
            #expect(try store.consistencyProof(from: 0).verify())

            try await fill(store, count: 300)
            let attempts: [(String, () throws -> Void)] = [
                ("root(301)", { _ = try store.root(treeSize: 301) }),
                ("root(max)", { _ = try store.root(treeSize: .max) }),
                ("inclusion(300)", { _ = try store.inclusionProof(position: 300) }),
                ("inclusion(300, 300)", { _ = try store.inclusionProof(position: 300, treeSize: 300) }),
                ("inclusion(5, 5)", { _ = try store.inclusionProof(position: 5, treeSize: 5) }),
                ("inclusion(0, 0)", { _ = try store.inclusionProof(position: 0, treeSize: 0) }),
                ("inclusion(0, 301)", { _ = try store.inclusionProof(position: 0, treeSize: 301) }),
                ("consistency(301)", { _ = try store.consistencyProof(from: 301) }),
                ("consistency(0, 301)", { _ = try store.consistencyProof(from: 0, to: 301) }),
                ("consistency(200, 100)", { _ = try store.consistencyProof(from: 200, to: 100) }),
            ]
            for (what, attempt) in attempts {
                do {
                    try attempt()
                    Issue.record("\(what) did not throw")
                } catch {
                    #expect(isOutOfRange(error), "\(what) threw \(error)")
                }
            }
        }
    }

    // MARK: Checkpoints

    @Test func signingKeyFiles() throws {
        let dir = TempDir("keys")
        defer { dir.cleanup() }
        let path = dir.path + "/keys/checkpoint.key"
        #expect(throws: EventStoreError.self) { try CheckpointSigner(keyFile: path) }
        let created = try CheckpointSigner(keyFile: path, create: true)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let loaded = try CheckpointSigner(keyFile: path)
        let again = try CheckpointSigner(keyFile: path, create: true)  // existing file: loaded, not replaced
        #expect(loaded.keyId == created.keyId && again.keyId == created.keyId)
        #expect(loaded.publicKeyBase64 == created.publicKeyBase64)
        #expect(created.keyId.count == 16 && Hex.decode(created.keyId) != nil)
        #expect(Data(base64Encoded: created.publicKeyBase64)?.count == 32)
        let other = try CheckpointSigner(keyFile: dir.path + "/other.key", create: true)
        #expect(other.keyId != created.keyId)
        try "not a key\n".write(toFile: dir.path + "/bad.key", atomically: true, encoding: .utf8)
        #expect(throws: EventStoreError.self) { try CheckpointSigner(keyFile: dir.path + "/bad.key") }
    }

    @Test func signerFromAKeyInMemoryMatchesTheDocumentedFormats() async throws {
        let key = Curve25519.Signing.PrivateKey()
        let signer = CheckpointSigner(key: key)
        let publicKey = key.publicKey.rawRepresentation
        #expect(signer.publicKeyBase64 == publicKey.base64EncodedString())
        #expect(signer.keyId == Hex.encode(Array(SHA256.hash(data: publicKey)).prefix(8)))
        // The key file format: base64 of the 32-byte seed.
        let keys = TempDir("keys")
        defer { keys.cleanup() }
        try (key.rawRepresentation.base64EncodedString() + "\n").write(toFile: keys.path + ".key", atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: keys.path + ".key") }
        #expect(try CheckpointSigner(keyFile: keys.path + ".key").keyId == signer.keyId)

        try await withStore { store, _ in
            try await fill(store, count: 10)
            let cp = try store.checkpoint(signer: signer, time: signingTime)
            #expect(cp.verifySignature(trustedKeyIds: [signer.keyId]))
            // The signature is an Ed25519 signature by that key over the documented message.
            let signature = try #require(Data(base64Encoded: cp.signature))
            let message = Array("casebook-checkpoint/v1\n\(store.origin)\n10\n\(try store.root().hex)\n2026-03-01T12:00:00.000Z\n".utf8)
            #expect(key.publicKey.isValidSignature(signature, for: message))
            #expect(!Curve25519.Signing.PrivateKey().publicKey.isValidSignature(signature, for: message))
        }
    }

    @Test func checkpointIsSignedAndConsistentAfterMoreAppends() async throws {
        let keys = TempDir("keys")
        defer { keys.cleanup() }
        let signer = try makeSigner(keys)
        try await withStore { store, _ in
            let empty = try store.checkpoint(signer: signer, time: signingTime)
            #expect(empty.treeSize == 0 && empty.root == Merkle.emptyRoot.hex)

            try await fill(store, count: 120)
            let cp = try store.checkpoint(signer: signer, time: signingTime)
            #expect(cp.origin == "casebook:\(store.storeId)" && cp.origin == store.origin)
            #expect(cp.treeSize == 120)
            #expect(cp.root == (try store.root()).hex)
            #expect(cp.time == "2026-03-01T12:00:00.000Z")
            #expect(cp.keyId == signer.keyId && cp.publicKey == signer.publicKeyBase64)
            #expect(cp.signedMessage == Array("casebook-checkpoint/v1\n\(cp.origin)\n120\n\(cp.root)\n\(cp.time)\n".utf8))
            #expect(cp.verifySignature())
            #expect(cp.verifySignature(trustedKeyIds: [signer.keyId]))
            #expect(!cp.verifySignature(trustedKeyIds: []))
            #expect(!cp.verifySignature(trustedKeyIds: ["0000000000000000"]))
            #expect(try store.check(cp) == .consistent)

            // The JSON form round-trips and still verifies.
            let decoded = try Checkpoint.decode(Data(cp.json.utf8))
            #expect(decoded == cp && decoded.verifySignature())
            #expect(!cp.json.contains("\n"))

            try await fill(store, count: 77, tag: "later")
            #expect(store.count == 197)
            #expect(try store.check(cp) == .consistent)
            #expect(try store.check(cp, trustedKeyIds: [signer.keyId]) == .consistent)
            #expect(try store.check(empty) == .consistent)
            let later = try store.checkpoint(signer: signer, time: signingTime)
            #expect(later.treeSize == 197)
            let report = try store.verify(checkpoints: [empty, cp, later], trustedKeyIds: [signer.keyId])
            #expect(report.problems.isEmpty)
            #expect(report.events == 197)
            #expect(report.root.hex == later.root)
            #expect(report.checkpoints.map(\.1) == [.consistent, .consistent, .consistent])
            #expect(report.isValid)
            // The store proves the old checkpoint's tree is a prefix of today's.
            let proof = try store.consistencyProof(from: cp.treeSize)
            #expect(proof.fromRoot == cp.root && proof.toRoot == later.root && proof.verify())
        }
    }

    @Test func aCheckpointTakenBetweenCommitAndAcknowledgementCoversOnlyWhatWasAcknowledged() async throws {
        // The commit observer runs on the writer thread right after LMDB's commit and before the commit
        // is acknowledged (`count` published): exactly the window in which a reader already sees the new
        // events. A checkpoint signed there must stop at the events acknowledged before.
        let keys = TempDir("keys")
        defer { keys.cleanup() }
        let signer = try makeSigner(keys)
        let box = Mutex<EventStore?>(nil)
        let seen = Mutex<[(first: UInt64, treeSize: UInt64)]>([])
        try await withStore({ options in
            options.commitObserver = { first, _ in
                guard let store = box.withLock({ $0 }), let cp = try? store.checkpoint(signer: signer, time: signingTime) else { return }
                seen.withLock { $0.append((first, cp.treeSize)) }
            }
        }) { store, _ in
            box.withLock { $0 = store }
            for i in 0..<20 { try await store.append(to: "s", events: [event("x", "{\"i\":\(i)}"), event("x", "{}")]) }
            box.withLock { $0 = nil }
        }
        let samples = seen.withLock { $0 }
        #expect(samples.count == 20)
        #expect(samples.allSatisfy { $0.treeSize == $0.first }, "\(samples.filter { $0.treeSize != $0.first }.prefix(3))")
    }

    @Test func checkpointsSignedDuringAppendsCoverOnlyDurableEvents() async throws {
        // `count` is documented as the number of durable events. A signed checkpoint is kept outside the
        // store for good; if it covered a commit not yet flushed and the machine then crashed, the
        // recovered (honest) log would be smaller than the checkpoint and look rolled back for ever.
        let keys = TempDir("keys")
        defer { keys.cleanup() }
        let signer = try makeSigner(keys)
        try await withStore { store, _ in
            let writers = 8, perWriter = 250
            typealias Sample = (treeSize: UInt64, durable: UInt64, verdict: CheckpointVerdict)
            let samples = try await withThrowingTaskGroup(of: [Sample].self) { group in
                for w in 0..<writers {
                    group.addTask {
                        for i in 0..<perWriter { try await store.append(to: "w-\(w)", events: [event("x", "{\"i\":\(i)}")]) }
                        return []
                    }
                }
                group.addTask {
                    var seen: [Sample] = []
                    while store.count < UInt64(writers * perWriter) {
                        let cp = try store.checkpoint(signer: signer, time: signingTime)
                        let durable = store.count  // read after signing; it only grows
                        seen.append((cp.treeSize, durable, try store.check(cp)))
                        await Task.yield()
                    }
                    return seen
                }
                var all: [Sample] = []
                for try await part in group { all += part }
                return all
            }
            #expect(!samples.isEmpty)
            let beyondDurable = samples.filter { $0.treeSize > $0.durable }
            #expect(beyondDurable.count == 0,
                    "\(beyondDurable.count) of \(samples.count) checkpoints covered positions not yet durable, e.g. treeSize \(beyondDurable.first?.treeSize ?? 0) while count was \(beyondDurable.first?.durable ?? 0)")
            // The live store judging its own fresh checkpoint.
            let notConsistent = samples.filter { $0.verdict != .consistent }
            #expect(notConsistent.count == 0,
                    "\(notConsistent.count) fresh checkpoints were not consistent with the live store, e.g. \(notConsistent.first.map { "\($0.verdict)" } ?? "")")
            // Once the appends are acknowledged, a checkpoint and the durable count agree.
            let final = try store.checkpoint(signer: signer, time: signingTime)
            #expect(final.treeSize == store.count && final.treeSize == UInt64(writers * perWriter))
            #expect(try store.check(final) == .consistent)
        }
    }

    @Test func editingAnyFieldOfACheckpointBreaksItsSignature() async throws {
        let keys = TempDir("keys")
        defer { keys.cleanup() }
        let signer = try makeSigner(keys)
        let other = try CheckpointSigner(keyFile: keys.path + "/other.key", create: true)
        try await withStore { store, _ in
            try await fill(store, count: 40)
            let cp = try store.checkpoint(signer: signer, time: signingTime)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(cp.json.utf8)) as? [String: Any])
            #expect(Set(json.keys) == ["origin", "treeSize", "root", "time", "keyId", "publicKey", "signature"])

            var signatureBytes = try #require(Data(base64Encoded: cp.signature))
            signatureBytes[5] ^= 0x01
            let edits: [(String, Any)] = [
                ("origin", "casebook:00000000-0000-0000-0000-000000000000"),
                ("treeSize", 41),
                ("treeSize", 39),
                ("root", try store.root(treeSize: 39).hex),
                ("root", String(cp.root.reversed())),
                ("time", "2026-03-01T12:00:00.001Z"),
                ("keyId", other.keyId),
                ("publicKey", other.publicKeyBase64),
                ("signature", signatureBytes.base64EncodedString()),
                ("signature", ""),
            ]
            for (field, value) in edits {
                var edited = json
                edited[field] = value
                let data = try JSONSerialization.data(withJSONObject: edited, options: [.sortedKeys])
                let forged = try Checkpoint.decode(data)
                #expect(!forged.verifySignature(), "edited \(field)")
                #expect(!forged.verifySignature(trustedKeyIds: [signer.keyId, other.keyId]), "edited \(field)")
                #expect(try store.check(forged) == .badSignature, "edited \(field)")
            }
            // Both key fields swapped to another key: the signature is still not that key's.
            var swapped = cp
            swapped.keyId = other.keyId
            swapped.publicKey = other.publicKeyBase64
            #expect(!swapped.verifySignature())
            // Editing the JSON text itself (one digit of the root).
            let text = cp.json
            let digit = cp.root.first == "0" ? "1" : "0"
            let editedText = text.replacingOccurrences(of: cp.root, with: digit + cp.root.dropFirst())
            #expect(editedText != text)
            #expect(!(try Checkpoint.decode(Data(editedText.utf8))).verifySignature())
            #expect(try Checkpoint.decode(Data(text.utf8)).verifySignature())
        }
    }

    @Test func untrustedKeysOtherStoresAndForgedStatements() async throws {
        let keys = TempDir("keys")
        defer { keys.cleanup() }
        let signer = try makeSigner(keys)
        let stranger = try CheckpointSigner(keyFile: keys.path + "/stranger.key", create: true)
        try await withStore { store, _ in
            try await fill(store, count: 50)
            // A well-formed checkpoint by a key the auditor does not trust.
            let untrusted = try store.checkpoint(signer: stranger, time: signingTime)
            #expect(untrusted.verifySignature())
            #expect(!untrusted.verifySignature(trustedKeyIds: [signer.keyId]))
            #expect(try store.check(untrusted) == .consistent)
            #expect(try store.check(untrusted, trustedKeyIds: [signer.keyId]) == .badSignature)
            let report = try store.verify(checkpoints: [untrusted], trustedKeyIds: [signer.keyId])
            #expect(report.problems.isEmpty)
            #expect(report.checkpoints.first?.1 == .badSignature)
            #expect(!report.isValid)

            // Correctly signed statements the log contradicts.
            let wrongRoot = try signer.sign(origin: store.origin, treeSize: 50, root: try store.root(treeSize: 49), time: signingTime)
            #expect(try store.check(wrongRoot) == .rewritten(expectedRoot: wrongRoot.root, actualRoot: (try store.root()).hex))
            let tooBig = try signer.sign(origin: store.origin, treeSize: 51, root: try store.root(), time: signingTime)
            #expect(try store.check(tooBig) == .rolledBack(logSize: 50, checkpointSize: 51))
            let verdicts = try store.verify(checkpoints: [wrongRoot, tooBig]).checkpoints.map(\.1)
            #expect(verdicts == [
                .rewritten(expectedRoot: wrongRoot.root, actualRoot: (try store.root()).hex),
                .rolledBack(logSize: 50, checkpointSize: 51),
            ])

            // A checkpoint of another store.
            try await withStore { otherStore, _ in
                try await fill(otherStore, count: 50)
                let foreign = try otherStore.checkpoint(signer: signer, time: signingTime)
                #expect(foreign.verifySignature())
                #expect(foreign.origin != store.origin)
                #expect(try store.check(foreign) == .otherOrigin(foreign.origin))
                #expect(try otherStore.check(foreign) == .consistent)
            }
        }
    }
}
