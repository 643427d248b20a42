import CasebookLog
import CasebookProjections
import Foundation
import GRDB

/// Exports the projections and the log into one SQLite file, for auditors' own tools.
///
/// Schema (``SQLiteExport/schema``; `casebook export sqlite --print-schema` prints it):
///
/// - `requests`, `admissions`, `ledger`, `rectifications`, `ratings`: one row per case, the projections' rows
///   column for column (`case_id` is the key). Money columns end in `_fen` and are INTEGER fen; times
///   end in `_at` (or are `due_at`, `deadline`) and are ISO 8601 TEXT in UTC (`2026-03-02T01:00:00.000Z`),
///   NULL when not (yet) set; flags are INTEGER 0/1.
/// - `request_stats` (per community and month received), `admission_counts` (per community and kind),
///   `ledger_balances` (per account, department, community and month; debits and credits in fen),
///   `department_records` (per department) and `rating_stats` (per community and year): the projections'
///   tallies. Rates are not stored in `ratings` and `rating_stats`: they hold the integer counts
///   (`satisfied` of `answers`), from which any rate is worked out exactly.
/// - `events`: every event of the log up to the export's position — position, stream, version, type,
///   recorded_at, actor, payload (JSON text with personal data redacted as `"[personal data]"`).
/// - `export_info`: key/value facts about the export (store id, log position, when, who).
///
/// Everything is written in one transaction into a temporary file beside the target, then moved into
/// place: the file is complete or absent. Inserts go through prepared statements.
public enum SQLiteExport {
    /// The version of the schema below.
    public static let schemaVersion = 2

