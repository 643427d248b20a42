import CasebookLog

/// An error from a calendar question the calendar cannot answer.
public enum CalendarError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The question needs a day of `year`, and the calendar has no holidays and swaps for it. The
    /// calendar never guesses ("weekends only"): official holidays and swapped working days are known
    /// only once the State Council publishes them.
    case yearNotCovered(calendar: String, year: Int)
    /// A count of days was negative.
    case negativeCount(Int)
    /// No calendar of that name is loaded.
    case unknownCalendar(name: String, known: [String])

    public var description: String {
        switch self {
        case let .yearNotCovered(calendar, year):
            return "calendar '\(calendar)' does not cover \(year): its holidays and weekend swaps are not loaded "
                + "(add Workflows/calendars/\(calendar)-\(year).yaml from the official notice for \(year))"
        case let .negativeCount(n):
            return "cannot count \(n) days: the count must be zero or more"
        case let .unknownCalendar(name, known):
            return "unknown calendar '\(name)'" + (known.isEmpty ? " (no calendars are loaded)" : " (known: \(known.joined(separator: ", ")))")
        }
    }
}

/// A working-day calendar: which days are worked, in one fixed UTC offset.
///
/// A day is a **working day** if it is listed as a swapped working day, or else if it is neither a
/// holiday nor a weekend day. Days are *local* days in the calendar's UTC offset, identified by their
/// day number (days since 1970-01-01). Every question about a day of a year the calendar does not
/// cover throws ``CalendarError/yearNotCovered(calendar:year:)``: the calendar never assumes that a
/// year has no holidays.
///
/// Calendars are loaded from YAML (see ``parse(yaml:file:)``) and are immutable values.
public struct WorkingCalendar: Sendable {
    /// The name workflows refer to (`calendar: cn`).
    public let name: String
    /// A human title, if given.
    public let title: String?
    /// The offset of local time from UTC, in minutes (China: +480).
    public let utcOffsetMinutes: Int
    /// The days of the week that are not worked unless swapped.
    public let weekend: Set<Weekday>
    /// The covered years' rules, by year.
    public let rules: [Int: YearRules]

    // Where things were written, for diagnostics when calendars from several files are merged.
    let provenance: Provenance

    /// Each covered year's working days as bits (bit `i`: the year's day `first + i` is worked), in order of
    /// year, worked out once from the rules so that clocks counting hundreds of days ask no more than a bit.
    private let worked: [(first: Int64, days: Int, bits: [UInt64])]

    struct Provenance: Sendable {
        var file: String
        var offset: SourceLocation
        var weekend: SourceLocation
        var years: [Int: SourceLocation]
    }

    init(name: String, title: String?, utcOffsetMinutes: Int, weekend: Set<Weekday>, rules: [Int: YearRules], provenance: Provenance) {
        self.name = name
        self.title = title
        self.utcOffsetMinutes = utcOffsetMinutes
        self.weekend = weekend
        self.rules = rules
        self.provenance = provenance
        worked = rules.keys.sorted().map { year in
            let first = CivilDate.toDays(year: Int64(year), month: 1, day: 1)
            let days = Int(CivilDate.toDays(year: Int64(year) + 1, month: 1, day: 1) - first)
            var bits = [UInt64](repeating: 0, count: (days + 63) / 64)
            for i in 0..<days where Self.kind(of: first + Int64(i), in: rules[year]!, weekend: weekend).isWorking {
                bits[i >> 6] |= 1 << UInt64(i & 63)
            }
            return (first, days, bits)
        }
    }

    /// The covered years, ascending (not necessarily contiguous).
    public var years: [Int] { rules.keys.sorted() }

    /// True if the calendar knows the holidays and swaps of `year`.
    public func covers(year: Int) -> Bool { rules[year] != nil }

    /// The offset as text, `+08:00`.
    public var utcOffset: String { Self.formatOffset(utcOffsetMinutes) }

    private var offsetMilliseconds: Int64 { Int64(utcOffsetMinutes) * 60_000 }

    // MARK: Days

    /// The year of a day number.
    static func year(of day: Int64) -> Int { Int(CivilDate.fromDays(day).year) }

    /// The rules for the year of `day`, or the not-covered error.
    private func rules(for day: Int64) throws(CalendarError) -> YearRules {
        let year = Self.year(of: day)
        guard let rules = rules[year] else { throw .yearNotCovered(calendar: name, year: year) }
        return rules
    }

    /// What kind of day `day` (days since 1970-01-01) is. Throws if its year is not covered.
    public func kind(of day: Int64) throws(CalendarError) -> DayKind {
        Self.kind(of: day, in: try rules(for: day), weekend: weekend)
    }

    /// What kind of day `day` is under its year's rules and the weekend.
    private static func kind(of day: Int64, in rules: YearRules, weekend: Set<Weekday>) -> DayKind {
        if rules.workdays.contains(day) { return .swappedWorkingDay }
        if let holiday = rules.holidays.first(where: { $0.contains(day) }) { return .holiday(holiday.name) }
        return weekend.contains(Weekday(day: day)) ? .weekend : .workingDay
    }

    /// True if `day` (days since 1970-01-01) is worked. Throws if its year is not covered.
    public func isWorkingDay(_ day: Int64) throws(CalendarError) -> Bool {
        for year in worked where day >= year.first && day < year.first + Int64(year.days) {
            let i = Int(day - year.first)
            return year.bits[i >> 6] & (1 << UInt64(i & 63)) != 0
        }
        return try kind(of: day).isWorking  // a year not covered: its error
    }

    /// The local day (days since 1970-01-01 in the calendar's offset) an instant falls on.
    public func localDay(of time: Timestamp) -> Int64 {
        let local = time.millisecondsSince1970 + offsetMilliseconds
        return local >= 0 ? local / 86_400_000 : -((-local + 86_399_999) / 86_400_000)
    }

