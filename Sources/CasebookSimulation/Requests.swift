import CasebookLog
import CasebookWorkflow

// Resident requests (居民诉求, DOMAIN.md §1): one-door acceptance at the counter, the one-time notice of
// all missing materials, completion within the item's promised working-day limit, appointments outside
// office hours, patch leaders, referrals to departments, ratings.

/// The service items residents ask for: the ids and published limits (working days) of
/// Workflows/catalogues/service-items.yaml (服务承诺制), with how often residents ask for each (weights; the
/// ordinary certificates and the social-security services most). The six certificates a community may not
/// issue (002's must/may/may-not catalogue; Ningbo cut stamped items 62→21, 001) make up about 3% of
/// requests and are refused at the counter with a referral. At run time the published catalogue's ids,
/// limits and certificate kinds are used (the workflow's `service-item` table reads the same catalogue),
/// with these frequencies by id; this list stands in when the definition publishes no catalogue.
let builtinServiceItems: [ServiceItem] = [
    ServiceItem(id: "residence-certificate", limitDays: 3, mayNot: false, weight: 34, department: "公安分局", needsPatch: false),
    ServiceItem(id: "family-planning-certificate", limitDays: 5, mayNot: false, weight: 6, department: "卫健委", needsPatch: false),
    ServiceItem(id: "hardship-certificate", limitDays: 5, mayNot: false, weight: 8, department: "民政局", needsPatch: true),
    ServiceItem(id: "unemployment-certificate", limitDays: 3, mayNot: false, weight: 6, department: "人社局", needsPatch: false),
    ServiceItem(id: "survival-certificate", limitDays: 1, mayNot: false, weight: 8, department: "人社局", needsPatch: true),
    ServiceItem(id: "personal-history-certificate", limitDays: 5, mayNot: false, weight: 3, department: "公安分局", needsPatch: true),
    ServiceItem(id: "business-premises-certificate", limitDays: 5, mayNot: false, weight: 4, department: "市场监管局", needsPatch: true),
    ServiceItem(id: "household-separation-certificate", limitDays: 5, mayNot: false, weight: 3, department: "公安分局", needsPatch: true),
    ServiceItem(id: "kinship-certificate", limitDays: 0, mayNot: true, weight: 2, department: "公安分局", needsPatch: false),
    ServiceItem(id: "no-criminal-record-certificate", limitDays: 0, mayNot: true, weight: 1, department: "公安分局", needsPatch: false),
    ServiceItem(id: "property-certificate", limitDays: 0, mayNot: true, weight: 1, department: "住建局", needsPatch: false),
    ServiceItem(id: "marital-status-certificate", limitDays: 0, mayNot: true, weight: 1, department: "民政局", needsPatch: false),
    ServiceItem(id: "income-certificate", limitDays: 0, mayNot: true, weight: 1, department: "税务局", needsPatch: false),
    ServiceItem(id: "birth-certificate", limitDays: 0, mayNot: true, weight: 1, department: "卫健委", needsPatch: false),
    ServiceItem(id: "subsistence-allowance", limitDays: 10, mayNot: false, weight: 12, department: "民政局", needsPatch: true),
    ServiceItem(id: "temporary-assistance", limitDays: 5, mayNot: false, weight: 6, department: "民政局", needsPatch: true),
    ServiceItem(id: "senior-card", limitDays: 5, mayNot: false, weight: 14, department: "民政局", needsPatch: false),
    ServiceItem(id: "employment-registration", limitDays: 3, mayNot: false, weight: 12, department: "人社局", needsPatch: false),
    ServiceItem(id: "unemployment-registration", limitDays: 3, mayNot: false, weight: 8, department: "人社局", needsPatch: false),
    ServiceItem(id: "birth-registration", limitDays: 3, mayNot: false, weight: 8, department: "卫健委", needsPatch: false),
    ServiceItem(id: "disability-card", limitDays: 10, mayNot: false, weight: 4, department: "残联", needsPatch: true),
    ServiceItem(id: "medical-insurance", limitDays: 3, mayNot: false, weight: 14, department: "医保局", needsPatch: false),
    ServiceItem(id: "pension-enrolment", limitDays: 5, mayNot: false, weight: 10, department: "人社局", needsPatch: false),
    ServiceItem(id: "elderly-allowance", limitDays: 10, mayNot: false, weight: 10, department: "民政局", needsPatch: true),
    ServiceItem(id: "complaint", limitDays: 5, mayNot: false, weight: 12, department: "城管局", needsPatch: true),
]

