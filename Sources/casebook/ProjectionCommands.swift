import ArgumentParser
import CasebookExport
import CasebookLog
import CasebookProjections
import CasebookWorkflow
import Foundation
import Synchronization

/// `casebook projections …`: keep the read models up to date, rebuild them, summarise them.
struct ProjectionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projections",
        abstract: "The projections auditors query: requests, admissions, ledger, rectifications, ratings.",
        subcommands: [Status.self, Update.self, Rebuild.self, Summary.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each projection's checkpoint, generation and size.")
        @OptionGroup var storeOptions: StoreOptions

        func run() throws {
            let store = try storeOptions.open(readOnly: true)
            defer { store.close() }
            let projections = try ProjectionStore(store: store)
            print("log head: \(store.count)")
            for s in try projections.status() {
                print("\(s.name.padding(toLength: 15, withPad: " ", startingAt: 0)) checkpoint \(s.checkpoint)\(s.checkpoint < store.count ? " (behind by \(store.count - s.checkpoint))" : "")  generation \(s.generation)  entries \(s.entries)")
            }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Fold the events appended since each projection's checkpoint.")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "Projections to update (default: all).") var names: [String] = []

        func run() throws {
            let store = try storeOptions.open()
            defer { store.close() }
            let run = try ProjectionStore(store: store).catchUp(names)
            print(#"{"events":\#(run.events),"transactions":\#(run.transactions),"seconds":\#(round3(run.seconds)),"eventsPerSecond":\#(Int(run.eventsPerSecond))}"#)
        }
    }

    struct Rebuild: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild projections from position 0 in their spare tables and swap them in atomically.",
            discussion: "Prints one JSON object: events folded, seconds, events/s, and the peak of anonymous (heap) memory while it ran, which excludes the memory-mapped store.")
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "Projections to rebuild (default: all).") var names: [String] = []
        @Option(help: "Rows and tallies kept in memory (about 0.5 KiB each); past it they are written out and dropped.")
        var cacheLimit = ProjectionStore.rebuildCacheLimit

        func validate() throws {
            guard cacheLimit > 0 else { throw ValidationError("--cache-limit must be at least 1") }
        }

        func run() throws {
            let store = try storeOptions.open()
            defer { store.close() }
            let projections = try ProjectionStore(store: store)
            let sampler = MemorySampler()
            let run = try projections.rebuild(names, cacheLimit: cacheLimit)
            let peak = sampler.stop()
            let which = (try ProjectionStore.validate(names)).joined(separator: ",")
            print(#"{"projections":"\#(which)","events":\#(run.events),"seconds":\#(round3(run.seconds)),"eventsPerSecond":\#(Int(run.eventsPerSecond)),"transactions":\#(run.transactions),"peakAnonymousMiB":\#(round3(Double(peak) / 1_048_576)),"peakResidentMiB":\#(round3(Double(MemorySampler.read("VmHWM")) / 1_048_576))}"#)
        }
    }

    struct Summary: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A readable summary of all five projections (brought up to date first).")
        @OptionGroup var storeOptions: StoreOptions

        func run() throws {
            let store = try storeOptions.open()
            defer { store.close() }
            let projections = try ProjectionStore(store: store)
            try projections.catchUp()
            try printProjectionSummary(projections)
        }
    }
}

func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }

/// Samples the process's anonymous resident memory (heap, stacks; not the memory-mapped store) on a
/// background thread and keeps the peak.
final class MemorySampler: Sendable {
    private struct State { var peak = 0, running = true }
    private let state = Mutex(State())

    init() {
        state.withLock { $0.peak = Self.read("RssAnon") }
        Thread { [self] in
            while true {
                let now = Self.read("RssAnon")
                let stop: Bool = state.withLock { s in
                    s.peak = max(s.peak, now)
                    return !s.running
                }
                if stop { break }
                usleep(10_000)
            }
        }.start()
    }

