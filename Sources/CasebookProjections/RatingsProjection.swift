/// One residents' satisfaction survey of a community (a `community-rating` case), as the `ratings`
/// projection keeps it: the counts the surveyors recorded, the 70% special-fund decision and the times.
/// Every number is an integer (counts; money in fen): rates are worked out from them when shown.
public struct RatingRow: ProjectionRow {
    /// The community rated, its street office, the survey's period (e.g. `2026` or `2026-H2`) and state.
    public var community = "", street = "", period = "", state = ""
    /// The survey's year.
    public var year: Int64 = 0
    /// Households to visit, households visited, and batches of visits recorded.
    public var sample: Int64 = 0, households: Int64 = 0, batches: Int64 = 0
    /// Households satisfied with each of the seven aspects (社区服务, 社区管理, 社区民主, 环境卫生, 平安治安,
    /// 文教体育, 居务公开).
    public var service: Int64 = 0, management: Int64 = 0, democracy: Int64 = 0, environment: Int64 = 0
    public var safety: Int64 = 0, culture: Int64 = 0, openness: Int64 = 0
    /// All answers (households × 7) and the satisfied ones.
    public var answers: Int64 = 0, satisfied: Int64 = 0
    /// The `special-fund` decision: satisfaction above 70%, and the fund granted (fen).
    public var fundEligible = false, specialFund: Int64 = 0
    /// The survey's 20-working-day clock breached while it was open.
    public var overdueFlag = false
    /// When opened, the survey clock's deadline, when concluded and when published (ms since the epoch; 0: not yet).
    public var openedAt: Int64 = 0, deadline: Int64 = 0, concludedAt: Int64 = 0, publishedAt: Int64 = 0

    /// The seven aspects' names, in the definition's order.
    public static let aspects = ["service", "management", "democracy", "environment", "safety", "culture", "openness"]

    /// The seven aspects' satisfied households, in ``aspects`` order.
    public var aspectCounts: [Int64] { [service, management, democracy, environment, safety, culture, openness] }

    /// Whether the result has been decided (concluded or published).
    public var isConcluded: Bool { concludedAt > 0 }

    /// Whether satisfaction is strictly above `percent`% of the answers, in integers
    /// (`satisfied × 100 > answers × percent`, as the definition's `special-fund` table decides).
    public func isAbove(percent: Int64) -> Bool { answers > 0 && satisfied * 100 > answers * percent }

    public init() {}

    public func encode(into w: inout RowWriter) {
        w.string(community); w.string(street); w.string(period); w.string(state)
        w.int(year); w.int(sample); w.int(households); w.int(batches); w.int(service); w.int(management)
        w.int(democracy); w.int(environment); w.int(safety); w.int(culture); w.int(openness); w.int(answers)
        w.int(satisfied)
        w.bool(fundEligible); w.int(specialFund); w.bool(overdueFlag)
        w.int(openedAt); w.int(deadline); w.int(concludedAt); w.int(publishedAt)
    }

    public init(from r: inout RowReader) {
        community = r.string(); street = r.string(); period = r.string(); state = r.string()
        year = r.int(); sample = r.int(); households = r.int(); batches = r.int()
        service = r.int(); management = r.int(); democracy = r.int(); environment = r.int(); safety = r.int(); culture = r.int()
        openness = r.int(); answers = r.int(); satisfied = r.int()
        fundEligible = r.bool(); specialFund = r.int(); overdueFlag = r.bool()
        openedAt = r.int(); deadline = r.int(); concludedAt = r.int(); publishedAt = r.int()
    }
}

/// Residents' ratings of their community (`community-rating` cases, 居民评议社区): a row per survey, and
/// per community and year the surveys, how many were concluded and published, how many cleared the 70%
/// special-fund line, the fund granted (fen), the surveys flagged overdue, and the households, answers and
/// satisfied answers behind the rates.
public struct RatingsProjection: Projection {
    public static let name = "ratings"
    public static let workflows: Set<String> = ["community-rating"]
    public static let format: UInt64 = 1

    /// The counters of a community-year tally (key `y`, community, year), in order.
    public enum Counter: Int, CaseIterable, Sendable {
        /// Surveys opened; concluded (or published); published.
        case surveys, concluded, published
        /// Concluded above the 70% line (fund eligible); the special fund granted (fen).
        case aboveLine, fundFen
        /// Surveys flagged overdue by their clock.
        case overdue
        /// Households visited, answers and satisfied answers (for the community's rate over its surveys).
        case households, answers, satisfied
    }

    public init() {}

    public func open(_ e: CaseEvent) -> RatingRow {
        var r = RatingRow()
        r.openedAt = e.at
        return r
    }

    public func fold(_ r: inout RatingRow, _ e: CaseEvent) -> [Contribution] {
        switch e.kind {
        case .opened, .accepted:
            for (field, value) in e.set {
                switch field {
                case "community": r.community = value.string ?? ""
                case "street": r.street = value.string ?? ""
                case "period": r.period = value.string ?? ""
                case "year": r.year = value.int ?? 0
                case "sample": r.sample = value.int ?? 0
                case "households": r.households = value.int ?? 0
                case "batches": r.batches = value.int ?? 0
                case "service": r.service = value.int ?? 0
                case "management": r.management = value.int ?? 0
                case "democracy": r.democracy = value.int ?? 0
                case "environment": r.environment = value.int ?? 0
                case "safety": r.safety = value.int ?? 0
                case "culture": r.culture = value.int ?? 0
                case "openness": r.openness = value.int ?? 0
                case "answers": r.answers = value.int ?? 0
                case "satisfied": r.satisfied = value.int ?? 0
                case "fund_eligible": r.fundEligible = value.bool ?? false
                case "special_fund": r.specialFund = value.int ?? 0
                case "overdue": r.overdueFlag = value.bool ?? false
                default: break
                }
            }
            for op in e.clocks where op.clock == "survey" {
                if op.op == "start" || op.op == "resume" { r.deadline = op.deadline ?? 0 }
            }
            if let state = e.state {
                if (state == "concluded" || state == "published") && r.concludedAt == 0 { r.concludedAt = e.at }
                if state == "published" && r.publishedAt == 0 { r.publishedAt = e.at }
                r.state = state
            }
        case .breached:
            if e.breachedClock == "survey" {
                r.overdueFlag = true
                if let state = e.moveTo { r.state = state }
            }
        case .rejected, .migrated, .erased:
            break
        }
        return []
    }

    public func contributions(of r: RatingRow) -> [Contribution] {
        var c = [Int64](repeating: 0, count: Counter.allCases.count)
        c[Counter.surveys.rawValue] = 1
        c[Counter.concluded.rawValue] = r.isConcluded ? 1 : 0
        c[Counter.published.rawValue] = r.publishedAt > 0 ? 1 : 0
        c[Counter.aboveLine.rawValue] = r.isConcluded && r.fundEligible ? 1 : 0
        c[Counter.fundFen.rawValue] = r.specialFund
        c[Counter.overdue.rawValue] = r.overdueFlag ? 1 : 0
        c[Counter.households.rawValue] = r.households
        c[Counter.answers.rawValue] = r.answers
        c[Counter.satisfied.rawValue] = r.satisfied
        return [Contribution(RowKey.key("y", r.community, String(r.year)), c)]
    }
}
