import CasebookLog
import CasebookWorkflow

// Admission of departmental work into communities (工作准入, DOMAIN.md §2) and the "cost follows task"
// entrustment of admitted work (费随事转, §3).

let admissionKinds = ["work-task", "organisation", "statistical-survey", "plaque", "rating-campaign", "stamping-item"]

private let admissionTitles: [String: [String]] = [
    "work-task": ["高龄津贴入户核查", "流动人口信息采集", "居家养老服务对象评估", "困难家庭收入核对", "安全生产隐患排查", "垃圾分类入户宣传", "退役军人信息采集", "城乡居民医保参保动员"],
    "organisation": ["社区老年协会分会", "社区禁毒工作小组", "社区人民调解委员会", "社区妇女之家", "社区青年志愿服务队", "社区消防安全委员会"],
    "statistical-survey": ["劳动力调查入户", "居民消费价格调查", "人口变动抽样调查", "残疾人状况调查", "住户收支调查", "经济普查清查摸底"],
    "plaque": ["禁毒工作站挂牌", "科普e站挂牌", "法律服务点挂牌", "妇女儿童之家挂牌", "健康小屋挂牌", "退役军人服务站挂牌"],
    "rating-campaign": ["文明社区创建评比", "平安社区创建", "健康社区评比", "绿色社区创建", "学习型社区评比", "无邪教社区创建"],
    "stamping-item": ["出具亲属关系证明", "出具无犯罪记录证明", "出具房产情况证明", "出具个人经历证明", "收入证明盖章", "出具婚育情况证明", "出具生存证明"],
]

private let legalBases = [
    "《中华人民共和国城市居民委员会组织法》第三条", "《中华人民共和国统计法》第七条", "《社会救助暂行办法》第十一条",
    "《中华人民共和国残疾人保障法》第九条", "《中华人民共和国老年人权益保障法》第七条", "《中华人民共和国消防法》第三十二条",
    "《全国人口普查条例》第五条", "《中华人民共和国人口与计划生育法》第十二条",
]

/// Share of applications of each kind that cite a legal basis. Without one, plaques, rating campaigns and
/// stamping items are classified should-not-undertake and rejected: Ningbo cut stamped items 62→21 (about
/// a third kept) and creation/rating campaigns 53→10 (about a fifth kept) (001).
private let legalBasisShare: [String: Double] = [
    "work-task": 0.6, "organisation": 0.4, "statistical-survey": 0.6, "plaque": 0.3, "rating-campaign": 0.19, "stamping-item": 0.34,
]

/// The classification table of Workflows/task-admission.yaml, for planning (the engine decides it for real).
func admissionCategory(hasLegalBasis: Bool, kind: String) -> String {
    switch (hasLegalBasis, kind) {
    case (true, "work-task"), (true, "stamping-item"): return "must-undertake"
    case (true, _): return "should-assist"
    case (false, "work-task"), (false, "statistical-survey"), (false, "organisation"): return "may-be-entrusted"
    default: return "should-not-undertake"
    }
}

/// What later plans need to know of an admission: who, what, and whether and when it was admitted.
struct AdmissionSummary: Sendable {
    var id: String
    var community: Int
    var department: Int
    var kind: String
    var title: String
    var category: String?
    var admitted: Int64?
    var withdrawnDirectly: Bool
    /// The day of the direct withdrawal, if there is one.
    var withdrawnOn: Int64? = nil
}

let districtOffice = Actor(role: "district-office", id: "区协调办")

extension PlanContext {
    /// A community's applications for admission. Proportions:
    /// - every kind at least once when there are six or more applications; departments at random;
    /// - legal basis by kind (see `legalBasisShare`); without one, the residents' (representatives')
    ///   meeting votes first (000): 15% of votes fail (the engine refuses the resolution: `vote-failed`) and
    ///   the street office declines; in 5% the street office first tries to submit before any vote
    ///   (refused: `review-before-resolution`);
    /// - 6% are never decided and expire on the 20-working-day review clock;
    /// - 7% declined by the street office, 4% of the rest rejected by the district office;
    /// - should-not-undertake work is rejected after filing (in 20% of those an `admit` is tried first and
    ///   refused: `should-not-undertake`), the rest admitted; 3% of admitted work is later withdrawn by the
    ///   district office directly (more by failed rectifications, see evaluations).
    func admissionThreads(community c: Int) -> [(SimThread, AdmissionSummary)] {
        let community = communities[c]
        var rng = SplitMix64(seed: seed, name: "admissions-\(c)")
        let n = config.admissionsPerCommunity
        var kinds: [String] = n >= admissionKinds.count ? rng.sample(admissionKinds, admissionKinds.count) : []
        while kinds.count < n {
            kinds.append(rng.weighted([("work-task", 3), ("statistical-survey", 2), ("organisation", 1), ("plaque", 1), ("rating-campaign", 1), ("stamping-item", 2)]))
        }
        let lastApply = max(0, workingDays.count - 1 - 30)
        let days = kinds.map { _ in workingDays[rng.below(lastApply + 1)] }.sorted()
        return zip(kinds, days).enumerated().map { k, pair in
            admissionThread(community: community, index: c, number: k + 1, kind: pair.0, day: pair.1)
        }
    }

