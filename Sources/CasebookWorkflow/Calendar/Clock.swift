import CasebookLog

/// How long a clock (an SLA timer) may run before it is breached.
public enum ClockBudget: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Working days on the clock's calendar.
    case workingDays(Int)
    /// Calendar days (local days in the calendar's offset).
    case calendarDays(Int)
    /// Elapsed hours.
    case hours(Int)

    /// The number of units.
    public var amount: Int {
        switch self {
        case .workingDays(let n), .calendarDays(let n), .hours(let n): return n
        }
    }

    /// The largest amount accepted (about 2,700 years of days; 114 years of hours).
    public static let maximumAmount = 1_000_000

    public var description: String {
        switch self {
        case .workingDays(let n): return n == 1 ? "1 working day" : "\(n) working days"
        case .calendarDays(let n): return n == 1 ? "1 calendar day" : "\(n) calendar days"
        case .hours(let n): return n == 1 ? "1 hour" : "\(n) hours"
        }
    }
}

/// A clock operation that does not fit the clock's history. Clocks never trap on misuse.
public enum ClockError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `pause`, `resume` or `stop` on a clock that was never started.
    case notStarted(ClockState.Action)
    /// `start` on a clock that is already running (or paused).
    case alreadyStarted(at: Timestamp)
    /// `pause` on a clock that is already paused.
    case alreadyPaused(since: Timestamp)
    /// `resume` on a clock that is not paused.
    case notPaused
    /// Anything after `stop`.
    case alreadyStopped(at: Timestamp)
    /// An operation dated before the clock's latest event (history runs forward).
    case outOfOrder(latest: Timestamp, attempted: Timestamp)
    /// A budget below zero or above ``ClockBudget/maximumAmount``.
    case invalidBudget(ClockBudget)

    public var description: String {
        switch self {
        case .notStarted(let action): return "cannot \(action.rawValue) a clock that was never started"
        case .alreadyStarted(let at): return "the clock is already running (started \(at))"
        case .alreadyPaused(let since): return "the clock is already paused (since \(since))"
        case .notPaused: return "cannot resume a clock that is not paused"
        case .alreadyStopped(let at): return "the clock was stopped at \(at); nothing can happen to it after that"
        case let .outOfOrder(latest, attempted):
            return "clock operation at \(attempted) is earlier than its latest event at \(latest)"
        case .invalidBudget(let budget):
            return "invalid clock budget \(budget): it must be between 0 and \(ClockBudget.maximumAmount)"
        }
    }
}

/// The state of one clock (SLA timer), folded from its events: start, pause, resume, stop.
///
/// The state keeps its whole history, and every answer is a pure function of that history (plus the
/// calendar and, for questions "at" a time, that time), so replaying the same events always gives the
/// same state and the same deadline.
///
/// ## Rules
///
/// - **Working days.** A budget of N working days started at instant `t` is due at the end
///   (`23:59:59.999` local) of the Nth working day after `t`'s local day. The start day itself is never
///   counted, whatever the hour. N = 0 is due at the end of the start day.
/// - **Calendar days.** Likewise with calendar days: due at the end of local day `startDay + N`.
/// - **Hours.** Due at exactly `t + N hours`.
/// - **Pauses.** A pause suspends the count. For a day budget, a pause from instant `p` to instant `r`
///   moves the deadline later by the number of working (resp. calendar) days `d` with
///   `localDay(p) < d ≤ localDay(r)`: the pause day still counts, the resume day does not. For an hour
///   budget it moves the deadline later by exactly `r − p`. Pauses are applied in order, each moving
///   the deadline as it stood.
/// - **A breach stands.** A pause that begins after the deadline (as it stood) has passed does not move
///   it: the clock was already breached, and a later pause cannot undo that.
/// - **Breach.** A clock is breached at instant `x` if `x` is later than its deadline. A stopped clock
///   is judged at the instant it stopped, so "finished late" stays true forever.
/// - **While paused** the deadline is not fixed: ``deadline(calendar:)`` returns nil (unless the pause
///   began after a breach), and ``deadline(calendar:ifResumedAt:)`` gives the deadline if the clock
///   resumed at a given instant. Questions at an instant treat an open pause as ending then.
/// - **Order.** Events must not go back in time (equal instants are fine). Pausing a paused clock,
///   resuming a running one, stopping or pausing a clock never started, starting twice, and anything
///   after stop are ``ClockError``s, never traps.
/// - **Calendars.** Working-day questions throw ``CalendarError/yearNotCovered(calendar:year:)`` if they
///   need a day of a year the calendar does not cover; calendar-day and hour budgets only use its offset.
public struct ClockState: Sendable, Hashable, Codable {
    /// A clock operation (in error messages).
    public enum Action: String, Sendable, Hashable, Codable {
        case start, pause, resume, stop
    }

