import CasebookLog
import CasebookWorkflow
import Foundation

/// A self-contained evidence bundle for one case: its events and the definitions they ran under, each as
/// the exact envelope bytes the log stores (and its Merkle leaf hashes), each with an inclusion proof against
/// one tree size, and a signed checkpoint of that tree size. It is verified offline, without the store.
///
/// The file is canonical JSON (sorted keys, no insignificant whitespace, one final newline) of
/// ```
/// {"case":ID,"checkpoint":{…Checkpoint…},"definitions":[{"envelope":B64,"proof":[HEX…]}…],
///  "events":[{"envelope":B64,"proof":[HEX…]}…],"format":"casebook-evidence-bundle/v1"}
/// ```
/// Positions, stream versions, leaf hashes and the root are not repeated: the verifier derives them from
/// the envelopes and the checkpoint, and re-serialises the file, so a change to any byte of it fails.
public enum EvidenceBundle {
    /// The value of the bundle's `format` member.
    public static let format = "casebook-evidence-bundle/v1"

    /// Writes the bundle of `caseId`: signs a checkpoint of the log as it is now (with `signer`, stating
    /// `time`), then proves every event of the case and every definition it ran under against that tree size.
    /// Returns the file's bytes.
    public static func make(store: EventStore, caseId: String, signer: CheckpointSigner, time: Timestamp) throws -> [UInt8] {
        let checkpoint = try store.checkpoint(signer: signer, time: time)
        let size = checkpoint.treeSize
        let events = try store.readStream(CaseState.stream(caseId), limit: Int.max).filter { $0.position < size }
        guard !events.isEmpty else { throw EngineError.unknownCase(caseId) }
        // The definitions the case ran under: opened ("definition"), migrated ("from", "to").
        var hashes: Set<String> = []
        for e in events where e.type == CaseEventType.opened || e.type == CaseEventType.migrated {
            guard let payload = try? JSONValue.parse(Data(e.payload)).object else { continue }
            for key in e.type == CaseEventType.opened ? ["definition"] : ["from", "to"] { if let h = payload[key]?.string { hashes.insert(h) } }
        }
        var definitions: [RecordedEvent] = []
        var found: Set<String> = []
        for e in try store.readStream(WorkflowRegistry.stream, limit: Int.max) where e.position < size && e.type == WorkflowRegistry.publishedType {
            guard let hash = (try? JSONValue.parse(Data(e.payload)).object)?["hash"]?.string, hashes.contains(hash), !found.contains(hash) else { continue }
            found.insert(hash)
            definitions.append(e)
        }
        if let missing = hashes.subtracting(found).sorted().first { throw EngineError.unknownDefinition(missing) }
        func entry(_ e: RecordedEvent) throws -> JSONValue {
            let envelope = Envelope.encode(e)
            let proof = try store.inclusionProof(position: e.position, treeSize: size)
            guard proof.leafHash == Merkle.leafHash(envelope).hex, proof.root == checkpoint.root else {
                throw EventStoreError.corrupt(position: e.position, reason: "the re-encoded envelope does not hash to the stored leaf")
            }
            return .object(["envelope": .string(Data(envelope).base64EncodedString()), "proof": .array(proof.path.map(JSONValue.string))])
        }
        let bundle: JSONValue = .object([
            // The checkpoint as it encodes itself (the same fields `casebook checkpoint` prints).
            "case": .string(caseId), "format": .string(format), "checkpoint": try JSONValue.parse(checkpoint.json),
            "definitions": .array(try definitions.map(entry)), "events": .array(try events.map(entry)),
        ])
        return Array((bundle.json + "\n").utf8)
    }

    /// One thing that failed verification: where (e.g. `events[2] (position 17)`) and what.
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        /// Where: `file`, `checkpoint`, `events[i] (position p)`, `definitions[i] (position p)`, `--checkpoint`.
        public var location: String
        /// The field concerned (e.g. `envelope`, `proof`, `signature`, `stream`); empty for the whole item.
        public var field: String
        /// What is wrong.
        public var message: String

