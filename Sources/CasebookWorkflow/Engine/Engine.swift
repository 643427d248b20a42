import CasebookLog
import Foundation
import Synchronization

/// Who issues a command: a role of the workflow and the person acting in it.
public struct Actor: Sendable, Hashable, CustomStringConvertible {
    /// The role, e.g. `counter`.
    public var role: String
    /// The person or system, e.g. `wang`.
    public var id: String

    /// An actor.
    public init(role: String, id: String) {
        self.role = role
        self.id = id
    }

    /// Parses `role:id`.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        self.init(role: parts[0], id: parts[1])
    }

    public var description: String { "\(role):\(id)" }
}

/// Why a command was refused: which check failed, with the values it saw.
public struct Rejection: Error, Sendable, Hashable, CustomStringConvertible {
    /// The checks, in the order the engine makes them.
    public enum Check: String, Sendable, Hashable {
        /// The workflow has no such command.
        case unknownCommand = "unknown-command"
        /// The case is not open yet (or is already open, for an opening command).
        case lifecycle
        /// The actor's role may not issue the command.
        case role
        /// The case is not in a state the command applies in.
        case state
        /// The command's data is missing, unknown or of the wrong type.
        case data
        /// A guard is false.
        case guardFailed = "guard"
        /// No rule of a decision table matched.
        case decision
        /// A clock cannot do what the command asks (e.g. resume a running clock).
        case clock
        /// An expression could not be evaluated (e.g. an arithmetic overflow).
        case evaluation
    }
    /// The failed check.
    public var check: Check
    /// What the user is told.
    public var message: String
    /// The values the check saw, by name.
    public var details: [String: String]

    public var description: String {
        "refused (\(check.rawValue)): \(message)" + (details.isEmpty ? "" : " [" + details.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ") + "]")
    }
}

/// The result of a command: accepted, with the case as it now stands, or refused.
public enum CommandOutcome: Sendable {
    /// Accepted and durable.
    case accepted(CaseState, firstPosition: UInt64)
    /// Refused; the refusal is recorded on the case.
    case rejected(Rejection, position: UInt64)
}

/// Turns commands into events under the definitions cases are pinned to.
///
/// A command is handled by loading the case's events, folding them into a ``CaseState``, checking
/// role, state, data, guards and decisions, and appending the resulting events with the stream version
/// it read as the expected version. If another command got in first, it reloads and decides again
/// (a transparent retry while the command is still valid). A refused command is recorded on the case.
public final class CaseEngine: Sendable {
    /// The log.
    public let store: EventStore
    /// The published definitions.
    public let registry: WorkflowRegistry
    /// How many times a command is retried when the case changes under it.
    public let maxAttempts = 8

    /// Keys for personal data, beside the store (`<store>/keys`).
    public let vault: KeyVault

    /// An engine over `store`.
    public init(store: EventStore, registry: WorkflowRegistry? = nil) throws {
        self.store = store
        self.registry = registry ?? WorkflowRegistry(store: store)
        self.vault = try KeyVault(path: store.path + "/keys")
    }

    private var reveal: PersonalDataReader {
        { [vault] subject, ciphertext in try vault.open(ciphertext, subject: subject) }
    }

    /// Destroys the personal data of a case's subject: its key is destroyed (the ciphertext in the log
    /// can no longer be read) and the erasure is recorded on the case. Returns false if there was no key.
    @discardableResult
    public func eraseSubject(ofCase caseId: String, actor: Actor, at: Timestamp) async throws -> Bool {
        let subject = PersonalData.subject(ofCase: caseId)
        let erased = try vault.erase(subject)
        let payload: JSONValue = .object(["case": .string(caseId), "subject": .string(subject), "at": .string(at.iso8601), "actor": .string(actor.id)])
        try await store.append(
            to: CaseState.stream(caseId), expectedVersion: .any,
            events: [ProposedEvent(type: CaseEventType.subjectErased, json: payload.json, actor: actor.description, recordedAt: at)],
            commandId: "erase:\(subject)")
        cache.withLock { _ = $0.removeValue(forKey: caseId) }
        return erased
    }

    /// The case ids of each workflow, read incrementally from the log (for `runTimers` and `send` to matching cases).
    private let caseIndex = CaseIndex()

    /// The ids of every case of `workflow`, sorted. The engine's case index first reads the events
    /// appended since it last looked (never the whole log again).
    public func caseIds(ofWorkflow workflow: String) throws -> [String] {
        try caseIndex.caseIds(of: workflow, in: store)
    }

    /// Where the engine's case index stands: the log position it reads from next, and how many events it
    /// has read since the engine was made.
    public var caseIndexProgress: (nextPosition: UInt64, eventsRead: UInt64) {
        let p = caseIndex.progress
        return (p.next, p.eventsRead)
    }

    /// Recently loaded cases. A cache, never the truth: a load folds whatever the stream holds past the
    /// cached version, so the state is always that of the events in the log.
    private let cache = Mutex<[String: CaseState]>([:])
    /// How many cases the cache holds before it starts over.
    public let cacheLimit = 100_000

