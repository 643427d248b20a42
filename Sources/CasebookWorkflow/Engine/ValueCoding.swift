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
        try parse(Data(text.utf8))
    }

    /// Parses JSON bytes (Foundation's parser, then booleans told apart from numbers by their type).
    public static func parse(_ data: Data) throws -> JSONValue {
        from(try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]))
    }

    private static func from(_ any: Any) -> JSONValue {
        switch any {
        case let s as String: return .string(s)
        case let n as NSNumber:
            let kind = String(cString: n.objCType)
            if kind == "c" || kind == "B" { return .bool(n.boolValue) }
            if kind == "d" || kind == "f" {
                let d = n.doubleValue
                if d == d.rounded(), let i = Int64(exactly: d) { return .int(i) }
                return .double(d)
            }
            return .int(n.int64Value)
        case let a as [Any]: return .array(a.map(from))
        case let o as [String: Any]: return .object(o.mapValues(from))
        default: return .null
        }
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
            for (i, key) in members.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                Self.quote(key, into: &out)
                out += ":"
                members[key]!.write(to: &out)
            }
            out += "}"
        }
    }

    private static func quote(_ s: String, into out: inout String) {
        out += "\""
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
        let mismatch = Mismatch(field: field, expected: type, given: json.json)
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
            for (i, item) in items.enumerated() { out.append(try decode(item, as: element, field: "\(field)[\(i)]")) }
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
