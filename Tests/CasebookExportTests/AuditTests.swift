import CasebookExport
import CasebookLog
import CasebookProjections
import CasebookWorkflow
import Foundation
import GRDB
import Testing
@testable import CasebookTestSupport

extension World {
    /// Every scenario (as the projection tests run them), then two more pieces of entrusted work naming
    /// admissions that were not admitted (adm-4 rejected, adm-5 expired).
    func allScenariosWithUnadmittedWork() async throws {
        try await allScenarios()
        try await open("entrusted-service", "led-4", command: "entrust-per-unit", as: A.police, """
            {"department":"公安局","community":"新河社区","item":"盖章证明核查","admission":"adm-4","unit_price":1000}
            """, at: "2026-04-02T09:00:00+08:00")
        try await open("entrusted-service", "led-5", command: "entrust-lump-sum", as: A.civilisationOffice, """
            {"department":"文明办","community":"新河社区","item":"文明社区挂牌","admission":"adm-5","amount":50000}
            """, at: "2026-04-03T09:00:00+08:00")
    }

    /// A new store beside this one holding the events of this one's first `n` positions that `keep`
    /// accepts, re-appended in order with their times and actors: the log "as it stood".
    func truncatedCopy(_ name: String, upTo n: UInt64, keep: (RecordedEvent) -> Bool = { _ in true }) async throws -> EventStore {
        let copy = try EventStore(path: dir + "/" + name)
        for e in try store.read(from: 0, limit: Int(n)) where keep(e) {
            try await copy.append(to: e.streamId, events: [
                ProposedEvent(type: e.type, payload: e.payload, payloadEncoding: e.payloadEncoding, schemaVersion: e.schemaVersion,
                              actor: e.actor, correlationId: e.correlationId, causationId: e.causationId, recordedAt: e.recordedAt)
            ])
        }
        return copy
    }
}

/// The case ids in a result.
func ids(_ t: ResultTable, _ column: String = "case") throws -> [String] { try t.column(column).map(\.plain) }

@Suite struct AuditTests {
    @Test func asOfAnswersEqualTheLogTruncatedThere() async throws {
        try await World.run { w in
            try await w.allScenariosWithUnadmittedWork()
            let head = w.store.count
            for n in [head / 4, head / 2, head - 7, head] {
                let (folded, run) = try AsOf.withProjections(of: w.store, at: .position(n)) { try $0.dumpAll() }
                #expect(run.events == n)
                let copy = try await w.truncatedCopy("cut-\(n)", upTo: n)
                defer { copy.close() }
                let fresh = try ProjectionStore(store: copy)
                try fresh.catchUp()
                expectSameDumps(folded, try fresh.dumpAll(), "as of position \(n) vs the log cut at \(n)")
            }
            // As of a time: the events recorded by then (times are not in position order here: the
            // ledger settles in June before the evaluations of March are recorded).
            for time in ["2026-03-10T12:00:00+08:00", "2026-04-10T12:00:00+08:00", "2026-05-10T12:00:00+08:00"] {
                let t = ms(time)
                let (folded, _) = try AsOf.withProjections(of: w.store, at: .time(t)) { try $0.dumpAll() }
                let copy = try await w.truncatedCopy("time-\(t)", upTo: head) { $0.recordedAt.millisecondsSince1970 <= t }
                defer { copy.close() }
                let fresh = try ProjectionStore(store: copy)
                try fresh.catchUp()
                expectSameDumps(folded, try fresh.dumpAll(), "as of \(time) vs only the events recorded by then")
            }
            // A point past the head is refused.
            #expect(throws: QueryError.self) { try AsOf.withProjections(of: w.store, at: .position(head + 1)) { _ in 0 } }
        }
    }

