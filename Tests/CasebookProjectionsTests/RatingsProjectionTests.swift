import CasebookExport
import CasebookLog
import CasebookProjections
import CasebookWorkflow
import Foundation
import GRDB
import Testing
@testable import CasebookTestSupport

// Residents rate their community (居民评议社区, 双评议): a household survey on seven aspects, concluded
// once its sample is reached; above 70% satisfaction the committee gets a 5,000-yuan special fund
// (Nantong, seed 000); a survey open after 20 working days is flagged overdue.

@Suite struct RatingsProjectionTests {
    typealias C = RatingsProjection.Counter

    private func stats(_ p: ProjectionStore, _ community: String, _ year: Int64) throws -> RatingStats? {
        try p.ratingStats(community: community, year: year).first
    }

    @Test func surveysAboveAndAtTheLineAndAnOverdueOneAreRowsAndTallies() async throws {
        try await World.run { w in
            try await w.ratingCommands()
            let p = try w.projections()

            let r1 = try #require(try p.ratingRow("cr-1"))
            #expect(r1.community == "新河社区" && r1.street == "新河街道" && r1.year == 2026 && r1.period == "2026")
            #expect(r1.state == "published" && r1.sample == 20 && r1.households == 20 && r1.batches == 2)
            #expect(r1.aspectCounts == [18, 18, 15, 18, 19, 18, 16])
            #expect(r1.answers == 140 && r1.satisfied == 122 && r1.isAbove(percent: 70))
            #expect(r1.fundEligible && r1.specialFund == 500_000 && !r1.overdueFlag)
            #expect(r1.openedAt == ms("2026-01-05T09:00:00+08:00") && r1.concludedAt == ms("2026-01-16T10:00:00+08:00")
                        && r1.publishedAt == ms("2026-01-19T10:00:00+08:00"))
            // 20 working days, not counting the day of opening (Monday 5 January): the end of Monday 2 February.
            #expect(r1.deadline == endOfDay("2026-02-02"))
            // The row agrees with the case.
            let case1 = try w.state("cr-1")
            #expect(case1.state == r1.state && case1.int("satisfied") == r1.satisfied && case1.int("special_fund") == r1.specialFund)

            let r2 = try #require(try p.ratingRow("cr-2"))
            #expect(r2.state == "concluded" && r2.answers == 70 && r2.satisfied == 49 && !r2.isAbove(percent: 70))
            #expect(!r2.fundEligible && r2.specialFund == 0 && r2.publishedAt == 0 && r2.concludedAt == ms("2026-01-20T10:00:00+08:00"))

            var r3 = try #require(try p.ratingRow("cr-3"))
            #expect(r3.state == "surveying" && r3.year == 2025 && r3.period == "2025-H2" && r3.households == 10 && r3.batches == 1)
            #expect(!r3.overdueFlag && r3.concludedAt == 0 && r3.deadline == endOfDay("2026-02-03"))
            var late = try #require(try stats(p, "东风社区", 2025))
            #expect(late[.surveys] == 1 && late[.concluded] == 0 && late[.overdue] == 0)

            // The 20 working days pass: cr-3 is flagged overdue, in the case and in the projection.
            try await w.ratingTimers()
            try p.catchUp()
            r3 = try #require(try p.ratingRow("cr-3"))
            #expect(r3.overdueFlag && r3.state == "surveying")
            #expect(try w.state("cr-3").bool("overdue") == r3.overdueFlag)
            late = try #require(try stats(p, "东风社区", 2025))
            #expect(late[.surveys] == 1 && late[.concluded] == 0 && late[.aboveLine] == 0 && late[.overdue] == 1)
            #expect(late[.households] == 10 && late[.answers] == 70 && late[.satisfied] == 63)

            let xinhe = try #require(try stats(p, "新河社区", 2026))
            #expect(xinhe.counters == [1, 1, 1, 1, 500_000, 0, 20, 140, 122])
            let dongfeng = try #require(try stats(p, "东风社区", 2026))
            #expect(dongfeng[.surveys] == 1 && dongfeng[.concluded] == 1 && dongfeng[.published] == 0 && dongfeng[.aboveLine] == 0)
            #expect(dongfeng[.fundFen] == 0 && dongfeng[.overdue] == 0 && !dongfeng.isAbove(percent: 70))

            // Summed: per community over the years, per year over the communities, and everything.
            #expect(try p.ratingStats(byYear: false).map { [$0.community, $0.year] } == [["东风社区", ""], ["新河社区", ""]])
            #expect(try p.ratingStats(community: "东风社区", byYear: false).first?[.surveys] == 2)
            #expect(try p.ratingStats(byCommunity: false).map(\.year) == ["2025", "2026"])
            let all = try #require(try p.ratingStats(byCommunity: false, byYear: false).first)
            #expect(all.counters == [3, 2, 1, 1, 500_000, 1, 40, 280, 234])
            let rows = try p.ratingRows().map(\.row)
            #expect(all[.fundFen] == rows.reduce(0) { $0 + $1.specialFund } && all[.satisfied] == rows.reduce(0) { $0 + $1.satisfied })
        }
    }

    @Test func aTallyFollowsItsSurveyFromOpeningToConclusion() async throws {
        try await World.run { w in
            let p = try ProjectionStore(store: w.store)
            try await w.open("community-rating", "cr-9", as: A.xinheStreet,
                             #"{"community":"新河社区","street":"新河街道","year":2026,"period":"2026","sample":10}"#, at: "2026-01-05T09:00:00+08:00")
            try p.catchUp()
            #expect(try stats(p, "新河社区", 2026)?.counters == [1, 0, 0, 0, 0, 0, 0, 0, 0])
            try await w.accept("cr-9", "record-visits", as: A.surveyor, surveyVisits(10, satisfied: 8), at: "2026-01-06T17:00:00+08:00")
            try p.catchUp()
            #expect(try stats(p, "新河社区", 2026)?.counters == [1, 0, 0, 0, 0, 0, 10, 70, 56])
            try await w.accept("cr-9", "conclude", as: A.district, at: "2026-01-07T10:00:00+08:00")
            try p.catchUp()
            // The row's earlier contribution is taken back and its new one added: still one survey.
            #expect(try stats(p, "新河社区", 2026)?.counters == [1, 1, 0, 1, 500_000, 0, 10, 70, 56])
            let fresh = try w.projections(path: w.dir + "/fresh")
            expectSameDumps(try p.dumpAll(), try fresh.dumpAll(), "step by step vs at once")
        }
    }

    @Test func theRatingsQueryFiltersSortsAndShowsExactRates() async throws {
        try await World.run { w in
            try await w.ratingCommands()
            try await w.ratingTimers()
            let p = try w.projections()
            let table = try RowTable.ratings.table(p)
            #expect(table.rows.count == 3)
            func ids(_ t: ResultTable) throws -> [String] { try t.column("case").map(\.plain) }
            func filtered(_ build: (inout TableFilter) -> Void) throws -> [String] {
                var f = TableFilter()
                build(&f)
                return try ids(table.filtered(f))
            }
            #expect(try filtered { $0.equals("community", "东风社区") } == ["cr-2", "cr-3"])
            #expect(try filtered { $0.equals("street", "新河街道") } == ["cr-1"])
            #expect(try filtered { $0.equals("year", "2025") } == ["cr-3"])
            #expect(try filtered { $0.equals("period", "2026") } == ["cr-1", "cr-2"])
            #expect(try filtered { $0.equals(RowTable.ratings.stateColumn, "concluded") } == ["cr-2"])
            #expect(try filtered { $0.flag(RowTable.ratings.overdueColumn!) } == ["cr-3"])
            #expect(try filtered { $0.flag("fund_eligible") } == ["cr-1"])
            #expect(try filtered { $0.flag("fund_eligible", false); $0.equals("state", "concluded") } == ["cr-2"])
            #expect(try filtered { $0.period(RowTable.ratings.periodColumn, "2026-01") } == ["cr-1", "cr-2", "cr-3"])
            #expect(try filtered { $0.period(RowTable.ratings.periodColumn, "2026-02") } == [])

            // Satisfaction from the integer counts: 122/140, exactly 70% (49/70), 63/70.
            let satisfaction = try table.column("satisfaction")
            #expect(satisfaction == [.ratio(122, of: 140), .ratio(49, of: 70), .ratio(63, of: 70)])
            #expect(satisfaction.map(\.display) == ["87.1%", "70.0%", "90.0%"])
            #expect(satisfaction.map(\.plain) == ["0.8714", "0.7000", "0.9000"])
            #expect(try table.column("reached").map(\.display) == ["100.0%", "100.0%", "33.3%"])
            #expect(try table.column("special_fund").map(\.plain) == ["500000", "0", "0"])
            #expect(try ids(table.sorted(by: "satisfaction", descending: true)) == ["cr-3", "cr-1", "cr-2"])
            #expect(try ids(table.sorted(by: "satisfaction").limited(1)) == ["cr-2"])
            let json = try table.filtered({ var f = TableFilter(); f.flag("fund_eligible"); return f }()).render(.json)
            #expect(json.contains("\"special_fund\":500000") && json.contains("\"satisfaction\":0.8714"))
            let csv = table.render(.csv)
            #expect(csv.components(separatedBy: "\r\n").count == 5 && csv.contains("\r\ncr-2,东风社区,东风街道,2026,2026,concluded,10,10,1.0000,1,"))

            // The per-community tallies as a table.
            let stats = RowTable.ratingStats(try p.ratingStats())
            #expect(stats.rows.count == 3)
            #expect(try stats.column("satisfaction").map(\.display) == ["90.0%", "70.0%", "87.1%"])
            #expect(try stats.column("above_line_share").map(\.display) == ["–", "0.0%", "100.0%"])
        }
    }

    @Test func theSQLiteExportHoldsTheRatingsRowsAndTallies() async throws {
        try await World.run { w in
            try await w.ratingCommands()
            try await w.ratingTimers()
            let p = try w.projections()
            let file = w.dir + "/export.sqlite"
            let summary = try SQLiteExport.export(p, to: file)
            #expect(summary.rows["ratings"] == (try p.ratingRows().count) && summary.rows["ratings"] == 3)
            #expect(summary.rows["rating_stats"] == (try p.ratingStats().count) && summary.rows["rating_stats"] == 3)
            try checkRatingsExport(file, p)
        }
    }
}

