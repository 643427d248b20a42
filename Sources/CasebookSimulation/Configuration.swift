import CasebookLog

/// The size and seed of a synthetic city. The defaults are a year of Ningbo: 564 communities (seed 001,
/// DOMAIN.md), about a million events in all.
public struct CityConfiguration: Sendable, Hashable {
    /// Communities (社区). Ningbo's count by default (DOMAIN.md, seed 001).
    public var communities: Int = 564
    /// Government departments that push work into communities and are rated by them; the first
    /// `departments` of a list of 28 real department names (民政局 civil affairs, 人社局 human resources &
    /// social security, 卫健委 health, 公安分局 police, …); more than 28 get numbered copies.
    public var departments: Int = 24
    /// Patches (片区, 300–500 households each, DOMAIN.md §1) per community, each with a named leader.
    public var patchesPerCommunity: ClosedRange<Int> = 6...10
    /// Resident requests per community in the year. With the defaults a 564-community run appends about
    /// a million events (about 7 per request, requests being ~85% of them).
    public var requestsPerCommunity: Int = 200
    /// Applications for admission of departmental work (工作准入) per community in the year, of all six kinds.
    public var admissionsPerCommunity: Int = 12
    /// Departments each community's panel rates in its yearly evaluation (a sample of `departments`).
    public var departmentsRatedPerCommunity: Int = 8
    /// The simulated year; the workflows' working-day calendar must cover it (Workflows/calendars has 2026).
    public var year: Int = 2026
    /// The seed: the same seed and sizes give the same cases, commands, data, times and command ids.
    public var seed: UInt64 = 1
    /// How many cases' commands run at once (commands of one case always run in order).
    public var concurrency: Int = 64

    /// The default city (564 communities).
    public init() {}

    /// A city of the given size; other settings default.
    public init(communities: Int, requestsPerCommunity: Int, seed: UInt64 = 1, concurrency: Int = 64) {
        self.communities = communities
        self.requestsPerCommunity = requestsPerCommunity
        self.seed = seed
        self.concurrency = concurrency
    }
}

/// Where a running simulation is, for a progress line.
public struct SimulationProgress: Sendable {
    /// What the simulation is doing.
    public enum Phase: String, Sendable {
        /// Publishing the six definitions.
        case publishing
        /// Driving commands of the simulated day `date`.
        case running
        /// Firing the clocks due by the end of the month of `date` (`CaseEngine.runTimers`).
        case timers
        /// Reading the final state of every case for the report.
        case tallying
        /// Finished.
        case done
    }
    /// The phase.
    public var phase: Phase
    /// The simulated date (Beijing), `YYYY-MM-DD`.
    public var date: String
    /// Simulated days done, of `totalDays`.
    public var day: Int
    /// Days in the simulated year.
    public var totalDays: Int
    /// Cases opened so far (including cases opened by effects).
    public var cases: Int
    /// Commands issued so far.
    public var commands: Int
    /// Events appended to the log by this run so far.
    public var events: UInt64
    /// Commands refused so far (each refusal is recorded on its case).
    public var refusals: Int
    /// Wall-clock seconds since the run started.
    public var elapsedSeconds: Double
    /// Events appended per wall-clock second so far.
    public var eventsPerSecond: Double
}

/// What a simulation did.
public struct SimulationReport: Sendable {
    /// The configuration it ran with.
    public var configuration: CityConfiguration
    /// The definitions published (name, version, hash).
    public var published: [(workflow: String, version: Int, hash: String)]
    /// Cases per workflow (rectifications are opened by the engine's `open` effect).
    public var casesByWorkflow: [String: Int]
    /// Cases per workflow and final state (the state each case is in at the end of the year).
    public var statesByWorkflow: [String: [String: Int]]
    /// Cases per workflow whose `overdue` flag was set by a clock breach.
    public var overdueByWorkflow: [String: Int]
    /// Commands issued (including re-issued ones answered from the log on a re-run).
    public var commands: Int
    /// Commands refused, by reason class: the refusals the simulation meant to provoke (e.g.
    /// `second-notice`, `vote-failed`, `should-not-undertake`), and `unexpected:<check>` for any other.
    public var refusals: [String: Int]
    /// Up to 20 unexpected outcomes (a command refused that should not have been, or accepted that should
    /// have been refused), with the engine's message: normally empty.
    public var unexpected: [String]
    /// Cases whose planned commands stopped early because of an unexpected outcome.
    public var abandonedCases: Int
    /// What happened, counted as it happened: `request.notice`, `request.late`, `request.appointment`,
    /// `request.reopened`, `request.referred`, `rating.satisfied`, `admission.resolution`,
    /// `entrusted.per-unit`, `payment.late`, `rectification.withdrawn`, … (see `CitySimulation`).
    public var tallies: [String: Int]
    /// Money across all entrusted-service cases at the end, in fen: `payable`, `paid`, `outstanding`,
    /// `advances`, `advances_outstanding`.
    public var money: [String: Int64]
    /// Clock breaches recorded by the month-end timer runs, per workflow.
    public var breaches: [String: Int]
    /// Events this run appended (0 on a re-run of the same seed on the same store).
    public var eventsAppended: UInt64
    /// Events in the log at the end.
    public var eventsInLog: UInt64
    /// Wall-clock seconds.
    public var wallSeconds: Double
    /// Events appended per wall-clock second.
    public var eventsPerSecond: Double { wallSeconds > 0 ? Double(eventsAppended) / wallSeconds : 0 }
}

/// Why a simulation could not run.
public enum SimulationError: Error, Sendable, CustomStringConvertible {
    /// A workflow definition failed to publish (lint errors, missing file).
    case publish(file: String, reason: String)
    /// The workflows' calendar does not cover the simulated year.
    case calendar(String)

    public var description: String {
        switch self {
        case let .publish(file, reason): return "cannot publish \(file): \(reason)"
        case let .calendar(reason): return reason
        }
    }
}
