import CasebookLog
import CasebookWorkflow
import Foundation
import Synchronization

/// A synthetic city driven through the real engine: a year of resident requests, admissions of
/// departmental work, entrusted work and its payment, evaluations of departments and rectifications,
/// residents' ratings of their communities,
/// every one a command through ``CaseEngine`` at its simulated time, clocks fired at each month's end.
///
/// **The city.** `configuration.communities` communities (Ningbo's 564 by default, DOMAIN.md seed 001)
/// under street offices of nine, each with 2,000–8,000 households, 6–10 patches with named leaders
/// (§1: 300–500 households a patch), 3–6 counter staff, a back office of 2–3 and a workstation head;
/// `configuration.departments` departments with real names (民政局, 人社局, 卫健委, 公安分局, 住建局, 统计局,
/// 市场监管局, 城管局, …); one district coordination office. The proportions of each workflow are
/// documented where its plan is made: `requestThread` (Requests.swift), `admissionThreads` and
/// `entrustedThread` (Admissions.swift), `evaluationThreads` (Evaluations.swift), `communityRatingThread`
/// (CommunityRatings.swift: the residents' yearly satisfaction survey of each community).
///
/// **Time.** Everything happens on the China 2026 calendar of the published workflows (working days with
/// the official swaps, office hours 08:30–17:30 Beijing time). Days are simulated in order: all the steps
/// due on a day run, the steps of different cases concurrently (at most `concurrency` cases at once), each
/// case's own steps in order; at the end of each month `engine.runTimers(until:)` records the clocks
/// breached (skipped for a month in which the run appended nothing, as when the same seed runs again;
/// always at the year's end, which records every breach still due). Plans keep every working-day clock's deadline within the calendar's year, because a clock
/// cannot be judged on days the calendar does not cover (so requests thin out in the last weeks).
///
/// **Determinism.** Every case draws from its own generator, seeded from (seed, case id), so plans do not
/// depend on scheduling; every command carries a command id `<case>/<step>/<command>`, so running the
/// same seed again on the same store writes nothing new. With concurrency 1 the log is the same each run
/// except for the ciphertext of personal data (random per-subject keys and nonces: KeyVault); with more,
/// events of one day may interleave differently in the log, but every case id is the same: the engine
/// names a case opened by an effect after its source case and that case's own history
/// (`<evaluation>-rectification-<stream version>`).
public struct CitySimulation: Sendable {
    /// The engine the commands go through.
    public let engine: CaseEngine
    /// The folder with the six workflow definitions and `calendars/`.
    public let workflows: String
    /// Sizes and seed.
    public let configuration: CityConfiguration

    /// A simulation of `configuration` through `engine`, with the definitions in `workflows`.
    public init(engine: CaseEngine, workflows: String, configuration: CityConfiguration) {
        self.engine = engine
        self.workflows = workflows
        self.configuration = configuration
    }

    /// The six workflows, in the order they are published.
    public static let workflowNames = [
        "task-admission", "entrusted-service", "rectification", "department-evaluation", "community-rating", "resident-request",
    ]

