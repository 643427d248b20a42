import CasebookLog
import Foundation
import Yams

// The calendar file format (`Workflows/calendars/*.yaml`):
//
//     calendar: cn                      # required: the name workflows refer to ([a-z][a-z0-9_-]*)
//     title: 中国法定节假日与调休         # optional
//     utcOffset: "+08:00"               # required: ±HH:MM; local days and end-of-day use it
//     weekend: [saturday, sunday]       # optional, default [saturday, sunday]
//     years:                            # required: one entry per covered year
//       2026:
//         source: 国务院办公厅关于2026年部分节假日安排的通知   # required: where the dates come from
//         holidays:                     # required (may be []): periods off, inclusive
//           - { name: 元旦 New Year, from: 2026-01-01, to: 2026-01-03 }   # `to` defaults to `from`
//         workdays: [2026-01-04]        # optional: weekend days that are worked (调休)
//
// Several files may define the same calendar (e.g. `cn-2026.yaml`, `cn-2027.yaml`), each with its own
// years; ``CalendarSet`` merges them.

extension WorkingCalendar {
    /// Reads and validates a calendar file.
    ///
    /// - Throws: ``DiagnosticList`` with every problem found (each at file:line:column, with a hint).
    public static func load(path: String) throws(DiagnosticList) -> WorkingCalendar {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw DiagnosticList([Diagnostic(at: SourceLocation(file: path, line: 1, column: 1),
                                             "cannot read calendar file: \(error.localizedDescription)",
                                             hint: "check that the file exists, is readable and is UTF-8")])
        }
        return try parse(yaml: text, file: path)
    }

    /// Parses and validates calendar YAML; `file` is used in diagnostics.
    ///
    /// Checked: YAML syntax, unknown and missing keys (the diagnostic lists the allowed keys), the
    /// calendar name, the UTC offset (`±HH:MM`, at most 14 hours), weekday names, year keys
    /// (four digits, each once), dates (strict `YYYY-MM-DD`, real days, inside their year), holiday
    /// ranges (`from ≤ to`, no two holidays sharing a day), and swapped working days (each a weekend
    /// day, listed once, not inside a holiday).
    ///
    /// - Throws: ``DiagnosticList`` with every problem found, sorted by position.
    public static func parse(yaml: String, file: String) throws(DiagnosticList) -> WorkingCalendar {
        var reader = CalendarFileReader(file: file, text: yaml)
        let calendar = reader.read()
        guard let calendar, reader.diagnostics.isEmpty else {
            throw DiagnosticList(reader.diagnostics)
        }
        return calendar
    }
}

/// Reads one calendar file, collecting every problem rather than stopping at the first.
private struct CalendarFileReader {
    let file: String
    let text: String
    var diagnostics: [Diagnostic] = []

    static let topKeys = ["calendar", "title", "utcOffset", "weekend", "years"]
    static let yearKeys = ["source", "holidays", "workdays"]
    static let holidayKeys = ["name", "from", "to"]
    static let dateHint = "write dates as YYYY-MM-DD (e.g. 2026-02-14) and use a real calendar day"

    init(file: String, text: String) {
        self.file = file
        self.text = text
    }

    // MARK: Helpers

    func location(_ node: Node) -> SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    mutating func error(_ at: SourceLocation, _ message: String, hint: String? = nil) {
        diagnostics.append(Diagnostic(at: at, message, hint: hint))
    }

    mutating func error(_ node: Node, _ message: String, hint: String? = nil) {
        error(location(node), message, hint: hint)
    }