    /// The SQL that creates the export's tables.
    public static let schema = """
        -- Casebook export, schema version 2. Money in integer fen (*_fen); times ISO 8601 UTC text; flags 0/1.
        CREATE TABLE export_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE requests (
          case_id TEXT PRIMARY KEY, community TEXT NOT NULL, patch TEXT NOT NULL, item TEXT NOT NULL, certificate TEXT NOT NULL,
          owner TEXT NOT NULL, handler TEXT NOT NULL, department TEXT NOT NULL, state TEXT NOT NULL,
          received_at TEXT, due_at TEXT, completed_at TEXT, last_at TEXT,
          handling_minutes INTEGER, paused_minutes INTEGER NOT NULL, waiting_since TEXT,
          notices INTEGER NOT NULL, notice_refusals INTEGER NOT NULL, reopened INTEGER NOT NULL,
          overdue INTEGER NOT NULL, late INTEGER NOT NULL, appointment INTEGER NOT NULL, rating TEXT NOT NULL);
        CREATE TABLE admissions (
          case_id TEXT PRIMARY KEY, kind TEXT NOT NULL, title TEXT NOT NULL, community TEXT NOT NULL, department TEXT NOT NULL,
          state TEXT NOT NULL, category TEXT NOT NULL, has_legal_basis INTEGER NOT NULL, legal_basis TEXT NOT NULL, meeting TEXT NOT NULL,
          votes_for INTEGER NOT NULL, votes_against INTEGER NOT NULL, votes_abstain INTEGER NOT NULL, resolution_passed INTEGER NOT NULL,
          applied_at TEXT, last_at TEXT,
          trail TEXT NOT NULL -- JSON array of {"command","role","actor","at"}
        );
        CREATE TABLE ledger (
          case_id TEXT PRIMARY KEY, department TEXT NOT NULL, community TEXT NOT NULL, item TEXT NOT NULL, admission TEXT NOT NULL,
          mode TEXT NOT NULL, state TEXT NOT NULL, unit_price_fen INTEGER NOT NULL, fixed_amount_fen INTEGER NOT NULL, delivered INTEGER NOT NULL,
          unbilled_fen INTEGER NOT NULL, accrued_fen INTEGER NOT NULL, assessed_fen INTEGER NOT NULL, paid_fen INTEGER NOT NULL,
          outstanding_fen INTEGER NOT NULL, advances_fen INTEGER NOT NULL, reimbursed_fen INTEGER NOT NULL,
          entrusted_at TEXT, assessed_at TEXT, due_at TEXT, settled_at TEXT,
          overdue INTEGER NOT NULL, without_admission INTEGER NOT NULL, without_funding INTEGER NOT NULL);
        CREATE TABLE rectifications (
          case_id TEXT PRIMARY KEY, kind TEXT NOT NULL, department TEXT NOT NULL, community TEXT NOT NULL, state TEXT NOT NULL,
          result TEXT NOT NULL, outcome TEXT NOT NULL, admission TEXT NOT NULL, year INTEGER NOT NULL, total INTEGER NOT NULL,
          reports INTEGER NOT NULL, opened_at TEXT, deadline TEXT, closed_at TEXT, overdue INTEGER NOT NULL);
        CREATE TABLE ratings (
          case_id TEXT PRIMARY KEY, community TEXT NOT NULL, street TEXT NOT NULL, year INTEGER NOT NULL, period TEXT NOT NULL,
          state TEXT NOT NULL, sample INTEGER NOT NULL, households INTEGER NOT NULL, batches INTEGER NOT NULL,
          service INTEGER NOT NULL, management INTEGER NOT NULL, democracy INTEGER NOT NULL, environment INTEGER NOT NULL,
          safety INTEGER NOT NULL, culture INTEGER NOT NULL, openness INTEGER NOT NULL, -- satisfied households per aspect
          answers INTEGER NOT NULL, satisfied INTEGER NOT NULL, fund_eligible INTEGER NOT NULL, special_fund_fen INTEGER NOT NULL,
          overdue INTEGER NOT NULL, opened_at TEXT, deadline TEXT, concluded_at TEXT, published_at TEXT);
        CREATE TABLE request_stats (
          community TEXT NOT NULL, month TEXT NOT NULL, received INTEGER NOT NULL, completed INTEGER NOT NULL, on_time INTEGER NOT NULL,
          late INTEGER NOT NULL, refused INTEGER NOT NULL, with_notice INTEGER NOT NULL, second_notice_attempts INTEGER NOT NULL,
          rated INTEGER NOT NULL, satisfied INTEGER NOT NULL, basically_satisfied INTEGER NOT NULL, dissatisfied INTEGER NOT NULL,
          open_overdue INTEGER NOT NULL, reopened INTEGER NOT NULL, appointments INTEGER NOT NULL,
          on_time_rate REAL, satisfaction_rate REAL, median_handling_minutes INTEGER,
          PRIMARY KEY (community, month));
        CREATE TABLE admission_counts (
          community TEXT NOT NULL, kind TEXT NOT NULL, applied INTEGER NOT NULL, admitted INTEGER NOT NULL, rejected INTEGER NOT NULL,
          expired INTEGER NOT NULL, withdrawn INTEGER NOT NULL, pending INTEGER NOT NULL, with_legal_basis INTEGER NOT NULL,
          by_resolution INTEGER NOT NULL, PRIMARY KEY (community, kind));
        CREATE TABLE ledger_balances (
          account TEXT NOT NULL, department TEXT NOT NULL, community TEXT NOT NULL, month TEXT NOT NULL,
          debit_fen INTEGER NOT NULL, credit_fen INTEGER NOT NULL, PRIMARY KEY (account, department, community, month));
        CREATE TABLE department_records (
          department TEXT PRIMARY KEY, evaluations INTEGER NOT NULL, satisfied INTEGER NOT NULL, basically_satisfied INTEGER NOT NULL,
          unsatisfactory INTEGER NOT NULL, total_score INTEGER NOT NULL, rectifications INTEGER NOT NULL, open INTEGER NOT NULL,
          overdue INTEGER NOT NULL, rectified INTEGER NOT NULL, escalated INTEGER NOT NULL, withdrawn INTEGER NOT NULL);
        CREATE TABLE rating_stats (
          community TEXT NOT NULL, year INTEGER NOT NULL, surveys INTEGER NOT NULL, concluded INTEGER NOT NULL, published INTEGER NOT NULL,
          above_line INTEGER NOT NULL, special_fund_fen INTEGER NOT NULL, overdue INTEGER NOT NULL, households INTEGER NOT NULL,
          answers INTEGER NOT NULL, satisfied INTEGER NOT NULL, PRIMARY KEY (community, year));
        CREATE TABLE events (
          position INTEGER PRIMARY KEY, stream TEXT NOT NULL, version INTEGER NOT NULL, type TEXT NOT NULL,
          recorded_at TEXT NOT NULL, actor TEXT NOT NULL,
          payload TEXT NOT NULL -- JSON; sealed personal data appears as "[personal data]"
        );
        CREATE INDEX events_stream ON events (stream, version);
        """

