import ArgumentParser
import CasebookExport
import CasebookLog
import CasebookProjections
import CasebookWorkflow
import Foundation

extension OutputFormat: ExpressibleByArgument {}

/// What as-of answers cost, measured on a demo store (shown in the help).
let asOfCost = """
    As of a point (--as-of TIME or --at-position N), the answer comes from projections built for the \
    purpose in a temporary directory (deleted afterwards) by folding the log up to that point, so the cost \
    grows with the log: about 1,100,000 events a second. Measured (release build, 2 cores) on a `casebook \
    demo` store (564 communities, 1,036,651 events): --at-position 1036651 took 1.06–1.14 s (fold \
    0.86–0.90 s), --at-position 518000 0.54–0.61 s (fold 0.43–0.49 s); --as-of a time reads the whole log \
    (times need not follow positions) and folds what was recorded by then: 0.69–0.76 s for 2026-07-01. The \
    live projections answer in 0.2–0.4 s.
    """

/// The options every query and report takes: output, sorting, the point in history, who asks.
struct QueryOptions: ParsableArguments {
    @Option(help: "Output: table (aligned for a terminal), json or csv.") var format: OutputFormat = .table
    @Option(help: ArgumentHelp("Sort by this column.", valueName: "column")) var sort: String?
    @Flag(help: "Sort descending.") var desc = false
    @Option(help: "At most this many rows.") var limit: Int?
    @Option(name: .customLong("as-of"), help: ArgumentHelp("Answer as the projections stood at this time (ISO 8601); folds the log up to then (about 1,100,000 events/s, see `casebook query --help`).", valueName: "time"))
    var asOf: String?
    @Option(help: ArgumentHelp("Answer as the projections stood after the log's first N events.", valueName: "N")) var atPosition: UInt64?
    @Option(help: ArgumentHelp("What counts as now for overdue/ageing (ISO 8601); default: the as-of time, else the last casework event.", valueName: "time"))
    var now: String?
    @Option(name: .customLong("as"), help: ArgumentHelp("Who asks, as role:id (recorded as an audit.access event; required for row-level queries).", valueName: "role:id"))
    var who: String?

    func point() throws -> HistoryPoint? { try historyPoint(asOf: asOf, atPosition: atPosition) }

    func validate() throws {
        _ = try point()
        if let who, Actor(who) == nil { throw ValidationError("--as '\(who)' must be role:id, e.g. auditor:li") }
        if let limit, limit < 0 { throw ValidationError("--limit must not be negative") }
    }
}

/// Filters on the projections' rows.
struct RowFilters: ParsableArguments {
    @Option(help: "Only this community.") var community: String?
    @Option(help: "Only this department.") var department: String?
    @Option(help: "Only this patch (requests).") var patch: String?
    @Option(help: "Only this service item (requests) or entrusted item (ledger).") var item: String?
    @Option(help: "Only this state.") var state: String?
    @Option(help: ArgumentHelp("Only rows received/applied/entrusted/opened in this period: a month 2026-03 or a year 2026 (China time).", valueName: "period"))
    var period: String?
    @Flag(help: "Only late requests, or overdue payables, rectifications and rating surveys.") var overdue = false
    @Option(name: .customLong("where"), help: ArgumentHelp("Only rows whose column equals the value (repeatable).", valueName: "column=value"))
    var conditions: [String] = []

    /// The filter for `table`.
    func filter(for table: RowTable?) throws -> TableFilter {
        var f = TableFilter()
        for (column, value) in [("community", community), ("department", department), ("patch", patch), ("item", item), ("state", state)] {
            if let value { f.equals(column, value) }
        }
        if let period {
            guard let table else { throw ValidationError("--period does not apply here") }
            f.period(table.periodColumn, period)
        }
        if overdue {
            guard let column = table?.overdueColumn else { throw ValidationError("--overdue does not apply here") }
            f.flag(column)
        }
        for c in conditions {
            guard let eq = c.firstIndex(of: "=") else { throw ValidationError("--where '\(c)' must be column=value") }
            f.equals(String(c[..<eq]), String(c[c.index(after: eq)...]))
        }
        return f
    }
}

