import CasebookLog
import Foundation

/// Writes a projection row in its stored form: varints (signed ones zigzagged) and length-prefixed
/// UTF-8. The same row always gives the same bytes, which is what makes a rebuild comparable byte for
/// byte with the incrementally updated projection.
public struct RowWriter {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8] = []

    /// An empty writer.
    public init() { bytes.reserveCapacity(96) }

    /// Empties it, keeping its capacity (to write the next row).
    public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    /// An unsigned integer.
    public mutating func uint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// A signed integer.
    public mutating func int(_ value: Int64) { uint(UInt64(bitPattern: (value << 1) ^ (value >> 63))) }

    /// An integer that fits in Int.
    public mutating func int(_ value: Int) { int(Int64(value)) }

    /// A boolean.
    public mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// A string.
    public mutating func string(_ value: String) {
        var s = value
        s.withUTF8 { utf8 in
            uint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// A list of signed integers.
    public mutating func ints(_ values: [Int64]) {
        uint(UInt64(values.count))
        for v in values { int(v) }
    }

    /// A list of strings.
    public mutating func strings(_ values: [String]) {
        uint(UInt64(values.count))
        for v in values { string(v) }
    }
}

/// A stored row that cannot be read: the projection must be rebuilt.
public struct MalformedRow: Error, Sendable, CustomStringConvertible {
    /// The projection and key.
    public var projection: String, key: String
    public var description: String { "projection '\(projection)': row '\(key)' cannot be read; run `casebook projections rebuild \(projection)`" }
}

/// Reads what ``RowWriter`` wrote.
public struct RowReader {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0
    /// Whether a read ran past the end or met a malformed value.
    public private(set) var failed = false

    /// A reader over stored bytes.
    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Whether every byte was read and nothing failed.
    public var isComplete: Bool { !failed && offset == bytes.count }

    /// An unsigned integer (0 after a failure).
    public mutating func uint() -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count && shift < 64 {
            let byte = bytes[offset]
            offset += 1
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        failed = true
        return 0
    }

    /// A signed integer.
    public mutating func int() -> Int64 {
        let u = uint()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    /// A boolean.
    public mutating func bool() -> Bool {
        guard offset < bytes.count else { failed = true; return false }
        defer { offset += 1 }
        return bytes[offset] != 0
    }

    /// A string.
    public mutating func string() -> String {
        let n = Int(truncatingIfNeeded: uint())
        guard !failed, n >= 0, n <= bytes.count - offset else { failed = true; return "" }
        defer { offset += n }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]), as: UTF8.self)
    }

    /// A list of signed integers.
    public mutating func ints() -> [Int64] {
        let n = Int(truncatingIfNeeded: uint())
        guard !failed, n >= 0, n <= bytes.count - offset else { failed = true; return [] }
        var out: [Int64] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(int()) }
        return out
    }

    /// A list of strings.
    public mutating func strings() -> [String] {
        let n = Int(truncatingIfNeeded: uint())
        guard !failed, n >= 0, n <= bytes.count - offset else { failed = true; return [] }
        return (0..<n).map { _ in string() }
    }
}

/// A projection's per-case row.
public protocol ProjectionRow: Sendable, Equatable {
    /// An empty row (what a case's row is before its opening event is folded into it).
    init()
    /// The stored form.
    func encode(into writer: inout RowWriter)
    /// Reads the stored form.
    init(from reader: inout RowReader)
}

/// Counters (and optionally a sorted sample of values, for medians) kept under a key: the projections'
/// aggregates. A row contributes tallies that are subtracted when it changes and added back as it
/// is now, so aggregates always equal the sum over rows, however often a case changes.
public struct Tally: Sendable, Equatable {
    /// The counters.
    public var counters: [Int64]
    /// Sorted sample values (e.g. handling times, for the median).
    public var samples: [Int64]

    /// Counters and samples.
    public init(counters: [Int64], samples: [Int64] = []) {
        self.counters = counters
        self.samples = samples
    }

    /// Whether everything is zero (the key is then removed).
    public var isEmpty: Bool { samples.isEmpty && counters.allSatisfy { $0 == 0 } }

    mutating func add(_ other: Tally, sign: Int64) {
        if counters.count < other.counters.count { counters += Array(repeating: 0, count: other.counters.count - counters.count) }
        for (i, c) in other.counters.enumerated() { counters[i] += sign * c }
        for s in other.samples {
            var lo = 0, hi = samples.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if samples[mid] < s { lo = mid + 1 } else { hi = mid }
            }
            if sign > 0 {
                samples.insert(s, at: lo)
            } else if lo < samples.count && samples[lo] == s {
                samples.remove(at: lo)
            }
        }
    }

    func encode() -> [UInt8] {
        var w = RowWriter()
        w.ints(counters)
        w.ints(samples)
        return w.bytes
    }

    init?(_ bytes: UnsafeRawBufferPointer) {
        var r = RowReader(bytes)
        counters = r.ints()
        samples = r.ints()
        guard r.isComplete else { return nil }
    }
}

