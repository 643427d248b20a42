import CasebookLog

/// The type of a case data field, a command data field, or a guard expression.
public indirect enum FieldType: Sendable, Hashable, CustomStringConvertible {
    /// A short single-line string (names, ids).
    case string
    /// Free text.
    case text
    /// A 64-bit integer.
    case integer
    /// Money in fen (分), an integer: 1 yuan = 100 fen. Never floating point.
    case money
    /// A calendar date (no time of day), e.g. a legal due date.
    case date
    /// An instant (UTC milliseconds), e.g. when a command was issued.
    case datetime
    /// true or false.
    case boolean
    /// One of a fixed set of string values.
    case enumeration([String])
    /// A list of values of one type.
    case list(FieldType)
    /// The id of a case of another workflow (by workflow name).
    case reference(workflow: String)

    public var description: String {
        switch self {
        case .string: return "string"
        case .text: return "text"
        case .integer: return "integer"
        case .money: return "money"
        case .date: return "date"
        case .datetime: return "datetime"
        case .boolean: return "boolean"
        case .enumeration(let values): return "enum(\(values.joined(separator: ", ")))"
        case .list(let element): return "list(\(element))"
        case .reference(let workflow): return "reference(\(workflow))"
        }
    }
}

/// A runtime value of case data, command data, or an expression.
public indirect enum Value: Sendable, Hashable, CustomStringConvertible {
    /// Absent / not set.
    case null
    /// A string, text, enumeration value or case reference.
    case string(String)
    /// An integer.
    case integer(Int64)
    /// Money, in fen.
    case money(Int64)
    /// A date, as days since 1970-01-01.
    case date(Int64)
    /// An instant.
    case datetime(Timestamp)
    /// A boolean.
    case boolean(Bool)
    /// A list.
    case list([Value])

    /// True unless the value is ``null``.
    public var isSet: Bool { self != .null }

    public var description: String {
        switch self {
        case .null: return "null"
        case .string(let s): return "\"\(s)\""
        case .integer(let i): return String(i)
        case .money(let fen): return Value.formatFen(fen)
        case .date(let day):
            let (y, m, d) = CivilDate.fromDays(day)
            func pad(_ v: Int64, _ w: Int) -> String { String(repeating: "0", count: max(0, w - String(v).count)) + String(v) }
            return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))"
        case .datetime(let t): return t.iso8601
        case .boolean(let b): return b ? "true" : "false"
        case .list(let items): return "[" + items.map(\.description).joined(separator: ", ") + "]"
        }
    }

    /// `¥12.34` style text for an amount in fen (exact; negative amounts keep their sign).
    public static func formatFen(_ fen: Int64) -> String { yuan(fen, symbol: true, grouped: false) }

    /// Yuan, exactly, from an amount in fen: `-1,234.56` (`symbol` puts `¥` after the sign; `grouped`
    /// separates thousands).
    public static func yuan(_ fen: Int64, symbol: Bool = false, grouped: Bool = true) -> String {
        let whole = fen.magnitude / 100, cents = fen.magnitude % 100
        return (fen < 0 ? "-" : "") + (symbol ? "¥" : "") + (grouped ? groupThousands(whole) : String(whole))
            + "." + (cents < 10 ? "0" : "") + String(cents)
    }

    /// Digits grouped by thousands: `1,234,567`.
    public static func groupThousands(_ n: UInt64) -> String {
        var digits = String(n), grouped = ""
        while digits.count > 3 {
            grouped = "," + digits.suffix(3) + grouped
            digits = String(digits.dropLast(3))
        }
        return digits + grouped
    }
}
