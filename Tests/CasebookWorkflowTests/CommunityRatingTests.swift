import CasebookLog
import CasebookTestSupport
import Foundation
import Testing

@testable import CasebookWorkflow

// Scenario tests for Workflows/community-rating.yaml: residents rate their community (居民评议社区, 双评议),
// a household survey on seven aspects, with Nantong's 70% special-fund line (seed 000).

private let street = Actor(role: "street-office", id: "新河街道")
private let surveyor = Actor(role: "surveyor", id: "王芳")
private let office = Actor(role: "district-office", id: "周主任")
private let oct12 = at("2026-10-12T09:00:00+08:00")  // a Monday

/// `record-visits` data, as JSON.
private func visits(_ households: Int, satisfied: Int, _ overrides: [String: Int] = [:]) -> JSONValue {
    json(surveyVisits(households, satisfied: satisfied, overrides))
}

@Suite struct CommunityRatingTests {
    func publish(_ h: StoreHarness) async throws {
        try await h.publishRepositoryWorkflow("community-rating")
    }

    func open(_ h: StoreHarness, _ id: String, sample: Int) async throws {
        let outcome = try await h.engine.open(
            workflow: "community-rating", caseId: id, actor: street,
            data: json(#"{"community":"新河社区","street":"新河街道","year":2026,"period":"2026","sample":\#(sample)}"#), at: oct12)
        #expect(outcome.acceptedState?.state == "surveying")
    }

    func accept(_ h: StoreHarness, _ id: String, _ command: String, as actor: Actor, _ data: JSONValue = .object([:]),
                at: Timestamp = oct12, sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws -> CaseState {
        let outcome = try await h.engine.handle(caseId: id, command: command, actor: actor, data: data, at: at)
        return try #require(outcome.acceptedState, "\(command) refused: \(String(describing: outcome.rejection))", sourceLocation: sourceLocation)
    }

    @Test func theDefinitionLintsCleanWithChineseAndEnglishTitles() throws {
        let calendars = try CalendarSet.load(directory: calendarDirectory).calendars
        let (parsed, diagnostics) = DefinitionParser.parse(contentsOf: workflowsDirectory + "/community-rating.yaml")
        #expect(diagnostics.map(\.description) == [])
        let d = try #require(parsed)
        #expect(d.name == "community-rating" && d.title == "居民评议社区 Residents' rating of their community")
        #expect(Linter.lint(d, context: LintContext(knownWorkflows: ["community-rating"], calendars: calendars, years: [2026])).map(\.description) == [])
        // Seven aspects, each a count of satisfied households.
        let aspects = ["service", "management", "democracy", "environment", "safety", "culture", "openness"]
        #expect(aspects.allSatisfy { d.field($0)?.type == .integer })
        #expect(d.commands.allSatisfy { ($0.title ?? "").unicodeScalars.contains { $0.value >= 0x4E00 } })
    }

    @Test func aSurveyAboveSeventyPercentEarnsTheSpecialFundAndIsDisclosed() async throws {
        try await StoreHarness.run { h in
            try await publish(h)
            try await open(h, "cr-1", sample: 20)
            // A batch cannot have more satisfied households than it visited, nor visit nobody.
            let tooMany = try await h.engine.handle(caseId: "cr-1", command: "record-visits", actor: surveyor, data: visits(10, satisfied: 11), at: oct12)
            #expect(tooMany.rejection?.check == .guardFailed)
            #expect(try await h.engine.handle(caseId: "cr-1", command: "record-visits", actor: surveyor, data: visits(0, satisfied: 0), at: oct12)
                .rejection?.check == .guardFailed)
            // Only surveyors record visits.
            #expect(try await h.engine.handle(caseId: "cr-1", command: "record-visits", actor: street, data: visits(10, satisfied: 9), at: oct12)
                .rejection?.check == .role)

            var s = try await accept(h, "cr-1", "record-visits", as: surveyor, visits(12, satisfied: 11, ["democracy": 8, "openness": 9]))
            #expect(s.data["households"] == .integer(12) && s.data["answers"] == .integer(84) && s.data["satisfied"] == .integer(72))
            // Not before the sample of 20 households is reached.
            let early = try await h.engine.handle(caseId: "cr-1", command: "conclude", actor: office, at: oct12)
            #expect(early.rejection?.check == .guardFailed)
            #expect(early.rejection?.message.contains("sample") == true)

            s = try await accept(h, "cr-1", "record-visits", as: surveyor, visits(8, satisfied: 7, ["safety": 8]),
                                 at: at("2026-10-14T10:00:00+08:00"))
            #expect(s.data["households"] == .integer(20) && s.data["batches"] == .integer(2))
            #expect(s.data["service"] == .integer(18) && s.data["democracy"] == .integer(15) && s.data["safety"] == .integer(19))
            #expect(s.data["answers"] == .integer(140) && s.data["satisfied"] == .integer(122))  // 87.1%

            s = try await accept(h, "cr-1", "conclude", as: office, at: at("2026-10-16T10:00:00+08:00"))
            #expect(s.state == "concluded")
            #expect(s.data["fund_eligible"] == .boolean(true))
            #expect(s.data["special_fund"] == .money(500_000))
            s = try await accept(h, "cr-1", "publish", as: street, at: at("2026-10-19T10:00:00+08:00"))
            #expect(s.state == "published")
            #expect(try h.types("cr-1").contains("community-rating.published"))
        }
    }

    @Test func exactlySeventyPercentIsNotAboveTheLine() async throws {
        try await StoreHarness.run { h in
            try await publish(h)
            try await open(h, "cr-70", sample: 10)
            // 10 households × 7 aspects = 70 answers, 49 satisfied: exactly 70%, which does not exceed it.
            _ = try await accept(h, "cr-70", "record-visits", as: surveyor, visits(10, satisfied: 7))
            var s = try await accept(h, "cr-70", "conclude", as: office)
            #expect(s.data["satisfied"] == .integer(49) && s.data["answers"] == .integer(70))
            #expect(s.data["fund_eligible"] == .boolean(false) && s.data["special_fund"] == .money(0))

            try await open(h, "cr-71", sample: 10)
            _ = try await accept(h, "cr-71", "record-visits", as: surveyor, visits(10, satisfied: 7, ["service": 8]))
            s = try await accept(h, "cr-71", "conclude", as: office)
            #expect(s.data["satisfied"] == .integer(50) && s.data["fund_eligible"] == .boolean(true))
        }
    }

    @Test func aSurveyStillOpenAfterTwentyWorkingDaysIsFlaggedOverdue() async throws {
        try await StoreHarness.run { h in
            try await publish(h)
            try await open(h, "cr-late", sample: 30)
            _ = try await accept(h, "cr-late", "record-visits", as: surveyor, visits(10, satisfied: 9))
            // 20 working days from Monday 12 October: due at the end of Monday 9 November.
            #expect(try await h.engine.runTimers(until: at("2026-11-09T23:00:00+08:00")).isEmpty)
            let fired = try await h.engine.runTimers(until: at("2026-11-10T09:00:00+08:00"))
            #expect(fired.map(\.caseId) == ["cr-late"])
            let s = try h.state("cr-late")
            #expect(s.data["overdue"] == .boolean(true) && s.state == "surveying")
        }
    }
}
