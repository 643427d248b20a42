import Foundation
import Testing

@testable import CasebookWorkflow

/// The workflow-definition YAML format: every construct parses into the model, and every problem is
/// reported with its exact message, line, column and hint.
@Suite struct DefinitionParserTests {
    typealias Loc = CasebookWorkflow.SourceLocation

    static let file = "wf.yaml"

    // MARK: Helpers

    func at(_ line: Int, _ column: Int) -> Loc { Loc(file: Self.file, line: line, column: column) }

    /// `severity line:column message | hint: …`, one per diagnostic, sorted by position.
    static func render(_ diagnostics: [Diagnostic]) -> [String] {
        diagnostics.sorted { $0.location < $1.location }.map { d in
            "\(d.severity.rawValue) \(d.location.line):\(d.location.column) \(d.message)" + (d.hint.map { " | hint: \($0)" } ?? "")
        }
    }

    /// An effect with the positions of everything in it (``Named`` does not print its location).
    static func describe(_ effect: Effect) -> String {
        func pos(_ l: Loc) -> String { "\(l.line):\(l.column)" }
        switch effect {
        case let .emit(type, location): return "emit \(type) @\(pos(location))"
        case let .open(workflow, command, store, location):
            return "open \(workflow.name)@\(pos(workflow.location)) command \(command)"
                + (store.map { " store-id-in \($0.name)@\(pos($0.location))" } ?? "") + " @\(pos(location))"
        case let .send(command, target, location):
            return "send \(command) to-case-in \(target.name)@\(pos(target.location)) @\(pos(location))"
        case .sendToMatching(let s):
            return "send \(s.command.name)@\(pos(s.command.location)) to-cases-of \(s.workflow.name)@\(pos(s.workflow.location)) where "
                + s.matches.map { "\($0.field.name)@\(pos($0.field.location))=\($0.source)@\(pos($0.location))" }.joined(separator: ",")
                + " in-states " + s.inStates.map { "\($0.name)@\(pos($0.location))" }.joined(separator: ",") + " @\(pos(s.location))"
        }
    }

    func problems(_ yaml: String) -> [String] {
        Self.render(DefinitionParser.parse(yaml, file: Self.file).1)
    }

