import ArgumentParser
import CasebookLog
import CasebookWorkflow
import Foundation

extension WorkflowCommand {
    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lint and publish definitions to the log; new cases use the latest published version.",
            discussion: "Each definition is stored with the calendars it uses and its content hash; cases stay pinned to the hash they started under.")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "Definition files.") var files: [String]
        @Option(help: "The folder of working-day calendars.") var calendars: String = "Workflows/calendars"
        @Option(help: "Who publishes (recorded).") var actor: String = "admin"

        func run() async throws {
            let store = try storeOptions.open()
            defer { store.close() }
            defer { updateProjections(store) }
            let registry = WorkflowRegistry(store: store)
            for file in files {
                do {
                    let compiled = try await registry.publish(file: file, calendarDirectory: calendars, actor: actor)
                    print("published \(compiled.definition.name) v\(compiled.definition.version) \(compiled.hash)")
                } catch let list as DiagnosticList {
                    for d in list.diagnostics { warn(d.description) }
                    throw ExitCode.failure
                }
            }
        }
    }
}

struct CaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "case", abstract: "Open cases, issue commands, show a case.", subcommands: [Open.self, Do.self, Show.self, Migrate.self])

    /// The options every command to a case takes.
    struct Issue: ParsableArguments {
        @OptionGroup var acting: Acting
        @Option(help: "The command's data, a JSON object.") var data: String = "{}"
        @Option(help: "An idempotency key for the command.") var commandId: String?

        func parsed() throws -> (Actor, JSONValue, Timestamp) {
            let (who, time) = try acting.resolved()
            let json: JSONValue
            do { json = try JSONValue.parse(data) } catch { throw ValidationError("--data is not valid JSON: \(data)") }
            guard json.object != nil else { throw ValidationError("--data must be a JSON object, e.g. '{\"item\":\"居住证明\"}'") }
            return (who, json, time)
        }
    }

    static func report(_ outcome: CommandOutcome) throws {
        switch outcome {
        case let .accepted(state, position):
            print("accepted at position \(position): case \(state.caseId) is now '\(state.state)'")
        case let .rejected(rejection, position):
            print("\(rejection) (recorded at position \(position))")
            throw ExitCode(2)
        }
    }

    struct Open: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open a case with the workflow's opening command.")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The workflow.") var workflow: String
        @Option(help: "The new case's id.") var id: String
        @Option(help: "The opening command (default: the one marked `opens: true`).") var command: String?
        @OptionGroup var issue: Issue

        func run() async throws {
            let (actor, data, at) = try issue.parsed()
            let store = try storeOptions.open()
            defer { store.close() }
            defer { updateProjections(store) }
            let outcome = try await engineErrors {
                try await CaseEngine(store: store).open(
                    workflow: workflow, caseId: id, command: command, actor: actor, data: data, at: at, commandId: issue.commandId)
            }
            try CaseCommand.report(outcome)
        }
    }

    struct Do: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "do", abstract: "Issue a command to a case.")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The case id.") var id: String
        @Argument(help: "The command.") var command: String
        @OptionGroup var issue: Issue

        func run() async throws {
            let (actor, data, at) = try issue.parsed()
            let store = try storeOptions.open()
            defer { store.close() }
            defer { updateProjections(store) }
            let outcome = try await engineErrors {
                try await CaseEngine(store: store).handle(caseId: id, command: command, actor: actor, data: data, at: at, commandId: issue.commandId)
            }
            try CaseCommand.report(outcome)
        }
    }

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a case to another published definition (default: the latest); recorded as an event.",
            discussion: "Refused if the case's state, data or running clocks do not exist, with the same types, in the target.")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The case id.") var id: String
        @Option(help: "The target definition hash (default: the workflow's latest published version).") var to: String?
        @OptionGroup var acting: Acting

        func run() async throws {
            let (who, time) = try acting.resolved()
            let store = try storeOptions.open()
            defer { store.close() }
            defer { updateProjections(store) }
            let outcome = try await engineErrors { try await CaseEngine(store: store).migrate(caseId: id, to: to, actor: who, at: time) }
            try CaseCommand.report(outcome)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a case: state, data, clocks and deadlines.")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The case id.") var id: String
        @Flag(help: "As JSON.") var json = false

        func run() async throws {
            let store = try storeOptions.open(readOnly: true)
            defer { store.close() }
            let engine = try CaseEngine(store: store)
            guard let state = try await engineErrors({ try engine.load(id) }), state.isOpen else {
                warn("error: no open case '\(id)'")
                throw ExitCode.failure
            }
            let compiled = try engine.registry.definition(hash: state.definitionHash)
            var clocks: [String: JSONValue] = [:]
            for (name, clock) in state.clocks {
                var c: [String: JSONValue] = ["running": .bool(clock.isRunning), "paused": .bool(clock.isPaused), "stopped": .bool(clock.isStopped)]
                if let calendar = compiled.calendar, let deadline = try? clock.deadline(calendar: calendar) { c["deadline"] = .string(deadline.iso8601) }
                if let b = state.breaches[name] { c["breachedAt"] = .string(b.iso8601) }
                clocks[name] = .object(c)
            }
            let object: JSONValue = .object([
                "case": .string(state.caseId), "workflow": .string(state.workflow), "version": .int(Int64(state.definitionVersion)),
                "definition": .string(state.definitionHash), "state": .string(state.state), "data": ValueCoding.encode(state.data),
                "redacted": .array(state.redacted.sorted().map(JSONValue.string)),
                "clocks": .object(clocks), "accepted": .int(Int64(state.accepted)), "rejected": .int(Int64(state.rejected)),
                "openedAt": state.openedAt.map { .string($0.iso8601) } ?? .null, "updatedAt": state.updatedAt.map { .string($0.iso8601) } ?? .null,
            ])
            if json {
                print(object.json)
                return
            }
            let title = compiled.definition.state(state.state)?.title.map { " (\($0))" } ?? ""
            print("case \(state.caseId): \(compiled.definition.title) v\(state.definitionVersion)")
            print("state: \(state.state)\(title)")
            let pii = Set(compiled.definition.fields.filter(\.pii).map(\.name))
            for (key, value) in state.data.sorted(by: { $0.key < $1.key }) {
                let shown = state.redacted.contains(key) ? "[erased personal data]" : "\(value)\(pii.contains(key) ? "  (personal data)" : "")"
                print("  \(key): \(shown)")
            }
            for (name, c) in (clocks.sorted { $0.key < $1.key }) { print("clock \(name): \(c.json)") }
            print("\(state.accepted) commands accepted, \(state.rejected) refused; definition \(state.definitionHash.prefix(12))")
        }
    }
}