    /// Loads a case by folding its events (nil if it has none).
    public func load(_ caseId: String) throws -> CaseState? {
        var state = cache.withLock { $0[caseId] } ?? CaseState(caseId: caseId)
        let from = state.streamVersion.map { $0 + 1 } ?? 0
        var read = false
        try store.readStreamViews(CaseState.stream(caseId), from: from) { event in
            try state.apply(event, definition: registry.definition(hash:), reveal: reveal)
            read = true
        }
        guard state.streamVersion != nil else { return nil }
        if read { remember(state) }
        return state
    }

    /// The outcome of a command whose id was already used: what was recorded then.
    private func original(_ caseId: String, at position: UInt64) throws -> CommandOutcome {
        guard let event = try store.event(at: position), let state = try load(caseId) else { throw EngineError.unknownCase(caseId) }
        guard event.type == CaseEventType.commandRejected else { return .accepted(state, firstPosition: position) }
        let payload = (try? JSONValue.parse(Data(event.payload)).object) ?? [:]
        let rejection = Rejection(
            check: payload["check"]?.string.flatMap(Rejection.Check.init(rawValue:)) ?? .evaluation,
            message: payload["reason"]?.string ?? "refused",
            details: (payload["details"]?.object ?? [:]).compactMapValues(\.string))
        return .rejected(rejection, position: position)
    }

    private func remember(_ state: CaseState) {
        cache.withLock { c in
            if let known = c[state.caseId], (known.streamVersion ?? 0) > (state.streamVersion ?? 0) { return }
            if c.count >= cacheLimit { c.removeAll(keepingCapacity: true) }
            c[state.caseId] = state
        }
    }

    /// Opens a case of the latest published version of `workflow` with its opening command.
    public func open(
        workflow: String, caseId: String, command: String? = nil, actor: Actor, data: JSONValue = .object([:]),
        at: Timestamp, commandId: String? = nil
    ) async throws -> CommandOutcome {
        let compiled = try registry.latest(workflow)
        let opening = command ?? compiled.definition.commands.first(where: \.opensCase)?.name ?? ""
        return try await run(caseId: caseId, command: opening, actor: actor, data: data, at: at, commandId: commandId, opening: compiled, depth: 0)
    }

    /// Issues `command` to an open case.
    public func handle(
        caseId: String, command: String, actor: Actor, data: JSONValue = .object([:]), at: Timestamp, commandId: String? = nil
    ) async throws -> CommandOutcome {
        try await run(caseId: caseId, command: command, actor: actor, data: data, at: at, commandId: commandId, opening: nil, depth: 0)
    }

