import ArgumentParser
import CasebookLog
import CasebookProjections
import CasebookWorkflow
import Foundation

/// `casebook bench projections`: folds a store's log into every projection from position 0, and
/// reports events/s and peak heap memory. On a demo store (`casebook demo`) it measures the real mix;
/// without `--dir` it first writes a synthetic log of engine-shaped events for the five workflows they follow.
struct ProjectionBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projections",
        abstract: "Projection rebuild throughput (events/s) and peak heap memory, on a demo store or a synthetic log.",
        discussion: """
            With --dir, rebuilds the projections of that store (e.g. one made by `casebook demo`) --rounds \
            times. Without it (or when that store is empty), it first appends --cases synthetic cases to a \
            temporary store: a fifth for each of the five workflows the projections follow, 8–14 events each, \
            shaped like the engine's (case.opened and case.command-accepted with set fields and clock \
            operations, plus the domain events the engine emits). It first times reading the log in place and \
            parsing what the projections read (the floor under any rebuild), --rounds times, then the rebuilds. \
            Prints one JSON line per round of each. Peak memory is the anonymous resident set (heap), which \
            excludes the memory-mapped store.
            """)
    @Option(help: "A store to rebuild the projections of (default: a new synthetic one).") var dir: String?
    @Option(help: "Synthetic cases to write when no --dir is given.") var cases: Int = 100_000
    @Option(help: "Rebuild rounds.") var rounds: Int = 3

    func run() async throws {
        let path = dir ?? NSTemporaryDirectory() + "casebook-projection-bench-\(UUID().uuidString)"
        defer { if dir == nil { try? FileManager.default.removeItem(atPath: path) } }
        var options = EventStoreOptions()
        options.maxMapSize = 1 << 40
        let store = try EventStore(path: path, options: options)
        defer { store.close() }
        if store.count == 0 {
            let started = nowNanos()
            try await Self.writeSynthetic(store, cases: cases)
            warn("wrote \(store.count) synthetic events in \(String(format: "%.1f", Double(nowNanos() - started) / 1e9)) s")
        }
        let projections = try ProjectionStore(store: store)
        // The floor under any rebuild: reading the log in place and parsing what projections read, as a
        // rebuild's reading thread does, on this thread alone.
        for round in 1...max(1, rounds) {
            let started = nowNanos()
            let (n, parsed) = try ProjectionStore.readAndParse(store)
            let seconds = Double(nowNanos() - started) / 1e9
            print(#"{"bench":"projections-read-and-parse","round":\#(round),"events":\#(n),"parsed":\#(parsed),"seconds":\#(round3(seconds)),"eventsPerSecond":\#(Int(Double(n) / seconds))}"#)
        }
        for round in 1...max(1, rounds) {
            let sampler = MemorySampler()
            let run = try projections.rebuild()
            let peak = sampler.stop()
            let entries = try projections.status().reduce(0) { $0 + $1.entries }
            print(#"{"bench":"projections-rebuild","round":\#(round),"store":"\#(path)","events":\#(run.events),"seconds":\#(round3(run.seconds)),"eventsPerSecond":\#(Int(run.eventsPerSecond)),"entries":\#(entries),"peakAnonymousMiB":\#(round3(Double(peak) / 1_048_576))}"#)
        }
    }

    /// Appends `cases` synthetic cases, 64 appenders at a time, each case's events in one append.
    static func writeSynthetic(_ store: EventStore, cases: Int) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<64 {
                group.addTask {
                    var c = w
                    while c < cases {
                        try await store.append(to: CaseState.stream("b\(c)"), expectedVersion: .noStream, events: syntheticCase(c))
                        c += 64
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    static func syntheticCase(_ c: Int) -> [ProposedEvent] {
        let t0: Int64 = 1_767_225_600_000 + Int64(c % 300) * 86_400_000 + Int64(c % 480) * 60_000
        let community = "社区\(c % 564)", department = ["民政局", "人社局", "卫健委", "公安分局", "统计局", "住建局"][c % 6]
        var events: [ProposedEvent] = []
        var step = 0
        func at(_ hours: Int) -> Timestamp { Timestamp(millisecondsSince1970: t0 + Int64(hours) * 3_600_000) }
        func command(_ name: String, _ state: String, set: [String: JSONValue], clocks: [JSONValue] = [], workflow: String? = nil, hours: Int) {
            var payload: [String: JSONValue] = [
                "case": .string("b\(c)"), "command": .string(name), "actor": .string("u\(c % 17)"), "role": .string("staff"),
                "at": .string(at(hours).iso8601), "data": .object([:]), "from": .string(""), "state": .string(state), "set": .object(set),
            ]
            if !clocks.isEmpty { payload["clocks"] = .array(clocks) }
            if let workflow { payload["workflow"] = .string(workflow); payload["definition"] = .string(String(repeating: "ab", count: 32)); payload["version"] = .int(1) }
            events.append(ProposedEvent(type: step == 0 ? CaseEventType.opened : CaseEventType.commandAccepted, json: JSONValue.object(payload).json,
                                        actor: "staff:u\(c % 17)", recordedAt: at(hours)))
            events.append(ProposedEvent(type: "domain.\(name)", json: JSONValue.object(["case": .string("b\(c)"), "state": .string(state)]).json,
                                        actor: "staff:u\(c % 17)", recordedAt: at(hours)))
            step += 1
        }
        func clock(_ name: String, _ op: String, due hours: Int? = nil) -> JSONValue {
            var o: [String: JSONValue] = ["clock": .string(name), "op": .string(op)]
            if let hours { o["deadline"] = .string(at(hours).iso8601) }
            return .object(o)
        }
        switch c % 5 {
        case 0:
            command("receive", "received", set: ["community": .string(community), "patch": .string("p\(c % 7)"), "item": .string("residence-certificate"),
                                                 "owner": .string("u\(c % 17)"), "notices": .int(0), "overdue": .bool(false), "limit_days": .int(5),
                                                 "certificate": .string("must")],
                    clocks: [clock("completion", "start", due: 120)], workflow: "resident-request", hours: 0)
            command("notify-missing", "waiting-materials", set: ["missing": .array([.string("户口簿")]), "notices": .int(1)], clocks: [clock("completion", "pause")], hours: 1)
            command("supply-materials", "in-progress", set: [:], clocks: [clock("completion", "resume", due: 150)], hours: 30)
            command("complete", "completed", set: [:], clocks: [clock("completion", "stop")], hours: 50 + c % 120)
            command("rate", "closed", set: ["rating": .string(["satisfied", "satisfied", "basically-satisfied", "dissatisfied"][c % 4 == 0 ? (c / 4) % 4 : 0])], hours: 60 + c % 120)
        case 1:
            command("apply", "applied", set: ["kind": .string("work-task"), "title": .string("任务\(c)"), "community": .string(community),
                                              "department": .string(department), "has_legal_basis": .bool(true), "legal_basis": .string("《城市居民委员会组织法》"),
                                              "resolution_passed": .bool(false), "overdue": .bool(false)],
                    clocks: [clock("review", "start", due: 480)], workflow: "task-admission", hours: 0)
            command("review", "awaiting-filing", set: ["reviewed_by": .string("s\(c % 9)")], hours: 48)
            command("approve", "filed", set: ["filed_by": .string("d1"), "category": .string("must-undertake")], hours: 96)
            command("admit", "admitted", set: [:], clocks: [clock("review", "stop")], hours: 100)
        case 2:
            command("entrust-per-unit", "entrusted", set: ["department": .string(department), "community": .string(community), "item": .string("走访\(c)"),
                                                           "admission": .string("b\(c - 1)"), "mode": .string("per-unit"), "unit_price": .int(2500),
                                                           "fixed_amount": .int(0), "delivered": .int(0), "paid": .int(0), "advances": .int(0),
                                                           "reimbursed": .int(0), "advances_outstanding": .int(0), "overdue": .bool(false)],
                    workflow: "entrusted-service", hours: 0)
            command("record-delivery", "entrusted", set: ["delivered": .int(30)], hours: 200)
            command("record-delivery", "entrusted", set: ["delivered": .int(55)], hours: 400)
            command("assess", "payable", set: ["quality": .int(85), "assessed_quantity": .int(50), "payable": .int(125_000), "outstanding": .int(125_000)],
                    clocks: [clock("payment", "start", due: 1200)], hours: 500)
            command("pay", "payable", set: ["paid": .int(50_000), "outstanding": .int(75_000)], hours: 900)
            command("pay-in-full", "paid", set: ["paid": .int(125_000), "outstanding": .int(0)], clocks: [clock("payment", "stop")], hours: 1500)
        case 3:
            command("open", "surveying", set: ["community": .string(community), "street": .string("街道\(c % 40)"), "year": .int(2026),
                                               "period": .string("2026"), "sample": .int(30), "households": .int(0), "batches": .int(0),
                                               "answers": .int(0), "satisfied": .int(0), "overdue": .bool(false)],
                    clocks: [clock("survey", "start", due: 640)], workflow: "community-rating", hours: 0)
            command("record-visits", "surveying", set: ["households": .int(16), "batches": .int(1), "service": .int(14), "management": .int(13),
                                                        "answers": .int(112), "satisfied": .int(90)], hours: 30)
            command("record-visits", "surveying", set: ["households": .int(30), "batches": .int(2), "service": .int(27), "management": .int(25),
                                                        "answers": .int(210), "satisfied": .int(Int64(150 + c % 20))], hours: 200)
            command("conclude", "concluded", set: ["fund_eligible": .bool(c % 20 < 18), "special_fund": .int(c % 20 < 18 ? 500_000 : 0)],
                    clocks: [clock("survey", "stop")], hours: 300)
        default:
            command("open", "rectifying", set: ["department": .string(department), "community": .string(community), "reason": .string("评议不满意"),
                                                "reports": .int(0), "overdue": .bool(false)],
                    clocks: [clock("deadline", "start", due: 480)], workflow: "rectification", hours: 0)
            command("report", "reported", set: ["report": .string("已整改"), "reports": .int(1)], clocks: [clock("deadline", "stop")], hours: 300)
            command("confirm-rectified", "rectified", set: ["outcome": .string("rectified")], hours: 400)
        }
        return events
    }
}