    /// Publishes the definitions, runs the year, fires the clocks, and reads back every case's final state.
    /// `progress` is called after every simulated day and around the timer runs (from one task at a time).
    public func run(progress: (SimulationProgress) -> Void) async throws -> SimulationReport {
        let config = configuration
        let store = engine.store
        let started = DispatchTime.now().uptimeNanoseconds
        let before = store.count
        var counters = Counters()
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
        func report(_ phase: SimulationProgress.Phase, _ day: Int64, _ index: Int, _ total: Int) {
            let events = store.count - before
            let seconds = elapsed()
            progress(SimulationProgress(
                phase: phase, date: SimTime.format(day: day), day: index, totalDays: total, cases: counters.cases, commands: counters.commands,
                events: events, refusals: counters.refusals.values.reduce(0, +), elapsedSeconds: seconds,
                eventsPerSecond: seconds > 0 ? Double(events) / seconds : 0))
        }

        // Publish.
        let yearStart = SimTime.day(config.year, 1, 1), yearEnd = SimTime.day(config.year, 12, 31)
        report(.publishing, yearStart, 0, Int(yearEnd - yearStart + 1))
        var published: [(workflow: String, version: Int, hash: String)] = []
        var compiled: [String: CompiledWorkflow] = [:]
        for name in Self.workflowNames {
            let file = workflows + "/\(name).yaml"
            do {
                let c = try await engine.registry.publish(file: file, calendarDirectory: workflows + "/calendars", actor: "administrator:城市模拟",
                                                          at: SimTime.at(yearStart, minute: 0))
                published.append((name, c.definition.version, c.hash))
                compiled[name] = c
            } catch let list as DiagnosticList {
                throw SimulationError.publish(file: file, reason: list.diagnostics.map(\.description).joined(separator: "; "))
            }
        }
        // The latest published versions run the cases (a store may hold later ones than the files).
        for name in Self.workflowNames { compiled[name] = try engine.registry.latest(name) }
        guard let calendar = compiled["resident-request"]?.calendar, calendar.covers(year: config.year) else {
            throw SimulationError.calendar("the workflows' calendar does not cover \(config.year): add Workflows/calendars/<name>-\(config.year).yaml")
        }
        var workingDays: [Int64] = []
        for day in yearStart...yearEnd where (try? calendar.isWorkingDay(day)) == true { workingDays.append(day) }
        let requestDefinition = compiled["resident-request"]!.definition
        let features = RequestFeatures(
            commands: Set(requestDefinition.commands.map(\.name)),
            receiveFields: Set(requestDefinition.command("receive")?.data.map(\.name) ?? []))
        // The service items: the published catalogue's ids, limits and certificate kinds (the workflow's
        // `service-item` table reads the same catalogue), with the built-in frequencies by id.
        var catalogued = builtinServiceItems
        if let catalogue = compiled["resident-request"]!.catalogues["service-items"] {
            catalogued = catalogue.items.map { item in
                let known = builtinServiceItems.first { $0.id == item.id }
                var limit = known?.limitDays ?? 5
                if case .integer(let days)? = item.values["limit_days"] { limit = Int(days) }
                let mayNot = item.values["certificate"] == .string("may-not")
                return ServiceItem(id: item.id, limitDays: limit, mayNot: mayNot, weight: known?.weight ?? 3,
                                   department: known?.department ?? "民政局", needsPatch: known?.needsPatch ?? false)
            }
        }
        let items = catalogued.filter { !$0.mayNot || features.has("refuse") }
        let departments = (0..<max(1, config.departments)).map { i in
            i < departmentCatalogue.count ? departmentCatalogue[i]
                : Department(short: departmentCatalogue[i % departmentCatalogue.count].short + "\(i / departmentCatalogue.count + 1)",
                             name: departmentCatalogue[i % departmentCatalogue.count].name + " \(i / departmentCatalogue.count + 1)")
        }
        let communities = (0..<config.communities).map { Community(index: $0, seed: config.seed, patchesPerCommunity: config.patchesPerCommunity) }
        let ctx = PlanContext(
            config: config, tag: "s\(config.seed)", workingDays: workingDays, yearStart: yearStart, yearEnd: yearEnd,
            departments: departments, communities: communities, items: items, request: features)
        let commandsOf = compiled.mapValues { c in
            Dictionary(c.definition.commands.map { ($0.name, Set($0.data.map(\.name))) }, uniquingKeysWith: { a, _ in a })
        }

        // Plans: admissions, entrustments and evaluations in full (they are few); requests as specs, each
        // planned on its first day.
        var threads: [Int: SimThread] = [:]
        var progressOf: [Int: ThreadProgress] = [:]
        var agenda: [Int64: [Int]] = [:]
        var nextRef = 0
        func register(_ t: SimThread) {
            let ref = nextRef
            nextRef += 1
            threads[ref] = t
            progressOf[ref] = ThreadProgress()
            for d in t.days { agenda[d, default: []].append(ref) }
        }
        var requestSpecs: [Int64: [RequestSpec]] = [:]
        for c in 0..<communities.count {
            let admissions = ctx.admissionThreads(community: c)
            for (t, _) in admissions { register(t) }
            let summaries = admissions.map(\.1)
            for t in ctx.entrustedThreads(community: c, admissions: summaries) { register(t) }
            for t in ctx.evaluationThreads(community: c, admissions: summaries) { register(t) }
            if let t = ctx.communityRatingThread(community: c) { register(t) }
            for spec in ctx.requestSpecs(community: c) { requestSpecs[spec.day, default: []].append(spec) }
        }

        // The year, day by day.
        var caseIds: [(id: String, workflow: String)] = []
        var breaches: [String: Int] = [:]
        // Cases whose last known state came from elsewhere than their own commands (clock breaches, a
        // rectification's withdrawal): read back from the log at the end.
        var reload = Set<String>()
        var countAtTimers = before
        let concurrency = max(1, config.concurrency)
        let totalDays = Int(yearEnd - yearStart + 1)
        for day in yearStart...yearEnd {
            for spec in requestSpecs.removeValue(forKey: day) ?? [] { register(ctx.requestThread(spec)) }
            var todays = agenda.removeValue(forKey: day) ?? []
            todays.sort { a, b in
                let sa = threads[a]!.steps[progressOf[a]!.next], sb = threads[b]!.steps[progressOf[b]!.next]
                return (sa.minute, threads[a]!.id) < (sb.minute, threads[b]!.id)
            }
            var work = todays.map { ref in (ref, threads[ref]!, progressOf[ref]!) }.makeIterator()
            let engine = self.engine
            try await withThrowingTaskGroup(of: (Int, ThreadProgress, Counters).self) { group in
                func launch() -> Bool {
                    guard let (ref, thread, state) = work.next() else { return false }
                    group.addTask {
                        let (after, delta) = try await Self.runDay(engine: engine, thread: thread, day: day, state: state, commandsOf: commandsOf)
                        return (ref, after, delta)
                    }
                    return true
                }
                var running = 0
                while running < concurrency, launch() { running += 1 }
                while let (ref, state, delta) = try await group.next() {
                    progressOf[ref] = state
                    counters.merge(delta)
                    if state.next >= threads[ref]!.steps.count || state.abandoned {
                        let t = threads.removeValue(forKey: ref)!
                        progressOf[ref] = nil
                        caseIds.append((t.id, t.workflow))
                        for linked in state.linked.sorted() { caseIds.append((linked, "rectification")) }
                        if state.abandoned { counters.abandoned += 1 }
                    }
                    _ = launch()
                }
            }
            let index = Int(day - yearStart) + 1
            report(.running, day, index, totalDays)
            let (y, m, d) = CivilDate.fromDays(day)
            // A month in which this run appended nothing (a re-run of the same seed) has had its clocks
            // fired already, or they are fired at the year's end: runTimers reads the whole log, so it is
            // not called for nothing.
            if d == CivilDate.daysInMonth(year: y, month: m), store.count != countAtTimers || day == yearEnd {
                report(.timers, day, index, totalDays)
                let fired = try await engine.runTimers(until: SimTime.at(day + 1, minute: 0).advanced(by: -1))
                countAtTimers = store.count
                for f in fired {
                    reload.insert(f.caseId)
                    let workflow = f.caseId.contains("-rectification-") ? "rectification" : Self.workflow(ofCaseId: f.caseId)
                    breaches[workflow, default: 0] += 1
                }
            }
        }
        // Threads with steps beyond the year (none are planned) or never finished: count their cases too.
        for (ref, t) in threads.sorted(by: { $0.key < $1.key }) {
            caseIds.append((t.id, t.workflow))
            for linked in progressOf[ref]!.linked.sorted() { caseIds.append((linked, "rectification")) }
        }

        // The final state of every case: as the engine returned it after the case's last command, or read
        // back from the log where something else moved it since (reading back 100,000s of cases is slow
        // once they outnumber the engine's case cache).
        report(.tallying, yearEnd, totalDays, totalDays)
        var byWorkflow: [String: Int] = [:], states: [String: [String: Int]] = [:], overdue: [String: Int] = [:]
        var money: [String: Int64] = [:]
        reload.formUnion(counters.touched)
        for (id, workflow) in caseIds {
            var snapshot = counters.snapshots[id]
            if snapshot == nil || reload.contains(id) {
                snapshot = try engine.load(id).flatMap { $0.isOpen ? CaseSnapshot($0) : nil }
            }
            guard let snapshot else { continue }
            let name = snapshot.workflow.isEmpty ? workflow : snapshot.workflow
            byWorkflow[name, default: 0] += 1
            states[name, default: [:]][snapshot.state, default: 0] += 1
            if snapshot.overdue { overdue[name, default: 0] += 1 }
            for (key, fen) in snapshot.money { money[key, default: 0] += fen }
        }
        let seconds = elapsed()
        report(.done, yearEnd, totalDays, totalDays)
        return SimulationReport(
            configuration: config, published: published, casesByWorkflow: byWorkflow, statesByWorkflow: states, overdueByWorkflow: overdue,
            commands: counters.commands, refusals: counters.refusals, unexpected: counters.unexpected, abandonedCases: counters.abandoned,
            tallies: counters.tallies, money: money, breaches: breaches, eventsAppended: store.count - before, eventsInLog: store.count,
            wallSeconds: seconds)
    }

