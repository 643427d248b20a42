import CasebookLog
import Crypto
import Foundation

/// A definition ready to run: parsed, linted, its expressions compiled, its calendar and catalogues
/// loaded, and pinned by a content hash over the definition text and the calendar and catalogue files it uses.
/// Immutable, and shared rather than copied: folding a case looks its definition up for every event.
public final class CompiledWorkflow: Sendable {
    /// The definition.
    public let definition: WorkflowDefinition
    /// SHA-256 (hex) over the definition source and its calendars' and catalogues' sources: what cases are pinned to.
    public let hash: String
    /// The definition text as published.
    public let source: String
    /// The calendar files as published (file name, text).
    public let calendarSources: [(file: String, source: String)]
    /// The working-day calendar, if the workflow names one.
    public let calendar: WorkingCalendar?
    /// The catalogue files as published (file name, text).
    public let catalogueSources: [(file: String, source: String)]
    /// The catalogues the workflow names, by name.
    public let catalogues: [String: Catalogue]
    /// The office hours, if the workflow declares them (on its calendar's working days).
    public let officeHours: OfficeHours?
    /// Each case field's type, by name (the first declaration of a name, as ``WorkflowDefinition/field(_:)`` finds it).
    public let fieldTypes: [String: FieldType]
    let guards: [String: [(Guard, Expression)]]
    /// A command's guards, in order, each with its expression as compiled when the workflow was published.
    public func guards(of command: String) -> [(Guard, Expression)] { guards[command] ?? [] }
    let assignments: [String: [(String, Expression)]]
    let decisionInputs: [String: [Expression]]
    /// The `where` expressions of each `send … to-cases-of` effect (by ``effectKey(command:index:)``), with their fields.
    let selections: [String: [(field: String, expression: Expression)]]

    init(
        definition: WorkflowDefinition, hash: String, source: String, calendarSources: [(file: String, source: String)],
        calendar: WorkingCalendar?, catalogueSources: [(file: String, source: String)], catalogues: [String: Catalogue],
        officeHours: OfficeHours?, fieldTypes: [String: FieldType], guards: [String: [(Guard, Expression)]], assignments: [String: [(String, Expression)]],
        decisionInputs: [String: [Expression]], selections: [String: [(field: String, expression: Expression)]]
    ) {
        self.definition = definition
        self.hash = hash
        self.source = source
        self.calendarSources = calendarSources
        self.calendar = calendar
        self.catalogueSources = catalogueSources
        self.catalogues = catalogues
        self.officeHours = officeHours
        self.fieldTypes = fieldTypes
        self.guards = guards
        self.assignments = assignments
        self.decisionInputs = decisionInputs
        self.selections = selections
    }

    static func decisionKey(command: String, table: String) -> String { command + "\u{0}" + table }
    static func effectKey(command: String, index: Int) -> String { command + "\u{0}" + String(index) }

