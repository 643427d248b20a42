import CasebookLMDB

/// One thing `verify` found wrong.
public struct VerificationProblem: Sendable, Hashable, CustomStringConvertible {
    /// The position concerned, if the problem is tied to one.
    public var position: UInt64?
    /// What is wrong.
    public var message: String

    public var description: String {
        (position.map { "position \($0): " } ?? "") + message
    }
}

/// What checking a checkpoint against the log found.
public enum CheckpointVerdict: Sendable, Hashable, CustomStringConvertible {
    /// The signature is valid and the log (as recomputed from its records) extends the checkpointed tree.
    case consistent
    /// The signature does not verify (or the key is not trusted).
    case badSignature
    /// The checkpoint is for another store.
    case otherOrigin(String)
    /// The log has fewer events than the checkpoint covers: it was rolled back or truncated.
    case rolledBack(logSize: UInt64, checkpointSize: UInt64)
    /// The log's first `treeSize` records no longer hash to the checkpointed root: history was rewritten.
    case rewritten(expectedRoot: String, actualRoot: String)
    /// The store's consistency proof from the checkpoint to the current tree does not verify.
    case inconsistentProof

    /// True for ``consistent``.
    public var isConsistent: Bool { self == .consistent }

    public var description: String {
        switch self {
        case .consistent: return "consistent"
        case .badSignature: return "signature does not verify (or the key is not trusted)"
        case .otherOrigin(let o): return "checkpoint is for another store (\(o))"
        case let .rolledBack(log, cp):
            return "log was rolled back: it has \(log) events, the checkpoint covers \(cp)"
        case let .rewritten(expected, actual):
            return "log was rewritten: the checkpointed events now hash to root \(actual), the checkpoint says \(expected)"
        case .inconsistentProof: return "the store's consistency proof from the checkpoint does not verify"
        }
    }
}

/// The outcome of ``EventStore/verify(checkpoints:trustedKeyIds:progress:)``.
public struct VerificationReport: Sendable {
    /// Events checked (the log's size when verification began).
    public var events: UInt64 = 0
    /// Streams seen.
    public var streams: Int = 0
    /// The root recomputed from the records.
    public var root: MerkleHash = Merkle.emptyRoot
    /// Problems found, in the order met (at most ``maxProblems``).
    public var problems: [VerificationProblem] = []
    /// Problems beyond those listed.
    public var moreProblems = 0
    /// Each checkpoint given, with its verdict.
    public var checkpoints: [(Checkpoint, CheckpointVerdict)] = []

    /// How many problems are listed before counting the rest.
    public static let maxProblems = 20

    /// The lowest position named by a problem: where the record stops being trustworthy.
    public var firstBadPosition: UInt64? { problems.compactMap(\.position).min() }

    /// True if the store and every checkpoint check out.
    public var isValid: Bool { problems.isEmpty && checkpoints.allSatisfy { $0.1.isConsistent } }

    mutating func add(_ position: UInt64?, _ message: String) {
        if problems.count < Self.maxProblems {
            problems.append(VerificationProblem(position: position, message: message))
        } else {
            moreProblems += 1
        }
    }
}