    static func kind(_ node: Node) -> String {
        switch node {
        case .scalar: return "a single value"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    static func isNull(_ node: Node) -> Bool {
        if case .scalar(let s) = node, s.style == .plain, ["", "~", "null", "Null", "NULL"].contains(s.string) { return true }
        return false
    }

    /// The key/value pairs of a mapping in file order; reports a non-mapping, non-scalar keys,
    /// unknown keys (listing the allowed ones) and missing required keys.
    mutating func entries(_ node: Node, what: String, allowed: [String], required: [(String, String)])
        -> [String: (key: Node, value: Node)]?
    {
        guard case .mapping(let map) = node else {
            error(node, "\(what) must be a mapping of `key: value` entries, not \(Self.kind(node))",
                  hint: "allowed keys: \(allowed.joined(separator: ", "))")
            return nil
        }
        var result: [String: (key: Node, value: Node)] = [:]
        for (key, value) in map {
            guard case .scalar(let scalar) = key else {
                error(key, "a key in \(what) must be a plain name, not \(Self.kind(key))")
                continue
            }
            let name = scalar.string
            guard allowed.contains(name) else {
                let near = closest(name, among: allowed).map { "did you mean '\($0)'? " } ?? ""
                error(key, "unknown key '\(name)' in \(what)", hint: "\(near)allowed keys: \(allowed.joined(separator: ", "))")
                continue
            }
            result[name] = (key, value)
        }
        for (key, hint) in required where result[key] == nil {
            error(node, "missing key '\(key)' in \(what)", hint: hint)
        }
        return result
    }

    /// A scalar's text, or a diagnostic.
    mutating func scalar(_ node: Node, what: String, hint: String? = nil) -> String? {
        guard case .scalar(let s) = node else {
            error(node, "\(what) must be a single value, not \(Self.kind(node))", hint: hint)
            return nil
        }
        return s.string
    }

    /// A list's items, or a diagnostic.
    mutating func list(_ node: Node, what: String, hint: String) -> [Node]? {
        guard case .sequence(let seq) = node else {
            error(node, "\(what) must be a list, not \(Self.kind(node))", hint: hint)
            return nil
        }
        return Array(seq)
    }

    /// A strict `YYYY-MM-DD` date inside `year`, or a diagnostic.
    mutating func date(_ node: Node, what: String, year: Int) -> Int64? {
        guard let text = scalar(node, what: what, hint: Self.dateHint) else { return nil }
        guard let day = WorkingCalendar.parse(day: text) else {
            error(node, "invalid date '\(text)'", hint: Self.dateHint)
            return nil
        }
        let actual = WorkingCalendar.year(of: day)
        guard actual == year else {
            error(node, "\(text) is not in year \(year)",
                  hint: "list each date under the year it falls in (here `\(actual):`), even if the notice for \(year) announced it")
            return nil
        }
        return day
    }

    func closest(_ name: String, among candidates: [String]) -> String? {
        Suggest.closest(name, among: candidates)
    }

    // MARK: The file

    mutating func read() -> WorkingCalendar? {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                error(SourceLocation(file: file, line: 1, column: 1), "the calendar file is empty",
                      hint: "a calendar file starts with `calendar: <name>`; see Workflows/calendars/cn-2026.yaml")
                return nil
            }
            root = node
        } catch let yamlError as YamlError {
            diagnostics.append(yamlDiagnostic(yamlError))
            return nil
        } catch {
            self.error(SourceLocation(file: file, line: 1, column: 1), "cannot read YAML: \(error)")
            return nil
        }

        guard let top = entries(root, what: "the calendar file", allowed: Self.topKeys, required: [
            ("calendar", "name the calendar, e.g. `calendar: cn`; workflows refer to it by this name"),
            ("utcOffset", "give the offset of local time, e.g. `utcOffset: \"+08:00\"` for China"),
            ("years", "list the covered years under `years:`, each with its holidays and swapped workdays"),
        ]) else { return nil }

        var name: String?
        if let entry = top["calendar"], let text = scalar(entry.value, what: "the calendar name") {
            if Self.isValidName(text) {
                name = text
            } else {
                error(entry.value, "invalid calendar name '\(text)'",
                      hint: "use lowercase letters, digits, '-' and '_', starting with a letter (e.g. `cn`)")
            }
        }

        var title: String?
        if let entry = top["title"] { title = scalar(entry.value, what: "the title") }

        var offset: Int?
        if let entry = top["utcOffset"], let text = scalar(entry.value, what: "utcOffset") {
            offset = Self.parseOffset(text)
            if offset == nil {
                error(entry.value, "invalid utcOffset '\(text)'",
                      hint: "write the offset as a quoted \"±HH:MM\", at most 14 hours, e.g. \"+08:00\" for China")
            }
        }

        var weekend: Set<WorkingCalendar.Weekday> = [.saturday, .sunday]
        var weekendLocation = location(root)
        if let entry = top["weekend"] {
            weekendLocation = location(entry.value)
            weekend = readWeekend(entry.value)
        }

        var rules: [Int: WorkingCalendar.YearRules] = [:]
        var yearLocations: [Int: SourceLocation] = [:]
        if let entry = top["years"] {
            readYears(entry.value, weekend: weekend, into: &rules, locations: &yearLocations)
        }

        guard let name, let offset, diagnostics.isEmpty else { return nil }
        return WorkingCalendar(
            name: name, title: title, utcOffsetMinutes: offset, weekend: weekend, rules: rules,
            provenance: .init(file: file, offset: location(top["utcOffset"]!.value), weekend: weekendLocation, years: yearLocations))
    }

