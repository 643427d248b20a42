import CasebookLog
import Foundation

/// When the office is open: some periods of the day, on the working days of a calendar, in its local time.
///
/// Used by the expression function `in_office_hours(t)`, e.g. to accept an appointment only outside
/// office hours (预约服务制: residents may book service outside office hours).
public struct OfficeHours: Sendable {
    /// A period of the day: from `start` (included) to `end` (excluded), in minutes after local midnight.
    public struct Period: Sendable, Hashable, CustomStringConvertible {
        /// Minutes after local midnight when the period starts (included).
        public var start: Int
        /// Minutes after local midnight when the period ends (excluded); at most 1440.
        public var end: Int

        /// A period; `start < end ≤ 1440`.
        public init(start: Int, end: Int) {
            self.start = start
            self.end = end
        }

        /// Parses `HH:MM-HH:MM` (e.g. `08:30-12:00`; `24:00` ends at midnight). Nil if malformed or empty.
        public init?(_ text: String) {
            let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let start = Self.minutes(parts[0]), let end = Self.minutes(parts[1]), start < end else { return nil }
            self.init(start: start, end: end)
        }

        static func minutes(_ text: String) -> Int? {
            let c = Array(text.utf8)
            guard c.count == 5, c[2] == 58, [0, 1, 3, 4].allSatisfy({ (48...57).contains(c[$0]) }) else { return nil }
            let h = Int(c[0] - 48) * 10 + Int(c[1] - 48), m = Int(c[3] - 48) * 10 + Int(c[4] - 48)
            guard m < 60, h * 60 + m <= 1440 else { return nil }
            return h * 60 + m
        }

        public var description: String {
            func hm(_ n: Int) -> String { "\(n / 60 < 10 ? "0" : "")\(n / 60):\(n % 60 < 10 ? "0" : "")\(n % 60)" }
            return "\(hm(start))-\(hm(end))"
        }
    }

    /// The calendar whose working days the office is open on.
    public let calendar: WorkingCalendar
    /// The periods of each working day the office is open.
    public let periods: [Period]

    /// Office hours on `calendar`'s working days.
    public init(calendar: WorkingCalendar, periods: [Period]) {
        self.calendar = calendar
        self.periods = periods
    }

    /// True if `time` falls on a working day, inside one of the periods (local time of the calendar).
    ///
    /// - Throws: ``CalendarError`` if the calendar does not cover the year of `time`.
    public func contains(_ time: Timestamp) throws(CalendarError) -> Bool {
        let day = calendar.localDay(of: time)
        guard try calendar.isWorkingDay(day) else { return false }
        let minute = Int((time.millisecondsSince1970 - calendar.startOfDay(day).millisecondsSince1970) / 60_000)
        return periods.contains { $0.start <= minute && minute < $0.end }
    }
}
