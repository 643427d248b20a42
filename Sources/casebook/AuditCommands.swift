import ArgumentParser
import CasebookAudit
import CasebookLog
import CasebookWorkflow
import Foundation

/// `--format text|json` for the investigators' commands.
enum AuditFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// Parses a `--from`/`--to`/`--until` point: a log position or an ISO 8601 time.
func replayPoint(_ text: String, option: String) throws -> ReplayPoint {
    guard let point = ReplayPoint(text) else {
        throw ValidationError("\(option) '\(text)' is neither a log position nor an ISO 8601 time such as 2026-03-02T09:30:00+08:00")
    }
    return point
}

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "A case's timeline: each event with who, what, the definition, the transition, clocks and state.",
        discussion: """
            Folds the case's own stream one event at a time under the definitions it ran under. Personal data is \
            shown as [personal data]. With --explain, each command's guards are evaluated again with the values they \
            saw and its decision-table rules are listed. Text output folds idle periods of two days or more.
            """)
    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "The case id.") var caseId: String
    @Option(help: "Stop after this log position.") var until: UInt64?
    @Option(help: ArgumentHelp("Stop after the last event recorded at or before this time (ISO 8601).", valueName: "time"))
    var asOf: String?
    @Flag(help: "Show the guards and decision rules that applied, with the values they saw.") var explain = false
    @Option(help: "text or json.") var format: AuditFormat = .text

    func validate() throws {
        if until != nil && asOf != nil { throw ValidationError("give --until or --as-of, not both") }
    }

    func run() async throws {
        let point: ReplayPoint? = if let until { .position(until) } else if let asOf { try replayPoint(asOf, option: "--as-of") } else { nil }
        let store = try storeOptions.open(readOnly: true)
        defer { store.close() }
        let timeline = try await engineErrors {
            try CaseTimeline.build(store: store, registry: WorkflowRegistry(store: store), caseId: caseId, until: point, explain: explain)
        }
        print(format == .json ? timeline.json(explain: explain).json : timeline.text(explain: explain))
    }
}

struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "What changed in a case (state, each data field, clocks) between two points.")
    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "The case id.") var caseId: String
    @Option(help: ArgumentHelp("The first point: a log position or an ISO 8601 time.", valueName: "position|time")) var from: String
    @Option(help: ArgumentHelp("The second point: a log position or an ISO 8601 time.", valueName: "position|time")) var to: String
    @Option(help: "text or json.") var format: AuditFormat = .text

    func run() async throws {
        let a = try replayPoint(from, option: "--from"), b = try replayPoint(to, option: "--to")
        let store = try storeOptions.open(readOnly: true)
        defer { store.close() }
        let diff = try await engineErrors {
            try CaseDiff.between(store: store, registry: WorkflowRegistry(store: store), caseId: caseId, from: a, to: b)
        }
        print(format == .json ? diff.json.json : diff.text)
    }
}

struct WhatIfCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "what-if",
        abstract: "Run a case's recorded commands against another definition and show where outcomes diverge.",
        discussion: """
            The definition is published in a throwaway store with the calendars and catalogues given; the case's \
            accepted and refused commands are issued again with the same actors, data and times (personal data, \
            unreadable, becomes a placeholder string), and timers run where the case recorded a breach. The store \
            given is only read. Exit status 0 whether or not outcomes diverge.
            """)
    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "The case id.") var caseId: String
    @Option(help: "The definition file to try.") var workflow: String
    @Option(help: "The folder of working-day calendars.") var calendars: String = "Workflows/calendars"
    @Option(help: "The folder of catalogues (default: catalogues/ beside the definition).") var catalogues: String?
    @Option(help: "text or json.") var format: AuditFormat = .text

    func run() async throws {
        let store = try storeOptions.open(readOnly: true)
        defer { store.close() }
        do {
            let report = try await engineErrors {
                try await WhatIfReport.run(store: store, registry: WorkflowRegistry(store: store), caseId: caseId, workflowFile: workflow,
                                           calendarDirectory: calendars, catalogueDirectory: catalogues)
            }
            print(format == .json ? report.json.json : report.text)
        } catch let list as DiagnosticList {
            for d in list.diagnostics { warn(d.description) }
            throw ExitCode.failure
        }
    }
}

