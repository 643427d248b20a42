import CasebookLog
import CasebookWorkflow
import Dispatch
import Foundation

/// Timings of the investigators' tools on one long case, in a throwaway store.
public enum AuditBenchmark {
    /// The workflow the benchmark case runs: opened, then notes (each with a guard) that keep it open.
    /// (No clock: the second case, ``clockWorkflow``, has clocks, on a calendar of its own, so that the benchmark
    /// does not depend on the repository's files.)
    static let workflow = """
        workflow: bench-notes
        title: Benchmark notes
        roles: [clerk]
        fields:
          note: string
          count: integer
        states:
          open: { initial: true, owner: clerk }
          done: { final: true }
        commands:
          start:
            opens: true
            roles: [clerk]
            set: { count: "0" }
          note:
            from: [open]
            roles: [clerk]
            data: { note: { type: string, required: true } }
            guard:
              - { if: "len(data.note) > 0 and case.count >= 0", message: a note must say something }
            set: { note: data.note, count: case.count + 1 }
          finish:
            from: [open]
            to: done
            roles: [clerk]
        """

    /// The workflow of the benchmark's second case: the same notes, with two clocks on a working-day
    /// calendar (``calendar``) that every step's replay reports (status, deadline, time paused), one of
    /// them paused and resumed now and then.
    static let clockWorkflow = """
        workflow: bench-clocks
        title: Benchmark notes with clocks
        calendar: bench
        roles: [clerk]
        fields:
          note: string
          count: integer
        states:
          open: { initial: true, owner: clerk }
          waiting: { owner: clerk }
          done: { final: true }
        clocks:
          handling:
            budget: 200 working days
            on-breach: { event: bench.handling-overdue }
          reply:
            budget: 5 working days
            on-breach: { event: bench.reply-overdue }
        commands:
          start:
            opens: true
            roles: [clerk]
            set: { count: "0" }
            clocks: { handling: start, reply: start }
          note:
            from: [open]
            roles: [clerk]
            data: { note: { type: string, required: true } }
            guard:
              - { if: "len(data.note) > 0 and case.count >= 0", message: a note must say something }
            set: { note: data.note, count: case.count + 1 }
          wait:
            from: [open]
            to: waiting
            roles: [clerk]
            clocks: { handling: pause }
          resume:
            from: [waiting]
            to: open
            roles: [clerk]
            clocks: { handling: resume }
          finish:
            from: [open, waiting]
            to: done
            roles: [clerk]
            clocks: { handling: stop, reply: stop }
        """

    /// The benchmark's working-day calendar: weekends and a few holidays, with a weekend worked in exchange.
    static let calendar = """
        calendar: bench
        title: Benchmark calendar
        utcOffset: "+08:00"
        weekend: [saturday, sunday]
        years:
          2026:
            source: the benchmark
            holidays:
              - { name: New Year, from: 2026-01-01, to: 2026-01-03 }
              - { name: Qingming, from: 2026-04-04, to: 2026-04-06 }
              - { name: Labour Day, from: 2026-05-01, to: 2026-05-05 }
              - { name: National Day, from: 2026-10-01, to: 2026-10-07 }
            workdays:
              - 2026-05-09
              - 2026-10-10
        """

    /// The figures, in milliseconds (medians over `runs`, each series after one untimed call), and the settings
    /// they ran with.
    public struct Figures: Sendable {
        /// Events in the case.
        public var events: Int
        /// Repetitions of each measurement.
        public var runs: Int
        /// Reading the case's stream and folding it into a timeline (no explanations).
        public var replayMilliseconds: Double
        /// The same with `--explain` (guards evaluated again, decisions listed).
        public var replayExplainMilliseconds: Double
        /// Folding already read events (no I/O).
        public var foldMilliseconds: Double
        /// Reading the case's stream in place, each event's envelope decoded (what replay does before folding each event).
        public var readMilliseconds: Double
        /// Reading every payload once with `CasePayload.parse` (what `CaseState.apply` does per event: the fold's floor).
        public var parseMilliseconds: Double
        /// Writing an evidence bundle (signing a checkpoint, one inclusion proof per event).
        public var bundleMilliseconds: Double
        /// Verifying it.
        public var verifyMilliseconds: Double
        /// The bundle's size.
        public var bundleBytes: Int
        /// Events in the second case (with clocks).
        public var clockEvents: Int
        /// Replaying the second case, whose every step reports its two clocks on a working-day calendar.
        public var clockReplayMilliseconds: Double
        /// The same with `--explain`.
        public var clockReplayExplainMilliseconds: Double
    }