    /// One event of a clock's history.
    public enum Event: Sendable, Hashable, Codable {
        /// The clock starts counting `budget` at `at`.
        case start(at: Timestamp, budget: ClockBudget)
        /// The count is suspended.
        case pause(at: Timestamp)
        /// The count goes on.
        case resume(at: Timestamp)
        /// The clock is finished (the case was handled, or the clock cancelled).
        case stop(at: Timestamp)

        /// When it happened.
        public var time: Timestamp {
            switch self {
            case .start(let at, _), .pause(let at), .resume(let at), .stop(let at): return at
            }
        }
    }

    /// One pause: from `from` until `until` (nil while the pause lasts).
    public struct Pause: Sendable, Hashable, Codable {
        /// When the pause began.
        public var from: Timestamp
        /// When the clock resumed; nil if it has not (it may have been stopped while paused).
        public var until: Timestamp?
    }

    /// An amount of clock time, in the unit of the clock's budget.
    public enum Amount: Sendable, Hashable {
        /// Working days.
        case workingDays(Int)
        /// Calendar days.
        case calendarDays(Int)
        /// Milliseconds (hour budgets).
        case milliseconds(Int64)
    }

    /// The budget, once started.
    public private(set) var budget: ClockBudget?
    /// When it started.
    public private(set) var startedAt: Timestamp?
    /// Its pauses, in order; only the last may be open.
    public private(set) var pauses: [Pause] = []
    /// When it stopped.
    public private(set) var stoppedAt: Timestamp?

    private enum CodingKeys: String, CodingKey {
        case budget, startedAt, pauses, stoppedAt
    }

    /// A clock that has not started.
    public init() {}

    /// The state after `events`, in order.
    public init(replaying events: some Sequence<Event>) throws(ClockError) {
        self.init()
        for event in events { try apply(event) }
    }

