import ArgumentParser
import CasebookExport
import CasebookLog
import CasebookProjections
import CasebookWorkflow
import Foundation

/// `casebook export …`: the projections and the log in formats auditors' own tools read.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export the projections and the log for auditors' own tools.",
        subcommands: [SQLite.self])

    struct SQLite: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sqlite",
            abstract: "Write the projections, their tallies and the log's events (personal data redacted) into a SQLite file.",
            discussion: """
                Tables: requests, admissions, ledger, rectifications, ratings (one row per case); request_stats, \
                admission_counts, ledger_balances, department_records, rating_stats (tallies); events (position, stream, \
                version, type, recorded_at, actor, payload JSON with sealed personal data as "[personal data]"); \
                export_info. Money columns are INTEGER fen (*_fen), times ISO 8601 UTC TEXT. --print-schema \
                prints the SQL. The file is written in one transaction beside the target and moved into place. \
                The export is recorded as an audit.access event (--as role:id is required). Prints one JSON \
                line: rows per table, seconds and rows/s.

                \(asOfCost)
                """)
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The SQLite file to write (replaced if it exists).") var file: String?
        @Flag(help: "Print the schema (SQL) and exit.") var printSchema = false
        @Option(name: .customLong("as"), help: ArgumentHelp("Who exports, as role:id (recorded).", valueName: "role:id")) var who: String?
        @Option(name: .customLong("as-of"), help: ArgumentHelp("Export the projections as they stood at this time (ISO 8601).", valueName: "time"))
        var asOf: String?
        @Option(help: ArgumentHelp("Export the projections and events as they stood after the log's first N events.", valueName: "N"))
        var atPosition: UInt64?

        func run() async throws {
            if printSchema {
                print(SQLiteExport.schema)
                return
            }
            guard let file else { throw ValidationError("name the SQLite file to write, e.g. casebook export sqlite audit.sqlite --as auditor:li") }
            guard let who else { throw ValidationError("--as role:id is required: exports are recorded as audit.access events") }
            guard Actor(who) != nil else { throw ValidationError("--as '\(who)' must be role:id, e.g. auditor:li") }
            let point = try historyPoint(asOf: asOf, atPosition: atPosition)

            let store = try openForQuery(storeOptions, mustWrite: true).0
            defer { store.close() }
            let info = ["exported_by": who, "as_of": point?.description ?? "now"]
            let summary: SQLiteExport.Summary
            do {
                if let point {
                    summary = try AsOf.withProjections(of: store, at: point) { try SQLiteExport.export($0, to: file, info: info) }.result
                } else {
                    let projections = try ProjectionStore(store: store)
                    try projections.catchUp()
                    summary = try SQLiteExport.export(projections, to: file, info: info)
                }
            } catch let error as QueryError {
                throw ValidationError(error.description)
            }
            // The access is recorded before the file is handed over; if it cannot be, the file goes.
            do {
                let record = AccessLog.Record(
                    who: who, command: invokedCommandLine,
                    filters: ["export sqlite up to position \(summary.position)"] + (point.map { ["as of \($0)"] } ?? []), rows: summary.totalRows)
                try await AccessLog.record(record, in: store)
            } catch {
                try? FileManager.default.removeItem(atPath: file)
                warn("error: the export could not be recorded (\(error)); \(file) was removed")
                throw ExitCode.failure
            }
            let tables = summary.rows.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",")
            print(#"{"file":\#(JSONText.quote(file)),"position":\#(summary.position),"rows":{\#(tables)},"totalRows":\#(summary.totalRows),"seconds":\#(round3(summary.seconds)),"rowsPerSecond":\#(Int(summary.rowsPerSecond))}"#)
        }
    }
}