struct EraseSubject: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase-subject",
        abstract: "Destroy a case subject's personal data: its key is destroyed and the erasure recorded.",
        discussion: "The log keeps only ciphertext of personal data, so verify still passes; nothing can read it afterwards.")
    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "The case whose subject is erased.") var id: String
    @OptionGroup var acting: Acting

    func run() async throws {
        let (who, time) = try acting.resolved()
        let store = try storeOptions.open()
        defer { store.close() }
        defer { updateProjections(store) }
        let erased = try await engineErrors { try await CaseEngine(store: store).eraseSubject(ofCase: id, actor: who, at: time) }
        print(erased ? "erased the personal data of case \(id)" : "case \(id) had no personal data key (already erased?)")
    }
}

struct Timers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fire due clocks: record each breach and its escalation, exactly once.", subcommands: [Run.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Fire every clock due at or before --until.")
        @OptionGroup var storeOptions: StoreOptions
        @Option(help: "Fire clocks due up to this time (ISO 8601); default: now.") var until: String?

        func run() async throws {
            let limit = try parseTime(until, option: "--until") ?? .now()
            let store = try storeOptions.open()
            defer { store.close() }
            defer { updateProjections(store) }
            let fired = try await engineErrors { try await CaseEngine(store: store).runTimers(until: limit) }
            for f in fired { print("breached: case \(f.caseId) clock \(f.clock) (deadline \(f.deadline.iso8601))") }
            print("\(fired.count) clock\(fired.count == 1 ? "" : "s") breached up to \(limit.iso8601)")
        }
    }
}

struct Effects: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Finish effects on linked cases that did not happen (e.g. the process stopped, or a workflow was missing).",
        subcommands: [Run.self])

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Carry out again the open/send effects of every accepted command; what was done is not done twice.")
        @OptionGroup var storeOptions: StoreOptions

        func run() async throws {
            let store = try storeOptions.open()
            defer { store.close() }
            defer { updateProjections(store) }
            let before = store.count
            let looked = try await engineErrors { try await CaseEngine(store: store).redriveEffects() }
            print("\(looked) command\(looked == 1 ? "" : "s") with effects looked at; \(store.count - before) events appended")
        }
    }
}

/// `--as role:id` and `--at`, for everything done to a case.
struct Acting: ParsableArguments {
    @Option(name: .customLong("as"), help: ArgumentHelp("Who acts, as role:id (e.g. counter:wang).", valueName: "role:id"))
    var actor: String
    @Option(help: "When (ISO 8601, e.g. 2026-03-02T09:30:00+08:00); default: now.") var at: String?

    func resolved() throws -> (Actor, Timestamp) {
        guard let who = Actor(actor) else { throw ValidationError("--as '\(actor)' must be role:id, e.g. counter:wang") }
        return (who, try parseTime(at, option: "--at") ?? .now())
    }
}

/// Runs `body`, turning engine and log errors into a message and exit code 1.
func engineErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await reportingErrors(body)
    } catch let error as EngineError {
        warn("error: \(error)")
        throw ExitCode.failure
    }
}
