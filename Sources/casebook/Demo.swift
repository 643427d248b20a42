import ArgumentParser
import CasebookLog
import CasebookProjections
import CasebookSimulation
import CasebookWorkflow
import Foundation

/// `casebook demo`: a year of a synthetic city driven through the engine (CasebookSimulation) on the
/// default store, then a summary of what the simulation did, the log verified, and the projections'
/// summary (`casebook projections summary`).
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a synthetic city's year through the engine, fire the clocks, verify the log, summarise.",
        discussion: """
            Publishes the six workflows in --workflows and simulates a year (2026) of a city of --communities \
            communities (default 564, Ningbo's count): resident requests at the community halls (one-time \
            notices, appointments outside office hours, late work, referrals, ratings), admissions of departmental \
            work, entrusted work paid after assessment (some late, some advanced by staff), the communities' \
            evaluation of departments and rectifications, and the residents' yearly rating of their community. Every command goes through the engine at its \
            simulated time; the clocks are fired at each month's end. Progress goes to standard error. \
            Deterministic for a given --seed and sizes; running it again writes nothing new.
            """)
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Seed for the synthetic city.") var seed: UInt64 = 1
    @Option(help: "Communities (社区).") var communities: Int = CityConfiguration().communities
    @Option(help: "Resident requests per community in the year.") var requestsPerCommunity: Int = CityConfiguration().requestsPerCommunity
    @Option(help: "Government departments (at most 28 distinct names).") var departments: Int = CityConfiguration().departments
    @Option(help: "Cases whose commands run at once.") var concurrency: Int = CityConfiguration().concurrency
    @Option(help: "The workflows folder (definitions, calendars/, catalogues/).") var workflows: String = "Workflows"

    func validate() throws {
        guard communities > 0 else { throw ValidationError("--communities must be positive") }
        guard requestsPerCommunity >= 0 else { throw ValidationError("--requests-per-community cannot be negative") }
        guard departments > 0 else { throw ValidationError("--departments must be positive") }
        guard concurrency > 0 else { throw ValidationError("--concurrency must be positive") }
    }

    func run() async throws {
        let store = try storeOptions.open()
        defer { store.close() }
        let engine = try CaseEngine(store: store)
        var configuration = CityConfiguration()
        configuration.seed = seed
        configuration.communities = communities
        configuration.requestsPerCommunity = requestsPerCommunity
        configuration.departments = departments
        configuration.concurrency = concurrency
        let simulation = CitySimulation(engine: engine, workflows: workflows, configuration: configuration)

        let line = ProgressLine()
        let report: SimulationReport
        do {
            report = try await simulation.run { line.show($0) }
        } catch let error as SimulationError {
            line.finish()
            warn("error: \(error)")
            throw ExitCode.failure
        }
        line.finish()
        print(DemoSummary(report: report, store: storeOptions.store).text)

        warn("verifying the log …")
        let verified = try store.verify()
        print("log: \(verified.events) events in \(verified.streams) streams, Merkle root \(verified.root.hex)")
        print(verified.isValid ? "verify: OK" : "verify: FAILED \(verified.problems.first.map(String.init(describing:)) ?? "")")
        if !verified.isValid { throw ExitCode.failure }

        // What auditors see: the projections, brought up to date with the year just simulated.
        warn("bringing the projections up to date …")
        let projections = try ProjectionStore(store: store)
        try projections.catchUp()
        print("")
        try printProjectionSummary(projections)
        print("")
        if !report.unexpected.isEmpty { throw ExitCode.failure }
        let example = "s\(seed)-c001-rq0001"
        print("next: `casebook case show \(example)`, `casebook read --stream case-\(example)`, `casebook checkpoint`")
    }
}

/// The progress line on standard error: rewritten in place (\r) on a terminal, else a line at a time;
/// at most about once a second, plus phase changes.
final class ProgressLine {
    private let tty = isatty(STDERR_FILENO) == 1
    private var last: UInt64 = 0
    private var lastPhase: SimulationProgress.Phase?
    private var width = 0