/// Opens the store for a query: writable (so the projections catch up and the access can be
/// recorded), else read-only when nothing needs writing.
func openForQuery(_ storeOptions: StoreOptions, mustWrite: Bool) throws -> (EventStore, writable: Bool) {
    do {
        return (try storeOptions.open(), true)
    } catch {
        if mustWrite { throw ValidationError("cannot open \(storeOptions.store) for writing (\(error)); the access must be recorded in the log") }
        return (try storeOptions.open(readOnly: true), false)
    }
}

/// Runs a query: opens the store, answers from the live projections or as of a point, filters, sorts,
/// limits, records the access (when `rowLevel`, or when `--as` is given) and prints the result.
func runQuery(
    _ storeOptions: StoreOptions, _ options: QueryOptions, filter: TableFilter, rowLevel: Bool,
    _ build: (ProjectionStore, _ now: Int64) throws -> ResultTable
) async throws {
    if rowLevel && options.who == nil {
        throw ValidationError("--as role:id is required: row-level queries and reports are recorded as audit.access events")
    }
    let point = try options.point()
    let (store, writable) = try openForQuery(storeOptions, mustWrite: options.who != nil)
    defer { store.close() }
    let explicitNow = try parseTime(options.now, option: "--now")?.millisecondsSince1970
    var table: ResultTable
    do {
        if let point {
            let (t, run) = try AsOf.withProjections(of: store, at: point) { p in
                let now: Int64
                switch point {
                case .time(let t): now = explicitNow ?? t
                case .position(let n): now = try explicitNow ?? store.lastCaseworkTime(before: n)
                }
                return try build(p, now)
            }
            table = t
            warn("as of \(point): folded \(run.events) events in \(round3(run.seconds)) s")
        } else {
            let projections: ProjectionStore
            if writable {
                projections = try ProjectionStore(store: store)
                try projections.catchUp()
            } else {
                projections = try ProjectionStore(store: store, readOnly: true)
                let behind = store.count - (try projections.status().map(\.checkpoint).min() ?? 0)
                if behind > 0 { warn("read-only store: the projections are \(behind) events behind the log") }
            }
            table = try build(projections, try explicitNow ?? store.lastCaseworkTime())
        }
        table = try table.filtered(filter)
        if let sort = options.sort { table = try table.sorted(by: sort, descending: options.desc) }
        table = table.limited(options.limit)
    } catch let error as QueryError {
        throw ValidationError(error.description)
    }
    if let who = options.who {
        var filters = filter.conditions.map(\.description)
        if let point { filters.append("as of \(point)") }
        let record = AccessLog.Record(who: who, command: invokedCommandLine,
                                      filters: filters, rows: table.rows.count)
        _ = try await reportingErrors { try await AccessLog.record(record, in: store) }
    }
    print(table.render(options.format), terminator: "")
}

/// The point `--as-of TIME` or `--at-position N` names (nil: now); both at once are refused.
func historyPoint(asOf: String?, atPosition: UInt64?) throws -> HistoryPoint? {
    if asOf != nil && atPosition != nil { throw ValidationError("give --as-of or --at-position, not both") }
    if let t = try parseTime(asOf, option: "--as-of") { return .time(t.millisecondsSince1970) }
    return atPosition.map(HistoryPoint.position)
}

/// This run's command line, as access records keep it.
var invokedCommandLine: String { (["casebook"] + CommandLine.arguments.dropFirst()).joined(separator: " ") }

/// What `query rating-stats --by` groups by (the help lists the values, and the parser refuses others).
enum RatingStatsGroup: String, CaseIterable, ExpressibleByArgument { case community, year }
/// What `query balances --by` groups by.
enum BalancesGroup: String, CaseIterable, ExpressibleByArgument { case department, community, month }
/// What `query ageing --by` groups by.
enum AgeingGroup: String, CaseIterable, ExpressibleByArgument { case department, community }

