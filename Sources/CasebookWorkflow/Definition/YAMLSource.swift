import Yams

/// A YAML node together with the file it came from, with helpers that turn every shape or type
/// mismatch into a ``Diagnostic`` at the node's own line and column.
struct YAMLValue {
    let node: Yams.Node
    let file: String

    var location: SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    /// Parses a whole file; a YAML syntax error becomes a diagnostic at its position.
    static func parse(_ text: String, file: String) throws(Diagnostic) -> YAMLValue {
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw Diagnostic(at: SourceLocation(file: file, line: 1, column: 1), "the file is empty", hint: "a workflow starts with `workflow: <name>`")
            }
            return YAMLValue(node: node, file: file)
        } catch let error as Diagnostic {
            throw error
        } catch let error as YamlError {
            throw yamlDiagnostic(error, file: file)
        } catch {
            throw Diagnostic(at: SourceLocation(file: file, line: 1, column: 1), "cannot read YAML: \(error)")
        }
    }

    private static func yamlDiagnostic(_ error: YamlError, file: String) -> Diagnostic {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _):
            let what = [context?.description, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            return Diagnostic(at: SourceLocation(file: file, line: mark.line, column: mark.column), "YAML syntax error: \(what)",
                              hint: "check indentation and quoting on this line")
        case let .composer(context, problem, mark, _):
            let what = [context?.description, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            return Diagnostic(at: SourceLocation(file: file, line: mark.line, column: mark.column), "YAML error: \(what)")
        default:
            return Diagnostic(at: SourceLocation(file: file, line: 1, column: 1), "YAML error: \(error)")
        }
    }

    func error(_ message: String, hint: String? = nil) -> Diagnostic {
        Diagnostic(at: location, message, hint: hint)
    }

    /// The node as a plain scalar string.
    func string(_ what: String) throws(Diagnostic) -> String {
        guard case .scalar(let scalar) = node else { throw error("\(what) must be a single value, not a \(kind)") }
        return scalar.string
    }

    /// The node as an integer.
    func integer(_ what: String) throws(Diagnostic) -> Int {
        guard case .scalar(let scalar) = node, let value = Int(scalar.string) else {
            throw error("\(what) must be a whole number", hint: "for example `1`")
        }
        return value
    }

    /// The node as a boolean (`true`/`false`).
    func boolean(_ what: String) throws(Diagnostic) -> Bool {
        guard case .scalar(let scalar) = node else { throw error("\(what) must be true or false") }
        switch scalar.string {
        case "true", "yes": return true
        case "false", "no": return false
        default: throw error("\(what) must be true or false, not '\(scalar.string)'")
        }
    }

    var kind: String {
        switch node {
        case .scalar: return "single value"
        case .mapping: return "mapping"
        case .sequence: return "list"
        case .alias: return "alias"
        }
    }

    var isScalar: Bool { if case .scalar = node { return true } else { return false } }

    /// The node as a list; a single scalar or mapping counts as a list of one.
    func list(_ what: String) throws(Diagnostic) -> [YAMLValue] {
        switch node {
        case .sequence(let seq): return seq.map { YAMLValue(node: $0, file: file) }
        case .scalar, .mapping: return [self]
        default: throw error("\(what) must be a list", hint: "write `[a, b]` or one item per line starting with `- `")
        }
    }

    /// The node as a list of strings.
    func strings(_ what: String) throws(Diagnostic) -> [(String, SourceLocation)] {
        var out: [(String, SourceLocation)] = []
        for item in try list(what) { out.append((try item.string(what), item.location)) }
        return out
    }

    /// The node as a mapping with string keys, in file order, refusing duplicate keys and (if `allowed`
    /// is given) keys not in it.
    func mapping(_ what: String, allowed: [String]? = nil) throws(Diagnostic) -> YAMLMapping {
        guard case .mapping(let map) = node else {
            throw error("\(what) must be a mapping of `key: value` lines, not a \(kind)")
        }
        var entries: [(key: String, keyLocation: SourceLocation, value: YAMLValue)] = []
        var seen: [String: SourceLocation] = [:]
        for (k, v) in map {
            let key = YAMLValue(node: k, file: file)
            let name = try key.string("a key in \(what)")
            if let first = seen[name] {
                throw key.error("'\(name)' appears twice in \(what)", hint: "the first is at line \(first.line); merge them")
            }
            if let allowed, !allowed.contains(name) {
                throw key.error("unknown key '\(name)' in \(what)", hint: Suggest.hint(name, among: allowed, listing: "allowed keys"))
            }
            seen[name] = key.location
            entries.append((name, key.location, YAMLValue(node: v, file: file)))
        }
        return YAMLMapping(owner: self, entries: entries)
    }
}

/// A mapping read by ``YAMLValue/mapping(_:allowed:)``.
struct YAMLMapping {
    let owner: YAMLValue
    let entries: [(key: String, keyLocation: SourceLocation, value: YAMLValue)]

    subscript(key: String) -> YAMLValue? { entries.first { $0.key == key }?.value }

    /// The value under `key`, or a diagnostic at the mapping saying it is missing.
    func required(_ key: String, in what: String, hint: String? = nil) throws(Diagnostic) -> YAMLValue {
        guard let value = self[key] else { throw owner.error("\(what) has no '\(key)'", hint: hint) }
        return value
    }
}

/// "Did you mean" suggestions by edit distance.
enum Suggest {
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.unicodeScalars), b = Array(b.unicodeScalars)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// The closest candidate within a third of the name's length, if any.
    static func closest(_ name: String, among candidates: [String]) -> String? {
        let best = candidates.map { ($0, distance(name, $0)) }.min { $0.1 < $1.1 }
        guard let (candidate, d) = best, d <= max(1, name.count / 3) else { return nil }
        return candidate
    }

    /// `did you mean 'x'?` if something is close, else `<listing>: a, b, c`.
    static func hint(_ name: String, among candidates: [String], listing: String) -> String {
        if let c = closest(name, among: candidates) { return "did you mean '\(c)'?" }
        return candidates.isEmpty ? "none are declared" : "\(listing): \(candidates.joined(separator: ", "))"
    }
}
