import CasebookLog
import CasebookProjections
import CasebookWorkflow
import Foundation
import Testing

// The scenarios, straight from the documents' rules (DOMAIN.md), each driven through the engine with
// the repository's real definitions. They check the case state as they go; the tests check the
// projections. The mechanics tests run all of them in one store. Case ids are unique across scenarios.

typealias A = Actors

// MARK: task-admission (工作准入)

extension World {
    /// Six applications in March 2026 (the review clock: 20 working days from 2 March, due at the end of 30 March).
    /// - adm-1 work task with a legal basis: reviewed, approved (must undertake), admitted.
    /// - adm-2 survey without legal basis (东风社区): review before the residents' resolution is refused, filing
    ///   too; after a passed vote it proceeds, classified may be entrusted, admitted.
    /// - adm-3 work task without legal basis: the vote fails (refused), the street office declines.
    /// - adm-4 stamping item without legal basis: resolved, approved as should-not-undertake, admission refused, rejected.
    /// - adm-5 plaque with a legal basis: nobody decides (its clock will expire it).
    /// - adm-6 organisation with a legal basis: declined on 31 March, after its deadline but before the timers ran.
    func admissionCommands() async throws {
        try await open("task-admission", "adm-1", as: A.civilAffairs, """
            {"kind":"work-task","title":"高龄津贴入户核查","community":"新河社区","department":"民政局",
             "has_legal_basis":true,"legal_basis":"《中华人民共和国老年人权益保障法》第三十一条"}
            """, at: "2026-03-02T09:00:00+08:00")
        try await refuse("adm-1", "record-resolution", as: A.committee, #"{"meeting":"residents-meeting","votes_for":50,"votes_against":0,"votes_abstain":0}"#,
                         at: "2026-03-02T19:00:00+08:00", check: .guardFailed)
        try await accept("adm-1", "review", as: A.street, at: "2026-03-03T10:00:00+08:00")
        let filed = try await accept("adm-1", "approve", as: A.district, at: "2026-03-04T11:00:00+08:00")
        #expect(filed.state == "filed" && filed.string("category") == "must-undertake")
        let admitted = try await accept("adm-1", "admit", as: A.district, at: "2026-03-05T15:00:00+08:00")
        #expect(admitted.state == "admitted")

        try await open("task-admission", "adm-2", as: A.statistics, """
            {"kind":"statistical-survey","title":"社区人口抽样调查","community":"东风社区","department":"统计局","has_legal_basis":false}
            """, at: "2026-03-02T09:30:00+08:00")
        // No legal basis: it cannot be submitted for filing, nor filed, before the residents' resolution.
        let early = try await refuse("adm-2", "review", as: A.street, at: "2026-03-03T09:00:00+08:00", check: .guardFailed)
        #expect(early.message.contains("residents' resolution"))
        try await refuse("adm-2", "approve", as: A.district, at: "2026-03-03T09:05:00+08:00", check: .state)
        #expect(try state("adm-2").state == "applied")
        #expect(try state("adm-2").bool("resolution_passed") == false)
        let resolved = try await accept("adm-2", "record-resolution", as: Actor(role: "residents-committee", id: "东风居委会"),
                                        #"{"meeting":"representatives-meeting","votes_for":120,"votes_against":30,"votes_abstain":10}"#,
                                        at: "2026-03-06T19:00:00+08:00")
        #expect(resolved.state == "resolved" && resolved.bool("resolution_passed") == true)
        try await accept("adm-2", "review", as: A.street, at: "2026-03-09T10:00:00+08:00")
        let entrusted = try await accept("adm-2", "approve", as: A.district, at: "2026-03-10T10:00:00+08:00")
        #expect(entrusted.string("category") == "may-be-entrusted")
        try await accept("adm-2", "admit", as: A.district, at: "2026-03-11T10:00:00+08:00")

        try await open("task-admission", "adm-3", as: A.urbanManagement, """
            {"kind":"work-task","title":"共享单车停放巡查","community":"新河社区","department":"城管局","has_legal_basis":false}
            """, at: "2026-03-02T10:00:00+08:00")
        // 40 for of 100 cast: the vote failed, and the failed vote is refused.
        let failed = try await refuse("adm-3", "record-resolution", as: A.committee,
                                      #"{"meeting":"residents-meeting","votes_for":40,"votes_against":50,"votes_abstain":10}"#,
                                      at: "2026-03-06T19:30:00+08:00", check: .guardFailed)
        #expect(failed.message.contains("vote failed"))
        try await refuse("adm-3", "review", as: A.street, at: "2026-03-09T09:00:00+08:00", check: .guardFailed)
        let declined = try await accept("adm-3", "decline", as: A.street, #"{"reason":"居民会议未通过"}"#, at: "2026-03-09T11:00:00+08:00")
        #expect(declined.state == "rejected")

        try await open("task-admission", "adm-4", as: A.police, """
            {"kind":"stamping-item","title":"无犯罪记录证明盖章","community":"新河社区","department":"公安局","has_legal_basis":false}
            """, at: "2026-03-02T11:00:00+08:00")
        try await accept("adm-4", "record-resolution", as: A.committee,
                         #"{"meeting":"residents-meeting","votes_for":80,"votes_against":10,"votes_abstain":5}"#, at: "2026-03-06T20:00:00+08:00")
        try await accept("adm-4", "review", as: A.street, at: "2026-03-09T14:00:00+08:00")
        let shouldNot = try await accept("adm-4", "approve", as: A.district, at: "2026-03-10T14:00:00+08:00")
        #expect(shouldNot.string("category") == "should-not-undertake")
        try await refuse("adm-4", "admit", as: A.district, at: "2026-03-10T15:00:00+08:00", check: .guardFailed)
        try await accept("adm-4", "reject", as: A.district, #"{"reason":"社区不该承担的盖章证明事项"}"#, at: "2026-03-11T09:00:00+08:00")
        #expect(try state("adm-4").state == "rejected")

        try await open("task-admission", "adm-5", as: A.civilisationOffice, """
            {"kind":"plaque","title":"文明社区挂牌","community":"新河社区","department":"文明办","has_legal_basis":true,"legal_basis":"市文明委文件"}
            """, at: "2026-03-02T14:00:00+08:00")

        try await open("task-admission", "adm-6", as: A.civilAffairs, """
            {"kind":"organisation","title":"社区养老服务站","community":"新河社区","department":"民政局","has_legal_basis":true,"legal_basis":"《养老机构管理办法》"}
            """, at: "2026-03-02T15:00:00+08:00")
        try await accept("adm-6", "decline", as: A.street, #"{"reason":"已有同类组织"}"#, at: "2026-03-31T10:00:00+08:00")
    }

    /// The timers run on 1 April: adm-5's review clock (due at the end of 30 March) expires it; adm-6's clock
    /// stopped late, so its breach is recorded but it stays rejected.
    func admissionTimers() async throws {
        let fired = try await runTimers(until: "2026-04-01T00:00:00+08:00")
        #expect(fired.contains("adm-5/review") && fired.contains("adm-6/review"))
        #expect(!fired.contains { $0.hasPrefix("adm-1/") || $0.hasPrefix("adm-2/") || $0.hasPrefix("adm-3/") || $0.hasPrefix("adm-4/") })
        #expect(try state("adm-5").state == "expired")
        #expect(try state("adm-5").bool("overdue") == true)
        #expect(try state("adm-6").state == "rejected")
    }
}

// MARK: entrusted-service (费随事转)

extension World {
    /// - led-1 (民政局, 新河社区, admitted item adm-1): 50 yuan a unit; 10 + 12 + 8 units delivered in March, a
    ///   30-yuan staff advance; assessed on 1 April at quality 85 for 28 units (payable 1,400 yuan, due in 30
    ///   calendar days: end of 1 May); 400 yuan paid on 15 April, 10 yuan of the advance reimbursed on 20 April.
    /// - led-2 (民政局, 东风社区): 20 yuan a unit, 10 delivered, assessed at quality 55: nothing payable.
    /// - led-3 (城管局, 新河社区): a 3,000-yuan lump sum entrusted without naming an admitted item.
    func ledgerCommands() async throws {
        try await open("entrusted-service", "led-1", command: "entrust-per-unit", as: A.civilAffairs, """
            {"department":"民政局","community":"新河社区","item":"高龄津贴入户核查","admission":"adm-1","unit_price":5000}
            """, at: "2026-03-02T09:00:00+08:00")
        try await accept("led-1", "record-delivery", as: A.community, #"{"quantity":10}"#, at: "2026-03-05T17:00:00+08:00")
        try await accept("led-1", "record-delivery", as: A.community, #"{"quantity":12}"#, at: "2026-03-12T17:00:00+08:00")
        try await accept("led-1", "record-delivery", as: A.community, #"{"quantity":8}"#, at: "2026-03-20T17:00:00+08:00")
        try await accept("led-1", "record-advance", as: A.community, #"{"advance":3000,"staff":"王芳","purpose":"打印入户核查表"}"#,
                         at: "2026-03-25T10:00:00+08:00")
        // The assessed quantity cannot exceed what was delivered.
        try await refuse("led-1", "assess", as: A.assessor, #"{"quality":85,"assessed_quantity":31}"#, at: "2026-04-01T09:00:00+08:00",
                         check: .guardFailed)
        let assessed = try await accept("led-1", "assess", as: A.assessor, #"{"quality":85,"assessed_quantity":28}"#, at: "2026-04-01T10:00:00+08:00")
        #expect(assessed.state == "payable" && assessed.int("payable") == 140_000 && assessed.int("outstanding") == 140_000)
        try await refuse("led-1", "pay", as: A.civilAffairs, #"{"amount":150000}"#, at: "2026-04-15T09:00:00+08:00", check: .guardFailed)
        let part = try await accept("led-1", "pay", as: A.civilAffairs, #"{"amount":40000}"#, at: "2026-04-15T10:00:00+08:00")
        #expect(part.int("outstanding") == 100_000 && part.int("paid") == 40_000)
        let reimbursed = try await accept("led-1", "reimburse-advance", as: A.community, #"{"amount":1000}"#, at: "2026-04-20T10:00:00+08:00")
        #expect(reimbursed.int("advances_outstanding") == 2000)

        try await open("entrusted-service", "led-2", command: "entrust-per-unit", as: A.civilAffairs, """
            {"department":"民政局","community":"东风社区","item":"低保年审入户","admission":"adm-2","unit_price":2000}
            """, at: "2026-03-02T10:00:00+08:00")
        try await accept("led-2", "record-delivery", as: A.community, #"{"quantity":10}"#, at: "2026-03-16T17:00:00+08:00")
        let poor = try await accept("led-2", "assess", as: A.assessor, #"{"quality":55,"assessed_quantity":10}"#, at: "2026-04-01T11:00:00+08:00")
        #expect(poor.int("payable") == 0 && poor.int("outstanding") == 0)

        try await open("entrusted-service", "led-3", command: "entrust-lump-sum", as: A.urbanManagement, """
            {"department":"城管局","community":"新河社区","item":"门前三包巡查","amount":300000}
            """, at: "2026-03-02T11:00:00+08:00")
    }

    /// The timers run on 10 May: led-1's payment (due at the end of 1 May) is overdue; it stays payable.
    func ledgerTimers() async throws {
        let fired = try await runTimers(until: "2026-05-10T00:00:00+08:00")
        #expect(fired.contains("led-1/payment"))
        #expect(try state("led-1").bool("overdue") == true)
        #expect(try state("led-1").state == "payable")
    }

    /// led-1 is paid in full on 16 June, the rest of the advance reimbursed, and the item closed.
    func ledgerSettlement() async throws {
        try await refuse("led-1", "pay-in-full", as: A.civilAffairs, #"{"amount":90000}"#, at: "2026-06-16T09:00:00+08:00", check: .guardFailed)
        let paid = try await accept("led-1", "pay-in-full", as: A.civilAffairs, #"{"amount":100000}"#, at: "2026-06-16T10:00:00+08:00")
        #expect(paid.state == "paid" && paid.int("outstanding") == 0)
        // Not closed while an advance is unreimbursed.
        try await refuse("led-1", "close", as: A.community, at: "2026-06-16T10:30:00+08:00", check: .guardFailed)
        try await accept("led-1", "reimburse-advance", as: A.civilAffairs, #"{"amount":2000}"#, at: "2026-06-16T11:00:00+08:00")
        let closed = try await accept("led-1", "close", as: A.community, at: "2026-06-17T09:00:00+08:00")
        #expect(closed.state == "closed")
    }
}

// MARK: department-evaluation and rectification (双评议, 整改)

extension World {
    /// The rectification case an evaluation's `order-rectification` opened.
    func rectificationOf(_ evaluation: String) throws -> String {
        try #require(try state(evaluation).string("rectification"), "\(evaluation) should name its rectification case")
    }

    /// - rec-adm: 住建局's work task, admitted in 东风社区 (the item withdrawn if its rectification fails).
    /// - ev-1 (城管局 by 新河社区): all aspects 2 (total 20) → unsatisfactory → rectification ordered on 10 March;
    ///   reported 30 March, confirmed rectified 2 April.
    /// - ev-2 (住建局 by 东风社区): cost follows task rated 1 (total 46) → unsatisfactory → rectification
    ///   naming rec-adm, ordered 10 March (deadline: 20 working days, end of 8 April, Qingming 4–6 April off).
    /// - ev-3 (民政局 by 新河社区): all 5 (total 50) → satisfied → closed; ordering a rectification is refused.
    func evaluationCommands() async throws {
        try await open("task-admission", "rec-adm", as: A.housing, """
            {"kind":"work-task","title":"房屋安全隐患排查","community":"东风社区","department":"住建局","has_legal_basis":true,"legal_basis":"《城市危险房屋管理规定》"}
            """, at: "2026-03-02T09:00:00+08:00")
        try await accept("rec-adm", "review", as: A.street, at: "2026-03-03T09:00:00+08:00")
        try await accept("rec-adm", "approve", as: A.district, at: "2026-03-04T09:00:00+08:00")
        try await accept("rec-adm", "admit", as: A.district, at: "2026-03-05T09:00:00+08:00")

        func scores(_ all: Int, costFollowsTask: Int) -> String {
            """
            {"task_assignment":\(all),"rating_campaigns":\(all),"cost_follows_task":\(costFollowsTask),"work_style":\(all),"fairness":\(all),
             "openness":\(all),"quality":\(all),"effect":\(all),"funding":\(all),"approval":\(all)}
            """
        }

        try await open("department-evaluation", "ev-1", as: A.district, #"{"department":"城管局","community":"新河社区","year":2025}"#,
                       at: "2026-03-02T09:00:00+08:00")
        try await accept("ev-1", "rate", as: A.panel, scores(2, costFollowsTask: 2), at: "2026-03-09T10:00:00+08:00")
        let concluded = try await accept("ev-1", "conclude", as: A.district, at: "2026-03-10T09:00:00+08:00")
        #expect(concluded.string("result") == "unsatisfactory" && concluded.int("total") == 20)
        try await refuse("ev-1", "close", as: A.district, at: "2026-03-10T09:30:00+08:00", check: .guardFailed)
        try await accept("ev-1", "order-rectification", as: A.district,
                         #"{"department":"城管局","community":"新河社区","reason":"向社区摊派工作"}"#, at: "2026-03-10T10:00:00+08:00")
        let rc1 = try rectificationOf("ev-1")
        #expect(try state(rc1).state == "rectifying")
        #expect(try state(rc1).string("department") == "城管局")
        try await accept(rc1, "report", as: Actor(role: "department", id: "城管局"), #"{"report":"已取消向社区摊派的三项工作"}"#,
                         at: "2026-03-30T10:00:00+08:00")
        let rectified = try await accept(rc1, "confirm-rectified", as: A.panel, at: "2026-04-02T10:00:00+08:00")
        #expect(rectified.state == "rectified")

        try await open("department-evaluation", "ev-2", as: A.district, #"{"department":"住建局","community":"东风社区","year":2025}"#,
                       at: "2026-03-02T09:30:00+08:00")
        try await accept("ev-2", "rate", as: Actor(role: "community", id: "东风评议小组"), scores(5, costFollowsTask: 1), at: "2026-03-09T11:00:00+08:00")
        let unpaid = try await accept("ev-2", "conclude", as: A.district, at: "2026-03-10T09:10:00+08:00")
        #expect(unpaid.string("result") == "unsatisfactory" && unpaid.int("total") == 46)
        try await refuse("ev-2", "order-rectification", as: A.district, #"{"department":"城管局","admission":"rec-adm"}"#,
                         at: "2026-03-10T10:30:00+08:00", check: .guardFailed)
        try await accept("ev-2", "order-rectification", as: A.district,
                         #"{"department":"住建局","community":"东风社区","reason":"委托工作不拨经费","admission":"rec-adm"}"#,
                         at: "2026-03-10T11:00:00+08:00")

        try await open("department-evaluation", "ev-3", as: A.district, #"{"department":"民政局","community":"新河社区","year":2025}"#,
                       at: "2026-03-02T10:00:00+08:00")
        try await accept("ev-3", "rate", as: A.panel, scores(5, costFollowsTask: 5), at: "2026-03-09T12:00:00+08:00")
        let satisfied = try await accept("ev-3", "conclude", as: A.district, at: "2026-03-10T09:20:00+08:00")
        #expect(satisfied.string("result") == "satisfied")
        try await refuse("ev-3", "order-rectification", as: A.district, #"{"department":"民政局"}"#, at: "2026-03-10T09:25:00+08:00",
                         check: .guardFailed)
        try await accept("ev-3", "close", as: A.district, at: "2026-03-10T09:30:00+08:00")
    }

    /// The timers run on 10 April: ev-2's rectification missed its deadline (end of 8 April) and is overdue.
    func evaluationTimers() async throws {
        let rc2 = try rectificationOf("ev-2")
        let fired = try await runTimers(until: "2026-04-10T00:00:00+08:00")
        #expect(fired.contains("\(rc2)/deadline"))
        #expect(!fired.contains("\(try rectificationOf("ev-1"))/deadline"))
        #expect(try state(rc2).state == "overdue")
    }

    /// ev-2's rectification: reported late, no clear change, escalated; the office withdraws the work, which
    /// withdraws the admitted item rec-adm.
    func evaluationEscalation() async throws {
        let rc2 = try rectificationOf("ev-2")
        try await accept(rc2, "report", as: Actor(role: "department", id: "住建局"), #"{"report":"已安排专人对接"}"#, at: "2026-04-13T10:00:00+08:00")
        let escalated = try await accept(rc2, "find-no-change", as: Actor(role: "community", id: "东风评议小组"), at: "2026-04-20T10:00:00+08:00")
        #expect(escalated.state == "escalated")
    }

    func evaluationWithdrawal() async throws {
        let rc2 = try rectificationOf("ev-2")
        #expect(try state("rec-adm").state == "admitted")
        let withdrawn = try await accept(rc2, "withdraw-work", as: A.district, at: "2026-04-21T10:00:00+08:00")
        #expect(withdrawn.state == "withdrawn")
        #expect(try state("rec-adm").state == "withdrawn", "the failed rectification withdraws the department's admitted item")
        // Every admitted item of 住建局 in 东风社区 (rec-adm is the only one), recorded on the rectification.
        let record = try store.readStream(CaseState.stream(rc2), limit: Int.max).first { $0.type == CaseEventType.effectTargeted }
        let targets = record.flatMap { try? JSONValue.parse($0.payloadText ?? "").object?["targets"] }
        #expect(targets == .array([.string("rec-adm")]))
    }
}

// MARK: resident-request (一门受理、一次性告知、限时办结)

extension World {
    /// Requests in March and April 2026 (limits from the service-item catalogue, in working days):
    /// - req-1 residence certificate (3 days), 新河社区: received Mon 2 March 09:00, handed off, completed
    ///   3 March 10:00 (1,500 minutes), rated satisfied.
    /// - req-2 hardship certificate (5 days, due end of 9 March): one notice of missing materials at 11:00,
    ///   materials supplied 4 March 09:00 (46 hours waiting; the deadline moves 2 working days to the end of
    ///   11 March), a second notice refused on 5 March, completed late on 12 March 10:00 (11,640 minutes
    ///   handling), rated dissatisfied.
    /// - req-3 kinship certificate (may not issue): handing it off is refused; refused with the referral.
    /// - req-4 senior card (5 days): referred to 民政局 on 3 March, completed 6 March 16:00 (4,440 minutes),
    ///   rated basically satisfied.
    /// - req-5 proof of being alive (1 day): completed the same morning (150 minutes), rated satisfied.
    /// - req-6 complaint, 东风社区: completed after 1,440 minutes, rated dissatisfied.
    /// - req-7 residence certificate, 东风社区, received 9 March: never completed (due end of 12 March).
    /// - req-8 residence certificate, 新河社区, April: an appointment on the Qingming holiday, completed in 1,440 minutes.
    func requestCommands() async throws {
        let received = try await open("resident-request", "req-1", as: A.counter,
                                      #"{"item":"residence-certificate","community":"新河社区","patch":"三片","applicant":"张三"}"#,
                                      at: "2026-03-02T09:00:00+08:00")
        #expect(received.state == "received" && received.string("certificate") == "must" && received.int("limit_days") == 3)
        #expect(received.string("owner") == "王芳")
        try await accept("req-1", "hand-off", as: A.counter, at: "2026-03-02T09:10:00+08:00")
        try await accept("req-1", "complete", as: A.backOffice, at: "2026-03-03T10:00:00+08:00")
        try await accept("req-1", "rate", as: A.resident, #"{"rating":"satisfied"}"#, at: "2026-03-03T10:30:00+08:00")

        try await open("resident-request", "req-2", as: A.counter,
                       #"{"item":"hardship-certificate","community":"新河社区","patch":"一片","applicant":"李四"}"#, at: "2026-03-02T10:00:00+08:00")
        let waiting = try await accept("req-2", "notify-missing", as: A.counter, #"{"missing":["收入证明","户口簿"]}"#, at: "2026-03-02T11:00:00+08:00")
        #expect(waiting.state == "waiting-materials" && waiting.int("notices") == 1)
        try await accept("req-2", "supply-materials", as: A.resident, at: "2026-03-04T09:00:00+08:00")
        // 一次性告知: everything missing is told at once; a second "you also need…" is refused.
        let second = try await refuse("req-2", "notify-missing", as: A.backOffice, #"{"missing":["银行流水"]}"#, at: "2026-03-05T10:00:00+08:00",
                                      check: .guardFailed)
        #expect(second.message.contains("second notice"))
        try await accept("req-2", "complete", as: A.backOffice, at: "2026-03-12T10:00:00+08:00")
        try await accept("req-2", "rate", as: A.resident, #"{"rating":"dissatisfied"}"#, at: "2026-03-12T11:00:00+08:00")

        let kinship = try await open("resident-request", "req-3", as: A.counter,
                                     #"{"item":"kinship-certificate","community":"新河社区","applicant":"王五"}"#, at: "2026-03-03T09:00:00+08:00")
        #expect(kinship.string("certificate") == "may-not")
        try await refuse("req-3", "hand-off", as: A.counter, at: "2026-03-03T09:02:00+08:00", check: .guardFailed)
        let refused = try await accept("req-3", "refuse", as: A.counter, at: "2026-03-03T09:05:00+08:00")
        #expect(refused.state == "refused")

        try await open("resident-request", "req-4", as: A.counter,
                       #"{"item":"senior-card","community":"新河社区","patch":"二片","applicant":"赵六"}"#, at: "2026-03-03T14:00:00+08:00")
        try await accept("req-4", "refer-to-department", as: A.counter, #"{"department":"民政局"}"#, at: "2026-03-03T14:30:00+08:00")
        try await accept("req-4", "complete", as: Actor(role: "department", id: "民政局"), at: "2026-03-06T16:00:00+08:00")
        try await accept("req-4", "rate", as: A.counter, #"{"rating":"basically-satisfied"}"#, at: "2026-03-06T17:00:00+08:00")

        try await open("resident-request", "req-5", as: A.counter,
                       #"{"item":"survival-certificate","community":"新河社区","applicant":"孙七"}"#, at: "2026-03-04T09:00:00+08:00")
        try await accept("req-5", "hand-off", as: A.counter, at: "2026-03-04T09:05:00+08:00")
        try await accept("req-5", "complete", as: A.backOffice, at: "2026-03-04T11:30:00+08:00")
        try await accept("req-5", "rate", as: A.resident, #"{"rating":"satisfied"}"#, at: "2026-03-04T12:00:00+08:00")

        try await open("resident-request", "req-6", as: Actor(role: "counter", id: "陈静"),
                       #"{"item":"complaint","community":"东风社区","applicant":"周八"}"#, at: "2026-03-09T09:00:00+08:00")
        try await accept("req-6", "hand-off", as: Actor(role: "counter", id: "陈静"), at: "2026-03-09T09:30:00+08:00")
        try await accept("req-6", "complete", as: A.backOffice, at: "2026-03-10T09:00:00+08:00")
        try await accept("req-6", "rate", as: A.resident, #"{"rating":"dissatisfied"}"#, at: "2026-03-10T10:00:00+08:00")

        try await open("resident-request", "req-7", as: Actor(role: "counter", id: "陈静"),
                       #"{"item":"residence-certificate","community":"东风社区","applicant":"吴九"}"#, at: "2026-03-09T10:00:00+08:00")
        try await accept("req-7", "hand-off", as: Actor(role: "counter", id: "陈静"), at: "2026-03-09T10:30:00+08:00")

        try await open("resident-request", "req-8", as: A.counter,
                       #"{"item":"residence-certificate","community":"新河社区","applicant":"郑十"}"#, at: "2026-04-01T09:00:00+08:00")
        // Appointments are for times outside office hours: Friday 3 April 10:00 is inside them.
        try await refuse("req-8", "book-appointment", as: A.resident, #"{"time":"2026-04-03T10:00:00+08:00"}"#, at: "2026-04-01T09:10:00+08:00",
                         check: .guardFailed)
        try await accept("req-8", "book-appointment", as: A.resident, #"{"time":"2026-04-04T10:00:00+08:00"}"#, at: "2026-04-01T09:20:00+08:00")
        try await accept("req-8", "hand-off", as: A.counter, at: "2026-04-01T09:30:00+08:00")
        try await accept("req-8", "complete", as: A.backOffice, at: "2026-04-02T09:00:00+08:00")
        try await accept("req-8", "rate", as: A.resident, #"{"rating":"satisfied"}"#, at: "2026-04-02T10:00:00+08:00")
    }

    /// The timers run on 20 March: req-7 (due at the end of 12 March) is overdue; req-2's clock stopped late,
    /// so its breach is recorded too.
    func requestTimers() async throws {
        let fired = try await runTimers(until: "2026-03-20T00:00:00+08:00")
        #expect(Set(fired.filter { $0.hasPrefix("req-") }) == ["req-2/completion", "req-7/completion"])
        #expect(try state("req-7").bool("overdue") == true)
    }
}

// MARK: community-rating (居民评议社区)

/// `record-visits` data (a residents' satisfaction survey): `households` visited, `satisfied` households
/// satisfied with each aspect except those in `overrides`.
public func surveyVisits(_ households: Int, satisfied: Int, _ overrides: [String: Int] = [:]) -> String {
    let aspects = RatingRow.aspects.map { "\"\($0)\":\(overrides[$0] ?? satisfied)" }
    return "{\"households\":\(households)," + aspects.joined(separator: ",") + "}"
}

extension World {

    /// Three residents' satisfaction surveys in January 2026, before every other scenario (the survey clock:
    /// 20 working days, not counting the day of opening):
    /// - cr-1 新河社区 (新河街道), 2026, sample 20: opened Monday 5 January; 12 households visited, concluding
    ///   then is refused (sample not reached); 8 more; 122 of 140 answers satisfied (87.1%): concluded on
    ///   16 January with the special fund (5,000 yuan), published on 19 January.
    /// - cr-2 东风社区 (东风街道), 2026, sample 10: 10 households, 7 satisfied with every aspect: 49 of 70,
    ///   exactly 70%, which is not above the line: concluded on 20 January without the fund, not published.
    /// - cr-3 东风社区, 2025 (period 2025-H2), sample 30, opened Tuesday 6 January: 10 households visited,
    ///   never concluded.
    func ratingCommands() async throws {
        let opened = try await open("community-rating", "cr-1", as: A.xinheStreet,
                                    #"{"community":"新河社区","street":"新河街道","year":2026,"period":"2026","sample":20}"#, at: "2026-01-05T09:00:00+08:00")
        #expect(opened.state == "surveying" && opened.int("households") == 0 && opened.bool("overdue") == false)
        var s = try await accept("cr-1", "record-visits", as: A.surveyor, surveyVisits(12, satisfied: 11, ["democracy": 8, "openness": 9]),
                                 at: "2026-01-07T17:00:00+08:00")
        #expect(s.int("households") == 12 && s.int("batches") == 1 && s.int("answers") == 84 && s.int("satisfied") == 72)
        // A batch cannot have more satisfied households than it visited.
        try await refuse("cr-1", "record-visits", as: A.surveyor, surveyVisits(5, satisfied: 6), at: "2026-01-08T17:00:00+08:00", check: .guardFailed)
        // Not concluded before the sample of 20 households is reached.
        try await refuse("cr-1", "conclude", as: A.district, at: "2026-01-09T10:00:00+08:00", check: .guardFailed)
        s = try await accept("cr-1", "record-visits", as: A.surveyor, surveyVisits(8, satisfied: 7, ["safety": 8]), at: "2026-01-14T17:00:00+08:00")
        #expect(s.int("households") == 20 && s.int("batches") == 2 && s.int("service") == 18 && s.int("democracy") == 15 && s.int("safety") == 19)
        #expect(s.int("answers") == 140 && s.int("satisfied") == 122)
        s = try await accept("cr-1", "conclude", as: A.district, at: "2026-01-16T10:00:00+08:00")
        #expect(s.state == "concluded" && s.bool("fund_eligible") == true && s.int("special_fund") == 500_000)
        s = try await accept("cr-1", "publish", as: A.xinheStreet, at: "2026-01-19T10:00:00+08:00")
        #expect(s.state == "published")

        try await open("community-rating", "cr-2", as: A.dongfengStreet,
                       #"{"community":"东风社区","street":"东风街道","year":2026,"period":"2026","sample":10}"#, at: "2026-01-05T10:00:00+08:00")
        try await accept("cr-2", "record-visits", as: A.surveyor, surveyVisits(10, satisfied: 7), at: "2026-01-12T17:00:00+08:00")
        s = try await accept("cr-2", "conclude", as: A.district, at: "2026-01-20T10:00:00+08:00")
        #expect(s.state == "concluded" && s.int("satisfied") == 49 && s.int("answers") == 70)
        #expect(s.bool("fund_eligible") == false && s.int("special_fund") == 0, "exactly 70% does not exceed the line")

        try await open("community-rating", "cr-3", as: A.dongfengStreet,
                       #"{"community":"东风社区","street":"东风街道","year":2025,"period":"2025-H2","sample":30}"#, at: "2026-01-06T09:00:00+08:00")
        try await accept("cr-3", "record-visits", as: A.surveyor, surveyVisits(10, satisfied: 9), at: "2026-01-13T17:00:00+08:00")
    }

    /// The timers run on 10 February: cr-3's survey (due at the end of 3 February) is still open and is flagged
    /// overdue; cr-1 and cr-2 were concluded in time.
    func ratingTimers() async throws {
        let fired = try await runTimers(until: "2026-02-10T00:00:00+08:00")
        #expect(fired == ["cr-3/survey"])
        let s = try state("cr-3")
        #expect(s.bool("overdue") == true && s.state == "surveying")
    }
}

extension World {
    /// Every scenario, one after another, in one store (each finishes before the next starts, so the
    /// timers of one never fire the clocks of another's cases early).
    func allScenarios() async throws {
        try await ratingCommands()
        try await ratingTimers()
        try await admissionCommands()
        try await admissionTimers()
        try await ledgerCommands()
        try await ledgerTimers()
        try await ledgerSettlement()
        try await evaluationCommands()
        try await evaluationTimers()
        try await evaluationEscalation()
        try await evaluationWithdrawal()
        try await requestCommands()
        try await requestTimers()
    }
}
