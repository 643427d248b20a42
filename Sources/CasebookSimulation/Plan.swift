import CasebookLog
import CasebookWorkflow

/// Which case a step addresses.
enum Target: Sendable, Hashable {
    /// A case the simulation names.
    case id(String)
    /// The case whose id another case keeps in a reference field (a case opened by an `open` effect,
    /// whose id the engine chooses): resolved when the step runs.
    case linked(from: String, field: String)
}

/// What the simulation expects of a command.
enum Expect: Sendable, Hashable {
    /// Accepted.
    case accept
    /// Refused by the engine, counted under this reason class (e.g. `second-notice`).
    case refuse(String)
}

/// One command of a planned case, at a simulated instant.
struct Step: Sendable {
    var day: Int64
    var minute: Int
    var target: Target
    var command: String
    /// The workflow, if the command opens the case.
    var opens: String?
    var actor: Actor
    var data: [String: JSONValue]
    var expect: Expect
    /// Counters to bump in the report when the step goes as expected.
    var tally: [String]
    /// Another case the command changes through an effect (its final state is read back from the log).
    var touches: String? = nil

    var at: Timestamp { SimTime.at(day, minute: minute) }
}

/// The planned life of one case (and of the rectification an evaluation may open): its steps in time order.
struct SimThread: Sendable {
    /// The case the thread opens; also the prefix of every command id of the thread.
    var id: String
    var workflow: String
    var steps: [Step] = []

    init(id: String, workflow: String) {
        self.id = id
        self.workflow = workflow
    }

    /// Adds a step, never earlier than the previous one (a case's clocks may not go back in time).
    mutating func add(
        _ day: Int64, _ minute: Int, _ command: String, _ actor: Actor, _ data: [String: JSONValue] = [:], opens: String? = nil,
        target: Target? = nil, expect: Expect = .accept, tally: [String] = [], touches: String? = nil
    ) {
        var day = day, minute = minute
        if let last = steps.last, (day, minute) <= (last.day, last.minute) {
            day = last.day
            minute = last.minute + 1
        }
        steps.append(Step(day: day, minute: minute, target: target ?? .id(id), command: command, opens: opens, actor: actor,
                          data: data, expect: expect, tally: tally, touches: touches))
    }

    /// The days the thread has steps on, in order.
    var days: [Int64] {
        var out: [Int64] = []
        for s in steps where out.last != s.day { out.append(s.day) }
        return out
    }
}

/// What plans are made from: the city, its calendar and the seed.
struct PlanContext: Sendable {
    let config: CityConfiguration
    /// Prefix of every case id of the run (`s<seed>`), so that two seeds never share a case.
    let tag: String
    /// The working days of the year, in order (from the workflows' calendar).
    let workingDays: [Int64]
    let yearStart: Int64
    let yearEnd: Int64
    let departments: [Department]
    let communities: [Community]
    let items: [ServiceItem]
    /// What the published resident-request definition offers (it is being revised; see CitySimulation).
    let request: RequestFeatures

    var seed: UInt64 { config.seed }

    /// Index of the first working day on or after `day` (workingDays.count if none).
    func workingIndex(onOrAfter day: Int64) -> Int {
        var lo = 0, hi = workingDays.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if workingDays[mid] < day { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The `n`-th working day after `day` (as `WorkingCalendar.addWorkingDays`); nil past the year.
    func addWorking(_ n: Int, after day: Int64) -> Int64? {
        let i = workingIndex(onOrAfter: day + 1) + n - 1
        if n == 0 { return day }
        return i < workingDays.count ? workingDays[i] : nil
    }

    /// The first working day on or after `day`; nil past the year.
    func working(onOrAfter day: Int64) -> Int64? {
        let i = workingIndex(onOrAfter: day)
        return i < workingDays.count ? workingDays[i] : nil
    }

    /// Working days `d` with `from <= d <= through`.
    func workingCount(from: Int64, through: Int64) -> Int {
        through < from ? 0 : workingIndex(onOrAfter: through + 1) - workingIndex(onOrAfter: from)
    }

    /// A time in office hours (the hall's 08:30–12:00 and 14:00–17:30), mornings busier.
    func officeMinute(_ rng: inout SplitMix64) -> Int {
        rng.chance(0.6) ? rng.int(510...700) : rng.int(840...1040)
    }
}

/// The commands and data fields the published resident-request definition has.
struct RequestFeatures: Sendable {
    var commands: Set<String>
    var receiveFields: Set<String>
    func has(_ command: String) -> Bool { commands.contains(command) }
}

extension JSONValue {
    static func text(_ s: String) -> JSONValue { .string(s) }
}

/// Zero-padded decimal.
func pad(_ n: Int, _ width: Int) -> String {
    let s = String(n)
    return String(repeating: "0", count: max(0, width - s.count)) + s
}