    private func run(
        caseId: String, command: String, actor: Actor, data: JSONValue, at: Timestamp, commandId: String?,
        opening: CompiledWorkflow?, depth: Int
    ) async throws -> CommandOutcome {
        let stream = CaseState.stream(caseId)
        for _ in 0..<maxAttempts {
            let current = try load(caseId) ?? CaseState(caseId: caseId)
            let compiled: CompiledWorkflow
            if current.isOpen {
                compiled = try registry.definition(hash: current.definitionHash)
            } else if let opening {
                compiled = opening
            } else {
                throw EngineError.unknownCase(caseId)
            }
            let expected: ExpectedVersion = current.streamVersion.map { .exact($0) } ?? .noStream
            let decision = Decider(compiled: compiled, state: current).decide(command: command, actor: actor, data: data, at: at)
            // Personal data goes into the log only sealed under the subject's key.
            let subject = PersonalData.subject(ofCase: caseId)
            let piiData = Set(compiled.definition.command(command)?.data.filter(\.pii).map(\.name) ?? [])
            let piiCase = Set(compiled.definition.fields.filter(\.pii).map(\.name))
            var recordedData = data.object ?? [:]
            for key in recordedData.keys where piiData.contains(key) {
                recordedData[key] = try PersonalData.seal(recordedData[key]!, subject: subject, vault: vault)
            }
            let base: [String: JSONValue] = [
                "case": .string(caseId), "command": .string(command), "actor": .string(actor.id), "role": .string(actor.role),
                "at": .string(at.iso8601), "data": data.object == nil ? data : .object(recordedData),
            ]
            do {
                switch decision {
                case .failure(var rejection):
                    for key in rejection.details.keys {
                        let name = key.split(separator: ".").last.map(String.init) ?? key
                        if (key.hasPrefix("case.") && piiCase.contains(name)) || (key.hasPrefix("data.") && piiData.contains(name)) {
                            rejection.details[key] = PersonalData.placeholder
                        }
                    }
                    var payload = base
                    payload["check"] = .string(rejection.check.rawValue)
                    payload["reason"] = .string(rejection.message)
                    payload["details"] = .object(rejection.details.mapValues(JSONValue.string))
                    // A refusal records what the engine saw; it is appended whatever came after (.any), so that
                    // refusals never make concurrent commands conflict.
                    let r = try await store.append(
                        to: stream, expectedVersion: .any,
                        events: [ProposedEvent(type: CaseEventType.commandRejected, json: JSONValue.object(payload).json, actor: actor.description, recordedAt: at)],
                        commandId: commandId)
                    if r.deduplicated { return try original(caseId, at: r.firstPosition) }
                    return .rejected(rejection, position: r.firstPosition)
                case .success(var change):
                    if var set = change.payload["set"]?.object {
                        for key in set.keys where piiCase.contains(key) && set[key] != .null {
                            set[key] = try PersonalData.seal(set[key]!, subject: subject, vault: vault)
                        }
                        change.payload["set"] = .object(set)
                    }
                    var payload = base.merging(change.payload) { $1 }
                    if !current.isOpen {
                        payload["workflow"] = .string(compiled.definition.name)
                        payload["definition"] = .string(compiled.hash)
                        payload["version"] = .int(Int64(compiled.definition.version))
                    }
                    var events = [ProposedEvent(
                        type: current.isOpen ? CaseEventType.commandAccepted : CaseEventType.opened, json: JSONValue.object(payload).json,
                        actor: actor.description, recordedAt: at)]
                    for type in change.emitted {
                        events.append(ProposedEvent(type: type, json: JSONValue.object(base.merging(["state": payload["state"] ?? .null]) { $1 }).json,
                                                    actor: actor.description, recordedAt: at))
                    }
                    let r = try await store.append(to: stream, expectedVersion: expected, events: events, commandId: commandId)
                    if r.deduplicated { return try original(caseId, at: r.firstPosition) }
                    // Fold what was just written without reading it back; the cache takes the result.
                    var state = current
                    try state.apply(type: events[0].type, payload: payload, streamVersion: r.firstVersion, position: r.firstPosition,
                                    definition: { _ in compiled }, reveal: reveal)
                    state.streamVersion = r.lastVersion
                    remember(state)
                    if let definition = compiled.definition.command(command), !definition.effects.isEmpty {
                        let cause = EffectCause(caseId: caseId, version: r.firstVersion, position: r.firstPosition)
                        do {
                            state = try await perform(definition.effects, of: command, from: state, compiled: compiled, actor: actor, data: data, at: at,
                                                      cause: cause, depth: depth)
                        } catch {
                            // The command stands; its effects did not all happen. Say so on the case, and let
                            // `redriveEffects` finish them once the cause is fixed.
                            let failure: JSONValue = .object([
                                "case": .string(caseId), "command": .string(command), "cause": .int(Int64(r.firstPosition)),
                                "causeVersion": .int(Int64(r.firstVersion)), "at": .string(at.iso8601), "reason": .string("\(error)"),
                            ])
                            try await store.append(
                                to: stream, expectedVersion: .any,
                                events: [ProposedEvent(type: CaseEventType.effectFailed, json: failure.json, actor: actor.description, recordedAt: at)],
                                commandId: "effect-failed:\(cause)")
                        }
                    }
                    return .accepted(state, firstPosition: r.firstPosition)
                }
            } catch EventStoreError.wrongExpectedVersion {
                continue  // someone else changed the case: decide again on the new state
            }
        }
        throw EngineError.conflict(caseId: caseId, attempts: maxAttempts)
    }

    /// Moves an open case to another published definition of the same workflow (by hash, or the latest
    /// version), recording the migration as an event. Refused (with the reason) if the case's state,
    /// data or running clocks do not exist, with the same types, in the target definition.
    public func migrate(caseId: String, to hash: String?, actor: Actor, at: Timestamp) async throws -> CommandOutcome {
        for _ in 0..<maxAttempts {
            guard let current = try load(caseId), current.isOpen else { throw EngineError.unknownCase(caseId) }
            let from = try registry.definition(hash: current.definitionHash)
            let target = try hash.map(registry.definition(hash:)) ?? registry.latest(from.definition.name)
            var problems: [String] = []
            if target.definition.name != from.definition.name {
                problems.append("the target is workflow '\(target.definition.name)', not '\(from.definition.name)'")
            }
            if target.definition.state(current.state) == nil { problems.append("state '\(current.state)' does not exist in the target") }
            for (field, value) in current.data where value != .null {
                let old = from.definition.field(field)?.type, new = target.definition.field(field)?.type
                if new == nil { problems.append("field '\(field)' does not exist in the target") }
                else if old != new { problems.append("field '\(field)' is \(old.map(String.init(describing:)) ?? "?") here, \(new!) in the target") }
            }
            for (name, clock) in current.clocks where clock.isStarted && !clock.isStopped && target.definition.clock(name) == nil {
                problems.append("running clock '\(name)' does not exist in the target")
            }
            let payload: [String: JSONValue] = [
                "case": .string(caseId), "from": .string(from.hash), "to": .string(target.hash), "fromVersion": .int(Int64(from.definition.version)),
                "toVersion": .int(Int64(target.definition.version)), "actor": .string(actor.id), "role": .string(actor.role), "at": .string(at.iso8601),
            ]
            do {
                if !problems.isEmpty || target.hash == from.hash {
                    let rejection = Rejection(check: .lifecycle, message: problems.isEmpty ? "the case already runs under that definition" : problems.joined(separator: "; "),
                                              details: ["to": target.hash])
                    var refused = payload
                    refused["command"] = .string("migrate")
                    refused["check"] = .string(rejection.check.rawValue)
                    refused["reason"] = .string(rejection.message)
                    refused["details"] = .object(rejection.details.mapValues(JSONValue.string))
                    let r = try await store.append(
                        to: CaseState.stream(caseId), expectedVersion: .any,
                        events: [ProposedEvent(type: CaseEventType.commandRejected, json: JSONValue.object(refused).json, actor: actor.description, recordedAt: at)])
                    return .rejected(rejection, position: r.firstPosition)
                }
                let r = try await store.append(
                    to: CaseState.stream(caseId), expectedVersion: current.streamVersion.map { .exact($0) } ?? .noStream,
                    events: [ProposedEvent(type: CaseEventType.migrated, json: JSONValue.object(payload).json, actor: actor.description, recordedAt: at)])
                guard let state = try load(caseId) else { throw EngineError.unknownCase(caseId) }
                return .accepted(state, firstPosition: r.firstPosition)
            } catch EventStoreError.wrongExpectedVersion {
                continue
            }
        }
        throw EngineError.conflict(caseId: caseId, attempts: maxAttempts)
    }