/// `casebook query …`: the projections' rows, balances and ageing, and the standing reports.
struct QueryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Query the projections: rows with filters, sorting and limits; balances; ageing; standing audit reports.",
        discussion: """
            Rows hold no personal data, but who looked at them is recorded: row-level queries and reports need \
            --as role:id and append an audit.access event (stream audit-access) before printing. Money is shown \
            in yuan in tables and is integer fen in JSON and CSV; times are China time in tables and ISO 8601 \
            UTC in JSON and CSV.

            \(asOfCost)
            """,
        subcommands: [Requests.self, Admissions.self, Ledger.self, Rectifications.self, Ratings.self, RatingStatsCommand.self, Balances.self, AgeingCommand.self, ReportCommand.self])

    /// A query over one projection's rows.
    struct Rows: ParsableArguments {
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var filters: RowFilters
        @OptionGroup var options: QueryOptions

        func run(_ table: RowTable, extra: (inout TableFilter) throws -> Void = { _ in }) async throws {
            var filter = try filters.filter(for: table)
            try extra(&filter)
            try await runQuery(storeOptions, options, filter: filter, rowLevel: true) { p, _ in try table.table(p) }
        }
    }

    struct Requests: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resident requests: community, patch, item, owner, state, times, notices, rating.",
            discussion: "--period filters on received_at; --overdue keeps late requests. Example: casebook query requests --community 新河社区 --period 2026-03 --overdue --sort handling_minutes --desc --as auditor:li")
        @OptionGroup var rows: Rows
        func run() async throws { try await rows.run(.requests) }
    }

    struct Admissions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The register of departmental work: kind, legal basis or resolution, category, state, approval trail.",
            discussion: "--period filters on applied_at. Example: casebook query admissions --state admitted --where kind=work-task --as auditor:li")
        @OptionGroup var rows: Rows
        func run() async throws { try await rows.run(.admissions) }
    }

    struct Ledger: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Entrusted work in the ledger: accrued, assessed, paid, outstanding, advances (fen), due dates.",
            discussion: "--period filters on entrusted_at; --overdue keeps payables whose payment clock breached. Amounts are yuan (1400, 1400.50, 1400yuan) or fen (140000fen). Example: casebook query ledger --min-amount 1000 --amount-field accrued --sort accrued --desc --as auditor:li")
        @OptionGroup var rows: Rows
        @Option(help: "Only rows whose amount field is at least this (yuan, or 123fen).") var minAmount: String?
        @Option(help: "Only rows whose amount field is at most this.") var maxAmount: String?
        @Option(help: ArgumentHelp("The money column the amount range applies to: \(RowTable.ledgerAmounts.joined(separator: ", ")).", valueName: "column"))
        var amountField = "outstanding"

        func run() async throws {
            guard RowTable.ledgerAmounts.contains(amountField) else {
                throw ValidationError("--amount-field must be one of \(RowTable.ledgerAmounts.joined(separator: ", "))")
            }
            func fen(_ text: String?, _ option: String) throws -> Int64? {
                guard let text else { return nil }
                guard let f = Money.parse(text) else { throw ValidationError("\(option) '\(text)' is not an amount such as 1400, 1400.50, 1400yuan or 140000fen") }
                return f
            }
            let (lo, hi) = (try fen(minAmount, "--min-amount"), try fen(maxAmount, "--max-amount"))
            try await rows.run(.ledger) { $0.range(amountField, min: lo, max: hi) }
        }
    }

    struct Rectifications: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluations of departments and rectifications: results, scores, deadlines, states.",
            discussion: "--period filters on opened_at; --overdue keeps those whose deadline breached. Example: casebook query rectifications --where kind=rectification --department 住建局 --as auditor:li")
        @OptionGroup var rows: Rows
        func run() async throws { try await rows.run(.rectifications) }
    }

    struct Ratings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Residents' ratings of their community: sample, visits, the seven aspects, satisfaction, the 70% special fund, overdue.",
            discussion: """
                One row per survey (community-rating case). satisfaction is satisfied answers of all answers, and \
                reached households visited of the sample, both worked out from the integer counts (percentages to 0.1% \
                in tables, fractions to four decimals in JSON and CSV); special_fund is fen in JSON and CSV. --period \
                filters on opened_at; --overdue keeps surveys flagged overdue by their 20-working-day clock. Example: \
                casebook query ratings --street 新河街道 --year 2026 --no-fund-granted --state concluded --sort satisfaction --as auditor:li
                """)
        @OptionGroup var rows: Rows
        @Option(help: "Only this street office.") var street: String?
        @Option(help: "Only surveys of this year.") var year: Int?
        @Option(help: ArgumentHelp("Only surveys of this survey period (the case's period field, e.g. 2026 or 2026-H2).", valueName: "period"))
        var surveyPeriod: String?
        @Flag(inversion: .prefixedNo, help: "Only surveys granted the special fund (--no-fund-granted: only those not granted it).")
        var fundGranted: Bool?

        func run() async throws {
            try await rows.run(.ratings) { f in
                if let street { f.equals("street", street) }
                if let year { f.equals("year", String(year)) }
                if let surveyPeriod { f.equals("period", surveyPeriod) }
                if let fundGranted { f.flag("fund_eligible", fundGranted) }
            }
        }
    }

    struct RatingStatsCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rating-stats",
            abstract: "Residents' ratings per community and year: surveys, concluded, above the 70% line, special fund, overdue, satisfaction.",
            discussion: "Summed over what is not grouped by. Example: casebook query rating-stats --by community --year 2026 --sort satisfaction")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var options: QueryOptions
        @Option(help: "Only this community.") var community: String?
        @Option(help: "Only this year.") var year: Int64?
        @Option(help: ArgumentHelp("Group by community or year (repeatable).", valueName: "part")) var by: [RatingStatsGroup] = []

        func run() async throws {
            try await runQuery(storeOptions, options, filter: TableFilter(), rowLevel: false) { p, _ in
                RowTable.ratingStats(try p.ratingStats(community: community, year: year, byCommunity: by.contains(.community), byYear: by.contains(.year)))
            }
        }
    }

    struct Balances: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ledger account balances (debit, credit, balance), summed over what is not grouped by.",
            discussion: "Example: casebook query balances --by department --by month --period 2026")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var options: QueryOptions
        @Option(help: "Only this department.") var department: String?
        @Option(help: "Only this community.") var community: String?
        @Option(help: "Only postings in this period (month 2026-03 or year 2026).") var period: String = ""
        @Option(help: ArgumentHelp("Group by department, community or month (repeatable).", valueName: "part")) var by: [BalancesGroup] = []

        func run() async throws {
            try await runQuery(storeOptions, options, filter: TableFilter(), rowLevel: false) { p, _ in
                RowTable.balances(try p.ledgerBalances(department: department, community: community, period: period,
                                                       byDepartment: by.contains(.department), byCommunity: by.contains(.community), byMonth: by.contains(.month)))
            }
        }
    }

    struct AgeingCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ageing",
            abstract: "Outstanding payables by days overdue (not due, 1–30, 31–60, 61–90, over 90) as of --now.",
            discussion: "Example: casebook query ageing --by department --now 2026-05-10T00:00:00+08:00")
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var options: QueryOptions
        @Option(help: "Only this department.") var department: String?
        @Option(help: "Only this community.") var community: String?
        @Option(help: ArgumentHelp("Group by department or community (repeatable).", valueName: "part")) var by: [AgeingGroup] = []

        func run() async throws {
            try await runQuery(storeOptions, options, filter: TableFilter(), rowLevel: false) { p, now in
                try p.ageingTable(asOf: now, department: department, community: community,
                                  byDepartment: by.contains(.department), byCommunity: by.contains(.community))
            }
        }
    }
}

/// `casebook report NAME` (also `casebook query report NAME`): the standing audit reports.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Standing audit reports: late requests, second notices, work without admission or funding, overdue payables, rectifications.",
        discussion: """
            Reports (run without a name to list them):
            \(AuditReport.allCases.map { "  \($0.rawValue): \($0.summary)" }.joined(separator: "\n"))

            Each is a table like a query (--format, --sort, --desc, --limit, filters such as --community) and is \
            recorded as an audit.access event (--as role:id is required). "Now" for what is overdue is --now, else \
            the as-of time, else the time of the last casework event in the log.

            \(asOfCost)
            """)
    @Argument(help: "The report.") var name: String?
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var filters: RowFilters
    @OptionGroup var options: QueryOptions

    func run() async throws {
        guard let name else {
            for r in AuditReport.allCases { print("\(r.rawValue.padding(toLength: 24, withPad: " ", startingAt: 0)) \(r.summary)") }
            return
        }
        let report: AuditReport
        do { report = try AuditReport.named(name) } catch let error as QueryError { throw ValidationError(error.description) }
        let filter = try filters.filter(for: report.rowTable)
        try await runQuery(storeOptions, options, filter: filter, rowLevel: true) { p, now in try report.run(p, asOf: now) }
    }
}