    /// The first millisecond of a local day.
    public func startOfDay(_ day: Int64) -> Timestamp {
        Timestamp(millisecondsSince1970: day * 86_400_000 - offsetMilliseconds)
    }

    /// The last millisecond of a local day (`23:59:59.999` local time).
    public func endOfDay(_ day: Int64) -> Timestamp {
        Timestamp(millisecondsSince1970: (day + 1) * 86_400_000 - offsetMilliseconds - 1)
    }

    /// The `n`th working day strictly after `day`; `day` itself is never counted, and `n == 0` returns
    /// `day` unchanged. Only the days examined (after `day`, up to the result) must be covered.
    public func addWorkingDays(_ n: Int, after day: Int64) throws(CalendarError) -> Int64 {
        guard n >= 0 else { throw .negativeCount(n) }
        var current = day
        var remaining = n
        while remaining > 0 {
            current += 1
            if try isWorkingDay(current) { remaining -= 1 }
        }
        return current
    }

    /// The number of working days `d` with `from ≤ d ≤ through` (zero if `from > through`). Every day in
    /// the range must be covered.
    public func workingDays(from: Int64, through: Int64) throws(CalendarError) -> Int {
        guard from <= through else { return 0 }
        var count = 0
        var day = from
        while day <= through {
            if try isWorkingDay(day) { count += 1 }
            day += 1
        }
        return count
    }

    /// The holiday period `day` falls in, if any. Throws if its year is not covered.
    public func holiday(on day: Int64) throws(CalendarError) -> Holiday? {
        try rules(for: day).holidays.first { $0.contains(day) }
    }

    // MARK: Text

    /// `YYYY-MM-DD` for a day number.
    public static func format(day: Int64) -> String {
        let (y, m, d) = CivilDate.fromDays(day)
        func pad(_ v: Int64, _ w: Int) -> String { String(repeating: "0", count: max(0, w - String(v).count)) + String(v) }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))"
    }

    /// The day number of a strict `YYYY-MM-DD` date, or nil if it is malformed or not a real day.
    public static func parse(day text: String) -> Int64? {
        let c = Array(text.utf8)
        guard c.count == 10, c[4] == 45, c[7] == 45 else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var v: Int64 = 0
            for i in range {
                guard c[i] >= 48, c[i] <= 57 else { return nil }
                v = v * 10 + Int64(c[i] - 48)
            }
            return v
        }
        guard let y = number(0..<4), let m = number(5..<7), let d = number(8..<10),
              (1...12).contains(m), d >= 1, d <= CivilDate.daysInMonth(year: y, month: m) else { return nil }
        return CivilDate.toDays(year: y, month: m, day: d)
    }

    /// `+08:00` for +480 minutes.
    static func formatOffset(_ minutes: Int) -> String {
        let sign = minutes < 0 ? "-" : "+"
        let m = abs(minutes)
        return "\(sign)\(m / 60 < 10 ? "0" : "")\(m / 60):\(m % 60 < 10 ? "0" : "")\(m % 60)"
    }
}

extension WorkingCalendar {
    /// A day of the week, ISO numbering (Monday = 1 … Sunday = 7).
    public enum Weekday: Int, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
        case monday = 1, tuesday, wednesday, thursday, friday, saturday, sunday

        /// The weekday of a day number (days since 1970-01-01, which was a Thursday).
        public init(day: Int64) {
            let index = ((day + 3) % 7 + 7) % 7  // 0 = Monday
            self = Weekday(rawValue: Int(index) + 1)!
        }

        /// The lowercase English name, as written in calendar files.
        public var name: String {
            switch self {
            case .monday: return "monday"
            case .tuesday: return "tuesday"
            case .wednesday: return "wednesday"
            case .thursday: return "thursday"
            case .friday: return "friday"
            case .saturday: return "saturday"
            case .sunday: return "sunday"
            }
        }

        public var description: String { name.prefix(1).uppercased() + name.dropFirst() }

        public static func < (a: Weekday, b: Weekday) -> Bool { a.rawValue < b.rawValue }
    }

    /// An official holiday period: every day from `from` through `to` (inclusive) is a day off.
    public struct Holiday: Sendable, Hashable {
        /// Its name, e.g. `春节 Spring Festival`.
        public var name: String
        /// First day off (days since 1970-01-01).
        public var from: Int64
        /// Last day off, inclusive.
        public var to: Int64

        /// A holiday period.
        public init(name: String, from: Int64, to: Int64) {
            self.name = name
            self.from = from
            self.to = to
        }

        /// True if `day` is one of its days.
        public func contains(_ day: Int64) -> Bool { from <= day && day <= to }
    }

    /// What kind of day a day is on a calendar.
    public enum DayKind: Sendable, Hashable {
        /// An ordinary working day (a weekday that is not a holiday).
        case workingDay
        /// A weekend day that is worked to make up for a holiday (调休上班).
        case swappedWorkingDay
        /// An ordinary weekend day.
        case weekend
        /// A day of the named official holiday period (it may also fall on a weekend).
        case holiday(String)

        /// True for ``workingDay`` and ``swappedWorkingDay``.
        public var isWorking: Bool {
            switch self {
            case .workingDay, .swappedWorkingDay: return true
            case .weekend, .holiday: return false
            }
        }
    }

    /// The official rules of one calendar year: its holidays and its swapped working days.
    public struct YearRules: Sendable, Hashable {
        /// The year.
        public var year: Int
        /// Where the dates come from (the official notice).
        public var source: String
        /// Holiday periods, in date order; they do not overlap.
        public var holidays: [Holiday]
        /// Weekend days that are worked (调休), as day numbers.
        public var workdays: Set<Int64>
    }
}
