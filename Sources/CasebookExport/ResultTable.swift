import CasebookLog
import CasebookProjections
import CasebookWorkflow
import Foundation

/// One value in a query's result.
public enum Cell: Sendable, Hashable {
    /// Text.
    case text(String)
    /// A count or other integer.
    case int(Int64)
    /// Money in integer fen (shown as yuan in tables; fen in JSON and CSV).
    case fen(Int64)
    /// A time in ms since the epoch; 0 means "not (yet)".
    case time(Int64)
    /// Yes or no.
    case flag(Bool)
    /// A ratio of two integer counts (`part` of `whole`), worked out in integers: shown as a percentage
    /// rounded half up to 0.1% in tables, as a fraction rounded half up to four decimals in JSON and CSV;
    /// unset when `whole` is 0. Exact, so the same counts always show the same figures.
    case ratio(Int64, of: Int64)
    /// No value (e.g. the handling time of a request not completed).
    case empty

    /// Orders cells of the same kind (numbers numerically, text by its Unicode scalars, unset times and
    /// rates first).
    public static func ascending(_ a: Cell, _ b: Cell) -> Bool {
        switch (a, b) {
        case let (.text(x), .text(y)): return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars)
        case let (.int(x), .int(y)), let (.fen(x), .fen(y)), let (.time(x), .time(y)): return x < y
        case let (.flag(x), .flag(y)): return !x && y
        case let (.ratio(p, of: w), .ratio(q, of: v)):
            if w == 0 || v == 0 { return w == 0 && v != 0 }
            return p * v < q * w
        case (.empty, .empty): return false
        case (.empty, _): return true
        case (_, .empty): return false
        default: return a.plain < b.plain
        }
    }

    /// The value as plain text, as CSV writes it: fen and integers as digits, times as ISO 8601 (UTC),
    /// flags as `true`/`false`, rates with four decimals; unset times and rates empty.
    public var plain: String {
        switch self {
        case .text(let s): return s
        case .int(let i), .fen(let i): return String(i)
        case .time(let t): return t == 0 ? "" : Timestamp(millisecondsSince1970: t).iso8601
        case .flag(let b): return b ? "true" : "false"
        case .ratio(let p, of: let w): return Self.fraction(p, w) ?? ""
        case .empty: return ""
        }
    }

    /// The value as a terminal table shows it: money as yuan with two decimals, times in China time
    /// (UTC+8) to the minute, rates as percentages, flags as "yes" or empty.
    public var display: String {
        switch self {
        case .text(let s): return s
        case .int(let i): return String(i)
        case .fen(let f): return Value.yuan(f)
        case .time(let t): return t == 0 ? "–" : Self.chinaTime(t)
        case .flag(let b): return b ? "yes" : ""
        case .ratio(let p, of: let w): return Self.percentage(p, w) ?? "–"
        case .empty: return "–"
        }
    }

    /// The value as JSON.
    public var json: String {
        switch self {
        case .text(let s): return JSONText.quote(s)
        case .int(let i), .fen(let i): return String(i)
        case .time(let t): return t == 0 ? "null" : JSONText.quote(Timestamp(millisecondsSince1970: t).iso8601)
        case .flag(let b): return b ? "true" : "false"
        case .ratio(let p, of: let w): return Self.fraction(p, w) ?? "null"
        case .empty: return "null"
        }
    }

    /// Whether numbers are right-aligned in a table.
    var isNumeric: Bool {
        switch self {
        case .int, .fen, .ratio: return true
        default: return false
        }
    }

    /// `part / whole` rounded half up to `digits` decimal places and scaled by 10^`digits` (nil when `whole`
    /// is not positive or `part` is negative): integers only.
    static func scaled(_ part: Int64, _ whole: Int64, digits: Int) -> Int64? {
        guard whole > 0, part >= 0 else { return nil }
        var scale: Int64 = 1
        for _ in 0..<digits { scale *= 10 }
        return (2 * part * scale + whole) / (2 * whole)
    }

    /// `87.1%`: `part / whole` as a percentage with one decimal, rounded half up in integers.
    public static func percentage(_ part: Int64, _ whole: Int64) -> String? {
        scaled(part, whole, digits: 3).map { "\($0 / 10).\($0 % 10)%" }
    }

    /// `0.8714`: `part / whole` with four decimals, rounded half up in integers.
    static func fraction(_ part: Int64, _ whole: Int64) -> String? {
        scaled(part, whole, digits: 4).map { v in
            let digits = String(v % 10_000)
            return "\(v / 10_000)." + String(repeating: "0", count: 4 - digits.count) + digits
        }
    }

    /// `2026-03-02 09:00` in China Standard Time.
    static func chinaTime(_ ms: Int64) -> String {
        let iso = Timestamp(millisecondsSince1970: ms + 8 * 3_600_000).iso8601  // YYYY-MM-DDTHH:MM:SS.mmmZ
        return String(iso.prefix(10)) + " " + String(iso.dropFirst(11).prefix(5))
    }
}

