import CasebookLog
import CasebookTestSupport
import Foundation
import Testing

@testable import CasebookWorkflow

// Scenario tests for Workflows/entrusted-service.yaml ("cost follows task", 费随事转),
// Workflows/department-evaluation.yaml (communities rate departments, 双评议) and
// Workflows/rectification.yaml (整改, withdrawal from the community).

private let department = Actor(role: "department", id: "civil-affairs")
private let community = Actor(role: "community", id: "xinhe")
private let assessor = Actor(role: "assessor", id: "street-office")
private let office = Actor(role: "district-office", id: "zhou")
private let panel = Actor(role: "community", id: "xinhe-panel")

private let march2 = at("2026-03-02T09:00:00+08:00")  // a Monday

extension StoreHarness {
    /// Issues a command that must be accepted and returns the case afterwards.
    @discardableResult
    fileprivate func accept(
        _ caseId: String, _ command: String, as actor: Actor, _ data: String = "{}", at: Timestamp = march2,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async throws -> CaseState {
        let outcome = try await engine.handle(caseId: caseId, command: command, actor: actor, data: json(data), at: at)
        return try #require(outcome.acceptedState, "\(command) on \(caseId) refused: \(String(describing: outcome.rejection))",
                            sourceLocation: sourceLocation)
    }

    /// Opens a case with an opening command that must be accepted.
    @discardableResult
    fileprivate func openCase(
        _ workflow: String, _ caseId: String, command: String? = nil, as actor: Actor, _ data: String, at: Timestamp = march2,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async throws -> CaseState {
        let outcome = try await engine.open(workflow: workflow, caseId: caseId, command: command, actor: actor, data: json(data), at: at)
        return try #require(outcome.acceptedState, "opening \(caseId) refused: \(String(describing: outcome.rejection))",
                            sourceLocation: sourceLocation)
    }