struct BundleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Write a self-contained evidence bundle for a case: events, definitions, proofs, signed checkpoint.",
        discussion: """
            The bundle holds each event of the case and each definition it ran under as the exact envelope bytes the \
            log stores, an inclusion proof for each against one tree size, and a checkpoint of that size signed with \
            the key (as `casebook checkpoint`). `casebook verify-bundle` checks it without the store.
            """)
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var keyOptions: KeyOptions
    @Argument(help: "The case id.") var caseId: String
    @Option(name: .shortAndLong, help: "The bundle file to write.") var output: String
    @Option(help: "The time the checkpoint states (ISO 8601); default: now.") var at: String?

    func run() async throws {
        let store = try storeOptions.open(readOnly: true)
        defer { store.close() }
        let signer = try await keyOptions.signer()
        let time = try parseTime(at, option: "--at") ?? .now()
        let bytes = try await engineErrors { try EvidenceBundle.make(store: store, caseId: caseId, signer: signer, time: time) }
        // Checked before it is handed over: a bundle that does not verify is not written.
        let report = EvidenceBundle.verify(bytes)
        guard report.isValid else {
            warn("the bundle for case \(caseId) does not verify; nothing was written:\n" + report.text)
            throw ExitCode.failure
        }
        try Data(bytes).write(to: URL(fileURLWithPath: output))
        print("wrote \(output): \(bytes.count) bytes; case \(caseId), \(report.events) events, \(report.definitions) definitions, "
              + "tree size \(report.checkpoint?.treeSize ?? 0), key \(signer.keyId)")
    }
}

struct VerifyBundle: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-bundle",
        abstract: "Verify an evidence bundle offline, without any store; name exactly what failed.",
        discussion: "Exits 0 if everything checks out, 1 otherwise.")
    @Argument(help: "The bundle file.") var file: String
    @Option(help: "A checkpoint JSON file to compare the bundle's checkpoint with.") var checkpoint: String?
    @Option(name: .customLong("trusted-key-id"), help: "Accept checkpoints only from these key ids (repeatable).")
    var trustedKeyIds: [String] = []
    @Option(help: "A consistency proof (`casebook prove consistency`) between the two checkpoints' tree sizes.")
    var consistencyProof: String?

    func run() async throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        let outside = try checkpoint.map { path in
            do { return try Checkpoint.decode(Data(contentsOf: URL(fileURLWithPath: path))) } catch {
                throw ValidationError("\(path) is not a checkpoint: \(error.localizedDescription)")
            }
        }
        let proof = try consistencyProof.map { path in
            do { return try JSONDecoder().decode(ConsistencyProof.self, from: Data(contentsOf: URL(fileURLWithPath: path))) } catch {
                throw ValidationError("\(path) is not a consistency proof: \(error.localizedDescription)")
            }
        }
        let report = EvidenceBundle.verify(bytes, trustedKeyIds: trustedKeyIds.isEmpty ? nil : Set(trustedKeyIds), outside: outside,
                                           consistencyProof: proof)
        print(report.text)
        if !report.isValid { throw ExitCode.failure }
    }
}

struct ReplayBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay, bundle and verify one long case in a throwaway store, and replay a second one with clocks; prints the figures (ms) as JSON.")
    @Option(help: "Events in the case.") var events: Int = 1000
    @Option(help: "Repetitions of each measurement, after one untimed call (the median is printed).") var runs: Int = 9

    func run() async throws {
        let f = try await AuditBenchmark.run(events: events, runs: runs)
        #if DEBUG
        let build = "debug"
        #else
        let build = "release"
        #endif
        print(try jsonObject([
            "events": f.events, "runs": f.runs, "build": build, "replayMs": round2(f.replayMilliseconds),
            "replayExplainMs": round2(f.replayExplainMilliseconds), "foldMs": round2(f.foldMilliseconds), "readMs": round2(f.readMilliseconds), "parseOnlyMs": round2(f.parseMilliseconds),
            "bundleMs": round2(f.bundleMilliseconds), "verifyBundleMs": round2(f.verifyMilliseconds), "bundleBytes": f.bundleBytes,
            "clockEvents": f.clockEvents, "clockReplayMs": round2(f.clockReplayMilliseconds), "clockReplayExplainMs": round2(f.clockReplayExplainMilliseconds),
        ]))
    }
}