/// Money amounts given on the command line (shown with ``Value/yuan(_:symbol:grouped:)``).
public enum Money {
    /// Parses an amount into fen: `1400` or `1400.5` or `1400yuan` (yuan, at most two decimals), or
    /// `140000fen`. Nil for anything else.
    public static func parse(_ text: String) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        if t.hasSuffix("fen") {
            return Int64(t.dropLast(3).trimmingCharacters(in: .whitespaces))
        }
        var y = t.hasSuffix("yuan") ? String(t.dropLast(4)).trimmingCharacters(in: .whitespaces) : t
        if y.hasSuffix("元") { y = String(y.dropLast()) }
        let negative = y.hasPrefix("-")
        if negative { y.removeFirst() }
        let parts = y.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = Int64(parts[0]), whole >= 0, !parts[0].isEmpty else { return nil }
        var cents: Int64 = 0
        if parts.count == 2 {
            let frac = parts[1]
            guard (1...2).contains(frac.count), frac.allSatisfy(\.isASCII), let c = Int64(frac) else { return nil }
            cents = frac.count == 1 ? c * 10 : c
        }
        let (product, overflow) = whole.multipliedReportingOverflow(by: 100)
        guard !overflow else { return nil }
        return (negative ? -1 : 1) * (product + cents)
    }
}

/// JSON text helpers.
public enum JSONText {
    /// A JSON string literal.
    public static func quote(_ s: String) -> String {
        JSONValue.string(s).json  // the engine's JSON writer: one set of escaping rules
    }
}

/// How a query's result is written.
public enum OutputFormat: String, Sendable, CaseIterable {
    /// Aligned columns for a terminal (widths by display width, so Chinese text lines up).
    case table
    /// A JSON array of objects, keys in column order.
    case json
    /// RFC 4180 CSV with a header line.
    case csv
}

/// Rows of named columns: what every query and report returns, filtered, sorted and written alike.
public struct ResultTable: Sendable, Hashable {
    /// The column names.
    public var columns: [String]
    /// The rows, each with one cell per column.
    public var rows: [[Cell]]

    /// A table.
    public init(columns: [String], rows: [[Cell]] = []) {
        self.columns = columns
        self.rows = rows
    }

    /// The index of a column; throws naming the columns there are.
    public func index(of column: String) throws -> Int {
        guard let i = columns.firstIndex(of: column) else { throw QueryError.unknownColumn(column, known: columns) }
        return i
    }

    /// The cells of one column.
    public func column(_ name: String) throws -> [Cell] {
        let i = try index(of: name)
        return rows.map { $0[i] }
    }

    /// The rows that pass `filter`.
    public func filtered(_ filter: TableFilter) throws -> ResultTable {
        let tests = try filter.conditions.map { c in (try index(of: c.column), c.test) }
        return ResultTable(columns: columns, rows: rows.filter { row in tests.allSatisfy { $0.1(row[$0.0]) } })
    }

    /// Sorted by a column (stably: rows that compare equal keep their order).
    public func sorted(by column: String, descending: Bool = false) throws -> ResultTable {
        let i = try index(of: column)
        let order = rows.indices.sorted { a, b in
            let (x, y) = (rows[a][i], rows[b][i])
            if Cell.ascending(x, y) { return !descending }
            if Cell.ascending(y, x) { return descending }
            return a < b
        }
        return ResultTable(columns: columns, rows: order.map { rows[$0] })
    }

