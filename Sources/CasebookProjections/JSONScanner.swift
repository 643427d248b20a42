import CasebookWorkflow
import Foundation

/// A payload that is not the JSON the engine writes.
public struct MalformedPayload: Error, Sendable, CustomStringConvertible {
    /// The byte offset where reading failed.
    public var offset: Int
    /// What was expected there.
    public var expected: String
    public var description: String { "malformed JSON payload at byte \(offset): expected \(expected)" }
}

/// Reads JSON in place, without building a tree: the projections' fast path over event payloads.
/// Values are addressed by the byte offset where they start; only the strings and numbers a caller
/// asks for are materialised.
struct JSONScanner {
    let bytes: UnsafeRawBufferPointer

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    @inline(__always) private func at(_ i: Int) -> UInt8 { i < bytes.count ? bytes[i] : 0 }

    @inline(__always) func skipSpace(_ i: Int) -> Int {
        var i = i
        while i < bytes.count {
            let c = bytes[i]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { break }
            i += 1
        }
        return i
    }

    private func fail(_ i: Int, _ expected: String) -> MalformedPayload { MalformedPayload(offset: i, expected: expected) }

    /// The offset just past the string whose opening quote is at `i`.
    func stringEnd(_ i: Int) throws(MalformedPayload) -> Int { try scanString(i).end }

    /// The offset just past the string whose opening quote is at `i`, and whether it holds a backslash
    /// (an escape). The bytes are looked at eight at a time: most strings in a payload are short, and a
    /// call to memchr for each (then another for backslashes) cost more than they do.
    private func scanString(_ i: Int) throws(MalformedPayload) -> (end: Int, escaped: Bool) {
        guard at(i) == UInt8(ascii: "\"") else { throw fail(i, "a string") }
        let base = bytes.baseAddress!
        var j = i + 1
        while j + 8 <= bytes.count {
            let word = UInt64(littleEndian: (base + j).loadUnaligned(as: UInt64.self))
            let quotes = Self.zeroBytes(word ^ 0x2222_2222_2222_2222)
            let backslashes = Self.zeroBytes(word ^ 0x5C5C_5C5C_5C5C_5C5C)
            if quotes | backslashes != 0 {
                // The lowest flagged byte of each is exact: the first quote, the first backslash.
                if backslashes != 0 && (quotes == 0 || backslashes.trailingZeroBitCount < quotes.trailingZeroBitCount) {
                    return (try escapedStringEnd(i), true)
                }
                return (j + quotes.trailingZeroBitCount / 8 + 1, false)
            }
            j += 8
        }
        while j < bytes.count {
            if bytes[j] == UInt8(ascii: "\"") { return (j + 1, false) }
            if bytes[j] == UInt8(ascii: "\\") { return (try escapedStringEnd(i), true) }
            j += 1
        }
        throw fail(i, "a closing quote")
    }

    /// Flags (0x80) the bytes of `x` that are zero; the lowest flag is exact (higher ones may not be).
    @inline(__always) private static func zeroBytes(_ x: UInt64) -> UInt64 {
        (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
    }

    /// ``stringEnd(_:)`` for a string with a backslash in it.
    private func escapedStringEnd(_ i: Int) throws(MalformedPayload) -> Int {
        let base = bytes.baseAddress!
        var j = i + 1
        while j < bytes.count {
            // The next quote (memchr is vectorised); it closes the string unless an odd run of
            // backslashes escapes it.
            guard let hit = memchr(base + j, Int32(UInt8(ascii: "\"")), bytes.count - j) else { break }
            let q = base.distance(to: UnsafeRawPointer(hit))
            var slashes = 0
            while q - 1 - slashes > i && bytes[q - 1 - slashes] == UInt8(ascii: "\\") { slashes += 1 }
            if slashes % 2 == 0 { return q + 1 }
            j = q + 1
        }
        throw fail(i, "a closing quote")
    }

    /// The offset just past the value starting at `i` (after spaces).
    func valueEnd(_ i: Int) throws(MalformedPayload) -> Int {
        let i = skipSpace(i)
        switch at(i) {
        case UInt8(ascii: "\""): return try stringEnd(i)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            var j = i
            while j < bytes.count {
                let c = bytes[j]
                if c == UInt8(ascii: "\"") { j = try stringEnd(j); continue }
                if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") { depth += 1 }
                if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                    depth -= 1
                    if depth == 0 { return j + 1 }
                }
                j += 1
            }
            throw fail(i, "the end of a container")
        default:
            var j = i
            while j < bytes.count {
                let c = bytes[j]
                if c == UInt8(ascii: ",") || c == UInt8(ascii: "}") || c == UInt8(ascii: "]") || c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { break }
                j += 1
            }
            guard j > i else { throw fail(i, "a value") }
            return j
        }
    }

    /// A walk through the members of an object or the elements of an array, one at a time: see
    /// ``walk(object:)``, ``nextMember(_:)``, ``nextElement(_:)`` and ``after(_:valueEnd:)``. For hot
    /// loops, where a closure called per member would cost more than reading the member.
    struct Walk {
        /// Where the next member's key (or element) starts, or (between ``nextMember(_:)`` and
        /// ``after(_:valueEnd:)``) the current value; past the container once it is done.
        var next: Int
        var done: Bool
        /// `}` or `]`.
        let close: UInt8
    }

    /// Starts a walk through the object at `i`.
    func walk(object i: Int) throws(MalformedPayload) -> Walk { try walk(i, open: UInt8(ascii: "{"), close: UInt8(ascii: "}"), "an object") }

