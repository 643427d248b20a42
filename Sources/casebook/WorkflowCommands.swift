import ArgumentParser
import CasebookLog
import CasebookWorkflow
import Foundation

struct WorkflowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workflow", abstract: "Check and draw workflow definitions.",
        subcommands: [Lint.self, Graph.self, Publish.self])

    struct Lint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check definitions for everything the engine would refuse; print each problem as file:line:column.",
            discussion: "Exits 1 if any definition has an error (warnings alone exit 0).")
        @Argument(help: "Definition files or folders (default: Workflows/).") var paths: [String] = []
        @Option(help: "The folder of working-day calendars.") var calendars: String = "Workflows/calendars"
        @Option(help: "The folder of catalogues (default: catalogues/ beside each definition).") var catalogues: String?
        @Option(name: .customLong("year"), help: "A year the calendars must cover (repeatable; default: this year).")
        var years: [Int] = []

        func run() async throws {
            let files = try definitionFiles(paths.isEmpty ? ["Workflows"] : paths)
            guard !files.isEmpty else { throw ValidationError("no .yaml definitions found in \(paths.isEmpty ? "Workflows/" : paths.joined(separator: ", "))") }
            var parsed: [(String, WorkflowDefinition?, [Diagnostic])] = []
            for file in files {
                let (definition, diagnostics) = DefinitionParser.parse(contentsOf: file)
                parsed.append((file, definition, diagnostics))
            }
            var calendarDiagnostics: [Diagnostic] = []
            var calendarSet: [String: WorkingCalendar] = [:]
            if FileManager.default.fileExists(atPath: calendars) {
                do {
                    calendarSet = try CalendarSet.load(directory: calendars).calendars
                } catch {
                    calendarDiagnostics = error.diagnostics
                }
            }
            let thisYear = Int(CivilDate.fromDays(Timestamp.now().millisecondsSince1970 / 86_400_000).year)
            // The definitions linted together check each other's `send … to-cases-of` (commands, states, fields).
            let definitions = Dictionary(parsed.compactMap { $0.1.map { ($0.name, $0) } }, uniquingKeysWith: { a, _ in a })
            let context = LintContext(
                knownWorkflows: Set(parsed.compactMap { $0.1?.name }), calendars: calendarSet, years: years.isEmpty ? [thisYear] : years,
                workflows: definitions)
            var all = calendarDiagnostics
            // Every catalogue file in each definition's catalogue folder is checked, used or not.
            var catalogueSets: [String: [String: Catalogue]] = [:]
            for (file, _, _) in parsed {
                let directory = catalogueDirectory(for: file)
                guard catalogueSets[directory] == nil else { continue }
                let (set, diagnostics) = loadCatalogues(directory)
                catalogueSets[directory] = set
                all += diagnostics
            }
            for (file, definition, diagnostics) in parsed {
                all += diagnostics
                if let definition, !diagnostics.contains(where: { $0.severity == .error }) {
                    var local = context
                    local.catalogues = catalogueSets[catalogueDirectory(for: file)] ?? [:]
                    all += Linter.lint(definition, context: local)
                }
            }
            var seen: Set<Diagnostic> = []
            all = all.filter { seen.insert($0).inserted }
            for d in all.sorted(by: { $0.location < $1.location }) { print(d) }
            let errors = all.filter { $0.severity == .error }.count, warnings = all.count - errors
            print("\(files.count) definition\(files.count == 1 ? "" : "s"): \(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")")
            if errors > 0 { throw ExitCode.failure }
        }

        func catalogueDirectory(for file: String) -> String {
            catalogues ?? ((file as NSString).deletingLastPathComponent as NSString).appendingPathComponent("catalogues")
        }

        /// The catalogues in `directory` that read cleanly, by name, and the problems of those that do not.
        func loadCatalogues(_ directory: String) -> ([String: Catalogue], [Diagnostic]) {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
            var set: [String: Catalogue] = [:]
            var diagnostics: [Diagnostic] = []
            for name in names where name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
                let path = (directory as NSString).appendingPathComponent(name)
                do {
                    let source = try String(contentsOfFile: path, encoding: .utf8)
                    set.merge(try Catalogue.collect([(path, source)])) { a, _ in a }
                } catch let list as DiagnosticList {
                    diagnostics += list.diagnostics
                } catch {
                    diagnostics.append(Diagnostic(at: SourceLocation(file: path, line: 1, column: 1), "cannot read catalogue file: \(error)"))
                }
            }
            return (set, diagnostics)
        }
    }

    struct Graph: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Draw a workflow's states and commands.")
        @Argument(help: "A definition file.") var file: String
        @Option(help: "mermaid or dot.") var format: String = "mermaid"

        func run() async throws {
            guard let format = WorkflowGraph.Format(rawValue: format) else { throw ValidationError("--format must be mermaid or dot") }
            let (definition, diagnostics) = DefinitionParser.parse(contentsOf: file)
            for d in diagnostics { warn(d.description) }
            guard let definition, !diagnostics.contains(where: { $0.severity == .error }) else { throw ExitCode.failure }
            print(WorkflowGraph.render(definition, format: format), terminator: "")
        }
    }
}

/// The `.yaml` files among `paths` (folders are searched one level deep; `calendars/` is skipped).
func definitionFiles(_ paths: [String]) throws -> [String] {
    var files: [String] = []
    for path in paths {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ValidationError("\(path) does not exist")
        }
        if isDirectory.boolValue {
            let names = try FileManager.default.contentsOfDirectory(atPath: path).sorted()
            files += names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.map { (path as NSString).appendingPathComponent($0) }
        } else {
            files.append(path)
        }
    }
    return files
}
