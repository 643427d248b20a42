import CasebookLog
import CasebookTestSupport
import Foundation
import Testing

@testable import CasebookWorkflow

private func loadCalendar() throws -> WorkingCalendar {
    try WorkingCalendar.load(path: calendarDirectory + "/cn-2026.yaml")
}

/// A clock started at `start` with `budget`.
private func started(_ start: String, _ budget: ClockBudget) throws -> ClockState {
    var clock = ClockState()
    try clock.start(at: at(start), budget: budget)
    return clock
}

@Suite struct ClockTests {
    // MARK: Working days

    @Test func fiveWorkingDaysAcrossSpringFestival() throws {
        let cn = try loadCalendar()
        // Started Thu 12 Feb: 13 Fri (1), 14 Sat worked (2), 15–23 off, 24 Tue (3), 25 (4), 26 Thu (5).
        let due = at("2026-02-26T23:59:59.999+08:00")
        #expect(due == at("2026-02-26T15:59:59.999Z"))
        #expect(try started("2026-02-12T10:00:00+08:00", .workingDays(5)).deadline(calendar: cn) == due)
        // The hour of the start does not matter: the start day is never counted.
        #expect(try started("2026-02-12T00:00:00+08:00", .workingDays(5)).deadline(calendar: cn) == due)
        #expect(try started("2026-02-12T23:59:59.999+08:00", .workingDays(5)).deadline(calendar: cn) == due)
        // 2026-02-11T16:30Z is already 12 Feb 00:30 in Beijing.
        #expect(try started("2026-02-11T16:30:00Z", .workingDays(5)).deadline(calendar: cn) == due)
        // 2026-02-11T15:59Z is still 11 Feb 23:59 in Beijing: 12 (1), 13 (2), 14 (3), 24 (4), 25 (5).
        #expect(try started("2026-02-11T15:59:00Z", .workingDays(5)).deadline(calendar: cn)
            == at("2026-02-25T23:59:59.999+08:00"))
    }

    @Test func acrossNationalDay() throws {
        let cn = try loadCalendar()
        // From Wed 30 Sep, 3: 1–7 Oct off, 8 Thu (1), 9 Fri (2), 10 Sat worked (3).
        #expect(try started("2026-09-30T09:00:00+08:00", .workingDays(3)).deadline(calendar: cn)
            == at("2026-10-10T23:59:59.999+08:00"))
        // From Thu 24 Sep, 5: 25–27 off (Mid-Autumn), 28 (1), 29 (2), 30 (3), 1–7 Oct off, 8 (4), 9 (5).
        #expect(try started("2026-09-24T09:00:00+08:00", .workingDays(5)).deadline(calendar: cn)
            == at("2026-10-09T23:59:59.999+08:00"))
        // … 6: 10 Oct Sat worked (6).
        #expect(try started("2026-09-24T09:00:00+08:00", .workingDays(6)).deadline(calendar: cn)
            == at("2026-10-10T23:59:59.999+08:00"))
        // … 7: 11 Oct Sun off, 12 Mon (7).
        #expect(try started("2026-09-24T09:00:00+08:00", .workingDays(7)).deadline(calendar: cn)
            == at("2026-10-12T23:59:59.999+08:00"))
    }

    @Test func sundaySwapBeforeNationalDay() throws {
        let cn = try loadCalendar()
        // From Fri 18 Sep, 2: 19 Sat off, 20 Sun worked (1), 21 Mon (2).
        #expect(try started("2026-09-18T16:00:00+08:00", .workingDays(2)).deadline(calendar: cn)
            == at("2026-09-21T23:59:59.999+08:00"))
        // From Sat 19 Sep, 1: 20 Sun worked (1).
        #expect(try started("2026-09-19T10:00:00+08:00", .workingDays(1)).deadline(calendar: cn)
            == at("2026-09-20T23:59:59.999+08:00"))
    }

    @Test func startedOnHolidaysAndOtherBreaks() throws {
        let cn = try loadCalendar()
        // From Mon 16 Feb (a holiday), 1: 17–23 off, 24 Tue (1).
        #expect(try started("2026-02-16T10:00:00+08:00", .workingDays(1)).deadline(calendar: cn)
            == at("2026-02-24T23:59:59.999+08:00"))
        // From Thu 1 Jan (a holiday), 1: 2–3 off, 4 Sun worked (1).
        #expect(try started("2026-01-01T10:00:00+08:00", .workingDays(1)).deadline(calendar: cn)
            == at("2026-01-04T23:59:59.999+08:00"))
        // From Thu 30 Apr, 4: 1–5 May off, 6 (1), 7 (2), 8 (3), 9 Sat worked (4).
        #expect(try started("2026-04-30T09:00:00+08:00", .workingDays(4)).deadline(calendar: cn)
            == at("2026-05-09T23:59:59.999+08:00"))
        // From Thu 18 Jun, 2: 19–21 off, 22 (1), 23 (2).
        #expect(try started("2026-06-18T09:00:00+08:00", .workingDays(2)).deadline(calendar: cn)
            == at("2026-06-23T23:59:59.999+08:00"))
        // Zero working days: the end of the start day, worked or not (Sat 7 Mar).
        #expect(try started("2026-03-07T09:00:00+08:00", .workingDays(0)).deadline(calendar: cn)
            == at("2026-03-07T23:59:59.999+08:00"))
    }

    // MARK: Calendar days and hours

    @Test func calendarDaysIgnoreHolidays() throws {
        let cn = try loadCalendar()
        // From 12 Feb, 10 calendar days: 13 (1) … 22 (10).
        #expect(try started("2026-02-12T10:00:00+08:00", .calendarDays(10)).deadline(calendar: cn)
            == at("2026-02-22T23:59:59.999+08:00"))
        // Calendar days need no holiday data: from 28 Dec 2026, 10: 29, 30, 31, 1 Jan … 7 Jan 2027 (10).
        #expect(try started("2026-12-28T10:00:00+08:00", .calendarDays(10)).deadline(calendar: cn)
            == at("2027-01-07T23:59:59.999+08:00"))
    }

    @Test func hoursIgnoreCalendars() throws {
        let cn = try loadCalendar()
        #expect(try started("2026-03-02T09:00:00Z", .hours(48)).deadline(calendar: cn) == at("2026-03-04T09:00:00Z"))
        // 24 hours from the eve of National Day runs straight through the holiday.
        #expect(try started("2026-09-30T12:00:00+08:00", .hours(24)).deadline(calendar: cn)
            == at("2026-10-01T12:00:00+08:00"))
    }

    // MARK: Pauses

    @Test func pauseSpanningNationalDay() throws {
        let cn = try loadCalendar()
        // Started Mon 28 Sep, 5: 29 (1), 30 (2), 1–7 Oct off, 8 (3), 9 (4), 10 Sat worked (5).
        var clock = try started("2026-09-28T09:00:00+08:00", .workingDays(5))
        #expect(try clock.deadline(calendar: cn) == at("2026-10-10T23:59:59.999+08:00"))

        try clock.pause(at: at("2026-09-30T15:00:00+08:00"))
        #expect(clock.isPaused)
        #expect(try clock.deadline(calendar: cn) == nil)  // not fixed while paused
        // If it resumed on 9 Oct: working days in (30 Sep, 9 Oct] = 8, 9 Oct (the holiday is not one) = 2;
        // 10 Oct + 2: 11 Sun off, 12 (1), 13 (2).
        #expect(try clock.deadline(calendar: cn, ifResumedAt: at("2026-10-09T10:00:00+08:00"))
            == at("2026-10-13T23:59:59.999+08:00"))
        // If it resumed on 1 Oct: (30 Sep, 1 Oct] has no working day, so nothing moves.
        #expect(try clock.deadline(calendar: cn, ifResumedAt: at("2026-10-01T10:00:00+08:00"))
            == at("2026-10-10T23:59:59.999+08:00"))
        // During the pause the clock is not breached even after the old deadline.
        #expect(try !clock.isBreached(at: at("2026-10-11T12:00:00+08:00"), calendar: cn))

        try clock.resume(at: at("2026-10-09T10:00:00+08:00"))
        #expect(!clock.isPaused && clock.isRunning)
        #expect(try clock.deadline(calendar: cn) == at("2026-10-13T23:59:59.999+08:00"))
        #expect(try !clock.isBreached(at: at("2026-10-13T23:59:59.999+08:00"), calendar: cn))
        #expect(try clock.isBreached(at: at("2026-10-14T00:00:00+08:00"), calendar: cn))

        // Used by 12 Oct noon: 29 (1), 30 (2), 8–9 paused, 10 (3), 12 (4).
        #expect(try clock.used(at: at("2026-10-12T12:00:00+08:00"), calendar: cn) == .workingDays(4))
        // Used during the pause (5 Oct): 29, 30 = 2.
        #expect(try clock.used(at: at("2026-10-05T12:00:00+08:00"), calendar: cn) == .workingDays(2))
        #expect(try clock.paused(at: at("2026-10-12T12:00:00+08:00"), calendar: cn) == .workingDays(2))
        // Paused wall time: 30 Sep 15:00 → 9 Oct 10:00 = 8 days 19 hours = 211 h.
        #expect(clock.pausedDuration(at: at("2026-10-12T12:00:00+08:00")) == 211 * 3_600_000)
        #expect(clock.pausedDuration(at: at("2026-10-01T15:00:00+08:00")) == 24 * 3_600_000)
        #expect(try clock.used(at: at("2026-09-27T12:00:00+08:00"), calendar: cn) == nil)  // before the start
    }

    @Test func pauseOverASwappedSaturday() throws {
        let cn = try loadCalendar()
        // Started Thu 12 Feb, 5 → Thu 26 Feb (see above).
        var clock = try started("2026-02-12T09:00:00+08:00", .workingDays(5))
        // Paused Fri 13 Feb 17:00 → Sat 14 Feb 09:00: (13, 14] holds Sat 14, a working day = 1;
        // 26 Feb + 1 = Fri 27 Feb.
        try clock.pause(at: at("2026-02-13T17:00:00+08:00"))
        try clock.resume(at: at("2026-02-14T09:00:00+08:00"))
        #expect(try clock.deadline(calendar: cn) == at("2026-02-27T23:59:59.999+08:00"))
        // Paused again Sat 14 Feb 18:00 → Tue 24 Feb 09:00: (14, 24] holds only 24 = 1;
        // 27 Feb + 1 = Sat 28 Feb (worked).
        try clock.pause(at: at("2026-02-14T18:00:00+08:00"))
        try clock.resume(at: at("2026-02-24T09:00:00+08:00"))
        #expect(try clock.deadline(calendar: cn) == at("2026-02-28T23:59:59.999+08:00"))
        // A pause within one day moves nothing: (25 Feb, 25 Feb] is empty.
        try clock.pause(at: at("2026-02-25T09:00:00+08:00"))
        try clock.resume(at: at("2026-02-25T17:00:00+08:00"))
        #expect(try clock.deadline(calendar: cn) == at("2026-02-28T23:59:59.999+08:00"))
        #expect(try clock.paused(at: at("2026-03-01T00:00:00+08:00"), calendar: cn) == .workingDays(2))
        // Used by the deadline: 13 (1), 14 paused, 24 paused, 25 (2), 26 (3), 27 (4), 28 (5).
        #expect(try clock.used(at: at("2026-02-28T23:59:59.999+08:00"), calendar: cn) == .workingDays(5))
    }

    @Test func pauseOnTheDeadlineDayAndAfterTheBreach() throws {
        let cn = try loadCalendar()
        // Started Mon 2 Mar, 1 → Tue 3 Mar.
        var onTheDay = try started("2026-03-02T09:00:00+08:00", .workingDays(1))
        // Paused on the deadline day, before it ended: (3, 5 Mar] = 4, 5 = 2 → 3 Mar + 2 = Thu 5 Mar.
        try onTheDay.pause(at: at("2026-03-03T10:00:00+08:00"))
        try onTheDay.resume(at: at("2026-03-05T10:00:00+08:00"))
        #expect(try onTheDay.deadline(calendar: cn) == at("2026-03-05T23:59:59.999+08:00"))

        // Paused only after the deadline passed: the breach stands and the deadline does not move.
        var late = try started("2026-03-02T09:00:00+08:00", .workingDays(1))
        try late.pause(at: at("2026-03-05T10:00:00+08:00"))
        #expect(try late.deadline(calendar: cn) == at("2026-03-03T23:59:59.999+08:00"))
        try late.resume(at: at("2026-03-10T10:00:00+08:00"))
        #expect(try late.deadline(calendar: cn) == at("2026-03-03T23:59:59.999+08:00"))
        #expect(try late.isBreached(at: at("2026-03-04T00:00:00+08:00"), calendar: cn))
        #expect(try late.isBreached(at: at("2026-03-06T12:00:00+08:00"), calendar: cn))
        #expect(try late.paused(at: at("2026-03-12T00:00:00+08:00"), calendar: cn) == .workingDays(0))
        #expect(late.pausedDuration(at: at("2026-03-12T00:00:00+08:00")) == 5 * 24 * 3_600_000)
    }

    @Test func calendarDayPause() throws {
        let cn = try loadCalendar()
        // From 12 Feb, 10 calendar days → 22 Feb; paused 14 Feb 10:00 → 16 Feb 10:00: (14, 16] = 2 → 24 Feb.
        var clock = try started("2026-02-12T09:00:00+08:00", .calendarDays(10))
        try clock.pause(at: at("2026-02-14T10:00:00+08:00"))
        try clock.resume(at: at("2026-02-16T10:00:00+08:00"))
        #expect(try clock.deadline(calendar: cn) == at("2026-02-24T23:59:59.999+08:00"))
        #expect(try clock.used(at: at("2026-02-20T12:00:00+08:00"), calendar: cn) == .calendarDays(6))  // 8 − 2
    }

    @Test func hourBudgetsWithPauses() throws {
        let cn = try loadCalendar()
        // 48 h from 2 Mar 09:00Z → 4 Mar 09:00Z.
        var clock = try started("2026-03-02T09:00:00Z", .hours(48))
        // Paused 3 h 30 min → 4 Mar 12:30Z.
        try clock.pause(at: at("2026-03-02T12:00:00Z"))
        #expect(try clock.deadline(calendar: cn) == nil)
        #expect(try clock.deadline(calendar: cn, ifResumedAt: at("2026-03-02T13:00:00Z")) == at("2026-03-04T10:00:00Z"))
        try clock.resume(at: at("2026-03-02T15:30:00Z"))
        #expect(try clock.deadline(calendar: cn) == at("2026-03-04T12:30:00Z"))
        // Paused 12 h more (3 Mar 20:00Z → 4 Mar 08:00Z) → 5 Mar 00:30Z.
        try clock.pause(at: at("2026-03-03T20:00:00Z"))
        try clock.resume(at: at("2026-03-04T08:00:00Z"))
        #expect(try clock.deadline(calendar: cn) == at("2026-03-05T00:30:00Z"))
        #expect(try !clock.isBreached(at: at("2026-03-05T00:30:00Z"), calendar: cn))
        #expect(try clock.isBreached(at: at("2026-03-05T00:30:00.001Z"), calendar: cn))
        // Used at 4 Mar 09:00Z: 48 h elapsed − 15 h 30 min paused = 32 h 30 min.
        #expect(try clock.used(at: at("2026-03-04T09:00:00Z"), calendar: cn) == .milliseconds(32 * 3_600_000 + 30 * 60_000))
        #expect(try clock.paused(at: at("2026-03-04T09:00:00Z"), calendar: cn) == .milliseconds(15 * 3_600_000 + 30 * 60_000))
        #expect(clock.pausedDuration(at: at("2026-03-04T09:00:00Z")) == 15 * 3_600_000 + 30 * 60_000)
    }

    // MARK: Stop

    @Test func stoppedClocks() throws {
        let cn = try loadCalendar()
        // 1 working day from Mon 2 Mar → Tue 3 Mar.
        var early = try started("2026-03-02T09:00:00+08:00", .workingDays(1))
        try early.stop(at: at("2026-03-03T18:00:00+08:00"))
        #expect(early.isStopped && !early.isRunning)
        #expect(try early.deadline(calendar: cn) == nil)
        #expect(try !early.isBreached(at: at("2026-12-31T00:00:00+08:00"), calendar: cn))  // finished in time, forever
        #expect(try early.used(at: at("2026-12-31T00:00:00+08:00"), calendar: cn) == .workingDays(1))  // frozen at stop

        var late = try started("2026-03-02T09:00:00+08:00", .workingDays(1))
        try late.stop(at: at("2026-03-04T09:00:00+08:00"))
        #expect(try late.isBreached(at: at("2026-12-31T00:00:00+08:00"), calendar: cn))  // finished late, forever
        #expect(try !late.isBreached(at: at("2026-03-03T12:00:00+08:00"), calendar: cn))  // but not yet then

        // Stopped while paused (paused before the deadline): judged at the stop, the pause still open.
        var paused = try started("2026-03-02T09:00:00+08:00", .workingDays(1))
        try paused.pause(at: at("2026-03-02T10:00:00+08:00"))
        try paused.stop(at: at("2026-03-20T10:00:00+08:00"))
        #expect(!paused.isPaused)
        #expect(try !paused.isBreached(at: at("2026-04-01T00:00:00+08:00"), calendar: cn))
    }

    // MARK: Errors

    @Test func misuseIsAnErrorNotATrap() throws {
        var clock = ClockState()
        #expect(throws: ClockError.notStarted(.pause)) { try clock.pause(at: at("2026-03-02T09:00:00Z")) }
        #expect(throws: ClockError.notStarted(.resume)) { try clock.resume(at: at("2026-03-02T09:00:00Z")) }
        #expect(throws: ClockError.notStarted(.stop)) { try clock.stop(at: at("2026-03-02T09:00:00Z")) }
        #expect(throws: ClockError.invalidBudget(.workingDays(-1))) {
            try clock.start(at: at("2026-03-02T09:00:00Z"), budget: .workingDays(-1))
        }
        #expect(throws: ClockError.invalidBudget(.hours(1_000_001))) {
            try clock.start(at: at("2026-03-02T09:00:00Z"), budget: .hours(1_000_001))
        }
        #expect(clock == ClockState())

        try clock.start(at: at("2026-03-02T09:00:00Z"), budget: .workingDays(5))
        #expect(throws: ClockError.alreadyStarted(at: at("2026-03-02T09:00:00Z"))) {
            try clock.start(at: at("2026-03-03T09:00:00Z"), budget: .hours(1))
        }
        #expect(throws: ClockError.notPaused) { try clock.resume(at: at("2026-03-02T10:00:00Z")) }
        #expect(throws: ClockError.outOfOrder(latest: at("2026-03-02T09:00:00Z"), attempted: at("2026-03-01T09:00:00Z"))) {
            try clock.pause(at: at("2026-03-01T09:00:00Z"))
        }
        try clock.pause(at: at("2026-03-02T10:00:00Z"))
        #expect(throws: ClockError.alreadyPaused(since: at("2026-03-02T10:00:00Z"))) {
            try clock.pause(at: at("2026-03-02T11:00:00Z"))
        }
        try clock.resume(at: at("2026-03-02T10:00:00Z"))  // same instant is fine
        try clock.stop(at: at("2026-03-04T10:00:00Z"))
        let stopped = ClockError.alreadyStopped(at: at("2026-03-04T10:00:00Z"))
        #expect(throws: stopped) { try clock.pause(at: at("2026-03-05T10:00:00Z")) }
        #expect(throws: stopped) { try clock.resume(at: at("2026-03-05T10:00:00Z")) }
        #expect(throws: stopped) { try clock.stop(at: at("2026-03-05T10:00:00Z")) }
        #expect(throws: stopped) { try clock.start(at: at("2026-03-05T10:00:00Z"), budget: .hours(1)) }
        #expect(stopped.description == "the clock was stopped at 2026-03-04T10:00:00.000Z; nothing can happen to it after that")
        #expect(ClockError.alreadyPaused(since: at("2026-03-02T10:00:00Z")).description
            == "the clock is already paused (since 2026-03-02T10:00:00.000Z)")
    }

    @Test func yearsNotCovered() throws {
        let cn = try loadCalendar()
        // From Mon 28 Dec, 5: 29 (1), 30 (2), 31 (3), then 1 Jan 2027 is unknown.
        let clock = try started("2026-12-28T09:00:00+08:00", .workingDays(5))
        #expect(throws: CalendarError.yearNotCovered(calendar: "cn", year: 2027)) { try clock.deadline(calendar: cn) }
        #expect(throws: CalendarError.yearNotCovered(calendar: "cn", year: 2027)) {
            try clock.isBreached(at: at("2027-01-10T00:00:00+08:00"), calendar: cn)
        }
        // Due in 2026 (Mon 21 Dec, 2 → 23 Dec), but a pause reaching into 2027 needs 2027 too.
        var paused = try started("2026-12-21T09:00:00+08:00", .workingDays(2))
        #expect(try paused.deadline(calendar: cn) == at("2026-12-23T23:59:59.999+08:00"))
        try paused.pause(at: at("2026-12-22T09:00:00+08:00"))
        try paused.resume(at: at("2027-01-05T09:00:00+08:00"))
        #expect(throws: CalendarError.yearNotCovered(calendar: "cn", year: 2027)) { try paused.deadline(calendar: cn) }
        // Started in 2025: its days are not covered either.
        let old = try started("2025-12-29T09:00:00+08:00", .workingDays(1))
        #expect(throws: CalendarError.yearNotCovered(calendar: "cn", year: 2025)) { try old.deadline(calendar: cn) }
    }

    // MARK: Replay

    @Test func replayIsDeterministic() throws {
        let cn = try loadCalendar()
        let history: [ClockState.Event] = [
            .start(at: at("2026-09-28T09:00:00+08:00"), budget: .workingDays(5)),
            .pause(at: at("2026-09-30T15:00:00+08:00")),
            .resume(at: at("2026-10-09T10:00:00+08:00")),
            .pause(at: at("2026-10-12T09:00:00+08:00")),
            .resume(at: at("2026-10-12T09:00:00+08:00")),
        ]
        // Replaying a history gives back exactly that history, and its deadline (13 Oct, as above).
        let replayed = try ClockState(replaying: history)
        #expect(replayed.events == history)
        #expect(try replayed.deadline(calendar: cn) == at("2026-10-13T23:59:59.999+08:00"))
        // Through JSON and back.
        let data = try JSONEncoder().encode(replayed)
        let decoded = try JSONDecoder().decode(ClockState.self, from: data)
        #expect(decoded == replayed)
        #expect(try decoded.deadline(calendar: cn) == at("2026-10-13T23:59:59.999+08:00"))
        // Any prefix is the state as of its last event.
        let asOfPause = replayed.asOf(at("2026-10-01T00:00:00+08:00"))
        #expect(try asOfPause == ClockState(replaying: history.prefix(2)))
        #expect(asOfPause.isPaused)
        // An impossible history is refused, both replayed and decoded.
        #expect(throws: ClockError.notPaused) { try ClockState(replaying: [history[0], history[2]]) }
        let forged = Data(#"{"pauses":[{"from":{"millisecondsSince1970":1}}]}"#.utf8)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ClockState.self, from: forged) }
    }
}