    /// Carries out, again, the effects of every accepted command that has `open` or `send` effects. Effects
    /// run after their command is durable; if the process stopped in between, this finishes them. It is
    /// safe to run at any time: every effect has a command id derived from its cause, so what was done
    /// is not done twice. Returns how many commands with effects were looked at.
    @discardableResult
    public func redriveEffects() async throws -> Int {
        var sources: [RecordedEvent] = []
        try store.scan { e in
            if (e.type == CaseEventType.commandAccepted || e.type == CaseEventType.opened), e.streamId.hasPrefix("case-") { sources.append(e) }
            return true
        }
        var looked = 0
        for e in sources {
            guard let payload = try? JSONValue.parse(Data(e.payload)).object, let caseId = payload["case"]?.string,
                  let command = payload["command"]?.string, let role = payload["role"]?.string, let actorId = payload["actor"]?.string,
                  let atText = payload["at"]?.string, let at = Timestamp(iso8601: atText),
                  let state = try load(caseId), state.isOpen
            else { continue }
            let compiled = try registry.definition(hash: payload["definition"]?.string ?? state.definitionHash)
            guard let definition = compiled.definition.command(command),
                  definition.effects.contains(where: { if case .emit = $0 { return false } else { return true } })
            else { continue }
            looked += 1
            _ = try await perform(definition.effects, of: command, from: state, compiled: compiled, actor: Actor(role: role, id: actorId),
                                  data: revealed(payload["data"] ?? .object([:])), at: at,
                                  cause: EffectCause(caseId: caseId, version: e.streamVersion, position: e.position), depth: 0)
        }
        return looked
    }

    /// A recorded JSON value with its sealed personal data opened (or null where the key is gone).
    private func revealed(_ json: JSONValue) throws -> JSONValue {
        if let sealed = PersonalData.sealed(json) {
            return try vault.open(sealed.ciphertext, subject: sealed.subject).flatMap { try? JSONValue.parse($0) } ?? .null
        }
        switch json {
        case .object(let o): return .object(try o.mapValues(revealed))
        case .array(let a): return .array(try a.map(revealed))
        default: return json
        }
    }

    /// The deepest chain of effects (a command opening a case whose command sends another …) followed.
    public let maxEffectDepth = 8

    /// Carries out a command's effects on other cases, after the command itself is durable. Each effect
    /// has a command id derived from its cause (the source case and the stream version of the causing
    /// event), so repeating it never acts twice, and whatever it names is the same however commands on
    /// other cases interleave. `open` gives the new case the command's data fields that its opening
    /// command takes, names it `<source case>-<workflow>-<version of the causing event>`, and records its
    /// id on the source case (`case.linked`); `send` issues a command, as the same actor, to the case
    /// whose id is in a reference field; `send … to-cases-of` finds the matching cases (``selectCases``),
    /// records them on the source case, and issues the command to each, in the order of their ids.
    private func perform(
        _ effects: [Effect], of command: String, from state: CaseState, compiled: CompiledWorkflow, actor: Actor, data: JSONValue,
        at: Timestamp, cause: EffectCause, depth: Int
    ) async throws -> CaseState {
        guard depth < maxEffectDepth else { return state }
        var state = state
        for (index, effect) in effects.enumerated() {
            let effectId = "effect:\(cause):\(index)"
            switch effect {
            case .emit:
                continue  // recorded with the command itself
            case let .open(workflow, command, storeIdIn, _):
                let target = try registry.latest(workflow.name)
                let takes = Set(target.definition.command(command)?.data.map(\.name) ?? [])
                let passed = JSONValue.object((data.object ?? [:]).filter { takes.contains($0.key) })
                let newId = Self.openedCaseId(source: state.caseId, workflow: workflow.name, version: cause.version)
                _ = try await run(caseId: newId, command: command, actor: actor, data: passed, at: at, commandId: effectId,
                                  opening: target, depth: depth + 1)
                if let field = storeIdIn?.name {
                    let payload: JSONValue = .object([
                        "case": .string(state.caseId), "at": .string(at.iso8601), "field": .string(field),
                        "linked": .string(newId), "workflow": .string(workflow.name), "cause": .int(Int64(cause.position)),
                        "causeVersion": .int(Int64(cause.version)),
                    ])
                    let r = try await store.append(
                        to: CaseState.stream(state.caseId), expectedVersion: .any,
                        events: [ProposedEvent(type: CaseEventType.linked, json: payload.json, actor: actor.description, recordedAt: at)],
                        commandId: "link:\(cause):\(index)")
                    if !r.deduplicated, let updated = try load(state.caseId) { state = updated }
                }
            case let .send(sent, toCaseIn, _):
                guard case .string(let target)? = state.data[toCaseIn.name] else { continue }
                _ = try await run(caseId: target, command: sent, actor: actor, data: .object([:]), at: at, commandId: effectId,
                                  opening: nil, depth: depth + 1)
            case .sendToMatching(let selection):
                let (targets, recorded) = try await selectCases(selection, effect: index, of: command, from: state, compiled: compiled,
                                                                actor: actor, data: data, at: at, cause: cause)
                if recorded, let updated = try load(state.caseId) { state = updated }
                for target in targets {
                    _ = try await run(caseId: target, command: selection.command.name, actor: actor, data: .object([:]), at: at,
                                      commandId: "\(effectId):\(target)", opening: nil, depth: depth + 1)
                }
            }
        }
        return state
    }

