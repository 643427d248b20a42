import CasebookLog
import CasebookTestSupport
import Foundation
import Testing

@testable import CasebookWorkflow

private func loadCN() throws -> WorkingCalendar {
    try WorkingCalendar.load(path: calendarDirectory + "/cn-2026.yaml")
}

/// Day number of a `YYYY-MM-DD` literal.
private func day(_ text: String) -> Int64 {
    guard let d = WorkingCalendar.parse(day: text) else { fatalError("bad test date \(text)") }
    return d
}

private func iso(_ text: String) -> Timestamp {
    guard let t = Timestamp(iso8601: text) else { fatalError("bad test timestamp \(text)") }
    return t
}

/// The diagnostics from parsing `yaml` as `t.yaml` (empty if it parses).
private func problems(_ yaml: String) -> [Diagnostic] {
    do {
        _ = try WorkingCalendar.parse(yaml: yaml, file: "t.yaml")
        return []
    } catch {
        return error.diagnostics
    }
}

/// `line:column message` of each diagnostic.
private func summary(_ yaml: String) -> [String] {
    problems(yaml).map { "\($0.location.line):\($0.location.column) \($0.message)" }
}

@Suite struct CalendarTests {
    // MARK: The shipped 2026 calendar

    @Test func shippedCalendarLoads() throws {
        let cn = try loadCN()
        #expect(cn.name == "cn")
        #expect(cn.utcOffsetMinutes == 480)
        #expect(cn.utcOffset == "+08:00")
        #expect(cn.weekend == [.saturday, .sunday])
        #expect(cn.years == [2026])
        #expect(cn.covers(year: 2026))
        #expect(!cn.covers(year: 2025) && !cn.covers(year: 2027))
        #expect(cn.rules[2026]?.holidays.count == 7)
        #expect(cn.rules[2026]?.source.hasPrefix("国务院办公厅关于2026年部分节假日安排的通知") == true)
    }

    /// Every day off of every 2026 holiday period (State Council notice of 2025-11-04).
    @Test(arguments: [
        // 元旦 New Year: 1–3 Jan
        ("2026-01-01", "元旦 New Year"), ("2026-01-02", "元旦 New Year"), ("2026-01-03", "元旦 New Year"),
        // 春节 Spring Festival: 15–23 Feb (9 days)
        ("2026-02-15", "春节 Spring Festival"), ("2026-02-16", "春节 Spring Festival"), ("2026-02-17", "春节 Spring Festival"),
        ("2026-02-18", "春节 Spring Festival"), ("2026-02-19", "春节 Spring Festival"), ("2026-02-20", "春节 Spring Festival"),
        ("2026-02-21", "春节 Spring Festival"), ("2026-02-22", "春节 Spring Festival"), ("2026-02-23", "春节 Spring Festival"),
        // 清明节 Qingming: 4–6 Apr
        ("2026-04-04", "清明节 Qingming"), ("2026-04-05", "清明节 Qingming"), ("2026-04-06", "清明节 Qingming"),
        // 劳动节 Labour Day: 1–5 May
        ("2026-05-01", "劳动节 Labour Day"), ("2026-05-02", "劳动节 Labour Day"), ("2026-05-03", "劳动节 Labour Day"),
        ("2026-05-04", "劳动节 Labour Day"), ("2026-05-05", "劳动节 Labour Day"),
        // 端午节 Dragon Boat: 19–21 Jun
        ("2026-06-19", "端午节 Dragon Boat Festival"), ("2026-06-20", "端午节 Dragon Boat Festival"),
        ("2026-06-21", "端午节 Dragon Boat Festival"),
        // 中秋节 Mid-Autumn: 25–27 Sep
        ("2026-09-25", "中秋节 Mid-Autumn Festival"), ("2026-09-26", "中秋节 Mid-Autumn Festival"),
        ("2026-09-27", "中秋节 Mid-Autumn Festival"),
        // 国庆节 National Day: 1–7 Oct
        ("2026-10-01", "国庆节 National Day"), ("2026-10-02", "国庆节 National Day"), ("2026-10-03", "国庆节 National Day"),
        ("2026-10-04", "国庆节 National Day"), ("2026-10-05", "国庆节 National Day"), ("2026-10-06", "国庆节 National Day"),
        ("2026-10-07", "国庆节 National Day"),
    ])
    func holidayIsOff(date: String, name: String) throws {
        let cn = try loadCN()
        #expect(try cn.isWorkingDay(day(date)) == false)
        #expect(try cn.kind(of: day(date)) == .holiday(name))
        #expect(try cn.holiday(on: day(date))?.name == name)
    }