    /// Decodes a state and checks that it is a possible history (by replaying it).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        var raw = ClockState()
        raw.budget = try container.decodeIfPresent(ClockBudget.self, forKey: .budget)
        raw.startedAt = try container.decodeIfPresent(Timestamp.self, forKey: .startedAt)
        raw.pauses = try container.decodeIfPresent([Pause].self, forKey: .pauses) ?? []
        raw.stoppedAt = try container.decodeIfPresent(Timestamp.self, forKey: .stoppedAt)
        do {
            let replayed = try ClockState(replaying: raw.events)
            guard replayed == raw else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "inconsistent clock state"))
            }
            self = replayed
        } catch let error as ClockError {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "impossible clock history: \(error)"))
        }
    }

    // MARK: History

    /// The history as events, in order; replaying them gives this state again.
    public var events: [Event] {
        var out: [Event] = []
        if let startedAt, let budget { out.append(.start(at: startedAt, budget: budget)) }
        for pause in pauses {
            out.append(.pause(at: pause.from))
            if let until = pause.until { out.append(.resume(at: until)) }
        }
        if let stoppedAt { out.append(.stop(at: stoppedAt)) }
        return out
    }

    /// True once started (even if since stopped).
    public var isStarted: Bool { startedAt != nil }
    /// True if stopped.
    public var isStopped: Bool { stoppedAt != nil }
    /// True if started, not stopped, and currently paused.
    public var isPaused: Bool { !isStopped && pauses.last.map { $0.until == nil } ?? false }
    /// True if started, not stopped and not paused.
    public var isRunning: Bool { isStarted && !isStopped && !isPaused }

    private var latestTime: Timestamp? {
        stoppedAt ?? pauses.last.map { $0.until ?? $0.from } ?? startedAt
    }

    private func checkOrder(_ time: Timestamp) throws(ClockError) {
        if let latest = latestTime, time < latest { throw .outOfOrder(latest: latest, attempted: time) }
    }

    /// Starts counting `budget` at `time`.
    public mutating func start(at time: Timestamp, budget: ClockBudget) throws(ClockError) {
        if let stoppedAt { throw .alreadyStopped(at: stoppedAt) }
        if let startedAt { throw .alreadyStarted(at: startedAt) }
        guard (0...ClockBudget.maximumAmount).contains(budget.amount) else { throw .invalidBudget(budget) }
        self.startedAt = time
        self.budget = budget
    }

    /// Suspends the count at `time`.
    public mutating func pause(at time: Timestamp) throws(ClockError) {
        if let stoppedAt { throw .alreadyStopped(at: stoppedAt) }
        guard isStarted else { throw .notStarted(.pause) }
        if let open = pauses.last, open.until == nil { throw .alreadyPaused(since: open.from) }
        try checkOrder(time)
        pauses.append(Pause(from: time, until: nil))
    }

    /// Resumes the count at `time`.
    public mutating func resume(at time: Timestamp) throws(ClockError) {
        if let stoppedAt { throw .alreadyStopped(at: stoppedAt) }
        guard isStarted else { throw .notStarted(.resume) }
        guard isPaused else { throw .notPaused }
        try checkOrder(time)
        pauses[pauses.count - 1].until = time
    }

    /// Stops the clock at `time` (a paused clock may be stopped; its pause then stays open).
    public mutating func stop(at time: Timestamp) throws(ClockError) {
        if let stoppedAt { throw .alreadyStopped(at: stoppedAt) }
        guard isStarted else { throw .notStarted(.stop) }
        try checkOrder(time)
        stoppedAt = time
    }

    /// Applies one event.
    public mutating func apply(_ event: Event) throws(ClockError) {
        switch event {
        case let .start(at, budget): try start(at: at, budget: budget)
        case .pause(let at): try pause(at: at)
        case .resume(let at): try resume(at: at)
        case .stop(let at): try stop(at: at)
        }
    }

    /// The state as it was at `time`: the history keeping only events at or before `time`.
    public func asOf(_ time: Timestamp) -> ClockState {
        // Events never go back in time, so if the latest is not after `time`, the state is this one.
        let latest = stoppedAt ?? pauses.last.map { $0.until ?? $0.from } ?? startedAt
        guard let latest, latest > time else { return self }
        var state = ClockState()
        for event in events where event.time <= time {
            do { try state.apply(event) } catch { break }  // unreachable: a prefix of a valid history is valid
        }
        return state
    }

    // MARK: Deadline

    /// The deadline walk: the deadline after each pause in turn, and the pauses that moved it.
    private struct Walk {
        /// Nil if an open pause moved the deadline by an amount not yet known.
        var deadline: Timestamp?
        /// The pauses that moved the deadline, with their ends.
        var effective: [(from: Timestamp, to: Timestamp)]
    }

    /// Applies the rules above. `openPauseEnd` is where an open pause is taken to end (nil: unknown).
    private func walk(calendar: WorkingCalendar, openPauseEnd: Timestamp?) throws(CalendarError) -> Walk? {
        guard let startedAt, let budget else { return nil }
        var effective: [(from: Timestamp, to: Timestamp)] = []
        func pauseEnd(_ pause: Pause) -> Timestamp? {
            (pause.until ?? openPauseEnd).map { max($0, pause.from) }
        }
        switch budget {
        case .workingDays(let n), .calendarDays(let n):
            let working: Bool
            if case .workingDays = budget { working = true } else { working = false }
            let startDay = calendar.localDay(of: startedAt)
            var day = working ? try calendar.addWorkingDays(n, after: startDay) : startDay + Int64(n)
            for pause in pauses {
                guard pause.from <= calendar.endOfDay(day) else { break }  // paused after the breach
                guard let end = pauseEnd(pause) else { return Walk(deadline: nil, effective: effective) }
                effective.append((pause.from, end))
                let pauseDay = calendar.localDay(of: pause.from), resumeDay = calendar.localDay(of: end)
                if working {
                    let k = try calendar.workingDays(from: pauseDay + 1, through: resumeDay)
                    day = try calendar.addWorkingDays(k, after: day)
                } else {
                    day += resumeDay - pauseDay
                }
            }
            return Walk(deadline: calendar.endOfDay(day), effective: effective)
        case .hours(let n):
            var deadline = startedAt.millisecondsSince1970 + Int64(n) * 3_600_000
            for pause in pauses {
                guard pause.from.millisecondsSince1970 <= deadline else { break }  // paused after the breach
                guard let end = pauseEnd(pause) else { return Walk(deadline: nil, effective: effective) }
                effective.append((pause.from, end))
                deadline += end.millisecondsSince1970 - pause.from.millisecondsSince1970
            }
            return Walk(deadline: Timestamp(millisecondsSince1970: deadline), effective: effective)
        }
    }

    /// When the clock is due: nil if it has not started, has stopped, or is paused (the deadline is not
    /// fixed until it resumes) — except that a clock paused after its deadline passed keeps that deadline.
    public func deadline(calendar: WorkingCalendar) throws(CalendarError) -> Timestamp? {
        guard !isStopped else { return nil }
        return try walk(calendar: calendar, openPauseEnd: nil)?.deadline
    }

    /// When the clock would be due if it resumed at `resumeTime` (the same as ``deadline(calendar:)``
    /// if it is not paused). Nil if it has not started or has stopped.
    public func deadline(calendar: WorkingCalendar, ifResumedAt resumeTime: Timestamp) throws(CalendarError) -> Timestamp? {
        guard !isStopped else { return nil }
        return try walk(calendar: calendar, openPauseEnd: resumeTime)?.deadline
    }

    /// True if, at `time`, the clock is (or, if stopped by then, finished) past its deadline.
    public func isBreached(at time: Timestamp, calendar: WorkingCalendar) throws(CalendarError) -> Bool {
        let state = asOf(time)
        let end = state.stoppedAt ?? time
        guard let deadline = try state.walk(calendar: calendar, openPauseEnd: end)?.deadline else { return false }
        return end > deadline
    }

    /// The deadline that was passed, if at `time` the clock is (or, if stopped by then, finished) past
    /// it: a running clock's deadline, a clock paused only after its deadline, or a clock stopped late.
    public func breachedDeadline(at time: Timestamp, calendar: WorkingCalendar) throws(CalendarError) -> Timestamp? {
        let state = asOf(time)
        let end = state.stoppedAt ?? time
        guard let deadline = try state.walk(calendar: calendar, openPauseEnd: end)?.deadline, end > deadline else { return nil }
        return deadline
    }

    // MARK: Usage

    /// How much of the budget the clock had used at `time` (frozen at stop), in the budget's unit:
    /// working days `d` with `startDay < d ≤ localDay(time)` (resp. calendar days, or milliseconds since
    /// the start), minus the paused ones as defined in the rules. It can exceed the budget once breached.
    /// Nil if not started by `time`.
    public func used(at time: Timestamp, calendar: WorkingCalendar) throws(CalendarError) -> Amount? {
        let state = asOf(time)
        let end = state.stoppedAt ?? time
        guard let startedAt = state.startedAt, let budget = state.budget,
              let walk = try state.walk(calendar: calendar, openPauseEnd: end) else { return nil }
        let paused = try Self.measure(walk.effective, budget: budget, calendar: calendar)
        let total = try Self.measure([(startedAt, end)], budget: budget, calendar: calendar)
        switch (total, paused) {
        case let (.workingDays(t), .workingDays(p)): return .workingDays(t - p)
        case let (.calendarDays(t), .calendarDays(p)): return .calendarDays(t - p)
        case let (.milliseconds(t), .milliseconds(p)): return .milliseconds(t - p)
        default: return nil  // unreachable: both are measured in the budget's unit
        }
    }

    /// How much the pauses that moved the deadline had suspended at `time` (frozen at stop), in the
    /// budget's unit: for day budgets the working (resp. calendar) days `d` with
    /// `pauseDay < d ≤ resumeDay`, for hour budgets the milliseconds. Nil if not started by `time`.
    public func paused(at time: Timestamp, calendar: WorkingCalendar) throws(CalendarError) -> Amount? {
        let state = asOf(time)
        guard let budget = state.budget,
              let walk = try state.walk(calendar: calendar, openPauseEnd: state.stoppedAt ?? time) else { return nil }
        return try Self.measure(walk.effective, budget: budget, calendar: calendar)
    }

    /// The wall-clock time spent paused up to `time` (and not after stop), in milliseconds, counting
    /// every pause — including one that began after a breach and so did not move the deadline.
    public func pausedDuration(at time: Timestamp) -> Int64 {
        let state = asOf(time)
        let end = state.stoppedAt ?? time
        return state.pauses.reduce(0) { sum, pause in
            sum + max(0, (pause.until ?? end).millisecondsSince1970 - pause.from.millisecondsSince1970)
        }
    }

    /// The length of intervals `(from, to]` in the budget's unit.
    private static func measure(_ intervals: [(from: Timestamp, to: Timestamp)], budget: ClockBudget,
                                calendar: WorkingCalendar) throws(CalendarError) -> Amount {
        switch budget {
        case .workingDays:
            var n = 0
            for (from, to) in intervals {
                n += try calendar.workingDays(from: calendar.localDay(of: from) + 1, through: calendar.localDay(of: to))
            }
            return .workingDays(n)
        case .calendarDays:
            return .calendarDays(intervals.reduce(0) { $0 + Int(calendar.localDay(of: $1.to) - calendar.localDay(of: $1.from)) })
        case .hours:
            return .milliseconds(intervals.reduce(0) { $0 + ($1.to.millisecondsSince1970 - $1.from.millisecondsSince1970) })
        }
    }
}