    /// The workflow of a case id the simulation made (`s<seed>-c001-rq0001` …).
    static func workflow(ofCaseId id: String) -> String {
        let parts = id.split(separator: "-")
        guard let last = parts.last else { return "" }
        switch last.prefix(2) {
        case "rq": return "resident-request"
        case "ad": return "task-admission"
        case "es": return "entrusted-service"
        case "ev": return "department-evaluation"
        case "cr": return "community-rating"
        default: return ""
        }
    }

    /// Runs a thread's steps due on `day`, in order.
    private static func runDay(
        engine: CaseEngine, thread: SimThread, day: Int64, state: ThreadProgress, commandsOf: [String: [String: Set<String>]]
    ) async throws -> (ThreadProgress, Counters) {
        var state = state
        var counters = Counters()
        while state.next < thread.steps.count, thread.steps[state.next].day == day, !state.abandoned {
            let index = state.next
            let step = thread.steps[index]
            state.next += 1
            // The target case, and its workflow's commands.
            var caseId = ""
            var workflow = thread.workflow
            switch step.target {
            case .id(let id):
                caseId = id
            case let .linked(from, field):
                if let known = state.resolved[field] {
                    caseId = known
                } else if case .string(let id)? = try engine.load(from)?.data[field] {
                    caseId = id
                    state.resolved[field] = id
                    state.linked.insert(id)
                } else {
                    counters.note("\(from): no case in '\(field)' for \(step.command)")
                    state.abandoned = true
                }
                workflow = "rectification"
            }
            if state.abandoned { break }
            // Commands (and data fields) the published definition does not have are left out.
            guard let takes = commandsOf[workflow]?[step.command] else {
                counters.tallies["skipped.\(workflow).\(step.command)", default: 0] += 1
                continue
            }
            let data = JSONValue.object(step.data.filter { takes.contains($0.key) })
            let commandId = "\(thread.id)/\(index)/\(step.command)"
            let outcome: CommandOutcome
            if let opens = step.opens {
                outcome = try await engine.open(workflow: opens, caseId: caseId, command: step.command, actor: step.actor, data: data,
                                                at: step.at, commandId: commandId)
            } else {
                outcome = try await engine.handle(caseId: caseId, command: step.command, actor: step.actor, data: data, at: step.at,
                                                  commandId: commandId)
            }
            counters.commands += 1
            if case .accepted(let s, let position) = outcome {
                counters.snapshots[caseId] = CaseSnapshot(s)
                if let touched = step.touches {
                    counters.touched.insert(touched)
                    // A `send … to-cases-of` effect (a rectification's withdrawal) records every case it acted on.
                    counters.touched.formUnion(try Self.targets(engine, caseId: caseId, from: position))
                }
            }
            switch (outcome, step.expect) {
            case (.accepted, .accept):
                if step.opens != nil { counters.cases += 1 }
                if step.command == "order-rectification" { counters.cases += 1 }
                for t in step.tally { counters.tallies[t, default: 0] += 1 }
            case (.rejected, .refuse(let reason)):
                counters.refusals[reason, default: 0] += 1
                for t in step.tally { counters.tallies[t, default: 0] += 1 }
            case (.rejected(let rejection, _), .accept):
                counters.refusals["unexpected:" + rejection.check.rawValue, default: 0] += 1
                counters.note("\(caseId) \(step.command) at \(step.at.iso8601): \(rejection)")
                state.abandoned = true
            case (.accepted(let s, _), .refuse(let reason)):
                counters.note("\(caseId) \(step.command) at \(step.at.iso8601): accepted (state \(s.state)), expected a refusal (\(reason))")
                state.abandoned = true
            }
        }
        return (state, counters)
    }
}