    /// The six weekend days worked in 2026 (调休), with their weekdays checked by hand.
    @Test(arguments: [
        ("2026-01-04", WorkingCalendar.Weekday.sunday),   // for New Year
        ("2026-02-14", .saturday),                        // for Spring Festival
        ("2026-02-28", .saturday),                        // for Spring Festival
        ("2026-05-09", .saturday),                        // for Labour Day
        ("2026-09-20", .sunday),                          // for National Day
        ("2026-10-10", .saturday),                        // for National Day
    ])
    func swappedWeekendDayIsWorked(date: String, weekday: WorkingCalendar.Weekday) throws {
        let cn = try loadCN()
        #expect(WorkingCalendar.Weekday(day: day(date)) == weekday)
        #expect(try cn.isWorkingDay(day(date)))
        #expect(try cn.kind(of: day(date)) == .swappedWorkingDay)
    }

    @Test func ordinaryWeekAndWeekend() throws {
        let cn = try loadCN()
        // 2026-03-02 is a Monday; 7–8 March an ordinary weekend.
        #expect(WorkingCalendar.Weekday(day: day("2026-03-02")) == .monday)
        for d in ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06", "2026-03-09"] {
            #expect(try cn.kind(of: day(d)) == .workingDay, "\(d)")
        }
        #expect(try cn.kind(of: day("2026-03-07")) == .weekend)
        #expect(try cn.kind(of: day("2026-03-08")) == .weekend)
        // The other weekend days next to swaps stay off: 2026-02-13 Fri worked, 2026-03-01 Sun off.
        #expect(try cn.isWorkingDay(day("2026-02-13")))
        #expect(try !cn.isWorkingDay(day("2026-03-01")))
        #expect(try !cn.isWorkingDay(day("2026-01-10")))  // Sat after New Year: ordinary weekend
    }

    @Test func daysAroundHolidaysAreWorked() throws {
        let cn = try loadCN()
        for d in ["2026-01-05", "2026-02-13", "2026-02-24", "2026-04-03", "2026-04-07", "2026-04-30", "2026-05-06",
                  "2026-06-18", "2026-06-22", "2026-09-24", "2026-09-28", "2026-09-30", "2026-10-08", "2026-10-09"] {
            #expect(try cn.isWorkingDay(day(d)), "\(d)")
        }
    }

    @Test func workingDayCounts() throws {
        let cn = try loadCN()
        // February: weekdays 2–6, 9–13, 16–20, 23–27 = 20; minus holidays 16–20 and 23 = 14; plus Sat 14 and 28 = 16.
        #expect(try cn.workingDays(from: day("2026-02-01"), through: day("2026-02-28")) == 16)
        // October: weekdays 1–2, 5–9, 12–16, 19–23, 26–30 = 22; minus 1, 2, 5, 6, 7 = 17; plus Sat 10 = 18.
        #expect(try cn.workingDays(from: day("2026-10-01"), through: day("2026-10-31")) == 18)
        // The year: 261 weekdays (52 weeks + Thu 1 Jan); minus 13 statutory days on weekdays
        // (Jan 1, 2; Feb 16–20, 23; Apr 6; May 1, 4, 5; Jun 19; Sep 25; Oct 1, 2, 5, 6, 7 = 19, of which
        // 6 are repaid by the swaps) … simply: 261 − 19 + 6 = 248.
        #expect(try cn.workingDays(from: day("2026-01-01"), through: day("2026-12-31")) == 248)
        #expect(try cn.workingDays(from: day("2026-03-09"), through: day("2026-03-02")) == 0)
        #expect(try cn.workingDays(from: day("2026-03-07"), through: day("2026-03-07")) == 0)
    }

    @Test func addWorkingDays() throws {
        let cn = try loadCN()
        // From Thu 12 Feb, 5: 13 Fri (1), 14 Sat worked (2), 15–23 off, 24 (3), 25 (4), 26 (5).
        #expect(try cn.addWorkingDays(5, after: day("2026-02-12")) == day("2026-02-26"))
        // From Wed 30 Sep, 3: 1–7 Oct off, 8 Thu (1), 9 Fri (2), 10 Sat worked (3).
        #expect(try cn.addWorkingDays(3, after: day("2026-09-30")) == day("2026-10-10"))
        // From Fri 18 Sep, 2: 19 Sat off, 20 Sun worked (1), 21 Mon (2).
        #expect(try cn.addWorkingDays(2, after: day("2026-09-18")) == day("2026-09-21"))
        // From Thu 30 Apr, 4: 1–5 May off, 6 (1), 7 (2), 8 (3), 9 Sat worked (4).
        #expect(try cn.addWorkingDays(4, after: day("2026-04-30")) == day("2026-05-09"))
        // From Fri 3 Apr, 1: 4–6 off, 7 Tue (1).
        #expect(try cn.addWorkingDays(1, after: day("2026-04-03")) == day("2026-04-07"))
        // From Thu 18 Jun, 1: 19–21 off, 22 Mon (1).
        #expect(try cn.addWorkingDays(1, after: day("2026-06-18")) == day("2026-06-22"))
        // From Fri 27 Feb, 1: 28 Sat worked (1); from 28 Feb, 1: 1 Mar Sun off, 2 Mar (1).
        #expect(try cn.addWorkingDays(1, after: day("2026-02-27")) == day("2026-02-28"))
        #expect(try cn.addWorkingDays(1, after: day("2026-02-28")) == day("2026-03-02"))
        // From Wed 31 Dec 2025 (not examined), 1: 1–3 Jan off, 4 Sun worked (1).
        #expect(try cn.addWorkingDays(1, after: day("2025-12-31")) == day("2026-01-04"))
        // Zero is the day itself, even an uncovered one.
        #expect(try cn.addWorkingDays(0, after: day("2027-06-01")) == day("2027-06-01"))
        #expect(throws: CalendarError.negativeCount(-1)) { try cn.addWorkingDays(-1, after: day("2026-03-02")) }
    }

    @Test func localDaysInTheCalendarOffset() throws {
        let cn = try loadCN()
        // 16:00 UTC is midnight in Beijing.
        #expect(cn.localDay(of: iso("2026-02-12T15:59:59.999Z")) == day("2026-02-12"))
        #expect(cn.localDay(of: iso("2026-02-12T16:00:00.000Z")) == day("2026-02-13"))
        #expect(cn.localDay(of: iso("2026-02-12T00:30:00+08:00")) == day("2026-02-12"))
        #expect(cn.endOfDay(day("2026-02-26")) == iso("2026-02-26T15:59:59.999Z"))
        #expect(cn.endOfDay(day("2026-02-26")) == iso("2026-02-26T23:59:59.999+08:00"))
        #expect(cn.startOfDay(day("2026-02-26")) == iso("2026-02-25T16:00:00.000Z"))
        // Before 1970 too (floor division).
        #expect(cn.localDay(of: iso("1969-12-31T15:59:59.999Z")) == -1)
        #expect(cn.localDay(of: iso("1969-12-31T16:00:00.000Z")) == 0)
    }

    @Test func uncoveredYearsThrow() throws {
        let cn = try loadCN()
        #expect(throws: CalendarError.yearNotCovered(calendar: "cn", year: 2027)) { try cn.isWorkingDay(day("2027-01-04")) }
        #expect(throws: CalendarError.yearNotCovered(calendar: "cn", year: 2025)) { try cn.isWorkingDay(day("2025-12-31")) }
        // From Wed 30 Dec, 3: 31 Dec (1), then 1 Jan 2027 is not known.
        #expect(throws: CalendarError.yearNotCovered(calendar: "cn", year: 2027)) { try cn.addWorkingDays(3, after: day("2026-12-30")) }
        #expect(throws: CalendarError.yearNotCovered(calendar: "cn", year: 2025)) {
            try cn.workingDays(from: day("2025-12-30"), through: day("2026-01-05"))
        }
        let message = CalendarError.yearNotCovered(calendar: "cn", year: 2027).description
        #expect(message == "calendar 'cn' does not cover 2027: its holidays and weekend swaps are not loaded "
            + "(add Workflows/calendars/cn-2027.yaml from the official notice for 2027)")
    }

    // MARK: Loader errors

    @Test func invalidDate() {
        // Line 7 is `      - { name: A, from: 2026-02-30, to: 2026-03-01 }`: `from`'s value starts at column 26.
        let yaml = """
            calendar: t
            utcOffset: "+08:00"
            years:
              2026:
                source: test
                holidays:
                  - { name: A, from: 2026-02-30, to: 2026-03-01 }
                workdays: [2026-13-01, 14 Feb]
            """
        let d = problems(yaml)
        #expect(d.map { "\($0.location.line):\($0.location.column) \($0.message)" } == [
            "7:26 invalid date '2026-02-30'",
            "8:16 invalid date '2026-13-01'",
            "8:28 invalid date '14 Feb'",
        ])
        #expect(d.first?.hint == "write dates as YYYY-MM-DD (e.g. 2026-02-14) and use a real calendar day")
        #expect(d.first?.description == "t.yaml:7:26: error: invalid date '2026-02-30'\n"
            + "  hint: write dates as YYYY-MM-DD (e.g. 2026-02-14) and use a real calendar day")
    }

    @Test func workdayThatIsNotAWeekendDay() {
        let yaml = """
            calendar: t
            utcOffset: "+08:00"
            years:
              2026:
                source: test
                holidays: []
                workdays:
                  - 2026-01-05
            """
        let d = problems(yaml)
        #expect(d.map { "\($0.location.line):\($0.location.column) \($0.message)" } == [
            "8:9 workday 2026-01-05 is a Monday, not a weekend day",
        ])
        #expect(d.first?.hint == "`workdays` lists only weekend days (saturday, sunday) that are worked (调休); "
            + "other days are working days unless they are holidays")
    }

    @Test func holidayOverlappingAWorkday() {
        let yaml = """
            calendar: t
            utcOffset: "+08:00"
            years:
              2026:
                source: test
                holidays:
                  - { name: 春节, from: 2026-02-15, to: 2026-02-23 }
                workdays: [2026-02-14, 2026-02-21]
            """
        let d = problems(yaml)
        // `[` is column 15, the second date column 28.
        #expect(d.map { "\($0.location.line):\($0.location.column) \($0.message)" } == [
            "8:28 workday 2026-02-21 falls in holiday '春节' (2026-02-15 to 2026-02-23)",
        ])
        #expect(d.first?.hint == "a day is either off or worked: check the official notice (the holiday is at line 7)")
    }

    @Test func datesOutsideTheirYear() {
        let yaml = """
            calendar: t
            utcOffset: "+08:00"
            years:
              2012:
                source: test
                holidays:
                  - { name: 元旦, from: 2012-01-01, to: 2012-01-03 }
                workdays: [2011-12-31]
            """
        let d = problems(yaml)
        #expect(d.map { "\($0.location.line):\($0.location.column) \($0.message)" } == [
            "8:16 2011-12-31 is not in year 2012",
        ])
        #expect(d.first?.hint == "list each date under the year it falls in (here `2011:`), even if the notice for 2012 announced it")
    }

    @Test func duplicateYears() {
        // Written identically: YAML itself refuses the key; reported at the second one.
        let same = """
            calendar: t
            utcOffset: "+08:00"
            years:
              2026:
                source: a
                holidays: []
              2026:
                source: b
                holidays: []
            """
        let d = problems(same)
        #expect(d.map { "\($0.location.line):\($0.location.column) \($0.message)" } == ["7:3 year 2026 is defined twice"])
        #expect(d.first?.hint == "the first is at line 4, column 3; merge the entries into one")

        // Written differently (quoted): caught by the loader.
        let quoted = """
            calendar: t
            utcOffset: "+08:00"
            years:
              2026:
                source: a
                holidays: []
              "2026":
                source: b
                holidays: []
            """
        let q = problems(quoted)
        #expect(q.map { "\($0.location.line):\($0.location.column) \($0.message)" } == ["7:3 year 2026 is defined twice"])
        #expect(q.first?.hint == "the first is at line 4, column 3; put all of a year's holidays and workdays under one `2026:`")
    }

    @Test func unknownKeys() {
        let yaml = """
            calendar: t
            utcOffset: "+08:00"
            timezone: Asia/Shanghai
            years:
              2026:
                source: test
                holiday: []
                holidays:
                  - { name: A, from: 2026-01-01, until: 2026-01-03 }
            """
        let d = problems(yaml)
        #expect(d.map { "\($0.location.line):\($0.location.column) \($0.message)" } == [
            "3:1 unknown key 'timezone' in the calendar file",
            "7:5 unknown key 'holiday' in year 2026",
            "9:38 unknown key 'until' in a holiday",
        ])
        #expect(d.map(\.hint) == [
            "allowed keys: calendar, title, utcOffset, weekend, years",
            "did you mean 'holidays'? allowed keys: source, holidays, workdays",
            "allowed keys: name, from, to",
        ])
    }

    @Test func badOffsets() throws {
        for (text, column) in [("\"+8\"", 12), ("\"+15:00\"", 12), ("UTC+8", 12), ("\"+08:60\"", 12), ("\"08:00\"", 12)] {
            let yaml = """
                calendar: t
                utcOffset: \(text)
                years:
                  2026: { source: test, holidays: [] }
                """
            let d = problems(yaml)
            let shown = text.replacingOccurrences(of: "\"", with: "")
            #expect(d.map { "\($0.location.line):\($0.location.column) \($0.message)" } == ["2:\(column) invalid utcOffset '\(shown)'"])
            #expect(d.first?.hint == "write the offset as a quoted \"±HH:MM\", at most 14 hours, e.g. \"+08:00\" for China")
        }
        // West of UTC, and unquoted, are fine.
        let west = """
            calendar: t
            utcOffset: -05:30
            years:
              2026: { source: test, holidays: [] }
            """
        #expect(problems(west).isEmpty)
        #expect(try WorkingCalendar.parse(yaml: west, file: "t.yaml").utcOffsetMinutes == -330)
    }

    @Test func missingKeys() {
        let yaml = """
            title: no name
            years:
              2026:
                holidays:
                  - { from: 2026-01-01 }
            """
        let d = problems(yaml)
        #expect(d.map { "\($0.location.line):\($0.location.column) \($0.message)" } == [
            "1:1 missing key 'calendar' in the calendar file",
            "1:1 missing key 'utcOffset' in the calendar file",
            "4:5 missing key 'source' in year 2026",
            "5:9 missing key 'name' in a holiday",
        ])
        #expect(d[0].hint == "name the calendar, e.g. `calendar: cn`; workflows refer to it by this name")
    }

    @Test func overlappingHolidaysAndReversedRanges() {
        let yaml = """
            calendar: t
            utcOffset: "+08:00"
            years:
              2026:
                source: test
                holidays:
                  - { name: A, from: 2026-09-25, to: 2026-10-01 }
                  - { name: B, from: 2026-10-01, to: 2026-10-07 }
                  - { name: C, from: 2026-12-31, to: 2026-12-30 }
            """
        let d = problems(yaml)
        #expect(d.map { "\($0.location.line):\($0.location.column) \($0.message)" } == [
            "8:9 holiday 'B' (2026-10-01 to 2026-10-07) overlaps holiday 'A' (2026-09-25 to 2026-10-01)",
            "9:42 holiday 'C' ends on 2026-12-30, before it starts on 2026-12-31",
        ])
        #expect(d.map(\.hint) == [
            "holiday periods must not share days; the other is at line 7",
            "`from` is the first day off and `to` the last",
        ])
    }

    @Test func weekendsAndDuplicateWorkdays() {
        let yaml = """
            calendar: t
            utcOffset: "+08:00"
            weekend: [saturday, sundy, saturday]
            years:
              2026:
                source: test
                holidays: []
                workdays: [2026-02-14, 2026-02-14]
            """
        let d = problems(yaml)
        #expect(d.map { "\($0.location.line):\($0.location.column) \($0.message)" } == [
            "3:21 unknown weekday 'sundy'",
            "3:28 'saturday' is listed twice in weekend",
            "8:28 workday 2026-02-14 is listed twice",
        ])
        #expect(d[0].hint == "did you mean 'sunday'? use weekday names: monday, tuesday, wednesday, thursday, friday, saturday, sunday")
        #expect(d[2].hint == "the first is at line 8, column 16")
    }

    @Test func syntaxErrorsAndEmptyFiles() {
        let broken = """
            calendar: t
            utcOffset: "+08:00
            years: {}
            """
        // The quote opened at 2:12 is never closed: the scanner hits the end of the text, just after
        // `years: {}` (no final newline), at 3:10.
        #expect(summary(broken) == [
            "3:10 YAML syntax error: found unexpected end of stream (while scanning a quoted scalar at line 2, column 12)",
        ])
        let misindented = """
            calendar: t
            utcOffset: "+08:00"
            years:
              2026:
                source: x
                  holidays: []
            """
        // `holidays:` is indented under the scalar `x`: its colon (column 15) is where YAML gives up.
        #expect(summary(misindented) == ["6:15 YAML syntax error: mapping values are not allowed in this context"])

        #expect(summary("") == ["1:1 the calendar file is empty"])
        #expect(summary("# only a comment\n") == ["1:1 the calendar file is empty"])
        #expect(summary("- a\n- b\n") == ["1:1 the calendar file must be a mapping of `key: value` entries, not a list"])
        #expect(summary("calendar: CN!\nutcOffset: \"+08:00\"\nyears: {}\n") == [
            "1:11 invalid calendar name 'CN!'",
            "3:8 no years are defined",
        ])
    }

    @Test func everyProblemIsReportedInOrder() {
        let yaml = """
            calendar: t
            utcOffset: "+8"
            years:
              2026:
                source: test
                holidays:
                  - { name: A, from: 2026-02-30 }
                workdays: [2026-01-05]
              "26":
                source: test
                holidays: []
            """
        #expect(summary(yaml) == [
            "2:12 invalid utcOffset '+8'",
            "7:26 invalid date '2026-02-30'",
            "8:16 workday 2026-01-05 is a Monday, not a weekend day",
            "9:3 invalid year '26'",
        ])
    }

    // MARK: Calendar sets

    @Test func directoryLoadsByName() throws {
        let set = try CalendarSet.load(directory: calendarDirectory)
        #expect(set.names.contains("cn"))
        let cn = try set.calendar(named: "cn")
        #expect(cn.covers(year: 2026))
        #expect(throws: CalendarError.unknownCalendar(name: "xx", known: set.names)) { try set.calendar(named: "xx") }
    }

    /// `isWorkingDay` reads bits worked out once per year: they say what the rules say, every day, and a day
    /// of a year not covered (before, between and after the covered ones) is still an error.
    @Test func workingDayBitsAgreeWithTheRulesEveryDay() throws {
        let cn = try loadCN()
        let later = try WorkingCalendar.parse(yaml: """
            calendar: cn
            utcOffset: "+08:00"
            years:
              2028:
                source: test
                holidays:
                  - { name: 元旦, from: 2028-01-01, to: 2028-01-03 }
                workdays: [2028-01-08]
            """, file: "cn-2028.yaml")
        let merged = try CalendarSet([cn, later]).calendar(named: "cn")
        #expect(merged.years == [2026, 2028])
        var worked = 0
        for d in day("2025-12-01")...day("2029-01-31") {
            var expected: Result<Bool, CalendarError>
            do { expected = .success(try merged.kind(of: d).isWorking) } catch { expected = .failure(error) }
            var got: Result<Bool, CalendarError>
            do { got = .success(try merged.isWorkingDay(d)) } catch { got = .failure(error) }
            #expect(got == expected, "\(WorkingCalendar.format(day: d))")
            if case .success(true) = got { worked += 1 }
        }
        #expect(try merged.isWorkingDay(day("2028-01-08")) && !merged.isWorkingDay(day("2028-01-03")))
        #expect(throws: CalendarError.yearNotCovered(calendar: "cn", year: 2027)) { try merged.isWorkingDay(day("2027-06-01")) }
        #expect(worked > 2 * 240)
    }

    @Test func filesOfOneCalendarMerge() throws {
        let cn = try loadCN()
        // A made-up 2027 (not the official one) to test merging: 1 Jan 2027 is a Friday.
        let next = try WorkingCalendar.parse(yaml: """
            calendar: cn
            utcOffset: "+08:00"
            years:
              2027:
                source: test
                holidays:
                  - { name: 元旦, from: 2027-01-01 }
            """, file: "cn-2027.yaml")
        let set = try CalendarSet([cn, next])
        let merged = try set.calendar(named: "cn")
        #expect(merged.years == [2026, 2027])
        #expect(merged.title == cn.title)
        // From Wed 30 Dec 2026, 3: 31 Dec (1), 1 Jan 2027 off, 2–3 Jan weekend, 4 Jan Mon (2), 5 Jan (3).
        #expect(try merged.addWorkingDays(3, after: day("2026-12-30")) == day("2027-01-05"))
    }

    @Test func conflictingFilesOfOneCalendar() throws {
        let cn = try loadCN()
        let other = try WorkingCalendar.parse(yaml: """
            calendar: cn
            utcOffset: "+09:00"
            weekend: [sunday]
            years:
              2026:
                source: test
                holidays: []
            """, file: "other.yaml")
        do {
            _ = try CalendarSet([cn, other])
            Issue.record("expected conflicts")
        } catch {
            let shipped = calendarDirectory + "/cn-2026.yaml"
            #expect(error.diagnostics.map { "\($0.location) \($0.message)" } == [
                "other.yaml:2:12 calendar 'cn' has utcOffset +09:00 here but +08:00 at \(shipped):9:12",
                "other.yaml:3:10 calendar 'cn' has weekend [sunday] here but [saturday, sunday] at \(shipped):10:10",
                "other.yaml:5:3 year 2026 of calendar 'cn' is already defined at \(shipped):12:3",
            ])
        }
    }

    @Test func brokenFileInADirectory() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("casebook-cal-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "calendar: x\nutcOffset: \"+08:00\"\nyears:\n  2026: { source: s, holidays: [], workdays: [2026-01-05] }\n"
            .write(toFile: dir + "/x.yaml", atomically: true, encoding: .utf8)
        try "not a calendar".write(toFile: dir + "/notes.txt", atomically: true, encoding: .utf8)
        do {
            _ = try CalendarSet.load(directory: dir)
            Issue.record("expected an error")
        } catch {
            #expect(error.diagnostics.map { "\($0.location) \($0.message)" } == [
                "\(dir)/x.yaml:4:47 workday 2026-01-05 is a Monday, not a weekend day",
            ])
        }
        do {
            _ = try CalendarSet.load(directory: dir + "/missing")
            Issue.record("expected an error")
        } catch {
            #expect(error.diagnostics.first?.message.hasPrefix("cannot read the calendar directory") == true)
        }
    }
}