    @Test func queriesFilterAndSortTheProjectionsRows() async throws {
        try await World.run { w in
            try await w.allScenariosWithUnadmittedWork()
            let p = try w.projections()
            let requests = try RowTable.requests.table(p)
            #expect(try ids(requests) == (1...8).map { "req-\($0)" })
            var f = TableFilter()
            f.equals("community", "东风社区")
            #expect(try ids(requests.filtered(f)) == ["req-6", "req-7"])
            f = TableFilter()
            f.period(RowTable.requests.periodColumn, "2026-04")
            #expect(try ids(requests.filtered(f)) == ["req-8"])
            f = TableFilter()
            f.flag(RowTable.requests.overdueColumn!)
            #expect(try ids(requests.filtered(f)) == ["req-2", "req-7"])
            f = TableFilter()
            f.equals("patch", "三片")
            f.equals("item", "residence-certificate")
            #expect(try ids(requests.filtered(f)) == ["req-1"])
            f = TableFilter()
            f.equals("state", "refused")
            #expect(try ids(requests.filtered(f)) == ["req-3"])
            // Longest handling first: req-2 (11,640 minutes), then req-4 (4,440).
            #expect(try ids(requests.sorted(by: "handling_minutes", descending: true).limited(2)) == ["req-2", "req-4"])

            let ledger = try RowTable.ledger.table(p)
            f = TableFilter()
            f.range("accrued", min: Money.parse("1000"), max: nil)  // led-1 1,500 yuan accrued, led-3 3,000
            #expect(try ids(ledger.filtered(f)) == ["led-1", "led-3"])
            f = TableFilter()
            f.range("accrued", min: Money.parse("100yuan"), max: Money.parse("200000fen"))
            #expect(try ids(ledger.filtered(f)) == ["led-1", "led-2", "led-5"])  // 1,500, 200 and 500 yuan
            f = TableFilter()
            f.equals("department", "民政局")
            #expect(try ids(ledger.filtered(f).sorted(by: "accrued")) == ["led-2", "led-1"])

            let admissions = try RowTable.admissions.table(p)
            f = TableFilter()
            f.equals("state", "admitted")
            #expect(try ids(admissions.filtered(f)) == ["adm-1", "adm-2"])
            let rectifications = try RowTable.rectifications.table(p)
            f = TableFilter()
            f.equals("kind", "evaluation")
            #expect(try ids(rectifications.filtered(f)) == ["ev-1", "ev-2", "ev-3"])

            // Balances: debits equal credits; ageing as of 10 May puts led-1's 1,000 yuan at 1–30 days.
            let balances = RowTable.balances(try p.ledgerBalances())
            let debit = try balances.column("debit").reduce(Int64(0)) { if case .fen(let x) = $1 { return $0 + x } else { return $0 } }
            let credit = try balances.column("credit").reduce(Int64(0)) { if case .fen(let x) = $1 { return $0 + x } else { return $0 } }
            #expect(debit == credit && debit > 0)
            let (ageing, _) = try AsOf.withProjections(of: w.store, at: .time(ms("2026-05-10T12:00:00+08:00"))) {
                try $0.ageingTable(asOf: ms("2026-05-10T12:00:00+08:00"), byDepartment: true, byCommunity: false)
            }
            #expect(ageing.rows.first { $0[0] == .text("民政局") }?[3] == .fen(100_000))
        }
    }

