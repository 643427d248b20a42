import CasebookLog
import Foundation

/// A JSON value, keeping booleans, whole numbers and other numbers apart (as `JSONSerialization` on
/// Linux does not).
public enum JSONValue: Sendable, Hashable, Codable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// Parses JSON text.
    public static func parse(_ text: String) throws -> JSONValue {
        var text = text
        return try text.withUTF8 { try parse(UnsafeRawBufferPointer($0)) }
    }

    /// Parses JSON bytes.
    public static func parse(_ data: Data) throws -> JSONValue {
        try data.withUnsafeBytes { try parse($0) }
    }

    /// Parses JSON bytes in place: a strict RFC 8259 parser (one value, optional whitespace around it)
    /// that keeps whole numbers apart from other numbers and booleans apart from both. It is the
    /// engine's hot path (every case load folds its payloads), about twenty times faster than going
    /// through Foundation.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSONValue {
        var p = JSONParser(bytes)
        p.skipSpace()
        let value = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == bytes.count else { throw p.error("the end of the text") }
        return value
    }

    /// Compact JSON with sorted keys: the same value always gives the same bytes.
    public var json: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d): out += d.isFinite ? "\(d)" : "null"
        case .string(let s): Self.quote(s, into: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            // Sorted by key (the members themselves, so that each value is not looked up again by its key).
            for (i, member) in members.sorted(by: { $0.key < $1.key }).enumerated() {
                if i > 0 { out += "," }
                Self.quote(member.key, into: &out)
                out += ":"
                member.value.write(to: &out)
            }
            out += "}"
        }
    }

    private static func quote(_ s: String, into out: inout String) {
        out += "\""
        // Most strings need no escaping: append them whole (scanning their bytes in place when they are contiguous).
        func special(_ c: UInt8) -> Bool { c == 0x22 || c == 0x5C || c < 0x20 }
        let plain = s.utf8.withContiguousStorageIfAvailable { !$0.contains(where: special) } ?? !s.utf8.contains(where: special)
        if plain {
            out += s
            out += "\""
            return
        }
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(u)
            }
        }
        out += "\""
    }

    public var description: String { json }

    /// The members of an object, or nil.
    public var object: [String: JSONValue]? { if case .object(let o) = self { return o } else { return nil } }
    /// The text of a string, or nil.
    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    /// The items of an array, or nil.
    public var array: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
}

/// Converts between ``Value``s and the JSON that commands carry and events store, guided by the
/// declared field types: money is integer fen, dates `YYYY-MM-DD`, datetimes ISO 8601.
public enum ValueCoding {
    /// Why a JSON value does not fit a field.
    public struct Mismatch: Error, Sendable, Hashable, CustomStringConvertible {
        /// The field.
        public var field: String
        /// What was expected.
        public var expected: FieldType
        /// What was given (as JSON text).
        public var given: String

        public var description: String {
            "'\(field)' must be \(expected)\(ValueCoding.example(expected).map { " (e.g. \($0))" } ?? ""), not \(given)"
        }
    }

    static func example(_ type: FieldType) -> String? {
        switch type {
        case .money: return "12345 for ¥123.45: money is given in fen"
        case .date: return "\"2026-03-02\""
        case .datetime: return "\"2026-03-02T09:30:00+08:00\""
        case .enumeration(let values): return values.prefix(3).map { "\"\($0)\"" }.joined(separator: " or ")
        default: return nil
        }
    }

    /// Decodes a JSON value as a value of `type`.
    public static func decode(_ json: JSONValue, as type: FieldType, field: String) throws(Mismatch) -> Value {
        // Built only when thrown: this runs for every field of every event folded.
        var mismatch: Mismatch { Mismatch(field: field, expected: type, given: json.json) }
        if json == .null { return .null }
        switch (type, json) {
        case (.string, .string(let s)), (.text, .string(let s)), (.reference, .string(let s)):
            return .string(s)
        case (.enumeration(let values), .string(let s)) where values.contains(s):
            return .string(s)
        case (.integer, .int(let i)): return .integer(i)
        case (.money, .int(let i)): return .money(i)
        case (.boolean, .bool(let b)): return .boolean(b)
        case (.date, .string(let s)) where s.count == 10:
            guard let t = Timestamp(iso8601: s) else { throw mismatch }
            return .date(t.millisecondsSince1970 / 86_400_000)
        case (.datetime, .string(let s)) where s.count > 10:
            guard let t = Timestamp(iso8601: s) else { throw mismatch }
            return .datetime(t)
        case (.list(let element), .array(let items)):
            var out: [Value] = []
            out.reserveCapacity(items.count)
            for (i, item) in items.enumerated() {
                do {
                    out.append(try decode(item, as: element, field: field))
                } catch {
                    throw Mismatch(field: "\(field)[\(i)]" + error.field.dropFirst(field.count), expected: error.expected, given: error.given)
                }
            }
            return .list(out)
        default:
            throw mismatch
        }
    }