    /// The cases a `send … to-cases-of` effect acts on, and whether this call recorded them.
    ///
    /// The first time, they are found: every open case of the workflow (from the case index, by id) in one
    /// of the effect's states (any non-final one if it names none) whose fields each equal the value of
    /// their `where` expression, evaluated on the source case as `state` has it and the command's data (a
    /// value that is not set matches no case). They are then recorded on the source case, before any is
    /// sent the command, as a `case.effect-targeted` event whose command id is derived from the cause.
    /// After that, the recorded list is returned: a redrive acts on the same cases, and each of them is
    /// sent the command under its own derived command id, so none is acted on twice.
    private func selectCases(
        _ selection: CaseSelection, effect index: Int, of command: String, from state: CaseState, compiled: CompiledWorkflow,
        actor: Actor, data: JSONValue, at: Timestamp, cause: EffectCause
    ) async throws -> (targets: [String], recorded: Bool) {
        let recordId = "targets:\(cause):\(index)"
        let stream = CaseState.stream(state.caseId)
        func recordedTargets(_ event: RecordedEvent) throws -> [String] {
            let parsed = try? event.payload.withUnsafeBytes { try JSONValue.parse($0) }
            guard let targets = parsed?.object?["targets"]?.array else {
                throw EngineError.corrupt("case '\(state.caseId)': the targets recorded at position \(event.position) are unreadable")
            }
            return targets.compactMap(\.string)
        }
        if let earlier = try store.readStream(stream, from: 0, limit: Int.max).first(where: { $0.commandId == recordId }) {
            return (try recordedTargets(earlier), false)
        }
        guard let expressions = compiled.selections[CompiledWorkflow.effectKey(command: command, index: index)] else {
            throw EngineError.corrupt("\(compiled.definition.name): command '\(command)' effect \(index) has no compiled `where`")
        }
        var commandData: [String: Value] = [:]
        let spec = compiled.definition.command(command)
        for (key, json) in data.object ?? [:] {
            guard let field = spec?.data.first(where: { $0.name == key }) else { continue }
            commandData[key] = (try? ValueCoding.decode(json, as: field.type, field: key)) ?? .null
        }
        let context = EvaluationContext(caseData: state.data, commandData: commandData, now: at, actor: actor.id, role: actor.role,
                                        officeHours: compiled.officeHours)
        var wanted: [(field: String, value: Value)] = []
        for (field, expression) in expressions {
            do {
                wanted.append((field, try expression.evaluate(context)))
            } catch {
                throw EngineError.corrupt("\(compiled.definition.name): command '\(command)': `where` \(field): \(error)")
            }
        }
        let workflow = selection.workflow.name
        var targets: [String] = []
        if wanted.allSatisfy({ $0.value.isSet }) {
            for id in try caseIndex.caseIds(of: workflow, in: store) {
                guard let candidate = try load(id), candidate.isOpen, candidate.workflow == workflow else { continue }
                if selection.inStates.isEmpty {
                    guard try registry.definition(hash: candidate.definitionHash).definition.state(candidate.state)?.isFinal == false else { continue }
                } else if !selection.inStates.contains(where: { $0.name == candidate.state }) {
                    continue
                }
                if wanted.allSatisfy({ candidate.data[$0.field] == $0.value }) { targets.append(id) }
            }
        }
        let payload: JSONValue = .object([
            "case": .string(state.caseId), "at": .string(at.iso8601), "command": .string(command), "effect": .int(Int64(index)),
            "cause": .int(Int64(cause.position)), "causeVersion": .int(Int64(cause.version)),
            "send": .string(selection.command.name), "workflow": .string(workflow),
            "where": .object(Dictionary(wanted.map { ($0.field, ValueCoding.encode($0.value)) }, uniquingKeysWith: { a, _ in a })),
            "inStates": .array(selection.inStates.map { .string($0.name) }),
            "targets": .array(targets.map(JSONValue.string)),
        ])
        let r = try await store.append(
            to: stream, expectedVersion: .any,
            events: [ProposedEvent(type: CaseEventType.effectTargeted, json: payload.json, actor: actor.description, recordedAt: at)],
            commandId: recordId)
        if r.deduplicated, let original = try store.event(at: r.firstPosition) {
            return (try recordedTargets(original), false)  // another run recorded them first: act on those
        }
        return (targets, true)
    }