    /// What an export wrote.
    public struct Summary: Sendable, Hashable {
        /// Rows written per table.
        public var rows: [String: Int]
        /// The log position exported up to (exclusive): the projections' checkpoint.
        public var position: UInt64
        /// Wall time in seconds.
        public var seconds: Double
        /// Rows written in all.
        public var totalRows: Int { rows.values.reduce(0, +) }
        /// Rows per second.
        public var rowsPerSecond: Double { seconds > 0 ? Double(totalRows) / seconds : 0 }
    }

    /// Writes `projections` (which should be caught up) and the log's events up to their checkpoint into
    /// a new SQLite file at `path` (replacing any file there, only once the export is complete).
    /// `info` adds facts to `export_info` (e.g. who exported).
    @discardableResult
    public static func export(_ projections: ProjectionStore, to path: String, info: [String: String] = [:]) throws -> Summary {
        let started = DispatchTime.now().uptimeNanoseconds
        let store = projections.store
        let position = try projections.status().map(\.checkpoint).min() ?? 0
        let temporary = path + ".partial-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        var configuration = Configuration()
        configuration.journalMode = .default
        var rows: [String: Int] = [:]
        do {
            let queue = try DatabaseQueue(path: temporary, configuration: configuration)
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
                try db.inTransaction {
                    try db.execute(sql: schema)
                    rows = try writeAll(db, projections, store: store, position: position, info: info)
                    return .commit
                }
            }
            try queue.close()
        }
        if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
        try FileManager.default.moveItem(atPath: temporary, toPath: path)
        return Summary(rows: rows, position: position, seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
    }

    static func time(_ ms: Int64) -> DatabaseValue {
        ms == 0 ? .null : Timestamp(millisecondsSince1970: ms).iso8601.databaseValue
    }

    /// Inserts `values` rows through one prepared statement.
    static func insert(_ db: Database, _ table: String, columns: Int, _ values: some Sequence<[DatabaseValue]>) throws -> Int {
        let statement = try db.makeStatement(sql: "INSERT INTO \(table) VALUES (\(Array(repeating: "?", count: columns).joined(separator: ",")))")
        var n = 0
        for row in values {
            statement.setUncheckedArguments(StatementArguments(row))
            try statement.execute()
            n += 1
        }
        return n
    }

