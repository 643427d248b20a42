/// Residents' ratings of one community in one year (or summed over communities and/or years), as the
/// `ratings` projection tallies them.
public struct RatingStats: Sendable, Hashable {
    /// The community ("" when summed over all).
    public var community: String
    /// The year ("" when summed over all).
    public var year: String
    /// Counters, by ``RatingsProjection/Counter`` (the fund in fen).
    public var counters: [Int64]

    /// A counter.
    public subscript(_ c: RatingsProjection.Counter) -> Int64 { c.rawValue < counters.count ? counters[c.rawValue] : 0 }

    /// Whether satisfaction over all the surveys' answers is strictly above `percent`%, in integers.
    public func isAbove(percent: Int64) -> Bool { self[.answers] > 0 && self[.satisfied] * 100 > self[.answers] * percent }
}

extension ProjectionStore {
    /// Every survey row of the `ratings` projection, in case-id order.
    public func ratingRows() throws -> [(caseId: String, row: RatingRow)] { try rows(RatingsProjection.self) }

    /// Survey tallies per community and year; `community` and `year` filter, and what is not grouped by
    /// (`byCommunity`, `byYear` false) is summed over. In community then year order.
    public func ratingStats(community: String? = nil, year: Int64? = nil, byCommunity: Bool = true, byYear: Bool = true) throws -> [RatingStats] {
        let prefix = community.map { RowKey.make("y", $0, "") } ?? RowKey.make("y", "")
        return try grouped(RatingsProjection.name, prefix: prefix, parts: 3) { parts in
            if let year, parts[2] != String(year) { return nil }
            let c = byCommunity ? parts[1] : "", y = byYear ? parts[2] : ""
            return (RowKey.make(c, y), { RatingStats(community: c, year: y, counters: []) })
        } add: { g, t in
            g.counters = sum(g.counters, t.counters)
        }
    }
}