    /// The id of the case an `open` effect opens: `<source case>-<workflow>-<version>`, where `version` is
    /// the source case's stream version of the event that caused it. It depends only on the source case's
    /// own history, never on how commands on other cases interleave.
    public static func openedCaseId(source: String, workflow: String, version: UInt64) -> String {
        "\(source)-\(workflow)-\(version)"
    }

    /// Fires every clock whose deadline is at or before `until`, exactly once each, recording the
    /// breach (at the deadline) and its escalation. Returns the breaches recorded, case by case in the
    /// order of workflow name and case id. Finds the cases with the engine's case index, which reads
    /// only the events appended since its last use.
    public func runTimers(until: Timestamp) async throws -> [(caseId: String, clock: String, deadline: Timestamp)] {
        var fired: [(String, String, Timestamp)] = []
        // Every case, by workflow and id; the index reads only what was appended since the last run.
        for caseId in try caseIndex.allCaseIds(in: store) {
            guard let state = try load(caseId), state.isOpen else { continue }
            let compiled = try registry.definition(hash: state.definitionHash)
            for (name, clock) in state.clocks.sorted(by: { $0.key < $1.key }) where clock.isStarted {
                guard let calendar = compiled.calendar, let spec = compiled.definition.clock(name) else { continue }
                let deadline: Timestamp
                do {
                    // Running, paused after its deadline, or stopped late: the breach is recorded at the deadline.
                    // A deadline at `until` itself is due (hence the millisecond).
                    let after = Timestamp(millisecondsSince1970: until.millisecondsSince1970 + 1)
                    guard let d = try clock.breachedDeadline(at: after, calendar: calendar) else { continue }
                    deadline = d
                } catch {
                    throw EngineError.calendar("case '\(caseId)', clock '\(name)': \(error)")
                }
                guard state.breaches[name] != deadline else { continue }
                let e = spec.onBreach
                var payload: [String: JSONValue] = [
                    "case": .string(caseId), "clock": .string(name), "deadline": .string(deadline.iso8601),
                    "at": .string(deadline.iso8601), "event": .string(e.event),
                    "budget": .string(clock.budget?.description ?? spec.budget.description),
                ]
                // A breach moves an active case; a case already final, or a clock already stopped, stays put.
                if let m = e.moveTo, !clock.isStopped, compiled.definition.state(state.state)?.isFinal == false {
                    payload["moveTo"] = .string(m)
                }
                if let f = e.flag { payload["flag"] = .string(f) }
                if let n = e.notify { payload["notify"] = .string(n) }
                let events = [
                    ProposedEvent(type: CaseEventType.clockBreached, json: JSONValue.object(payload).json, actor: "system:timers", recordedAt: deadline),
                    ProposedEvent(type: e.event, json: JSONValue.object(payload).json, actor: "system:timers", recordedAt: deadline),
                ]
                // The command id makes the breach exactly-once even if two timer runs race.
                let r = try await store.append(
                    to: CaseState.stream(caseId), expectedVersion: .any, events: events,
                    commandId: "breach:\(caseId):\(name):\(deadline.millisecondsSince1970)")
                if !r.deduplicated { fired.append((caseId, name, deadline)) }
            }
        }
        return fired
    }
}

extension CaseEventType {
    /// The cases a `send … to-cases-of` effect selected, recorded on the source case before any of them
    /// is sent the command: `targets` (ids, in order), the `where` values, `inStates`, the command sent.
    public static let effectTargeted = "case.effect-targeted"
}

/// What caused an effect: the accepted command's first event, on the source case's stream.
struct EffectCause: CustomStringConvertible {
    /// The source case.
    var caseId: String
    /// The stream version of the causing event (deterministic: the case's own history).
    var version: UInt64
    /// Its global position (recorded for reference; it depends on other cases' commands).
    var position: UInt64

    /// `<case>@<version>`: the prefix of the command ids of the effects it causes.
    var description: String { "\(caseId)@\(version)" }
}

/// The pure decision: given a case and a command, either the changes to record or a rejection.
struct Decider {
    let compiled: CompiledWorkflow
    let state: CaseState

    struct Change {
        var payload: [String: JSONValue]
        var emitted: [String]
    }

