import CasebookCLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An error returned by LMDB, with the operation that produced it.
///
/// The ``Code`` names the LMDB conditions callers act on (a full map, a resized map, a missing key …);
/// anything else is carried as its raw code with LMDB's own message.
public struct LMDBError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The LMDB or system condition.
    public enum Code: Equatable, Sendable {
        /// `MDB_KEYEXIST`: the key/data pair already exists.
        case keyExists
        /// `MDB_NOTFOUND`: no matching key/data pair.
        case notFound
        /// `MDB_PAGE_NOTFOUND`: a requested page was not found (usually corruption).
        case pageNotFound
        /// `MDB_CORRUPTED`: a located page was of the wrong type.
        case corrupted
        /// `MDB_PANIC`: a fatal error occurred earlier; the environment must be closed.
        case panic
        /// `MDB_VERSION_MISMATCH`: the file was written by an incompatible LMDB version.
        case versionMismatch
        /// `MDB_INVALID`: the file is not an LMDB data file.
        case invalid
        /// `MDB_MAP_FULL`: the environment map size is reached.
        case mapFull
        /// `MDB_DBS_FULL`: the environment's maximum number of named databases is reached.
        case databasesFull
        /// `MDB_READERS_FULL`: every reader slot is taken.
        case readersFull
        /// `MDB_TXN_FULL`: the transaction has too many dirty pages.
        case transactionFull
        /// `MDB_CURSOR_FULL`: the cursor stack is too deep (internal error).
        case cursorFull
        /// `MDB_PAGE_FULL`: a page has no more space (internal error).
        case pageFull
        /// `MDB_MAP_RESIZED`: another process grew the map beyond this one's mapping.
        case mapResized
        /// `MDB_INCOMPATIBLE`: the operation is incompatible with the database or its flags.
        case incompatible
        /// `MDB_BAD_RSLOT`: invalid reuse of a reader lock table slot.
        case badReaderSlot
        /// `MDB_BAD_TXN`: the transaction must abort, has a child, or is invalid.
        case badTransaction
        /// `MDB_BAD_VALSIZE`: an unsupported size of key, data or DUPFIXED item.
        case badValueSize
        /// `MDB_BAD_DBI`: the database handle was changed unexpectedly.
        case badDatabase
        /// A system error (`errno`), such as `ENOSPC` for a full disk or `EACCES`.
        case system(Int32)

        init(_ rc: Int32) {
            switch rc {
            case MDB_KEYEXIST: self = .keyExists
            case MDB_NOTFOUND: self = .notFound
            case MDB_PAGE_NOTFOUND: self = .pageNotFound
            case MDB_CORRUPTED: self = .corrupted
            case MDB_PANIC: self = .panic
            case MDB_VERSION_MISMATCH: self = .versionMismatch
            case MDB_INVALID: self = .invalid
            case MDB_MAP_FULL: self = .mapFull
            case MDB_DBS_FULL: self = .databasesFull
            case MDB_READERS_FULL: self = .readersFull
            case MDB_TXN_FULL: self = .transactionFull
            case MDB_CURSOR_FULL: self = .cursorFull
            case MDB_PAGE_FULL: self = .pageFull
            case MDB_MAP_RESIZED: self = .mapResized
            case MDB_INCOMPATIBLE: self = .incompatible
            case MDB_BAD_RSLOT: self = .badReaderSlot
            case MDB_BAD_TXN: self = .badTransaction
            case MDB_BAD_VALSIZE: self = .badValueSize
            case MDB_BAD_DBI: self = .badDatabase
            default: self = .system(rc)
            }
        }
    }

    /// The condition.
    public let code: Code
    /// The raw return code from LMDB.
    public let rawValue: Int32
    /// What was being done, e.g. `"mdb_put(events)"`.
    public let operation: String

    init(rc: Int32, operation: String) {
        self.rawValue = rc
        self.code = Code(rc)
        self.operation = operation
    }

    /// True when the disk (not the map) ran out of space.
    public var isDiskFull: Bool { code == .system(ENOSPC) || code == .system(EDQUOT) }

    public var description: String {
        "\(operation): \(String(cString: mdb_strerror(rawValue)))"
    }
}

@inline(__always)
func check(_ rc: Int32, _ operation: @autoclosure () -> String) throws(LMDBError) {
    if rc != MDB_SUCCESS { throw LMDBError(rc: rc, operation: operation()) }
}
