import CasebookLog
import Foundation
import Testing

// Acceptance tests for tamper evidence: a byte changed in the data file, a store rolled back to an
// older copy, and history rewritten into a self-consistent tree are each detected — by `verify` from
// the records alone, or against a checkpoint signed before the tampering.

private let fixedClock: @Sendable () -> Timestamp = { Timestamp(millisecondsSince1970: 1_767_225_600_000) }
private let signingTime = Timestamp(iso8601: "2026-03-01T12:00:00Z")!

private func openStore(_ path: String) throws -> EventStore {
    var options = EventStoreOptions()
    options.clock = fixedClock
    return try EventStore(path: path, options: options)
}

/// Opens the store at `path` read-only, as an auditor would.
private func openReadOnly(_ path: String) throws -> EventStore {
    var options = EventStoreOptions()
    options.readOnly = true
    return try EventStore(path: path, options: options)
}

/// Opens the store at `path`, runs `body`, and closes it.
private func withOpenStore<T>(_ path: String, _ body: (EventStore) async throws -> T) async throws -> T {
    let store = try openStore(path)
    defer { store.close() }
    return try await body(store)
}

/// Copies a (closed) store's files into a new directory.
private func copyStoreFiles(from source: String, to target: String) throws {
    let fm = FileManager.default
    try fm.createDirectory(atPath: target, withIntermediateDirectories: true)
    #expect(fm.fileExists(atPath: source + "/data.mdb"))
    for name in ["data.mdb", "lock.mdb"] where fm.fileExists(atPath: source + "/" + name) {
        try fm.copyItem(atPath: source + "/" + name, toPath: target + "/" + name)
    }
}

/// The offsets of every occurrence of `needle` in `haystack`.
private func occurrences(of needle: [UInt8], in haystack: [UInt8]) -> [Int] {
    guard let first = needle.first, haystack.count >= needle.count else { return [] }
    var hits: [Int] = []
    var i = 0
    while i <= haystack.count - needle.count {
        if haystack[i] == first && Array(haystack[i..<i + needle.count]) == needle { hits.append(i) }
        i += 1
    }
    return hits
}

/// Sets byte `offset` of every occurrence of `needle` in the file to `value`; returns how many there were.
/// (LMDB copies pages on write, so a small record can also survive as a stale copy in a free page; the
/// live one is among the occurrences.)
@discardableResult
private func patch(file: String, needle: [UInt8], offset: Int, to value: UInt8) throws -> Int {
    let url = URL(fileURLWithPath: file)
    var bytes = [UInt8](try Data(contentsOf: url))
    let hits = occurrences(of: needle, in: bytes)
    for h in hits { bytes[h + offset] = value }
    try Data(bytes).write(to: url)
    return hits.count
}

private func payload(_ i: Int) -> String { "{\"note\":\"ordinary event \(i)\"}" }

@Suite struct TamperTests {
    // MARK: (a) A changed byte

