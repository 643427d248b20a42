import CasebookLog
import CasebookTestSupport
import CasebookWorkflow
import Foundation
import Testing

@testable import CasebookAudit

extension StoreHarness {
    /// A signing key in the test's directory.
    func signer(_ name: String = "key") throws -> CheckpointSigner {
        try CheckpointSigner(keyFile: dir + "/" + name, create: true)
    }

    /// A small case of the tiny workflow: opened, finished.
    func tinyCase(_ caseId: String) async throws {
        try await publish(tinyWorkflowYAML, file: "tiny.yaml")
        #expect(try await issue(caseId, "start", "clerk:a", #"{"note":"n"}"#, at: "2026-03-02T09:00:00Z", workflow: "tiny"))
        #expect(try await issue(caseId, "finish", "clerk:a", at: "2026-03-03T09:00:00Z"))
    }
}

/// The bundle's JSON with `edit` applied, written back in canonical form (so only the edit is wrong).
func edited(_ bytes: [UInt8], _ edit: (inout [String: JSONValue]) -> Void) throws -> [UInt8] {
    var o = try #require(try JSONValue.parse(Data(bytes)).object)
    edit(&o)
    return Array((JSONValue.object(o).json + "\n").utf8)
}

@Suite struct BundleTests {
    @Test func aResidentRequestBundleVerifiesWithoutTheStore() async throws {
        try await StoreHarness.run(unsafeNoSync: true) { h in
            try await h.publishRepositoryWorkflows()
            _ = try await h.residentRequest("r1")
            _ = try await h.taskAdmission("t1")  // other streams interleave; their events are not in the bundle
            let signer = try h.signer()
            let bytes = try EvidenceBundle.make(store: h.store, caseId: "r1", signer: signer, time: Timestamp(iso8601: "2026-04-01T00:00:00Z")!)
            let events = try h.store.readStream(CaseState.stream("r1"), limit: Int.max)
            h.store.close()  // verification needs no store
            let report = EvidenceBundle.verify(bytes, trustedKeyIds: [signer.keyId])
            #expect(report.problems.map(\.description) == [])
            #expect(report.isValid)
            #expect(report.caseId == "r1")
            #expect(report.positions == events.map(\.position))
            #expect(report.definitions == 1)
            #expect(report.final?.state == "closed")
            #expect(report.final?.redacted == ["applicant"])
            #expect(report.text.hasSuffix("verify-bundle: OK"))
            // The envelopes are the stored bytes: their leaves are the log's leaves.
            let untrusted = EvidenceBundle.verify(bytes, trustedKeyIds: ["0000000000000000"])
            #expect(untrusted.problems.map(\.location) == ["checkpoint"])
            #expect(untrusted.problems.first?.field == "keyId")
        }
    }

    @Test func everySingleBitFlipFailsVerification() async throws {
        try await StoreHarness.run(unsafeNoSync: true) { h in
            try await h.tinyCase("c1")
            let bytes = try EvidenceBundle.make(store: h.store, caseId: "c1", signer: try h.signer(), time: Timestamp(iso8601: "2026-04-01T00:00:00Z")!)
            #expect(EvidenceBundle.verify(bytes).isValid)
            #expect(bytes.count < 6000, "keep the bundle small: \(bytes.count) bytes")
            var passed: [Int] = []
            let start = Date()
            for offset in bytes.indices {
                var mutated = bytes
                mutated[offset] ^= UInt8(1) << UInt8(offset % 8)
                if EvidenceBundle.verify(mutated).isValid { passed.append(offset) }
            }
            print("bundle mutation: \(bytes.count) single-bit flips verified in \(Int(Date().timeIntervalSince(start) * 1000)) ms")
            #expect(passed == [], "flips at these offsets were not detected: \(passed.prefix(20))")
            // Truncations and an extra byte fail too.
            #expect(!EvidenceBundle.verify(Array(bytes.dropLast())).isValid)
            #expect(!EvidenceBundle.verify(bytes + [0x20]).isValid)
            #expect(!EvidenceBundle.verify([]).isValid)
        }
    }