    /// Starts a walk through the array at `i`.
    func walk(array i: Int) throws(MalformedPayload) -> Walk { try walk(i, open: UInt8(ascii: "["), close: UInt8(ascii: "]"), "an array") }

    private func walk(_ i: Int, open: UInt8, close: UInt8, _ what: String) throws(MalformedPayload) -> Walk {
        var j = skipSpace(i)
        guard at(j) == open else { throw fail(j, what) }
        j = skipSpace(j + 1)
        if at(j) == close { return Walk(next: j + 1, done: true, close: close) }
        return Walk(next: j, done: false, close: close)
    }

    /// The next member of an object's walk: its key's bytes (`bytes[keyStart..<keyEnd]`, without quotes;
    /// member names the engine writes need no escapes) and where its value starts; nil when the walk is done.
    /// Each member must be followed by ``after(_:valueEnd:)``.
    @inline(__always) func nextMember(_ w: inout Walk) throws(MalformedPayload) -> (keyStart: Int, keyEnd: Int, value: Int)? {
        guard !w.done else { return nil }
        let keyEnd = try stringEnd(w.next)
        var v = skipSpace(keyEnd)
        guard at(v) == UInt8(ascii: ":") else { throw fail(v, "':'") }
        v = skipSpace(v + 1)
        defer { w.next = v }
        return (w.next + 1, keyEnd - 1, v)
    }

    /// Where the next element of an array's walk starts; nil when the walk is done. Each element must be
    /// followed by ``after(_:valueEnd:)``.
    @inline(__always) func nextElement(_ w: inout Walk) -> Int? { w.done ? nil : w.next }

    /// Moves the walk past the current value, which ends at `end` if the caller read it through (so
    /// that it is not looked through a second time), then past the comma or the closing bracket.
    @inline(__always) func after(_ w: inout Walk, valueEnd end: Int?) throws(MalformedPayload) {
        var j: Int
        if let end { j = end } else { j = try valueEnd(w.next) }
        j = skipSpace(j)
        if at(j) == UInt8(ascii: ",") {
            w.next = skipSpace(j + 1)
        } else if at(j) == w.close {
            w.next = j + 1
            w.done = true
        } else {
            throw fail(j, w.close == UInt8(ascii: "}") ? "',' or '}'" : "',' or ']'")
        }
    }

    /// Calls `body(valueStart)` for each element of the array at `i`; `body` returns the offset just
    /// past the element if it read it through, or nil. Returns the offset just past the array.
    @discardableResult
    func elements(_ i: Int, _ body: (Int) throws -> Int?) throws -> Int {
        var w = try walk(array: i)
        while let v = nextElement(&w) { try after(&w, valueEnd: try body(v)) }
        return w.next
    }

    /// A member name of up to 8 bytes as one integer (its bytes, little-endian, zero-padded), for
    /// switching on; 0 for a longer or empty one, or one ending in a zero byte (which would read as a
    /// shorter name).
    @inline(__always) func shortName(_ start: Int, _ end: Int) -> UInt64 {
        let n = end - start
        // A trailing zero byte would make it read as a shorter name.
        guard n > 0 && n <= 8 && bytes[end - 1] != 0 else { return 0 }
        if start + 8 <= bytes.count {
            let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: start, as: UInt64.self))
            return n == 8 ? word : word & ((1 << (8 * UInt64(n))) - 1)
        }
        var word: UInt64 = 0
        for k in 0..<n { word |= UInt64(bytes[start + k]) << (8 * UInt64(k)) }
        return word
    }

    /// The raw bytes between `start` and `end` as a String.
    func text(_ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }

    /// The string at `i`, unescaped; nil if the value is not a string.
    func string(_ i: Int) throws -> String? {
        guard let (start, end, escaped) = try stringBounds(i) else { return nil }
        if !escaped { return text(start, end) }
        // Rare: the engine's JSON reader unescapes it.
        guard let s = try? JSONValue.parse(UnsafeRawBufferPointer(rebasing: bytes[i..<(end + 1)])).string else { throw fail(i, "a string") }
        return s
    }

    /// Where the contents of the string at `i` start and end (between its quotes), and whether it holds
    /// an escape; nil if the value is not a string.
    func stringBounds(_ i: Int) throws(MalformedPayload) -> (start: Int, end: Int, escaped: Bool)? {
        guard at(i) == UInt8(ascii: "\"") else { return nil }
        let (after, escaped) = try scanString(i)
        return (i + 1, after - 1, escaped)
    }

    /// The integer at `i`; nil if the value is not an integer.
    func int(_ i: Int) -> Int64? {
        var j = i
        var negative = false
        if at(j) == UInt8(ascii: "-") { negative = true; j += 1 }
        var value: Int64 = 0
        var digits = 0
        while j < bytes.count {
            let c = bytes[j]
            guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else { break }
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(c - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            value = a
            digits += 1
            j += 1
        }
        guard digits > 0 else { return nil }
        if j < bytes.count, bytes[j] == UInt8(ascii: ".") || bytes[j] == UInt8(ascii: "e") || bytes[j] == UInt8(ascii: "E") { return nil }
        return negative ? -value : value
    }

    /// The boolean at `i`; nil if the value is not a boolean.
    func bool(_ i: Int) -> Bool? {
        switch at(i) {
        case UInt8(ascii: "t"): return true
        case UInt8(ascii: "f"): return false
        default: return nil
        }
    }
}