    @Test func aFlippedByteInASmallRecordIsFoundAtItsPosition() async throws {
        let original = TempDir("tamper-src"), copy = TempDir("tamper-copy")
        defer { original.cleanup(); copy.cleanup() }
        let keys = TempDir("keys")
        defer { keys.cleanup() }
        let signer = try CheckpointSigner(keyFile: keys.path + "/k", create: true)
        let tamperedPosition: UInt64 = 42
        let marker = Array("TAMPER-ME-0042".utf8)

        let checkpoint = try await withOpenStore(original.path) { store in
            for i in 0..<100 {
                let json = UInt64(i) == tamperedPosition ? "{\"note\":\"TAMPER-ME-0042\"}" : payload(i)
                try await store.append(to: "case-\(i % 7)", events: [event("case.noted", json)])
            }
            #expect(try store.verify().isValid)
            return try store.checkpoint(signer: signer, time: signingTime)
        }
        try copyStoreFiles(from: original.path, to: copy.path)
        // Change the marker's last digit: "…0042" becomes "…0043".
        let hits = try patch(file: copy.path + "/data.mdb", needle: marker, offset: marker.count - 1, to: UInt8(ascii: "3"))
        try #require(hits >= 1, "marker not found in data.mdb")

        try await withOpenStore(copy.path) { store in
            #expect(store.count == 100)
            // The change took effect: the record reads back altered.
            let altered = try #require(try store.event(at: tamperedPosition))
            #expect(altered.payloadText == "{\"note\":\"TAMPER-ME-0043\"}")

            let report = try store.verify(checkpoints: [checkpoint])
            #expect(!report.isValid)
            #expect(report.firstBadPosition == tamperedPosition)
            #expect(report.problems.first?.position == tamperedPosition)
            #expect(report.problems.contains { $0.position == tamperedPosition && $0.message.contains("Merkle leaf") })
            #expect(report.problems.allSatisfy { ($0.position ?? tamperedPosition) >= tamperedPosition })
            // Against the checkpoint signed before the change, the recomputed history no longer matches.
            if case .rewritten(let expected, let actual)? = report.checkpoints.first?.1 {
                #expect(expected == checkpoint.root && actual == report.root.hex && actual != expected)
            } else {
                Issue.record("checkpoint verdict is \(String(describing: report.checkpoints.first?.1)), expected rewritten")
            }
            // The altered record no longer matches the leaf its inclusion proof is for.
            let proof = try store.inclusionProof(position: tamperedPosition)
            #expect(!proof.verify(envelope: Envelope.encode(altered)))
            // Its neighbours are untouched.
            let neighbour = try #require(try store.event(at: tamperedPosition - 1))
            #expect(try store.inclusionProof(position: tamperedPosition - 1).verify(envelope: Envelope.encode(neighbour)))
        }
        // An auditor's read-only handle finds the same.
        do {
            let audit = try openReadOnly(copy.path)
            defer { audit.close() }
            let report = try audit.verify(checkpoints: [checkpoint])
            #expect(!report.isValid)
            #expect(report.firstBadPosition == tamperedPosition)
        }
        // The original store is intact.
        try await withOpenStore(original.path) { store in
            let report = try store.verify(checkpoints: [checkpoint])
            #expect(report.isValid)
        }
    }

    @Test func exactlyOneFlippedByteInALargeRecordIsFoundAtItsPosition() async throws {
        let original = TempDir("tamper-src"), copy = TempDir("tamper-copy")
        defer { original.cleanup(); copy.cleanup() }
        let tamperedPosition: UInt64 = 7
        let marker = Array("TAMPER-ME-0042".utf8)
        // A record larger than a page lives in its own overflow pages, written once: the marker is in
        // the file exactly once.
        let big = "{\"note\":\"TAMPER-ME-0042\",\"pad\":\"" + String(repeating: "p", count: 70_000) + "\"}"

        try await withOpenStore(original.path) { store in
            for i in 0..<20 {
                try await store.append(to: "case-\(i % 3)", events: [event("case.noted", UInt64(i) == tamperedPosition ? big : payload(i))])
            }
        }
        try copyStoreFiles(from: original.path, to: copy.path)
        let file = copy.path + "/data.mdb"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        let hits = occurrences(of: marker, in: bytes)
        try #require(hits.count == 1, "marker found \(hits.count) times")
        bytes[hits[0]] ^= 0x20  // "T" → "t": one byte, one bit
        try Data(bytes).write(to: URL(fileURLWithPath: file))

        try await withOpenStore(copy.path) { store in
            #expect(try store.event(at: tamperedPosition)?.payloadText?.hasPrefix("{\"note\":\"tAMPER-ME-0042\"") == true)
            let report = try store.verify()
            #expect(!report.isValid)
            #expect(report.firstBadPosition == tamperedPosition)
        }
    }

