import Foundation

/// Reads a workflow definition from YAML, collecting every problem it can find (not just the first)
/// as a ``Diagnostic`` with file, line and column.
public enum DefinitionParser {
    static let topKeys = ["workflow", "version", "title", "calendar", "office-hours", "catalogues", "roles", "fields", "states", "clocks", "commands", "decisions"]
    static let fieldKeys = ["type", "required", "pii", "title", "values"]
    static let stateKeys = ["initial", "final", "owner", "title"]
    static let clockKeys = ["budget", "budget-field", "on-breach"]
    static let breachKeys = ["event", "move-to", "flag", "notify"]
    static let commandKeys = ["title", "opens", "from", "to", "roles", "data", "guard", "set", "clocks", "decide", "emit", "open", "send"]
    static let guardKeys = ["if", "message"]
    static let openKeys = ["workflow", "command", "store-id-in"]
    static let sendKeys = ["command", "to-case-in", "to-cases-of", "where", "in-states"]
    static let decisionKeys = ["hit", "inputs", "outputs", "rules", "catalogue", "key"]
    static let ruleKeys = ["when", "then"]

    /// Parses the file at `path`.
    public static func parse(contentsOf path: String) -> (WorkflowDefinition?, [Diagnostic]) {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            return (nil, [Diagnostic(at: SourceLocation(file: path, line: 1, column: 1), "cannot read the file: \(error.localizedDescription)")])
        }
        return parse(text, file: path)
    }

    /// Parses definition text; `file` names it in diagnostics. Returns the definition when its shape
    /// is sound (it may still have semantic errors: see ``Linter``), and every diagnostic found.
    ///
    /// An unknown or duplicate key is reported and parsing goes on; an element (state, field, clock,
    /// command, decision table) with an unknown key anywhere in it is left out of the definition.
    public static func parse(_ text: String, file: String) -> (WorkflowDefinition?, [Diagnostic]) {
        var diagnostics: [Diagnostic] = []
        func attempt<T>(_ body: () throws(Diagnostic) -> T) -> T? {
            do { return try body() } catch { diagnostics.append(error); return nil }
        }
        guard let root = attempt({ () throws(Diagnostic) in try YAMLValue.parse(text, file: file) }) else { return (nil, diagnostics) }
        let document = root.document
        func finish(_ definition: WorkflowDefinition?) -> (WorkflowDefinition?, [Diagnostic]) {
            var seen: Set<Diagnostic> = []
            let all = (diagnostics + document.collected()).filter { !document.suppressed.contains($0) && seen.insert($0).inserted }
            return (definition, all)
        }
        /// Runs `body`; nil if it reported an unknown key (the element is then left out).
        func complete<T>(_ body: () -> T?) -> T? {
            let before = document.unknownKeyCount
            let result = body()
            return document.unknownKeyCount > before ? nil : result
        }
        guard let top = attempt({ () throws(Diagnostic) in try root.mapping("the workflow", allowed: topKeys) }) else { return finish(nil) }

        let name = attempt { () throws(Diagnostic) in
            try top.required("workflow", in: "the file", hint: "start the file with `workflow: <name>`").string("the workflow name")
        }
        let version = attempt { () throws(Diagnostic) -> Int in
            guard let v = top["version"] else { return 1 }
            let n = try v.integer("version")
            guard n >= 1 else { throw v.error("version must be 1 or more") }
            return n
        } ?? 1
        let title = attempt { () throws(Diagnostic) in try top["title"]?.string("the title") } ?? nil
        let calendar = attempt { () throws(Diagnostic) in try top["calendar"]?.string("the calendar") } ?? nil
        let catalogues = (attempt { () throws(Diagnostic) in try top["catalogues"]?.strings("catalogues") } ?? nil)?
            .map { Named(name: $0.0, location: $0.1) } ?? []
        let officeHours = attempt { () throws(Diagnostic) -> OfficeHoursSpec? in
            guard let node = top["office-hours"] else { return nil }
            var periods: [OfficeHours.Period] = []
            for (text, at) in try node.strings("office-hours") {
                guard let period = OfficeHours.Period(text) else {
                    throw Diagnostic(at: at, "'\(text)' is not a period of the day",
                                     hint: "write HH:MM-HH:MM in quotes, e.g. `office-hours: [\"08:30-12:00\", \"14:00-17:30\"]`")
                }
                periods.append(period)
            }
            return OfficeHoursSpec(periods: periods, location: node.location)
        } ?? nil

        var roles: [RoleDefinition] = []
        if let node = top["roles"] {
            if case .sequence = node.node {
                for (role, location) in attempt({ () throws(Diagnostic) in try node.strings("roles") }) ?? [] {
                    roles.append(RoleDefinition(name: role, title: nil, location: location))
                }
            } else if let map = attempt({ () throws(Diagnostic) in try node.mapping("roles") }) {
                for entry in map.entries {
                    let roleTitle = attempt { () throws(Diagnostic) in try entry.value.string("the title of role '\(entry.key)'") }
                    roles.append(RoleDefinition(name: entry.key, title: roleTitle, location: entry.keyLocation))
                }
            }
        }

        let fields = parseFields(top["fields"], what: "case field", diagnostics: &diagnostics)

        var states: [StateDefinition] = []
        if let map = attempt({ () throws(Diagnostic) in try top.required("states", in: "the workflow", hint: "list the states a case can be in").mapping("states") }) {
            for entry in map.entries {
                let parsed = complete { () -> StateDefinition? in
                    var state = StateDefinition(name: entry.key, title: nil, isInitial: false, isFinal: false, owner: nil, location: entry.keyLocation)
                    if entry.value.isNull { return state }
                    guard let attributes = attempt({ () throws(Diagnostic) in try entry.value.mapping("state '\(entry.key)'", allowed: stateKeys) }) else { return nil }
                    state.title = attempt { () throws(Diagnostic) in try attributes["title"]?.string("a title") } ?? nil
                    state.isInitial = attempt { () throws(Diagnostic) -> Bool in try attributes["initial"]?.boolean("initial") ?? false } ?? false
                    state.isFinal = attempt { () throws(Diagnostic) -> Bool in try attributes["final"]?.boolean("final") ?? false } ?? false
                    if let owner = attributes["owner"] {
                        state.owner = attempt { () throws(Diagnostic) in try owner.string("owner") }
                        state.ownerLocation = state.owner == nil ? nil : owner.location
                    }
                    return state
                }
                if let parsed { states.append(parsed) }
            }
        }

        var clocks: [ClockDefinition] = []
        if let map = attempt({ () throws(Diagnostic) in try top["clocks"]?.mapping("clocks") }) ?? nil {
            for entry in map.entries {
                if let clock = complete({ attempt { () throws(Diagnostic) in try parseClock(entry.key, entry.value, at: entry.keyLocation) } }) {
                    clocks.append(clock)
                }
            }
        }

        var commands: [CommandDefinition] = []
        if let map = attempt({ () throws(Diagnostic) in try top.required("commands", in: "the workflow", hint: "commands are how cases move").mapping("commands") }) {
            for entry in map.entries {
                if let command = complete({ parseCommand(entry.key, entry.value, at: entry.keyLocation, diagnostics: &diagnostics) }) {
                    commands.append(command)
                }
            }
        }

        var decisions: [DecisionTable] = []
        if let map = attempt({ () throws(Diagnostic) in try top["decisions"]?.mapping("decisions") }) ?? nil {
            for entry in map.entries {
                if let table = complete({ attempt { () throws(Diagnostic) in try parseDecision(entry.key, entry.value, at: entry.keyLocation) } }) {
                    decisions.append(table)
                }
            }
        }

        guard let name else { return finish(nil) }
        let definition = WorkflowDefinition(
            name: name, version: version, title: title ?? name, calendar: calendar, roles: roles, fields: fields,
            states: states, clocks: clocks, commands: commands, decisions: decisions, location: root.location,
            calendarLocation: calendar == nil ? nil : top["calendar"]?.location, catalogues: catalogues, officeHours: officeHours)
        return finish(definition)
    }

    // MARK: Fields and types

    static func parseFields(_ node: YAMLValue?, what: String, diagnostics: inout [Diagnostic]) -> [FieldDefinition] {
        guard let node else { return [] }
        let map: YAMLMapping
        do { map = try node.mapping("\(what)s") } catch { diagnostics.append(error); return [] }
        var fields: [FieldDefinition] = []
        var unclosedType = false
        for entry in map.entries {
            // In `{ a: enum(low, high) }` YAML ends the entry at the comma and reads `high)` as a field without
            // a type; the unclosed parenthesis reported for `a` explains it.
            defer { unclosedType = entry.value.isScalar && hasUnclosedParenthesis(entry.value) }
            if unclosedType && entry.value.isNull { continue }
            let before = node.document.unknownKeyCount
            do {
                let field = try parseField(entry.key, entry.value, at: entry.keyLocation, what: what)
                if node.document.unknownKeyCount == before { fields.append(field) }
            } catch {
                diagnostics.append(error)
            }
        }
        return fields
    }

    static let noEnumValuesHint = "write `type: enum(a, b)` or add `values: [a, b]`"

    /// True if the type is, or is a list of, an enum without values.
    static func hasEmptyEnum(_ type: FieldType) -> Bool {
        switch type {
        case .enumeration(let values): return values.isEmpty
        case .list(let element): return hasEmptyEnum(element)
        default: return false
        }
    }

    /// True for a scalar with more `(` than `)`, e.g. `enum(low` (cut at a comma in a flow mapping).
    static func hasUnclosedParenthesis(_ value: YAMLValue) -> Bool {
        guard case .scalar(let scalar) = value.node else { return false }
        return scalar.string.filter { $0 == "(" }.count > scalar.string.filter { $0 == ")" }.count
    }

    static func parseField(_ name: String, _ value: YAMLValue, at location: SourceLocation, what: String) throws(Diagnostic) -> FieldDefinition {
        // Guards and assignments name fields as `case.<name>` / `data.<name>`, where `-` would read as minus.
        guard let first = name.unicodeScalars.first, first == "_" || first.properties.isAlphabetic,
              name.unicodeScalars.allSatisfy({ $0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0) })
        else {
            throw Diagnostic(at: location, "\(what) name '\(name)' cannot be used in expressions",
                             hint: "use letters, digits and _ (e.g. '\(name.replacingOccurrences(of: "-", with: "_"))')")
        }
        if value.isScalar {
            // Shorthand: `name: type`. There is no room for `values:`, so `enum` and `enum()` have none.
            if value.isNull { throw value.error("\(what) '\(name)' has no type", hint: "e.g. `\(name): string`; types: \(typeNames)") }
            let type = try parseType(value.string("the type of \(what) '\(name)'"), at: value.location)
            if hasEmptyEnum(type) { throw value.error("enum field '\(name)' has no values", hint: noEnumValuesHint) }
            return FieldDefinition(name: name, type: type, required: false, pii: false, title: nil, location: location)
        }
        let attributes = try value.mapping("\(what) '\(name)'", allowed: fieldKeys, reportUnknown: false)
        // In `{ type: enum(low, high) }` YAML ends the entry at the comma and reads `high)` as a key without a
        // value. The type's unclosed parenthesis (reported by parseType) explains it; such keys are not reported.
        let unclosed = attributes["type"].map(hasUnclosedParenthesis) ?? false
        attributes.reportUnknownKeys { !(unclosed && $0.value.isNull) }
        let typeNode = try attributes.required("type", in: "\(what) '\(name)'", hint: "e.g. `type: string`; types: \(typeNames)")
        var type = try parseType(typeNode.string("a type"), at: typeNode.location)
        if let values = attributes["values"] {
            guard case .enumeration = type else { throw values.error("only an enum field takes 'values'") }
            let list = try values.strings("the values").map(\.0)
            guard !list.isEmpty else { throw values.error("an enum needs at least one value") }
            type = .enumeration(list)
        }
        if hasEmptyEnum(type) {
            throw typeNode.error("enum field '\(name)' has no values", hint: noEnumValuesHint)
        }
        return FieldDefinition(
            name: name, type: type, required: try attributes["required"]?.boolean("required") ?? false,
            pii: try attributes["pii"]?.boolean("pii") ?? false, title: try attributes["title"]?.string("a title"), location: location)
    }

    static let typeNames = "string, text, integer, money, date, datetime, boolean, enum(a, b), list(T), reference(workflow)"

    /// Parses `string`, `money`, `enum(a, b)`, `list(string)`, `reference(task-admission)`, …
    static func parseType(_ text: String, at location: SourceLocation) throws(Diagnostic) -> FieldType {
        let t = text.trimmingCharacters(in: .whitespaces)
        switch t {
        case "string": return .string
        case "text": return .text
        case "integer", "int": return .integer
        case "money": return .money
        case "date": return .date
        case "datetime": return .datetime
        case "boolean", "bool": return .boolean
        case "enum": return .enumeration([])
        default: break
        }
        func inner(_ prefix: String) -> String? {
            guard t.hasPrefix(prefix + "("), t.hasSuffix(")") else { return nil }
            return String(t.dropFirst(prefix.count + 1).dropLast()).trimmingCharacters(in: .whitespaces)
        }
        if let body = inner("enum") {
            let values = body.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            return .enumeration(values)
        }
        if let body = inner("list") { return .list(try parseType(body, at: location.advanced(by: 5))) }
        if let body = inner("reference") {
            guard !body.isEmpty else { throw Diagnostic(at: location, "reference needs a workflow name", hint: "e.g. reference(task-admission)") }
            return .reference(workflow: body)
        }
        if t.contains("(") && !t.contains(")") {
            throw Diagnostic(at: location, "unknown type '\(t)': its parenthesis is not closed",
                             hint: "inside `{ ... }` a comma ends the entry: write `type: enum, values: [a, b]`, or quote the type")
        }
        throw Diagnostic(at: location, "unknown type '\(t)'",
                         hint: Suggest.closest(t, among: ["string", "text", "integer", "money", "date", "datetime", "boolean"])
                            .map { "did you mean '\($0)'?" } ?? "types: \(typeNames)")
    }

    // MARK: Clocks

    static func parseClock(_ name: String, _ value: YAMLValue, at location: SourceLocation) throws(Diagnostic) -> ClockDefinition {
        let attributes = try value.mapping("clock '\(name)'", allowed: clockKeys)
        let budgetNode = try attributes.required("budget", in: "clock '\(name)'", hint: "e.g. `budget: 5 working days`")
        let budget = try parseBudget(budgetNode.string("a budget"), at: budgetNode.location)
        let breachNode = try attributes.required("on-breach", in: "clock '\(name)'", hint: "say what happens when the limit passes, e.g. `on-breach: { event: request.overdue }`")
        let breach = try breachNode.mapping("on-breach", allowed: breachKeys)
        let escalation = Escalation(
            event: try breach.required("event", in: "on-breach", hint: "the event recorded when the clock is breached").string("an event type"),
            moveTo: try breach["move-to"]?.string("a state"), flag: try breach["flag"]?.string("a field"),
            notify: try breach["notify"]?.string("a role"), location: breachNode.location,
            moveToLocation: breach["move-to"]?.location, flagLocation: breach["flag"]?.location, notifyLocation: breach["notify"]?.location)
        let budgetField = try attributes["budget-field"].map { node throws(Diagnostic) in Named(name: try node.string("a field"), location: node.location) }
        return ClockDefinition(name: name, budget: budget, onBreach: escalation, location: location, budgetField: budgetField)
    }

    /// Parses `5 working days`, `1 working day`, `10 calendar days`, `48 hours`.
    static func parseBudget(_ text: String, at location: SourceLocation) throws(Diagnostic) -> ClockBudgetSpec {
        let words = text.split(separator: " ").map(String.init)
        guard let first = words.first, let amount = Int(first), amount > 0 else {
            throw Diagnostic(at: location, "a budget starts with a positive whole number, not '\(text)'", hint: "e.g. `5 working days`")
        }
        let unit = words.dropFirst().joined(separator: " ")
        switch unit {
        case "working days", "working day", "工作日": return ClockBudgetSpec(amount: amount, unit: .workingDays)
        case "calendar days", "calendar day", "days", "day", "自然日": return ClockBudgetSpec(amount: amount, unit: .calendarDays)
        case "hours", "hour", "小时": return ClockBudgetSpec(amount: amount, unit: .hours)
        default:
            throw Diagnostic(at: location.advanced(by: first.count + 1), "unknown budget unit '\(unit)'",
                             hint: "use working days, calendar days or hours")
        }
    }

    // MARK: Commands

    static func parseCommand(_ name: String, _ value: YAMLValue, at location: SourceLocation, diagnostics: inout [Diagnostic]) -> CommandDefinition? {
        var local: [Diagnostic] = []
        func attempt<T>(_ body: () throws(Diagnostic) -> T) -> T? {
            do { return try body() } catch { local.append(error); return nil }
        }
        defer { diagnostics += local }
        guard let attributes = attempt({ () throws(Diagnostic) in try value.mapping("command '\(name)'", allowed: commandKeys) }) else { return nil }
        func names(_ key: String) -> [Named] {
            guard let node = attributes[key] else { return [] }
            return (attempt { () throws(Diagnostic) in try node.strings(key) } ?? []).map { Named(name: $0.0, location: $0.1) }
        }
        var command = CommandDefinition(
            name: name, title: attempt { () throws(Diagnostic) in try attributes["title"]?.string("a title") } ?? nil,
            from: names("from"), to: nil, roles: names("roles"), data: [], guards: [], assignments: [], clockOperations: [],
            decide: names("decide"), effects: [], opensCase: attempt { () throws(Diagnostic) -> Bool in try attributes["opens"]?.boolean("opens") ?? false } ?? false,
            location: location)
        if let to = attributes["to"], let state = attempt({ () throws(Diagnostic) in try to.string("to") }) {
            command.to = Named(name: state, location: to.location)
        }
        command.data = parseFields(attributes["data"], what: "data field", diagnostics: &local)
        if let node = attributes["guard"] {
            for item in attempt({ () throws(Diagnostic) in try node.list("guard") }) ?? [] {
                if item.isScalar {
                    if let source = attempt({ () throws(Diagnostic) in try item.string("a guard") }) {
                        command.guards.append(Guard(source: source, location: item.contentLocation, message: nil, quoteLocation: item.quoteLocation))
                    }
                } else if let g = attempt({ () throws(Diagnostic) in try item.mapping("a guard", allowed: guardKeys) }) {
                    if let condition = attempt({ () throws(Diagnostic) in try g.required("if", in: "a guard", hint: "write `if: <expression>`") }),
                       let source = attempt({ () throws(Diagnostic) in try condition.string("a guard") }) {
                        command.guards.append(Guard(source: source, location: condition.contentLocation,
                                                    message: attempt { () throws(Diagnostic) in try g["message"]?.string("a message") } ?? nil,
                                                    quoteLocation: condition.quoteLocation))
                    }
                }
            }
        }
        if let map = attempt({ () throws(Diagnostic) in try attributes["set"]?.mapping("set") }) ?? nil {
            for entry in map.entries {
                if let source = attempt({ () throws(Diagnostic) in try entry.value.string("the value of '\(entry.key)'") }) {
                    command.assignments.append(Assignment(field: Named(name: entry.key, location: entry.keyLocation), source: source, location: entry.value.contentLocation))
                }
            }
        }
        if let map = attempt({ () throws(Diagnostic) in try attributes["clocks"]?.mapping("clocks") }) ?? nil {
            for entry in map.entries {
                guard let op = attempt({ () throws(Diagnostic) in try entry.value.string("a clock operation") }) else { continue }
                guard let kind = ClockOperation.Kind(rawValue: op) else {
                    local.append(entry.value.error("unknown clock operation '\(op)'", hint: "use start, pause, resume or stop"))
                    continue
                }
                command.clockOperations.append(ClockOperation(clock: Named(name: entry.key, location: entry.keyLocation), kind: kind))
            }
        }
        if let node = attributes["emit"] {
            let types: [(String, SourceLocation)] = attempt { () throws(Diagnostic) in try node.strings("emit") } ?? []
            for (type, at) in types { command.effects.append(Effect.emit(type: type, location: at)) }
        }
        if let node = attributes["open"] {
            for item in attempt({ () throws(Diagnostic) in try node.list("open") }) ?? [] {
                if let effect = attempt({ () throws(Diagnostic) -> Effect in
                    let m = try item.mapping("open", allowed: openKeys)
                    let workflow = try m.required("workflow", in: "open", hint: "the workflow of the case to open")
                    let storeIn = try m["store-id-in"].map { node throws(Diagnostic) in Named(name: try node.string("a field"), location: node.location) }
                    return .open(workflow: Named(name: try workflow.string("a workflow"), location: workflow.location),
                                 command: try m["command"]?.string("a command") ?? "open", storeIdIn: storeIn, location: item.location)
                }) { command.effects.append(effect) }
            }
        }
        if let node = attributes["send"] {
            for item in attempt({ () throws(Diagnostic) in try node.list("send") }) ?? [] {
                if let effect = attempt({ () throws(Diagnostic) -> Effect in try parseSend(item) }) { command.effects.append(effect) }
            }
        }
        return command
    }

    /// `{ command: c, to-case-in: field }`, or `{ command: c, to-cases-of: workflow, where: { field: expression, … },
    /// in-states: [s, …] }`.
    static func parseSend(_ item: YAMLValue) throws(Diagnostic) -> Effect {
        let m = try item.mapping("send", allowed: sendKeys)
        let commandNode = try m.required("command", in: "send")
        let commandName = try commandNode.string("a command")
        let hasSingle = m.entries.contains { $0.key == "to-case-in" }
        let many = m.entries.first { $0.key == "to-cases-of" }
        if hasSingle, let many {
            throw Diagnostic(at: many.keyLocation, "send has both 'to-case-in' and 'to-cases-of'",
                             hint: "send to the one case in a reference field (`to-case-in`), or to every matching case of a workflow (`to-cases-of` with `where`), not both")
        }
        guard let many else {
            for other in m.entries where ["where", "in-states"].contains(other.key) {
                throw Diagnostic(at: other.keyLocation, "'\(other.key)' selects cases for 'to-cases-of'",
                                 hint: "add `to-cases-of: <workflow>`, or remove `\(other.key)` (`to-case-in` names one case)")
            }
            let target = try m.required("to-case-in", in: "send", hint: "a reference field holding the other case's id, or `to-cases-of: <workflow>` with `where`")
            return .send(command: commandName, toCaseIn: Named(name: try target.string("a field"), location: target.location), location: item.location)
        }
        let workflow = Named(name: try many.value.string("a workflow"), location: many.value.location)
        let whereNode = try m.required("where", in: "send to-cases-of",
                                       hint: "the fields the cases must match, e.g. `where: { department: case.department }`")
        var matches: [Assignment] = []
        for entry in try whereNode.mapping("where").entries {
            let source = try entry.value.string("the value of '\(entry.key)'")
            matches.append(Assignment(field: Named(name: entry.key, location: entry.keyLocation), source: source, location: entry.value.contentLocation))
        }
        guard !matches.isEmpty else {
            throw whereNode.error("'where' names no field, so every case of '\(workflow.name)' would match",
                                  hint: "name the fields the cases must match, e.g. `where: { department: case.department }`")
        }
        let inStates = try m["in-states"].map { node throws(Diagnostic) in
            try node.strings("in-states").map { Named(name: $0.0, location: $0.1) }
        } ?? []
        return .sendToMatching(CaseSelection(command: Named(name: commandName, location: commandNode.location), workflow: workflow,
                                             matches: matches, inStates: inStates, location: item.location))
    }

    // MARK: Decision tables

    static func parseDecision(_ name: String, _ value: YAMLValue, at location: SourceLocation) throws(Diagnostic) -> DecisionTable {
        let attributes = try value.mapping("decision '\(name)'", allowed: decisionKeys)
        if attributes["catalogue"] != nil { return try parseCatalogueDecision(name, attributes, at: location) }
        if let key = attributes.entries.first(where: { $0.key == "key" }) {
            throw Diagnostic(at: key.keyLocation, "'key' belongs to a decision table read from a catalogue", hint: "add `catalogue: <name>`, or remove `key`")
        }
        let hitNode = try attributes.required("hit", in: "decision '\(name)'", hint: "`hit: unique` or `hit: first`")
        let hitText = try hitNode.string("a hit policy")
        guard let hit = DecisionTable.HitPolicy(rawValue: hitText) else {
            throw hitNode.error("unknown hit policy '\(hitText)'", hint: "use unique (rules must not overlap) or first (first match wins)")
        }
        let inputs = try attributes.required("inputs", in: "decision '\(name)'").list("inputs").map { node throws(Diagnostic) in
            Guard(source: try node.string("an input"), location: node.contentLocation, message: nil, quoteLocation: node.quoteLocation)
        }
        let outputs = try attributes.required("outputs", in: "decision '\(name)'").strings("outputs").map { Named(name: $0.0, location: $0.1) }
        var rules: [DecisionRule] = []
        for row in try attributes.required("rules", in: "decision '\(name)'").list("rules") {
            let m = try row.mapping("a rule", allowed: ruleKeys)
            let when = try m.required("when", in: "a rule", hint: "one test per input, `-` for any").list("when")
            let then = try m.required("then", in: "a rule", hint: "one value per output").list("then")
            guard when.count == inputs.count else {
                throw row.error("this rule has \(when.count) tests for \(inputs.count) inputs", hint: "write one test per input, `-` for any")
            }
            guard then.count == outputs.count else {
                throw row.error("this rule has \(then.count) values for \(outputs.count) outputs")
            }
            rules.append(DecisionRule(
                tests: try when.map { cell throws(Diagnostic) in try parseTest(cell) },
                outputs: try then.map { cell throws(Diagnostic) in (try cell.string("an output value"), cell.location) },
                location: row.location))
        }
        return DecisionTable(name: name, hitPolicy: hit, inputs: inputs, outputs: outputs, rules: rules, location: location)
    }

    /// `catalogue: service-items`, `key: data.item`, `outputs: [a, b]` or `outputs: { field: column }`.
    static func parseCatalogueDecision(_ name: String, _ attributes: YAMLMapping, at location: SourceLocation) throws(Diagnostic) -> DecisionTable {
        for other in attributes.entries where ["hit", "inputs", "rules"].contains(other.key) {
            throw Diagnostic(at: other.keyLocation, "decision '\(name)' takes its rules from a catalogue, so it has no '\(other.key)'",
                             hint: "remove `\(other.key)`: the item whose id is the `key` gives the outputs")
        }
        let catalogueNode = try attributes.required("catalogue", in: "decision '\(name)'")
        let catalogue = Named(name: try catalogueNode.string("a catalogue"), location: catalogueNode.location)
        let keyNode = try attributes.required("key", in: "decision '\(name)'", hint: "an expression whose value is an item id, e.g. `key: data.item`")
        let key = Guard(source: try keyNode.string("the key"), location: keyNode.contentLocation, message: nil, quoteLocation: keyNode.quoteLocation)
        let outputsNode = try attributes.required("outputs", in: "decision '\(name)'",
                                                  hint: "the case fields to fill, e.g. `outputs: { item_title: title, limit_days: limit_days }`")
        var outputs: [Named] = [], columns: [Named] = []
        if case .mapping = outputsNode.node {
            for entry in try outputsNode.mapping("outputs").entries {
                outputs.append(Named(name: entry.key, location: entry.keyLocation))
                columns.append(Named(name: try entry.value.string("a column"), location: entry.value.location))
            }
        } else {
            for (field, at) in try outputsNode.strings("outputs") {
                outputs.append(Named(name: field, location: at))
                columns.append(Named(name: field, location: at))
            }
        }
        guard !outputs.isEmpty else { throw outputsNode.error("decision '\(name)' has no outputs", hint: "name the case fields to fill") }
        return DecisionTable(name: name, hitPolicy: .unique, inputs: [key], outputs: outputs, rules: [], location: location,
                             catalogue: CatalogueLookup(catalogue: catalogue, columns: columns))
    }

    /// Parses a decision cell: `-`, a literal, a list of literals, `< 5`, `>= 10`, `[1..10]`.
    static func parseTest(_ cell: YAMLValue) throws(Diagnostic) -> InputTest {
        if case .sequence = cell.node {
            let items = try cell.strings("a test")
            // `[[1..10]]` unquoted: YAML reads the inner brackets as a list holding `1..10`. Read it as the range.
            if items.count == 1, items[0].0.contains("..") {
                let text = "[\(items[0].0)]"
                guard let range = parseRange(text) else {
                    throw cell.error("'\(text)' is not a range", hint: "write [low..high] with whole numbers, ( or ) to exclude an end")
                }
                return range
            }
            if let (item, at) = items.first(where: { $0.0.contains("..") }) {
                throw Diagnostic(at: at, "'\(item)' in a list of values is not a range",
                                 hint: "a range is one test: write it in quotes, e.g. \"[1..10]\"")
            }
            return .oneOf(items.map(\.0))
        }
        let text = try cell.string("a test").trimmingCharacters(in: .whitespaces)
        if text == "-" || text.isEmpty { return .any }
        for (op, build) in [
            ("<=", { (n: Int64) in InputTest.range(lower: nil, lowerInclusive: false, upper: n, upperInclusive: true) }),
            (">=", { (n: Int64) in InputTest.range(lower: n, lowerInclusive: true, upper: nil, upperInclusive: false) }),
            ("<", { (n: Int64) in InputTest.range(lower: nil, lowerInclusive: false, upper: n, upperInclusive: false) }),
            (">", { (n: Int64) in InputTest.range(lower: n, lowerInclusive: false, upper: nil, upperInclusive: false) }),
        ] where text.hasPrefix(op) {
            guard let n = Int64(text.dropFirst(op.count).trimmingCharacters(in: .whitespaces)) else {
                throw cell.error("'\(text)' compares with something that is not a whole number")
            }
            return build(n)
        }
        if (text.hasPrefix("[") || text.hasPrefix("(")) && (text.hasSuffix("]") || text.hasSuffix(")")), text.contains("..") {
            guard let range = parseRange(text) else {
                throw cell.error("'\(text)' is not a range", hint: "write [low..high] with whole numbers, ( or ) to exclude an end")
            }
            return range
        }
        return .oneOf([text])
    }

    /// `[1..10]`, `(1..10]`, …: nil unless both ends are whole numbers, low ≤ high.
    static func parseRange(_ text: String) -> InputTest? {
        let body = text.dropFirst().dropLast()
        let parts = body.components(separatedBy: "..").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let lo = Int64(parts[0]), let hi = Int64(parts[1]), lo <= hi else { return nil }
        return .range(lower: lo, lowerInclusive: text.hasPrefix("["), upper: hi, upperInclusive: text.hasSuffix("]"))
    }
}