    static func isValidName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, ("a"..."z").contains(first) else { return false }
        return text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
    }

    /// Minutes east of UTC for `±HH:MM`, |offset| ≤ 14:00.
    static func parseOffset(_ text: String) -> Int? {
        let c = Array(text.utf8)
        guard c.count == 6, c[0] == 43 || c[0] == 45, c[3] == 58,
              c.enumerated().allSatisfy({ [1, 2, 4, 5].contains($0.offset) ? (48...57).contains($0.element) : true })
        else { return nil }
        let hours = Int(c[1] - 48) * 10 + Int(c[2] - 48)
        let minutes = Int(c[4] - 48) * 10 + Int(c[5] - 48)
        guard minutes < 60, hours * 60 + minutes <= 14 * 60 else { return nil }
        return (c[0] == 45 ? -1 : 1) * (hours * 60 + minutes)
    }

    mutating func readWeekend(_ node: Node) -> Set<WorkingCalendar.Weekday> {
        let names = WorkingCalendar.Weekday.allCases.map(\.name)
        let hint = "use weekday names: \(names.joined(separator: ", "))"
        guard let items = list(node, what: "weekend", hint: "write e.g. `weekend: [saturday, sunday]`") else { return [] }
        var result: Set<WorkingCalendar.Weekday> = []
        for item in items {
            guard let text = scalar(item, what: "a weekend day", hint: hint) else { continue }
            guard let day = WorkingCalendar.Weekday.allCases.first(where: { $0.name == text }) else {
                let near = closest(text, among: names).map { "did you mean '\($0)'? " } ?? ""
                error(item, "unknown weekday '\(text)'", hint: near + hint)
                continue
            }
            if result.contains(day) {
                error(item, "'\(text)' is listed twice in weekend", hint: "list each weekend day once")
            }
            result.insert(day)
        }
        if result.count == 7 {
            error(node, "every day of the week is a weekend day", hint: "list only the days that are not worked")
        }
        return result
    }

    mutating func readYears(_ node: Node, weekend: Set<WorkingCalendar.Weekday>,
                            into rules: inout [Int: WorkingCalendar.YearRules], locations: inout [Int: SourceLocation]) {
        guard case .mapping(let map) = node else {
            error(node, "years must be a mapping from year to its rules, not \(Self.kind(node))",
                  hint: "write `years:` then `  2026:` with `source`, `holidays` and `workdays` under it")
            return
        }
        if map.isEmpty {
            error(node, "no years are defined", hint: "add at least one year, e.g. `2026:` with its holidays and workdays")
        }
        for (key, value) in map {
            guard case .scalar(let scalar) = key, scalar.string.utf8.count == 4,
                  scalar.string.utf8.allSatisfy({ (48...57).contains($0) }), let year = Int(scalar.string), year >= 1000 else {
                error(key, "invalid year '\(key.scalar?.string ?? Self.kind(key))'", hint: "years are four-digit numbers, e.g. `2026:`")
                continue
            }
            if let first = locations[year] {
                error(key, "year \(year) is defined twice",
                      hint: "the first is at line \(first.line), column \(first.column); put all of a year's holidays and workdays under one `\(year):`")
                continue
            }
            locations[year] = location(key)
            if let yearRules = readYear(year, value, weekend: weekend) { rules[year] = yearRules }
        }
    }

    mutating func readYear(_ year: Int, _ node: Node, weekend: Set<WorkingCalendar.Weekday>) -> WorkingCalendar.YearRules? {
        let what = "year \(year)"
        guard let fields = entries(node, what: what, allowed: Self.yearKeys, required: [
            ("source", "cite the official notice the dates come from, e.g. `source: 国务院办公厅关于\(year)年部分节假日安排的通知`"),
            ("holidays", "list the holiday periods, e.g. `- { name: 元旦 New Year, from: \(year)-01-01, to: \(year)-01-03 }` (or `holidays: []`)"),
        ]) else { return nil }
        let before = diagnostics.count

        var source = ""
        if let entry = fields["source"], let text = scalar(entry.value, what: "source") {
            source = text
            if text.trimmingCharacters(in: .whitespaces).isEmpty {
                error(entry.value, "source is empty", hint: "cite the official notice the dates come from")
            }
        }

        // Holidays.
        var holidays: [(holiday: WorkingCalendar.Holiday, at: SourceLocation)] = []
        if let entry = fields["holidays"],
           let items = list(entry.value, what: "holidays",
                            hint: "write one `- { name: …, from: YYYY-MM-DD, to: YYYY-MM-DD }` per line, or `holidays: []`") {
            for item in items {
                guard let h = entries(item, what: "a holiday", allowed: Self.holidayKeys, required: [
                    ("name", "name the holiday, e.g. `name: 春节 Spring Festival`"),
                    ("from", "give the first day off, e.g. `from: \(year)-02-15`"),
                ]) else { continue }
                var name: String?
                if let n = h["name"], let text = scalar(n.value, what: "a holiday name") {
                    if text.trimmingCharacters(in: .whitespaces).isEmpty {
                        error(n.value, "a holiday name is empty", hint: "name the holiday, e.g. `name: 春节 Spring Festival`")
                    } else {
                        name = text
                    }
                }
                let from = h["from"].flatMap { date($0.value, what: "a holiday's `from`", year: year) }
                let to = h["to"] == nil ? from : date(h["to"]!.value, what: "a holiday's `to`", year: year)
                guard let name, let from, let to else { continue }
                guard from <= to else {
                    error(h["to"]!.value,
                          "holiday '\(name)' ends on \(WorkingCalendar.format(day: to)), before it starts on \(WorkingCalendar.format(day: from))",
                          hint: "`from` is the first day off and `to` the last")
                    continue
                }
                holidays.append((WorkingCalendar.Holiday(name: name, from: from, to: to), location(item)))
            }
        }
        holidays.sort { ($0.holiday.from, $0.at) < ($1.holiday.from, $1.at) }
        for (a, b) in zip(holidays, holidays.dropFirst()) where b.holiday.from <= a.holiday.to {
            error(b.at,
                  "holiday '\(b.holiday.name)' (\(Self.span(b.holiday))) overlaps holiday '\(a.holiday.name)' (\(Self.span(a.holiday)))",
                  hint: "holiday periods must not share days; the other is at line \(a.at.line)")
        }

        // Swapped working days.
        var workdays: [Int64: SourceLocation] = [:]
        if let entry = fields["workdays"] {
            let items = Self.isNull(entry.value) ? []
                : list(entry.value, what: "workdays", hint: "write `workdays: [YYYY-MM-DD, …]`, or `workdays: []`") ?? []
            let weekendNames = weekend.sorted().map(\.name).joined(separator: ", ")
            for item in items {
                guard let day = date(item, what: "a workday", year: year) else { continue }
                let text = WorkingCalendar.format(day: day)
                if let first = workdays[day] {
                    error(item, "workday \(text) is listed twice", hint: "the first is at line \(first.line), column \(first.column)")
                    continue
                }
                workdays[day] = location(item)
                let weekday = WorkingCalendar.Weekday(day: day)
                if !weekend.contains(weekday) {
                    error(item, "workday \(text) is a \(weekday), not a weekend day",
                          hint: "`workdays` lists only weekend days (\(weekendNames.isEmpty ? "none" : weekendNames)) that are worked (调休); other days are working days unless they are holidays")
                }
                if let holiday = holidays.first(where: { $0.holiday.contains(day) }) {
                    error(item, "workday \(text) falls in holiday '\(holiday.holiday.name)' (\(Self.span(holiday.holiday)))",
                          hint: "a day is either off or worked: check the official notice (the holiday is at line \(holiday.at.line))")
                }
            }
        }

        guard diagnostics.count == before else { return nil }
        return WorkingCalendar.YearRules(year: year, source: source, holidays: holidays.map(\.holiday), workdays: Set(workdays.keys))
    }

    static func span(_ h: WorkingCalendar.Holiday) -> String {
        h.from == h.to ? WorkingCalendar.format(day: h.from)
            : "\(WorkingCalendar.format(day: h.from)) to \(WorkingCalendar.format(day: h.to))"
    }

    // MARK: YAML errors

    func yamlDiagnostic(_ error: YamlError) -> Diagnostic {
        func at(_ mark: Mark) -> SourceLocation { SourceLocation(file: file, line: mark.line, column: mark.column) }
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let during = context.map { " (\($0.text) at line \($0.mark.line), column \($0.mark.column))" } ?? ""
            return Diagnostic(at: at(mark), "YAML syntax error: \(problem)\(during)", hint: "check indentation, colons and quoting on this line")
        case let .duplicatedKeysInMapping(duplicates, context):
            let key = duplicates.first ?? "?"
            let first = at(context.mark)
            let second = secondOccurrence(of: key, after: context.mark) ?? first
            let what = key.utf8.count == 4 && Int(key) != nil ? "year \(key) is defined twice" : "key '\(key)' appears twice in the same mapping"
            return Diagnostic(at: second, what,
                              hint: second == first ? "merge the entries into one" : "the first is at line \(first.line), column \(first.column); merge the entries into one")
        default:
            return Diagnostic(at: SourceLocation(file: file, line: 1, column: 1), "cannot read YAML: \(error)")
        }
    }

    /// Where a duplicated block-mapping key appears again: the next line that has `key:` at the same
    /// column as the first, with only spaces before it. Nil if not found (e.g. flow mappings).
    func secondOccurrence(of key: String, after mark: Mark) -> SourceLocation? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard mark.line >= 1, mark.line <= lines.count else { return nil }
        for index in mark.line..<lines.count {
            let line = Array(lines[index].unicodeScalars)
            let indent = mark.column - 1
            guard line.count > indent, line[..<indent].allSatisfy({ $0 == " " }) else { continue }
            let rest = String(String.UnicodeScalarView(line[indent...]))
            if rest.hasPrefix(key + ":") || rest.hasPrefix("\"\(key)\":") || rest.hasPrefix("'\(key)':") {
                return SourceLocation(file: file, line: index + 1, column: mark.column)
            }
        }
        return nil
    }
}
