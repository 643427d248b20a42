import CasebookTestSupport
import Foundation
import Testing

@testable import CasebookWorkflow

/// The linter, one rule per test: a valid definition broken in one way, and the exact list of findings
/// (severity, position, message, hint) it must produce — nothing more.
@Suite struct LinterTests {
    static let file = "wf.yaml"

    /// A small valid definition. Line numbers below refer to it; extra commands or a `decisions:` section
    /// are appended after line 31 so that they do not move.
    static let base = """
        workflow: permit
        calendar: cn
        roles: [clerk, officer]
        fields:
          amount: money
          urgent: boolean
          level: enum(low, high)
          ref: reference(task-admission)
        states:
          open: { initial: true, owner: clerk }
          review: { owner: officer }
          done: { final: true }
        clocks:
          sla:
            budget: 5 working days
            on-breach: { event: permit.overdue, flag: urgent, notify: officer }
        commands:
          apply:
            opens: true
            roles: [clerk]
            clocks: { sla: start }
          submit:
            from: [open]
            to: review
            roles: [clerk]
            guard: case.amount > 0 yuan
          approve:
            from: [review]
            to: done
            roles: [officer]
            clocks: { sla: stop }

        """

    // MARK: Helpers

    /// `base` with each `old` (which must occur exactly once) replaced by `new`.
    func variant(_ replacements: (String, String)..., sourceLocation: Testing.SourceLocation = #_sourceLocation) -> String {
        var text = Self.base
        for (old, new) in replacements {
            #expect(text.components(separatedBy: old).count == 2, "'\(old)' must occur once in the base definition",
                    sourceLocation: sourceLocation)
            text = text.replacingOccurrences(of: old, with: new)
        }
        return text
    }

    /// The linter's findings as `severity line:column message | hint: …`, after checking that the text parses cleanly.
    func lint(_ yaml: String, context: LintContext = LintContext(), sourceLocation: Testing.SourceLocation = #_sourceLocation) -> [String] {
        let (definition, diagnostics) = DefinitionParser.parse(yaml, file: Self.file)
        #expect(DefinitionParserTests.render(diagnostics) == [], "the test definition must parse cleanly", sourceLocation: sourceLocation)
        guard let definition else {
            Issue.record("the test definition did not parse", sourceLocation: sourceLocation)
            return []
        }
        let findings = Linter.lint(definition, context: context)
        #expect(findings.map(\.location) == findings.map(\.location).sorted(), "findings are sorted by position", sourceLocation: sourceLocation)
        return DefinitionParserTests.render(findings)
    }

    static func calendars() throws -> [String: WorkingCalendar] {
        try CalendarSet.load(directory: calendarDirectory).calendars
    }

    // MARK: The base definition

    @Test func baseDefinitionIsClean() throws {
        let calendars = try Self.calendars()
        #expect(lint(Self.base) == [])
        #expect(lint(Self.base, context: LintContext(knownWorkflows: ["permit", "task-admission"], calendars: calendars, years: [2026])) == [])
    }

    @Test func residentRequestLintsClean() throws {
        let path = workflowsDirectory + "/resident-request.yaml"
        let (definition, diagnostics) = DefinitionParser.parse(contentsOf: path)
        #expect(diagnostics.map(\.description) == [])
        let d = try #require(definition)
        #expect(d.name == "resident-request")
        let calendars = try Self.calendars()
        let catalogues = try Catalogue.collect(
            try Catalogue.sources(named: d.catalogues.map(\.name), directory: workflowsDirectory + "/catalogues"))
        #expect(catalogues.keys.sorted() == ["service-items"])
        let context = LintContext(knownWorkflows: ["resident-request"], calendars: calendars, years: [2026], catalogues: catalogues)
        #expect(Linter.lint(d, context: context).map(\.description) == [])
    }

    @Test func diagnosticPrintsAsFileLineColumn() {
        let d = Diagnostic(.warning, at: CasebookWorkflow.SourceLocation(file: "Workflows/x.yaml", line: 3, column: 7), "it is odd", hint: "fix it")
        #expect(d.description == "Workflows/x.yaml:3:7: warning: it is odd\n  hint: fix it")
        let e = Diagnostic(at: CasebookWorkflow.SourceLocation(file: "x.yaml", line: 1, column: 1), "bad")
        #expect(e.description == "x.yaml:1:1: error: bad")
    }

    // MARK: States

    @Test func noInitialState() {
        #expect(lint(variant(("open: { initial: true, owner: clerk }", "open: { owner: clerk }"))) == [
            "error 10:3 no state is marked initial | hint: add `initial: true` to the state new cases start in",
        ])
    }

    @Test func twoInitialStates() {
        #expect(lint(variant(("review: { owner: officer }", "review: { initial: true, owner: officer }"))) == [
            "error 11:3 state 'review' is a second initial state (the first is 'open') | hint: exactly one state may be initial",
        ])
    }

    /// The state is also final, so `submit` (from it) leaves a final state and can never fire: both follow.
    @Test func initialAndFinal() {
        #expect(lint(variant(("open: { initial: true, owner: clerk }", "open: { initial: true, final: true, owner: clerk }"))) == [
            "error 10:3 state 'open' is both initial and final | hint: a case would end the moment it opens",
            "error 22:3 command 'submit' can never fire: none of its states can be reached",
            "error 23:12 command 'submit' leaves final state 'open' | hint: final states end a case; make 'open' not final, or drop it here",
        ])
    }

    @Test func noFinalStateIsAWarning() {
        let yaml = variant(("done: { final: true }", "done: { owner: officer }"))
            + "  reopen:\n    from: [done]\n    to: review\n    roles: [officer]\n"
        #expect(lint(yaml) == [
            "warning 10:3 no state is final: cases can never be closed | hint: mark the end states `final: true`",
        ])
    }

    // MARK: Roles

    @Test func unknownRoleInCommand() {
        #expect(lint(variant(("roles: [officer]", "roles: [oficer]"))) == [
            "error 30:13 unknown role 'oficer' in command 'approve' | hint: did you mean 'officer'?",
        ])
        #expect(lint(variant(("roles: [officer]", "roles: [officer, janitor]"))) == [
            "error 30:22 unknown role 'janitor' in command 'approve' | hint: roles: clerk, officer",
        ])
    }

    /// The finding points at the owner written in the file (`boss`), as it does for a command's roles.
    @Test func unknownRoleAsStateOwner() {
        #expect(lint(variant(("review: { owner: officer }", "review: { owner: boss }"))) == [
            "error 11:20 unknown role 'boss' in the owner of state 'review' | hint: roles: clerk, officer",
        ])
    }

    /// The finding points at the role written after `notify:`.
    @Test func unknownRoleNotifiedOnBreach() {
        #expect(lint(variant(("notify: officer", "notify: boss"))) == [
            "error 16:63 unknown role 'boss' in the breach of clock 'sla' | hint: roles: clerk, officer",
        ])
    }

    @Test func noRolesDeclared() {
        let findings = lint(variant(("roles: [clerk, officer]", "roles: []")))
        #expect(findings.first == "error 1:1 the workflow declares no roles | hint: list who acts on cases under `roles:`")
    }

    // MARK: Commands and states

    @Test func unknownStateInFrom() {
        let yaml = Self.base + "  poke:\n    from: [reveiw]\n    roles: [clerk]\n  prod:\n    from: [nowhere]\n    roles: [clerk]\n"
        #expect(lint(yaml) == [
            "error 33:12 unknown state 'reveiw' in the `from` of command 'poke' | hint: did you mean 'review'?",
            "error 36:12 unknown state 'nowhere' in the `from` of command 'prod' | hint: states: open, review, done",
        ])
    }

    @Test func unknownStateInTo() {
        let yaml = Self.base + "  poke:\n    from: [review]\n    to: dome\n    roles: [officer]\n"
        #expect(lint(yaml) == [
            "error 34:9 unknown state 'dome' in the `to` of command 'poke' | hint: did you mean 'done'?",
        ])
    }

    @Test func commandLeavingAFinalState() {
        #expect(lint(variant(("from: [review]", "from: [review, done]"))) == [
            "error 28:20 command 'approve' leaves final state 'done' | hint: final states end a case; make 'done' not final, or drop it here",
        ])
    }

    @Test func openingCommandWithFrom() {
        #expect(lint(variant(("    opens: true\n", "    opens: true\n    from: [open]\n"))) == [
            "error 20:12 command 'apply' opens a case, so it cannot also apply in state 'open' | hint: remove `from:`",
        ])
    }

    @Test func openingCommandIntoANonInitialState() {
        #expect(lint(variant(("    opens: true\n", "    opens: true\n    to: review\n"))) == [
            "error 20:9 command 'apply' opens a case in 'review', but cases start in the initial state | hint: remove `to:` (cases start in 'open')",
        ])
        #expect(lint(variant(("    opens: true\n", "    opens: true\n    to: open\n"))) == [])
    }

    @Test func noOpeningCommand() {
        #expect(lint(variant(("    opens: true\n", "    from: [open]\n"))) == [
            "error 1:1 no command opens a case | hint: mark the command that creates a case `opens: true`",
        ])
    }

    @Test func commandWithNoRoles() {
        #expect(lint(variant(("    roles: [clerk]\n    guard", "    guard"))) == [
            "error 22:3 command 'submit' names no roles, so no one can issue it | hint: add `roles: [...]`",
        ])
    }

    @Test func commandInNoState() {
        #expect(lint(Self.base + "  poke:\n    roles: [clerk]\n") == [
            "error 32:3 command 'poke' applies in no state | hint: add `from: [state, ...]`, or `from: '*'` for every open state",
        ])
    }

    @Test func fromStarMeansEveryOpenState() {
        #expect(lint(Self.base + "  note:\n    from: '*'\n    roles: [clerk, officer]\n") == [])
        #expect(lint(variant(("from: [review]", "from: '*'"))) == [])
    }

    // MARK: Guards

    @Test func guardWithAnUnknownField() {
        #expect(lint(variant(("guard: case.amount > 0 yuan", "guard: case.amont > 0 yuan"))) == [
            "error 26:12 unknown field 'case.amont' | hint: did you mean 'case.amount'?",
        ])
        // Further into the expression: the column of the offending token.
        #expect(lint(variant(("guard: case.amount > 0 yuan", "guard: case.urgent and case.amont > 0 yuan"))) == [
            "error 26:28 unknown field 'case.amont' | hint: did you mean 'case.amount'?",
        ])
    }

    @Test func guardTypeErrors() {
        #expect(lint(variant(("guard: case.amount > 0 yuan", "guard: case.amount > 0"))) == [
            "error 26:26 cannot compare money with integer | hint: write 0 yuan or 0 fen",
        ])
        #expect(lint(variant(("guard: case.amount > 0 yuan", "guard: case.amount"))) == [
            "error 26:12 the expression must be boolean, but it is money | hint: write a condition, e.g. 'x > 0', 'x == \"a\"' or 'x is set'",
        ])
        #expect(lint(variant(("guard: case.amount > 0 yuan", "guard: case.urgent and case.level > 3"))) == [
            "error 26:39 cannot order enum(low, high) values with '>' | hint: '<', '<=', '>' and '>=' work on integer, money, date, datetime and string",
        ])
    }

    @Test func guardErrorsInAListPointAtTheirOwnLine() {
        #expect(lint(variant(("guard: case.amount > 0 yuan", "guard:\n      - case.amount > 0 yuan\n      - case.level == \"hgh\""))) == [
            "error 28:23 'hgh' is not one of the enum's values | hint: did you mean 'high'? allowed values: 'low', 'high'",
        ])
        #expect(lint(variant(("guard: case.amount > 0 yuan", "guard:\n      - if: case.urgent and case.amont > 0 yuan\n        message: no"))) == [
            "error 27:29 unknown field 'case.amont' | hint: did you mean 'case.amount'?",
        ])
        #expect(lint(variant(("guard: case.amount > 0 yuan", "guard:\n      - case.amount > 0 yuan\n      - data.reason == \"x\""))) == [
            "error 28:9 unknown field 'data.reason' | hint: known names: case.amount, case.level, case.ref, case.urgent, actor, now, role, today",
        ])
    }

    /// A guard written in quotes (as the shipped definitions do) starts one column after the quote, so a
    /// problem's column must count from there.
    @Test func guardErrorsInAQuotedGuardPointAtTheToken() {
        #expect(lint(variant(("guard: case.amount > 0 yuan", "guard: \"case.amont > 0 yuan\""))) == [
            "error 26:13 unknown field 'case.amont' | hint: did you mean 'case.amount'?",
        ])
        #expect(lint(variant(("guard: case.amount > 0 yuan", "guard: 'case.amount > 0'"))) == [
            "error 26:27 cannot compare money with integer | hint: write 0 yuan or 0 fen",
        ])
        #expect(lint(variant(("guard: case.amount > 0 yuan", "guard:\n      - { if: \"case.urgent and case.amont > 0 yuan\", message: no }"))) == [
            "error 27:32 unknown field 'case.amont' | hint: did you mean 'case.amount'?",
        ])
    }

    @Test func alwaysFalseGuard() {
        for text in ["1 > 2", "false", "\"false\"", "not true", "1 yuan > 2 yuan"] {
            #expect(lint(variant(("guard: case.amount > 0 yuan", "guard: \(text)"))) == [
                "error 26:12 this guard is always false, so command 'submit' can never fire",
            ], "guard: \(text)")
        }
        // Constant but true, or not constant: fine.
        #expect(lint(variant(("guard: case.amount > 0 yuan", "guard: 1 < 2"))) == [])
        #expect(lint(variant(("guard: case.amount > 0 yuan", "guard: case.urgent and false or true"))) == [])
    }

    // MARK: set

    @Test func setOfAnUnknownField() {
        #expect(lint(variant(("    guard: case.amount > 0 yuan\n", "    guard: case.amount > 0 yuan\n    set: { amont: 1 yuan }\n"))) == [
            "error 27:12 unknown case field 'amont' in the `set` of command 'submit' | hint: did you mean 'amount'?",
        ])
    }

    @Test func setWithTheWrongType() {
        #expect(lint(variant(("    guard: case.amount > 0 yuan\n", "    guard: case.amount > 0 yuan\n    set:\n      urgent: case.amount + 1 yuan\n"))) == [
            "error 28:15 the expression must be boolean, but it is money | hint: write a condition, e.g. 'x > 0', 'x == \"a\"' or 'x is set'",
        ])
        #expect(lint(variant(("    guard: case.amount > 0 yuan\n", "    guard: case.amount > 0 yuan\n    set: { amount: 5 }\n"))) == [
            "error 27:20 the expression must be money, but it is integer",
        ])
        #expect(lint(variant(("    guard: case.amount > 0 yuan\n", "    guard: case.amount > 0 yuan\n    set: { amount: case.amount + 5 yuan, urgent: true, level: case.level }\n"))) == [])
    }

    /// A string value in `set` must be quoted in YAML; the column still counts from the expression's first character.
    @Test func setErrorsInAQuotedValuePointAtTheToken() {
        #expect(lint(variant(("    guard: case.amount > 0 yuan\n", "    guard: case.amount > 0 yuan\n    set: { level: '\"medium\"' }\n"))) == [
            "error 27:20 'medium' is not one of the enum's values | hint: allowed values: 'low', 'high'",
        ])
        #expect(lint(variant(("    guard: case.amount > 0 yuan\n", "    guard: case.amount > 0 yuan\n    set: { amount: \"5\" }\n"))) == [
            "error 27:21 the expression must be money, but it is integer",
        ])
    }

    // MARK: Clocks

    @Test func unknownClockInACommand() {
        #expect(lint(variant(("clocks: { sla: stop }", "clocks: { slaa: stop }"))) == [
            "error 31:15 unknown clock 'slaa' in command 'approve' | hint: did you mean 'sla'?",
        ])
    }

    @Test func workingDayClockWithoutACalendar() {
        #expect(lint(variant(("calendar: cn\n", ""))) == [
            "error 13:3 clock 'sla' counts working days but the workflow names no calendar | hint: add `calendar: cn` (a file in Workflows/calendars/)",
        ])
        // Every clock needs the calendar: its time zone decides when a day ends, and the engine keeps
        // deadlines on it (without one, a clock would never fire).
        let needsCalendar = "error 13:3 clock 'sla' needs the workflow's calendar (its time zone decides when the limit ends) | hint: add `calendar: cn` (a file in Workflows/calendars/)"
        #expect(lint(variant(("calendar: cn\n", ""), ("5 working days", "5 calendar days"))) == [needsCalendar])
        #expect(lint(variant(("calendar: cn\n", ""), ("5 working days", "48 hours"))) == [needsCalendar])
    }

    @Test func clockNeverStartedIsAWarning() {
        #expect(lint(variant(("    clocks: { sla: start }\n", ""))) == [
            "warning 14:3 clock 'sla' is never started | hint: start it in a command: `clocks: { sla: start }`",
        ])
    }

    /// Findings about the on-breach escalation point at the value written after `flag:`.
    @Test func flagFieldNotBoolean() {
        #expect(lint(variant(("flag: urgent", "flag: amount"))) == [
            "error 16:47 clock 'sla' flags 'amount', which is money, not boolean | hint: declare `amount: boolean`",
        ])
    }

    @Test func flagOfAnUnknownField() {
        #expect(lint(variant(("flag: urgent", "flag: urgnt"))) == [
            "error 16:47 unknown case field 'urgnt' in the breach of clock 'sla' | hint: did you mean 'urgent'?",
        ])
    }

    @Test func breachMovesToAnUnknownState() {
        #expect(lint(variant(("flag: urgent", "move-to: escalted"))) == [
            "error 16:50 unknown state 'escalted' in the breach of clock 'sla' | hint: states: open, review, done",
        ])
    }

    // MARK: Decision tables

    /// The base plus a decision table `t` over `inputs`, with one rule per `rules` entry (`when` cells as
    /// YAML), consulted by `submit`. Rules are on lines 39, 40, …
    func withTable(hit: String = "unique", inputs: String = "[case.amount]", outputs: String = "[level]",
                   _ rules: [(when: String, then: String)]) -> String {
        variant(("    guard: case.amount > 0 yuan\n", "    guard: case.amount > 0 yuan\n    decide: [t]\n"))
            + "decisions:\n  t:\n    hit: \(hit)\n    inputs: \(inputs)\n    outputs: \(outputs)\n    rules:\n"
            + rules.map { "      - { when: [\($0.when)], then: [\($0.then)] }\n" }.joined()
    }

    @Test func unknownDecisionTable() {
        #expect(lint(variant(("    guard: case.amount > 0 yuan\n", "    guard: case.amount > 0 yuan\n    decide: [triage]\n"))) == [
            "error 27:14 unknown decision table 'triage' in command 'submit' | hint: none are declared",
        ])
        #expect(lint(withTable([("-", "low")]).replacingOccurrences(of: "decide: [t]", with: "decide: [t, u]")) == [
            "error 27:17 unknown decision table 'u' in command 'submit' | hint: did you mean 't'?",
        ])
    }

    static let overlapCases: [(String, String, String?)] = [
        ("\"< 5\"", "\">= 5\"", nil),
        ("\"<= 5\"", "\">= 5\"", "(-∞..5] / [5..+∞)"),
        ("\"< 5\"", "\"> 4\"", nil),
        ("\"< 6\"", "\"> 4\"", "(-∞..6) / (4..+∞)"),
        ("\"[1..10]\"", "\"[10..20]\"", "[1..10] / [10..20]"),
        ("\"[1..10)\"", "\"[10..20]\"", nil),
        ("\"(1..10]\"", "\"[0..1]\"", nil),
        ("\"(1..10]\"", "\"[0..2]\"", "(1..10] / [0..2]"),
        ("\"(1..3)\"", "\"(2..4)\"", nil),
        ("\"(1..4)\"", "\"(2..5)\"", "(1..4) / (2..5)"),
        ("\"[1..10]\"", "5", "[1..10] / 5"),
        ("\"[1..10]\"", "11", nil),
        ("[1, 2]", "\"[3..4]\"", nil),
        ("[1, 4]", "\"[3..4]\"", "[1, 4] / [3..4]"),
        ("\"-\"", "\"> 100\"", "- / (100..+∞)"),
        ("5", "5", "5 / 5"),
        ("5", "6", nil),
        ("\">= 10\"", "\"[1..10]\"", "[10..+∞) / [1..10]"),
        ("\"> 10\"", "\"[1..10]\"", nil),
        ("\"<= -1\"", "\"[-1..0]\"", "(-∞..-1] / [-1..0]"),
        ("\"< 0\"", "\"[0..0]\"", nil),
        ("[a, b]", "[b, c]", "[a, b] / [b, c]"),
        ("[a, b]", "c", nil),
    ]

    @Test(arguments: overlapCases)
    func uniqueTableOverlap(first: String, second: String, overlap: String?) {
        let expected = overlap.map {
            ["error 40:9 decision 't' is unique, but this rule overlaps the rule at line 39 (\($0)) | hint: make the tests exclusive, or use `hit: first` if the first match should win"]
        } ?? []
        #expect(lint(withTable([(first, "low"), (second, "high")])) == expected)
        // With `hit: first` overlapping rules are fine.
        #expect(lint(withTable(hit: "first", [(first, "low"), (second, "high")])) == [])
    }

    @Test func uniqueTableWithSeveralInputs() {
        let rules: [(when: String, then: String)] = [
            ("\"< 100\", -", "low"),
            ("\"[100..500)\", low", "high"),
            ("\"[100..500)\", high", "low"),
            ("\">= 500\", -", "high"),
        ]
        #expect(lint(withTable(inputs: "[case.amount, case.level]", rules)) == [])
        #expect(lint(withTable(inputs: "[case.amount, case.level]", rules + [("\"(499..1000]\", high", "low")])) == [
            "error 43:9 decision 't' is unique, but this rule overlaps the rule at line 42 ([500..+∞) / (499..1000], - / high) | hint: make the tests exclusive, or use `hit: first` if the first match should win",
        ])
        // Every pair is reported: a catch-all overlaps each earlier rule.
        #expect(lint(withTable(inputs: "[case.amount, case.level]", [("\"< 100\", low", "low"), ("\">= 100\", low", "low"), ("-, -", "high")])) == [
            "error 41:9 decision 't' is unique, but this rule overlaps the rule at line 39 ((-∞..100) / -, low / -) | hint: make the tests exclusive, or use `hit: first` if the first match should win",
            "error 41:9 decision 't' is unique, but this rule overlaps the rule at line 40 ([100..+∞) / -, low / -) | hint: make the tests exclusive, or use `hit: first` if the first match should win",
        ])
    }

    @Test func outputValueNotInTheEnum() {
        #expect(lint(withTable([("\"< 100\"", "low"), ("\">= 100\"", "hgh")])) == [
            "error 40:36 'hgh' is not one of low, high | hint: did you mean 'high'?",
        ])
        #expect(lint(withTable([("\"< 100\"", "low"), ("\">= 100\"", "extreme")])) == [
            "error 40:36 'extreme' is not one of low, high",
        ])
    }

    @Test func decisionOverUnknownFields() {
        #expect(lint(withTable(inputs: "[case.amont]", outputs: "[levl]", [("-", "low")])) == [
            "error 36:14 unknown field 'case.amont' | hint: did you mean 'case.amount'?",
            "error 37:15 unknown case field 'levl' in the outputs of decision 't' | hint: did you mean 'level'?",
        ])
    }

    // MARK: Reachability

    @Test func unreachableState() {
        #expect(lint(variant(("  done: { final: true }\n", "  done: { final: true }\n  limbo: { owner: clerk }\n"))) == [
            "error 13:3 state 'limbo' is unreachable from the initial state 'open' | hint: add a command with `to: limbo`, or remove the state",
        ])
    }

    @Test func deadEndState() {
        let yaml = variant(("  done: { final: true }\n", "  done: { final: true }\n  stuck: { owner: clerk }\n"))
            + "  park:\n    from: [review]\n    to: stuck\n    roles: [officer]\n  poke:\n    from: [stuck]\n    roles: [clerk]\n"
        #expect(lint(yaml) == [
            "error 13:3 state 'stuck' is a dead end: it is not final and no command leads out of it | hint: add a command `from: stuck` with a `to:`, or mark it `final: true`",
        ])
    }

    @Test func waitStateWithNoOwnerAndNoClock() {
        let yaml = variant(("review: { owner: officer }", "review:"), ("    clocks: { sla: start }\n", ""), ("clocks: { sla: stop }", "clocks: { sla: start }"))
        #expect(lint(yaml) == [
            "warning 11:3 cases can wait in state 'review' with no owner and no running clock | hint: give it `owner: <role>`, or start or resume a clock on the way in",
        ])
        // Starting (or resuming) a clock on the way in is enough.
        #expect(lint(variant(("review: { owner: officer }", "review:"),
                             ("    guard: case.amount > 0 yuan\n", "    guard: case.amount > 0 yuan\n    clocks: { sla: resume }\n"))) == [])
    }

    /// `sla` is started when the case opens and stopped only on `approve`: it is running all the while the
    /// case waits in `review`, so the case is not forgotten there and the warning's claim is false.
    @Test func noWaitWarningWhileAClockStartedEarlierIsRunning() {
        #expect(lint(variant(("review: { owner: officer }", "review:"))) == [])
    }

    @Test func commandThatCanNeverFire() {
        let yaml = variant(("  done: { final: true }\n", "  done: { final: true }\n  limbo: { owner: clerk }\n"))
            + "  poke:\n    from: [limbo]\n    to: done\n    roles: [clerk]\n"
        #expect(lint(yaml) == [
            "error 13:3 state 'limbo' is unreachable from the initial state 'open' | hint: add a command with `to: limbo`, or remove the state",
            "error 33:3 command 'poke' can never fire: none of its states can be reached",
        ])
    }

    @Test func breachMoveMakesAStateReachable() {
        let yaml = variant(("  done: { final: true }\n", "  done: { final: true }\n  escalated: { owner: officer }\n"),
                           ("flag: urgent", "move-to: escalated"))
            + "  resolve:\n    from: [escalated]\n    to: done\n    roles: [officer]\n"
        #expect(lint(yaml) == [])
    }

    // MARK: Effects

    @Test func openOfAnUnknownWorkflow() {
        let known = LintContext(knownWorkflows: ["permit", "task-admission"])
        #expect(lint(Self.base + "    open: [{ workflow: task-admision }]\n", context: known) == [
            "error 32:24 command 'approve' opens a case of unknown workflow 'task-admision' | hint: did you mean 'task-admission'?",
        ])
        #expect(lint(Self.base + "    open: [{ workflow: billing }]\n", context: known) == [
            "error 32:24 command 'approve' opens a case of unknown workflow 'billing' | hint: workflows: permit, task-admission",
        ])
        // Without a list of known workflows, names are not checked.
        #expect(lint(Self.base + "    open: [{ workflow: billing }]\n") == [])
        #expect(lint(Self.base + "    open: [{ workflow: task-admission, store-id-in: ref }]\n", context: known) == [])
    }

    @Test func openStoringTheIdInTheWrongField() {
        #expect(lint(Self.base + "    open: [{ workflow: task-admission, store-id-in: amount }]\n") == [
            "error 32:53 'amount' is money; it must be reference(task-admission) to hold the new case's id",
        ])
        #expect(lint(Self.base + "    open: [{ workflow: task-admission, store-id-in: reff }]\n") == [
            "error 32:53 unknown case field 'reff' in command 'approve' | hint: did you mean 'ref'?",
        ])
    }

    @Test func sendToANonReferenceField() {
        #expect(lint(Self.base + "    send: [{ command: withdraw, to-case-in: amount }]\n") == [
            "error 32:45 'amount' is money, not a reference to another case",
        ])
        #expect(lint(Self.base + "    send: [{ command: withdraw, to-case-in: reff }]\n") == [
            "error 32:45 unknown case field 'reff' in command 'approve' | hint: did you mean 'ref'?",
        ])
        #expect(lint(Self.base + "    send: [{ command: withdraw, to-case-in: ref }]\n", context: LintContext(knownWorkflows: ["permit", "task-admission"])) == [])
        #expect(lint(Self.base + "    send: [{ command: withdraw, to-case-in: ref }]\n", context: LintContext(knownWorkflows: ["permit"])) == [
            "error 8:3 field 'ref' references unknown workflow 'task-admission' | hint: workflows: permit",
        ])
    }

    /// A target for `send … to-cases-of`: admitted items by department, with a final state and a personal field.
    static let items: WorkflowDefinition = {
        let (d, _) = DefinitionParser.parse("""
            workflow: task-admission
            roles: [office]
            fields:
              department: string
              year: integer
              contact: { type: string, pii: true }
            states:
              admitted: { initial: true, owner: office }
              filed: { owner: office }
              withdrawn: { final: true }
            commands:
              apply: { opens: true, roles: [office] }
              file: { from: [admitted], to: filed, roles: [office] }
              withdraw: { from: [admitted], to: withdrawn, roles: [office] }
            """, file: "task-admission.yaml")
        return d!
    }()

    @Test func sendToMatchingCasesIsCheckedAgainstTheOtherWorkflow() {
        let known = LintContext(knownWorkflows: ["permit", "task-admission"], workflows: ["task-admission": Self.items])
        func send(_ body: String, context: LintContext) -> [String] { lint(Self.base + "    send: \(body)\n", context: context) }
        #expect(send("{ command: withdraw, to-cases-of: task-admission, where: { department: string(case.level) }, in-states: [admitted] }",
                     context: known) == [])
        #expect(send("{ command: withdraw, to-cases-of: task-admision, where: { department: string(case.level) } }",
                     context: LintContext(knownWorkflows: ["permit", "task-admission"])) == [
            "error 32:45 command 'approve' sends to the cases of unknown workflow 'task-admision' | hint: did you mean 'task-admission'?",
        ])
        #expect(send("{ command: withdrew, to-cases-of: task-admission, where: { department: string(case.level) } }", context: known) == [
            "error 32:22 command 'approve' sends 'withdrew', which workflow 'task-admission' has no command of | hint: did you mean 'withdraw'?",
        ])
        #expect(send("{ command: apply, to-cases-of: task-admission, where: { department: string(case.level) } }", context: known) == [
            "error 32:22 command 'approve' sends 'apply', which opens a case of 'task-admission'; the cases it selects are already open | hint: send a command that applies to open cases, or use `open:` to open one",
        ])
        #expect(send("{ command: withdraw, to-cases-of: task-admission, where: { department: string(case.level) }, in-states: [admited, withdrawn, filed] }",
                     context: known) == [
            "error 32:116 workflow 'task-admission' has no state 'admited' | hint: did you mean 'admitted'?",
            "error 32:125 state 'withdrawn' of 'task-admission' is final: its cases take no command | hint: select cases in states 'withdraw' applies in",
            "warning 32:136 'withdraw' does not apply in state 'filed' of 'task-admission': every such case would refuse it | hint: 'withdraw' applies in admitted",
        ])
        #expect(send("{ command: withdraw, to-cases-of: task-admission, where: { departement: string(case.level), year: case.amount, contact: actor } }",
                     context: known) == [
            "error 32:70 workflow 'task-admission' has no field 'departement' to match in command 'approve' | hint: did you mean 'department'?",
            "error 32:109 the expression must be integer, but it is money",
            "error 32:122 field 'contact' of 'task-admission' is personal data (pii) and cannot select cases | hint: match on fields that are not personal data",
        ])
        // Without the other definition only the expressions are checked (against this case and the command's data).
        #expect(send("{ command: withdraw, to-cases-of: task-admission, where: { department: case.nope } }",
                     context: LintContext(knownWorkflows: ["permit", "task-admission"])) == [
            "error 32:82 unknown field 'case.nope' | hint: known names: case.amount, case.level, case.ref, case.urgent, actor, now, role, today",
        ])
        // Sending to the cases of its own workflow is checked against itself.
        #expect(send("{ command: aprove, to-cases-of: permit, where: { level: case.level } }", context: LintContext(knownWorkflows: ["permit"])) == [
            "error 32:22 command 'approve' sends 'aprove', which workflow 'permit' has no command of | hint: did you mean 'approve'?",
        ])
    }

    // MARK: Calendars

    @Test func calendarCoversTheYears() throws {
        let calendars = try Self.calendars()
        #expect(lint(Self.base, context: LintContext(calendars: calendars, years: [2026])) == [])
        // A calendar not named by the workflow is not checked for the year.
        #expect(lint(variant(("calendar: cn\n", ""), ("5 working days", "5 calendar days")),
                     context: LintContext(calendars: calendars, years: [2027])).allSatisfy { !$0.contains("does not cover") })
    }

    /// The finding points at the calendar's name on line 2.
    @Test func calendarNotCoveringAYear() throws {
        let calendars = try Self.calendars()
        #expect(lint(Self.base, context: LintContext(calendars: calendars, years: [2026, 2027])) == [
            "error 2:11 calendar 'cn' does not cover 2027 | hint: add 2027's holidays and weekend swaps to Workflows/calendars/cn-2027.yaml",
        ])
    }

    /// The finding points at the calendar's name on line 2.
    @Test func unknownCalendar() throws {
        let calendars = try Self.calendars()
        #expect(lint(variant(("calendar: cn", "calendar: cnn")), context: LintContext(calendars: calendars, years: [2026])) == [
            "error 2:11 unknown calendar 'cnn' | hint: did you mean 'cn'?",
        ])
        #expect(lint(variant(("calendar: cn", "calendar: us")), context: LintContext(calendars: calendars, years: [2026])) == [
            "error 2:11 unknown calendar 'us' | hint: calendars in Workflows/calendars: cn",
        ])
        // Without calendars in the context, the name is not checked.
        #expect(lint(variant(("calendar: cn", "calendar: us"))) == [])
    }
}