    /// Compiles a definition with the calendar and catalogue files it uses. Throws the linter's and
    /// parser's errors (warnings do not stop it).
    public static func compile(
        source: String, file: String, calendarSources: [(file: String, source: String)],
        catalogueSources: [(file: String, source: String)] = []
    ) throws(DiagnosticList) -> CompiledWorkflow {
        let (parsed, parseDiagnostics) = DefinitionParser.parse(source, file: file)
        guard let definition = parsed, !parseDiagnostics.contains(where: { $0.severity == .error }) else {
            throw DiagnosticList(parseDiagnostics)
        }
        var calendars: [WorkingCalendar] = []
        for (calendarFile, text) in calendarSources {
            calendars.append(try WorkingCalendar.parse(yaml: text, file: calendarFile))
        }
        let set = try CalendarSet(calendars)
        let catalogues = try Catalogue.collect(catalogueSources)
        let findings = Linter.lint(definition, context: LintContext(calendars: set.calendars, catalogues: catalogues))
        if findings.contains(where: { $0.severity == .error }) { throw DiagnosticList(findings) }

        var guards: [String: [(Guard, Expression)]] = [:]
        var assignments: [String: [(String, Expression)]] = [:]
        var selections: [String: [(field: String, expression: Expression)]] = [:]
        let caseTypes = Dictionary(definition.fields.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a })
        do {
            for c in definition.commands {
                let env = ExpressionEnvironment(
                    caseFields: caseTypes, commandFields: Dictionary(c.data.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a }),
                    officeHours: definition.hasOfficeHours)
                guards[c.name] = try c.guards.map { g throws(Diagnostic) in (g, try Expression.compile(g.source, at: g.location, in: env)) }
                for (index, effect) in c.effects.enumerated() {
                    guard case .sendToMatching(let selection) = effect else { continue }
                    selections[Self.effectKey(command: c.name, index: index)] = try selection.matches.map { m throws(Diagnostic) in
                        (m.field.name, try Expression.compile(m.source, at: m.location, in: env, expecting: nil))
                    }
                }
                assignments[c.name] = try c.assignments.map { a throws(Diagnostic) in
                    (a.field.name, try Expression.compile(a.source, at: a.location, in: env, expecting: caseTypes[a.field.name]))
                }
            }
            // A table's inputs are compiled for each command that consults it, so they may read that
            // command's data as well as the case.
            var decisionInputs: [String: [Expression]] = [:]
            for c in definition.commands {
                let env = ExpressionEnvironment(
                    caseFields: caseTypes, commandFields: Dictionary(c.data.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a }),
                    officeHours: definition.hasOfficeHours)
                for use in c.decide {
                    guard let table = definition.decision(use.name) else { continue }
                    decisionInputs[Self.decisionKey(command: c.name, table: table.name)] = try table.inputs.map { i throws(Diagnostic) in
                        try Expression.compile(i.source, at: i.location, in: env, expecting: nil)
                    }
                }
            }
            var hasher = SHA256()
            hasher.update(data: Data(source.utf8))
            for (calendarFile, text) in calendarSources {
                hasher.update(data: Data("\n--- calendar \(calendarFile)\n".utf8))
                hasher.update(data: Data(text.utf8))
            }
            for (catalogueFile, text) in catalogueSources {
                hasher.update(data: Data("\n--- catalogue \(catalogueFile)\n".utf8))
                hasher.update(data: Data(text.utf8))
            }
            let calendar = definition.calendar.flatMap { set[$0] }
            return CompiledWorkflow(
                definition: definition, hash: hasher.finalize().map { String(format: "%02x", $0) }.joined(), source: source,
                calendarSources: calendarSources, calendar: calendar, catalogueSources: catalogueSources, catalogues: catalogues,
                officeHours: definition.officeHours.flatMap { spec in calendar.map { OfficeHours(calendar: $0, periods: spec.periods) } },
                fieldTypes: caseTypes, guards: guards, assignments: assignments, decisionInputs: decisionInputs, selections: selections)
        } catch {
            throw DiagnosticList([error])
        }
    }
}

/// The definitions published to the log (stream `workflow-definitions`), by hash and by name.
///
/// Publishing appends the definition's text, with the calendars it uses, as one event; cases record
/// the hash they started under and keep running under it, whatever is published later.
public final class WorkflowRegistry: Sendable {
    /// The stream definitions are published on.
    public static let stream = "workflow-definitions"
    /// The event type of a published definition.
    public static let publishedType = "workflow.published"

    let store: EventStore
    private struct State {
        var byHash: [String: CompiledWorkflow] = [:]
        var latest: [String: CompiledWorkflow] = [:]
        var readThrough: UInt64? = nil
    }
    private let state = Mutex(State())

    /// A registry over `store`'s published definitions.
    public init(store: EventStore) {
        self.store = store
    }