    /// Stops sampling; the peak in bytes.
    func stop() -> Int {
        let now = Self.read("RssAnon")
        return state.withLock { s in
            s.running = false
            s.peak = max(s.peak, now)
            return s.peak
        }
    }

    /// A `/proc/self/status` field in bytes (0 if unavailable).
    static func read(_ field: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let kb = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
            return kb * 1024
        }
        return 0
    }
}

/// Yuan with two decimals from fen, thousands grouped: `¥1,234.56`.
func yuan(_ fen: Int64) -> String { Value.yuan(fen, symbol: true) }

func percent(_ x: Double?) -> String { x.map { String(format: "%.1f%%", $0 * 100) } ?? "–" }

func count(_ n: Int64) -> String { (n < 0 ? "-" : "") + Value.groupThousands(n.magnitude) }

func duration(minutes: Int64?) -> String {
    guard let m = minutes else { return "–" }
    if m < 60 { return "\(m) min" }
    if m < 24 * 60 { return "\(m / 60) h \(m % 60) min" }
    return "\(m / 1440) d \((m % 1440) / 60) h"
}

/// Prints the summary auditors and the demo show: one block per projection.
func printProjectionSummary(_ p: ProjectionStore) throws {
    let status = try p.status()
    print("Projections (folded up to log position \(status.map(\.checkpoint).min() ?? 0)):")

    // Requests.
    let all = try p.requestStats(byCommunity: false).first
    let perCommunity = try p.requestStats(period: "")
    print("\n居民诉求 Resident requests")
    if let s = all {
        print("  received \(count(s[.received])), completed \(count(s[.completed])), refused with referral \(count(s[.refused])), open past deadline \(count(s[.openOverdue]))")
        print("  on time \(percent(s.onTimeRate)) of completed (late: \(count(s[.late]))); median handling time \(duration(minutes: s.medianHandlingMinutes)) (waiting for materials excluded)")
        print("  one-time notices \(count(s[.withNotice])); second-notice attempts refused \(count(s[.secondNoticeAttempts])); appointments outside hours \(count(s[.appointments])); reopened \(count(s[.reopened]))")
        print("  satisfaction \(percent(s.satisfactionRate)) of \(count(s[.rated])) rated (dissatisfied \(count(s[.dissatisfied])))")
        let clearing = perCommunity.filter { $0.clearsSpecialFundLine() }.count
        print("  communities above the 70% special-fund satisfaction line: \(clearing) of \(perCommunity.count)")
        let ranked = perCommunity.filter { $0[.completed] >= 5 }.sorted { ($0.onTimeRate ?? 0, $1.community) < ($1.onTimeRate ?? 0, $0.community) }
        if let worst = ranked.first, let best = ranked.last {
            print("  lowest on-time rate: \(worst.community) \(percent(worst.onTimeRate)); highest: \(best.community) \(percent(best.onTimeRate))")
        }
    } else {
        print("  none")
    }

    // Admissions.
    print("\n工作准入 Admission of departmental work")
    let kinds = try p.admissionCounts(byCommunity: false)
    if kinds.isEmpty { print("  none") }
    for k in kinds {
        print("  \(k.kind.padding(toLength: 19, withPad: " ", startingAt: 0)) applied \(count(k[.applied])) → admitted \(count(k[.admitted]))  (rejected \(k[.rejected]), expired \(k[.expired]), withdrawn \(k[.withdrawn]), pending \(k[.pending]); legal basis \(k[.withLegalBasis]), by residents' resolution \(k[.byResolution]))")
    }
    let categories = try p.admittedByCategory()
    if !categories.isEmpty {
        print("  admitted by category: " + categories.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    }

    // Ledger.
    print("\n费随事转 Cost follows task (ledger, integer fen shown as yuan)")
    if let t = try p.ledgerTotals(byDepartment: false, byCommunity: false).first {
        print("  \(count(t[.items])) entrusted items: accrued \(yuan(t[.accrued])), assessed payable \(yuan(t[.assessed])), paid \(yuan(t[.paid])), outstanding \(yuan(t[.outstanding]))")
        let asOf = status.isEmpty ? 0 : try lastEventTime(p.store)
        let a = try p.ageing(asOf: asOf)
        print("  overdue \(yuan(a.overdue)) as of \(Timestamp(millisecondsSince1970: asOf).iso8601): 1–30 d \(yuan(a.days1to30)), 31–60 d \(yuan(a.days31to60)), 61–90 d \(yuan(a.days61to90)), >90 d \(yuan(a.over90))")
        print("  staff advances \(yuan(t[.advances])), reimbursed \(yuan(t[.reimbursed])), still owed to staff \(yuan(t[.advancesOutstanding]))")
        print("  flagged: \(t[.withoutAdmission]) entrusted without an admitted item, \(t[.withoutFunding]) without funding terms")
        let balances = try p.ledgerBalances()
        let debits = balances.reduce(0) { $0 + $1.debit }, credits = balances.reduce(0) { $0 + $1.credit }
        print("  double entry: debits \(yuan(debits)) = credits \(yuan(credits)) \(debits == credits ? "✓ balanced" : "✗ UNBALANCED")")
    } else {
        print("  none")
    }

    // Rectifications.
    print("\n双评议与整改 Evaluations and rectifications")
    let records = try p.departmentRecords()
    if records.isEmpty { print("  none") }
    var e = [Int64](repeating: 0, count: 5), r = [Int64](repeating: 0, count: 6)
    for d in records {
        for i in 0..<5 { e[i] += d[RectificationsProjection.EvaluationCounter(rawValue: i)!] }
        for i in 0..<6 { r[i] += d[RectificationsProjection.Counter(rawValue: i)!] }
    }
    if !records.isEmpty {
        print("  \(count(e[0])) evaluations of departments: satisfied \(e[1]), basically satisfied \(e[2]), unsatisfactory \(e[3])")
        print("  \(count(r[0])) rectifications: open \(r[1]) (past deadline \(r[2])), rectified \(r[3]), escalated \(r[4]), work withdrawn \(r[5])")
        let worst = records.filter { $0[.unsatisfactory] > 0 }.sorted { ($0[.unsatisfactory], $1.department) > ($1[.unsatisfactory], $0.department) }.prefix(3)
        if !worst.isEmpty {
            print("  most often unsatisfactory: " + worst.map { "\($0.department) (\($0[.unsatisfactory]))" }.joined(separator: ", "))
        }
    }

    // Ratings.
    print("\n居民评议社区 Residents' ratings of their community")
    if let s = try p.ratingStats(byCommunity: false, byYear: false).first {
        let concluded = s[.concluded]
        print("  \(count(s[.surveys])) surveys: concluded \(count(concluded)) (published \(count(s[.published]))), still surveying \(count(s[.surveys] - concluded)), flagged overdue \(count(s[.overdue]))")
        print("  above the 70% line (special fund ¥5,000 each): \(count(s[.aboveLine])) of \(count(concluded)) concluded (\(ratio(s[.aboveLine], concluded))); fund granted \(yuan(s[.fundFen]))")
        print("  satisfaction \(ratio(s[.satisfied], s[.answers])) of \(count(s[.answers])) answers from \(count(s[.households])) households")
    } else {
        print("  none")
    }
}

/// `87.1%` from integer counts (`–` when `whole` is 0).
func ratio(_ part: Int64, _ whole: Int64) -> String { Cell.percentage(part, whole) ?? "–" }

/// The time of the log's last event (ms), the "now" of the projections.
func lastEventTime(_ store: EventStore) throws -> Int64 {
    guard store.count > 0, let e = try store.event(at: store.count - 1) else { return 0 }
    return e.recordedAt.millisecondsSince1970
}

/// Brings the projections up to date after a command appended to the log. Best effort: the command has
/// already succeeded, and `casebook projections update` catches up later if this fails.
func updateProjections(_ store: EventStore) {
    do {
        try ProjectionStore(store: store).catchUp()
    } catch {
        warn("projections not updated (\(error)); run `casebook projections update`")
    }
}
