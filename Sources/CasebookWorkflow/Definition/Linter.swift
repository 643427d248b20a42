import CasebookLog

/// What the linter knows beyond the definition itself.
public struct LintContext: Sendable {
    /// Names of the other workflows that may be referenced (nil: do not check references).
    public var knownWorkflows: Set<String>?
    /// The calendars available (nil: do not check calendars).
    public var calendars: [String: WorkingCalendar]?
    /// Years the calendars must cover (e.g. this year and next).
    public var years: [Int]
    /// The catalogues available, by name (nil: do not check catalogues, beyond what the definition says).
    public var catalogues: [String: Catalogue]?
    /// The other workflows' definitions, by name, where they are at hand: a `send` to the cases of one of
    /// them is checked against its commands, states and fields (nil or absent: those are not checked).
    public var workflows: [String: WorkflowDefinition]?

    /// A context.
    public init(knownWorkflows: Set<String>? = nil, calendars: [String: WorkingCalendar]? = nil, years: [Int] = [],
                catalogues: [String: Catalogue]? = nil, workflows: [String: WorkflowDefinition]? = nil) {
        self.knownWorkflows = knownWorkflows
        self.calendars = calendars
        self.years = years
        self.catalogues = catalogues
        self.workflows = workflows
    }
}

/// Checks a parsed definition for everything the engine would refuse at run time, and for what is
/// probably a mistake (warnings). Each finding points at the place in the file.
public enum Linter {
    /// All findings for `definition`, sorted by position.
    public static func lint(_ definition: WorkflowDefinition, context: LintContext = LintContext()) -> [Diagnostic] {
        var out = Findings(definition: definition)
        out.checkStates()
        out.checkRolesAndFields()
        out.checkClocks(context)
        out.checkCommands(context)
        out.checkCatalogues(context)
        out.checkDecisions(context)
        out.checkReachability()
        return out.diagnostics.sorted { $0.location < $1.location }
    }
}

private struct Findings {
    let d: WorkflowDefinition
    var diagnostics: [Diagnostic] = []
    let roleNames: [String]
    let stateNames: [String]
    let fieldNames: [String]

    init(definition: WorkflowDefinition) {
        d = definition
        roleNames = definition.roles.map(\.name)
        stateNames = definition.states.map(\.name)
        fieldNames = definition.fields.map(\.name)
    }

    mutating func error(_ at: SourceLocation, _ message: String, hint: String? = nil) {
        diagnostics.append(Diagnostic(.error, at: at, message, hint: hint))
    }

    mutating func warning(_ at: SourceLocation, _ message: String, hint: String? = nil) {
        diagnostics.append(Diagnostic(.warning, at: at, message, hint: hint))
    }

    mutating func role(_ name: String, at: SourceLocation, _ what: String) {
        if !roleNames.contains(name) {
            error(at, "unknown role '\(name)' in \(what)", hint: Suggest.hint(name, among: roleNames, listing: "roles"))
        }
    }

    mutating func state(_ name: String, at: SourceLocation, _ what: String) -> StateDefinition? {
        guard let s = d.state(name) else {
            error(at, "unknown state '\(name)' in \(what)", hint: Suggest.hint(name, among: stateNames, listing: "states"))
            return nil
        }
        return s
    }

    mutating func caseField(_ name: String, at: SourceLocation, _ what: String) -> FieldDefinition? {
        guard let f = d.field(name) else {
            error(at, "unknown case field '\(name)' in \(what)", hint: Suggest.hint(name, among: fieldNames, listing: "case fields"))
            return nil
        }
        return f
    }

    // MARK: States, roles, fields

    mutating func checkStates() {
        let initial = d.states.filter(\.isInitial)
        if d.states.isEmpty {
            error(d.location, "the workflow has no states", hint: "declare `states:` with one `initial: true`")
        } else if initial.isEmpty {
            error(d.states[0].location, "no state is marked initial", hint: "add `initial: true` to the state new cases start in")
        }
        for extra in initial.dropFirst() {
            error(extra.location, "state '\(extra.name)' is a second initial state (the first is '\(initial[0].name)')",
                  hint: "exactly one state may be initial")
        }
        for s in d.states where s.isInitial && s.isFinal {
            error(s.location, "state '\(s.name)' is both initial and final", hint: "a case would end the moment it opens")
        }
        if !d.states.contains(where: \.isFinal) && !d.states.isEmpty {
            warning(d.states[0].location, "no state is final: cases can never be closed", hint: "mark the end states `final: true`")
        }
        for s in d.states {
            if let owner = s.owner { role(owner, at: s.ownerLocation ?? s.location, "the owner of state '\(s.name)'") }
        }
    }

