/// Diagrams of a workflow's states and commands.
public enum WorkflowGraph {
    /// The diagram formats.
    public enum Format: String, Sendable, CaseIterable {
        /// Mermaid `stateDiagram-v2`, for Markdown renderers.
        case mermaid
        /// Graphviz DOT.
        case dot
    }

    /// Renders `definition` as a diagram: one node per state, one edge per command and source state
    /// (commands that keep the state are loops), clock breaches that move a case as dashed edges.
    public static func render(_ definition: WorkflowDefinition, format: Format) -> String {
        let open = definition.states.filter { !$0.isFinal }.map(\.name)
        var edges: [(from: String?, to: String, label: String, breach: Bool)] = []
        for c in definition.commands {
            let label = c.title.map { "\(c.name) (\($0))" } ?? c.name
            if c.opensCase {
                if let initial = definition.initialState { edges.append((nil, c.to?.name ?? initial.name, label, false)) }
                continue
            }
            let sources = c.from.contains { $0.name == "*" } ? open : c.from.map(\.name)
            for s in sources { edges.append((s, c.to?.name ?? s, label, false)) }
        }
        for clock in definition.clocks {
            guard let target = clock.onBreach.moveTo else { continue }
            for s in open where s != target { edges.append((s, target, "\(clock.name) breached", true)) }
        }
        switch format {
        case .mermaid: return mermaid(definition, edges)
        case .dot: return dot(definition, edges)
        }
    }

    private static func id(_ name: String) -> String {
        String(name.unicodeScalars.map { ($0.properties.isAlphabetic || ("0"..."9").contains($0)) && $0.isASCII ? Character($0) : "_" })
    }

    private static func mermaid(_ d: WorkflowDefinition, _ edges: [(from: String?, to: String, label: String, breach: Bool)]) -> String {
        var lines = ["---", "title: \(d.title) (\(d.name) v\(d.version))", "---", "stateDiagram-v2"]
        for s in d.states {
            lines.append("    state \"\(s.title.map { "\(s.name): \($0)" } ?? s.name)\(s.owner.map { " [\($0)]" } ?? "")\" as \(id(s.name))")
        }
        for e in edges {
            let label = e.label.replacingOccurrences(of: ":", with: "：")
            lines.append("    \(e.from.map(id) ?? "[*]") --> \(id(e.to)) : \(e.breach ? "⏰ " : "")\(label)")
        }
        for s in d.states where s.isFinal { lines.append("    \(id(s.name)) --> [*]") }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func dot(_ d: WorkflowDefinition, _ edges: [(from: String?, to: String, label: String, breach: Bool)]) -> String {
        func quote(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
        var lines = ["digraph \(quote(d.name)) {", "    label=\(quote("\(d.title) (v\(d.version))"));", "    rankdir=LR;",
                     "    node [shape=box, style=rounded];", "    \"__start\" [shape=point, label=\"\"];"]
        for s in d.states {
            let label = [s.name, s.title, s.owner.map { "[\($0)]" }].compactMap { $0 }.joined(separator: "\\n")
            lines.append("    \(quote(s.name)) [label=\(quote(label))\(s.isFinal ? ", peripheries=2" : "")];")
        }
        for e in edges {
            let style = e.breach ? ", style=dashed, color=red" : ""
            lines.append("    \(e.from.map(quote) ?? "\"__start\"") -> \(quote(e.to)) [label=\(quote(e.label))\(style)];")
        }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }
}
