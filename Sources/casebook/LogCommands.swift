import ArgumentParser
import CasebookLog
import CasebookWorkflow
import Foundation

struct Init: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create an empty store (no-op if it exists).")
    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        let store = try storeOptions.open()
        defer { store.close() }
        print("store \(storeOptions.store) ready: id \(store.storeId), \(store.count) events")
    }
}

struct Append: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Append one event; prints its position once it is durable.")
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "The stream id.") var stream: String
    @Option(help: "The event type.") var type: String
    @Option(help: ArgumentHelp("any, no-stream, or the version of the stream's last event.", valueName: "N|any|no-stream"))
    var expectedVersion: String = "any"
    @Option(help: "The payload, a JSON value.") var data: String
    @Option(help: "An idempotency key: repeating it returns the original position.") var commandId: String?
    @Option(help: "Who is appending, e.g. counter:wang.") var actor: String = ""
    @Option(help: "Correlation id.") var correlationId: String = ""
    @Option(help: "Causation id.") var causationId: String = ""
    @Option(help: "When the event happened (ISO 8601); default: commit time.") var at: String?

    func validate() throws {
        guard ExpectedVersion(expectedVersion) != nil else {
            throw ValidationError("--expected-version '\(expectedVersion)' must be a number, any or no-stream")
        }
        // A payload the engine did not write would stop the case's replay and every projection at it.
        guard !CaseEventType.isWrittenByEngineAlone(type) && type != WorkflowRegistry.publishedType else {
            throw ValidationError(
                "--type '\(type)' is written by the case engine alone; use `casebook case open`, `case do`, `case migrate`, `erase-subject` or `workflow publish` instead")
        }
        do {
            _ = try JSONSerialization.jsonObject(with: Data(data.utf8), options: [.fragmentsAllowed])
        } catch {
            throw ValidationError("--data is not valid JSON: \(error.localizedDescription)")
        }
    }

    func run() async throws {
        let store = try storeOptions.open()
        defer { store.close() }
        var event = ProposedEvent(type: type, json: data, actor: actor, recordedAt: try parseTime(at, option: "--at"))
        event.correlationId = correlationId
        event.causationId = causationId
        let result = try await reportingErrors {
            try await store.append(to: stream, expectedVersion: ExpectedVersion(expectedVersion)!, events: [event], commandId: commandId)
        }
        if result.deduplicated { warn("command id \(commandId ?? "") was already committed; nothing written") }
        print(result.firstPosition)
    }
}

struct Read: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print events of the log or of one stream.")
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Read only this stream.") var stream: String?
    @Option(help: "Start at this position (or stream version with --stream).") var from: UInt64?
    @Option(help: "At most this many events.") var limit: Int = Int.max
    @Flag(help: "Read the stream backward.") var backward = false
    @Flag(help: "One JSON object per line.") var json = false

    func run() async throws {
        let store = try storeOptions.open(readOnly: true)
        defer { store.close() }
        try await reportingErrors {
            var printed = 0
            func emit(_ e: RecordedEvent) {
                print(json ? EventJSON.line(e) : EventJSON.text(e))
                printed += 1
            }
            if let stream {
                var next = from
                while printed < limit {
                    let batch = try store.readStream(stream, from: next, direction: backward ? .backward : .forward, limit: min(4096, limit - printed))
                    batch.forEach(emit)
                    guard let last = batch.last, batch.count == min(4096, limit - printed) else { break }
                    if backward {
                        if last.streamVersion == 0 { break }
                        next = last.streamVersion - 1
                    } else {
                        next = last.streamVersion + 1
                    }
                }
            } else {
                try store.scan(from: from ?? 0) { e in
                    emit(e)
                    return printed < limit
                }
            }
        }
    }
}

/// Text and JSON renderings of events.
enum EventJSON {
    static func escape(_ s: String) -> String {
        JSONValue.string(s).json
    }

    /// One JSON object: position, stream, version, type, schemaVersion, recordedAt, actor, ids, data.
    static func line(_ e: RecordedEvent) -> String {
        var fields = [
            "\"position\":\(e.position)", "\"stream\":\(escape(e.streamId))", "\"version\":\(e.streamVersion)",
            "\"type\":\(escape(e.type))", "\"schemaVersion\":\(e.schemaVersion)",
            "\"recordedAt\":\(escape(e.recordedAt.iso8601))", "\"actor\":\(escape(e.actor))",
        ]
        if !e.correlationId.isEmpty { fields.append("\"correlationId\":\(escape(e.correlationId))") }
        if !e.causationId.isEmpty { fields.append("\"causationId\":\(escape(e.causationId))") }
        if !e.commandId.isEmpty { fields.append("\"commandId\":\(escape(e.commandId))") }
        switch e.payloadEncoding {
        case .json:
            let text = String(decoding: e.payload, as: UTF8.self)
            let valid = (try? JSONSerialization.jsonObject(with: Data(e.payload), options: [.fragmentsAllowed])) != nil
            fields.append("\"data\":" + (valid ? text : escape(text)))
        case .binary, .encrypted:
            fields.append("\"encoding\":\(escape(String(describing: e.payloadEncoding)))")
            fields.append("\"dataBase64\":\(escape(Data(e.payload).base64EncodedString()))")
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    static func text(_ e: RecordedEvent) -> String {
        let data = e.payloadText ?? "<\(e.payload.count) bytes \(e.payloadEncoding)>"
        let actor = e.actor.isEmpty ? "" : " by \(e.actor)"
        return "\(e.position)\t\(e.recordedAt.iso8601)\t\(e.streamId)@\(e.streamVersion)\t\(e.type)\(actor)\t\(data)"
    }
}

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recompute every record, index and Merkle node; check checkpoints against the log.",
        discussion: "Exits 0 if everything checks out, 1 otherwise, naming the first bad position.")
    @OptionGroup var storeOptions: StoreOptions
    @Option(name: .customLong("checkpoint"), help: "A checkpoint JSON file to check the log against (repeatable).")
    var checkpoints: [String] = []
    @Option(name: .customLong("trusted-key-id"), help: "Accept checkpoints only from these key ids (repeatable).")
    var trustedKeyIds: [String] = []