    /// The JSON form of a value.
    public static func encode(_ value: Value) -> JSONValue {
        switch value {
        case .null: return .null
        case .string(let s): return .string(s)
        case .integer(let i), .money(let i): return .int(i)
        case .boolean(let b): return .bool(b)
        case .date: return .string(value.description)
        case .datetime(let t): return .string(t.iso8601)
        case .list(let items): return .array(items.map(encode))
        }
    }

    /// Encodes a map of values as a JSON object.
    public static func encode(_ values: [String: Value]) -> JSONValue {
        .object(values.mapValues(encode))
    }
}

/// Malformed JSON: where, and what was expected there.
public struct JSONSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The byte offset.
    public var offset: Int
    /// What was expected.
    public var expected: String
    public var description: String { "malformed JSON at byte \(offset): expected \(expected)" }
}

/// The recursive-descent parser behind ``JSONValue/parse(_:)-(UnsafeRawBufferPointer)``.
struct JSONParser {
    let b: UnsafeRawBufferPointer
    var i = 0
    /// The member names and values of the objects being read, innermost last (see ``value(depth:)``).
    var names: [String] = []
    var values: [JSONValue] = []
    static let maxDepth = 512

    init(_ bytes: UnsafeRawBufferPointer) { b = bytes }

    func error(_ expected: String) -> JSONSyntaxError { JSONSyntaxError(offset: i, expected: expected) }

    @inline(__always) var peek: UInt8 { i < b.count ? b[i] : 0 }

    mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    mutating func literal(_ word: StaticString, _ value: JSONValue) throws(JSONSyntaxError) -> JSONValue {
        let n = word.utf8CodeUnitCount
        guard i + n <= b.count else { throw error("\(word)") }
        for k in 0..<n where b[i + k] != word.utf8Start[k] { throw error("\(word)") }
        i += n
        return value
    }

    mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth < Self.maxDepth else { throw error("less nesting") }
        switch peek {
        case UInt8(ascii: "{"):
            guard try beginObject(depth: depth) else { return .object([:]) }
            // Members are gathered first so the dictionary is made once at its size (no rehashing as it
            // grows). They go on one stack shared by every object of the text (a nested object's members
            // are pushed above its parent's and taken off before the parent goes on), so parsing a
            // payload does not allocate a members array per object.
            if names.capacity == 0 {
                names.reserveCapacity(16)
                values.reserveCapacity(16)
            }
            let base = names.count
            repeat {
                let name = try memberName().string
                // The value first: a nested object uses (and empties again) the stacks above this object's members.
                let member = try value(depth: depth + 1)
                names.append(name)
                values.append(member)
            } while try nextMember()
            // A repeated name keeps its last value.
            var object = [String: JSONValue](minimumCapacity: names.count - base)
            for k in base..<names.count { object[names[k]] = values[k] }
            names.removeSubrange(base...)
            values.removeSubrange(base...)
            return .object(object)
        case UInt8(ascii: "["):
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if peek == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                if peek == UInt8(ascii: ",") { i += 1; continue }
                guard peek == UInt8(ascii: "]") else { throw error("',' or ']'") }
                i += 1
                return .array(items)
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("a value")
        }
    }

    /// An object member's name as ``memberName()`` reads it: its bytes in the text, or, if it is written
    /// with escapes, the decoded string. Compared and made into a `String` only when wanted.
    struct MemberName {
        /// The name's bytes between its quotes (when it has no escapes).
        let raw: UnsafeRawBufferPointer
        /// The decoded name, when it has escapes.
        let decoded: String?
        /// Its length in UTF-8 bytes.
        let count: Int

        /// The name.
        var string: String { decoded ?? String(decoding: raw, as: UTF8.self) }

        /// Whether the name is `word`.
        @inline(__always) func `is`(_ word: StaticString) -> Bool {
            let n = word.utf8CodeUnitCount, w = word.utf8Start
            if let decoded { return decoded.utf8.elementsEqual(UnsafeBufferPointer(start: w, count: n)) }
            guard raw.count == n else { return false }
            for k in 0..<n where raw[k] != w[k] { return false }
            return true
        }
    }

    /// Starts reading an object at its `{` (as ``value(depth:)`` at `depth` would): true if a member follows
    /// (read it with ``memberName()``, its value at `depth + 1`, then ``nextMember()``), false if the object
    /// is empty (then read whole).
    mutating func beginObject(depth: Int) throws(JSONSyntaxError) -> Bool {
        guard depth < Self.maxDepth else { throw error("less nesting") }
        guard peek == UInt8(ascii: "{") else { throw error("an object") }
        i += 1
        skipSpace()
        if peek == UInt8(ascii: "}") { i += 1; return false }
        return true
    }

    /// Reads a member's name and the `:` after it; the parser then stands at the member's value.
    mutating func memberName() throws(JSONSyntaxError) -> MemberName {
        skipSpace()
        guard peek == UInt8(ascii: "\"") else { throw error("a member name") }
        let start = i + 1
        var j = start
        while j < b.count {
            let c = b[j]
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c < 0x20 { break }
            j += 1
        }
        let name: MemberName
        if j < b.count, b[j] == UInt8(ascii: "\"") {
            name = MemberName(raw: UnsafeRawBufferPointer(rebasing: b[start..<j]), decoded: nil, count: j - start)
            i = j + 1
        } else {
            // Escapes (or an error): the string reader decodes the name, or says what is wrong.
            let decoded = try string()
            name = MemberName(raw: UnsafeRawBufferPointer(start: nil, count: 0), decoded: decoded, count: decoded.utf8.count)
        }
        if peek == UInt8(ascii: ":") {
            i += 1  // the compact form the engine writes
        } else {
            skipSpace()
            guard peek == UInt8(ascii: ":") else { throw error("':'") }
            i += 1
        }
        skipSpace()
        return name
    }

    /// After a member's value: true if another member follows (its `,` read), false at the object's end
    /// (its `}` read).
    mutating func nextMember() throws(JSONSyntaxError) -> Bool {
        skipSpace()
        if peek == UInt8(ascii: ",") { i += 1; return true }
        guard peek == UInt8(ascii: "}") else { throw error("',' or '}'") }
        i += 1
        return false
    }

    /// Passes over one value, checking it as ``value(depth:)`` would read it, without building it.
    mutating func skip(depth: Int) throws(JSONSyntaxError) {
        guard depth < Self.maxDepth else { throw error("less nesting") }
        switch peek {
        case UInt8(ascii: "{"):
            guard try beginObject(depth: depth) else { return }
            repeat {
                _ = try memberName()
                try skip(depth: depth + 1)
            } while try nextMember()
        case UInt8(ascii: "["):
            i += 1
            skipSpace()
            if peek == UInt8(ascii: "]") { i += 1; return }
            while true {
                skipSpace()
                try skip(depth: depth + 1)
                skipSpace()
                if peek == UInt8(ascii: ",") { i += 1; continue }
                guard peek == UInt8(ascii: "]") else { throw error("',' or ']'") }
                i += 1
                return
            }
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "t"): _ = try literal("true", .bool(true))
        case UInt8(ascii: "f"): _ = try literal("false", .bool(false))
        case UInt8(ascii: "n"): _ = try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try number()
        default: throw error("a value")
        }
    }

    /// Passes over a string starting at its opening quote, checking it as ``string()`` does.
    mutating func skipString() throws(JSONSyntaxError) {
        i += 1
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") { i += 1; return }
            guard c >= 0x20 else { throw error("no control character in a string") }
            i += 1
            guard c == UInt8(ascii: "\\") else { continue }
            let e = peek
            i += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"),
                 UInt8(ascii: "r"), UInt8(ascii: "t"):
                continue
            case UInt8(ascii: "u"):
                let scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar), peek == UInt8(ascii: "\\"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "u") {
                    i += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("a low surrogate") }
                }
            default:
                i -= 1
                throw error("an escape sequence")
            }
        }
        throw error("a closing quote")
    }

    mutating func number() throws(JSONSyntaxError) -> JSONValue {
        let start = i
        if peek == UInt8(ascii: "-") { i += 1 }
        guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(peek) else { throw error("a digit") }
        if peek == UInt8(ascii: "0") { i += 1 } else { while (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(peek) { i += 1 } }
        var integral = true
        if peek == UInt8(ascii: ".") {
            integral = false
            i += 1
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(peek) else { throw error("a digit after '.'") }
            while (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(peek) { i += 1 }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            integral = false
            i += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { i += 1 }
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(peek) else { throw error("an exponent") }
            while (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(peek) { i += 1 }
        }
        // Up to 18 digits cannot overflow: read them directly (what `Int64(text)` gives, without the string).
        if integral {
            let negative = b[start] == UInt8(ascii: "-")
            let first = negative ? start + 1 : start
            if i - first <= 18 {
                var n: Int64 = 0
                for k in first..<i { n = n &* 10 &+ Int64(b[k] &- UInt8(ascii: "0")) }
                return .int(negative ? -n : n)
            }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
        if integral, let n = Int64(text) { return .int(n) }
        guard let d = Double(text) else { throw JSONSyntaxError(offset: start, expected: "a number") }
        if d == d.rounded(), let n = Int64(exactly: d) { return .int(n) }
        return .double(d)
    }

    mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard i + 4 <= b.count else { throw error("four hex digits") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error("a hex digit")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    /// A string starting at its opening quote.
    mutating func string() throws(JSONSyntaxError) -> String {
        i += 1
        let start = i
        // Fast path: no escapes.
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
                i += 1
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            guard c >= 0x20 else { throw error("no control character in a string") }
            i += 1
        }
        var out = [UInt8](UnsafeRawBufferPointer(rebasing: b[start..<i]))
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return String(decoding: out, as: UTF8.self)
            }
            guard c >= 0x20 else { throw error("no control character in a string") }
            if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
            i += 1
            let e = peek
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800...0xDBFF).contains(scalar), peek == UInt8(ascii: "\\"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "u") {
                    i += 2
                    let low = try hex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("a low surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                let u = Unicode.Scalar(scalar) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default:
                i -= 1
                throw error("an escape sequence")
            }
        }
        throw error("a closing quote")
    }
}
