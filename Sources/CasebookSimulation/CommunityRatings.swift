import CasebookLog
import CasebookWorkflow

// Residents rate their community (双评议, DOMAIN.md §4): a yearly household survey per community
// (community-rating.yaml), after the departments' evaluation.

/// The seven aspects of community-rating.yaml, with how far each community's satisfaction with it lies
/// from the community's overall level (democracy and openness of residents' affairs are rated lowest).
private let ratingAspects: [(name: String, offset: Double)] = [
    ("service", 0.03), ("management", 0.0), ("democracy", -0.05), ("environment", -0.02), ("safety", 0.02), ("culture", 0.0),
    ("openness", -0.04),
]

extension PlanContext {
    /// One residents' satisfaction survey per community, opened by its street office on a working day
    /// between 12 October and 6 November. Proportions (Ningbo 2013: 88% satisfied, seed 001; Nantong's
    /// 70% special-fund line, seed 000):
    /// - the sample is one household in 200 (15–40 households; Ningbo visited about 20 a community a round);
    /// - a community's residents are satisfied with probability drawn from one of three classes — 70% of
    ///   communities 85–97%, 24% 72–88%, 6% 50–70% — moved per aspect (service +3 points, safety +2,
    ///   environment −2, openness −4, democracy −5); each household answers each aspect on its own draw,
    ///   so the city's overall rate comes out near 87% and about one community in twelve falls at or
    ///   below the 70% line (the `special-fund` table of the definition decides, on the recorded counts);
    /// - surveyors (the patch leaders) record the visits in 2–4 batches, 1–5 working days apart; 6% of the
    ///   time the office tries to conclude one batch early and is refused (`sample-not-reached`);
    /// - 92% are concluded and disclosed within days, 5% concluded and still awaiting disclosure at the
    ///   year's end, 3% never concluded (their 20-working-day clock flags them overdue).
    func communityRatingThread(community c: Int) -> SimThread? {
        let community = communities[c]
        let id = "\(tag)-\(community.id)-cr01"
        var rng = SplitMix64(seed: seed, name: id)
        let first = workingIndex(onOrAfter: SimTime.day(config.year, 10, 12))
        let last = workingIndex(onOrAfter: SimTime.day(config.year, 11, 6)) - 1
        guard first < last else { return nil }
        let openDay = workingDays[rng.int(first...last)]
        var t = SimThread(id: id, workflow: "community-rating")
        let street = Actor(role: "street-office", id: community.street)
        let sample = min(40, max(15, community.households / 200))
        t.add(openDay, officeMinute(&rng), "open", street,
              ["community": .string(community.name), "street": .string(community.street), "year": .int(Int64(config.year)),
               "period": .string(String(config.year)), "sample": .int(Int64(sample))],
              opens: "community-rating", tally: ["community-rating.opened"])
        let level: Double = {
            switch rng.weighted([("good", 70), ("fair", 24), ("poor", 6)]) {
            case "good": return Double(rng.int(85...97)) / 100
            case "fair": return Double(rng.int(72...88)) / 100
            default: return Double(rng.int(50...70)) / 100
            }
        }()
        let fate = rng.weighted([("published", 92), ("concluded", 5), ("unfinished", 3)])
        // Batches of visits adding up to the sample.
        let batchCount = rng.int(2...4)
        var sizes = Array(repeating: sample / batchCount, count: batchCount)
        for k in 0..<(sample % batchCount) { sizes[k] += 1 }
        var day = openDay
        var satisfied = 0, answers = 0
        let early = fate != "unfinished" && rng.chance(0.06)
        for (k, size) in sizes.enumerated() {
            day = addWorking(rng.int(1...5), after: day) ?? day
            if fate == "unfinished" && k == sizes.count - 1 { break }  // the last batch is never recorded
            var data: [String: JSONValue] = ["households": .int(Int64(size))]
            for aspect in ratingAspects {
                let p = min(1, max(0, level + aspect.offset))
                var yes = 0
                for _ in 0..<size where rng.chance(p) { yes += 1 }
                data[aspect.name] = .int(Int64(yes))
                satisfied += yes
            }
            answers += size * 7
            let leader = community.patches[k % community.patches.count].leader
            t.add(day, officeMinute(&rng), "record-visits", Actor(role: "surveyor", id: leader), data, tally: ["community-rating.batch"])
            if early && k == sizes.count - 2 {
                t.add(day, 1020, "conclude", districtOffice, expect: .refuse("sample-not-reached"))
            }
        }
        guard fate != "unfinished" else {
            t.steps[t.steps.count - 1].tally.append("community-rating.unfinished")
            return t
        }
        day = addWorking(rng.int(1...3), after: day) ?? day
        // The definition's `special-fund` table: strictly more than 70% of all answers satisfied (000).
        let eligible = satisfied * 100 > answers * 70
        t.add(day, officeMinute(&rng), "conclude", districtOffice,
              tally: ["community-rating.concluded", eligible ? "community-rating.above-70" : "community-rating.at-or-below-70"])
        guard fate == "published" else { return t }
        day = addWorking(rng.int(1...5), after: day) ?? day
        t.add(day, officeMinute(&rng), "publish", rng.chance(0.5) ? districtOffice : street, tally: ["community-rating.published"])
        return t
    }
}
