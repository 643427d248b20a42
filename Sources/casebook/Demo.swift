import ArgumentParser
import CasebookLog
import CasebookWorkflow
import Foundation

/// The main job for now: publish the resident-request workflow and run a synthetic month of requests
/// through the engine on the default store, fire the clocks, and verify the log.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a synthetic month of resident requests through the engine, fire the clocks, verify the log.",
        discussion: """
            Publishes Workflows/resident-request.yaml, then opens --cases requests in March 2026 at three
            counters; some need a one-time notice of missing materials, some are handled late. Deterministic
            for a given --seed; running it again with the same seed writes nothing new (idempotent command ids).
            """)
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Resident requests to create.") var cases: Int = 300
    @Option(help: "Seed for the synthetic data.") var seed: UInt64 = 1
    @Option(help: "The workflows folder.") var workflows: String = "Workflows"

    func run() async throws {
        let store = try storeOptions.open()
        defer { store.close() }
        let started = nowNanos()
        let before = store.count
        let engine = try CaseEngine(store: store)
        let compiled: CompiledWorkflow
        do {
            compiled = try await engine.registry.publish(
                file: workflows + "/resident-request.yaml", calendarDirectory: workflows + "/calendars", actor: "admin")
        } catch let list as DiagnosticList {
            for d in list.diagnostics { warn(d.description) }
            throw ExitCode.failure
        }
        print("published \(compiled.definition.name) v\(compiled.definition.version) (\(compiled.hash.prefix(12)))")

        var rng = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func next(_ bound: Int) -> Int {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
            return Int(rng % UInt64(bound))
        }
        // Service items of Workflows/catalogues/service-items.yaml (their published limits set the clocks).
        let items = ["residence-certificate", "subsistence-allowance", "senior-card", "employment-registration", "family-planning-certificate"]
        let counters = ["wang", "li", "zhang"]
        let surnames = ["陈", "林", "黄", "周", "吴", "徐"]
        let month = Timestamp(iso8601: "2026-03-02T08:30:00+08:00")!.millisecondsSince1970
        struct Plan: Sendable { var id: String; var item: String; var counter: String; var applicant: String; var opened: Int64
                                var missing: Bool; var lateDays: Int64; var rating: String }
        let plans = (0..<cases).map { c in
            Plan(id: "demo\(seed)-\(c)", item: items[next(items.count)], counter: counters[next(counters.count)],
                 applicant: surnames[next(surnames.count)] + "某\(c)", opened: month + Int64(next(20)) * 86_400_000 + Int64(next(480)) * 60_000,
                 missing: next(4) == 0, lateDays: next(6) == 0 ? 9 : 1, rating: ["satisfied", "satisfied", "basically-satisfied", "dissatisfied"][next(4)])
        }
        var refused = 0
        try await withThrowingTaskGroup(of: Int.self) { group in
            for p in plans {
                group.addTask {
                    var refusals = 0
                    let counter = Actor(role: "counter", id: p.counter)
                    func at(_ hours: Int64) -> Timestamp { Timestamp(millisecondsSince1970: p.opened + hours * 3_600_000) }
                    var steps = 0
                    func step(_ command: String, _ actor: Actor, _ data: JSONValue = .object([:]), _ time: Timestamp) async throws {
                        steps += 1
                        let outcome = try await engine.handle(caseId: p.id, command: command, actor: actor, data: data, at: time,
                                                              commandId: "\(p.id)-\(steps)-\(command)")
                        if case .rejected = outcome { refusals += 1 }
                    }
                    _ = try await engine.open(
                        workflow: "resident-request", caseId: p.id, actor: counter,
                        data: .object(["item": .string(p.item), "community": .string("dongcheng"), "applicant": .string(p.applicant)]), at: at(0), commandId: "\(p.id)-receive")
                    if p.missing {
                        try await step("notify-missing", counter, .object(["missing": .array([.string("户口簿 household register")])]), at(1))
                        // A second notice is refused by the one-time-notice rule, and the refusal is recorded.
                        try await step("notify-missing", counter, .object(["missing": .array([.string("照片 photo")])]), at(2))
                        try await step("supply-materials", Actor(role: "resident", id: "r"), .object([:]), at(26))
                    } else {
                        try await step("hand-off", counter, .object([:]), at(1))
                    }
                    try await step("complete", Actor(role: "back-office", id: "bo"), .object([:]), at(24 * p.lateDays + 2))
                    try await step("rate", Actor(role: "resident", id: "r"), .object(["rating": .string(p.rating)]), at(24 * p.lateDays + 30))
                    return refusals
                }
            }
            for try await r in group { refused += r }
        }
        let breaches = try await engine.runTimers(until: Timestamp(iso8601: "2026-04-30T00:00:00+08:00")!)
        var states: [String: Int] = [:]
        var overdue = 0
        for p in plans {
            guard let s = try engine.load(p.id) else { continue }
            states[s.state, default: 0] += 1
            if s.data["overdue"] == .boolean(true) { overdue += 1 }
        }
        let report = try store.verify()
        let seconds = Double(nowNanos() - started) / 1e9
        print("store: \(storeOptions.store) (id \(store.storeId))")
        print("\(cases) resident requests: \(store.count - before) events appended in \(String(format: "%.2f", seconds)) s (\(store.commitCount) write batches)")
        for (state, n) in states.sorted(by: { $0.key < $1.key }) { print("  \(state): \(n)") }
        print("  refused commands recorded: \(refused) (second missing-materials notices)")
        print("  overdue: \(overdue) (\(breaches.count) breaches fired now)")
        print("log: \(report.events) events in \(report.streams) streams, Merkle root \(report.root.hex)")
        print(report.isValid ? "verify: OK" : "verify: FAILED \(report.problems.first.map(String.init(describing:)) ?? "")")
        if !report.isValid { throw ExitCode.failure }
        print("next: `casebook case show demo\(seed)-0`, `casebook read --stream case-demo\(seed)-0`, `casebook checkpoint`")
    }
}