    /// Builds a case of `events` events (an opening and notes, a minute apart) in a temporary store and
    /// times replaying it, bundling it and verifying the bundle. Builds a second case of `events` events
    /// with clocks (``clockWorkflow``: notes an hour apart; every 50th command pauses the handling clock and
    /// the next resumes it) and times replaying that too.
    public static func run(events: Int = 1000, runs: Int = 5) async throws -> Figures {
        let dir = NSTemporaryDirectory() + "casebook-bench-audit-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = EventStoreOptions()
        options.unsafeNoSync = true
        let store = try EventStore(path: dir + "/store", options: options)
        defer { store.close() }
        let engine = try CaseEngine(store: store)
        try workflow.write(toFile: dir + "/bench-notes.yaml", atomically: true, encoding: .utf8)
        try await engine.registry.publish(file: dir + "/bench-notes.yaml", calendarDirectory: dir)
        let clerk = Actor(role: "clerk", id: "bench")
        var at = Timestamp(iso8601: "2026-03-02T09:00:00+08:00")!
        // Every command must be accepted: a case of refusals would be replayed more cheaply than a real one.
        guard case .accepted = try await engine.open(workflow: "bench-notes", caseId: "b1", actor: clerk, at: at) else {
            throw EngineError.corrupt("the benchmark's case did not open")
        }
        for i in 1..<max(1, events) {
            at.millisecondsSince1970 += 60_000
            let outcome = try await engine.handle(caseId: "b1", command: "note", actor: clerk, data: .object(["note": .string("note \(i)")]), at: at)
            guard case .accepted = outcome else { throw EngineError.corrupt("the benchmark's case refused note \(i)") }
        }
        try store.sync()
        // Each measurement starts with one untimed call, so that what a process does once (growing its heap to
        // the size the operation needs, resolving definitions) is not counted against the operation.
        func median(_ body: () throws -> Void) rethrows -> Double {
            try body()
            var samples: [Double] = []
            for _ in 0..<max(1, runs) {
                let start = DispatchTime.now().uptimeNanoseconds
                try body()
                samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1_000_000)
            }
            return samples.sorted()[samples.count / 2]
        }
        let registry = engine.registry
        let replay = try median { _ = try CaseTimeline.build(store: store, registry: registry, caseId: "b1") }
        let explain = try median { _ = try CaseTimeline.build(store: store, registry: registry, caseId: "b1", explain: true) }
        let recorded = try store.readStream(CaseState.stream("b1"), limit: Int.max)
        let fold = try median { _ = try CaseTimeline.build(caseId: "b1", events: recorded, definition: registry.definition(hash:)) }
        var visited = 0
        let read = try median { try store.readStreamViews(CaseState.stream("b1")) { view in visited &+= view.payload.count } }
        let parse = try median {
            for e in recorded { visited &+= try e.payload.withUnsafeBytes { try CasePayload.parse($0) }?.set.count ?? 0 }
        }
        guard visited > 0 else { throw EngineError.corrupt("the benchmark read nothing") }
        let signer = try CheckpointSigner(keyFile: dir + "/signing-key", create: true)
        var bundle: [UInt8] = []
        let make = try median { bundle = try EvidenceBundle.make(store: store, caseId: "b1", signer: signer, time: at) }
        var valid = true
        let verify = median { valid = EvidenceBundle.verify(bundle).isValid && valid }
        guard valid else { throw EventStoreError.corrupt(position: nil, reason: "the benchmark's own bundle did not verify") }
        // The case with clocks goes on the log only now, so that the bundle above proves against the same log as before.
        try clockWorkflow.write(toFile: dir + "/bench-clocks.yaml", atomically: true, encoding: .utf8)
        try calendar.write(toFile: dir + "/bench-2026.yaml", atomically: true, encoding: .utf8)
        try await engine.registry.publish(file: dir + "/bench-clocks.yaml", calendarDirectory: dir)
        var clockAt = Timestamp(iso8601: "2026-03-02T09:00:00+08:00")!
        guard case .accepted = try await engine.open(workflow: "bench-clocks", caseId: "c1", actor: clerk, at: clockAt) else {
            throw EngineError.corrupt("the benchmark's clock case did not open")
        }
        for i in 1..<max(1, events) {
            clockAt.millisecondsSince1970 += 3_600_000
            let command = i % 50 == 0 ? "wait" : i % 50 == 1 && i > 1 ? "resume" : "note"
            let outcome = try await engine.handle(caseId: "c1", command: command, actor: clerk,
                                                  data: command == "note" ? .object(["note": .string("note \(i)")]) : .object([:]), at: clockAt)
            guard case .accepted = outcome else { throw EngineError.corrupt("the benchmark's clock case refused \(command) at \(i)") }
        }
        try store.sync()
        let clockReplay = try median { _ = try CaseTimeline.build(store: store, registry: registry, caseId: "c1") }
        let clockExplain = try median { _ = try CaseTimeline.build(store: store, registry: registry, caseId: "c1", explain: true) }
        let clockEvents = try store.readStream(CaseState.stream("c1"), limit: Int.max).count
        return Figures(events: recorded.count, runs: runs, replayMilliseconds: replay, replayExplainMilliseconds: explain,
                       foldMilliseconds: fold, readMilliseconds: read, parseMilliseconds: parse, bundleMilliseconds: make, verifyMilliseconds: verify, bundleBytes: bundle.count,
                       clockEvents: clockEvents, clockReplayMilliseconds: clockReplay, clockReplayExplainMilliseconds: clockExplain)
    }
}