/// One planned request: which community, which item, which day (the rest is drawn from the case's own generator).
struct RequestSpec: Sendable {
    var community: Int
    var number: Int
    var item: Int
    var day: Int64
}

extension PlanContext {
    /// A community's requests for the year: items by weight, days spread over the working days, late
    /// enough in the year only while the item's clock (with a notice's pause) still ends within the
    /// calendar's year, since a clock cannot be judged past the calendar (CalendarError.yearNotCovered).
    func requestSpecs(community c: Int) -> [RequestSpec] {
        var rng = SplitMix64(seed: seed, name: "requests-\(c)")
        let weights = items.enumerated().map { ($0.offset, $0.element.weight) }
        var specs: [(item: Int, day: Int64)] = []
        for _ in 0..<config.requestsPerCommunity {
            let item = rng.weighted(weights)
            // Room for the limit, a notice's pause (≤ 5 working days), lateness (≤ 6) and a reopening.
            let last = max(0, workingDays.count - 1 - (items[item].limitDays + 16))
            specs.append((item, workingDays[rng.below(last + 1)]))
        }
        specs.sort { ($0.day, $0.item) < ($1.day, $1.item) }
        return specs.enumerated().map { RequestSpec(community: c, number: $0.offset + 1, item: $0.element.item, day: $0.element.day) }
    }

    func requestId(_ spec: RequestSpec) -> String {
        "\(tag)-\(communities[spec.community].id)-rq\(pad(spec.number, 4))"
    }

