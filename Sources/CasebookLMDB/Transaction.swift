import CasebookCLMDB

/// Flags for ``Transaction/put(_:key:value:flags:)``.
public struct PutFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Fail with `keyExists` if the key is present (`MDB_NOOVERWRITE`).
    public static let noOverwrite = PutFlags(rawValue: UInt32(MDB_NOOVERWRITE))
    /// The key sorts after every key already present (`MDB_APPEND`); LMDB fails with `keyExists` otherwise.
    public static let append = PutFlags(rawValue: UInt32(MDB_APPEND))
    /// In a database with duplicate keys: the value sorts after the key's other values (`MDB_APPENDDUP`).
    public static let appendDuplicate = PutFlags(rawValue: UInt32(MDB_APPENDDUP))
}

/// A live LMDB transaction, handed to the body of ``Environment/read(_:)`` or ``Environment/write(_:)``.
///
/// It cannot be copied or kept: it lives exactly as long as the body. Every buffer it returns points
/// into the memory map and is valid only until the body returns (or, in a write transaction, until the
/// next write).
public struct Transaction: ~Copyable {
    let raw: OpaquePointer

    init(raw: OpaquePointer) { self.raw = raw }

    /// The value stored under `key`, or nil. The buffer is valid until the transaction ends.
    public func get(_ db: Database, key: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer? {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val()
        let rc = mdb_get(raw, db.dbi, &k, &v)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_get(\(db.name))")
        return UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size)
    }

    /// The value stored under `key`, copied out, or nil.
    public func get(_ db: Database, key: [UInt8]) throws -> [UInt8]? {
        try key.withUnsafeBytes { k in try get(db, key: k).map { Array($0) } }
    }

    /// Stores `value` under `key`.
    public func put(_ db: Database, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, flags: PutFlags = []) throws {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try check(mdb_put(raw, db.dbi, &k, &v, flags.rawValue), "mdb_put(\(db.name))")
    }

    /// Reserves `size` bytes for the value under `key` and lets `fill` write them in place
    /// (`MDB_RESERVE`), saving a copy. `fill` must write every byte.
    public func reserve<R>(
        _ db: Database, key: UnsafeRawBufferPointer, size: Int, flags: PutFlags = [],
        _ fill: (UnsafeMutableRawBufferPointer) throws -> R
    ) throws -> R {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: size, mv_data: nil)
        try check(mdb_put(raw, db.dbi, &k, &v, flags.rawValue | UInt32(MDB_RESERVE)), "mdb_put(\(db.name), reserve)")
        return try fill(UnsafeMutableRawBufferPointer(start: v.mv_data, count: size))
    }

    /// Stores `value` under `key`.
    public func put(_ db: Database, key: [UInt8], value: [UInt8], flags: PutFlags = []) throws {
        try key.withUnsafeBytes { k in try value.withUnsafeBytes { v in try put(db, key: k, value: v, flags: flags) } }
    }

    /// Deletes `key` (all its values); returns false if it was absent.
    @discardableResult
    public func delete(_ db: Database, key: UnsafeRawBufferPointer) throws -> Bool {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        let rc = mdb_del(raw, db.dbi, &k, nil)
        if rc == MDB_NOTFOUND { return false }
        try check(rc, "mdb_del(\(db.name))")
        return true
    }

    /// Deletes `key`; returns false if it was absent.
    @discardableResult
    public func delete(_ db: Database, key: [UInt8]) throws -> Bool {
        try key.withUnsafeBytes { try delete(db, key: $0) }
    }

    /// Removes every entry of `db` (the database itself stays).
    public func clear(_ db: Database) throws {
        try check(mdb_drop(raw, db.dbi, 0), "mdb_drop(\(db.name))")
    }

    /// The number of entries in `db`.
    public func count(_ db: Database) throws -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(raw, db.dbi, &stat), "mdb_stat(\(db.name))")
        return stat.ms_entries
    }

    /// Runs `body` with a cursor on `db`; the cursor is closed when `body` returns.
    public func withCursor<T>(_ db: Database, _ body: (inout Cursor) throws -> T) throws -> T {
        var cursorPointer: OpaquePointer?
        try check(mdb_cursor_open(raw, db.dbi, &cursorPointer), "mdb_cursor_open(\(db.name))")
        var cursor = Cursor(raw: cursorPointer!, name: db.name)
        defer { mdb_cursor_close(cursorPointer) }
        return try body(&cursor)
    }
}

/// A position in a database, moved with the methods below. Each returns the entry it lands on, or nil
/// when there is none; buffers are valid until the transaction ends.
public struct Cursor: ~Copyable {
    let raw: OpaquePointer
    let name: String

    /// One key/value pair under the cursor.
    public typealias Entry = (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)

    private func move(_ op: MDB_cursor_op, key: UnsafeRawBufferPointer? = nil, value: UnsafeRawBufferPointer? = nil) throws -> Entry? {
        var k = MDB_val()
        if let key { k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress)) }
        var v = MDB_val()
        if let value { v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress)) }
        let rc = mdb_cursor_get(raw, &k, &v, op)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_cursor_get(\(name))")
        return (UnsafeRawBufferPointer(start: k.mv_data, count: k.mv_size), UnsafeRawBufferPointer(start: v.mv_data, count: v.mv_size))
    }

    /// The first entry.
    public func first() throws -> Entry? { try move(MDB_FIRST) }
    /// The last entry.
    public func last() throws -> Entry? { try move(MDB_LAST) }
    /// The entry after the current one.
    public func next() throws -> Entry? { try move(MDB_NEXT) }
    /// The entry before the current one.
    public func previous() throws -> Entry? { try move(MDB_PREV) }
    /// The entry with exactly `key`.
    public func seek(exactly key: UnsafeRawBufferPointer) throws -> Entry? { try move(MDB_SET_KEY, key: key) }
    /// The first entry whose key is greater than or equal to `key`.
    public func seek(atLeast key: UnsafeRawBufferPointer) throws -> Entry? { try move(MDB_SET_RANGE, key: key) }

    /// With duplicate keys: the first value of `key` that is greater than or equal to `value`
    /// (`MDB_GET_BOTH_RANGE`).
    public func seek(key: UnsafeRawBufferPointer, valueAtLeast value: UnsafeRawBufferPointer) throws -> Entry? {
        try move(MDB_GET_BOTH_RANGE, key: key, value: value)
    }
    /// With duplicate keys: the next value of the current key, or nil after its last.
    public func nextDuplicate() throws -> Entry? { try move(MDB_NEXT_DUP) }
    /// With duplicate keys: the previous value of the current key, or nil before its first.
    public func previousDuplicate() throws -> Entry? { try move(MDB_PREV_DUP) }
}
