import CasebookLog
@testable import CasebookTestSupport
import CasebookWorkflow
import Foundation
import Testing

@testable import CasebookAudit

/// Replay with explanations for the workflows the resident-request and admission scenarios do not
/// cover: the values each guard saw, the decision rule that fixed a result, and the deadlines.
@Suite struct ReplayEachWorkflowTests {
    @Test func entrustedServiceShowsTheAssessmentGuardsAndThePaymentDeadline() async throws {
        try await StoreHarness.run(unsafeNoSync: true) { h in
            try await h.publishRepositoryWorkflows()
            try await h.issue("e1", "entrust-per-unit", "department:civil-affairs",
                              #"{"department":"民政局","community":"和平社区","item":"高龄老人走访","unit_price":2500}"#,
                              at: "2026-03-02T09:00:00+08:00", workflow: "entrusted-service")
            try await h.issue("e1", "record-delivery", "community:hp", #"{"quantity":40}"#, at: "2026-03-20T09:00:00+08:00")
            // Assessed beyond what was delivered: refused, with the values the guard saw.
            #expect(try await h.issue("e1", "assess", "assessor:street", #"{"quality":85,"assessed_quantity":50}"#, at: "2026-03-30T09:00:00+08:00") == false)
            try await h.issue("e1", "assess", "assessor:street", #"{"quality":85,"assessed_quantity":40}"#, at: "2026-03-31T09:00:00+08:00")
            let t = try CaseTimeline.build(store: h.store, registry: h.engine.registry, caseId: "e1", explain: true)
            let commands = t.steps.filter { $0.command != nil }
            #expect(commands.map(\.outcome) == ["opened", "accepted", "refused", "accepted"])
            let refused = commands[2]
            let failed = try #require(refused.explanation.first { $0.kind == "guard" && $0.outcome == "false" })
            #expect(failed.subject.contains("data.assessed_quantity <= case.delivered"))
            #expect(failed.values.contains { $0.name == "case.delivered" && $0.value == "40" })
            #expect(failed.values.contains { $0.name == "data.assessed_quantity" && $0.value == "50" })
            let assess = commands[3]
            #expect(assess.from == "entrusted" && assess.to == "payable")
            let clock = try #require(assess.clocks.first { $0.name == "payment" })
            #expect(clock.status == "running" && clock.budget == "30 calendar days")
            #expect(clock.deadline == Timestamp(iso8601: "2026-04-30T23:59:59.999+08:00"), "the end of the 30th calendar day after the assessment")
            #expect(t.final.data["payable"] == .money(100_000))
            #expect(t.text(explain: true).contains("case.delivered=40"))
        }
    }

    @Test func anEvaluationShowsTheDecisionRuleAndTheRectificationItsDeadline() async throws {
        try await StoreHarness.run(unsafeNoSync: true) { h in
            try await h.publishRepositoryWorkflows()
            try await h.issue("v1", "open", "district-office:zhou", #"{"department":"城管局","community":"和平社区","year":2026}"#,
                              at: "2026-03-02T09:00:00+08:00", workflow: "department-evaluation")
            let twos = ["task_assignment", "rating_campaigns", "cost_follows_task", "work_style", "fairness", "openness", "quality",
                        "effect", "funding", "approval"].map { "\"\($0)\":2" }.joined(separator: ",")
            try await h.issue("v1", "rate", "community:hp", "{\(twos)}", at: "2026-03-03T09:00:00+08:00")
            try await h.issue("v1", "conclude", "district-office:zhou", at: "2026-03-04T09:00:00+08:00")
            try await h.issue("v1", "order-rectification", "district-office:zhou", #"{"department":"城管局","community":"和平社区","reason":"评议不满意"}"#,
                              at: "2026-03-05T09:00:00+08:00")
            let v = try CaseTimeline.build(store: h.store, registry: h.engine.registry, caseId: "v1", explain: true)
            let conclude = try #require(v.steps.first { $0.command == "conclude" })
            let decision = try #require(conclude.explanation.first { $0.kind == "decision" })
            #expect(decision.subject == "result")
            #expect(decision.values.contains { $0.name.contains("case.total") && $0.value == "20" })
            #expect(decision.values.contains { $0.value == "unsatisfactory" })
            #expect(v.final.data["result"] == .string("unsatisfactory"))
            let order = try #require(v.steps.first { $0.command == "order-rectification" })
            #expect(order.explanation.contains { $0.kind == "guard" && $0.subject.contains("case.result") && $0.outcome == "true" })

            // The rectification the order opened: its deadline is 20 working days on.
            guard case .string(let rectification)? = v.final.data["rectification"] else {
                Issue.record("no rectification case linked")
                return
            }
            try await h.issue(rectification, "report", "department:cg", #"{"report":"已整改"}"#, at: "2026-03-20T09:00:00+08:00")
            let r = try CaseTimeline.build(store: h.store, registry: h.engine.registry, caseId: rectification, explain: true)
            let opened = try #require(r.steps.first { $0.command == "open" })
            let deadline = try #require(opened.clocks.first { $0.name == "deadline" })
            #expect(deadline.status == "running" && deadline.budget == "20 working days")
            // The deadline the engine recorded when it opened the case, and past the Qingming holiday's eve.
            let recorded = try #require(try h.store.readStream(CaseState.stream(rectification), limit: 1).first)
            let op = try #require(try JSONValue.parse(Data(recorded.payload)).object?["clocks"]?.array?.first?.object)
            #expect(deadline.deadline?.iso8601 == op["deadline"]?.string)
            #expect(try #require(deadline.deadline) > Timestamp(iso8601: "2026-04-01T00:00:00+08:00")!)
            let report = try #require(r.steps.first { $0.command == "report" })
            #expect(report.from == "rectifying" && report.to == "reported")
            #expect(report.explanation.contains { $0.kind == "guard" && $0.values.contains { $0.name == "data.report" } })
            #expect(report.clocks.first { $0.name == "deadline" }?.status == "stopped")
        }
    }

    @Test func aRatingShowsTheSampleGuardTheFundDecisionAndTheSurveyDeadline() async throws {
        try await StoreHarness.run(unsafeNoSync: true) { h in
            try await h.publishRepositoryWorkflows()
            #expect(try await h.issue("cr", "open", "street-office:li", #"{"community":"和平社区","year":2026,"sample":10}"#,
                                      at: "2026-03-02T09:00:00+08:00", workflow: "community-rating"))
            #expect(try await h.issue("cr", "record-visits", "surveyor:wang", surveyVisits(6, satisfied: 5), at: "2026-03-03T17:00:00+08:00"))
            // Concluding before the sample is reached: refused, with the values the guard saw.
            #expect(try await h.issue("cr", "conclude", "district-office:zhou", at: "2026-03-04T10:00:00+08:00") == false)
            #expect(try await h.issue("cr", "record-visits", "surveyor:wang", surveyVisits(4, satisfied: 3), at: "2026-03-05T17:00:00+08:00"))
            #expect(try await h.issue("cr", "conclude", "district-office:zhou", at: "2026-03-06T10:00:00+08:00"))

            let t = try CaseTimeline.build(store: h.store, registry: h.engine.registry, caseId: "cr", explain: true)
            let commands = t.steps.filter { $0.command != nil }
            #expect(commands.map(\.outcome) == ["opened", "accepted", "refused", "accepted", "accepted"])
            let failed = try #require(commands[2].explanation.first { $0.kind == "guard" && $0.outcome == "false" })
            #expect(failed.subject == "case.households >= case.sample")
            #expect(failed.values.contains { $0.name == "case.households" && $0.value == "6" })
            #expect(failed.values.contains { $0.name == "case.sample" && $0.value == "10" })
            // The survey clock: 20 working days counted from the day after Monday 2 March 2026 (no holidays in
            // between): the end of Monday 30 March.
            let opened = try #require(commands.first?.clocks.first { $0.name == "survey" })
            #expect(opened.status == "running" && opened.budget == "20 working days")
            #expect(opened.deadline == Timestamp(iso8601: "2026-03-30T23:59:59.999+08:00"))
            // 8 of 10 households satisfied on every aspect: 80% > 70%, the fund is granted.
            let conclude = commands[4]
            let decision = try #require(conclude.explanation.first { $0.kind == "decision" })
            #expect(decision.subject == "special-fund")
            #expect(decision.values.contains { $0.name == "case.satisfied * 100 > case.answers * 70" && $0.value == "true" })
            #expect(decision.values.contains { $0.name == "→ case.special_fund" && $0.value == "500000" })
            #expect(conclude.clocks.first { $0.name == "survey" }?.status == "stopped")
            #expect(t.final.data["fund_eligible"] == .boolean(true) && t.final.data["special_fund"] == .money(500_000))
            #expect(t.text(explain: true).contains("case.households=6"))
        }
    }

    @Test func aWithdrawalShowsTheAdmittedItemsItChose() async throws {
        try await StoreHarness.run(unsafeNoSync: true) { h in
            try await h.publishRepositoryWorkflows()
            // Two admitted items: one of 城管局 in 和平社区 (withdrawn), one of 城管局 in another community (not).
            for (id, community) in [("adm-hp", "和平社区"), ("adm-xh", "新河社区")] {
                #expect(try await h.issue(id, "apply", "department:城管局", """
                    {"kind":"work-task","title":"市容巡查","community":"\(community)","department":"城管局","has_legal_basis":true,"legal_basis":"《城市市容和环境卫生管理条例》"}
                    """, at: "2026-03-02T09:00:00+08:00", workflow: "task-admission"))
                #expect(try await h.issue(id, "review", "street-office:li", at: "2026-03-03T09:00:00+08:00"))
                #expect(try await h.issue(id, "approve", "district-office:zhou", at: "2026-03-04T09:00:00+08:00"))
                #expect(try await h.issue(id, "admit", "district-office:zhou", at: "2026-03-05T09:00:00+08:00"))
            }
            #expect(try await h.issue("r1", "open", "district-office:zhou", #"{"department":"城管局","community":"和平社区","reason":"评议不满意"}"#,
                              at: "2026-03-10T09:00:00+08:00", workflow: "rectification"))
            #expect(try await h.issue("r1", "report", "department:cg", #"{"report":"已开会"}"#, at: "2026-03-20T09:00:00+08:00"))
            #expect(try await h.issue("r1", "find-no-change", "community:hp", at: "2026-03-27T09:00:00+08:00"))
            #expect(try await h.issue("r1", "withdraw-work", "district-office:zhou", at: "2026-04-01T09:00:00+08:00"))

            let r = try CaseTimeline.build(store: h.store, registry: h.engine.registry, caseId: "r1")
            let chose = try #require(r.steps.first { $0.outcome == "targeted" })
            #expect(chose.data["targets"] == "adm-hp")
            #expect(chose.data["send"] == "withdraw" && chose.data["workflow"] == "task-admission")
            #expect(chose.data["where"] == "community=和平社区, department=城管局")
            #expect(chose.data["inStates"] == "admitted")
            let text = r.text(explain: false)
            #expect(text.contains("targeted by district-office:zhou"))
            #expect(text.contains("targets=adm-hp"))
            #expect(try h.engine.load("adm-hp")?.state == "withdrawn" && h.engine.load("adm-xh")?.state == "admitted")
        }
    }
}
