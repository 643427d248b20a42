import CasebookCLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A named database inside an ``Environment``. Handles are opened once, when the environment opens,
/// and stay valid until it closes.
public struct Database: Sendable, Hashable, CustomStringConvertible {
    let dbi: MDB_dbi
    /// The database's name.
    public let name: String
    public var description: String { name }
}

/// How a named database is declared when an ``Environment`` opens.
public struct DatabaseSpec: Sendable, Hashable {
    /// The name of the database.
    public var name: String
    /// Whether keys may hold several sorted values (`MDB_DUPSORT`).
    public var duplicateKeys: Bool
    /// With `duplicateKeys`: every value has the same size, so LMDB packs them tightly (`MDB_DUPFIXED`).
    public var fixedSizeValues: Bool

    /// Declares a named database.
    public init(_ name: String, duplicateKeys: Bool = false, fixedSizeValues: Bool = false) {
        self.name = name
        self.duplicateKeys = duplicateKeys
        self.fixedSizeValues = fixedSizeValues
    }
}

/// Options for opening an ``Environment``.
public struct EnvironmentOptions: Sendable {
    /// The initial map size in bytes (grown later with ``Environment/resize(to:)``).
    public var mapSize: Int = 64 << 20
    /// The maximum number of concurrent read transactions.
    public var maxReaders: UInt32 = 510
    /// Open read-only (no write transactions possible).
    public var readOnly: Bool = false
    /// Skip fsync at commit. Never set for a store whose acknowledged writes must survive a crash;
    /// intended only for throwaway stores in tests.
    public var noSync: Bool = false
    /// Write through the memory map (`MDB_WRITEMAP`): a write transaction changes pages in place instead
    /// of allocating a copy of each in memory and writing it out at commit. Faster for large
    /// transactions; the data file is then as long as the map (sparse where unused).
    public var writeMap: Bool = false
    /// The file mode for newly created files.
    public var fileMode: mode_t = 0o644

    /// Default options: 64 MiB map, durable commits.
    public init() {}
}

/// An open LMDB environment: one directory holding `data.mdb` and `lock.mdb`.
///
/// The environment is opened with `MDB_NOTLS`, so read transactions may run on any thread (including
/// Swift concurrency's pool) as long as each transaction stays on one thread for its short life.
/// All named databases are declared and opened once, at open. Stale reader slots left by crashed
/// processes are cleared at open.
///
/// Growing the map (``resize(to:)``) takes an exclusive lock that waits for running transactions in
/// this process to finish, as LMDB requires.
public final class Environment: @unchecked Sendable {  // wraps MDB_env*, which LMDB makes thread-safe under MDB_NOTLS
    private let env: OpaquePointer
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>
    private let databasesByName: [String: Database]
    /// The directory the environment lives in.
    public let path: String
    /// Whether the environment was opened read-only.
    public let isReadOnly: Bool
    /// The number of stale reader slots cleared at open.
    public let staleReadersCleared: Int

    /// Opens (creating if needed) the environment at `path` and every database in `databases`.
    public init(path: String, databases: [DatabaseSpec], options: EnvironmentOptions = .init()) throws(LMDBError) {
        var envPointer: OpaquePointer?
        try check(mdb_env_create(&envPointer), "mdb_env_create")
        guard let env = envPointer else { throw LMDBError(rc: ENOMEM, operation: "mdb_env_create") }
        var flags = UInt32(MDB_NOTLS)
        if options.readOnly { flags |= UInt32(MDB_RDONLY) }
        if options.noSync { flags |= UInt32(MDB_NOSYNC) }
        if options.writeMap && !options.readOnly { flags |= UInt32(MDB_WRITEMAP) }
        do {
            try check(mdb_env_set_maxdbs(env, MDB_dbi(max(databases.count, 1))), "mdb_env_set_maxdbs")
            try check(mdb_env_set_maxreaders(env, options.maxReaders), "mdb_env_set_maxreaders")
            try check(mdb_env_set_mapsize(env, options.mapSize), "mdb_env_set_mapsize")
            try check(mdb_env_open(env, path, flags, options.fileMode), "mdb_env_open(\(path))")
        } catch {
            mdb_env_close(env)
            throw error
        }
        var dead: Int32 = 0
        mdb_reader_check(env, &dead)
        self.staleReadersCleared = Int(dead)
        self.env = env
        self.path = path
        self.isReadOnly = options.readOnly
        self.lock = .allocate(capacity: 1)
        pthread_rwlock_init(lock, nil)

        // Open every named database once, in one transaction.
        var opened: [String: Database] = [:]
        var txn: OpaquePointer?
        do {
            try check(mdb_txn_begin(env, nil, options.readOnly ? UInt32(MDB_RDONLY) : 0, &txn), "mdb_txn_begin")
            for spec in databases {
                var dbi: MDB_dbi = 0
                var dbFlags: UInt32 = options.readOnly ? 0 : UInt32(MDB_CREATE)
                if spec.duplicateKeys { dbFlags |= UInt32(MDB_DUPSORT) }
                if spec.duplicateKeys && spec.fixedSizeValues { dbFlags |= UInt32(MDB_DUPFIXED) }
                try check(mdb_dbi_open(txn, spec.name, dbFlags, &dbi), "mdb_dbi_open(\(spec.name))")
                opened[spec.name] = Database(dbi: dbi, name: spec.name)
            }
            try check(mdb_txn_commit(txn), "mdb_txn_commit")
        } catch {
            if txn != nil { mdb_txn_abort(txn) }
            pthread_rwlock_destroy(lock)
            lock.deallocate()
            mdb_env_close(env)
            throw error
        }
        self.databasesByName = opened
    }