    private func admissionThread(community: Community, index c: Int, number: Int, kind: String, day applyDay: Int64) -> (SimThread, AdmissionSummary) {
        let id = "\(tag)-\(community.id)-ad\(pad(number, 2))"
        var rng = SplitMix64(seed: seed, name: id)
        var t = SimThread(id: id, workflow: "task-admission")
        let d = rng.below(departments.count)
        let department = Actor(role: "department", id: departments[d].short)
        let committee = Actor(role: "residents-committee", id: community.id + "居委会")
        let street = Actor(role: "street-office", id: community.street)
        let title = departments[d].short + "·" + rng.pick(admissionTitles[kind]!)
        let hasBasis = rng.chance(legalBasisShare[kind]!)
        var summary = AdmissionSummary(id: id, community: c, department: d, kind: kind, title: title, category: nil, admitted: nil, withdrawnDirectly: false)
        var apply: [String: JSONValue] = [
            "kind": .string(kind), "title": .string(title), "community": .string(community.name),
            "department": .string(departments[d].name), "has_legal_basis": .bool(hasBasis),
        ]
        if hasBasis { apply["legal_basis"] = .string(rng.pick(legalBases)) }
        t.add(applyDay, officeMinute(&rng), "apply", department, apply, opens: "task-admission",
              tally: ["admission.applied", "admission.kind.\(kind)", hasBasis ? "admission.with-legal-basis" : "admission.without-legal-basis"])
        let expire = rng.chance(0.06)
        var day = applyDay
        if !hasBasis {
            if rng.chance(0.05) {
                day = addWorking(1, after: day)!
                t.add(day, officeMinute(&rng), "review", street, expect: .refuse("review-before-resolution"))
            }
            if expire && rng.chance(0.5) {
                t.steps[t.steps.count - 1].tally.append("admission.left-to-expire")
                return (t, summary)
            }
            day = addWorking(rng.int(3...8), after: day)!
            let representatives = rng.chance(0.7)
            let total = representatives ? rng.int(30...120) : rng.int(100...400)
            let fails = rng.chance(0.15)
            let votesFor = fails ? total * rng.int(25...50) / 100 : total * rng.int(55...90) / 100 + 1
            let against = (total - votesFor) * rng.int(40...90) / 100
            let votes: [String: JSONValue] = [
                "meeting": .string(representatives ? "representatives-meeting" : "residents-meeting"),
                "votes_for": .int(Int64(votesFor)), "votes_against": .int(Int64(against)), "votes_abstain": .int(Int64(total - votesFor - against)),
            ]
            if fails {
                t.add(day, 1140, "record-resolution", committee, votes, expect: .refuse("vote-failed"), tally: ["admission.vote-failed"])
                day = addWorking(rng.int(1...2), after: day)!
                t.add(day, officeMinute(&rng), "decline", street, ["reason": .string("居民会议未通过 the residents' meeting did not pass it")],
                      tally: ["admission.rejected"])
                return (t, summary)
            }
            t.add(day, 1140, "record-resolution", committee, votes, tally: ["admission.resolution-passed"])  // meetings in the evening
        }
        if expire {
            t.steps[t.steps.count - 1].tally.append("admission.left-to-expire")
            return (t, summary)
        }
        day = addWorking(rng.int(1...3), after: day)!
        if rng.chance(0.07) {
            t.add(day, officeMinute(&rng), "decline", street, ["reason": .string("不属于社区职责，应由部门自行承担 not a community duty")],
                  tally: ["admission.declined", "admission.rejected"])
            return (t, summary)
        }
        t.add(day, officeMinute(&rng), "review", street)
        day = addWorking(rng.int(1...4), after: day)!
        let category = admissionCategory(hasLegalBasis: hasBasis, kind: kind)
        summary.category = category
        t.add(day, officeMinute(&rng), "approve", districtOffice, tally: ["admission.filed", "admission.category.\(category)"])
        day = addWorking(rng.int(0...2), after: day)!
        if category == "should-not-undertake" {
            if rng.chance(0.2) { t.add(day, officeMinute(&rng), "admit", districtOffice, expect: .refuse("should-not-undertake")) }
            t.add(day, officeMinute(&rng), "reject", districtOffice,
                  ["reason": .string("不该由社区承担（规范挂牌、创建评比、盖章证明）work the community should not undertake")],
                  tally: ["admission.cut-back", "admission.rejected"])
            return (t, summary)
        }
        if rng.chance(0.04) {
            t.add(day, officeMinute(&rng), "reject", districtOffice, ["reason": .string("未落实工作经费 no funding arranged for the work")],
                  tally: ["admission.rejected"])
            return (t, summary)
        }
        t.add(day, officeMinute(&rng), "admit", districtOffice, tally: ["admission.admitted"])
        summary.admitted = day
        if rng.chance(0.03), let w = addWorking(rng.int(10...40), after: day) {
            t.add(w, officeMinute(&rng), "withdraw", districtOffice, ["reason": .string("工作任务已结束 the task has ended")],
                  tally: ["admission.withdrawn-directly"])
            summary.withdrawnDirectly = true
            summary.withdrawnOn = w
        }
        return (t, summary)
    }

