import Crypto
import Foundation

/// A signed statement of the log's size and Merkle root at a time, for auditors to keep outside the
/// store. A later log that was rolled back below `treeSize`, or rewritten, no longer matches it.
///
/// The signature (Ed25519) covers the text `casebook-checkpoint/v1\n<origin>\n<treeSize>\n<root hex>\n<time>\n`.
public struct Checkpoint: Codable, Sendable, Equatable {
    /// The store the checkpoint is about: `casebook:<store id>`.
    public var origin: String
    /// The number of events covered.
    public var treeSize: UInt64
    /// The Merkle root over those events, hex.
    public var root: String
    /// When it was signed, ISO 8601 UTC.
    public var time: String
    /// The first 8 bytes of SHA-256 of the public key, hex.
    public var keyId: String
    /// The Ed25519 public key, base64 of its 32 raw bytes.
    public var publicKey: String
    /// The Ed25519 signature, base64.
    public var signature: String

    /// The exact bytes that are signed.
    public var signedMessage: [UInt8] {
        Array("casebook-checkpoint/v1\n\(origin)\n\(treeSize)\n\(root)\n\(time)\n".utf8)
    }

    /// True if the signature is valid for the embedded public key (and, if given, the key is trusted).
    public func verifySignature(trustedKeyIds: Set<String>? = nil) -> Bool {
        guard let keyBytes = Data(base64Encoded: publicKey), let sig = Data(base64Encoded: signature),
              let key = try? Curve25519.Signing.PublicKey(rawRepresentation: keyBytes),
              CheckpointSigner.keyId(of: key) == keyId
        else { return false }
        if let trustedKeyIds, !trustedKeyIds.contains(keyId) { return false }
        return key.isValidSignature(sig, for: signedMessage)
    }

    /// Decodes a checkpoint from its JSON.
    public static func decode(_ json: Data) throws -> Checkpoint {
        try JSONDecoder().decode(Checkpoint.self, from: json)
    }

    /// The checkpoint as one line of JSON with sorted keys.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// An Ed25519 signing key for checkpoints, kept in a file outside the store.
public struct CheckpointSigner: Sendable {
    private let seed: Data
    private var key: Curve25519.Signing.PrivateKey {
        // The seed was validated when the signer was made.
        try! Curve25519.Signing.PrivateKey(rawRepresentation: seed)
    }

    /// Wraps a private key.
    public init(key: Curve25519.Signing.PrivateKey) { self.seed = key.rawRepresentation }

    /// Loads the key at `path` (base64 of the 32-byte seed); with `create`, makes a new one there
    /// (mode 0600) if the file does not exist.
    public init(keyFile path: String, create: Bool = false) throws {
        if FileManager.default.fileExists(atPath: path) {
            let text = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let raw = Data(base64Encoded: text), let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: raw) else {
                throw EventStoreError.invalidRequest("\(path) is not a Casebook signing key (base64 of a 32-byte Ed25519 seed)")
            }
            self.seed = key.rawRepresentation
        } else if create {
            let key = Curve25519.Signing.PrivateKey()
            let dir = (path as NSString).deletingLastPathComponent
            if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            guard FileManager.default.createFile(
                atPath: path, contents: Data((key.rawRepresentation.base64EncodedString() + "\n").utf8),
                attributes: [.posixPermissions: 0o600])
            else { throw EventStoreError.invalidRequest("cannot write the signing key to \(path)") }
            self.seed = key.rawRepresentation
        } else {
            throw EventStoreError.invalidRequest("no signing key at \(path)")
        }
    }

    /// The key id: the first 8 bytes of SHA-256 of the raw public key, hex.
    public var keyId: String { Self.keyId(of: key.publicKey) }

    /// The public key, base64.
    public var publicKeyBase64: String { key.publicKey.rawRepresentation.base64EncodedString() }

    static func keyId(of key: Curve25519.Signing.PublicKey) -> String {
        Hex.encode(Array(SHA256.hash(data: key.rawRepresentation)).prefix(8))
    }

    /// Signs a statement of `treeSize` and `root` at `time`.
    public func sign(origin: String, treeSize: UInt64, root: MerkleHash, time: Timestamp) throws -> Checkpoint {
        var c = Checkpoint(origin: origin, treeSize: treeSize, root: root.hex, time: time.iso8601, keyId: keyId,
                           publicKey: publicKeyBase64, signature: "")
        c.signature = try key.signature(for: c.signedMessage).base64EncodedString()
        return c
    }
}

extension EventStore {
    /// The checkpoint origin naming this store.
    public var origin: String { "casebook:\(storeId)" }

    /// Signs a checkpoint of the whole log as it is now — of its durable part: a reader can see a commit
    /// a moment before its meta page is synced, and a signed checkpoint outlives any crash, so it covers
    /// only the events already acknowledged (``count``).
    public func checkpoint(signer: CheckpointSigner, time: Timestamp) throws -> Checkpoint {
        let durable = count  // read first: it only grows, and every position below it is durable
        let (size, root) = try env.read { txn -> (UInt64, MerkleHash) in
            let n = min(try txn.eventCount(db), durable)
            let root = try Merkle.subtreeHash(start: 0, size: n) { s, l in try txn.merkleNode(db, start: s, level: l) }
            return (n, root)
        }
        return try signer.sign(origin: origin, treeSize: size, root: root, time: time)
    }
}