    func run() async throws {
        let store = try storeOptions.open(readOnly: true)
        defer { store.close() }
        let cps = try checkpoints.map { path in
            do {
                return try Checkpoint.decode(Data(contentsOf: URL(fileURLWithPath: path)))
            } catch {
                throw ValidationError("\(path) is not a checkpoint: \(error.localizedDescription)")
            }
        }
        let report = try await reportingErrors {
            try store.verify(checkpoints: cps, trustedKeyIds: trustedKeyIds.isEmpty ? nil : Set(trustedKeyIds))
        }
        print("events: \(report.events), streams: \(report.streams), root: \(report.root.hex)")
        for p in report.problems { print("problem: \(p)") }
        if report.moreProblems > 0 { print("… and \(report.moreProblems) more problems") }
        for (cp, verdict) in report.checkpoints {
            print("checkpoint size \(cp.treeSize) at \(cp.time) (key \(cp.keyId)): \(verdict)")
        }
        if report.isValid {
            print("verify: OK")
        } else {
            if let bad = report.firstBadPosition { print("verify: FAILED; first bad position: \(bad)") } else { print("verify: FAILED") }
            throw ExitCode.failure
        }
    }
}

struct CheckpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint", abstract: "Print a signed checkpoint (tree size, root, time) as JSON.")
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var keyOptions: KeyOptions
    @Option(help: "The time to state (ISO 8601); default: now.") var at: String?
    @Option(name: .shortAndLong, help: "Also write the checkpoint to this file.") var output: String?

    func run() async throws {
        let store = try storeOptions.open(readOnly: true)
        defer { store.close() }
        let signer = try await keyOptions.signer()
        let cp = try await reportingErrors { try store.checkpoint(signer: signer, time: try parseTime(at, option: "--at") ?? .now()) }
        if let output { try Data((cp.json + "\n").utf8).write(to: URL(fileURLWithPath: output)) }
        print(cp.json)
    }
}

struct Prove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print Merkle proofs (JSON), or check one offline.",
        subcommands: [Inclusion.self, Consistency.self, Check.self])

    struct Inclusion: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Prove an event is in the log as of a tree size.")
        @OptionGroup var storeOptions: StoreOptions
        @Option(help: "The event's position.") var position: UInt64
        @Option(help: "The tree size (default: the whole log).") var treeSize: UInt64?

        func run() async throws {
            let store = try storeOptions.open(readOnly: true)
            defer { store.close() }
            print(try jsonLine(try await reportingErrors { try store.inclusionProof(position: position, treeSize: treeSize) }))
        }
    }

    struct Consistency: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Prove the log at one size is a prefix of the log at another.")
        @OptionGroup var storeOptions: StoreOptions
        @Option(help: "The older tree size.") var from: UInt64
        @Option(help: "The newer tree size (default: the whole log).") var to: UInt64?

        func run() async throws {
            let store = try storeOptions.open(readOnly: true)
            defer { store.close() }
            print(try jsonLine(try await reportingErrors { try store.consistencyProof(from: from, to: to) }))
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a proof file offline, without a store.")
        @Argument(help: "A JSON file printed by `prove inclusion` or `prove consistency`.") var file: String

        func run() async throws {
            let data = try Data(contentsOf: URL(fileURLWithPath: file))
            let ok: Bool
            if let p = try? JSONDecoder().decode(InclusionProof.self, from: data) {
                ok = p.verify()
            } else if let p = try? JSONDecoder().decode(ConsistencyProof.self, from: data) {
                ok = p.verify()
            } else {
                throw ValidationError("\(file) is neither an inclusion nor a consistency proof")
            }
            print(ok ? "proof: OK" : "proof: FAILED")
            if !ok { throw ExitCode.failure }
        }
    }
}

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print counts and sizes of the store as JSON.")
    @OptionGroup var storeOptions: StoreOptions

    func run() async throws {
        let store = try storeOptions.open(readOnly: true)
        defer { store.close() }
        print(try jsonLine(try await reportingErrors { try store.stats() }))
    }
}