    func decide(command name: String, actor: Actor, data json: JSONValue, at: Timestamp) -> Result<Change, Rejection> {
        let d = compiled.definition
        func reject(_ check: Rejection.Check, _ message: String, _ details: [String: String] = [:]) -> Result<Change, Rejection> {
            .failure(Rejection(check: check, message: message, details: details))
        }
        guard let command = d.command(name) else {
            return reject(.unknownCommand, "\(d.name) has no command '\(name)'",
                          ["commands": d.commands.map(\.name).joined(separator: ", ")])
        }
        if command.opensCase && state.isOpen { return reject(.lifecycle, "case '\(state.caseId)' is already open", ["state": state.state]) }
        if !command.opensCase && !state.isOpen { return reject(.lifecycle, "case '\(state.caseId)' is not open; '\(name)' needs an open case") }
        guard command.roles.contains(where: { $0.name == actor.role }) else {
            return reject(.role, "role '\(actor.role)' may not issue '\(name)'",
                          ["allowed": command.roles.map(\.name).joined(separator: ", "), "role": actor.role])
        }
        let from = state.isOpen ? state.state : ""
        if !command.opensCase {
            let applies = command.from.contains { $0.name == from || ($0.name == "*" && d.state(from)?.isFinal == false) }
            guard applies else {
                return reject(.state, "'\(name)' applies in \(command.from.map(\.name).joined(separator: ", ")), but the case is in '\(from)'",
                              ["state": from])
            }
        }
        // Data: known fields, right types, required ones present.
        guard let given = json.object else { return reject(.data, "the command's data must be a JSON object") }
        var commandData: [String: Value] = [:]
        for (key, value) in given.sorted(by: { $0.key < $1.key }) {
            guard let field = command.data.first(where: { $0.name == key }) else {
                return reject(.data, "'\(name)' takes no field '\(key)'", ["fields": command.data.map(\.name).joined(separator: ", ")])
            }
            do {
                commandData[key] = try ValueCoding.decode(value, as: field.type, field: key)
            } catch {
                return reject(.data, error.description)
            }
        }
        for field in command.data where field.required && commandData[field.name]?.isSet != true {
            return reject(.data, "'\(name)' needs '\(field.name)' (\(field.type))")
        }
        let context = EvaluationContext(caseData: state.data, commandData: commandData, now: at, actor: actor.id, role: actor.role,
                                        officeHours: compiled.officeHours)
        // Guards, in order.
        for (g, expression) in compiled.guards[name] ?? [] {
            do {
                let value = try expression.evaluate(context)
                if value != .boolean(true) {
                    let seen = Dictionary(expression.explain(context).map { ($0.name, $0.value.description) }, uniquingKeysWith: { a, _ in a })
                    return reject(.guardFailed, g.message ?? "the guard `\(g.source)` is false", seen.merging(["guard": g.source]) { a, _ in a })
                }
            } catch {
                return reject(.evaluation, "the guard `\(g.source)` cannot be evaluated: \(error)")
            }
        }
        var set: [String: Value] = [:]
        // Decision tables: the matching rule's outputs are set on the case.
        var decisions: [JSONValue] = []
        for table in command.decide {
            guard let t = d.decision(table.name),
                  let inputs = compiled.decisionInputs[CompiledWorkflow.decisionKey(command: name, table: table.name)]
            else { continue }
            var values: [Value] = []
            do {
                for input in inputs { values.append(try input.evaluate(context)) }
            } catch {
                return reject(.evaluation, "decision '\(t.name)': an input cannot be evaluated: \(error)")
            }
            if let lookup = t.catalogue {
                switch lookUp(t, lookup, key: values.first ?? .null) {
                case .failure(let rejection): return .failure(rejection)
                case .success(let (item, outputs)):
                    var recorded: [String: JSONValue] = [:]
                    for (field, value) in outputs {
                        set[field] = value
                        recorded[field] = ValueCoding.encode(value)
                    }
                    decisions.append(.object([
                        "table": .string(t.name), "catalogue": .string(lookup.catalogue.name), "item": .string(item.id),
                        "line": .int(Int64(item.location.line)), "inputs": .array(values.map(ValueCoding.encode)), "outputs": .object(recorded),
                    ]))
                }
                continue
            }
            guard let (index, rule) = t.rules.enumerated().first(where: { _, rule in zip(rule.tests, values).allSatisfy { Self.matches($0, $1) } }) else {
                let shown = zip(t.inputs, values).map { "\($0.source)=\($1)" }.joined(separator: ", ")
                return reject(.decision, "no rule of decision '\(t.name)' matches \(shown)", ["decision": t.name])
            }
            var outputs: [String: JSONValue] = [:]
            for (output, (literal, _)) in zip(t.outputs, rule.outputs) {
                let value = Self.literal(literal, as: d.field(output.name)?.type ?? .string)
                set[output.name] = value
                outputs[output.name] = ValueCoding.encode(value)
            }
            decisions.append(.object(["table": .string(t.name), "rule": .int(Int64(index + 1)), "line": .int(Int64(rule.location.line)),
                                      "inputs": .array(values.map(ValueCoding.encode)), "outputs": .object(outputs)]))
        }
        // Assignments see the case as it was, plus the decisions' outputs.
        var assignmentContext = context  // same command, actor, time and office hours
        assignmentContext.caseData = state.data.merging(set) { $1 }
        for (field, expression) in compiled.assignments[name] ?? [] {
            do {
                set[field] = try expression.evaluate(assignmentContext)
            } catch {
                return reject(.evaluation, "setting '\(field)': \(error)")
            }
        }
        // Clocks: check the operations are possible now, and record what each fixed: the budget a start
        // counts (so that replays never depend on the definition's details) and, while the clock runs, its deadline.
        var clockOps: [JSONValue] = []
        var clocks = state.clocks
        let after = state.data.merging(set) { $1 }
        for op in command.clockOperations {
            guard let spec = d.clock(op.clock.name) else { continue }
            var clock = clocks[op.clock.name] ?? ClockState()
            var recorded: [String: JSONValue] = ["clock": .string(op.clock.name), "op": .string(op.kind.rawValue)]
            do {
                switch op.kind {
                case .start:
                    var budget = spec.budget
                    if let field = spec.budgetField?.name, let value = after[field], value != .null {
                        guard case .integer(let n) = value, n >= 0, n <= Int64(ClockBudget.maximumAmount) else {
                            return reject(.clock, "clock '\(op.clock.name)' cannot start: its budget-field '\(field)' is \(value), not a number of \(spec.budget.unit.rawValue)",
                                          ["case.\(field)": value.description])
                        }
                        budget.amount = Int(n)
                    }
                    clock = ClockState()
                    try clock.start(at: at, budget: ClockBudget(budget))
                    recorded["budget"] = .string(ClockBudget(budget).description)
                case .pause: try clock.pause(at: at)
                case .resume: try clock.resume(at: at)
                case .stop: try clock.stop(at: at)
                }
            } catch {
                return reject(.clock, "clock '\(op.clock.name)' cannot \(op.kind.rawValue): \(error)")
            }
            // A deadline the calendar cannot tell yet (a year it does not cover) is left out; the timers report it.
            if clock.isRunning, let calendar = compiled.calendar, let deadline = try? clock.deadline(calendar: calendar) {
                recorded["deadline"] = .string(deadline.iso8601)
            }
            clocks[op.clock.name] = clock
            clockOps.append(.object(recorded))
        }
        let to = command.to?.name ?? (command.opensCase ? d.initialState?.name ?? "" : from)
        var payload: [String: JSONValue] = ["from": .string(from), "state": .string(to), "set": ValueCoding.encode(set)]
        if !clockOps.isEmpty { payload["clocks"] = .array(clockOps) }
        if !decisions.isEmpty { payload["decisions"] = .array(decisions) }
        let emitted = command.effects.compactMap { effect -> String? in
            if case .emit(let type, _) = effect { return type }
            return nil
        }
        return .success(Change(payload: payload, emitted: emitted))
    }

