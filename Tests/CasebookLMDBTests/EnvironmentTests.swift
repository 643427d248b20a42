import CasebookLMDB
import Foundation
import Testing

/// Opens an environment in a fresh temporary directory and removes it afterwards.
private func withEnvironment<T>(
    mapSize: Int = 1 << 20, _ body: (Environment, String) throws -> T
) throws -> T {
    let path = NSTemporaryDirectory() + "casebook-lmdb-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    var options = EnvironmentOptions()
    options.mapSize = mapSize
    let env = try Environment(path: path, databases: [DatabaseSpec("a"), DatabaseSpec("b")], options: options)
    return try body(env, path)
}

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

@Suite struct EnvironmentTests {
    @Test func putGetDeleteAndCountInNamedDatabases() throws {
        try withEnvironment { env, _ in
            let a = env.database("a"), b = env.database("b")
            try env.write { txn in
                try txn.put(a, key: bytes("k1"), value: bytes("v1"))
                try txn.put(b, key: bytes("k1"), value: bytes("other"))
            }
            #expect(try env.read { try $0.get(a, key: bytes("k1")) } == bytes("v1"))
            #expect(try env.read { try $0.get(b, key: bytes("k1")) } == bytes("other"))
            #expect(try env.read { try $0.get(a, key: bytes("missing")) } == nil)
            #expect(try env.count(a) == 1)
            #expect(try env.write { try $0.delete(a, key: bytes("k1")) } == true)
            #expect(try env.write { try $0.delete(a, key: bytes("k1")) } == false)
            #expect(try env.count(a) == 0 && env.count(b) == 1)
        }
    }

    @Test func aThrowingWriteBodyAbortsEverything() throws {
        struct Boom: Error {}
        try withEnvironment { env, _ in
            let a = env.database("a")
            #expect(throws: Boom.self) {
                try env.write { txn in
                    try txn.put(a, key: bytes("x"), value: bytes("1"))
                    throw Boom()
                }
            }
            let count = try env.count(a)
            #expect(count == 0)
        }
    }

    @Test func typedErrorsForKeyExistsAppendOrderAndKeySize() throws {
        try withEnvironment { env, _ in
            let a = env.database("a")
            try env.write { try $0.put(a, key: bytes("k"), value: bytes("1")) }
            do {
                try env.write { try $0.put(a, key: bytes("k"), value: bytes("2"), flags: .noOverwrite) }
                Issue.record("an existing key was overwritten despite .noOverwrite")
            } catch let error as LMDBError {
                #expect(error.code == .keyExists)
                #expect(error.description.contains("mdb_put(a)"))
            }
            // MDB_APPEND with a key that does not sort last.
            do {
                try env.write { try $0.put(a, key: bytes("a"), value: bytes("0"), flags: .append) }
                Issue.record("an out-of-order append was accepted")
            } catch let error as LMDBError {
                #expect(error.code == .keyExists)
            }
            // Keys longer than LMDB's 511-byte limit.
            do {
                try env.write { try $0.put(a, key: Array(repeating: 1, count: 600), value: bytes("v")) }
                Issue.record("an over-long key was accepted")
            } catch let error as LMDBError {
                #expect(error.code == .badValueSize)
            }
            #expect(try env.read { try $0.get(a, key: bytes("k")) } == bytes("1"))
        }
    }

    @Test func aFullMapIsReportedAndGrowingItLetsTheWriteThrough() throws {
        try withEnvironment(mapSize: 64 << 10) { env, _ in
            let a = env.database("a")
            let big = Array(repeating: UInt8(7), count: 256 << 10)
            do {
                try env.write { try $0.put(a, key: bytes("big"), value: big) }
                Issue.record("a value larger than the map was accepted")
            } catch let error as LMDBError {
                #expect(error.code == .mapFull)
            }
            try env.resize(to: 4 << 20)
            #expect(env.mapSize >= 4 << 20)
            try env.write { try $0.put(a, key: bytes("big"), value: big) }
            #expect(try env.read { try $0.get(a, key: bytes("big")) } == big)
        }
    }

    @Test func cursorsWalkInKeyOrderAndSeek() throws {
        try withEnvironment { env, _ in
            let a = env.database("a")
            try env.write { txn in
                for k in ["b", "d", "a", "c"] { try txn.put(a, key: bytes(k), value: bytes(k.uppercased())) }
            }
            let (forward, backward, fromC, exact) = try env.read { txn in
                try txn.withCursor(a) { cursor -> ([String], [String], String?, String?) in
                    var fwd: [String] = []
                    var e = try cursor.first()
                    while let (k, _) = e { fwd.append(String(decoding: k, as: UTF8.self)); e = try cursor.next() }
                    var bwd: [String] = []
                    e = try cursor.last()
                    while let (k, _) = e { bwd.append(String(decoding: k, as: UTF8.self)); e = try cursor.previous() }
                    let range = try bytes("bb").withUnsafeBytes { try cursor.seek(atLeast: $0) }.map { String(decoding: $0.value, as: UTF8.self) }
                    let hit = try bytes("zz").withUnsafeBytes { try cursor.seek(exactly: $0) }.map { String(decoding: $0.value, as: UTF8.self) }
                    return (fwd, bwd, range, hit)
                }
            }
            #expect(forward == ["a", "b", "c", "d"])
            #expect(backward == ["d", "c", "b", "a"])
            #expect(fromC == "C")
            #expect(exact == nil)
        }
    }

    @Test func readOnlyEnvironmentsSeeCommittedDataAndReaderSlotsAreReleased() throws {
        try withEnvironment { env, path in
            let a = env.database("a")
            try env.write { try $0.put(a, key: bytes("k"), value: bytes("v")) }
            var options = EnvironmentOptions()
            options.readOnly = true
            let reader = try Environment(path: path, databases: [DatabaseSpec("a"), DatabaseSpec("b")], options: options)
            #expect(try reader.read { try $0.get(reader.database("a"), key: bytes("k")) } == bytes("v"))
            // Far more read transactions than reader slots: each one gives its slot back.
            for _ in 0..<2_000 { _ = try reader.read { try $0.count(reader.database("a")) } }
            #expect(reader.staleReadersCleared == 0)
        }
    }

    @Test func openingSomethingThatIsNotAStoreFailsClearly() throws {
        let path = NSTemporaryDirectory() + "casebook-lmdb-bad-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(repeating: 0xAB, count: 16 << 10).write(to: URL(fileURLWithPath: path + "/data.mdb"))
        do {
            _ = try Environment(path: path, databases: [DatabaseSpec("a")])
            Issue.record("garbage opened as an LMDB environment")
        } catch {
            #expect(error.code == .invalid || error.code == .versionMismatch)
        }
    }
}