    /// The entrusted-service cases of a community (费随事转, DOMAIN.md §3): 90% of its admitted
    /// may-be-entrusted items, plus, in 12% of communities, one piece of work entrusted with no admission
    /// at all (the `admission` reference left empty: what auditors look for).
    func entrustedThreads(community c: Int, admissions: [AdmissionSummary]) -> [SimThread] {
        let community = communities[c]
        var rng = SplitMix64(seed: seed, name: "entrusted-\(c)")
        var threads: [SimThread] = []
        for a in admissions where a.community == c && a.category == "may-be-entrusted" {
            guard let admitted = a.admitted, rng.chance(0.9), let start = addWorking(rng.int(1...8), after: admitted) else { continue }
            threads.append(entrustedThread(community: community, number: threads.count + 1, department: a.department, item: a.title,
                                           admission: a.id, start: start))
        }
        if rng.chance(0.12) {
            let d = rng.below(departments.count)
            let start = workingDays[rng.int(20...max(20, workingDays.count - 100))]
            threads.append(entrustedThread(community: community, number: threads.count + 1, department: d,
                                           item: departments[d].short + "·" + rng.pick(admissionTitles["work-task"]!), admission: nil, start: start))
        }
        return threads
    }

    /// One entrusted item. Proportions:
    /// - funding mode: per unit 45%, lump sum 35%, per 1,000 households a year 20% (rates 5,000–30,000
    ///   yuan per 1,000 households; 004 cites 10,000 for a workstation); 4% of the latter are first entered
    ///   with a rate that does not divide to the fen and refused (`rate-not-exact`), then entered again;
    /// - 1–4 deliveries over the following months; 15% see a staff advance (垫付, 200–3,000 yuan) whose
    ///   reimbursement follows payment (10% not by the year's end, so the case cannot close);
    /// - assessed (quality ≥ 60 pays in full, 5% fail below 60 and pay nothing);
    /// - 35% paid in 1–2 parts first; ~22% paid late, 31–80 days after assessment, past the 30-day payment
    ///   clock (the breach flags the case overdue); the rest within it; some unpaid at the year's end.
    private func entrustedThread(community: Community, number: Int, department d: Int, item: String, admission: String?, start: Int64) -> SimThread {
        let id = "\(tag)-\(community.id)-es\(pad(number, 2))"
        var rng = SplitMix64(seed: seed, name: id)
        var t = SimThread(id: id, workflow: "entrusted-service")
        let department = Actor(role: "department", id: departments[d].short)
        let committee = Actor(role: "community", id: community.id + "居委会")
        let assessor = Actor(role: "assessor", id: community.street)
        var base: [String: JSONValue] = ["department": .string(departments[d].name), "community": .string(community.name), "item": .string(item)]
        if let admission { base["admission"] = .string(admission) }
        let mode = rng.weighted([("per-unit", 45), ("lump-sum", 35), ("per-1000-households-a-year", 20)])
        var unitPrice: Int64 = 0, fixed: Int64 = 0
        let tallies = ["entrusted.\(mode)", admission == nil ? "entrusted.without-admission" : "entrusted.with-admission"]
        switch mode {
        case "per-unit":
            unitPrice = Int64(rng.int(20...200)) * 100
            t.add(start, officeMinute(&rng), "entrust-per-unit", department, base.merging(["unit_price": .int(unitPrice)]) { $1 },
                  opens: "entrusted-service", tally: tallies)
        case "lump-sum":
            fixed = Int64(rng.int(50...600)) * 10_000
            t.add(start, officeMinute(&rng), "entrust-lump-sum", department, base.merging(["amount": .int(fixed)]) { $1 },
                  opens: "entrusted-service", tally: tallies)
        default:
            let share = Int64(rng.int(5...30)) * 100  // fen per household a year
            fixed = share * Int64(community.households)
            var day = start
            if rng.chance(0.04) {
                t.add(day, officeMinute(&rng), "entrust-per-households", department,
                      base.merging(["rate_per_1000": .int(share * 1000 + 50), "household_share": .int(share), "households": .int(Int64(community.households))]) { $1 },
                      opens: "entrusted-service", expect: .refuse("rate-not-exact"))
                day = addWorking(1, after: day) ?? day
            }
            t.add(day, officeMinute(&rng), "entrust-per-households", department,
                  base.merging(["rate_per_1000": .int(share * 1000), "household_share": .int(share), "households": .int(Int64(community.households))]) { $1 },
                  opens: "entrusted-service", tally: tallies)
        }
        // Deliveries, and perhaps a staff advance.
        var day = t.steps.last!.day
        var delivered = 0
        let advance = rng.chance(0.15) ? Int64(rng.int(2...30)) * 10_000 : 0
        let deliveries = rng.int(1...4)
        for k in 0..<deliveries {
            guard let next = addWorking(rng.int(8...25), after: day) else { return t }
            day = next
            let q = mode == "per-unit" ? rng.int(10...150) : rng.int(1...20)
            delivered += q
            t.add(day, officeMinute(&rng), "record-delivery", committee, ["quantity": .int(Int64(q))], tally: k == 0 ? ["entrusted.delivering"] : [])
            if k == 0 && advance > 0 {
                t.add(day, officeMinute(&rng), "record-advance", committee,
                      ["advance": .int(advance), "staff": .string(rng.pick(community.counterStaff)), "purpose": .string("入户核查交通及材料费 travel and materials")],
                      tally: ["advance.recorded"])
            }
        }
        guard let assessDay = addWorking(rng.int(3...15), after: day) else { return t }
        let quality = rng.chance(0.05) ? rng.int(35...59) : rng.int(60...98)
        let assessed = rng.chance(0.8) ? delivered : max(0, delivered - rng.int(0...delivered / 5))
        t.add(assessDay, officeMinute(&rng), "assess", assessor, ["quality": .int(Int64(quality)), "assessed_quantity": .int(Int64(assessed))],
              tally: quality >= 60 ? ["entrusted.assessed-pass"] : ["entrusted.assessed-fail"])
        let payable = quality >= 60 ? unitPrice * Int64(assessed) + fixed : 0
        // Payment: the 30-calendar-day clock ends at the end of assessment day + 30.
        let lateTarget = rng.chance(0.22)
        let target = assessDay + Int64(lateTarget ? rng.int(31...80) : rng.int(3...26))
        guard let finalDay = working(onOrAfter: target) else { t.steps[t.steps.count - 1].tally.append("payment.unpaid-at-year-end"); return t }
        var outstanding = payable
        if payable > 0 && rng.chance(0.35) {
            var partDay = addWorking(rng.int(1...3), after: assessDay)
            for _ in 0..<rng.int(1...2) {
                guard let day = partDay, day < finalDay else { break }
                let part = payable * Int64(rng.int(30...45)) / 100
                guard part > 0, part < outstanding else { break }
                outstanding -= part
                t.add(day, officeMinute(&rng), "pay", department, ["amount": .int(part)], tally: ["payment.partial"])
                partDay = addWorking(rng.int(3...8), after: day)
            }
        }
        t.add(finalDay, officeMinute(&rng), "pay-in-full", department, ["amount": .int(outstanding)],
              tally: finalDay > assessDay + 30 ? ["payment.late", "payment.settled"] : ["payment.on-time", "payment.settled"])
        day = finalDay
        if advance > 0 {
            guard rng.chance(0.9), let r = addWorking(rng.int(1...10), after: day) else {
                t.steps[t.steps.count - 1].tally.append("advance.unreimbursed")
                return t
            }
            day = r
            t.add(day, officeMinute(&rng), "reimburse-advance", rng.chance(0.5) ? department : committee, ["amount": .int(advance)],
                  tally: ["advance.reimbursed"])
        }
        if let closeDay = addWorking(rng.int(1...5), after: day) {
            t.add(closeDay, officeMinute(&rng), "close", committee, tally: ["entrusted.closed"])
        }
        return t
    }
}