    /// Opens an entrusted-service case paid per unit and records the work delivered.
    fileprivate func entrustPerUnit(_ caseId: String, unitPrice fen: Int, delivered: [Int]) async throws {
        try await openCase("entrusted-service", caseId, command: "entrust-per-unit", as: department, """
            {"department":"民政局 Civil affairs","community":"新河社区","item":"高龄津贴入户核查","unit_price":\(fen)}
            """)
        for q in delivered { try await accept(caseId, "record-delivery", as: community, #"{"quantity":\#(q)}"#) }
    }
}

@Suite struct CostAndRectificationTests {
    // MARK: Definitions

    @Test func theThreeDefinitionsLintClean() throws {
        let calendars = try CalendarSet.load(directory: calendarDirectory).calendars
        // With every definition at hand, so that the rectification's `send … to-cases-of` is checked against
        // task-admission's command, states and fields.
        let all = ["task-admission", "entrusted-service", "department-evaluation", "rectification", "resident-request"]
        let definitions = Dictionary(uniqueKeysWithValues: try all.map { name in
            (name, try #require(DefinitionParser.parse(contentsOf: workflowsDirectory + "/\(name).yaml").0))
        })
        let context = LintContext(knownWorkflows: Set(all), calendars: calendars, years: [2026], workflows: definitions)
        for name in ["entrusted-service", "department-evaluation", "rectification"] {
            let (definition, diagnostics) = DefinitionParser.parse(contentsOf: workflowsDirectory + "/\(name).yaml")
            #expect(diagnostics.map(\.description) == [], "\(name) parses cleanly")
            let parsed = try #require(definition, "\(name) parses")
            #expect(parsed.name == name)
            #expect(Linter.lint(parsed, context: context).map(\.description) == [], "\(name) lints clean (no errors, no warnings)")
        }
        // The cross-workflow links are checked: without task-admission the rectification's `send` is refused.
        let (rectification, _) = DefinitionParser.parse(contentsOf: workflowsDirectory + "/rectification.yaml")
        let unknown = Linter.lint(try #require(rectification), context: LintContext(knownWorkflows: ["rectification"], calendars: calendars, years: [2026]))
        #expect(unknown.contains { $0.severity == .error && $0.message.contains("unknown workflow 'task-admission'") })
    }

    // MARK: Entrusted service: assessment, payment, clock, advances

    @Test func anAssessmentFixesThePayableAmountAndPaymentsReduceWhatIsOutstanding() async throws {
        try await StoreHarness.run { h in
            try await h.publishRepositoryWorkflow("entrusted-service")
            // 12.34 yuan a household visited; 40 + 17 visits recorded, 55 accepted at quality 85.
            try await h.entrustPerUnit("es1", unitPrice: 1234, delivered: [40, 17])
            #expect(try h.state("es1").data["delivered"] == .integer(57))
            #expect(try h.state("es1").data["mode"] == .string("per-unit"))

            // More than was delivered cannot be assessed.
            let tooMany = try await h.engine.handle(caseId: "es1", command: "assess", actor: assessor,
                                                    data: json(#"{"quality":85,"assessed_quantity":58}"#), at: march2)
            #expect(tooMany.rejection?.check == .guardFailed)

            let assessed = try await h.accept("es1", "assess", as: assessor, #"{"quality":85,"assessed_quantity":55}"#)
            #expect(assessed.state == "payable")
            #expect(assessed.data["payable"] == .money(67_870))  // 1234 fen × 55, exactly
            #expect(assessed.data["outstanding"] == .money(67_870))
            #expect(assessed.data["paid"] == .money(0))
            #expect(assessed.clocks["payment"]?.isStarted == true)

            let part = try await h.accept("es1", "pay", as: department, #"{"amount":30000}"#)
            #expect(part.state == "payable")
            #expect(part.data["paid"] == .money(30_000))
            #expect(part.data["outstanding"] == .money(37_870))

            // Overpaying is refused, with `pay` and with `pay-in-full`, and the refusals are recorded.
            let over = try await h.engine.handle(caseId: "es1", command: "pay", actor: department, data: json(#"{"amount":37871}"#), at: march2)
            #expect(over.rejection?.check == .guardFailed)
            #expect(over.rejection?.message.contains("exceeds what is outstanding") == true)
            let overFull = try await h.engine.handle(caseId: "es1", command: "pay-in-full", actor: department,
                                                     data: json(#"{"amount":40000}"#), at: march2)
            #expect(overFull.rejection?.check == .guardFailed)
            #expect(try h.types("es1").filter { $0 == CaseEventType.commandRejected }.count == 3)
            #expect(try h.state("es1").data["outstanding"] == .money(37_870))

            // Only the department pays.
            let wrongRole = try await h.engine.handle(caseId: "es1", command: "pay", actor: community, data: json(#"{"amount":100}"#), at: march2)
            #expect(wrongRole.rejection?.check == .role)

            let settled = try await h.accept("es1", "pay-in-full", as: department, #"{"amount":37870}"#)
            #expect(settled.state == "paid")
            #expect(settled.data["paid"] == .money(67_870))
            #expect(settled.data["outstanding"] == .money(0))
            #expect(settled.clocks["payment"]?.isStopped == true)
            let closed = try await h.accept("es1", "close", as: community)
            #expect(closed.state == "closed")

            let types = try h.types("es1")
            #expect(types.filter { $0 == "entrusted-service.paid" }.count == 2)
            #expect(types.contains("entrusted-service.settled"))
            // The folded case equals the case replayed event by event.
            #expect(try h.replayed("es1")?.data == closed.data)
        }
    }

    @Test func theQualityRuleAndTheOtherFundingModesAreExactInFen() async throws {
        try await StoreHarness.run { h in
            try await h.publishRepositoryWorkflow("entrusted-service")
            // Lump sum of 5,000 yuan: quality 59 pays nothing, quality 60 pays all of it.
            for (id, quality, payable) in [("ls59", 59, 0), ("ls60", 60, 500_000), ("ls100", 100, 500_000), ("ls0", 0, 0)] {
                try await h.openCase("entrusted-service", id, command: "entrust-lump-sum", as: department,
                                     #"{"department":"统计局","community":"新河社区","item":"人口抽样调查","amount":500000}"#)
                let s = try await h.accept(id, "assess", as: assessor, #"{"quality":\#(quality),"assessed_quantity":0}"#)
                #expect(s.data["payable"] == .money(Int64(payable)), "quality \(quality)")
                #expect(s.data["mode"] == .string("lump-sum"))
            }
            // A score above 100 is refused.
            try await h.openCase("entrusted-service", "ls101", command: "entrust-lump-sum", as: department,
                                 #"{"department":"统计局","community":"新河社区","item":"人口抽样调查","amount":500000}"#)
            let bad = try await h.engine.handle(caseId: "ls101", command: "assess", actor: assessor,
                                                data: json(#"{"quality":101,"assessed_quantity":0}"#), at: march2)
            #expect(bad.rejection?.check == .guardFailed)
            // Nothing payable: confirming the zero payment settles the case.
            #expect(try await h.accept("ls59", "pay-in-full", as: department, #"{"amount":0}"#).state == "paid")

            // Per 1,000 households a year: Ningbo's 280,000 yuan per 1,000 households = 280 yuan a household; 3,456 households.
            let hh = try await h.openCase("entrusted-service", "hh1", command: "entrust-per-households", as: department, """
                {"department":"街道办","community":"新河社区","item":"社区工作经费","rate_per_1000":28000000,"household_share":28000,"households":3456}
                """)
            #expect(hh.data["fixed_amount"] == .money(96_768_000))
            let hhAssessed = try await h.accept("hh1", "assess", as: assessor, #"{"quality":92,"assessed_quantity":0}"#)
            #expect(hhAssessed.data["payable"] == .money(96_768_000))  // 967,680.00 yuan
            // A rate that does not divide to the fen per household is refused.
            let inexact = try await h.engine.open(workflow: "entrusted-service", caseId: "hh2", command: "entrust-per-households", actor: department,
                                                  data: json(#"{"department":"街道办","community":"新河社区","item":"x","rate_per_1000":28000001,"household_share":28000,"households":10}"#),
                                                  at: march2)
            #expect(inexact.rejection?.check == .guardFailed)
            #expect(try h.types("hh2") == [CaseEventType.commandRejected])
        }
    }

    @Test func aPaymentClockBreachFlagsTheCaseOverdue() async throws {
        try await StoreHarness.run { h in
            try await h.publishRepositoryWorkflow("entrusted-service")
            try await h.entrustPerUnit("late", unitPrice: 5000, delivered: [10])
            try await h.accept("late", "assess", as: assessor, #"{"quality":90,"assessed_quantity":10}"#)
            try await h.entrustPerUnit("onTime", unitPrice: 5000, delivered: [10])
            try await h.accept("onTime", "assess", as: assessor, #"{"quality":90,"assessed_quantity":10}"#)
            try await h.accept("late", "pay", as: department, #"{"amount":20000}"#, at: at("2026-03-20T10:00:00+08:00"))
            try await h.accept("onTime", "pay-in-full", as: department, #"{"amount":50000}"#, at: at("2026-03-31T10:00:00+08:00"))

            // 30 calendar days from 2 March: due at the end of 1 April (China time), whatever the hour it started.
            #expect(try await h.engine.runTimers(until: at("2026-04-01T23:59:00+08:00")).isEmpty)
            let fired = try await h.engine.runTimers(until: at("2026-04-10T00:00:00+08:00"))
            #expect(fired.map(\.caseId) == ["late"])
            #expect(fired.first?.clock == "payment")
            #expect(fired.first?.deadline == at("2026-04-01T23:59:59.999+08:00"))
            let late = try h.state("late")
            #expect(late.data["overdue"] == .boolean(true))
            #expect(late.state == "payable")  // flagged, not moved
            #expect(late.data["outstanding"] == .money(30_000))
            #expect(try h.types("late").suffix(2) == [CaseEventType.clockBreached, "entrusted-service.payment-overdue"])
            #expect(try h.state("onTime").data["overdue"] == .boolean(false))
            // Exactly once.
            #expect(try await h.engine.runTimers(until: at("2026-05-01T00:00:00+08:00")).isEmpty)
            // Paying late still settles, and the overdue flag stays on the record.
            let settled = try await h.accept("late", "pay-in-full", as: department, #"{"amount":30000}"#, at: at("2026-04-12T10:00:00+08:00"))
            #expect(settled.state == "paid")
            #expect(settled.data["overdue"] == .boolean(true))
        }
    }

    @Test func staffAdvancesAreRecordedSealedAndReimbursed() async throws {
        try await StoreHarness.run { h in
            try await h.publishRepositoryWorkflow("entrusted-service")
            try await h.entrustPerUnit("adv", unitPrice: 1000, delivered: [3])
            try await h.accept("adv", "record-advance", as: community, #"{"advance":12050,"staff":"李梅","purpose":"印制入户表"}"#)
            try await h.accept("adv", "record-advance", as: community, #"{"advance":3000,"staff":"王强"}"#)
            var s = try h.state("adv")
            #expect(s.data["advances"] == .money(15_050))
            #expect(s.data["advances_outstanding"] == .money(15_050))
            // The staff member's name is personal data: sealed in the log.
            #expect(try h.events("adv").allSatisfy { !($0.payloadText ?? "").contains("李梅") })

            try await h.accept("adv", "assess", as: assessor, #"{"quality":75,"assessed_quantity":3}"#)
            try await h.accept("adv", "pay-in-full", as: department, #"{"amount":3000}"#)
            let over = try await h.engine.handle(caseId: "adv", command: "reimburse-advance", actor: community,
                                                 data: json(#"{"amount":15051}"#), at: march2)
            #expect(over.rejection?.check == .guardFailed)
            try await h.accept("adv", "reimburse-advance", as: department, #"{"amount":12050,"staff":"李梅"}"#)
            s = try h.state("adv")
            #expect(s.data["reimbursed"] == .money(12_050))
            #expect(s.data["advances_outstanding"] == .money(3_000))
            // The case cannot close while an advance is unreimbursed.
            let early = try await h.engine.handle(caseId: "adv", command: "close", actor: community, at: march2)
            #expect(early.rejection?.check == .guardFailed)
            try await h.accept("adv", "reimburse-advance", as: community, #"{"amount":3000}"#)
            #expect(try await h.accept("adv", "close", as: department).state == "closed")
        }
    }

    // MARK: Department evaluation

    /// Ten aspects, in the order task_assignment, rating_campaigns, cost_follows_task, work_style, fairness,
    /// openness, quality, effect, funding, approval.
    private func ratings(_ scores: [Int]) -> String {
        let names = ["task_assignment", "rating_campaigns", "cost_follows_task", "work_style", "fairness",
                     "openness", "quality", "effect", "funding", "approval"]
        return "{" + zip(names, scores).map { "\"\($0)\":\($1)" }.joined(separator: ",") + "}"
    }

    @Test func theResultTableRatesDepartments() async throws {
        try await StoreHarness.run { h in
            try await h.publishRepositoryWorkflow("rectification")
            try await h.publishRepositoryWorkflow("department-evaluation")
            let cases: [(String, [Int], Int, String)] = [
                ("e-sat", [4, 4, 4, 4, 4, 4, 4, 4, 4, 4], 40, "satisfied"),
                ("e-basic", [3, 3, 3, 3, 3, 3, 3, 3, 3, 4], 31, "basically-satisfied"),
                ("e-low", [3, 3, 3, 3, 3, 3, 3, 3, 3, 2], 29, "unsatisfactory"),
                ("e-nocost", [5, 5, 1, 5, 5, 5, 5, 5, 5, 5], 46, "unsatisfactory"),  // does not pay for what it entrusts
            ]
            for (id, scores, total, result) in cases {
                try await h.openCase("department-evaluation", id, as: office, #"{"department":"城管局","community":"新河社区","year":2026}"#)
                let rated = try await h.accept(id, "rate", as: panel, ratings(scores))
                #expect(rated.data["total"] == .integer(Int64(total)), "\(id)")
                let concluded = try await h.accept(id, "conclude", as: office)
                #expect(concluded.data["result"] == .string(result), "\(id)")
            }
            // A score outside 1..5 is refused.
            try await h.openCase("department-evaluation", "e-bad", as: office, #"{"department":"城管局","community":"新河社区"}"#)
            let bad = try await h.engine.handle(caseId: "e-bad", command: "rate", actor: panel,
                                                data: json(ratings([6, 4, 4, 4, 4, 4, 4, 4, 4, 4])), at: march2)
            #expect(bad.rejection?.check == .guardFailed)
            // Satisfied closes; it cannot be sent to rectification.
            let noRect = try await h.engine.handle(caseId: "e-sat", command: "order-rectification", actor: office,
                                                   data: json(#"{"department":"城管局"}"#), at: march2)
            #expect(noRect.rejection?.check == .guardFailed)
            #expect(try await h.accept("e-sat", "close", as: office).state == "closed")
        }
    }

    @Test func anUnsatisfactoryEvaluationOpensARectificationCaseLinkedById() async throws {
        try await StoreHarness.run { h in
            try await h.publishRepositoryWorkflow("rectification")
            try await h.publishRepositoryWorkflow("department-evaluation")
            try await h.openCase("department-evaluation", "ev1", as: office, #"{"department":"城管局","community":"新河社区","year":2026}"#)
            try await h.accept("ev1", "rate", as: panel, ratings([2, 2, 2, 3, 3, 3, 2, 2, 2, 2]))
            #expect(try await h.accept("ev1", "conclude", as: office).data["result"] == .string("unsatisfactory"))
            // An unsatisfactory result cannot simply be closed.
            #expect(try await h.engine.handle(caseId: "ev1", command: "close", actor: office, at: march2).rejection?.check == .guardFailed)
            // The rectification must name the department evaluated.
            let wrong = try await h.engine.handle(caseId: "ev1", command: "order-rectification", actor: office,
                                                  data: json(#"{"department":"民政局"}"#), at: march2)
            #expect(wrong.rejection?.check == .guardFailed)

            let outcome = try await h.engine.handle(caseId: "ev1", command: "order-rectification", actor: office,
                                                    data: json(#"{"department":"城管局","community":"新河社区","reason":"多头布置台账"}"#), at: march2)
            guard case .accepted(let ev, let position) = outcome else { Issue.record("order-rectification refused: \(outcome)"); return }
            let linked = CaseEngine.openedCaseId(source: "ev1", workflow: "rectification", version: try h.version("ev1", at: position))
            #expect(ev.state == "rectification-ordered")
            #expect(ev.data["rectification"] == .string(linked))
            #expect(try h.state("ev1").data["rectification"] == .string(linked))
            #expect(try h.types("ev1").contains(CaseEventType.linked))

            let rect = try h.state(linked)
            #expect(rect.workflow == "rectification")
            #expect(rect.state == "rectifying")
            #expect(rect.data["department"] == .string("城管局"))
            #expect(rect.data["community"] == .string("新河社区"))
            #expect(rect.data["reason"] == .string("多头布置台账"))
            #expect(rect.clocks["deadline"]?.isStarted == true)
            #expect(try h.types(linked) == [CaseEventType.opened, "rectification.ordered"])
        }
    }

    // MARK: Rectification

    @Test func aRectificationPastItsDeadlineEscalates() async throws {
        try await StoreHarness.run { h in
            try await h.publishRepositoryWorkflow("rectification")
            try await h.openCase("rectification", "rc-late", as: office, #"{"department":"城管局","reason":"多头布置台账"}"#)
            try await h.openCase("rectification", "rc-ok", as: office, #"{"department":"卫健委"}"#)
            try await h.accept("rc-ok", "report", as: department, #"{"report":"统一台账，取消重复报表"}"#, at: at("2026-03-20T16:00:00+08:00"))

            // 20 working days (calendar cn) from Monday 2 March: due at the end of Monday 30 March.
            #expect(try await h.engine.runTimers(until: at("2026-03-30T23:00:00+08:00")).isEmpty)
            let fired = try await h.engine.runTimers(until: at("2026-04-03T00:00:00+08:00"))
            #expect(fired.map(\.caseId) == ["rc-late"])
            #expect(fired.first?.deadline == at("2026-03-30T23:59:59.999+08:00"))
            let late = try h.state("rc-late")
            #expect(late.state == "overdue")
            #expect(late.data["overdue"] == .boolean(true))
            #expect(try h.types("rc-late").contains("rectification.overdue"))
            // The case reported in time is untouched.
            #expect(try h.state("rc-ok").state == "reported")
            #expect(try h.state("rc-ok").data["overdue"] == .boolean(false))

            // Re-evaluation: no clear change escalates to the office, a clear change closes.
            #expect(try await h.accept("rc-ok", "find-no-change", as: panel).state == "escalated")
            try await h.accept("rc-ok", "extend", as: office, at: at("2026-04-07T09:00:00+08:00"))
            try await h.accept("rc-ok", "report", as: department, #"{"report":"复查整改"}"#, at: at("2026-04-20T09:00:00+08:00"))
            let done = try await h.accept("rc-ok", "confirm-rectified", as: panel)
            #expect(done.state == "rectified")
            #expect(done.data["outcome"] == .string("rectified"))
            #expect(done.data["reports"] == .integer(2))
        }
    }

    /// An item of departmental work (real task-admission.yaml) applied for with a legal basis and, if
    /// `admit`, reviewed, approved and admitted.
    private func admission(_ h: StoreHarness, _ id: String, department: String, community: String, admit: Bool = true,
                           at: Timestamp = march2) async throws {
        let applicant = Actor(role: "department", id: department)
        let data = #"{"kind":"work-task","title":"巡查台账","community":"\#(community)","department":"\#(department)","has_legal_basis":true,"legal_basis":"条例"}"#
        try await h.openCase("task-admission", id, as: applicant, data, at: at)
        guard admit else { return }
        try await h.accept(id, "review", as: Actor(role: "street-office", id: "li"), at: at)
        try await h.accept(id, "approve", as: office, at: at)
        #expect(try await h.accept(id, "admit", as: office, at: at).state == "admitted")
    }

    @Test func aFailedRectificationWithdrawsEveryAdmittedItemOfTheDepartmentInTheCommunity() async throws {
        try await StoreHarness.run { h in
            try await h.publishRepositoryWorkflow("task-admission")
            try await h.publishRepositoryWorkflow("rectification")
            try await h.publishRepositoryWorkflow("department-evaluation")
            // 城管局's admitted work in 新河社区 (opened out of id order), its application not yet admitted
            // there, its work in another community, and another department's work in 新河社区.
            try await admission(h, "a-2", department: "城管局", community: "新河社区")
            try await admission(h, "a-1", department: "城管局", community: "新河社区")
            try await admission(h, "a-3", department: "城管局", community: "新河社区", admit: false, at: at("2026-03-25T09:00:00+08:00"))
            try await admission(h, "a-4", department: "城管局", community: "东风社区")
            try await admission(h, "a-5", department: "民政局", community: "新河社区")

            // The whole chain: unsatisfactory evaluation → rectification naming one item → deadline missed → withdrawal.
            try await h.openCase("department-evaluation", "ev2", as: office, #"{"department":"城管局","community":"新河社区"}"#)
            try await h.accept("ev2", "rate", as: panel, ratings([1, 2, 2, 2, 2, 2, 2, 2, 2, 2]))
            try await h.accept("ev2", "conclude", as: office)
            let ev = try await h.accept("ev2", "order-rectification", as: office, #"{"department":"城管局","community":"新河社区","admission":"a-1"}"#)
            guard case .string(let rectId)? = ev.data["rectification"] else { Issue.record("no rectification linked"); return }

            // Withdrawal is the office's, and not while the department is still within its deadline.
            let tooEarly = try await h.engine.handle(caseId: rectId, command: "withdraw-work", actor: office, at: march2)
            #expect(tooEarly.rejection?.check == .state)
            _ = try await h.engine.runTimers(until: at("2026-04-01T00:00:00+08:00"))
            #expect(try h.state(rectId).state == "overdue")
            let notDept = try await h.engine.handle(caseId: rectId, command: "withdraw-work", actor: department, at: march2)
            #expect(notDept.rejection?.check == .role)

            let at = at("2026-04-02T10:00:00+08:00")
            let outcome = try await h.engine.handle(caseId: rectId, command: "withdraw-work", actor: office, at: at, commandId: "withdraw-1")
            let rect = try #require(outcome.acceptedState, "withdraw-work refused: \(String(describing: outcome.rejection))")
            #expect(rect.state == "withdrawn")
            #expect(rect.data["outcome"] == .string("withdrawn"))

            // Both admitted items of 城管局 in 新河社区, and nothing else.
            #expect(try h.state("a-1").state == "withdrawn")
            #expect(try h.state("a-2").state == "withdrawn")
            #expect(try h.state("a-3").state == "applied")
            #expect(try h.state("a-4").state == "admitted")
            #expect(try h.state("a-5").state == "admitted")
            for id in ["a-1", "a-2"] {
                let withdrawal = try #require(try h.events(id).first { enginePayload($0)["command"] == .string("withdraw") })
                #expect(withdrawal.type == CaseEventType.commandAccepted)
                #expect(enginePayload(withdrawal)["role"] == .string("district-office"))
            }

            // The rectification records what it selected, before the items' withdrawals, for auditors.
            let rectEvents = try h.events(rectId)
            let record = try #require(rectEvents.first { $0.type == CaseEventType.effectTargeted })
            let payload = enginePayload(record)
            #expect(payload["targets"] == .array([.string("a-1"), .string("a-2")]))
            #expect(payload["where"] == .object(["department": .string("城管局"), "community": .string("新河社区")]))
            #expect(payload["workflow"] == .string("task-admission") && payload["send"] == .string("withdraw"))
            #expect(payload["inStates"] == .array([.string("admitted")]))
            let firstWithdrawal = try #require(try h.events("a-1").first { enginePayload($0)["command"] == .string("withdraw") })
            #expect(record.position < firstWithdrawal.position)
            #expect(try h.replayed(rectId)?.state == "withdrawn")

            // Repeating the office's decision, or redriving effects, withdraws nothing twice — and acts on the
            // cases recorded, not on work admitted since.
            try await admission(h, "a-0", department: "城管局", community: "新河社区", at: CasebookTestSupport.at("2026-04-03T09:00:00+08:00"))
            let before = h.store.count
            _ = try await h.engine.handle(caseId: rectId, command: "withdraw-work", actor: office, at: at, commandId: "withdraw-1")
            try await h.engine.redriveEffects()
            #expect(h.store.count == before)
            #expect(try h.types("a-1").filter { $0 == "admission.withdrawn" }.count == 1)
            #expect(try h.types("a-2").filter { $0 == "admission.withdrawn" }.count == 1)
            #expect(try h.state("a-0").state == "admitted")
            #expect(try h.events(rectId).filter { $0.type == CaseEventType.effectTargeted }.count == 1)
        }
    }

    @Test func withdrawalNeedsTheCommunity() async throws {
        try await StoreHarness.run { h in
            try await h.publishRepositoryWorkflow("rectification")
            try await h.openCase("rectification", "rc-none", as: office, #"{"department":"城管局"}"#)
            _ = try await h.engine.runTimers(until: at("2026-04-01T00:00:00+08:00"))
            let refused = try await h.engine.handle(caseId: "rc-none", command: "withdraw-work", actor: office, at: at("2026-04-02T10:00:00+08:00"))
            #expect(refused.rejection?.check == .guardFailed)
            #expect(try h.state("rc-none").state == "overdue")
        }
    }
}