    mutating func checkRolesAndFields() {
        if d.roles.isEmpty { error(d.location, "the workflow declares no roles", hint: "list who acts on cases under `roles:`") }
        for f in d.fields + d.commands.flatMap(\.data) {
            if case .reference(let workflow) = f.type, workflow.isEmpty {
                error(f.location, "field '\(f.name)' references no workflow")
            }
        }
    }

    // MARK: Clocks

    mutating func checkClocks(_ context: LintContext) {
        for c in d.clocks {
            let breach = c.onBreach
            if let move = breach.moveTo { _ = state(move, at: breach.moveToLocation ?? breach.location, "the breach of clock '\(c.name)'") }
            if let flag = breach.flag, let f = caseField(flag, at: breach.flagLocation ?? breach.location, "the breach of clock '\(c.name)'"),
               f.type != .boolean {
                error(breach.flagLocation ?? breach.location, "clock '\(c.name)' flags '\(flag)', which is \(f.type), not boolean",
                      hint: "declare `\(flag): boolean`")
            }
            if let notify = breach.notify { role(notify, at: breach.notifyLocation ?? breach.location, "the breach of clock '\(c.name)'") }
            if c.budget.unit == .workingDays && d.calendar == nil {
                error(c.location, "clock '\(c.name)' counts working days but the workflow names no calendar",
                      hint: "add `calendar: cn` (a file in Workflows/calendars/)")
            } else if d.calendar == nil {
                // Day budgets end at local midnight, and the engine keeps every deadline on the calendar's clock.
                error(c.location, "clock '\(c.name)' needs the workflow's calendar (its time zone decides when the limit ends)",
                      hint: "add `calendar: cn` (a file in Workflows/calendars/)")
            }
            if let field = c.budgetField, let f = caseField(field.name, at: field.location, "the budget-field of clock '\(c.name)'"), f.type != .integer {
                error(field.location, "clock '\(c.name)' takes its budget from '\(field.name)', which is \(f.type), not integer",
                      hint: "declare `\(field.name): integer` (the amount, in the unit of `budget`)")
            }
            let started = d.commands.contains { $0.clockOperations.contains { $0.clock.name == c.name && $0.kind == .start } }
            if !started {
                warning(c.location, "clock '\(c.name)' is never started", hint: "start it in a command: `clocks: { \(c.name): start }`")
            }
        }
        if let name = d.calendar, let calendars = context.calendars {
            let at = d.calendarLocation ?? d.location
            if let calendar = calendars[name] {
                for year in context.years where !calendar.covers(year: year) {
                    error(at, "calendar '\(name)' does not cover \(year)",
                          hint: "add \(year)'s holidays and weekend swaps to Workflows/calendars/\(name)-\(year).yaml")
                }
            } else {
                error(at, "unknown calendar '\(name)'",
                      hint: Suggest.hint(name, among: calendars.keys.sorted(), listing: "calendars in Workflows/calendars"))
            }
        }
    }

    // MARK: Commands