    @Test func aFlippedBitInAPersistedLeafHashIsFoundAtItsPosition() async throws {
        let original = TempDir("tamper-src"), copy = TempDir("tamper-copy")
        defer { original.cleanup(); copy.cleanup() }
        let position: UInt64 = 17
        let leaf = try await withOpenStore(original.path) { store in
            for i in 0..<40 { try await store.append(to: "s-\(i % 4)", events: [event("x", payload(i))]) }
            return Merkle.leafHash(Envelope.encode(try #require(try store.event(at: position))))
        }
        try copyStoreFiles(from: original.path, to: copy.path)
        let hits = try patch(file: copy.path + "/data.mdb", needle: leaf.bytes, offset: 31, to: leaf.bytes[31] ^ 0x01)
        try #require(hits >= 1, "leaf hash not found in data.mdb")

        try await withOpenStore(copy.path) { store in
            let report = try store.verify()
            #expect(!report.isValid)
            #expect(report.firstBadPosition == position)
            #expect(report.problems.contains { $0.position == position && $0.message.contains("Merkle leaf") })
            // The record itself is unchanged, but the persisted tree no longer proves it.
            let record = try #require(try store.event(at: position))
            #expect(!(try store.inclusionProof(position: position)).verify(envelope: Envelope.encode(record)))
        }
    }

    // MARK: (b) Rolled back to an older copy

    @Test func aStoreRolledBackToAnOlderCopyFailsALaterCheckpoint() async throws {
        let live = TempDir("rollback-live"), old = TempDir("rollback-old")
        defer { live.cleanup(); old.cleanup() }
        let keys = TempDir("keys")
        defer { keys.cleanup() }
        let signer = try CheckpointSigner(keyFile: keys.path + "/k", create: true)
        let n1: UInt64 = 20, n2: UInt64 = 30

        let early = try await withOpenStore(live.path) { store in
            for i in 0..<Int(n1) { try await store.append(to: "case-\(i % 3)", events: [event("case.noted", payload(i))]) }
            return try store.checkpoint(signer: signer, time: signingTime)
        }
        #expect(early.treeSize == n1)
        try copyStoreFiles(from: live.path, to: old.path)  // the snapshot an attacker restores later

        let late = try await withOpenStore(live.path) { store in
            #expect(store.count == n1)
            for i in Int(n1)..<Int(n2) { try await store.append(to: "case-\(i % 3)", events: [event("case.noted", payload(i))]) }
            let cp = try store.checkpoint(signer: signer, time: signingTime)
            #expect(try store.verify(checkpoints: [early, cp]).isValid)
            return cp
        }
        #expect(late.treeSize == n2)

        try await withOpenStore(old.path) { store in
            #expect(store.count == n1)
            #expect(store.origin == late.origin)
            let report = try store.verify(checkpoints: [late])
            #expect(report.problems.isEmpty, "the old copy is internally consistent: \(report.problems)")
            #expect(report.events == n1)
            #expect(report.checkpoints.map(\.1) == [.rolledBack(logSize: n1, checkpointSize: n2)])
            #expect(!report.isValid)
            #expect(try store.check(late) == .rolledBack(logSize: n1, checkpointSize: n2))
            // The older checkpoint still matches the old copy.
            #expect(try store.check(early) == .consistent)
            #expect(try store.verify(checkpoints: [early]).isValid)
        }
        // An auditor's read-only handle on the old copy reaches the same verdict.
        do {
            let audit = try openReadOnly(old.path)
            defer { audit.close() }
            #expect(try audit.check(late) == .rolledBack(logSize: n1, checkpointSize: n2))
            let report = try audit.verify(checkpoints: [late])
            #expect(report.problems.isEmpty && !report.isValid)
        }
        try await withOpenStore(old.path) { store in
            // Growing the rolled-back copy past the checkpoint with other events does not hide it.
            for i in 0..<15 { try await store.append(to: "case-x", events: [event("case.noted", "{\"other\":\(i)}")]) }
            #expect(store.count == n1 + 15)
            let verdict = try store.check(late)
            if case .rewritten = verdict {} else {
                Issue.record("regrown copy: verdict \(verdict), expected rewritten")
            }
            let regrown = try store.verify(checkpoints: [late, early])
            #expect(regrown.problems.isEmpty)
            if case .rewritten? = regrown.checkpoints.first?.1 {} else {
                Issue.record("regrown copy: verify verdict \(String(describing: regrown.checkpoints.first?.1)), expected rewritten")
            }
            #expect(regrown.checkpoints.last?.1 == .consistent)
            #expect(!regrown.isValid)
        }
    }

    // MARK: (c) Rewritten into a self-consistent tree

    @Test func historyRewrittenIntoASelfConsistentTreeFailsTheCheckpoint() async throws {
        let x = TempDir("rewrite-x"), y = TempDir("rewrite-y"), z = TempDir("rewrite-z")
        defer { x.cleanup(); y.cleanup(); z.cleanup() }
        let keys = TempDir("keys")
        defer { keys.cleanup() }
        let signer = try CheckpointSigner(keyFile: keys.path + "/k", create: true)
        let genuine = (5..<10).map { event("case.decided", "{\"decision\":\"granted\",\"n\":\($0)}") }
        let forged = (5..<10).map { event("case.decided", "{\"decision\":\"refused\",\"n\":\($0)}") }

        // X: E0…E4, then (after Y and Z are copied from it) E5…E9.
        let cp5 = try await withOpenStore(x.path) { store in
            for i in 0..<5 { try await store.append(to: "case-1", events: [event("case.noted", payload(i))]) }
            return try store.checkpoint(signer: signer, time: signingTime)
        }
        try copyStoreFiles(from: x.path, to: y.path)
        try copyStoreFiles(from: x.path, to: z.path)
        let cp10 = try await withOpenStore(x.path) { store in
            for e in genuine { try await store.append(to: "case-1", events: [e]) }
            return try store.checkpoint(signer: signer, time: signingTime)
        }
        #expect(cp5.treeSize == 5 && cp10.treeSize == 10)

        // Y: the same E0…E4, then five different events. Its own records, index and tree agree.
        try await withOpenStore(y.path) { store in
            for e in forged { try await store.append(to: "case-1", events: [e]) }
            #expect(store.count == 10)
            #expect(try store.root().hex != cp10.root)
            #expect(try store.root(treeSize: 5).hex == cp5.root)

            let own = try store.verify()
            #expect(own.problems.isEmpty, "Y is self-consistent: \(own.problems)")
            #expect(own.isValid)

            let rewritten = CheckpointVerdict.rewritten(expectedRoot: cp10.root, actualRoot: (try store.root()).hex)
            #expect(try store.check(cp10) == rewritten)
            let report = try store.verify(checkpoints: [cp10, cp5])
            #expect(report.problems.isEmpty)
            #expect(report.checkpoints.map(\.1) == [rewritten, .consistent])
            #expect(!report.isValid)
            // The prefix both share still checks out.
            #expect(try store.check(cp5) == .consistent)
            #expect(try store.verify(checkpoints: [cp5]).isValid)
        }

        // An auditor's read-only handle on Y reaches the same verdicts.
        do {
            let audit = try openReadOnly(y.path)
            defer { audit.close() }
            #expect(audit.count == 10)
            if case .rewritten = try audit.check(cp10) {} else { Issue.record("read-only Y: cp10 is not rewritten") }
            #expect(try audit.check(cp5) == .consistent)
            let report = try audit.verify(checkpoints: [cp10])
            #expect(report.problems.isEmpty && !report.isValid)
        }

        // Control: Z replays exactly the genuine events (same streams, payloads and clock): not a rewrite.
        try await withOpenStore(z.path) { store in
            for e in genuine { try await store.append(to: "case-1", events: [e]) }
            #expect(try store.root().hex == cp10.root)
            #expect(try store.check(cp10) == .consistent)
            #expect(try store.verify(checkpoints: [cp10, cp5]).isValid)
        }
    }
}
