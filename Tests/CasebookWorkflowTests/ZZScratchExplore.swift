import Foundation
import Testing
@testable import CasebookWorkflow

@Suite struct ZZScratchExplore {
    @Test func dump() throws {
        let dir = "/tmp/explore"
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".yaml") }.sorted()
        var out = ""
        for f in files {
            let text = try String(contentsOfFile: dir + "/" + f, encoding: .utf8)
            let (def, diags) = DefinitionParser.parse(text, file: f)
            out += "=== \(f) def=\(def != nil)\n"
            for d in diags { out += "P \(d.severity) \(d.location.line):\(d.location.column) \(d.message) || \(d.hint ?? "-")\n" }
            if let def, diags.isEmpty {
                let cals = try? CalendarSet.load(directory: "/work/main/Workflows/calendars")
                let years = f.contains("2027") ? [2027] : [2026]
                let ctx = LintContext(knownWorkflows: f.contains("known") ? ["task-admission"] : nil, calendars: f.contains("cal") ? cals?.calendars : nil, years: years)
                for d in Linter.lint(def, context: ctx) { out += "L \(d.severity) \(d.location.line):\(d.location.column) \(d.message) || \(d.hint ?? "-")\n" }
                if f.contains("dump") { out += "\(def)\n" }
            }
        }
        try out.write(toFile: dir + "/out.txt", atomically: true, encoding: .utf8)
    }
}
