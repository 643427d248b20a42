import CasebookLMDB
import Crypto
import Foundation
import Synchronization

/// Per-subject encryption keys for personal data (fields marked `pii: true`), kept in their own small
/// LMDB environment beside the log (`<store>/keys`), never in the log itself.
///
/// Personal data is written to the log only as ciphertext (ChaCha20-Poly1305) under its subject's key,
/// so the Merkle tree covers the ciphertext and `verify` keeps passing after an erasure. Erasing a
/// subject destroys its key and compacts the key file (rewriting it without the freed pages), after
/// which the ciphertext in the log can no longer be read by anyone.
public final class KeyVault: Sendable {
    private let path: String
    private let initialMapSize: Int
    private let env: Mutex<Environment?>

    /// Opens (creating) the vault at `path`. Its map starts at `initialMapSize` bytes and doubles
    /// whenever it fills up.
    public init(path: String, initialMapSize: Int = 16 << 20) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        self.path = path
        self.initialMapSize = initialMapSize
        env = Mutex(try Self.open(path, mapSize: initialMapSize))
    }

    private static func open(_ path: String, mapSize: Int) throws -> Environment {
        var options = EnvironmentOptions()
        options.mapSize = mapSize
        options.fileMode = 0o600
        return try Environment(path: path, databases: [DatabaseSpec("subject_keys")], options: options)
    }

    private func with<T>(_ body: (Environment) throws -> T) throws -> T {
        try env.withLock { e in
            guard let e else { throw EngineError.corrupt("the key vault at \(path) is closed") }
            return try body(e)
        }
    }

    /// The subject's key; with `create`, a new random key is made (and made durable) if it has none.
    /// Nil if the subject has no key (never had one, or was erased) and `create` is false.
    public func key(for subject: String, create: Bool) throws -> SymmetricKey? {
        try with { env in
            let db = env.database("subject_keys")
            if let raw = try env.read({ txn in try txn.get(db, key: Array(subject.utf8)) }) { return SymmetricKey(data: raw) }
            guard create else { return nil }
            let key = SymmetricKey(size: .bits256)
            let bytes = key.withUnsafeBytes { Array($0) }
            while true {
                do {
                    try env.write { txn in try txn.put(db, key: Array(subject.utf8), value: bytes, flags: .noOverwrite) }
                    return key
                } catch let error as LMDBError where error.code == .mapFull {
                    // The vault grows with the number of subjects: double the map and try again.
                    guard env.mapSize < 1 << 36 else { throw error }
                    try env.resize(to: env.mapSize * 2)
                }
            }
        }
    }

    /// Destroys the subject's key; true if it had one. The key file is then compacted into a fresh file
    /// that replaces it, so the destroyed key does not linger in a freed page.
    @discardableResult
    public func erase(_ subject: String) throws -> Bool {
        try env.withLock { slot in
            guard slot != nil else { throw EngineError.corrupt("the key vault at \(path) is closed") }
            let db = slot!.database("subject_keys")
            let existed = try slot!.write { txn in try txn.delete(db, key: Array(subject.utf8)) }
            guard existed else { return false }
            let fresh = path + ".compact-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: true)
            try slot!.copy(to: fresh, compact: true)
            slot = nil  // the last reference: the environment closes before its file is replaced
            try FileManager.default.removeItem(atPath: path + "/data.mdb")
            try FileManager.default.moveItem(atPath: fresh + "/data.mdb", toPath: path + "/data.mdb")
            try? FileManager.default.removeItem(atPath: fresh)
            slot = try Self.open(path, mapSize: initialMapSize)
            return true
        }
    }

    /// Seals `plaintext` under the subject's key (creating it if needed).
    public func seal(_ plaintext: String, subject: String) throws -> String {
        guard let key = try key(for: subject, create: true) else { throw EngineError.corrupt("no key for subject \(subject)") }
        return try ChaChaPoly.seal(Data(plaintext.utf8), using: key).combined.base64EncodedString()
    }

    /// Opens a sealed value; nil if the subject's key was erased.
    public func open(_ sealed: String, subject: String) throws -> String? {
        guard let key = try key(for: subject, create: false) else { return nil }
        guard let data = Data(base64Encoded: sealed) else { throw EngineError.corrupt("sealed personal data is not base64") }
        let box = try ChaChaPoly.SealedBox(combined: data)
        return String(decoding: try ChaChaPoly.open(box, using: key), as: UTF8.self)
    }
}
