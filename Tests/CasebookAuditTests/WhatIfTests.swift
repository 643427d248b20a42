import CasebookLog
import CasebookTestSupport
import CasebookWorkflow
import Foundation
import Testing

@testable import CasebookAudit

@Suite struct WhatIfTests {
    /// A copy of resident-request with its catalogue beside it, `edit` applied to the catalogue text.
    func alternative(in dir: String, definition editDefinition: (String) -> String = { $0 }, catalogue edit: (String) -> String = { $0 }) throws -> String {
        let alt = dir + "/alt"
        try FileManager.default.createDirectory(atPath: alt + "/catalogues", withIntermediateDirectories: true)
        let definition = try String(contentsOfFile: workflowsDirectory + "/resident-request.yaml", encoding: .utf8)
        try editDefinition(definition).write(toFile: alt + "/resident-request.yaml", atomically: true, encoding: .utf8)
        let catalogue = try String(contentsOfFile: workflowsDirectory + "/catalogues/service-items.yaml", encoding: .utf8)
        let edited = edit(catalogue)
        #expect(edited != catalogue || editDefinition(definition) != definition, "the edit should change something")
        try edited.write(toFile: alt + "/catalogues/service-items.yaml", atomically: true, encoding: .utf8)
        return alt + "/resident-request.yaml"
    }

    @Test func aLongerPublishedLimitMovesTheDeadline() async throws {
        try await StoreHarness.run(unsafeNoSync: true) { h in
            try await h.publishRepositoryWorkflows()
            _ = try await h.residentRequest("r1")
            let file = try alternative(in: h.dir, catalogue: {
                $0.split(separator: "\n", omittingEmptySubsequences: false).map { line in
                    line.contains("id: residence-certificate,") ? line.replacingOccurrences(of: "limit_days: 3,", with: "limit_days: 7,") : String(line)
                }.joined(separator: "\n")
            })
            let before = h.store.count
            let report = try await WhatIfReport.run(store: h.store, registry: h.engine.registry, caseId: "r1", workflowFile: file,
                                                    calendarDirectory: calendarDirectory)
            #expect(h.store.count == before, "what-if runs in a scratch store, never the real one")
            #expect(report.steps.map(\.command) == ["receive", "notify-missing", "supply-materials", "notify-missing", "complete", "rate"])
            // Every command has the same outcome and state …
            for s in report.steps {
                #expect(s.original.accepted == s.alternative.accepted, "\(s.command)")
                #expect(s.original.state == s.alternative.state, "\(s.command)")
                #expect(!s.differences.contains { $0.subject == "outcome" || $0.subject == "state" })
            }
            // … but the deadline set at receipt is later, and so is the one after the materials came.
            let receive = report.steps[0]
            let budget = try #require(receive.differences.first { $0.subject == "budget completion" })
            #expect(budget.before == "3 working days" && budget.after == "7 working days")
            let deadline = try #require(receive.differences.first { $0.subject == "deadline completion" })
            let (was, now) = (Timestamp(iso8601: deadline.before), Timestamp(iso8601: deadline.after))
            #expect(was != nil && now != nil && now! > was!, "both are deadlines, and the new one is later")
            #expect(report.steps[2].differences.contains { $0.subject == "deadline completion" })
            // Paused, completed: no deadline either way (the clock keeps its budget).
            #expect(report.steps[1].differences.map(\.subject) == ["budget completion"])
            #expect(report.steps[4].differences.map(\.subject) == ["budget completion"])
            #expect(report.divergent.first?.position == receive.position)
            #expect(report.text.contains("budget completion: recorded 3 working days | would be 7 working days"))
            // The real case is as it was.
            #expect(try CaseTimeline.build(store: h.store, registry: h.engine.registry, caseId: "r1").final.state == "closed")
        }
    }

    @Test func aSecondNoticeAllowedChangesOutcomesAndStates() async throws {
        try await StoreHarness.run(unsafeNoSync: true) { h in
            try await h.publishRepositoryWorkflows()
            _ = try await h.residentRequest("r1")
            let file = try alternative(in: h.dir, definition: {
                $0.replacingOccurrences(of: "{ if: \"case.notices == 0\",", with: "{ if: \"case.notices < 2\",")
            })
            let report = try await WhatIfReport.run(store: h.store, registry: h.engine.registry, caseId: "r1", workflowFile: file,
                                                    calendarDirectory: calendarDirectory)
            #expect(report.steps.count == 6)
            #expect(report.steps[0].differences.isEmpty)  // same catalogue, same deadline
            let second = report.steps[3]
            #expect(second.command == "notify-missing")
            #expect(!second.original.accepted && second.alternative.accepted)
            #expect(second.differences.contains { $0.subject == "outcome" && $0.before.hasPrefix("refused (guard") && $0.after == "accepted" })
            #expect(second.differences.contains { $0.subject == "state" && $0.before == "in-progress" && $0.after == "waiting-materials" })
            // Completion is then refused (the case waits for materials), and the rating too.
            #expect(report.steps[4].alternative.accepted == false && report.steps[4].alternative.refusal?.hasPrefix("state") == true)
            #expect(report.steps[5].alternative.state == "waiting-materials")
            #expect(report.divergent.first?.position == second.position)
        }
    }
}