extension CitySimulation {
    /// The cases the effects of the command recorded at `position` on `caseId` selected (`case.effect-targeted`).
    static func targets(_ engine: CaseEngine, caseId: String, from position: UInt64) throws -> [String] {
        try engine.store.readStream(CaseState.stream(caseId), from: 0, limit: Int.max)
            .filter { $0.type == CaseEventType.effectTargeted && $0.position >= position }
            .flatMap { e -> [String] in
                guard let text = e.payloadText, let targets = (try? JSONValue.parse(text))?.object?["targets"]?.array else { return [] }
                return targets.compactMap(\.string)
            }
    }
}

/// Where a thread is: the next step, the linked cases it resolved, whether it stopped early.
struct ThreadProgress: Sendable {
    var next = 0
    var abandoned = false
    var resolved: [String: String] = [:]
    var linked: Set<String> = []
}

/// What the report needs of a case's state.
struct CaseSnapshot: Sendable {
    var workflow: String
    var state: String
    var overdue: Bool
    /// Entrusted-service amounts (fen).
    var money: [String: Int64] = [:]

    init(_ s: CaseState) {
        workflow = s.workflow
        state = s.state
        overdue = s.data["overdue"] == .boolean(true)
        if s.workflow == "entrusted-service" {
            for key in ["payable", "paid", "outstanding", "advances", "advances_outstanding"] {
                if case .money(let fen)? = s.data[key] { money[key] = fen }
            }
        }
    }
}

/// Counts gathered by the tasks and merged by the run.
struct Counters: Sendable {
    /// The state of each case after its latest accepted command.
    var snapshots: [String: CaseSnapshot] = [:]
    /// Cases changed by another case's effects (a rectification's `send`).
    var touched = Set<String>()
    var cases = 0
    var commands = 0
    var refusals: [String: Int] = [:]
    var tallies: [String: Int] = [:]
    var unexpected: [String] = []
    var abandoned = 0

    mutating func note(_ message: String) {
        if unexpected.count < 20 { unexpected.append(message) }
    }

    mutating func merge(_ other: Counters) {
        cases += other.cases
        commands += other.commands
        abandoned += other.abandoned
        for (k, v) in other.refusals { refusals[k, default: 0] += v }
        for (k, v) in other.tallies { tallies[k, default: 0] += v }
        for m in other.unexpected where unexpected.count < 20 { unexpected.append(m) }
        snapshots.merge(other.snapshots) { $1 }
        touched.formUnion(other.touched)
    }
}

extension Timestamp {
    func advanced(by milliseconds: Int64) -> Timestamp { Timestamp(millisecondsSince1970: millisecondsSince1970 + milliseconds) }
}