    /// Publishes a definition file, with the calendars it names from `calendarDirectory` and the catalogues
    /// it names from `catalogueDirectory` (default: `catalogues/` beside the definition). Idempotent:
    /// publishing the same texts again returns the existing hash. Throws the lint errors if any.
    @discardableResult
    public func publish(
        file: String, calendarDirectory: String, catalogueDirectory: String? = nil, actor: String = "", at: Timestamp? = nil
    ) async throws -> CompiledWorkflow {
        let source = try String(contentsOfFile: file, encoding: .utf8)
        let (parsed, _) = DefinitionParser.parse(source, file: file)
        var calendarSources: [(file: String, source: String)] = []
        if let name = parsed?.calendar {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: calendarDirectory)) ?? []
            for entry in names.sorted() where entry.hasSuffix(".yaml") || entry.hasSuffix(".yml") {
                let path = (calendarDirectory as NSString).appendingPathComponent(entry)
                let text = try String(contentsOfFile: path, encoding: .utf8)
                if let calendar = try? WorkingCalendar.parse(yaml: text, file: entry), calendar.name == name {
                    calendarSources.append((entry, text))
                }
            }
        }
        let catalogueSources = try Catalogue.sources(
            named: parsed?.catalogues.map(\.name) ?? [],
            directory: catalogueDirectory ?? ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent("catalogues"))
        let compiled = try CompiledWorkflow.compile(
            source: source, file: (file as NSString).lastPathComponent, calendarSources: calendarSources, catalogueSources: catalogueSources)
        let payload: JSONValue = .object([
            "name": .string(compiled.definition.name), "version": .int(Int64(compiled.definition.version)),
            "title": .string(compiled.definition.title), "hash": .string(compiled.hash),
            "file": .string((file as NSString).lastPathComponent), "source": .string(source),
            "calendars": .array(calendarSources.map { .object(["file": .string($0.file), "source": .string($0.source)]) }),
            "catalogues": .array(catalogueSources.map { .object(["file": .string($0.file), "source": .string($0.source)]) }),
        ])
        try await store.append(
            to: Self.stream, expectedVersion: .any,
            events: [ProposedEvent(type: Self.publishedType, json: payload.json, actor: actor, recordedAt: at)],
            commandId: "publish-\(compiled.hash)")
        try refresh()
        return compiled
    }

    /// Reads definitions published since the last call.
    public func refresh() throws {
        let from = state.withLock { $0.readThrough.map { $0 + 1 } } ?? 0
        let events = try store.readStream(Self.stream, from: from, limit: Int.max)
        var compiled: [CompiledWorkflow] = []
        for e in events where e.type == Self.publishedType {
            guard let text = e.payloadText, let payload = try? JSONValue.parse(text).object,
                  let source = payload["source"]?.string, let file = payload["file"]?.string
            else { throw EngineError.corrupt("published definition at position \(e.position) is unreadable") }
            func sources(_ key: String) -> [(file: String, source: String)] {
                (payload[key]?.array ?? []).compactMap { c -> (file: String, source: String)? in
                    guard let o = c.object, let f = o["file"]?.string, let s = o["source"]?.string else { return nil }
                    return (f, s)
                }
            }
            do {
                compiled.append(try CompiledWorkflow.compile(
                    source: source, file: file, calendarSources: sources("calendars"), catalogueSources: sources("catalogues")))
            } catch {
                throw EngineError.corrupt("published definition at position \(e.position) no longer compiles: \(error)")
            }
        }
        state.withLock { s in
            for c in compiled {
                s.byHash[c.hash] = c
                if (s.latest[c.definition.name]?.definition.version ?? Int.min) <= c.definition.version { s.latest[c.definition.name] = c }
            }
            if let last = events.last { s.readThrough = last.streamVersion }
        }
    }

    /// The definition with this hash.
    public func definition(hash: String) throws -> CompiledWorkflow {
        if let found = state.withLock({ $0.byHash[hash] }) { return found }
        try refresh()
        guard let found = state.withLock({ $0.byHash[hash] }) else { throw EngineError.unknownDefinition(hash) }
        return found
    }

    /// The highest published version of the workflow called `name`.
    public func latest(_ name: String) throws -> CompiledWorkflow {
        try refresh()
        return try state.withLock { s throws(EngineError) in
            guard let found = s.latest[name] else { throw EngineError.unknownWorkflow(name, published: s.latest.keys.sorted()) }
            return found
        }
    }

    /// Every published workflow's latest version.
    public func all() throws -> [CompiledWorkflow] {
        try refresh()
        return state.withLock { $0.latest.values.sorted { $0.definition.name < $1.definition.name } }
    }
}

import Synchronization
