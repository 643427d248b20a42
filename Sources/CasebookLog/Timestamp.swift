#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An instant, as whole milliseconds since 1970-01-01T00:00:00Z (UTC).
///
/// Casebook stores and compares time exactly; it never uses floating-point seconds. Text form is
/// ISO 8601 / RFC 3339 in UTC, e.g. `2026-03-02T09:30:00.000Z`.
public struct Timestamp: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Milliseconds since the Unix epoch.
    public var millisecondsSince1970: Int64

    /// An instant from milliseconds since the Unix epoch.
    public init(millisecondsSince1970: Int64) { self.millisecondsSince1970 = millisecondsSince1970 }

    /// The wall clock now. Only the storage and tooling layers read it; workflow logic receives time in
    /// commands and events.
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(millisecondsSince1970: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.millisecondsSince1970 < b.millisecondsSince1970 }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    public var iso8601: String {
        let ms = millisecondsSince1970
        let days = ms >= 0 ? ms / 86_400_000 : -((-ms + 86_399_999) / 86_400_000)
        let msOfDay = ms - days * 86_400_000
        let (y, m, d) = CivilDate.fromDays(days)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(msOfDay / 3_600_000, 2)):\(pad(msOfDay / 60_000 % 60, 2)):\(pad(msOfDay / 1000 % 60, 2)).\(pad(msOfDay % 1000, 3))Z"
    }

    public var description: String { iso8601 }

    /// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff]]` followed by `Z` or `±HH:MM` (a missing zone
    /// means UTC). Returns nil for anything else, including impossible dates such as 02-30.
    public init?(iso8601 text: String) {
        // Read in place: the fold and the projections read a recorded time from almost every event.
        guard let ms = text.utf8.withContiguousStorageIfAvailable(Self.parse) ?? Array(text.utf8).withUnsafeBufferPointer(Self.parse)
        else { return nil }
        millisecondsSince1970 = ms
    }

    /// ``init(iso8601:)`` of text given as UTF-8 bytes (e.g. read in place from a payload).
    public init?(iso8601UTF8 bytes: UnsafeRawBufferPointer) {
        guard let ms = Self.parse(bytes.assumingMemoryBound(to: UInt8.self)) else { return nil }
        millisecondsSince1970 = ms
    }

    /// The form every recorded time has (``iso8601``: `YYYY-MM-DDTHH:MM:SS.mmmZ`), read without the general
    /// parser's branches; nil if `c` is not a valid time of that form (the general parser then decides).
    private static func recordedForm(_ c: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard c.count == 24, c[4] == 45, c[7] == 45, c[10] == 84, c[13] == 58, c[16] == 58, c[19] == 46, c[23] == 90 else { return nil }
        func digits(_ from: Int, _ n: Int) -> Int64? {
            var v: Int64 = 0
            for k in from..<from + n {
                guard c[k] >= 48 && c[k] <= 57 else { return nil }
                v = v * 10 + Int64(c[k] - 48)
            }
            return v
        }
        guard let y = digits(0, 4), let mo = digits(5, 2), let d = digits(8, 2), let h = digits(11, 2), let mi = digits(14, 2),
              let s = digits(17, 2), let ms = digits(20, 3),
              (1...12).contains(mo), d >= 1, d <= CivilDate.daysInMonth(year: y, month: mo), h < 24, mi < 60, s < 60
        else { return nil }
        return CivilDate.toDays(year: y, month: mo, day: d) * 86_400_000 + h * 3_600_000 + mi * 60_000 + s * 1000 + ms
    }

    /// Milliseconds since the epoch of the text's UTF-8 bytes `c`, or nil; see ``init(iso8601:)``.
    private static func parse(_ c: UnsafeBufferPointer<UInt8>) -> Int64? {
        if let recorded = recordedForm(c) { return recorded }
        var i = 0
        func digits(_ n: Int) -> Int64? {
            guard i + n <= c.count else { return nil }
            var v: Int64 = 0
            for k in 0..<n {
                let ch = c[i + k]
                guard ch >= 48 && ch <= 57 else { return nil }
                v = v * 10 + Int64(ch - 48)
            }
            i += n
            return v
        }
        func expect(_ ch: UInt8) -> Bool {
            guard i < c.count, c[i] == ch else { return false }
            i += 1
            return true
        }
        guard let y = digits(4), expect(45), let mo = digits(2), expect(45), let d = digits(2) else { return nil }
        guard (1...12).contains(mo), d >= 1, d <= CivilDate.daysInMonth(year: y, month: mo) else { return nil }
        var h: Int64 = 0, mi: Int64 = 0, s: Int64 = 0, frac: Int64 = 0, offset: Int64 = 0
        if i < c.count {
            guard expect(84) || expect(116) || expect(32) else { return nil }  // T, t or space
            guard let hh = digits(2), expect(58), let mm = digits(2) else { return nil }
            h = hh; mi = mm
            if expect(58) {
                guard let ss = digits(2) else { return nil }
                s = ss
                if expect(46) {
                    var n = 0
                    while i < c.count, c[i] >= 48, c[i] <= 57 {
                        if n < 3 { frac = frac * 10 + Int64(c[i] - 48) }
                        n += 1; i += 1
                    }
                    guard n > 0 else { return nil }
                    for _ in n..<3 where n < 3 { frac *= 10 }
                }
            }
            guard h < 24, mi < 60, s < 60 else { return nil }
            if expect(90) || expect(122) {
                // UTC
            } else if i < c.count, c[i] == 43 || c[i] == 45 {
                let sign: Int64 = c[i] == 43 ? 1 : -1
                i += 1
                guard let oh = digits(2), expect(58), let om = digits(2), oh < 24, om < 60 else { return nil }
                offset = sign * (oh * 60 + om) * 60_000
            }
            guard i == c.count else { return nil }
        }
        let days = CivilDate.toDays(year: y, month: mo, day: d)
        return days * 86_400_000 + h * 3_600_000 + mi * 60_000 + s * 1000 + frac - offset
    }
}

/// Proleptic Gregorian calendar arithmetic on day numbers (days since 1970-01-01), after
/// Howard Hinnant's `days_from_civil` / `civil_from_days`.
public enum CivilDate {
    /// Days since 1970-01-01 of a calendar date.
    public static func toDays(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The calendar date of a day number.
    public static func fromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    /// The number of days in a month of a year.
    public static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