    deinit {
        mdb_env_close(env)
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// The handle of a database declared at open. Traps on a name that was not declared: that is a
    /// programming error, not a runtime condition.
    public func database(_ name: String) -> Database {
        guard let db = databasesByName[name] else { preconditionFailure("database \(name) was not declared at open") }
        return db
    }

    /// The current map size in bytes.
    public var mapSize: Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        return info.me_mapsize
    }

    /// Bytes of the map in use (last used page + 1, times the page size).
    public var usedBytes: Int {
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        var stat = MDB_stat()
        mdb_env_stat(env, &stat)
        return (info.me_last_pgno + 1) * Int(stat.ms_psize)
    }

    /// The number of entries in `database`.
    public func count(_ database: Database) throws -> Int {
        try read { txn in try txn.count(database) }
    }

    /// Grows (or adopts another process's growth of, with `0`) the map. Waits for this process's
    /// running transactions to end first.
    public func resize(to bytes: Int) throws(LMDBError) {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        try check(mdb_env_set_mapsize(env, bytes), "mdb_env_set_mapsize(\(bytes))")
    }

    /// Flushes buffers to disk (only needed after `noSync` commits).
    public func sync() throws(LMDBError) {
        try check(mdb_env_sync(env, 1), "mdb_env_sync")
    }

    /// Copies the environment to the (existing, empty) directory `path`, consistently, while it is in use.
    public func copy(to path: String, compact: Bool = false) throws(LMDBError) {
        try check(mdb_env_copy2(env, path, compact ? UInt32(MDB_CP_COMPACT) : 0), "mdb_env_copy2(\(path))")
    }

    /// Runs `body` in a short read-only transaction, which is released when `body` returns.
    /// Buffers handed out by the transaction are valid only inside `body`.
    public func read<T>(_ body: (borrowing Transaction) throws -> T) throws -> T {
        try withAnyTransaction(flags: UInt32(MDB_RDONLY), body, finish: { mdb_txn_abort($0); return MDB_SUCCESS })
    }

    /// Runs `body` in a write transaction and commits it if `body` returns; aborts it if `body` throws.
    /// LMDB allows one write transaction at a time: callers on several threads wait in turn. A write
    /// transaction must never be held across an `await`.
    public func write<T>(_ body: (borrowing Transaction) throws -> T) throws -> T {
        precondition(!isReadOnly, "write transaction on a read-only environment")
        return try withAnyTransaction(flags: 0, body, finish: { mdb_txn_commit($0) })
    }

    private func withAnyTransaction<T>(
        flags: UInt32, _ body: (borrowing Transaction) throws -> T, finish: (OpaquePointer?) -> Int32
    ) throws -> T {
        while true {
            pthread_rwlock_rdlock(lock)
            var txn: OpaquePointer?
            let rc = mdb_txn_begin(env, nil, flags, &txn)
            if rc == MDB_MAP_RESIZED {
                // Another process grew the map: adopt its size, then try again.
                pthread_rwlock_unlock(lock)
                try resize(to: 0)
                continue
            }
            defer { pthread_rwlock_unlock(lock) }
            try check(rc, "mdb_txn_begin")
            let transaction = Transaction(raw: txn!)
            let result: T
            do {
                result = try body(transaction)
            } catch {
                mdb_txn_abort(txn)
                throw error
            }
            try check(finish(txn), flags & UInt32(MDB_RDONLY) != 0 ? "mdb_txn_abort" : "mdb_txn_commit")
            return result
        }
    }
}
