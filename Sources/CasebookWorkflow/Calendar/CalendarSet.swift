import Foundation

/// The calendars of a directory (normally `Workflows/calendars/`), by name.
///
/// Every `*.yaml` / `*.yml` file in the directory is a calendar file. Files naming the same calendar
/// (e.g. `cn-2026.yaml` and `cn-2027.yaml`, both `calendar: cn`) are merged into one calendar covering
/// all their years; they must agree on `utcOffset` and `weekend`, and no year may be defined twice.
public struct CalendarSet: Sendable {
    /// The calendars, by name.
    public let calendars: [String: WorkingCalendar]

    /// The calendar names, sorted.
    public var names: [String] { calendars.keys.sorted() }

    /// A set of calendars, merging those with the same name.
    ///
    /// - Throws: ``DiagnosticList`` if calendars of the same name conflict.
    public init(_ calendars: [WorkingCalendar]) throws(DiagnosticList) {
        var merged: [String: WorkingCalendar] = [:]
        var diagnostics: [Diagnostic] = []
        for calendar in calendars {
            if let existing = merged[calendar.name] {
                merged[calendar.name] = Self.merge(existing, calendar, diagnostics: &diagnostics)
            } else {
                merged[calendar.name] = calendar
            }
        }
        guard diagnostics.isEmpty else { throw DiagnosticList(diagnostics) }
        self.calendars = merged
    }

    /// Loads every calendar file of a directory, in file-name order.
    ///
    /// - Throws: ``DiagnosticList`` with the problems of every file (and of merging them).
    public static func load(directory: String) throws(DiagnosticList) -> CalendarSet {
        let files: [String]
        do {
            files = try FileManager.default.contentsOfDirectory(atPath: directory)
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
                .sorted()
        } catch {
            throw DiagnosticList([Diagnostic(at: SourceLocation(file: directory, line: 1, column: 1),
                                             "cannot read the calendar directory: \(error.localizedDescription)",
                                             hint: "calendars live in Workflows/calendars/, one YAML file per calendar (or per calendar year)")])
        }
        var calendars: [WorkingCalendar] = []
        var diagnostics: [Diagnostic] = []
        let base = directory.hasSuffix("/") ? directory : directory + "/"
        for name in files {
            do {
                calendars.append(try WorkingCalendar.load(path: base + name))
            } catch {
                diagnostics += error.diagnostics
            }
        }
        var set: CalendarSet?
        do {
            set = try CalendarSet(calendars)
        } catch {
            diagnostics += error.diagnostics
        }
        guard let set, diagnostics.isEmpty else { throw DiagnosticList(diagnostics) }
        return set
    }

    /// The calendar named `name`.
    public func calendar(named name: String) throws(CalendarError) -> WorkingCalendar {
        guard let calendar = calendars[name] else { throw .unknownCalendar(name: name, known: names) }
        return calendar
    }

    /// The calendar named `name`, if loaded.
    public subscript(name: String) -> WorkingCalendar? { calendars[name] }

    private static func merge(_ a: WorkingCalendar, _ b: WorkingCalendar, diagnostics: inout [Diagnostic]) -> WorkingCalendar {
        let before = diagnostics.count
        if a.utcOffsetMinutes != b.utcOffsetMinutes {
            diagnostics.append(Diagnostic(
                at: b.provenance.offset,
                "calendar '\(b.name)' has utcOffset \(b.utcOffset) here but \(a.utcOffset) at \(a.provenance.offset)",
                hint: "all files of one calendar must use the same offset"))
        }
        if a.weekend != b.weekend {
            func list(_ w: Set<WorkingCalendar.Weekday>) -> String { "[" + w.sorted().map(\.name).joined(separator: ", ") + "]" }
            diagnostics.append(Diagnostic(
                at: b.provenance.weekend,
                "calendar '\(b.name)' has weekend \(list(b.weekend)) here but \(list(a.weekend)) at \(a.provenance.weekend)",
                hint: "all files of one calendar must use the same weekend"))
        }
        for year in b.years where a.covers(year: year) {
            diagnostics.append(Diagnostic(
                at: b.provenance.years[year] ?? b.provenance.offset,
                "year \(year) of calendar '\(b.name)' is already defined at \(a.provenance.years[year].map(\.description) ?? a.provenance.file)",
                hint: "define each year of a calendar in exactly one file"))
        }
        guard diagnostics.count == before else { return a }
        var rules = a.rules
        var years = a.provenance.years
        for (year, r) in b.rules { rules[year] = r }
        for (year, l) in b.provenance.years { years[year] = l }
        var provenance = a.provenance
        provenance.years = years
        return WorkingCalendar(name: a.name, title: a.title ?? b.title, utcOffsetMinutes: a.utcOffsetMinutes,
                               weekend: a.weekend, rules: rules, provenance: provenance)
    }
}