        public var description: String { "\(location)\(field.isEmpty ? "" : " \(field)"): \(message)" }
    }

    /// The outcome of verifying a bundle.
    public struct Report: Sendable {
        /// Everything that failed (empty: the bundle is valid).
        public var problems: [Problem] = []
        /// The case the bundle says it is about.
        public var caseId: String?
        /// The bundle's checkpoint, if it could be read.
        public var checkpoint: Checkpoint?
        /// The number of case events and definitions checked.
        public var events = 0, definitions = 0
        /// The positions of the case's events.
        public var positions: [UInt64] = []
        /// The case as its events leave it (personal data redacted), if they fold.
        public var final: CaseState?
        /// What the comparison with an outside checkpoint found, if one was given.
        public var consistency: String?

        /// True if nothing failed.
        public var isValid: Bool { problems.isEmpty }

        /// The report as text.
        public var text: String {
            var out: [String] = []
            if let caseId { out.append("case \(caseId): \(events) events (positions \(positions.map(String.init).joined(separator: ", "))), \(definitions) definitions") }
            if let c = checkpoint { out.append("checkpoint: tree size \(c.treeSize), root \(c.root), \(c.time), key \(c.keyId)") }
            if let final, final.isOpen { out.append("case state: '\(final.state)' (\(final.workflow) v\(final.definitionVersion))") }
            if let consistency { out.append("outside checkpoint: \(consistency)") }
            out += problems.map { "FAILED \($0)" }
            out.append(isValid ? "verify-bundle: OK" : "verify-bundle: FAILED (\(problems.count) problems)")
            return out.joined(separator: "\n")
        }
    }

    /// Verifies a bundle's bytes without any store: canonical form, structure, every envelope's leaf and
    /// inclusion proof against the checkpoint's root, the checkpoint's signature (by a trusted key if
    /// `trustedKeyIds` is given), that the events decode, belong to the case, are its stream from version 0
    /// and fold under the bundled definitions (whose hashes are recomputed from their sources). With
    /// `outside`, also that the bundle's checkpoint is consistent with it (same size: same root; otherwise
    /// through `consistencyProof`, which is required then).
    public static func verify(
        _ bytes: [UInt8], trustedKeyIds: Set<String>? = nil, outside: Checkpoint? = nil, consistencyProof: ConsistencyProof? = nil
    ) -> Report {
        var report = Report()
        func fail(_ location: String, _ field: String, _ message: String) {
            report.problems.append(Problem(location: location, field: field, message: message))
        }
        // 1. The file: JSON, and byte for byte its canonical form.
        guard let parsed = try? JSONValue.parse(Data(bytes)), let root = parsed.object else {
            fail("file", "", "not a JSON object")
            return report
        }
        let canonical = Array((parsed.json + "\n").utf8)
        if canonical != bytes {
            let at = zip(canonical, bytes).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(canonical.count, bytes.count)
            fail("file", "", "not in canonical form (sorted keys, no whitespace, one final newline): first difference at byte \(at)")
        }
        func exactKeys(_ o: [String: JSONValue], _ keys: Set<String>, _ location: String) {
            for k in Set(o.keys).subtracting(keys).sorted() { fail(location, k, "unknown member") }
            for k in keys.subtracting(o.keys).sorted() { fail(location, k, "missing") }
        }
        exactKeys(root, ["case", "checkpoint", "definitions", "events", "format"], "file")
        if root["format"]?.string != format { fail("file", "format", "is not \(format)") }
        guard let caseId = root["case"]?.string, !caseId.isEmpty else {
            fail("file", "case", "missing or not a string")
            return report
        }
        report.caseId = caseId
        // 2. The checkpoint and its signature.
        var checkpoint: Checkpoint?
        if let c = root["checkpoint"]?.object {
            exactKeys(c, ["origin", "treeSize", "root", "time", "keyId", "publicKey", "signature"], "checkpoint")
            if c["origin"]?.string != nil, case .int(let size)? = c["treeSize"], size >= 0, let rootHex = c["root"]?.string,
               c["time"]?.string != nil, let keyId = c["keyId"]?.string, c["publicKey"]?.string != nil, c["signature"]?.string != nil,
               let cp = try? Checkpoint.decode(Data(JSONValue.object(c).json.utf8)) {
                checkpoint = cp
                if !cp.verifySignature() {
                    fail("checkpoint", "signature", "the Ed25519 signature does not verify for the embedded key \(keyId)")
                } else if let trustedKeyIds, !trustedKeyIds.contains(keyId) {
                    fail("checkpoint", "keyId", "key \(keyId) is not trusted (trusted: \(trustedKeyIds.sorted().joined(separator: ", ")))")
                }
                if MerkleHash(hex: rootHex)?.hex != rootHex { fail("checkpoint", "root", "not 64 lower-case hex digits") }
                // Base64 decoders ignore the unused bits of the last digit: only the canonical spelling is accepted.
                for (field, text) in [("publicKey", cp.publicKey), ("signature", cp.signature)]
                where Data(base64Encoded: text)?.base64EncodedString() != text {
                    fail("checkpoint", field, "not canonical base64")
                }
            } else {
                fail("checkpoint", "", "a member is missing or of the wrong type")
            }
        } else {
            fail("checkpoint", "", "missing or not an object")
        }
        report.checkpoint = checkpoint
        let treeRoot = checkpoint.flatMap { MerkleHash(hex: $0.root) }
        // 3. Every envelope: canonical base64, its leaf, and its audit path to the checkpoint's root.
        func entries(_ name: String) -> [(String, RecordedEvent?)] {
            guard let items = root[name]?.array else {
                fail("file", name, "missing or not an array")
                return []
            }
            return items.enumerated().map { i, item -> (String, RecordedEvent?) in
                var location = "\(name)[\(i)]"
                guard let o = item.object else {
                    fail(location, "", "not an object")
                    return (location, nil)
                }
                exactKeys(o, ["envelope", "proof"], location)
                guard let b64 = o["envelope"]?.string, let data = Data(base64Encoded: b64), data.base64EncodedString() == b64 else {
                    fail(location, "envelope", "not canonical base64")
                    return (location, nil)
                }
                let envelope = [UInt8](data)
                guard let event = Envelope.decode(envelope) else {
                    fail(location, "envelope", "not a well-formed event envelope")
                    return (location, nil)
                }
                location += " (position \(event.position))"
                guard let path = o["proof"]?.array?.compactMap(\.string), path.count == o["proof"]?.array?.count else {
                    fail(location, "proof", "not an array of hex strings")
                    return (location, event)
                }
                let hashes = path.compactMap(MerkleHash.init(hex:))
                // Each read as 64 hex digits of either case: canonical (its own `hex`) if none is upper-case.
                if hashes.count != path.count || path.contains(where: { !$0.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) } }) {
                    fail(location, "proof", "not 64 lower-case hex digits each")
                } else if let checkpoint, let treeRoot {
                    let leaf = Merkle.leafHash(envelope)
                    if event.position >= checkpoint.treeSize {
                        fail(location, "envelope", "position \(event.position) is not below the checkpoint's tree size \(checkpoint.treeSize)")
                    } else if !Merkle.verifyInclusion(leaf: leaf, index: event.position, size: checkpoint.treeSize, proof: hashes, root: treeRoot) {
                        fail(location, "proof", "the envelope (leaf \(leaf.hex)) does not reach the checkpoint root through its audit path")
                    }
                }
                return (location, event)
            }
        }
        let definitionEntries = entries("definitions")
        let eventEntries = entries("events")
        report.definitions = definitionEntries.count
        report.events = eventEntries.count
        // 4. Definitions: published definitions whose hash is recomputed from the sources they carry.
        var compiled: [String: CompiledWorkflow] = [:]
        var lastPosition: UInt64?
        for (location, event) in definitionEntries {
            guard let e = event else { continue }
            if let last = lastPosition, e.position <= last { fail(location, "envelope", "definitions are not in position order") }
            lastPosition = e.position
            guard e.streamId == WorkflowRegistry.stream, e.type == WorkflowRegistry.publishedType else {
                fail(location, "stream", "is \(e.streamId)/\(e.type), not a \(WorkflowRegistry.publishedType) event of \(WorkflowRegistry.stream)")
                continue
            }
            guard let text = e.payloadText, let p = try? JSONValue.parse(text).object, let hash = p["hash"]?.string,
                  let source = p["source"]?.string, let file = p["file"]?.string
            else {
                fail(location, "payload", "not a readable published definition")
                continue
            }
            func sources(_ key: String) -> [(file: String, source: String)] {
                (p[key]?.array ?? []).compactMap { c in
                    guard let o = c.object, let f = o["file"]?.string, let s = o["source"]?.string else { return nil }
                    return (f, s)
                }
            }
            do {
                let c = try CompiledWorkflow.compile(source: source, file: file, calendarSources: sources("calendars"), catalogueSources: sources("catalogues"))
                if c.hash != hash {
                    fail(location, "payload", "claims hash \(hash) but its sources hash to \(c.hash)")
                } else if compiled[hash] != nil {
                    fail(location, "", "definition \(hash) is in the bundle twice")
                } else {
                    compiled[hash] = c
                }
            } catch {
                fail(location, "payload", "the definition does not compile: \(error)")
            }
        }
        // 5. The case's events: its stream, from version 0, consecutive, folding under the bundled definitions.
        var state = CaseState(caseId: caseId)
        var used: Set<String> = []
        var folds = true
        lastPosition = nil
        for (i, (location, event)) in eventEntries.enumerated() {
            guard let e = event else {
                folds = false
                continue
            }
            report.positions.append(e.position)
            if e.streamId != CaseState.stream(caseId) { fail(location, "stream", "is '\(e.streamId)', not case '\(caseId)'s stream '\(CaseState.stream(caseId))'") }
            if e.streamVersion != UInt64(i) { fail(location, "version", "is \(e.streamVersion), expected \(i) (the stream from its first event, without gaps)") }
            if let last = lastPosition, e.position <= last { fail(location, "envelope", "position \(e.position) does not follow \(last)") }
            lastPosition = e.position
            let parsed = e.payloadEncoding == .json ? try? e.payload.withUnsafeBytes({ try JSONValue.parse($0) }) : nil
            if e.payloadEncoding == .json, parsed == nil { fail(location, "payload", "not valid JSON") }
            guard folds else { continue }
            do {
                try state.apply(type: e.type, payload: parsed?.object.map(CasePayload.init), streamVersion: e.streamVersion, position: e.position, definition: { hash in
                    used.insert(hash)
                    guard let c = compiled[hash] else { throw EngineError.unknownDefinition(hash) }
                    return c
                })
            } catch {
                fail(location, "payload", "does not fold into the case: \(error)")
                folds = false
            }
        }
        if folds, !eventEntries.isEmpty { report.final = state }
        if eventEntries.isEmpty { fail("file", "events", "the bundle holds no events") }
        if folds {
            for hash in Set(compiled.keys).subtracting(used).sorted() { fail("definitions", "", "definition \(hash) is not one the case ran under") }
        }
        // 6. An outside checkpoint.
        if let outside {
            if !outside.verifySignature(trustedKeyIds: trustedKeyIds) {
                fail("--checkpoint", "signature", "the outside checkpoint's signature does not verify" + (trustedKeyIds == nil ? "" : " by a trusted key"))
            } else if let checkpoint {
                if outside.origin != checkpoint.origin {
                    fail("--checkpoint", "origin", "is \(outside.origin), the bundle's is \(checkpoint.origin)")
                } else if outside.treeSize == checkpoint.treeSize {
                    if outside.root == checkpoint.root {
                        report.consistency = "same tree size \(outside.treeSize), same root: consistent"
                    } else {
                        fail("--checkpoint", "root", "same tree size \(outside.treeSize) but a different root: the log was rewritten")
                    }
                } else if let proof = consistencyProof {
                    let (old, new) = outside.treeSize < checkpoint.treeSize ? (outside, checkpoint) : (checkpoint, outside)
                    if proof.fromSize != old.treeSize || proof.toSize != new.treeSize || proof.fromRoot != old.root || proof.toRoot != new.root {
                        fail("--consistency-proof", "", "is for sizes \(proof.fromSize)→\(proof.toSize), not \(old.treeSize)→\(new.treeSize) with these roots")
                    } else if !proof.verify() {
                        fail("--consistency-proof", "path", "does not prove tree \(old.treeSize) is a prefix of tree \(new.treeSize)")
                    } else {
                        report.consistency = "tree \(old.treeSize) is a prefix of tree \(new.treeSize): consistent"
                    }
                } else {
                    fail("--checkpoint", "treeSize", "is \(outside.treeSize), the bundle's is \(checkpoint.treeSize): a consistency proof is needed (`casebook prove consistency --from \(min(outside.treeSize, checkpoint.treeSize)) --to \(max(outside.treeSize, checkpoint.treeSize))`, then --consistency-proof)")
                }
            }
        }
        return report
    }
}