    func environment(for command: CommandDefinition) -> ExpressionEnvironment {
        ExpressionEnvironment(
            caseFields: Dictionary(d.fields.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a }),
            commandFields: Dictionary(command.data.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a }),
            officeHours: d.hasOfficeHours)
    }

    // MARK: Catalogues and office hours

    mutating func checkCatalogues(_ context: LintContext) {
        var seen: [String: SourceLocation] = [:]
        for c in d.catalogues {
            if let first = seen[c.name] {
                error(c.location, "catalogue '\(c.name)' is listed twice", hint: "the first is at line \(first.line)")
            }
            seen[c.name] = seen[c.name] ?? c.location
            if let known = context.catalogues, known[c.name] == nil {
                error(c.location, "unknown catalogue '\(c.name)'",
                      hint: known.isEmpty ? "no readable catalogues/\(c.name).yaml beside the definition: add it (`catalogue: \(c.name)`), or fix its errors"
                                          : Suggest.hint(c.name, among: known.keys.sorted(), listing: "catalogues beside the definition"))
            }
        }
        if let hours = d.officeHours {
            if d.calendar == nil {
                error(hours.location, "office hours need the workflow's calendar (they apply on its working days)", hint: "add `calendar: cn`")
            }
            if hours.periods.isEmpty { error(hours.location, "office-hours lists no periods", hint: "e.g. `[\"08:30-12:00\", \"14:00-17:30\"]`") }
            let sorted = hours.periods.sorted { $0.start < $1.start }
            for (a, b) in zip(sorted, sorted.dropFirst()) where b.start < a.end {
                error(hours.location, "office hours \(a) and \(b) overlap", hint: "list each period of the day once")
            }
        }
    }

    mutating func compile(_ source: String, at location: SourceLocation, in env: ExpressionEnvironment, expecting: FieldType?) -> Expression? {
        do {
            return try Expression.compile(source, at: location, in: env, expecting: expecting)
        } catch {
            diagnostics.append(error)
            return nil
        }
    }

    mutating func checkCommands(_ context: LintContext) {
        if !d.commands.contains(where: \.opensCase) {
            error(d.location, "no command opens a case", hint: "mark the command that creates a case `opens: true`")
        }
        for c in d.commands {
            let what = "command '\(c.name)'"
            if c.roles.isEmpty { error(c.location, "\(what) names no roles, so no one can issue it", hint: "add `roles: [...]`") }
            for r in c.roles { role(r.name, at: r.location, what) }
            if c.opensCase {
                for f in c.from { error(f.location, "\(what) opens a case, so it cannot also apply in state '\(f.name)'", hint: "remove `from:`") }
                if let to = c.to, let s = d.state(to.name), !s.isInitial {
                    error(to.location, "\(what) opens a case in '\(to.name)', but cases start in the initial state",
                          hint: d.initialState.map { "remove `to:` (cases start in '\($0.name)')" })
                }
            } else {
                if c.from.isEmpty { error(c.location, "\(what) applies in no state", hint: "add `from: [state, ...]`, or `from: '*'` for every open state") }
                for f in c.from where f.name != "*" {
                    if let s = state(f.name, at: f.location, "the `from` of \(what)"), s.isFinal {
                        error(f.location, "\(what) leaves final state '\(f.name)'", hint: "final states end a case; make '\(f.name)' not final, or drop it here")
                    }
                }
            }
            if let to = c.to { _ = state(to.name, at: to.location, "the `to` of \(what)") }

            let env = environment(for: c)
            for g in c.guards {
                if let expression = compile(g.source, at: g.location, in: env, expecting: .boolean),
                   expression.referencedNames.isEmpty,
                   let value = try? expression.evaluate(EvaluationContext(caseData: [:], commandData: [:], now: Timestamp(millisecondsSince1970: 0), actor: "", role: "")),
                   value == .boolean(false) {
                    error(g.writtenLocation, "this guard is always false, so \(what) can never fire")
                }
            }
            for a in c.assignments {
                if let field = caseField(a.field.name, at: a.field.location, "the `set` of \(what)") {
                    _ = compile(a.source, at: a.location, in: env, expecting: field.type)
                }
            }
            for op in c.clockOperations where d.clock(op.clock.name) == nil {
                error(op.clock.location, "unknown clock '\(op.clock.name)' in \(what)",
                      hint: Suggest.hint(op.clock.name, among: d.clocks.map(\.name), listing: "clocks"))
            }
            for table in c.decide where d.decision(table.name) == nil {
                error(table.location, "unknown decision table '\(table.name)' in \(what)",
                      hint: Suggest.hint(table.name, among: d.decisions.map(\.name), listing: "decision tables"))
            }
            for effect in c.effects { checkEffect(effect, in: what, env: env, context) }
        }
    }

    mutating func checkEffect(_ effect: Effect, in what: String, env: ExpressionEnvironment, _ context: LintContext) {
        switch effect {
        case .sendToMatching(let selection):
            checkSelection(selection, in: what, env: env, context)
        case .emit: break
        case let .open(workflow, _, storeIdIn, _):
            if let known = context.knownWorkflows, !known.contains(workflow.name) {
                error(workflow.location, "\(what) opens a case of unknown workflow '\(workflow.name)'",
                      hint: Suggest.hint(workflow.name, among: known.sorted(), listing: "workflows"))
            }
            if let storeIdIn, let f = caseField(storeIdIn.name, at: storeIdIn.location, what), f.type != .reference(workflow: workflow.name) {
                error(storeIdIn.location, "'\(storeIdIn.name)' is \(f.type); it must be reference(\(workflow.name)) to hold the new case's id")
            }
        case let .send(_, toCaseIn, _):
            if let f = caseField(toCaseIn.name, at: toCaseIn.location, what) {
                if case .reference(let workflow) = f.type {
                    if let known = context.knownWorkflows, !known.contains(workflow) {
                        error(f.location, "field '\(f.name)' references unknown workflow '\(workflow)'",
                              hint: Suggest.hint(workflow, among: known.sorted(), listing: "workflows"))
                    }
                } else {
                    error(toCaseIn.location, "'\(toCaseIn.name)' is \(f.type), not a reference to another case")
                }
            }
        }
    }

    /// `send: { command, to-cases-of, where, in-states }`: the workflow is known; with its definition at
    /// hand (or when it is this workflow), the command, the states and the fields exist, the states are
    /// not final, and each `where` expression has its field's type. The expressions read the source case
    /// and the command's data.
    mutating func checkSelection(_ s: CaseSelection, in what: String, env: ExpressionEnvironment, _ context: LintContext) {
        let name = s.workflow.name
        if let known = context.knownWorkflows, !known.contains(name), name != d.name {
            error(s.workflow.location, "\(what) sends to the cases of unknown workflow '\(name)'",
                  hint: Suggest.hint(name, among: known.sorted(), listing: "workflows"))
        }
        let target: WorkflowDefinition? = name == d.name ? d : context.workflows?[name]
        if let target {
            if target.command(s.command.name) == nil {
                error(s.command.location, "\(what) sends '\(s.command.name)', which workflow '\(name)' has no command of",
                      hint: Suggest.hint(s.command.name, among: target.commands.map(\.name), listing: "commands of \(name)"))
            } else if target.command(s.command.name)?.opensCase == true {
                error(s.command.location, "\(what) sends '\(s.command.name)', which opens a case of '\(name)'; the cases it selects are already open",
                      hint: "send a command that applies to open cases, or use `open:` to open one")
            }
            for state in s.inStates {
                guard let found = target.state(state.name) else {
                    error(state.location, "workflow '\(name)' has no state '\(state.name)'",
                          hint: Suggest.hint(state.name, among: target.states.map(\.name), listing: "states of \(name)"))
                    continue
                }
                if found.isFinal {
                    error(state.location, "state '\(state.name)' of '\(name)' is final: its cases take no command",
                          hint: "select cases in states '\(s.command.name)' applies in")
                } else if let command = target.command(s.command.name), !command.opensCase,
                          !command.from.contains(where: { $0.name == state.name || $0.name == "*" }) {
                    warning(state.location, "'\(s.command.name)' does not apply in state '\(state.name)' of '\(name)': every such case would refuse it",
                            hint: "'\(s.command.name)' applies in \(command.from.map(\.name).joined(separator: ", "))")
                }
            }
        }
        var seen: [String: SourceLocation] = [:]
        for m in s.matches {
            if let first = seen[m.field.name] {
                error(m.field.location, "field '\(m.field.name)' is matched twice", hint: "the first is at line \(first.line)")
            }
            seen[m.field.name] = seen[m.field.name] ?? m.field.location
            var expected: FieldType? = nil
            if let target {
                guard let field = target.field(m.field.name) else {
                    error(m.field.location, "workflow '\(name)' has no field '\(m.field.name)' to match in \(what)",
                          hint: Suggest.hint(m.field.name, among: target.fields.map(\.name), listing: "fields of \(name)"))
                    _ = compile(m.source, at: m.location, in: env, expecting: nil)
                    continue
                }
                if field.pii {
                    error(m.field.location, "field '\(m.field.name)' of '\(name)' is personal data (pii) and cannot select cases",
                          hint: "match on fields that are not personal data")
                }
                expected = field.type
            }
            _ = compile(m.source, at: m.location, in: env, expecting: expected)
        }
    }

    // MARK: Decision tables

    mutating func checkDecisions(_ context: LintContext) {
        for table in d.decisions {
            // Inputs may read the data of every command that consults the table (and only fields all of
            // them carry); a table no command consults is checked against the case alone.
            let users = d.commands.filter { $0.decide.contains { $0.name == table.name } }
            let shared = users.map { Dictionary($0.data.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a }) }
                .reduce(nil as [String: FieldType]?) { acc, fields in acc.map { $0.filter { fields[$0.key] == $0.value } } ?? fields } ?? [:]
            let env = ExpressionEnvironment(caseFields: Dictionary(d.fields.map { ($0.name, $0.type) }, uniquingKeysWith: { a, _ in a }), commandFields: shared,
                                            officeHours: d.hasOfficeHours)
            if let lookup = table.catalogue {
                checkCatalogueDecision(table, lookup, env: env, context)
                continue
            }
            for input in table.inputs { _ = compile(input.source, at: input.location, in: env, expecting: nil) }
            let outputTypes = table.outputs.map { caseField($0.name, at: $0.location, "the outputs of decision '\(table.name)'")?.type }
            for rule in table.rules {
                for ((value, at), type) in zip(rule.outputs, outputTypes) {
                    if case .enumeration(let allowed)? = type, !allowed.contains(value) {
                        error(at, "'\(value)' is not one of \(allowed.joined(separator: ", "))", hint: Suggest.closest(value, among: allowed).map { "did you mean '\($0)'?" })
                    }
                }
            }
            guard table.hitPolicy == .unique else { continue }
            for (i, a) in table.rules.enumerated() {
                for b in table.rules[(i + 1)...] where zip(a.tests, b.tests).allSatisfy({ $0.overlaps($1) }) {
                    let cells = zip(a.tests, b.tests).map { "\($0) / \($1)" }.joined(separator: ", ")
                    error(b.location, "decision '\(table.name)' is unique, but this rule overlaps the rule at line \(a.location.line) (\(cells))",
                          hint: "make the tests exclusive, or use `hit: first` if the first match should win")
                }
            }
        }
    }

    mutating func checkCatalogueDecision(_ table: DecisionTable, _ lookup: CatalogueLookup, env: ExpressionEnvironment, _ context: LintContext) {
        let what = "decision '\(table.name)'"
        if let key = table.inputs.first, let expression = compile(key.source, at: key.location, in: env, expecting: nil) {
            switch expression.resultType {
            case .string, .text, .enumeration: break
            default:
                error(key.writtenLocation, "the key of \(what) is \(expression.resultType), but item ids are strings",
                      hint: "write an expression whose value is an item id, e.g. `key: data.item`")
            }
        }
        let name = lookup.catalogue.name
        guard d.catalogues.contains(where: { $0.name == name }) else {
            error(lookup.catalogue.location, "\(what) reads catalogue '\(name)', which the workflow does not list",
                  hint: "add `catalogues: [\(name)]` at the top of the definition")
            return
        }
        let catalogue = context.catalogues?[name]
        var filled: [String: SourceLocation] = [:]
        for (output, column) in zip(table.outputs, lookup.columns) {
            if let first = filled[output.name] {
                error(output.location, "\(what) fills '\(output.name)' twice", hint: "the first is at line \(first.line)")
            }
            filled[output.name] = filled[output.name] ?? output.location
            let field = caseField(output.name, at: output.location, "the outputs of \(what)")
            guard let catalogue else { continue }
            guard let col = catalogue.column(column.name) else {
                error(column.location, "catalogue '\(name)' has no column '\(column.name)'",
                      hint: Suggest.hint(column.name, among: catalogue.columns.map(\.name), listing: "columns"))
                continue
            }
            guard let field else { continue }
            if let problem = Self.misfit(col, of: catalogue, into: field) {
                error(column.location, "\(what) cannot fill '\(field.name)' (\(field.type)) from column '\(col.name)' (\(col.type)): \(problem)",
                      hint: "make the field's type match the column's")
            }
        }
    }

    /// Why the values of a catalogue column cannot go into a case field, or nil if they can.
    static func misfit(_ column: Catalogue.Column, of catalogue: Catalogue, into field: FieldDefinition) -> String? {
        func textual(_ t: FieldType) -> Bool {
            switch t {
            case .string, .text, .enumeration: return true
            default: return false
            }
        }
        switch (column.type, field.type) {
        case (.integer, .integer), (.boolean, .boolean): return nil
        case (let c, .string), (let c, .text): return textual(c) ? nil : "the types differ"
        case (let c, .enumeration(let allowed)):
            guard textual(c) else { return "the types differ" }
            for item in catalogue.items {
                if case .string(let v)? = item.values[column.name], !allowed.contains(v) {
                    return "item '\(item.id)' (line \(item.location.line)) has '\(v)', which is not one of \(allowed.joined(separator: ", "))"
                }
            }
            return nil
        default: return "the types differ"
        }
    }

    // MARK: Reachability

    mutating func checkReachability() {
        guard let initial = d.initialState else { return }
        let open = d.states.filter { !$0.isFinal }.map(\.name)
        func sources(_ c: CommandDefinition) -> [String] {
            c.from.contains { $0.name == "*" } ? open : c.from.map(\.name)
        }
        var reachable: Set<String> = [initial.name]
        var frontier = [initial.name]
        while let s = frontier.popLast() {
            for c in d.commands where !c.opensCase && sources(c).contains(s) {
                let next = c.to?.name ?? s
                if d.state(next) != nil, reachable.insert(next).inserted { frontier.append(next) }
            }
            for clock in d.clocks { if let move = clock.onBreach.moveTo, d.state(move) != nil, reachable.insert(move).inserted { frontier.append(move) } }
        }
        let running = clocksInStates(initial: initial.name, sources: sources)
        for s in d.states where !reachable.contains(s.name) {
            error(s.location, "state '\(s.name)' is unreachable from the initial state '\(initial.name)'",
                  hint: "add a command with `to: \(s.name)`, or remove the state")
        }
        for s in d.states where !s.isFinal && reachable.contains(s.name) {
            let leaves = d.commands.contains { !$0.opensCase && sources($0).contains(s.name) && ($0.to.map { $0.name != s.name } ?? false) }
                || d.clocks.contains { $0.onBreach.moveTo.map { $0 != s.name } ?? false }
            if !leaves {
                error(s.location, "state '\(s.name)' is a dead end: it is not final and no command leads out of it",
                      hint: "add a command `from: \(s.name)` with a `to:`, or mark it `final: true`")
            }
            let waited = s.owner != nil || running[s.name]?.values.contains(.running) == true || d.commands.contains { c in
                c.to?.name == s.name && c.clockOperations.contains { $0.kind == .start || $0.kind == .resume }
            }
            if !waited && !s.isInitial {
                warning(s.location, "cases can wait in state '\(s.name)' with no owner and no running clock",
                        hint: "give it `owner: <role>`, or start or resume a clock on the way in")
            }
        }
        for c in d.commands where !c.opensCase {
            let live = sources(c).filter { reachable.contains($0) && d.state($0)?.isFinal == false }
            if live.isEmpty && !c.from.isEmpty && c.from.allSatisfy({ d.state($0.name) != nil || $0.name == "*" }) {
                error(c.location, "command '\(c.name)' can never fire: none of its states can be reached")
            }
        }
    }

    /// Whether a clock may be running, or may be paused, while a case is in a state.
    enum ClockStatus: Hashable { case running, paused }

    /// For each state, the clocks that may be started (and not stopped) while a case is in it, and whether
    /// each may be running or paused (if it may be either, running). Follows the clock operations of the
    /// opening commands, of every command from state to state, and breaches that move a case; an
    /// over-approximation, so "not running here" is sure.
    func clocksInStates(initial: String, sources: (CommandDefinition) -> [String]) -> [String: [String: ClockStatus]] {
        func apply(_ ops: [ClockOperation], to clocks: [String: ClockStatus]) -> [String: ClockStatus] {
            var out = clocks
            for op in ops {
                switch op.kind {
                case .start, .resume: out[op.clock.name] = .running
                case .pause: if out[op.clock.name] != nil { out[op.clock.name] = .paused }
                case .stop: out[op.clock.name] = nil
                }
            }
            return out
        }
        var facts: [String: [String: ClockStatus]] = [:]
        var frontier: [String] = []
        func merge(_ clocks: [String: ClockStatus], into state: String) {
            guard d.state(state) != nil else { return }
            var current = facts[state] ?? [:]
            let isNew = facts[state] == nil
            var changed = false
            for (clock, status) in clocks where current[clock] != .running && current[clock] != status {
                current[clock] = current[clock] == nil ? status : .running
                changed = true
            }
            if changed || isNew {
                facts[state] = current
                frontier.append(state)
            }
        }
        for c in d.commands where c.opensCase { merge(apply(c.clockOperations, to: [:]), into: c.to?.name ?? initial) }
        merge([:], into: initial)
        while let s = frontier.popLast() {
            let here = facts[s] ?? [:]
            guard d.state(s)?.isFinal == false else { continue }
            for c in d.commands where !c.opensCase && sources(c).contains(s) {
                merge(apply(c.clockOperations, to: here), into: c.to?.name ?? s)
            }
            // A breach moves the case with its clocks as they are.
            for clock in d.clocks where here[clock.name] != nil {
                if let move = clock.onBreach.moveTo { merge(here, into: move) }
            }
        }
        return facts
    }
}