    /// Parses `yaml`, expecting no diagnostic.
    func definition(_ yaml: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> WorkflowDefinition {
        let (definition, diagnostics) = DefinitionParser.parse(yaml, file: Self.file)
        #expect(Self.render(diagnostics) == [], sourceLocation: sourceLocation)
        return try #require(definition, sourceLocation: sourceLocation)
    }

    /// A minimal definition around some extra top-level text (appended from line 4 on).
    func minimal(_ extra: String) -> String {
        "workflow: x\nstates: { s: }\ncommands: {}\n" + extra
    }

    // MARK: Header

    @Test func header() throws {
        let d = try definition("""
            workflow: permit
            version: 3
            title: 许可 Permit
            calendar: cn
            states: { s: }
            commands: {}
            """)
        #expect(d.name == "permit")
        #expect(d.version == 3)
        #expect(d.title == "许可 Permit")
        #expect(d.calendar == "cn")
        #expect(d.location == at(1, 1))
        #expect(d.roles.isEmpty && d.fields.isEmpty && d.clocks.isEmpty && d.decisions.isEmpty)
    }

    @Test func headerDefaults() throws {
        let d = try definition(minimal(""))
        #expect(d.version == 1)
        #expect(d.title == "x")
        #expect(d.calendar == nil)
    }

    // MARK: Roles

    @Test func rolesAsList() throws {
        let d = try definition(minimal("roles: [clerk, officer]\n"))
        #expect(d.roles == [
            RoleDefinition(name: "clerk", title: nil, location: at(4, 9)),
            RoleDefinition(name: "officer", title: nil, location: at(4, 16)),
        ])
    }

    @Test func rolesAsBlockList() throws {
        let d = try definition(minimal("roles:\n  - clerk\n  - officer\n"))
        #expect(d.roles.map(\.name) == ["clerk", "officer"])
        #expect(d.roles.map(\.location) == [at(5, 5), at(6, 5)])
    }

    @Test func rolesAsMapping() throws {
        let d = try definition(minimal("""
            roles:
              counter: 前台受理 Counter staff
              back-office: Back office
            """))
        #expect(d.roles == [
            RoleDefinition(name: "counter", title: "前台受理 Counter staff", location: at(5, 3)),
            RoleDefinition(name: "back-office", title: "Back office", location: at(6, 3)),
        ])
    }

    // MARK: Fields and types

    @Test func fieldShorthandEveryType() throws {
        let d = try definition(minimal("""
            fields:
              a: string
              b: text
              c: integer
              d: int
              e: money
              f: date
              g: datetime
              h: boolean
              i: bool
              j: enum(low, high)
              k: list(string)
              l: reference(task-admission)
              m: "enum(a, b, c)"
              n: list(enum(x, y))
              o: list(list(integer))
              p: list(reference(task-admission))
            """))
        let expected: [(String, FieldType)] = [
            ("a", .string), ("b", .text), ("c", .integer), ("d", .integer), ("e", .money), ("f", .date),
            ("g", .datetime), ("h", .boolean), ("i", .boolean), ("j", .enumeration(["low", "high"])),
            ("k", .list(.string)), ("l", .reference(workflow: "task-admission")), ("m", .enumeration(["a", "b", "c"])),
            ("n", .list(.enumeration(["x", "y"]))), ("o", .list(.list(.integer))), ("p", .list(.reference(workflow: "task-admission"))),
        ]
        #expect(d.fields.map(\.name) == expected.map(\.0))
        #expect(d.fields.map(\.type) == expected.map(\.1))
        #expect(d.fields.allSatisfy { !$0.required && !$0.pii && $0.title == nil })
        #expect(d.fields.map(\.location) == (5...20).map { at($0, 3) })
    }

    @Test func fieldLongForm() throws {
        let d = try definition(minimal("""
            fields:
              applicant: { type: string, required: true, pii: true, title: 申请人 Applicant }
              rating: { type: enum, values: [satisfied, dissatisfied], title: 满意度 }
              level:
                type: enum(low, high)
                required: false
                pii: false
              tags: { type: list(string) }
              parent: { type: reference(task-admission), required: yes }
            """))
        #expect(d.fields == [
            FieldDefinition(name: "applicant", type: .string, required: true, pii: true, title: "申请人 Applicant", location: at(5, 3)),
            FieldDefinition(name: "rating", type: .enumeration(["satisfied", "dissatisfied"]), required: false, pii: false,
                            title: "满意度", location: at(6, 3)),
            FieldDefinition(name: "level", type: .enumeration(["low", "high"]), required: false, pii: false, title: nil, location: at(7, 3)),
            FieldDefinition(name: "tags", type: .list(.string), required: false, pii: false, title: nil, location: at(11, 3)),
            FieldDefinition(name: "parent", type: .reference(workflow: "task-admission"), required: true, pii: false, title: nil,
                            location: at(12, 3)),
        ])
    }

    // MARK: States

    @Test func states() throws {
        let d = try definition("""
            workflow: x
            states:
              received: { initial: true, owner: counter, title: 已受理 Received }
              working:
              parked: ~
              idle: null
              closed:
                final: true
                title: 已归档
            commands: {}
            """)
        #expect(d.states == [
            StateDefinition(name: "received", title: "已受理 Received", isInitial: true, isFinal: false, owner: "counter", location: at(3, 3)),
            StateDefinition(name: "working", title: nil, isInitial: false, isFinal: false, owner: nil, location: at(4, 3)),
            StateDefinition(name: "parked", title: nil, isInitial: false, isFinal: false, owner: nil, location: at(5, 3)),
            StateDefinition(name: "idle", title: nil, isInitial: false, isFinal: false, owner: nil, location: at(6, 3)),
            StateDefinition(name: "closed", title: "已归档", isInitial: false, isFinal: true, owner: nil, location: at(7, 3)),
        ])
        #expect(d.initialState?.name == "received")
        #expect(d.state("closed")?.isFinal == true)
        #expect(d.state("nowhere") == nil)
    }

    // MARK: Clocks

    static let budgets: [(String, Int, ClockBudgetSpec.Unit)] = [
        ("5 working days", 5, .workingDays), ("1 working day", 1, .workingDays), ("5 工作日", 5, .workingDays),
        ("10 calendar days", 10, .calendarDays), ("1 calendar day", 1, .calendarDays), ("3 days", 3, .calendarDays),
        ("1 day", 1, .calendarDays), ("7 自然日", 7, .calendarDays),
        ("48 hours", 48, .hours), ("1 hour", 1, .hours), ("24 小时", 24, .hours),
    ]

    @Test(arguments: budgets)
    func clockBudgetUnits(text: String, amount: Int, unit: ClockBudgetSpec.Unit) throws {
        let d = try definition(minimal("clocks:\n  k: { budget: \(text), on-breach: { event: e } }\n"))
        #expect(d.clocks.first?.budget == ClockBudgetSpec(amount: amount, unit: unit))
    }

    @Test func budgetDescriptions() {
        #expect(ClockBudgetSpec(amount: 5, unit: .workingDays).description == "5 working days")
        #expect(ClockBudgetSpec(amount: 1, unit: .workingDays).description == "1 working day")
        #expect(ClockBudgetSpec(amount: 1, unit: .calendarDays).description == "1 calendar day")
        #expect(ClockBudgetSpec(amount: 48, unit: .hours).description == "48 hours")
        #expect(ClockBudgetSpec(amount: 1, unit: .hours).description == "1 hour")
    }

    @Test func clocksWithEscalations() throws {
        let d = try definition(minimal("""
            clocks:
              completion:
                budget: 5 working days
                on-breach: { event: request.overdue, move-to: s, flag: overdue, notify: supervisor }
              reply:
                budget: 48 hours
                on-breach:
                  event: request.unanswered
            """))
        #expect(d.clocks == [
            ClockDefinition(
                name: "completion", budget: ClockBudgetSpec(amount: 5, unit: .workingDays),
                onBreach: Escalation(event: "request.overdue", moveTo: "s", flag: "overdue", notify: "supervisor", location: at(7, 16)),
                location: at(5, 3)),
            ClockDefinition(
                name: "reply", budget: ClockBudgetSpec(amount: 48, unit: .hours),
                onBreach: Escalation(event: "request.unanswered", moveTo: nil, flag: nil, notify: nil, location: at(11, 7)),
                location: at(8, 3)),
        ])
        #expect(d.clock("reply")?.budget.unit == .hours)
    }

    // MARK: Commands

    @Test func commandWithEveryKey() throws {
        let d = try definition("""
            workflow: x
            states: { s: { initial: true }, t: }
            commands:
              open:
                title: 开 Open
                opens: true
                roles: clerk
                data:
                  name: string
                  amount: { type: money, required: true }
                guard: data.amount > 0 yuan
                set: { name: data.name, amount: data.amount }
                clocks: { c1: start, c2: pause, c3: resume, c4: stop }
                decide: triage
                emit: opened
                open: [{ workflow: task-admission, command: admit, store-id-in: parent }]
                send: [{ command: withdraw, to-case-in: parent }]
              work:
                from: '*'
                to: t
                roles: [clerk, officer]
                guard:
                  - case.count > 0
                  - { if: case.flag, message: 须标记 must be flagged }
                  - if: case.flag2
                    message: second
                  - { if: case.flag3 }
                decide: [triage, triage2]
                emit: [a.b, c.d]
                open:
                  - { workflow: task-admission }
                  - workflow: other
                    command: start
                send:
                  - command: withdraw
                    to-case-in: parent
              stay:
                from: [s, t]
                roles: [clerk]
            """)
        let open = try #require(d.command("open"))
        #expect(open.name == "open")
        #expect(open.title == "开 Open")
        #expect(open.opensCase)
        #expect(open.from == [])
        #expect(open.to == nil)
        #expect(open.roles == [Named(name: "clerk", location: at(7, 12))])
        #expect(open.data == [
            FieldDefinition(name: "name", type: .string, required: false, pii: false, title: nil, location: at(9, 7)),
            FieldDefinition(name: "amount", type: .money, required: true, pii: false, title: nil, location: at(10, 7)),
        ])
        #expect(open.guards == [Guard(source: "data.amount > 0 yuan", location: at(11, 12), message: nil)])
        #expect(open.assignments == [
            Assignment(field: Named(name: "name", location: at(12, 12)), source: "data.name", location: at(12, 18)),
            Assignment(field: Named(name: "amount", location: at(12, 29)), source: "data.amount", location: at(12, 37)),
        ])
        #expect(open.clockOperations == [
            ClockOperation(clock: Named(name: "c1", location: at(13, 15)), kind: .start),
            ClockOperation(clock: Named(name: "c2", location: at(13, 26)), kind: .pause),
            ClockOperation(clock: Named(name: "c3", location: at(13, 37)), kind: .resume),
            ClockOperation(clock: Named(name: "c4", location: at(13, 49)), kind: .stop),
        ])
        #expect(open.decide == [Named(name: "triage", location: at(14, 13))])
        #expect(open.effects.map(Self.describe) == [
            "emit opened @15:11",
            "open task-admission@16:24 command admit store-id-in parent@16:69 @16:12",
            "send withdraw to-case-in parent@17:45 @17:12",
        ])
        #expect(open.location == at(4, 3))

        let work = try #require(d.command("work"))
        #expect(!work.opensCase)
        #expect(work.title == nil)
        #expect(work.from == [Named(name: "*", location: at(19, 11))])
        #expect(work.to == Named(name: "t", location: at(20, 9)))
        #expect(work.roles.map(\.name) == ["clerk", "officer"])
        #expect(work.guards == [
            Guard(source: "case.count > 0", location: at(23, 9), message: nil),
            Guard(source: "case.flag", location: at(24, 15), message: "须标记 must be flagged"),
            Guard(source: "case.flag2", location: at(25, 13), message: "second"),
            Guard(source: "case.flag3", location: at(27, 15), message: nil),
        ])
        #expect(work.decide.map(\.name) == ["triage", "triage2"])
        #expect(work.effects.map(Self.describe) == [
            "emit a.b @29:12",
            "emit c.d @29:17",
            "open task-admission@31:21 command open @31:9",
            "open other@32:19 command start @32:9",
            "send withdraw to-case-in parent@36:21 @35:9",
        ])

        let stay = try #require(d.command("stay"))
        #expect(stay.from.map(\.name) == ["s", "t"])
        #expect(stay.to == nil)
        #expect(stay.data.isEmpty && stay.guards.isEmpty && stay.assignments.isEmpty && stay.clockOperations.isEmpty)
        #expect(stay.effects.isEmpty && stay.decide.isEmpty)
        #expect(d.commands.map(\.name) == ["open", "work", "stay"])
    }

    @Test func setAcceptsNumbersAndBooleans() throws {
        let d = try definition("""
            workflow: x
            states: { s: }
            commands:
              c:
                set: { notices: 0, overdue: false, rate: "1.5 yuan" }
            """)
        #expect(d.commands[0].assignments.map(\.source) == ["0", "false", "1.5 yuan"])
        #expect(d.commands[0].assignments.map(\.field.name) == ["notices", "overdue", "rate"])
    }

    /// The schema allows `guard: { if, message }`, `open: { … }` and `send: { … }` as a single item; so must the parser.
    @Test func singleGuardOpenAndSendMappings() throws {
        let d = try definition("""
            workflow: x
            states: { s: }
            commands:
              c:
                guard: { if: case.flag, message: one }
                open: { workflow: task-admission, store-id-in: parent }
                send: { command: withdraw, to-case-in: parent }
            """)
        let c = try #require(d.commands.first)
        #expect(c.guards == [Guard(source: "case.flag", location: at(5, 18), message: "one")])
        #expect(c.effects.map(Self.describe) == [
            "open task-admission@6:23 command open store-id-in parent@6:52 @6:11",
            "send withdraw to-case-in parent@7:44 @7:11",
        ])
    }

    /// `send … to-cases-of` (every matching case of a workflow), as a block or flow mapping, beside `to-case-in`.
    @Test func sendToMatchingCases() throws {
        let d = try definition("""
            workflow: x
            states: { s: }
            commands:
              c:
                send:
                  - command: withdraw
                    to-cases-of: task-admission
                    where: { department: case.department, community: "case.community" }
                    in-states: [admitted, filed]
                  - { command: withdraw, to-case-in: parent }
                  - { command: close, to-cases-of: x, where: { owner: data.owner } }
            """)
        let effects = try #require(d.commands.first).effects.map(Self.describe)
        #expect(effects == [
            "send withdraw@6:18 to-cases-of task-admission@7:22 where department@8:18=case.department@8:30,community@8:47=case.community@8:59"
                + " in-states admitted@9:21,filed@9:31 @6:9",
            "send withdraw to-case-in parent@10:42 @10:9",
            "send close@11:20 to-cases-of x@11:40 where owner@11:52=data.owner@11:59 in-states  @11:9",
        ], "\(effects)")
    }

    @Test func sendToMatchingCasesMistakesArePointedAt() {
        func send(_ body: String) -> [String] { problems("workflow: x\nstates: { s: }\ncommands:\n  c:\n    send: \(body)\n") }
        #expect(send("{ command: w, to-case-in: p, to-cases-of: y, where: { a: case.a } }") == [
            "error 5:40 send has both 'to-case-in' and 'to-cases-of' | hint: send to the one case in a reference field (`to-case-in`), or to every matching case of a workflow (`to-cases-of` with `where`), not both",
        ])
        #expect(send("{ command: w, to-cases-of: y }") == [
            "error 5:11 send to-cases-of has no 'where' | hint: the fields the cases must match, e.g. `where: { department: case.department }`",
        ])
        #expect(send("{ command: w, to-cases-of: y, where: {} }") == [
            "error 5:48 'where' names no field, so every case of 'y' would match | hint: name the fields the cases must match, e.g. `where: { department: case.department }`",
        ])
        #expect(send("{ command: w, to-case-in: p, in-states: [a] }") == [
            "error 5:40 'in-states' selects cases for 'to-cases-of' | hint: add `to-cases-of: <workflow>`, or remove `in-states` (`to-case-in` names one case)",
        ])
        #expect(send("{ command: w }") == [
            "error 5:11 send has no 'to-case-in' | hint: a reference field holding the other case's id, or `to-cases-of: <workflow>` with `where`",
        ])
    }

    // MARK: Decision tables

    @Test func decisionTableEveryCellForm() throws {
        let d = try definition(minimal("""
            decisions:
              triage:
                hit: unique
                inputs: [case.count, case.level]
                outputs: [level, note]
                rules:
                  - { when: ["-", low], then: [high, a] }
                  - when: [[a, b], "< 5"]
                    then: [low, b]
                  - when: [">= 10", "[1..10]"]
                    then: [low, c]
                  - when: ["(1..10]", "[1..10)"]
                    then: [low, d]
                  - when: ["<= 3", "> 4"]
                    then: [low, e]
                  - when: [true, 7]
                    then: [low, f]
                  - when: ["(1..10)", "[-10..-1]"]
                    then: [low, g]
                  - when:
                      - < 5
                      - (1..10]
                    then:
                      - low
                      - h
                  - when: ["", "-"]
                    then: [low, i]
              simple:
                hit: first
                inputs: case.count
                outputs: level
                rules:
                  - { when: -, then: low }
            """))
        let triage = try #require(d.decision("triage"))
        #expect(triage.name == "triage")
        #expect(triage.hitPolicy == .unique)
        #expect(triage.location == at(5, 3))
        #expect(triage.inputs == [Guard(source: "case.count", location: at(7, 14), message: nil),
                                  Guard(source: "case.level", location: at(7, 26), message: nil)])
        #expect(triage.outputs == [Named(name: "level", location: at(8, 15)), Named(name: "note", location: at(8, 22))])
        func r(_ lower: Int64?, _ li: Bool, _ upper: Int64?, _ ui: Bool) -> InputTest {
            .range(lower: lower, lowerInclusive: li, upper: upper, upperInclusive: ui)
        }
        #expect(triage.rules.map(\.tests) == [
            [.any, .oneOf(["low"])],
            [.oneOf(["a", "b"]), r(nil, false, 5, false)],
            [r(10, true, nil, false), r(1, true, 10, true)],
            [r(1, false, 10, true), r(1, true, 10, false)],
            [r(nil, false, 3, true), r(4, false, nil, false)],
            [.oneOf(["true"]), .oneOf(["7"])],
            [r(1, false, 10, false), r(-10, true, -1, true)],
            [r(nil, false, 5, false), r(1, false, 10, true)],
            [.any, .any],
        ])
        #expect(triage.rules.map { $0.outputs.map(\.0) } == [
            ["high", "a"], ["low", "b"], ["low", "c"], ["low", "d"], ["low", "e"], ["low", "f"], ["low", "g"], ["low", "h"], ["low", "i"],
        ])
        #expect(triage.rules[0].outputs.map(\.1) == [at(10, 36), at(10, 42)])
        #expect(triage.rules[7].outputs.map(\.1) == [at(27, 13), at(28, 13)])
        #expect(triage.rules.map(\.location.line) == [10, 11, 13, 15, 17, 19, 21, 23, 29])
        #expect(triage.rules[1].location == at(11, 9))

        let simple = try #require(d.decision("simple"))
        #expect(simple.hitPolicy == .first)
        #expect(simple.inputs.map(\.source) == ["case.count"])
        #expect(simple.outputs.map(\.name) == ["level"])
        #expect(simple.rules.map(\.tests) == [[.any]])
        #expect(simple.rules.map { $0.outputs.map(\.0) } == [["low"]])
    }

    @Test func inputTestDescriptions() {
        #expect(InputTest.any.description == "-")
        #expect(InputTest.oneOf(["a"]).description == "a")
        #expect(InputTest.oneOf(["a", "b"]).description == "[a, b]")
        #expect(InputTest.range(lower: nil, lowerInclusive: false, upper: 5, upperInclusive: false).description == "(-∞..5)")
        #expect(InputTest.range(lower: 10, lowerInclusive: true, upper: nil, upperInclusive: false).description == "[10..+∞)")
        #expect(InputTest.range(lower: 1, lowerInclusive: false, upper: 10, upperInclusive: true).description == "(1..10]")
    }

    /// `[1..10]` written without quotes in a flow list is a YAML list holding `1..10`: it must not silently
    /// become the literal "1..10" (which no number equals); it should be read as the range, or refused.
    @Test func unquotedRangeCellIsNotSilentlyALiteral() throws {
        let (d, diagnostics) = DefinitionParser.parse(minimal("""
            decisions:
              t:
                hit: unique
                inputs: [case.n]
                outputs: [o]
                rules:
                  - { when: [[1..10]], then: [x] }
            """), file: Self.file)
        let test = d?.decision("t")?.rules.first?.tests.first
        #expect(!diagnostics.isEmpty || test == .range(lower: 1, lowerInclusive: true, upper: 10, upperInclusive: true),
                "parsed as \(test.map(\.description) ?? "nothing"), diagnostics: \(Self.render(diagnostics))")
    }

    // MARK: YAML-level errors

    @Test func yamlSyntaxError() {
        #expect(problems("workflow: x\n  bad: indent\nstates: {}\n") == [
            "error 2:6 YAML syntax error: mapping values are not allowed in this context | hint: check indentation and quoting on this line",
        ])
        let unclosed = DefinitionParser.parse("workflow: [a\n", file: Self.file).1
        #expect(unclosed.count == 1)
        let d = unclosed.first
        #expect(d?.location == at(2, 1))
        #expect(d?.message.hasPrefix("YAML syntax error: while parsing a flow sequence") == true)
        #expect(d?.message.hasSuffix("did not find expected ',' or ']'") == true)
        #expect(d?.hint == "check indentation and quoting on this line")
    }

    /// A diagnostic prints as one `file:line:column: error: message` line; a YAML error's message must not
    /// carry Yams' own "in line …, column …" plus a newline.
    @Test func yamlSyntaxErrorMessageIsOneLine() {
        for text in ["workflow: [a\n", "workflow: \"x\n", "workflow: x\n\troles: [a]\n", "workflow: x\nrules:\n  - { when: [>= 10] }\n"] {
            let diagnostics = DefinitionParser.parse(text, file: Self.file).1
            #expect(diagnostics.count == 1, "\(text)")
            for d in diagnostics {
                #expect(!d.message.contains("\n"), "\(d.message)")
                #expect(!d.message.contains(" in line "), "\(d.message)")
            }
        }
    }

    @Test func unquotedComparisonInFlowListIsASyntaxError() {
        let diagnostics = DefinitionParser.parse(minimal("rules: [>= 10]\n"), file: Self.file).1
        #expect(diagnostics.map(\.location) == [at(4, 9)])
        #expect(diagnostics.first?.message.hasPrefix("YAML syntax error: ") == true)
        #expect(diagnostics.first?.message.contains("found character that cannot start any token") == true)
    }

    @Test func emptyFile() {
        let expected = ["error 1:1 the file is empty | hint: a workflow starts with `workflow: <name>`"]
        #expect(problems("") == expected)
        #expect(problems("# only a comment\n\n") == expected)
        #expect(DefinitionParser.parse("", file: Self.file).0 == nil)
    }

    @Test func topLevelMustBeAMapping() {
        #expect(problems("- a\n- b\n") == ["error 1:1 the workflow must be a mapping of `key: value` lines, not a list"])
        #expect(problems("just text\n") == ["error 1:1 the workflow must be a mapping of `key: value` lines, not a single value"])
    }

    @Test func unreadableFile() {
        let (d, diagnostics) = DefinitionParser.parse(contentsOf: "/nonexistent/dir/wf.yaml")
        #expect(d == nil)
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.location == Loc(file: "/nonexistent/dir/wf.yaml", line: 1, column: 1))
        #expect(diagnostics.first?.message.hasPrefix("cannot read the file: ") == true)
    }

    @Test func missingRequiredSections() {
        #expect(problems("workflow: x\nroles: [a]\n") == [
            "error 1:1 the workflow has no 'states' | hint: list the states a case can be in",
            "error 1:1 the workflow has no 'commands' | hint: commands are how cases move",
        ])
        let (d, diagnostics) = DefinitionParser.parse("roles: [a]\nstates: { s: }\ncommands: {}\n", file: Self.file)
        #expect(d == nil)
        #expect(Self.render(diagnostics) == ["error 1:1 the file has no 'workflow' | hint: start the file with `workflow: <name>`"])
    }

    // MARK: Unknown and duplicate keys

    @Test func unknownKeysWithSuggestions() {
        #expect(problems("workflow: x\nrole: [a]\nstates: { s: }\ncommands: {}\n") == [
            "error 2:1 unknown key 'role' in the workflow | hint: did you mean 'roles'?",
        ])
        #expect(problems("workflow: x\nstates:\n  s: { initail: true }\ncommands: {}\n") == [
            "error 3:8 unknown key 'initail' in state 's' | hint: did you mean 'initial'?",
        ])
        #expect(problems("workflow: x\nstates: { s: }\ncommands:\n  c: { rols: [a] }\n") == [
            "error 4:8 unknown key 'rols' in command 'c' | hint: did you mean 'roles'?",
        ])
        #expect(problems(minimal("fields:\n  f: { type: string, requird: true }\n")) == [
            "error 5:22 unknown key 'requird' in case field 'f' | hint: did you mean 'required'?",
        ])
        #expect(problems(minimal("clocks:\n  k: { budgte: 5 hours, on-breach: { event: e } }\n")) == [
            "error 5:8 unknown key 'budgte' in clock 'k' | hint: did you mean 'budget'?",
        ])
        #expect(problems(minimal("clocks:\n  k: { budget: 5 hours, on-breach: { event: e, moveto: s } }\n")) == [
            "error 5:48 unknown key 'moveto' in on-breach | hint: did you mean 'move-to'?",
        ])
        #expect(problems(minimal("decisions:\n  t: { hits: first, inputs: [], outputs: [], rules: [] }\n")) == [
            "error 5:8 unknown key 'hits' in decision 't' | hint: did you mean 'hit'?",
        ])
        #expect(problems(minimal("decisions:\n  t: { hit: first, inputs: [a], outputs: [b], rules: [{ when: [1], than: [x] }] }\n")) == [
            "error 5:68 unknown key 'than' in a rule | hint: did you mean 'then'?",
        ])
        #expect(problems("workflow: x\nstates: { s: }\ncommands:\n  c: { guard: [{ iff: x }] }\n") == [
            "error 4:18 unknown key 'iff' in a guard | hint: did you mean 'if'?",
        ])
        #expect(problems("workflow: x\nstates: { s: }\ncommands:\n  c: { open: [{ workflow: y, store: z }] }\n") == [
            "error 4:30 unknown key 'store' in open | hint: allowed keys: workflow, command, store-id-in",
        ])
        #expect(problems("workflow: x\nstates: { s: }\ncommands:\n  c: { send: [{ command: y, to-case: z }] }\n") == [
            "error 4:29 unknown key 'to-case' in send | hint: allowed keys: command, to-case-in, to-cases-of, where, in-states",
        ])
        #expect(problems("workflow: x\nstates: { s: }\ncommands:\n  c: { colour: red }\n") == [
            "error 4:8 unknown key 'colour' in command 'c' | hint: allowed keys: title, opens, from, to, roles, data, guard, set, clocks, decide, emit, open, send",
        ])
    }

    @Test func duplicateKeys() {
        #expect(problems("""
            workflow: x
            states:
              s: { initial: true }
              s: { final: true }
            commands: {}
            """) == ["error 4:3 's' appears twice in states | hint: the first is at line 3; merge them"])
        #expect(problems("""
            workflow: x
            states: { s: }
            commands:
              c:
                roles: [a]
                roles: [b]
            """) == ["error 6:5 'roles' appears twice in command 'c' | hint: the first is at line 5; merge them"])
        #expect(problems("""
            workflow: x
            states: { s: }
            commands: {}
            workflow: y
            """) == ["error 4:1 'workflow' appears twice in the workflow | hint: the first is at line 1; merge them"])
    }

    // MARK: Wrong shapes and values

    @Test func wrongShapes() {
        #expect(problems("""
            workflow: [x]
            title: { a: b }
            roles: { a: [x] }
            fields:
              f: [string]
            states:
              s: { initial: true, owner: [a] }
            clocks: [a]
            commands:
              c:
                opens: true
                roles: [[a]]
                from: [{ a: b }]
                to: [s]
                data: [x]
                guard: [[x]]
                set: [x]
                clocks: [x]
                emit: [[a]]
            decisions: [x]
            """) == [
                "error 1:11 the workflow name must be a single value, not a list",
                "error 2:8 the title must be a single value, not a mapping",
                "error 3:13 the title of role 'a' must be a single value, not a list",
                "error 5:6 case field 'f' must be a mapping of `key: value` lines, not a list",
                "error 7:30 owner must be a single value, not a list",
                "error 8:9 clocks must be a mapping of `key: value` lines, not a list",
                "error 12:13 roles must be a single value, not a list",
                "error 13:12 from must be a single value, not a mapping",
                "error 14:9 to must be a single value, not a list",
                "error 15:11 data fields must be a mapping of `key: value` lines, not a list",
                "error 16:13 a guard must be a mapping of `key: value` lines, not a list",
                "error 17:10 set must be a mapping of `key: value` lines, not a list",
                "error 18:13 clocks must be a mapping of `key: value` lines, not a list",
                "error 19:12 emit must be a single value, not a list",
                "error 20:12 decisions must be a mapping of `key: value` lines, not a list",
            ])
        #expect(problems("workflow: x\nfields: [a, b]\nstates: [s, t]\ncommands:\n  c: [x]\n") == [
            "error 2:9 case fields must be a mapping of `key: value` lines, not a list",
            "error 3:9 states must be a mapping of `key: value` lines, not a list",
            "error 5:6 command 'c' must be a mapping of `key: value` lines, not a list",
        ])
    }

    /// `roles`, `from`, `decide` and `emit` take a name or a list of names: given a mapping, the message must say
    /// so (a list is fine), not that the value "must be a single value".
    @Test func nameListsGivenAMapping() {
        let diagnostics = DefinitionParser.parse("""
            workflow: x
            states: { s: }
            commands:
              c:
                roles: { a: b }
                from: { a: b }
                decide: { a: b }
                emit: { a: b }
            """, file: Self.file).1
        #expect(diagnostics.map(\.location).sorted() == [at(5, 12), at(6, 11), at(7, 13), at(8, 11)])
        for d in diagnostics {
            #expect(d.message.contains("list"), "\(d.location): \(d.message)")
        }
    }

    @Test func badScalars() {
        #expect(problems("workflow: x\nversion: 0\nstates: { s: }\ncommands: {}\n") == ["error 2:10 version must be 1 or more"])
        #expect(problems("workflow: x\nversion: abc\nstates: { s: }\ncommands: {}\n") == [
            "error 2:10 version must be a whole number | hint: for example `1`",
        ])
        #expect(problems("workflow: x\nstates: { s: { initial: maybe } }\ncommands:\n  c: { opens: 1 }\n") == [
            "error 2:25 initial must be true or false, not 'maybe'",
            "error 4:15 opens must be true or false, not '1'",
        ])
    }

    @Test func unknownTypes() {
        #expect(problems(minimal("""
            fields:
              a: strng
              b: { type: wibble }
              c: list(strng)
              d: list(list(intger))
              e: reference()
            """)) == [
                "error 5:6 unknown type 'strng' | hint: did you mean 'string'?",
                "error 6:14 unknown type 'wibble' | hint: types: string, text, integer, money, date, datetime, boolean, enum(a, b), list(T), reference(workflow)",
                "error 7:11 unknown type 'strng' | hint: did you mean 'string'?",
                "error 8:16 unknown type 'intger' | hint: did you mean 'integer'?",
                "error 9:6 reference needs a workflow name | hint: e.g. reference(task-admission)",
            ])
    }

    @Test func commandDataTypesAreChecked() {
        #expect(problems("workflow: x\nstates: { s: }\ncommands:\n  c:\n    data: { n: numbr, m: { type: bool, requred: true } }\n") == [
            "error 5:16 unknown type 'numbr' | hint: types: string, text, integer, money, date, datetime, boolean, enum(a, b), list(T), reference(workflow)",
            "error 5:40 unknown key 'requred' in data field 'm' | hint: did you mean 'required'?",
        ])
    }

    @Test func enumValues() {
        #expect(problems(minimal("""
            fields:
              a: { type: string, values: [a] }
              b: { type: enum, values: [] }
              c: { type: enum }
              d: { type: enum, values: x }
            """)) == [
                "error 5:30 only an enum field takes 'values'",
                "error 6:28 an enum needs at least one value",
                "error 7:14 enum field 'c' has no values | hint: write `type: enum(a, b)` or add `values: [a, b]`",
            ])
    }

    /// `f: enum` and `f: enum()` declare an enum nobody can ever set: the same error as `{ type: enum }`.
    @Test func shorthandEnumWithoutValues() {
        #expect(problems(minimal("fields:\n  f: enum\n  g: enum()\n")) == [
            "error 5:6 enum field 'f' has no values | hint: write `type: enum(a, b)` or add `values: [a, b]`",
            "error 6:6 enum field 'g' has no values | hint: write `type: enum(a, b)` or add `values: [a, b]`",
        ])
    }

    @Test func unclosedEnumInFlowMapping() {
        #expect(problems(minimal("fields:\n  b: { type: enum(low, required: true }\n")) == [
            "error 5:14 unknown type 'enum(low': its parenthesis is not closed | hint: inside `{ ... }` a comma ends the entry: write `type: enum, values: [a, b]`, or quote the type",
        ])
        #expect(problems(minimal("fields:\n  b: { type: list(enum(low, required: true }\n")).count == 1)
    }

    /// The commonest form of the mistake: `{ type: enum(low, high) }`. YAML splits it at the comma, so the
    /// parser sees a key `high)`; it must still explain the comma, not report an unknown key.
    @Test func enumWithCommaInFlowMappingExplainsTheComma() {
        #expect(problems(minimal("fields:\n  a: { type: enum(low, high), required: true }\n")) == [
            "error 5:14 unknown type 'enum(low': its parenthesis is not closed | hint: inside `{ ... }` a comma ends the entry: write `type: enum, values: [a, b]`, or quote the type",
        ])
    }

    // MARK: Clocks

    @Test func badBudgetsAndClocks() {
        #expect(problems(minimal("""
            clocks:
              a: { budget: five days, on-breach: { event: e } }
              b: { budget: 5 fortnights, on-breach: { event: e } }
              c: { budget: 0 hours, on-breach: { event: e } }
              d: { budget: 5 working days }
              e: { on-breach: { event: e } }
              f: { budget: 5 hours, on-breach: { flag: s } }
              g: { budget: 5 hours, on-breach: e }
              h: { budget: 12 小時, on-breach: { event: e } }
            """)) == [
                "error 5:16 a budget starts with a positive whole number, not 'five days' | hint: e.g. `5 working days`",
                "error 6:18 unknown budget unit 'fortnights' | hint: use working days, calendar days or hours",
                "error 7:16 a budget starts with a positive whole number, not '0 hours' | hint: e.g. `5 working days`",
                "error 8:6 clock 'd' has no 'on-breach' | hint: say what happens when the limit passes, e.g. `on-breach: { event: request.overdue }`",
                "error 9:6 clock 'e' has no 'budget' | hint: e.g. `budget: 5 working days`",
                "error 10:36 on-breach has no 'event' | hint: the event recorded when the clock is breached",
                "error 11:36 on-breach must be a mapping of `key: value` lines, not a single value",
                "error 12:19 unknown budget unit '小時' | hint: use working days, calendar days or hours",
            ])
    }

    @Test func unknownClockOperation() {
        #expect(problems("workflow: x\nstates: { s: }\ncommands:\n  c:\n    clocks: { a: begin, b: start, c: halt }\n") == [
            "error 5:18 unknown clock operation 'begin' | hint: use start, pause, resume or stop",
            "error 5:38 unknown clock operation 'halt' | hint: use start, pause, resume or stop",
        ])
    }

    @Test func openAndSendNeedTheirKeys() {
        #expect(problems("workflow: x\nstates: { s: }\ncommands:\n  c:\n    open: [{ command: go }]\n    send: [{ command: go }, { to-case-in: p }]\n") == [
            "error 5:12 open has no 'workflow' | hint: the workflow of the case to open",
            "error 6:12 send has no 'to-case-in' | hint: a reference field holding the other case's id, or `to-cases-of: <workflow>` with `where`",
            "error 6:29 send has no 'command'",
        ])
        #expect(problems("workflow: x\nstates: { s: }\ncommands:\n  c:\n    guard: [{ message: hello }]\n") == [
            "error 5:13 a guard has no 'if' | hint: write `if: <expression>`",
        ])
    }

    // MARK: Decision tables

    @Test func decisionErrors() {
        #expect(problems(minimal("""
            decisions:
              d1: { hit: any, inputs: [case.a], outputs: [b], rules: [] }
              d2:
                hit: unique
                inputs: [case.a, case.b]
                outputs: [c]
                rules:
                  - { when: [1], then: [x] }
              d3:
                hit: first
                inputs: [case.a]
                outputs: [c, d]
                rules:
                  - { when: [1], then: [x] }
              d4:
                hit: first
                inputs: [case.a]
                outputs: [c]
                rules:
                  - { when: ["[5..1]"], then: [x] }
                  - { when: ["[1..x]"], then: [x] }
              d5:
                hit: first
                inputs: [case.a]
                outputs: [c]
                rules:
                  - { when: ["< five"], then: [x] }
              d6: { inputs: [a], outputs: [b], rules: [] }
              d7: { hit: first, outputs: [b], rules: [] }
              d8: { hit: first, inputs: [a], outputs: [b], rules: [{ then: [x] }] }
              d9: { hit: first, inputs: [a], outputs: [b] }
            """)) == [
                "error 5:14 unknown hit policy 'any' | hint: use unique (rules must not overlap) or first (first match wins)",
                "error 11:9 this rule has 1 tests for 2 inputs | hint: write one test per input, `-` for any",
                "error 17:9 this rule has 1 values for 2 outputs",
                "error 23:18 '[5..1]' is not a range | hint: write [low..high] with whole numbers, ( or ) to exclude an end",
                "error 30:18 '< five' compares with something that is not a whole number",
                "error 31:7 decision 'd6' has no 'hit' | hint: `hit: unique` or `hit: first`",
                "error 32:7 decision 'd7' has no 'inputs'",
                "error 33:56 a rule has no 'when' | hint: one test per input, `-` for any",
                "error 34:7 decision 'd9' has no 'rules'",
            ])
    }

    // MARK: Several problems

    @Test func everyProblemInAFileIsReported() {
        let (d, diagnostics) = DefinitionParser.parse("""
            workflow: x
            roles: [a]
            fields:
              a: strng
              b: { type: enum, values: [] }
            states:
              s: { initial: maybe }
              t: { owner: [a] }
            clocks:
              k: { budget: 5 weeks, on-breach: { event: e } }
            commands:
              c: { roles: [a], clocks: { k: go } }
              d: { rols: [a] }
            decisions:
              t: { hit: some, inputs: [x], outputs: [y], rules: [] }
            """, file: Self.file)
        #expect(Self.render(diagnostics) == [
            "error 4:6 unknown type 'strng' | hint: did you mean 'string'?",
            "error 5:28 an enum needs at least one value",
            "error 7:17 initial must be true or false, not 'maybe'",
            "error 8:15 owner must be a single value, not a list",
            "error 10:18 unknown budget unit 'weeks' | hint: use working days, calendar days or hours",
            "error 12:33 unknown clock operation 'go' | hint: use start, pause, resume or stop",
            "error 13:8 unknown key 'rols' in command 'd' | hint: did you mean 'roles'?",
            "error 15:13 unknown hit policy 'some' | hint: use unique (rules must not overlap) or first (first match wins)",
        ])
        // The shape is sound enough to hand to the linter: what parsed is kept.
        #expect(d?.name == "x")
        #expect(d?.commands.map(\.name) == ["c"])
    }

    /// An unknown key must not hide the rest of the file (here: a typo at the top, in a state, in a command).
    @Test func unknownKeysEverywhereAreAllReported() {
        #expect(problems("""
            workflow: x
            rols: [a]
            states:
              s: { intial: true, fnal: true }
            commands:
              c: { rols: [a] }
            """) == [
                "error 2:1 unknown key 'rols' in the workflow | hint: did you mean 'roles'?",
                "error 4:8 unknown key 'intial' in state 's' | hint: did you mean 'initial'?",
                "error 4:22 unknown key 'fnal' in state 's' | hint: did you mean 'final'?",
                "error 6:8 unknown key 'rols' in command 'c' | hint: did you mean 'roles'?",
            ])
    }

    @Test func aliasesAreResolved() throws {
        let d = try definition("workflow: x\nroles: &r [a]\nstates: { s: }\ncommands:\n  c: { roles: *r }\n")
        #expect(d.commands.first?.roles.map(\.name) == ["a"])
    }

    @Test func columnsCountUnicodeScalars() {
        #expect(problems("workflow: x\ntitle: 居民诉求\nstates: { 已受理: { 初始: true } }\ncommands: {}\n") == [
            "error 3:18 unknown key '初始' in state '已受理' | hint: allowed keys: initial, final, owner, title",
        ])
    }
}