    /// The plan of one request. Proportions (DOMAIN.md §1; the targets of the issue):
    /// - may-not certificates (~2% of requests, by item weight): received, then refused at the counter;
    /// - appointments outside office hours: 10% (19:00/19:30 on a working day, or a Saturday morning that
    ///   is not a working day); the handling starts at the appointment;
    /// - one-time notice of missing materials: 15% (all missing items listed at once; materials supplied
    ///   1–5 working days later, the clock paused meanwhile); in 4% of those the back office later tries a
    ///   second notice, which the engine refuses (reason class `second-notice`) and records;
    /// - patch leader assigned: items needing a home visit, and 15% of the others;
    /// - referred to the item's department: 8% (the department completes);
    /// - late: 5% planned to complete 1–6 working days after the deadline (limit + paused working days);
    ///   on time, completion falls in the limit, early days likelier;
    /// - reopened after completion: 5% (by the resident or the workstation head), completed again;
    /// - rated: 85% of completed requests, 75% satisfied / 18% basically satisfied / 7% dissatisfied;
    ///   the rest never rated (the case stays `completed`).
    func requestThread(_ spec: RequestSpec) -> SimThread {
        let community = communities[spec.community]
        let item = items[spec.item]
        let id = requestId(spec)
        var rng = SplitMix64(seed: seed, name: id)
        var t = SimThread(id: id, workflow: "resident-request")
        let counter = Actor(role: "counter", id: rng.pick(community.counterStaff) + "@" + community.id)
        let backOffice = Actor(role: "back-office", id: rng.pick(community.backOffice) + "@" + community.id)
        let resident = Actor(role: "resident", id: "居民@" + id)
        let supervisor = Actor(role: "supervisor", id: community.head + "@" + community.id)
        let patch = rng.pick(community.patches)
        let d0 = spec.day
        let m0 = officeMinute(&rng)
        let applicant = personName(&rng) + " 身份证 3302\(pad(rng.int(3...12), 2))\(rng.int(1940...2005))\(pad(rng.int(1...12), 2))\(pad(rng.int(1...28), 2))\(pad(rng.below(1000), 3))\(rng.below(10))"
        let receive: [String: JSONValue] = [
            "item": .string(item.id), "community": .string(community.name), "patch": .string(patch.id), "applicant": .string(applicant),
        ].filter { request.receiveFields.isEmpty || request.receiveFields.contains($0.key) }
        t.add(d0, m0, "receive", counter, receive, opens: "resident-request", tally: ["request.received"])

        if item.mayNot && request.has("refuse") {
            t.add(d0, m0 + 6, "refuse", counter, tally: ["request.refused-may-not"])
            return t
        }
        // Appointment outside office hours (预约服务制).
        var ready = (day: d0, minute: m0 + 10)
        if rng.chance(0.10) && request.has("book-appointment") {
            var slot: (day: Int64, minute: Int)
            if rng.chance(0.6), let next = addWorking(rng.int(1...3), after: d0) {
                slot = (next, rng.chance(0.5) ? 1140 : 1170)  // 19:00 / 19:30
            } else {
                var day = d0 + 1
                while !(SimTime.weekday(day) == 6 && working(onOrAfter: day) != day) { day += 1 }
                slot = (day, rng.chance(0.5) ? 570 : 600)  // a Saturday off, 09:30 / 10:00
            }
            t.add(d0, m0 + 3, "book-appointment", rng.chance(0.5) ? counter : resident,
                  ["time": .string(SimTime.iso(slot.day, minute: slot.minute))], tally: ["request.appointment"])
            ready = (slot.day, slot.minute + 20)
        }
        // One-time notice of all missing materials (一次性告知), or straight to the back office.
        var pausedDays = 0
        var secondNotice = false
        if rng.chance(0.15) {
            let missing = rng.sample(materials, rng.int(1...3)).map(JSONValue.string)
            t.add(ready.day, ready.minute, "notify-missing", counter, ["missing": .array(missing)], tally: ["request.notice"])
            let supplied = addWorking(rng.int(1...5), after: ready.day)!
            // A pause that begins after the deadline does not move it.
            if ready.day <= addWorking(item.limitDays, after: d0)! { pausedDays = workingCount(from: ready.day + 1, through: supplied) }
            t.add(supplied, officeMinute(&rng), "supply-materials", rng.chance(0.8) ? resident : counter, tally: ["request.supplied"])
            ready = (supplied, t.steps.last!.minute + 5)
            secondNotice = rng.chance(0.04)
        } else {
            t.add(ready.day, ready.minute, "hand-off", counter)
        }
        if request.has("assign-patch") && (item.needsPatch || rng.chance(0.15)) {
            t.add(ready.day, ready.minute + 15, "assign-patch", rng.chance(0.7) ? counter : supervisor,
                  ["patch": .string(patch.id), "leader": .string(patch.leader)], tally: ["request.patch"])
        }
        if secondNotice {
            let extra = rng.pick(materials)
            t.add(ready.day, ready.minute + 60, "notify-missing", backOffice, ["missing": .array([.string(extra)])],
                  expect: .refuse("second-notice"), tally: ["request.second-notice-refused"])
        }
        var completer = backOffice
        if rng.chance(0.08) && request.has("refer-to-department") {
            let department = departments.first { $0.short == item.department } ?? departments[0]
            t.add(ready.day, ready.minute + 90, "refer-to-department", rng.chance(0.5) ? counter : backOffice,
                  ["department": .string(department.name)], tally: ["request.referred"])
            completer = Actor(role: "department", id: department.short)
        }
        // Completion: the clock's deadline is the limit in working days after receipt, moved by the paused
        // working days (Clock.swift's rules).
        let deadline = addWorking(item.limitDays + pausedDays, after: d0)!
        let late = rng.chance(0.05)
        var done: Int64
        if late {
            done = addWorking(rng.int(1...6), after: max(deadline, ready.day))!
        } else {
            let first = workingIndex(onOrAfter: ready.day)
            let span = max(0, workingCount(from: workingDays[first], through: deadline) - 1)
            done = workingDays[first + min(rng.int(0...span), rng.int(0...span))]
        }
        let doneMinute = done == ready.day ? min(ready.minute + rng.int(60...240), 1060) : officeMinute(&rng)
        t.add(done, doneMinute, "complete", completer, tally: done > deadline ? ["request.late"] : ["request.on-time"])
        // Reopening restarts the clock with the item's full limit (resident-request.yaml v2): handled again within it.
        if rng.chance(0.05), let reopenDay = addWorking(rng.int(1...3), after: done),
           let again = addWorking(rng.int(1...max(1, item.limitDays)), after: reopenDay) {
            t.add(reopenDay, officeMinute(&rng), "reopen", rng.chance(0.6) ? resident : supervisor, tally: ["request.reopened"])
            done = again
            t.add(again, officeMinute(&rng), "complete", completer)
        }
        if rng.chance(0.85), let day = addWorking(rng.int(0...3), after: done) {
            let rating = rng.weighted([("satisfied", 75), ("basically-satisfied", 18), ("dissatisfied", 7)])
            t.add(day, officeMinute(&rng), "rate", rng.chance(0.8) ? resident : counter, ["rating": .string(rating)],
                  tally: ["rating.\(rating)"])
        } else {
            t.steps[t.steps.count - 1].tally.append("request.unrated")
        }
        return t
    }
}