    static func writeAll(_ db: Database, _ p: ProjectionStore, store: EventStore, position: UInt64, info: [String: String]) throws -> [String: Int] {
        var rows: [String: Int] = [:]
        func v(_ s: String) -> DatabaseValue { s.databaseValue }
        func v(_ i: Int64) -> DatabaseValue { i.databaseValue }
        func v(_ b: Bool) -> DatabaseValue { (b ? 1 : 0).databaseValue }

        rows["requests"] = try insert(db, "requests", columns: 23, try p.requestRows().lazy.map { id, r in
            [v(id), v(r.community), v(r.patch), v(r.item), v(r.certificate), v(r.owner), v(r.handler), v(r.department), v(r.state),
             time(r.receivedAt), time(r.dueAt), time(r.completedAt), time(r.lastAt), r.handlingMinutes.map(v) ?? .null, v(r.pausedMs / 60_000),
             time(r.pausedSince), v(r.notices), v(r.noticeRefusals), v(r.reopened), v(r.overdueFlag), v(r.isLate), v(r.appointment), v(r.rating)]
        })
        rows["admissions"] = try insert(db, "admissions", columns: 17, try p.admissionRows().lazy.map { id, r in
            let trail = r.trailCommands.indices.map { i -> String in
                let role = i < r.trailRoles.count ? r.trailRoles[i] : "", actor = i < r.trailActors.count ? r.trailActors[i] : ""
                let at = i < r.trailTimes.count ? Timestamp(millisecondsSince1970: r.trailTimes[i]).iso8601 : ""
                return "{\"command\":\(JSONText.quote(r.trailCommands[i])),\"role\":\(JSONText.quote(role)),\"actor\":\(JSONText.quote(actor)),\"at\":\(JSONText.quote(at))}"
            }
            return [v(id), v(r.kind), v(r.title), v(r.community), v(r.department), v(r.state), v(r.category), v(r.hasLegalBasis), v(r.legalBasis),
                    v(r.meeting), v(r.votesFor), v(r.votesAgainst), v(r.votesAbstain), v(r.resolutionPassed), time(r.appliedAt), time(r.lastAt),
                    v("[" + trail.joined(separator: ",") + "]")]
        })
        rows["ledger"] = try insert(db, "ledger", columns: 24, try p.ledgerRows().lazy.map { id, r in
            [v(id), v(r.department), v(r.community), v(r.item), v(r.admission), v(r.mode), v(r.state), v(r.unitPrice), v(r.fixedAmount), v(r.delivered),
             v(r.unbilled), v(r.accrued), v(r.assessed), v(r.paid), v(r.outstanding), v(r.advances), v(r.reimbursed), time(r.entrustedAt),
             time(r.assessedAt), time(r.dueAt), time(r.settledAt), v(r.overdueFlag), v(r.withoutAdmission), v(r.withoutFunding)]
        })
        rows["rectifications"] = try insert(db, "rectifications", columns: 15, try p.rectificationRows().lazy.map { id, r in
            [v(id), v(r.kind), v(r.department), v(r.community), v(r.state), v(r.result), v(r.outcome), v(r.admission), v(r.year), v(r.total),
             v(r.reports), time(r.openedAt), time(r.deadline), time(r.closedAt), v(r.overdueFlag)]
        })
        rows["ratings"] = try insert(db, "ratings", columns: 25, try p.ratingRows().lazy.map { id, r in
            [v(id), v(r.community), v(r.street), v(r.year), v(r.period), v(r.state), v(r.sample), v(r.households), v(r.batches)]
                + r.aspectCounts.map(v)
                + [v(r.answers), v(r.satisfied), v(r.fundEligible), v(r.specialFund), v(r.overdueFlag), time(r.openedAt), time(r.deadline),
                   time(r.concludedAt), time(r.publishedAt)]
        })
        rows["request_stats"] = try insert(db, "request_stats", columns: 19, try p.monthlyRequestStats().lazy.map { m in
            let s = m.stats
            return [v(m.community), v(m.month)] + RequestsProjection.Counter.allCases.map { v(s[$0]) }
                + [s.onTimeRate.map { $0.databaseValue } ?? .null, s.satisfactionRate.map { $0.databaseValue } ?? .null,
                   s.medianHandlingMinutes.map(v) ?? .null]
        })
        rows["admission_counts"] = try insert(db, "admission_counts", columns: 10, try p.admissionCounts().lazy.map { c in
            [v(c.community), v(c.kind)] + AdmissionsProjection.Counter.allCases.map { v(c[$0]) }
        })
        rows["ledger_balances"] = try insert(db, "ledger_balances", columns: 6,
                                             try p.ledgerBalances(byDepartment: true, byCommunity: true, byMonth: true).lazy.map { b in
            [v(b.account), v(b.department), v(b.community), v(b.month), v(b.debit), v(b.credit)]
        })
        rows["department_records"] = try insert(db, "department_records", columns: 12, try p.departmentRecords().lazy.map { d in
            [v(d.department)] + RectificationsProjection.EvaluationCounter.allCases.map { v(d[$0]) } + RectificationsProjection.Counter.allCases.map { v(d[$0]) }
        })
        rows["rating_stats"] = try insert(db, "rating_stats", columns: 11, try p.ratingStats().lazy.map { s in
            [v(s.community), v(Int64(s.year) ?? 0)] + RatingsProjection.Counter.allCases.map { v(s[$0]) }
        })

        // The log, read in batches of short read transactions.
        let events = try db.makeStatement(sql: "INSERT INTO events VALUES (?,?,?,?,?,?,?)")
        var n = 0
        var failure: (any Error)?
        try store.scan(from: 0) { e in
            guard e.position < position else { return false }
            let payload = Redaction.payloadJSON(e)
            events.setUncheckedArguments([v(Int64(e.position)), v(e.streamId), v(Int64(e.streamVersion)), v(e.type), v(e.recordedAt.iso8601), v(e.actor), v(payload)])
            do { try events.execute() } catch { failure = error; return false }
            n += 1
            return true
        }
        if let failure { throw failure }
        rows["events"] = n

        var facts = info
        facts["schema_version"] = String(schemaVersion)
        facts["store_id"] = store.storeId
        facts["log_position"] = String(position)
        facts["exported_at"] = Timestamp.now().iso8601
        rows["export_info"] = try insert(db, "export_info", columns: 2, facts.sorted { $0.key < $1.key }.map { [v($0.key), v($0.value)] })
        return rows
    }
}