    /// The catalogue item whose id is `key`, and the values it gives the table's outputs; a rejection
    /// naming the id (and some known ids) if there is no such item.
    func lookUp(_ t: DecisionTable, _ lookup: CatalogueLookup, key: Value) -> Result<(Catalogue.Item, [(String, Value)]), Rejection> {
        guard let catalogue = compiled.catalogues[lookup.catalogue.name] else {
            return .failure(Rejection(check: .decision, message: "decision '\(t.name)': catalogue '\(lookup.catalogue.name)' is not loaded",
                                      details: ["decision": t.name]))
        }
        let keySource = t.inputs.first?.source ?? "key"
        guard case .string(let id) = key else {
            return .failure(Rejection(check: .decision, message: "decision '\(t.name)' needs an item of catalogue '\(catalogue.name)', but \(keySource) is \(key)",
                                      details: ["decision": t.name, keySource: key.description]))
        }
        guard let item = catalogue.item(id) else {
            let near = catalogue.items.map(\.id).filter { Suggest.distance(id, $0) <= max(2, id.count / 3) }
            let shown = (near + catalogue.items.map(\.id).filter { !near.contains($0) }).prefix(5)
            let more = catalogue.items.count > shown.count ? ", …" : ""
            return .failure(Rejection(
                check: .decision,
                message: "'\(id)' is not an item of catalogue '\(catalogue.name)'\(catalogue.title.map { " (\($0))" } ?? ""); known items include \(shown.joined(separator: ", "))\(more)",
                details: ["decision": t.name, keySource: id, "catalogue": catalogue.name]))
        }
        var outputs: [(String, Value)] = []
        for (field, column) in zip(t.outputs, lookup.columns) {
            outputs.append((field.name, item.values[column.name] ?? .null))
        }
        return .success((item, outputs))
    }

    static func matches(_ test: InputTest, _ value: Value) -> Bool {
        switch test {
        case .any: return true
        case .oneOf(let literals):
            return literals.contains { literal in
                switch value {
                case .string(let s): return s == literal
                case .boolean(let b): return literal == (b ? "true" : "false")
                case .integer(let i), .money(let i): return Int64(literal) == i
                case .null: return literal == "null"
                default: return value.description == literal
                }
            }
        case .range:
            switch value {
            case .integer(let i), .money(let i): return test.contains(i)
            default: return false
            }
        }
    }

    static func literal(_ text: String, as type: FieldType) -> Value {
        switch type {
        case .integer: return Int64(text).map(Value.integer) ?? .string(text)
        case .money: return Int64(text).map(Value.money) ?? .string(text)
        case .boolean: return .boolean(text == "true")
        default: return .string(text)
        }
    }
}
