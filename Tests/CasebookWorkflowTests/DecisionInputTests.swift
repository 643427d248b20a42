import CasebookLog
import CasebookTestSupport
import Foundation
import Testing

@testable import CasebookWorkflow

/// A decision table consulted by an opening command classifies on the command's own data.
private let catalogueYAML = """
    workflow: certificate
    calendar: cn
    roles: [counter]
    fields:
      item: string
      category: { type: enum, values: [must-issue, may-issue, may-not-issue] }
    states:
      received: { initial: true, owner: counter }
      done: { final: true }
    commands:
      receive:
        opens: true
        roles: [counter]
        data: { item: { type: string, required: true } }
        decide: [catalogue]
        set: { item: data.item }
      issue:
        from: [received]
        to: done
        roles: [counter]
        guard: { if: "case.category != 'may-not-issue'", message: 社区不得出具此类证明 the community may not issue this certificate }
    decisions:
      catalogue:
        hit: first
        inputs: [data.item]
        outputs: [category]
        rules:
          - { when: [[居住证明, 低保证明]], then: [must-issue] }
          - { when: [亲属关系证明], then: [may-not-issue] }
          - { when: ["-"], then: [may-issue] }
    """

@Suite struct DecisionInputTests {
    @Test func aTableConsultedByACommandReadsItsData() async throws {
        try await StoreHarness.run { h in
            try await h.publish(catalogueYAML, file: "certificate.yaml")
            let counter = Actor(role: "counter", id: "wang")
            let t = Timestamp(iso8601: "2026-03-02T09:00:00+08:00")!
            for (id, item, category) in [("c1", "居住证明", "must-issue"), ("c2", "亲属关系证明", "may-not-issue"), ("c3", "其他", "may-issue")] {
                guard case .accepted(let state, _) = try await h.engine.open(
                    workflow: "certificate", caseId: id, actor: counter, data: .object(["item": .string(item)]), at: t)
                else { Issue.record("\(id) refused"); continue }
                #expect(state.data["category"] == .string(category), "\(item)")
            }
            guard case .rejected(let r, _) = try await h.engine.handle(caseId: "c2", command: "issue", actor: counter, at: t) else {
                Issue.record("a may-not-issue certificate was issued"); return
            }
            #expect(r.check == .guardFailed && r.message.contains("may not issue"))
            guard case .accepted = try await h.engine.handle(caseId: "c1", command: "issue", actor: counter, at: t) else {
                Issue.record("a must-issue certificate was refused"); return
            }
        }
    }

    @Test func theLinterOnlyAllowsDataEveryConsultingCommandCarries() {
        let yaml = catalogueYAML.replacingOccurrences(of: "  issue:\n    from: [received]", with: "  issue:\n    decide: [catalogue]\n    from: [received]")
        #expect(yaml != catalogueYAML)
        let (definition, problems) = DefinitionParser.parse(yaml, file: "c.yaml")
        #expect(problems.isEmpty)
        let findings = Linter.lint(try! #require(definition)).filter { $0.severity == .error }
        #expect(findings.map(\.message) == ["unknown field 'data.item'"])
    }
}