    func show(_ p: SimulationProgress) {
        let now = DispatchTime.now().uptimeNanoseconds
        let phaseChanged = p.phase != lastPhase && p.phase != .running && p.phase != .timers
        guard phaseChanged || now - last >= 1_000_000_000 || p.phase == .done else { return }
        last = now
        lastPhase = p.phase
        let what: String
        switch p.phase {
        case .publishing: what = "publishing the workflows"
        case .running: what = "simulating"
        case .timers: what = "firing clocks"
        case .tallying: what = "reading back every case"
        case .done: what = "done"
        }
        let text = String(format: "%@ %@ (day %d/%d) · %d cases · %d commands · %d refused · %llu events · %.0f events/s · %.0f s",
                          p.date, what, p.day, p.totalDays, p.cases, p.commands, p.refusals, p.events, p.eventsPerSecond, p.elapsedSeconds)
        if tty {
            let padded = text + String(repeating: " ", count: max(0, width - text.count))
            width = text.count
            FileHandle.standardError.write(Data(("\r" + padded).utf8))
        } else {
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    /// Ends the rewritten line.
    func finish() {
        if tty && width > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
        width = 0
    }
}

/// The readable summary of what the simulation did (from its report: counts as they happened, and each
/// case's final state read back from the log).
struct DemoSummary {
    let report: SimulationReport
    let store: String

    var text: String {
        let r = report, c = r.configuration
        var out: [String] = []
        func n(_ key: String) -> Int { r.tallies[key] ?? 0 }
        func pct(_ part: Int, _ whole: Int) -> String { whole == 0 ? "–" : String(format: "%.1f%%", 100 * Double(part) / Double(whole)) }
        func states(_ workflow: String) -> String {
            (r.statesByWorkflow[workflow] ?? [:]).sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
        func yuan(_ key: String) -> String { Value.formatFen(r.money[key] ?? 0) }

        out.append("store: \(store)")
        out.append("city 城市: \(c.communities) communities 社区, \(c.departments) departments 部门, year \(c.year), seed \(c.seed)")
        out.append("published 已发布: " + r.published.map { "\($0.workflow) v\($0.version) (\($0.hash.prefix(12)))" }.joined(separator: ", "))

        let requests = r.casesByWorkflow["resident-request"] ?? 0
        let completedOrClosed = n("request.on-time") + n("request.late")
        let rated = n("rating.satisfied") + n("rating.basically-satisfied") + n("rating.dissatisfied")
        out.append("")
        out.append("居民诉求 resident requests: \(requests) — \(states("resident-request"))")
        out.append("  一次性告知 one-time notices \(n("request.notice")) (\(pct(n("request.notice"), requests))); second notices refused \(n("request.second-notice-refused"))")
        out.append("  预约 appointments outside hours \(n("request.appointment")) (\(pct(n("request.appointment"), requests))); patch leaders assigned \(n("request.patch")); referred to departments \(n("request.referred"))")
        out.append("  不得出具 may-not certificates refused \(n("request.refused-may-not")); reopened \(n("request.reopened"))")
        out.append("  超时 completed late \(n("request.late")) of \(completedOrClosed) (\(pct(n("request.late"), completedOrClosed))); flagged overdue by the clocks \(r.overdueByWorkflow["resident-request"] ?? 0)")
        out.append("  满意度 ratings: satisfied \(pct(n("rating.satisfied"), rated)), basically \(pct(n("rating.basically-satisfied"), rated)), dissatisfied \(pct(n("rating.dissatisfied"), rated)); never rated \(n("request.unrated"))")

        let admissions = r.casesByWorkflow["task-admission"] ?? 0
        out.append("")
        out.append("工作准入 admissions: \(admissions) — \(states("task-admission"))")
        let kinds = ["work-task", "organisation", "statistical-survey", "plaque", "rating-campaign", "stamping-item"].map { $0 + " " + String(n("admission.kind." + $0)) }
        out.append("  kinds: " + kinds.joined(separator: ", "))
        out.append("  with legal basis \(n("admission.with-legal-basis")), without \(n("admission.without-legal-basis")); residents' resolutions passed \(n("admission.resolution-passed")), failed \(n("admission.vote-failed"))")
        let categories = ["must-undertake", "should-assist", "may-be-entrusted", "should-not-undertake"].map { $0 + " " + String(n("admission.category." + $0)) }
        out.append("  filed 审批备案: " + categories.joined(separator: ", ") + "; cut back (should not undertake) \(n("admission.cut-back"))")

        let entrusted = r.casesByWorkflow["entrusted-service"] ?? 0
        out.append("")
        out.append("委托服务 entrusted work: \(entrusted) — \(states("entrusted-service"))")
        out.append("  modes: per unit \(n("entrusted.per-unit")), lump sum \(n("entrusted.lump-sum")), per 1,000 households \(n("entrusted.per-1000-households-a-year")); without admission 未经准入 \(n("entrusted.without-admission"))")
        let settled = n("payment.settled")
        out.append("  paid in full \(settled), late 逾期 \(n("payment.late")) (\(pct(n("payment.late"), settled))); partial payments \(n("payment.partial")); flagged overdue \(r.overdueByWorkflow["entrusted-service"] ?? 0)")
        out.append("  money: payable \(yuan("payable")), paid \(yuan("paid")), outstanding \(yuan("outstanding")); staff advances 垫付 \(yuan("advances")), not reimbursed \(yuan("advances_outstanding"))")

        let evaluations = r.casesByWorkflow["department-evaluation"] ?? 0
        out.append("")
        out.append("部门评议 evaluations: \(evaluations) — satisfied \(n("evaluation.satisfied")), basically \(n("evaluation.basically-satisfied")), unsatisfactory \(n("evaluation.unsatisfactory")) (\(pct(n("evaluation.unsatisfactory"), evaluations)))")
        out.append("整改 rectifications: \(r.casesByWorkflow["rectification"] ?? 0) — \(states("rectification")); late reports \(n("rectification.late-report")), extended \(n("rectification.extended")), work withdrawn 撤出社区 \(n("rectification.withdrawn"))")

        let surveys = r.casesByWorkflow["community-rating"] ?? 0
        let concluded = n("community-rating.concluded")
        out.append("居民评议社区 residents' ratings: \(surveys) — \(states("community-rating")); above the 70% line (special fund ¥5,000) \(n("community-rating.above-70")) of \(concluded) concluded (\(pct(n("community-rating.above-70"), concluded))), unfinished \(n("community-rating.unfinished"))")

        out.append("")
        let refusals = r.refusals.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        out.append("refusals recorded 拒绝记录: \(r.refusals.values.reduce(0, +)) (\(refusals.isEmpty ? "none" : refusals))")
        out.append("clock breaches recorded 超时记录: " + (r.breaches.isEmpty ? "none" : r.breaches.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        if !r.unexpected.isEmpty {
            out.append("UNEXPECTED outcomes (\(r.abandonedCases) cases stopped early):")
            out += r.unexpected.map { "  " + $0 }
        }
        out.append("")
        out.append(String(format: "run: %d commands, %llu events appended in %.1f s (%.0f events/s); the log holds %llu events",
                          r.commands, r.eventsAppended, r.wallSeconds, r.eventsPerSecond, r.eventsInLog))
        return out.joined(separator: "\n")
    }
}
