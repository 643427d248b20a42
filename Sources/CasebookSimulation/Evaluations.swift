import CasebookLog
import CasebookWorkflow

// Communities rate departments once a year (双评议, DOMAIN.md §4); unsatisfactory departments rectify (整改),
// and after a failed rectification the coordination office may withdraw their work (撤出社区).

private let aspects = ["task_assignment", "rating_campaigns", "cost_follows_task", "work_style", "fairness", "openness", "quality", "effect", "funding", "approval"]

private let rectificationReports = [
    "已召开专题会议，规范向社区布置工作，未经准入事项全部清理 tasks without admission withdrawn",
    "已拨付拖欠的委托经费，建立按季结算制度 overdue funds paid, quarterly settlement",
    "已精简创建评比和台账要求 fewer campaigns and ledgers",
    "已明确联系社区责任人，改进工作作风 named liaison, better work style",
]

extension PlanContext {
    /// A community's yearly evaluation of a sample of departments (`departmentsRatedPerCommunity`), in one
    /// panel session between July and early September (so that rectification, with its 20-working-day
    /// deadline and an extension, ends within the calendar's year). Proportions:
    /// - results: 55% satisfied (total ≥ 40), 36% basically satisfied (30–39), 9% unsatisfactory — half
    ///   of those because cost-follows-task was rated 1 (the department does not pay), half on a total
    ///   below 30 (the `result` table of department-evaluation.yaml decides; the plan only draws scores);
    /// - unsatisfactory → `order-rectification` (the engine opens the rectification case), naming an
    ///   admitted item of the department in the community when there is one;
    /// - rectifications: 65% report in time and are confirmed rectified; 10% report after the deadline
    ///   (the clock moves them to `overdue` if a month-end timer run comes first) and are confirmed;
    ///   20% find no clear change and are escalated, then the office withdraws the department's work (60%
    ///   when an admitted item is named; the rectification's `send … to-cases-of` withdraws every admitted
    ///   task-admission case of the department in the community, the named one among them) or gives more
    ///   time (report, confirmed); 5% stay escalated, awaiting the office.
    func evaluationThreads(community c: Int, admissions: [AdmissionSummary]) -> [SimThread] {
        let community = communities[c]
        var rng = SplitMix64(seed: seed, name: "evaluations-\(c)")
        let first = workingIndex(onOrAfter: SimTime.day(config.year, 7, 1))
        let last = workingIndex(onOrAfter: SimTime.day(config.year, 9, 5)) - 1
        guard first < last else { return [] }
        let day = workingDays[rng.int(first...last)]
        let rated = rng.sample(Array(departments.indices), min(config.departmentsRatedPerCommunity, departments.count))
        return rated.enumerated().map { k, d in
            let candidate = admissions.first { $0.community == c && $0.department == d && !$0.withdrawnDirectly && ($0.admitted ?? .max) < day }
            return evaluationThread(community: community, number: k + 1, department: d, day: day, minute: 540 + 12 * k, admission: candidate?.id,
                                    items: admissions.filter { $0.community == c && $0.department == d })
        }
    }

