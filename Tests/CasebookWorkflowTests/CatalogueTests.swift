import CasebookLog
import CasebookTestSupport
import Foundation
import Testing

@testable import CasebookWorkflow

// Catalogue files (Workflows/catalogues/*.yaml): parsing with file:line:column diagnostics, the linter's
// checks of decision tables read from catalogues and of clock budget fields, publishing with the
// definition under its hash, and the expression additions the resident request uses.

@Suite struct CatalogueTests {
    static let file = "catalogues/items.yaml"

    static func problems(_ yaml: String) -> [String] {
        do {
            _ = try Catalogue.parse(yaml: yaml, file: file)
            return []
        } catch {
            return error.diagnostics.map(\.description)
        }
    }

    static let good = """
        catalogue: items
        columns:
          title: string
          days: integer
          kind: { enum: [must, may-not] }
        items:
          - { id: a-1, title: A, days: 3, kind: must }
          - { id: b-2, title: B, days: 5, kind: may-not }
        """

    // MARK: The shipped catalogue

    @Test func serviceItemCatalogueReads() throws {
        let path = workflowsDirectory + "/catalogues/service-items.yaml"
        let c = try Catalogue.load(path: path)
        #expect(c.name == "service-items")
        #expect((20...25).contains(c.items.count))
        #expect(Set(c.items.map(\.id)).count == c.items.count)
        #expect(c.column("certificate")?.type == .enumeration(["none", "must", "may", "may-not"]))
        let mayNot = c.items.filter { $0.values["certificate"] == .string("may-not") }
        #expect(Set(mayNot.map(\.id)).isSuperset(of: ["kinship-certificate", "no-criminal-record-certificate", "property-certificate", "marital-status-certificate"]))
        for item in mayNot { #expect(item.values["referral"] != .string(""), "\(item.id) needs a referral") }
        for item in c.items where item.values["certificate"] != .string("may-not") {
            guard case .integer(let days)? = item.values["limit_days"] else { Issue.record("\(item.id) has no limit"); continue }
            #expect(days > 0, "\(item.id) needs a published limit")
        }
    }

    // MARK: Parse errors, at file:line:column

    @Test func goodCatalogueParses() throws {
        let c = try Catalogue.parse(yaml: Self.good, file: Self.file)
        #expect(c.items.map(\.id) == ["a-1", "b-2"])
        #expect(c.item("b-2")?.values == ["title": .string("B"), "days": .integer(5), "kind": .string("may-not")])
        #expect(c.item("b-2")?.location.line == 8)
    }

    @Test func valuesMustFitTheirColumns() {
        let yaml = Self.good
            .replacingOccurrences(of: "days: 3, kind: must", with: "days: three, kind: mst")
            .replacingOccurrences(of: "id: b-2", with: "id: a-1")
        #expect(Self.problems(yaml) == [
            "catalogues/items.yaml:7:32: error: 'three' is not a whole number (column 'days' is integer)\n  hint: write e.g. `days: 5`",
            "catalogues/items.yaml:7:45: error: 'mst' is not one of must, may-not (column 'kind')\n  hint: did you mean 'must'? allowed values: must, may-not",
            "catalogues/items.yaml:8:11: error: item id 'a-1' is used twice\n  hint: the first is at line 7; ids must be unique",
        ])
    }

    @Test func missingAndUnknownColumnsAndBadIds() {
        let yaml = Self.good
            .replacingOccurrences(of: "{ id: a-1, title: A, days: 3, kind: must }", with: "{ id: a-1, title: A, kind: must, colour: red }")
            .replacingOccurrences(of: "id: b-2", with: "id: b 2")
        let found = Self.problems(yaml)
        #expect(found.contains("catalogues/items.yaml:7:38: error: unknown key 'colour' in an item\n  hint: allowed keys: id, title, days, kind"))
        #expect(found.contains { $0.hasPrefix("catalogues/items.yaml:7:5: error: item 'a-1' has no 'days'") })
        #expect(found.contains { $0.hasPrefix("catalogues/items.yaml:8:11: error: invalid item id 'b 2'") })
    }

    @Test func columnTypesAndShapeAreChecked() {
        #expect(Self.problems(Self.good.replacingOccurrences(of: "days: integer", with: "days: money")) == [
            "catalogues/items.yaml:4:9: error: column 'days' cannot be money\n  hint: catalogue columns are string, text, integer, boolean, or an enum (`{ enum: [a, b] }`)",
        ])
        #expect(Self.problems(Self.good.replacingOccurrences(of: "catalogue: items\n", with: "")).first?
            .hasPrefix("catalogues/items.yaml:1:1: error: the catalogue file has no 'catalogue'") == true)
        #expect(Self.problems(Self.good.replacingOccurrences(of: "  - { id: a-1", with: "  - { id: a-1 ,,")).first?
            .hasPrefix("catalogues/items.yaml:7:") == true)
        #expect(Self.problems(Self.good + "\ncolumns: {}\n").contains { $0.hasPrefix("catalogues/items.yaml:9:1: error: 'columns' appears twice in the catalogue file") })
    }

    @Test func fileMustBeNamedAfterItsCatalogue() {
        #expect(throws: DiagnosticList.self) { try Catalogue.collect([("catalogues/other.yaml", Self.good)]) }
        #expect((try? Catalogue.collect([(Self.file, Self.good)]))?.keys.sorted() == ["items"])
    }

    // MARK: Lint: decision tables from catalogues, budget fields

    static let workflow = """
        workflow: w
        calendar: cn
        catalogues: [items]
        roles: [clerk]
        fields:
          item: string
          title: string
          days: integer
          kind: enum(must, may-not)
        states:
          open: { initial: true, owner: clerk }
          done: { final: true }
        clocks:
          limit:
            budget: 5 working days
            budget-field: days
            on-breach: { event: late }
        decisions:
          lookup:
            catalogue: items
            key: data.item
            outputs: { title: title, days: days, kind: kind }
        commands:
          start:
            opens: true
            roles: [clerk]
            data: { item: { type: string, required: true } }
            decide: [lookup]
            set: { item: data.item }
            clocks: { limit: start }
          finish:
            from: [open]
            to: done
            roles: [clerk]
            clocks: { limit: stop }
        """

    static func lint(_ yaml: String, catalogues: [String: Catalogue]? = nil) throws -> [String] {
        let (parsed, diagnostics) = DefinitionParser.parse(yaml, file: "w.yaml")
        if !diagnostics.isEmpty { return diagnostics.map(\.description) }
        let definition = try #require(parsed)
        let set = try catalogues ?? Catalogue.collect([(file, good)])
        let calendars = try CalendarSet.load(directory: calendarDirectory).calendars
        return Linter.lint(definition, context: LintContext(calendars: calendars, years: [2026], catalogues: set)).map(\.description)
    }

    @Test func cleanWorkflowLintsClean() throws {
        #expect(try Self.lint(Self.workflow) == [])
    }

    @Test func catalogueLintErrors() throws {
        #expect(try Self.lint(Self.workflow, catalogues: [:]) == [
            "w.yaml:3:14: error: unknown catalogue 'items'\n  hint: no readable catalogues/items.yaml beside the definition: add it (`catalogue: items`), or fix its errors",
        ])
        #expect(try Self.lint(Self.workflow.replacingOccurrences(of: "catalogues: [items]\n", with: "")) == [
            "w.yaml:19:16: error: decision 'lookup' reads catalogue 'items', which the workflow does not list\n  hint: add `catalogues: [items]` at the top of the definition",
        ])
        #expect(try Self.lint(Self.workflow.replacingOccurrences(of: "days: days, kind", with: "days: title, kind")) == [
            "w.yaml:22:36: error: decision 'lookup' cannot fill 'days' (integer) from column 'title' (string): the types differ\n  hint: make the field's type match the column's",
        ])
        #expect(try Self.lint(Self.workflow.replacingOccurrences(of: "title: title,", with: "title: name,")) == [
            "w.yaml:22:23: error: catalogue 'items' has no column 'name'\n  hint: columns: title, days, kind",
        ])
        #expect(try Self.lint(Self.workflow.replacingOccurrences(of: "  kind: enum(must, may-not)", with: "  kind: enum(must, may)")) == [
            "w.yaml:22:48: error: decision 'lookup' cannot fill 'kind' (enum(must, may)) from column 'kind' (enum(must, may-not)): item 'b-2' (line 8) has 'may-not', which is not one of must, may\n  hint: make the field's type match the column's",
        ])
        #expect(try Self.lint(Self.workflow.replacingOccurrences(of: "{ title: title,", with: "{ titel: title,")).first?
            .hasPrefix("w.yaml:22:16: error: unknown case field 'titel' in the outputs of decision 'lookup'") == true)
        #expect(try Self.lint(Self.workflow.replacingOccurrences(of: "key: data.item", with: "key: case.days")) == [
            "w.yaml:21:10: error: the key of decision 'lookup' is integer, but item ids are strings\n  hint: write an expression whose value is an item id, e.g. `key: data.item`",
        ])
        #expect(try Self.lint(Self.workflow.replacingOccurrences(of: "key: data.item", with: "hit: first\n    key: data.item")).first?
            .hasPrefix("w.yaml:21:5: error: decision 'lookup' takes its rules from a catalogue, so it has no 'hit'") == true)
    }

    @Test func budgetFieldMustBeAnIntegerField() throws {
        #expect(try Self.lint(Self.workflow.replacingOccurrences(of: "budget-field: days", with: "budget-field: title")) == [
            "w.yaml:16:19: error: clock 'limit' takes its budget from 'title', which is string, not integer\n  hint: declare `title: integer` (the amount, in the unit of `budget`)",
        ])
        #expect(try Self.lint(Self.workflow.replacingOccurrences(of: "budget-field: days", with: "budget-field: dayz")).first?
            .hasPrefix("w.yaml:16:19: error: unknown case field 'dayz' in the budget-field of clock 'limit'") == true)
    }

    // MARK: Publishing: catalogues go with the definition, under its hash

    @Test func catalogueIsPublishedWithTheDefinitionAndPinnedByItsHash() async throws {
        try await StoreHarness.run { h in
            try FileManager.default.createDirectory(atPath: h.dir + "/catalogues", withIntermediateDirectories: true)
            try Self.good.write(toFile: h.dir + "/catalogues/items.yaml", atomically: true, encoding: .utf8)
            let first = try await h.publish(Self.workflow, file: "w.yaml")
            #expect(first.catalogueSources.map(\.file) == ["catalogues/items.yaml"])
            let published = try #require(try h.store.readStream(WorkflowRegistry.stream, limit: Int.max).last)
            #expect(enginePayload(published)["catalogues"]?.array?.first?.object?["source"] == .string(Self.good))

            // The fixed budget applies when the budget field is unset; the item's days when it is set.
            let t = at("2026-03-02T09:00+08:00")
            let opened = try #require(try await h.engine.open(workflow: "w", caseId: "c1", actor: Actor(role: "clerk", id: "x"),
                                                               data: json(#"{"item":"b-2"}"#), at: t).acceptedState)
            #expect(opened.data["days"] == .integer(5) && opened.data["kind"] == .string("may-not") && opened.data["title"] == .string("B"))
            #expect(opened.clocks["limit"]?.budget == .workingDays(5))

            // A changed catalogue is a new definition; the open case stays pinned to the old one.
            try Self.good.replacingOccurrences(of: "days: 5", with: "days: 2").write(toFile: h.dir + "/catalogues/items.yaml", atomically: true, encoding: .utf8)
            let second = try await h.publish(Self.workflow, file: "w.yaml")
            #expect(second.hash != first.hash)
            #expect(try h.state("c1").definitionHash == first.hash)
            let newer = try #require(try await h.engine.open(workflow: "w", caseId: "c2", actor: Actor(role: "clerk", id: "x"),
                                                              data: json(#"{"item":"b-2"}"#), at: t).acceptedState)
            #expect(newer.clocks["limit"]?.budget == .workingDays(2))
            // A fresh registry over the store recompiles both from the log, catalogues included.
            let fresh = WorkflowRegistry(store: h.store)
            #expect(try fresh.definition(hash: first.hash).catalogues["items"]?.item("b-2")?.values["days"] == .integer(5))
            #expect(try fresh.latest("w").hash == second.hash)
        }
    }

    @Test func publishingWithoutTheCatalogueFileFails() async throws {
        try await StoreHarness.run { h in
            await #expect(throws: DiagnosticList.self) { try await h.publish(Self.workflow, file: "w.yaml") }
        }
    }

    @Test func fixedBudgetWhenTheFieldIsUnset() async throws {
        try await StoreHarness.run { h in
            let yaml = Self.workflow.replacingOccurrences(of: "    decide: [lookup]\n", with: "")
                .replacingOccurrences(of: "catalogues: [items]\n", with: "")
                .replacingOccurrences(of: "decisions:\n  lookup:\n    catalogue: items\n    key: data.item\n    outputs: { title: title, days: days, kind: kind }\n", with: "")
            try await h.publish(yaml, file: "w.yaml")
            let opened = try #require(try await h.engine.open(workflow: "w", caseId: "f1", actor: Actor(role: "clerk", id: "x"),
                                                               data: json(#"{"item":"zzz"}"#), at: at("2026-03-02T09:00+08:00")).acceptedState)
            #expect(opened.clocks["limit"]?.budget == .workingDays(5))
            let ops = enginePayload(try h.events("f1")[0])["clocks"]
            #expect(ops == json(#"[{"clock":"limit","op":"start","budget":"5 working days","deadline":"2026-03-09T15:59:59.999Z"}]"#))
        }
    }

    // MARK: Expressions: joining strings, string(), in_office_hours()

    static func value(_ source: String, officeHours: OfficeHours? = nil, at time: String = "2026-03-02T09:00+08:00") throws -> Value {
        let env = ExpressionEnvironment(caseFields: ["name": .string, "note": .text, "kind": .enumeration(["a", "b"])],
                                        commandFields: ["t": .datetime], officeHours: officeHours != nil)
        let e = try Expression.compile(source, at: CasebookWorkflow.SourceLocation(file: "x", line: 1, column: 1), in: env, expecting: nil)
        return try e.evaluate(EvaluationContext(caseData: ["name": .string("王"), "note": .string("备注"), "kind": .string("a")],
                                                commandData: ["t": .datetime(at("2026-03-03T12:30+08:00"))], now: at(time),
                                                officeHours: officeHours))
    }

    @Test func plusJoinsStrings() throws {
        #expect(try Self.value(#""请到 " + case.name + " 办理""#) == .string("请到 王 办理"))
        #expect(try Self.value(#"case.note + case.kind"#) == .string("备注a"))
        let env = ExpressionEnvironment(caseFields: ["name": .string, "n": .integer], commandFields: [:])
        let at = CasebookWorkflow.SourceLocation(file: "x", line: 1, column: 1)
        #expect(throws: Diagnostic.self) { try Expression.compile(#"case.name + case.n"#, at: at, in: env, expecting: nil) }
        do {
            _ = try Expression.compile(#"case.name + case.n"#, at: at, in: env, expecting: nil)
        } catch {
            #expect(error.message == "cannot add string and integer")
            #expect(error.hint == "'+' joins two strings; write string(x) for the text of another value")
        }
        #expect(try Self.value(#"case.name + string(data.t)"#) == .string("王2026-03-03T04:30:00.000Z"))
    }

    @Test func officeHoursOnTheCalendarsWorkingDays() throws {
        let calendar = try #require(try CalendarSet.load(directory: calendarDirectory).calendars["cn"])
        let hours = OfficeHours(calendar: calendar, periods: [try #require(OfficeHours.Period("08:30-12:00")), try #require(OfficeHours.Period("14:00-17:30"))])
        #expect(try Self.value("in_office_hours(data.t)", officeHours: hours) == .boolean(false))  // 12:30, lunch
        for (time, open) in [("2026-03-03T08:29+08:00", false), ("2026-03-03T08:30+08:00", true), ("2026-03-03T11:59+08:00", true),
                             ("2026-03-03T17:30+08:00", false), ("2026-03-07T10:00+08:00", false), ("2026-02-14T10:00+08:00", true),
                             ("2026-10-01T10:00+08:00", false)] {
            #expect(try hours.contains(at(time)) == open, "\(time)")
        }
        #expect(OfficeHours.Period("12:00-08:30") == nil && OfficeHours.Period("8:30-12:00") == nil && OfficeHours.Period("00:00-24:00") != nil)
        // Without office hours the function is refused when the expression is compiled.
        let env = ExpressionEnvironment(caseFields: [:], commandFields: ["t": .datetime])
        #expect(throws: Diagnostic.self) {
            try Expression.compile("in_office_hours(data.t)", at: CasebookWorkflow.SourceLocation(file: "x", line: 1, column: 1), in: env)
        }
    }

    @Test func officeHoursSettingIsChecked() throws {
        let withHours = Self.workflow.replacingOccurrences(of: "calendar: cn\n", with: "calendar: cn\noffice-hours: [\"08:30-12:00\", \"11:00-17:30\"]\n")
        #expect(try Self.lint(withHours) == ["w.yaml:3:15: error: office hours 08:30-12:00 and 11:00-17:30 overlap\n  hint: list each period of the day once"])
        let bad = Self.workflow.replacingOccurrences(of: "calendar: cn\n", with: "calendar: cn\noffice-hours: [\"8:30-12\"]\n")
        #expect(try Self.lint(bad).first?.hasPrefix("w.yaml:3:16: error: '8:30-12' is not a period of the day") == true)
    }

    @Test func assignmentsSeeTheOfficeHoursToo() async throws {
        try await StoreHarness.run { h in
            try await h.publish("""
                workflow: visit
                version: 1
                title: Visit
                calendar: cn
                office-hours: ["08:30-12:00", "14:00-17:30"]
                roles: [clerk]
                fields:
                  during_hours: boolean
                states:
                  booked: { initial: true, owner: clerk }
                  done: { final: true }
                commands:
                  book:
                    opens: true
                    roles: [clerk]
                    data: { time: { type: datetime, required: true } }
                    set: { during_hours: in_office_hours(data.time) }
                  finish: { from: [booked], to: done, roles: [clerk] }
                """, file: "visit.yaml")
            let clerk = Actor(role: "clerk", id: "wang")
            let at = Timestamp(iso8601: "2026-03-02T08:00:00+08:00")!
            for (id, time, expected) in [("v1", "2026-03-02T10:00:00+08:00", true), ("v2", "2026-03-02T19:00:00+08:00", false)] {
                let outcome = try await h.engine.open(workflow: "visit", caseId: id, actor: clerk, data: .object(["time": .string(time)]), at: at)
                guard case .accepted(let state, _) = outcome else {
                    Issue.record("\(id) refused: \(outcome)")
                    continue
                }
                #expect(state.data["during_hours"] == .boolean(expected), "\(time)")
            }
        }
    }
}