    @Test func verificationNamesWhatFailed() async throws {
        try await StoreHarness.run(unsafeNoSync: true) { h in
            try await h.tinyCase("c1")
            try await h.tinyCase("c2")
            let time = Timestamp(iso8601: "2026-04-01T00:00:00Z")!
            let bytes = try EvidenceBundle.make(store: h.store, caseId: "c1", signer: try h.signer(), time: time)
            let events = try h.store.readStream(CaseState.stream("c1"), limit: Int.max)

            // A rewritten event (its payload changed, re-encoded): its leaf no longer reaches the root.
            var forged = events[1]
            forged.payload = Array(forged.payload.reversed())
            let rewritten = try edited(bytes) { o in
                var list = o["events"]!.array!
                var entry = list[1].object!
                entry["envelope"] = .string(Data(Envelope.encode(forged)).base64EncodedString())
                list[1] = .object(entry)
                o["events"] = .array(list)
            }
            let r1 = EvidenceBundle.verify(rewritten)
            #expect(r1.problems.contains { $0.location == "events[1] (position \(events[1].position))" && $0.field == "proof" })

            // A whitespace change alone: not canonical.
            var spaced = bytes
            spaced.insert(0x20, at: 1)
            let r2 = EvidenceBundle.verify(spaced)
            #expect(r2.problems.first?.location == "file" && r2.problems.first?.message.contains("canonical") == true)

            // Another case's id: its events are not this case's stream.
            let other = try edited(bytes) { $0["case"] = .string("c2") }
            let r3 = EvidenceBundle.verify(other)
            #expect(r3.problems.contains { $0.location.hasPrefix("events[0]") && $0.field == "stream" })

            // A forged signature, an unknown member, a dropped event.
            let badSignature = try edited(bytes) { o in
                var c = o["checkpoint"]!.object!
                c["time"] = .string("2026-04-02T00:00:00.000Z")
                o["checkpoint"] = .object(c)
            }
            #expect(EvidenceBundle.verify(badSignature).problems.contains { $0.location == "checkpoint" && $0.field == "signature" })
            let extra = try edited(bytes) { $0["note"] = .string("trust me") }
            #expect(EvidenceBundle.verify(extra).problems.contains { $0.field == "note" && $0.message == "unknown member" })
            let dropped = try edited(bytes) { o in o["events"] = .array(Array(o["events"]!.array!.dropFirst())) }
            #expect(EvidenceBundle.verify(dropped).problems.contains { $0.location.hasPrefix("events[0]") && $0.field == "version" })
            // A proof hash spelled in upper case (the same hash): not canonical; one that is not 64 hex digits: unreadable.
            func proofEdited(_ edit: @escaping (String) -> String) throws -> [UInt8] {
                try edited(bytes) { o in
                    var list = o["events"]!.array!
                    var entry = list[0].object!
                    var proof = entry["proof"]!.array!
                    proof[0] = .string(edit(proof[0].string!))
                    entry["proof"] = .array(proof)
                    list[0] = .object(entry)
                    o["events"] = .array(list)
                }
            }
            for bad in [try proofEdited { $0.uppercased() }, try proofEdited { String($0.dropLast()) }, try proofEdited { $0 + "0" }] {
                #expect(EvidenceBundle.verify(bad).problems.contains {
                    $0.location.hasPrefix("events[0]") && $0.field == "proof" && $0.message == "not 64 lower-case hex digits each"
                })
            }
            #expect(EvidenceBundle.verify(try proofEdited { $0 }).isValid)
            let noDefinition = try edited(bytes) { $0["definitions"] = .array([]) }
            #expect(EvidenceBundle.verify(noDefinition).problems.contains { $0.location.hasPrefix("events[0]") && $0.message.contains("does not fold") })
        }
    }

    @Test func anOutsideCheckpointIsComparedWithTheBundles() async throws {
        try await StoreHarness.run(unsafeNoSync: true) { h in
            try await h.tinyCase("c1")
            let signer = try h.signer()
            let time = Timestamp(iso8601: "2026-04-01T00:00:00Z")!
            let early = try h.store.checkpoint(signer: signer, time: time)
            let same = try EvidenceBundle.make(store: h.store, caseId: "c1", signer: signer, time: time)
            let r1 = EvidenceBundle.verify(same, outside: early)
            #expect(r1.isValid && r1.consistency?.contains("consistent") == true)
            // The log grows; a later bundle needs a consistency proof to the earlier checkpoint.
            try await h.tinyCase("c2")
            let later = try EvidenceBundle.make(store: h.store, caseId: "c1", signer: signer, time: time)
            let r2 = EvidenceBundle.verify(later, outside: early)
            #expect(r2.problems.map(\.field) == ["treeSize"])
            #expect(r2.problems.first?.message.contains("consistency proof is needed") == true)
            let proof = try h.store.consistencyProof(from: early.treeSize)
            let r3 = EvidenceBundle.verify(later, outside: early, consistencyProof: proof)
            #expect(r3.isValid, "\(r3.problems)")
            // A proof for other sizes is named as such.
            let wrong = try h.store.consistencyProof(from: 1)
            #expect(EvidenceBundle.verify(later, outside: early, consistencyProof: wrong).problems.map(\.location) == ["--consistency-proof"])
            // The same size with another root: rewritten.
            let forgedRoot = try signer.sign(origin: early.origin, treeSize: r3.checkpoint!.treeSize, root: Merkle.emptyRoot, time: time)
            #expect(EvidenceBundle.verify(later, outside: forgedRoot).problems.map(\.field) == ["root"])
        }
    }
}