/// The export's ratings tables against the projection (the scenario of ``World/ratingCommands()`` and its timers).
func checkRatingsExport(_ file: String, _ p: ProjectionStore) throws {
    let db = try DatabaseQueue(path: file)
    try db.read { db in
        #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ratings") == (try p.ratingRows().count))
        #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM rating_stats") == (try p.ratingStats().count))
        #expect(try Int64.fetchOne(db, sql: "SELECT SUM(special_fund_fen) FROM ratings") == 500_000)
        #expect(try Int64.fetchOne(db, sql: "SELECT SUM(special_fund_fen) FROM rating_stats") == 500_000)
        #expect(try String.fetchAll(db, sql: "SELECT case_id FROM ratings WHERE overdue = 1") == ["cr-3"])
        #expect(try String.fetchAll(db, sql: "SELECT case_id FROM ratings WHERE fund_eligible = 1") == ["cr-1"])
        #expect(try String.fetchOne(db, sql: "SELECT published_at FROM ratings WHERE case_id = 'cr-1'") == "2026-01-19T02:00:00.000Z")
        #expect(try String.fetchOne(db, sql: "SELECT published_at FROM ratings WHERE case_id = 'cr-2'") == nil)
        let satisfied = try Int64.fetchOne(db, sql: "SELECT satisfied FROM rating_stats WHERE community = '东风社区' AND year = 2025")
        #expect(satisfied == 63)
        #expect(try String.fetchOne(db, sql: "SELECT value FROM export_info WHERE key = 'schema_version'") == String(SQLiteExport.schemaVersion))
    }
}