    /// The first `limit` rows.
    public func limited(_ limit: Int?) -> ResultTable {
        guard let limit, limit >= 0 else { return self }
        return ResultTable(columns: columns, rows: Array(rows.prefix(limit)))
    }

    /// The table written in `format`, ending with a newline.
    public func render(_ format: OutputFormat) -> String {
        switch format {
        case .table: return renderTable()
        case .json: return renderJSON()
        case .csv: return renderCSV()
        }
    }

    func renderTable() -> String {
        let shown = rows.map { $0.map(\.display) }
        var widths = columns.map(DisplayWidth.of)
        for row in shown { for (i, s) in row.enumerated() { widths[i] = max(widths[i], DisplayWidth.of(s)) } }
        let right = columns.indices.map { i in rows.contains { $0[i].isNumeric } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { DisplayWidth.pad($1, to: widths[$0], alignRight: right[$0]) }.joined(separator: "  ")
                .replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        var out = line(columns) + "\n" + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for row in shown { out += line(row) + "\n" }
        out += "(\(rows.count) row\(rows.count == 1 ? "" : "s"))\n"
        return out
    }

    func renderJSON() -> String {
        let keys = columns.map(JSONText.quote)
        let objects = rows.map { row in "{" + zip(keys, row).map { "\($0):\($1.json)" }.joined(separator: ",") + "}" }
        return "[" + objects.joined(separator: ",\n") + "]\n"
    }

    func renderCSV() -> String {
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var out = columns.map(field).joined(separator: ",") + "\r\n"
        for row in rows { out += row.map { field($0.plain) }.joined(separator: ",") + "\r\n" }
        return out
    }
}

/// Conditions on a result's columns; a row passes when it meets them all.
public struct TableFilter: Sendable {
    /// One condition on one column.
    public struct Condition: Sendable {
        /// The column.
        public var column: String
        /// What it asks of the column's cell.
        public var test: @Sendable (Cell) -> Bool
        /// A readable form, for access records (`community=新河社区`).
        public var description: String
    }

    /// The conditions.
    public var conditions: [Condition] = []

    /// No conditions.
    public init() {}

    /// The column's text equals `value`.
    public mutating func equals(_ column: String, _ value: String) {
        conditions.append(Condition(column: column, test: { $0.plain == value }, description: "\(column)=\(value)"))
    }

    /// The time column falls in `period`: a month (`2026-03`), a year (`2026`) or any prefix of a
    /// month, in China time; unset times never match.
    public mutating func period(_ column: String, _ period: String) {
        conditions.append(Condition(column: column, test: { cell in
            guard case .time(let t) = cell, t != 0 else { return false }
            return RowKey.month(t).hasPrefix(period)
        }, description: "\(column) in \(period)"))
    }

    /// The flag column is set (or, with `false`, not set).
    public mutating func flag(_ column: String, _ value: Bool = true) {
        conditions.append(Condition(column: column, test: { $0 == .flag(value) }, description: "\(column)=\(value)"))
    }

    /// The numeric (or money, in fen) column is within `min...max` (either bound may be absent).
    public mutating func range(_ column: String, min: Int64?, max: Int64?) {
        guard min != nil || max != nil else { return }
        conditions.append(Condition(column: column, test: { cell in
            let v: Int64
            switch cell {
            case .int(let x), .fen(let x): v = x
            default: return false
            }
            return (min.map { v >= $0 } ?? true) && (max.map { v <= $0 } ?? true)
        }, description: "\(column) in \(min.map(String.init) ?? "")...\(max.map(String.init) ?? "")"))
    }
}

/// Errors of queries, reports and exports.
public enum QueryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No column has this name.
    case unknownColumn(String, known: [String])
    /// No report has this name.
    case unknownReport(String, known: [String])
    /// An as-of point past the log's head.
    case beyondHead(UInt64, head: UInt64)

    public var description: String {
        switch self {
        case let .unknownColumn(c, known): return "no column '\(c)'; the columns are \(known.joined(separator: ", "))"
        case let .unknownReport(r, known): return "no report '\(r)'; the reports are \(known.joined(separator: ", "))"
        case let .beyondHead(p, head): return "position \(p) is past the log's head (\(head) events)"
        }
    }
}