/// A table key as bytes: hashed and compared as bytes (a String would be hashed through Unicode
/// normalisation, which for Chinese names costs more than the rest of a fold).
public struct Key: Hashable, Comparable, Sendable {
    /// The key's bytes (UTF-8 parts joined by U+001F).
    public var bytes: [UInt8]

    /// A key from its bytes.
    public init(bytes: [UInt8]) { self.bytes = bytes }

    public func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }

    public static func == (a: Key, b: Key) -> Bool {
        a.bytes.count == b.bytes.count && a.bytes.withUnsafeBytes { x in b.bytes.withUnsafeBytes { y in x.isEmpty || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0 } }
    }

    public static func < (a: Key, b: Key) -> Bool {
        a.bytes.withUnsafeBytes { x in
            b.bytes.withUnsafeBytes { y in
                let n = min(x.count, y.count)
                let c = n == 0 ? 0 : memcmp(x.baseAddress!, y.baseAddress!, n)
                return c != 0 ? c < 0 : x.count < y.count
            }
        }
    }

    /// The key as text.
    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// The first 16 bytes of `b` as two big-endian integers (zero-padded), which order as the bytes do:
    /// byte strings whose prefixes differ order as their prefixes.
    static func prefix16(_ b: UnsafeRawBufferPointer) -> (UInt64, UInt64) {
        var p = (UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &p) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: b[0..<min(16, b.count)])) }
        return (UInt64(bigEndian: p.0), UInt64(bigEndian: p.1))
    }
}

/// A contribution to a tally.
public struct Contribution: Sendable, Equatable {
    /// The tally's key.
    public var key: Key
    /// What is added.
    public var tally: Tally

    /// Adds `counters` (and `samples`) under `key`.
    public init(_ key: String, _ counters: [Int64], samples: [Int64] = []) {
        self.init(Key(bytes: Array(key.utf8)), counters, samples: samples)
    }

    /// Adds `counters` (and `samples`) under `key` (see ``RowKey/key(_:)``).
    public init(_ key: Key, _ counters: [Int64], samples: [Int64] = []) {
        self.key = key
        self.tally = Tally(counters: counters, samples: samples)
    }
}

/// Keys of projection tables: parts joined by U+001F (unit separator), which no name contains, so
/// prefixes group as they should and parts can be split back.
public enum RowKey {
    /// The separator.
    public static let separator: Character = "\u{1F}"

    /// Joins parts into a key.
    public static func make(_ parts: String...) -> String { String(decoding: bytes(parts), as: UTF8.self) }

    /// Joins parts into a key's bytes (what ``make(_:)`` gives, without making a string of it first:
    /// projections make one or two for every row they write).
    public static func key(_ parts: String...) -> Key { Key(bytes: bytes(parts)) }

    private static func bytes(_ parts: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(parts.reduce(parts.count) { $0 + $1.utf8.count })
        for (i, part) in parts.enumerated() {
            if i > 0 { bytes.append(0x1F) }
            bytes.append(contentsOf: part.utf8)
        }
        return bytes
    }

    /// Splits a key into its parts.
    public static func parts(_ key: String) -> [String] { key.split(separator: separator, omittingEmptySubsequences: false).map(String.init) }

    /// The month (`2026-03`) of a time, in China Standard Time (UTC+8), where the casework happens.
    public static func month(_ ms: Int64) -> String {
        let (y, m, _) = CivilDate.fromDays((ms + 8 * 3_600_000).floorDiv(86_400_000))
        guard (1000...9999).contains(y) else { return "\(y)-" + (m < 10 ? "0\(m)" : "\(m)") }
        // Written digit by digit (a string of seven ASCII bytes is held inline): interpolation cost more
        // than the rest of a row's contributions.
        func digit(_ d: Int64) -> UInt8 { UInt8(truncatingIfNeeded: 0x30 + d) }
        return String(unsafeUninitializedCapacity: 7) { b in
            b[0] = digit(y / 1000); b[1] = digit(y / 100 % 10); b[2] = digit(y / 10 % 10); b[3] = digit(y % 10)
            b[4] = UInt8(ascii: "-"); b[5] = digit(m / 10); b[6] = digit(m % 10)
            return 7
        }
    }
}

extension Int64 {
    func floorDiv(_ d: Int64) -> Int64 {
        let q = self / d
        return (self % d != 0 && (self < 0) != (d < 0)) ? q - 1 : q
    }
}