    @Test func reportsFindWhatTheyShould() async throws {
        try await World.run { w in
            try await w.allScenariosWithUnadmittedWork()
            let p = try w.projections()
            let now = try w.store.lastCaseworkTime()
            #expect(try ids(AuditReport.lateRequests.run(p, asOf: now)) == ["req-2", "req-7"])
            #expect(try ids(AuditReport.secondNotices.run(p, asOf: now)) == ["req-2"])
            let unadmitted = try AuditReport.withoutAdmission.run(p, asOf: now)
            #expect(try ids(unadmitted) == ["led-3", "led-4", "led-5"])
            #expect(try unadmitted.column("reason").map(\.plain) == ["no admitted item named", "admission adm-4 is rejected, not admitted",
                                                                      "admission adm-5 is expired, not admitted"])
            // The engine refuses entrusted work without a price, so there is none to find.
            #expect(try AuditReport.withoutFunding.run(p, asOf: now).rows.isEmpty)
            // Settled in June: nothing overdue now; as of 10 May, led-1 was 8 days overdue.
            #expect(try AuditReport.overduePayables.run(p, asOf: now).rows.isEmpty)
            let may10 = ms("2026-05-10T12:00:00+08:00")
            let (overdue, _) = try AsOf.withProjections(of: w.store, at: .time(may10)) { try AuditReport.overduePayables.run($0, asOf: may10) }
            #expect(try ids(overdue) == ["led-1"])
            #expect(overdue.rows.first?[1] == .int(8) && overdue.rows.first?[2] == .text("1-30"))
            // ev-2's rectification: overdue on 10 April, escalated on 20 April, withdrawn on 21 April.
            let rc2 = try w.rectificationOf("ev-2")
            let april10 = ms("2026-04-10T12:00:00+08:00"), april20 = ms("2026-04-20T12:00:00+08:00")
            let (late, _) = try AsOf.withProjections(of: w.store, at: .time(april10)) { p in
                (try AuditReport.rectificationsOverdue.run(p, asOf: april10), try AuditReport.withdrawalDue.run(p, asOf: april10))
            }
            #expect(try ids(late.0) == [rc2])
            #expect(late.1.rows == [[.text("住建局"), .int(0), .int(1), .text(rc2), .text("rec-adm")]])
            let (escalated, _) = try AsOf.withProjections(of: w.store, at: .time(april20)) { try AuditReport.withdrawalDue.run($0, asOf: april20) }
            #expect(escalated.rows == [[.text("住建局"), .int(1), .int(0), .text(rc2), .text("rec-adm")]])
            #expect(try AuditReport.withdrawalDue.run(p, asOf: now).rows.isEmpty)
            #expect(try AuditReport.rectificationsOverdue.run(p, asOf: now).rows.isEmpty)
            #expect(throws: QueryError.self) { try AuditReport.named("no-such-report") }
        }
    }

    @Test func sqliteExportMatchesTheProjectionsAndRedactsPersonalData() async throws {
        try await World.run { w in
            try await w.allScenariosWithUnadmittedWork()
            try await AccessLog.record(.init(who: "auditor:li", command: "export sqlite", filters: [], rows: 0), in: w.store)
            let p = try w.projections()
            let file = w.dir + "/export.sqlite"
            let summary = try SQLiteExport.export(p, to: file, info: ["exported_by": "auditor:li"])
            #expect(summary.position == w.store.count && summary.rows["events"] == Int(w.store.count))
            try checkExport(file, p, w.store)
            // A second export, after another event, replaces the file with the log as it is then.
            try await AccessLog.record(.init(who: "auditor:li", command: "export sqlite", filters: [], rows: 0), in: w.store)
            try p.catchUp()
            let again = try SQLiteExport.export(p, to: file, info: ["exported_by": "auditor:li"])
            #expect(again.rows["events"] == summary.rows["events"].map { $0 + 1 })
            try checkExport(file, p, w.store)
        }
    }

    @Test func accessRecordsAreAppendedAndLeaveTheProjectionsAlone() async throws {
        try await World.run { w in
            try await w.requestCommands()
            let p = try w.projections()
            let before = try p.dumpAll()
            let position = try await AccessLog.record(
                .init(who: "auditor:li", command: "casebook query requests --community 新河社区", filters: ["community=新河社区"], rows: 6), in: w.store)
            #expect(position == w.store.count - 1)
            let e = try #require(try w.store.event(at: position))
            #expect(e.type == AccessLog.type && e.streamId == AccessLog.stream && e.actor == "auditor:li")
            let records = try AccessLog.records(in: w.store)
            #expect(records.count == 1 && records[0].filters == ["community=新河社区"] && records[0].rows == 6)
            try p.catchUp()
            expectSameDumps(before, try p.dumpAll(), "after an access record")
            // The "now" of the projections is the last casework event, not the access record.
            #expect(try w.store.lastCaseworkTime() == ms("2026-04-02T10:00:00+08:00"))
        }
    }
}