extension EventStore {
    /// Recomputes everything from the records: positions gapless and matching their envelopes, every
    /// envelope well-formed, stream versions consecutive and indexed, command records pointing at their
    /// events, every persisted Merkle node equal to the hash recomputed from the records; then checks each
    /// checkpoint against the recomputed tree. Reads in short transactions, up to the size the log had
    /// when it began.
    public func verify(
        checkpoints: [Checkpoint] = [], trustedKeyIds: Set<String>? = nil, progress: ((UInt64, UInt64) -> Void)? = nil
    ) throws -> VerificationReport {
        var report = VerificationReport()
        let total = try env.read { txn in try txn.eventCount(db) }
        report.events = total
        let wanted = Set(checkpoints.map(\.treeSize))
        var rootsAt: [UInt64: MerkleHash] = [:]
        if wanted.contains(0) { rootsAt[0] = Merkle.emptyRoot }

        struct StreamSeen { var number: UInt64; var nextVersion: UInt64 }
        var streams: [String: StreamSeen] = [:]
        var frontier = MerkleFrontier()
        var expected: UInt64 = 0
        let batchSize = 8192

        scanning: while expected < total {
            let done = try env.read { txn -> Bool in
                try txn.withCursor(db.events) { cursor in
                    var entry = try BigEndian.bytes(expected).withUnsafeBytes { try cursor.seek(atLeast: $0) }
                    var n = 0
                    while let (key, value) = entry, n < batchSize, expected < total {
                        n += 1
                        guard key.count == 8, let position = BigEndian.read(key) else {
                            report.add(expected, "malformed event key")
                            return true
                        }
                        if position != expected {
                            report.add(expected, "position \(expected) is missing (next record is at \(position))")
                            return true
                        }
                        guard let (envelope, hashes) = Schema.split(record: value, position: position) else {
                            report.add(position, "record is too short to hold an envelope and its Merkle hashes")
                            return true
                        }
                        frontier.append(Merkle.leafHash(envelope)) { level, hash in
                            let stored = MerkleHash(UnsafeRawBufferPointer(rebasing: hashes[(32 * level)..<(32 * level + 32)]))
                            if stored != hash {
                                report.add(position, level == 0
                                    ? "record does not match its Merkle leaf (the record or its leaf hash was altered)"
                                    : "Merkle node at level \(level) does not match the recomputed tree")
                            }
                        }
                        if wanted.contains(frontier.size) { rootsAt[frontier.size] = frontier.root }
                        guard let event = Envelope.decode(envelope) else {
                            report.add(position, "malformed envelope")
                            expected += 1
                            entry = try cursor.next()
                            continue
                        }
                        if event.position != position {
                            report.add(position, "envelope says position \(event.position)")
                        }
                        // Stream bookkeeping.
                        var seen = streams[event.streamId]
                        if seen == nil {
                            if let head = try txn.streamHead(db, event.streamId) {
                                seen = StreamSeen(number: head.number, nextVersion: 0)
                            } else {
                                report.add(position, "stream '\(event.streamId)' has no head record")
                            }
                        }
                        if var s = seen {
                            if event.streamVersion != s.nextVersion {
                                report.add(position, "stream '\(event.streamId)' version \(event.streamVersion), expected \(s.nextVersion)")
                            }
                            let indexed = try txn.indexedPosition(db, stream: s.number, version: event.streamVersion)
                            if indexed != position {
                                report.add(position, "stream index for '\(event.streamId)' version \(event.streamVersion) points to \(indexed.map(String.init) ?? "nothing")")
                            }
                            s.nextVersion = event.streamVersion + 1
                            streams[event.streamId] = s
                        }
                        if !event.commandId.isEmpty {
                            let record = try Array(event.commandId.utf8).withUnsafeBytes { k in
                                try txn.get(db.commands, key: k).flatMap(Schema.CommandRecord.init)
                            }
                            if let r = record {
                                if r.streamId != event.streamId || position < r.firstPosition || position >= r.firstPosition + r.count {
                                    report.add(position, "command '\(event.commandId)' record does not cover this event")
                                }
                            } else {
                                report.add(position, "command '\(event.commandId)' has no record")
                            }
                        }
                        expected += 1
                        entry = try cursor.next()
                    }
                    if entry == nil && expected < total {
                        report.add(expected, "log ends at position \(expected), \(total) events expected")
                        return true
                    }
                    return false
                }
            }
            progress?(expected, total)
            if done { break scanning }
        }
        report.root = frontier.root
        report.streams = streams.count

        // Heads and counts, when no one appended meanwhile.
        try env.read { txn in
            guard try txn.eventCount(db) == total else { return }
            for (id, s) in streams {
                let head = try txn.streamHead(db, id)
                if head?.version != s.nextVersion - 1 || head?.number != s.number {
                    report.add(nil, "head of stream '\(id)' says version \(head.map { String($0.version) } ?? "none"), its events end at \(s.nextVersion - 1)")
                }
            }
            let streamCount = try txn.count(db.streams)
            if streamCount != streams.count {
                report.add(nil, "\(streamCount) stream heads, but events name \(streams.count) streams")
            }
            let indexCount = try txn.count(db.streamIndex)
            if UInt64(indexCount) != total {
                report.add(nil, "\(indexCount) stream-index entries for \(total) events")
            }
        }

        for cp in checkpoints {
            report.checkpoints.append((cp, try verdict(for: cp, logSize: total, recomputed: rootsAt[cp.treeSize], trustedKeyIds: trustedKeyIds)))
        }
        return report
    }

    /// Checks one checkpoint against the log without a full verification (using the persisted tree).
    public func check(_ checkpoint: Checkpoint, trustedKeyIds: Set<String>? = nil) throws -> CheckpointVerdict {
        let total = try env.read { txn in try txn.eventCount(db) }
        let root = checkpoint.treeSize <= total ? try self.root(treeSize: checkpoint.treeSize) : nil
        return try verdict(for: checkpoint, logSize: total, recomputed: root, trustedKeyIds: trustedKeyIds)
    }

    private func verdict(for cp: Checkpoint, logSize: UInt64, recomputed: MerkleHash?, trustedKeyIds: Set<String>?) throws -> CheckpointVerdict {
        guard cp.verifySignature(trustedKeyIds: trustedKeyIds) else { return .badSignature }
        guard cp.origin == origin else { return .otherOrigin(cp.origin) }
        guard cp.treeSize <= logSize else { return .rolledBack(logSize: logSize, checkpointSize: cp.treeSize) }
        guard let recomputed else { return .rolledBack(logSize: logSize, checkpointSize: cp.treeSize) }
        guard recomputed.hex == cp.root else { return .rewritten(expectedRoot: cp.root, actualRoot: recomputed.hex) }
        let proof = try consistencyProof(from: cp.treeSize, to: logSize)
        guard proof.fromRoot == cp.root, proof.verify() else { return .inconsistentProof }
        return .consistent
    }
}
