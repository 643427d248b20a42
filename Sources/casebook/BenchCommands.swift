import ArgumentParser
import CasebookLog
import CasebookWorkflow
import Foundation

/// `casebook bench commands`: end-to-end durable commands (load the case, evaluate, append) on a
/// six-step lifecycle, beside the log's own appends measured in the same run.
struct CommandBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "commands",
        abstract: "Durable commands per second through the case engine, beside raw log appends from the same run.",
        discussion: """
            Each case goes through six steps (open, then five commands, two with guards, one with a clock). \
            Callers each own a share of the cases and drive them one command at a time. The log figures \
            append one event per call with an exact expected version, with the same number of callers.
            """)
    @Option(help: "Cases.") var cases: Int = 10_000
    @Option(name: .customLong("callers"), help: "Concurrent callers (repeatable; default 1 and 64).") var callerCounts: [Int] = []
    @Option(help: "Cases for the single-caller run (it is slow: one fsync per command).") var singleCases: Int = 1_000

    static let definition = """
        workflow: bench-lifecycle
        version: 1
        title: 基准 Benchmark lifecycle
        calendar: cn
        roles: [clerk, officer]
        fields:
          item: { type: string, required: true }
          amount: money
          checked: boolean
          notes: integer
        states:
          received: { initial: true, owner: clerk }
          checking: { owner: officer }
          approved: { owner: officer }
          paid: { owner: clerk }
          closed: { final: true }
        clocks:
          handling:
            budget: 5 working days
            on-breach: { event: bench.overdue }
        commands:
          open:
            opens: true
            roles: [clerk]
            data: { item: { type: string, required: true }, amount: money }
            set: { item: data.item, amount: data.amount, notes: "0" }
            clocks: { handling: start }
          check:
            from: [received]
            to: checking
            roles: [officer]
            guard: "case.amount is set and case.amount > 0 fen"
          note:
            from: [checking]
            roles: [officer]
            set: { notes: case.notes + 1 }
          approve:
            from: [checking]
            to: approved
            roles: [officer]
            guard: "case.notes >= 1"
            set: { checked: "true" }
          pay:
            from: [approved]
            to: paid
            roles: [clerk]
            clocks: { handling: stop }
          close:
            from: [paid]
            to: closed
            roles: [clerk]
        """

    func run() async throws {
        let counts = callerCounts.isEmpty ? [1, 64] : callerCounts
        let work = NSTemporaryDirectory() + "casebook-bench-commands-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: work) }
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let file = work + "/bench-lifecycle.yaml"
        try Data(Self.definition.utf8).write(to: URL(fileURLWithPath: file))
        for callers in counts {
            let n = callers == 1 ? min(cases, singleCases) : cases
            let commands = try await runEngine(directory: work + "/engine-\(callers)", definitionFile: file, cases: n, callers: callers)
            print(try jsonObject(commands))
            let log = try await runLog(directory: work + "/log-\(callers)", appends: n * 6, callers: callers)
            print(try jsonObject(log))
            let ratio = (commands["commandsPerSec"] as! Double) / (log["eventsPerSec"] as! Double)
            let latency = (commands["p50Us"] as! Double) / (log["p50Us"] as! Double)
            print(try jsonObject(["bench": "commands-vs-log", "callers": callers, "throughputRatio": round2(ratio * 1000) / 1000,
                                  "p50LatencyRatio": round2(latency * 1000) / 1000]))
        }
    }

    private func runEngine(directory: String, definitionFile: String, cases: Int, callers: Int) async throws -> [String: any Sendable] {
        var options = EventStoreOptions()
        options.initialMapSize = 256 << 20
        let store = try EventStore(path: directory, options: options)
        defer { store.close() }
        let engine = try CaseEngine(store: store)
        let calendars = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Workflows/calendars").path
        try await engine.registry.publish(file: definitionFile, calendarDirectory: FileManager.default.fileExists(atPath: calendars) ? calendars : "Workflows/calendars")
        let clerk = Actor(role: "clerk", id: "c"), officer = Actor(role: "officer", id: "o")
        let start = Timestamp(iso8601: "2026-03-02T09:00:00+08:00")!
        let steps: [(String, Actor)] = [("check", officer), ("note", officer), ("approve", officer), ("pay", clerk), ("close", clerk)]
        let t0 = nowNanos()
        let results = try await withThrowingTaskGroup(of: ([UInt64], Int).self) { group in
            for caller in 0..<callers {
                group.addTask {
                    var samples: [UInt64] = []
                    var refused = 0
                    for c in stride(from: caller, to: cases, by: callers) {
                        let id = "bench-\(c)"
                        var s0 = nowNanos()
                        if case .rejected = try await engine.open(
                            workflow: "bench-lifecycle", caseId: id, actor: clerk,
                            data: .object(["item": .string("item-\(c)"), "amount": .int(Int64(100 + c))]), at: start) { refused += 1 }
                        samples.append(nowNanos() - s0)
                        for (k, (command, actor)) in steps.enumerated() {
                            s0 = nowNanos()
                            let at = Timestamp(millisecondsSince1970: start.millisecondsSince1970 + Int64(k + 1) * 60_000)
                            if case .rejected = try await engine.handle(caseId: id, command: command, actor: actor, at: at) { refused += 1 }
                            samples.append(nowNanos() - s0)
                        }
                    }
                    return (samples, refused)
                }
            }
            var all = Latencies()
            var refused = 0
            for try await (s, r) in group {
                all.append(contentsOf: s)
                refused += r
            }
            return (all, refused)
        }
        let seconds = Double(nowNanos() - t0) / 1e9
        let total = results.0.samples.count
        return ["bench": "commands", "cases": cases, "callers": callers, "commands": total, "refused": results.1,
                "seconds": round2(seconds * 1000) / 1000, "commandsPerSec": round2(Double(total) / seconds),
                "p50Us": round2(results.0.percentile(0.5)), "p99Us": round2(results.0.percentile(0.99)), "durable": true]
    }

    private func runLog(directory: String, appends: Int, callers: Int) async throws -> [String: any Sendable] {
        var options = EventStoreOptions()
        options.initialMapSize = 256 << 20
        let store = try EventStore(path: directory, options: options)
        defer { store.close() }
        let payload = Array(String(repeating: "x", count: 200).utf8)
        let t0 = nowNanos()
        let latencies = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for caller in 0..<callers {
                group.addTask {
                    var samples: [UInt64] = []
                    var version: UInt64? = nil
                    for _ in stride(from: caller, to: appends, by: callers) {
                        let s0 = nowNanos()
                        let r = try await store.append(
                            to: "log-\(caller)", expectedVersion: version.map { .exact($0) } ?? .noStream,
                            events: [ProposedEvent(type: "bench.event", payload: payload, payloadEncoding: .binary)])
                        version = r.lastVersion
                        samples.append(nowNanos() - s0)
                    }
                    return samples
                }
            }
            var all = Latencies()
            for try await s in group { all.append(contentsOf: s) }
            return all
        }
        let seconds = Double(nowNanos() - t0) / 1e9
        return ["bench": "log-appends", "callers": callers, "events": appends, "seconds": round2(seconds * 1000) / 1000,
                "eventsPerSec": round2(Double(appends) / seconds), "p50Us": round2(latencies.percentile(0.5)),
                "p99Us": round2(latencies.percentile(0.99))]
    }
}