/// The ciphertexts of every sealed value in `v`.
func collectSealed(_ v: JSONValue, into out: inout [String]) {
    if let sealed = PersonalData.sealed(v) { out.append(sealed.ciphertext); return }
    if let o = v.object { for x in o.values { collectSealed(x, into: &out) } }
    if case .array(let a) = v { for x in a { collectSealed(x, into: &out) } }
}

/// The exported file against the projections it came from (a synchronous function, so that GRDB's
/// synchronous read is the one called).
func checkExport(_ file: String, _ p: ProjectionStore, _ store: EventStore) throws {
    let db = try DatabaseQueue(path: file)
    try db.read { db in
        #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM requests") == (try p.requestRows().count))
        #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM admissions") == (try p.admissionRows().count))
        #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ledger") == (try p.ledgerRows().count))
        #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM rectifications") == (try p.rectificationRows().count))
        #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM request_stats") == (try p.monthlyRequestStats().count))
        #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM admission_counts") == (try p.admissionCounts().count))
        #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM department_records") == (try p.departmentRecords().count))
        #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM ratings") == (try p.ratingRows().count))
        #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM rating_stats") == (try p.ratingStats().count))
        #expect(try p.ratingRows().count == 3, "the scenarios' surveys are exported")
        #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM events") == Int(store.count))
        let rows = try p.ledgerRows().map(\.row)
        for (column, value) in [("accrued_fen", rows.map(\.accrued)), ("assessed_fen", rows.map(\.assessed)), ("paid_fen", rows.map(\.paid)),
                                ("outstanding_fen", rows.map(\.outstanding)), ("advances_fen", rows.map(\.advances))] {
            #expect(try Int64.fetchOne(db, sql: "SELECT SUM(\(column)) FROM ledger") == value.reduce(0, +), "\(column)")
        }
        let totals = try #require(try p.ledgerTotals(byDepartment: false, byCommunity: false).first)
        #expect(try Int64.fetchOne(db, sql: "SELECT SUM(accrued_fen) FROM ledger") == totals[.accrued])
        for b in try p.ledgerBalances() {
            let debit = try Int64.fetchOne(db, sql: "SELECT SUM(debit_fen) FROM ledger_balances WHERE account = ?", arguments: [b.account])
            let credit = try Int64.fetchOne(db, sql: "SELECT SUM(credit_fen) FROM ledger_balances WHERE account = ?", arguments: [b.account])
            #expect(debit == b.debit && credit == b.credit, "\(b.account)")
        }
        #expect(try Int64.fetchOne(db, sql: "SELECT SUM(debit_fen) - SUM(credit_fen) FROM ledger_balances") == 0)
        #expect(try String.fetchOne(db, sql: "SELECT received_at FROM requests WHERE case_id = 'req-1'") == "2026-03-02T01:00:00.000Z")
        #expect(try String.fetchOne(db, sql: "SELECT value FROM export_info WHERE key = 'exported_by'") == "auditor:li")

        // Personal data: the sealed applicants and staff names leave only as "[personal data]".
        let payloads = try String.fetchAll(db, sql: "SELECT payload FROM events")
        #expect(payloads.allSatisfy { !$0.contains("\"ct\"") })
        #expect(payloads.contains { $0.contains(PersonalData.placeholder) })
        var ciphertexts: [String] = []
        try store.scan { e in
            if let text = e.payloadText, let v = try? JSONValue.parse(text) { collectSealed(v, into: &ciphertexts) }
            return true
        }
        #expect(ciphertexts.count >= 8)  // one applicant per request, the staff of an advance
        for ct in ciphertexts { #expect(!payloads.contains { $0.contains(ct) }) }
        let access = try String.fetchOne(db, sql: "SELECT payload FROM events WHERE stream = 'audit-access'")
        #expect(access?.contains("auditor:li") == true)
    }
}