    /// `items`: the department's applications in the community. A withdrawal withdraws every one admitted by
    /// then, so none may be admitted, or withdrawn directly, on the day of the withdrawal or directly withdrawn
    /// after it (which commands of different cases on one day come first is not fixed); the office then gives
    /// more time instead.
    private func evaluationThread(
        community: Community, number: Int, department d: Int, day openDay: Int64, minute: Int, admission: String?, items: [AdmissionSummary]
    ) -> SimThread {
        let id = "\(tag)-\(community.id)-ev\(pad(number, 2))"
        var rng = SplitMix64(seed: seed, name: id)
        var t = SimThread(id: id, workflow: "department-evaluation")
        let panel = Actor(role: "community", id: community.id + "评议小组")
        let department = Actor(role: "department", id: departments[d].short)
        t.add(openDay, minute, "open", panel,
              ["department": .string(departments[d].name), "community": .string(community.name), "year": .int(Int64(config.year))],
              opens: "department-evaluation", tally: ["evaluation.opened"])
        let result = rng.weighted([("satisfied", 55), ("basically-satisfied", 36), ("unsatisfactory", 9)])
        var scores: [Int]
        switch result {
        case "satisfied":
            scores = aspects.map { _ in rng.weighted([(5, 4), (4, 5), (3, 1)]) }
            while scores.reduce(0, +) < 40 { let i = rng.below(10); if scores[i] < 5 { scores[i] += 1 } }
        case "basically-satisfied":
            scores = aspects.map { _ in rng.weighted([(5, 1), (4, 4), (3, 4), (2, 1)]) }
            while scores.reduce(0, +) >= 40 { let i = rng.below(10); if scores[i] > 2 { scores[i] -= 1 } }
            while scores.reduce(0, +) < 30 { let i = rng.below(10); if scores[i] < 5 { scores[i] += 1 } }
            if scores[2] == 1 { scores[2] = 2 }
        default:
            if rng.chance(0.5) {
                scores = aspects.map { _ in rng.int(3...5) }
                scores[2] = 1  // cost follows task rated 1: unsatisfactory whatever the total
            } else {
                scores = aspects.map { _ in rng.weighted([(1, 2), (2, 5), (3, 3)]) }
                while scores.reduce(0, +) >= 30 { let i = rng.below(10); if scores[i] > 1 { scores[i] -= 1 } }
            }
        }
        if result != "unsatisfactory" && scores[2] == 1 { scores[2] = 2 }
        t.add(openDay, minute + 10, "rate", panel, Dictionary(uniqueKeysWithValues: zip(aspects, scores.map { JSONValue.int(Int64($0)) })))
        var day = addWorking(rng.int(1...4), after: openDay)!
        t.add(day, officeMinute(&rng), "conclude", districtOffice, tally: ["evaluation.\(result)"])
        day = addWorking(rng.int(0...2), after: day)!
        guard result == "unsatisfactory" else {
            t.add(day, officeMinute(&rng), "close", districtOffice)
            return t
        }
        var order: [String: JSONValue] = [
            "department": .string(departments[d].name), "community": .string(community.name),
            "reason": .string(scores[2] == 1 ? "费随事转未落实 cost did not follow the task" : "评议总分\(scores.reduce(0, +))分，不满意 rated unsatisfactory"),
        ]
        if let admission { order["admission"] = .string(admission) }
        let orderDay = day
        t.add(orderDay, officeMinute(&rng), "order-rectification", districtOffice, order,
              tally: ["rectification.ordered", admission == nil ? "rectification.without-admission" : "rectification.with-admission"])
        let r = Target.linked(from: id, field: "rectification")
        guard let deadline = addWorking(20, after: orderDay) else { return t }
        let fate = rng.weighted([("on-time", 65), ("late", 10), ("no-change", 20), ("left-escalated", 5)])
        let reportDay = fate == "late" ? addWorking(rng.int(1...8), after: deadline)! : addWorking(rng.int(5...18), after: orderDay)!
        t.add(reportDay, officeMinute(&rng), "report", department, ["report": .string(rng.pick(rectificationReports))], target: r,
              tally: fate == "late" ? ["rectification.late-report"] : [])
        day = addWorking(rng.int(2...6), after: reportDay)!
        if fate == "on-time" || fate == "late" {
            t.add(day, officeMinute(&rng), "confirm-rectified", panel, target: r, tally: ["rectification.rectified"])
            return t
        }
        t.add(day, officeMinute(&rng), "find-no-change", rng.chance(0.5) ? panel : districtOffice, target: r, tally: ["rectification.escalated"])
        guard fate == "no-change" else { return t }
        day = addWorking(rng.int(1...3), after: day)!
        let clash = items.contains { a in
            a.admitted == day || a.withdrawnOn == day || (a.withdrawnOn.map { $0 > day } == true && (a.admitted ?? .max) < day)
        }
        if admission != nil && rng.chance(0.6) && !clash {
            t.add(day, officeMinute(&rng), "withdraw-work", districtOffice, target: r, tally: ["rectification.withdrawn"], touches: admission)
            return t
        }
        guard addWorking(20, after: day) != nil, let again = addWorking(rng.int(5...15), after: day), let confirm = addWorking(rng.int(2...6), after: again) else {
            return t
        }
        t.add(day, officeMinute(&rng), "extend", districtOffice, target: r, tally: ["rectification.extended"])
        t.add(again, officeMinute(&rng), "report", department, ["report": .string(rng.pick(rectificationReports))], target: r)
        t.add(confirm, officeMinute(&rng), "confirm-rectified", panel, target: r, tally: ["rectification.rectified"])
        return t
    }
}
