import CasebookLog
import CasebookProjections
import CasebookSimulation
import CasebookWorkflow
import Foundation
import Synchronization
import Testing
@testable import CasebookTestSupport

/// The rebuild-equality acceptance test on a store made by the demo's own city simulation: projections
/// kept up to date while the city runs (many small catch-ups, each its own transaction) must equal,
/// byte for byte, a rebuild from position 0, and the aggregates must equal what the rows imply.
@Suite struct DemoRebuildTests {
    static let workflows = workflowsDirectory

    @Test func incrementalProjectionsOfADemoCityEqualARebuild() async throws {
        let dir = NSTemporaryDirectory() + "casebook-demo-rebuild-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try EventStore(path: dir + "/store")
        defer { store.close() }
        let engine = try CaseEngine(store: store)
        let projections = try ProjectionStore(store: store)

        // CASEBOOK_DEMO_REBUILD_COMMUNITIES=564 runs it on the full demo city (minutes); CI runs 8.
        let communities = ProcessInfo.processInfo.environment["CASEBOOK_DEMO_REBUILD_COMMUNITIES"].flatMap { Int($0) } ?? 8
        var city = CityConfiguration(communities: communities, requestsPerCommunity: communities > 8 ? 200 : 80, seed: 11, concurrency: 16)
        if communities <= 8 {
            city.admissionsPerCommunity = 10
            city.departmentsRatedPerCommunity = 10
        }
        // Catch up while the city runs, at whatever positions the progress reports fall on.
        let catchUps = Counter()
        let report = try await CitySimulation(engine: engine, workflows: Self.workflows, configuration: city).run { _ in
            if (try? projections.catchUp(batchSize: 500)) != nil { catchUps.increment() }
        }
        try projections.catchUp(batchSize: 333)
        #expect(report.unexpected.isEmpty, "the simulation met no unexpected refusals: \(report.unexpected.prefix(3))")
        #expect(store.count > 5_000, "a demo-sized log (\(store.count) events)")
        #expect(catchUps.value > 1)

        var incremental: [String: [(key: String, value: [UInt8])]] = [:]
        for name in ProjectionStore.names { incremental[name] = try projections.dump(name) }
        #expect(incremental.values.allSatisfy { !$0.isEmpty }, "every projection has rows")

        let run = try projections.rebuild()
        #expect(run.events == store.count)
        for name in ProjectionStore.names {
            let rebuilt = try projections.dump(name)
            let before = incremental[name]!
            #expect(rebuilt.count == before.count, "\(name): same number of entries")
            let firstDifference = zip(before, rebuilt).first { $0.key != $1.key || $0.value != $1.value }
            #expect(firstDifference == nil, "\(name): first differing entry \(String(describing: firstDifference?.0.key))")
        }

        // Rebuilt again with a cache that fills several times over while the tallies fit in half of it: the
        // rows are written out and dropped at every flush, the tallies kept (unwritten) until the end.
        let talliesCount = incremental.values.reduce(0) { $0 + $1.filter { !$0.key.hasPrefix("c\u{1F}") }.count }
        let rowsCount = incremental.values.reduce(0) { $0 + $1.count } - talliesCount
        try projections.rebuild(cacheLimit: 2 * talliesCount + rowsCount / 4)
        for name in ProjectionStore.names {
            let rebuilt = try projections.dump(name)
            #expect(rebuilt.map(\.key) == incremental[name]!.map(\.key) && rebuilt.map(\.value) == incremental[name]!.map(\.value),
                    "\(name): rebuilt with \(rowsCount) rows and \(talliesCount) tallies through a cache of \(2 * talliesCount + rowsCount / 4)")
        }

        // The aggregates agree with the rows they come from.
        let rows = try projections.requestRows()
        let totals = try #require(try projections.requestStats(byCommunity: false).first)
        #expect(Int64(rows.count) == totals[.received])
        #expect(Int64(rows.filter { $0.row.completedAt > 0 }.count) == totals[.completed])
        #expect(Int64(rows.filter { $0.row.completedAt > 0 && $0.row.isLate }.count) == totals[.late])
        #expect(rows.count == report.casesByWorkflow["resident-request"])
        let balances = try projections.ledgerBalances()
        #expect(balances.reduce(0) { $0 + $1.debit } == balances.reduce(0) { $0 + $1.credit }, "debits equal credits")
        let ledger = try projections.ledgerRows()
        let outstanding = try #require(try projections.ledgerTotals(byDepartment: false, byCommunity: false).first)[.outstanding]
        #expect(ledger.reduce(0) { $0 + $1.row.outstanding } == outstanding)
        let receivable = balances.first { $0.account == "receivable" }?.balance ?? 0
        #expect(receivable == outstanding, "the receivable account carries exactly what is outstanding")
    }
}

/// A thread-safe counter for the progress callback.
final class Counter: Sendable {
    private let n = Mutex(0)
    func increment() { n.withLock { $0 += 1 } }
    var value: Int { n.withLock { $0 } }
}
