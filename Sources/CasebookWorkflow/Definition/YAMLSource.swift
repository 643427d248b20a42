import Yams

/// What one parse of a file shares among all its ``YAMLValue``s: problems that do not stop parsing
/// (unknown and duplicate keys), and the duplicate keys renamed so that the file could be composed.
final class YAMLDocument {
    let file: String
    /// Problems found while reading mappings; parsing went on after each.
    var diagnostics: [Diagnostic] = []
    /// Diagnostics to drop at the end: "has no 'x'" in a mapping with an unknown key (the unknown key
    /// is most likely the missing one, misspelt).
    var suppressed: Set<Diagnostic> = []
    /// The second (third, …) occurrences of duplicated keys, renamed in the text before composing
    /// (Yams refuses duplicate keys): placeholder → the key as written, and where both occurrences are.
    var renamedKeys: [String: (name: String, first: SourceLocation, at: SourceLocation)] = [:]
    /// Placeholders already reported by ``YAMLValue/mapping(_:allowed:reportUnknown:)``.
    var reportedRenames: Set<String> = []
    /// How many unknown keys have been reported (an element that added some is left out).
    var unknownKeyCount = 0

    init(file: String) { self.file = file }

    /// Every diagnostic collected on the side, including duplicates in mappings that were never read.
    func collected() -> [Diagnostic] {
        var out = diagnostics
        for (placeholder, renamed) in renamedKeys where !reportedRenames.contains(placeholder) {
            out.append(Diagnostic(at: renamed.at, "'\(renamed.name)' appears twice in a mapping",
                                  hint: "the first is at line \(renamed.first.line); merge them"))
        }
        return out
    }
}

/// A YAML node together with the file it came from, with helpers that turn every shape or type
/// mismatch into a ``Diagnostic`` at the node's own line and column.
struct YAMLValue {
    let node: Yams.Node
    let document: YAMLDocument

    var file: String { document.file }

    var location: SourceLocation {
        SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
    }

    /// Where the text of a one-line scalar starts: after the opening quote of a quoted scalar (an
    /// expression's columns count from there).
    var contentLocation: SourceLocation {
        if case .scalar(let scalar) = node, scalar.style == .singleQuoted || scalar.style == .doubleQuoted {
            return location.advanced(by: 1)
        }
        return location
    }

    /// The opening quote of a quoted scalar, nil for any other node.
    var quoteLocation: SourceLocation? {
        contentLocation == location ? nil : location
    }

    /// True for an empty value (`key:`, `key: ~`, `key: null`).
    var isNull: Bool {
        guard case .scalar(let scalar) = node, scalar.style == .plain || scalar.style == .any else { return false }
        return scalar.string.isEmpty || scalar.string == "~" || scalar.string == "null"
    }

    /// Parses a whole file; a YAML syntax error becomes a diagnostic at its position. Duplicate keys are
    /// renamed so that the rest of the file can still be read; ``mapping(_:allowed:reportUnknown:)``
    /// reports them where they occur.
    static func parse(_ text: String, file: String) throws(Diagnostic) -> YAMLValue {
        let document = YAMLDocument(file: file)
        var text = text
        while true {
            do {
                guard let node = try Yams.compose(yaml: text) else {
                    throw Diagnostic(at: SourceLocation(file: file, line: 1, column: 1), "the file is empty", hint: "a workflow starts with `workflow: <name>`")
                }
                return YAMLValue(node: node, document: document)
            } catch let error as Diagnostic {
                throw error
            } catch YamlError.duplicatedKeysInMapping(let duplicates, let context) {
                let name = duplicates.first ?? "?"
                let first = SourceLocation(file: file, line: context.mark.line, column: context.mark.column)
                guard document.renamedKeys.count < DuplicateKeys.maximum,
                      let (patched, placeholder, at) = DuplicateKeys.renameNext(name, after: first, in: text, serial: document.renamedKeys.count)
                else {
                    throw Diagnostic(at: first, "'\(name)' appears twice in a mapping", hint: "keys must be unique; merge them")
                }
                document.renamedKeys[placeholder] = (name, first, at)
                text = patched
            } catch let error as YamlError {
                throw yamlDiagnostic(error, file: file)
            } catch {
                throw Diagnostic(at: SourceLocation(file: file, line: 1, column: 1), "cannot read YAML: \(error)")
            }
        }
    }

    private static func yamlDiagnostic(_ error: YamlError, file: String) -> Diagnostic {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _):
            let what = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            return Diagnostic(at: SourceLocation(file: file, line: mark.line, column: mark.column), "YAML syntax error: \(what)",
                              hint: "check indentation and quoting on this line")
        case let .composer(context, problem, mark, _):
            let what = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            return Diagnostic(at: SourceLocation(file: file, line: mark.line, column: mark.column), "YAML error: \(what)")
        default:
            let text = "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
            return Diagnostic(at: SourceLocation(file: file, line: 1, column: 1), "YAML error: \(text)")
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
        case .sequence(let seq): return seq.map { YAMLValue(node: $0, document: document) }
        case .scalar, .mapping: return [self]
        default: throw error("\(what) must be a list", hint: "write `[a, b]` or one item per line starting with `- `")
        }
    }

    /// The node as a list of strings: a single value, or a list of single values (not a mapping).
    func strings(_ what: String) throws(Diagnostic) -> [(String, SourceLocation)] {
        if case .mapping = node {
            throw error("\(what) must be a single value or a list, not a mapping",
                        hint: "write `[a, b]` or one item per line starting with `- `")
        }
        var out: [(String, SourceLocation)] = []
        for item in try list(what) { out.append((try item.string(what), item.location)) }
        return out
    }

    /// The node as a mapping with string keys, in file order. A duplicate key, and (if `allowed` is given)
    /// a key not in it, is reported on the document and left out; reading goes on. With `reportUnknown`
    /// false, unknown keys are only collected in the result (see ``YAMLMapping/reportUnknownKeys(where:)``).
    func mapping(_ what: String, allowed: [String]? = nil, reportUnknown: Bool = true) throws(Diagnostic) -> YAMLMapping {
        guard case .mapping(let map) = node else {
            throw error("\(what) must be a mapping of `key: value` lines, not a \(kind)")
        }
        var entries: [(key: String, keyLocation: SourceLocation, value: YAMLValue)] = []
        var unknown: [(key: String, keyLocation: SourceLocation, value: YAMLValue)] = []
        var seen: [String: SourceLocation] = [:]
        for (k, v) in map {
            let key = YAMLValue(node: k, document: document)
            var name = try key.string("a key in \(what)")
            if let renamed = document.renamedKeys[name] {
                document.reportedRenames.insert(name)
                name = renamed.name
            }
            if let first = seen[name] {
                document.diagnostics.append(key.error("'\(name)' appears twice in \(what)", hint: "the first is at line \(first.line); merge them"))
                continue
            }
            seen[name] = key.location
            if let allowed, !allowed.contains(name) {
                unknown.append((name, key.location, YAMLValue(node: v, document: document)))
                continue
            }
            entries.append((name, key.location, YAMLValue(node: v, document: document)))
        }
        let result = YAMLMapping(owner: self, what: what, allowed: allowed ?? [], entries: entries, unknown: unknown)
        if reportUnknown { result.reportUnknownKeys() }
        return result
    }
}

/// A mapping read by ``YAMLValue/mapping(_:allowed:reportUnknown:)``.
struct YAMLMapping {
    let owner: YAMLValue
    /// What the mapping is, in messages (`state 's'`).
    let what: String
    /// The keys it may have.
    let allowed: [String]
    /// Its allowed entries, in file order.
    let entries: [(key: String, keyLocation: SourceLocation, value: YAMLValue)]
    /// Its entries with keys not allowed.
    let unknown: [(key: String, keyLocation: SourceLocation, value: YAMLValue)]

    /// True if some key was not allowed (the element is then incomplete or misspelt).
    var hasUnknownKeys: Bool { !unknown.isEmpty }

    subscript(key: String) -> YAMLValue? { entries.first { $0.key == key }?.value }

    /// Reports the unknown keys (those for which `include` is true) on the document.
    func reportUnknownKeys(where include: ((key: String, keyLocation: SourceLocation, value: YAMLValue)) -> Bool = { _ in true }) {
        for entry in unknown where include(entry) {
            owner.document.unknownKeyCount += 1
            owner.document.diagnostics.append(Diagnostic(
                at: entry.keyLocation, "unknown key '\(entry.key)' in \(what)", hint: Suggest.hint(entry.key, among: allowed, listing: "allowed keys")))
        }
    }

    /// The value under `key`, or a diagnostic at the mapping saying it is missing. If the mapping has an
    /// unknown key (most likely the missing one, misspelt), the diagnostic is thrown but not reported.
    func required(_ key: String, in what: String, hint: String? = nil) throws(Diagnostic) -> YAMLValue {
        guard let value = self[key] else {
            let missing = owner.error("\(what) has no '\(key)'", hint: hint)
            if hasUnknownKeys { owner.document.suppressed.insert(missing) }
            throw missing
        }
        return value
    }
}

/// Finds the second occurrence of a duplicated key in YAML text and renames it, so that Yams (which
/// refuses duplicate keys while composing) can read the rest of the file.
enum DuplicateKeys {
    /// At most this many keys are renamed in one file.
    static let maximum = 1000

    /// The text with the occurrence of `name` after the one at `first` (in the same mapping) renamed to a
    /// placeholder of the same length (so that no column moves), the placeholder, and where it is.
    static func renameNext(_ name: String, after first: SourceLocation, in text: String, serial: Int)
        -> (text: String, placeholder: String, at: SourceLocation)? {
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0) }
        let layout = Layout(lines)
        let line = first.line - 1, column = first.column - 1
        guard lines.indices.contains(line), let length = keyLength(name, lines[line], at: column) else { return nil }
        let found = layout.depth[line][column] > 0
            ? nextInFlow(name, lines, layout, from: (line, column + length), depth: layout.depth[line][column])
            : nextInBlock(name, lines, layout, from: line, column: column)
        guard let found, let start = Unicode.Scalar(0xE000 + serial), let pad = Unicode.Scalar(0xE000) else { return nil }
        let placeholder = [start] + Array(repeating: pad, count: found.length - 1)
        lines[found.line].replaceSubrange(found.column..<(found.column + found.length), with: placeholder)
        var view = String.UnicodeScalarView()
        for (i, l) in lines.enumerated() {
            if i > 0 { view.append("\n") }
            view.append(contentsOf: l)
        }
        return (String(view), String(String.UnicodeScalarView(placeholder)),
                SourceLocation(file: first.file, line: found.line + 1, column: found.column + 1))
    }

    /// The length of the key `name` (plain or quoted) written at `column`, if it is there and followed by `:`.
    static func keyLength(_ name: String, _ line: [Unicode.Scalar], at column: Int) -> Int? {
        for form in [name, "\"\(name)\"", "'\(name)'"] {
            let scalars = Array(form.unicodeScalars)
            guard column >= 0, column + scalars.count <= line.count, Array(line[column..<(column + scalars.count)]) == scalars else { continue }
            var i = column + scalars.count
            while i < line.count, line[i] == " " || line[i] == "\t" { i += 1 }
            if i < line.count, line[i] == ":" { return scalars.count }
        }
        return nil
    }

    /// The next key `name` in the same block mapping: a later line indented exactly as the first key,
    /// before any line indented less.
    static func nextInBlock(_ name: String, _ lines: [[Unicode.Scalar]], _ layout: Layout, from line: Int, column: Int)
        -> (line: Int, column: Int, length: Int)? {
        for l in (line + 1)..<max(line + 1, lines.count) {
            guard let indent = lines[l].firstIndex(where: { $0 != " " }), layout.code[l][indent], layout.depth[l][indent] == 0 else { continue }
            if indent < column { return nil }
            if indent == column, let length = keyLength(name, lines[l], at: indent) { return (l, indent, length) }
        }
        return nil
    }

    /// The next key `name` in the same flow mapping: after a comma at the mapping's own depth, before it closes.
    static func nextInFlow(_ name: String, _ lines: [[Unicode.Scalar]], _ layout: Layout, from start: (Int, Int), depth: Int)
        -> (line: Int, column: Int, length: Int)? {
        var expectKey = false
        var (l, c) = start
        while l < lines.count {
            while c < lines[l].count {
                let ch = lines[l][c]
                if layout.depth[l][c] < depth { return nil }
                if layout.code[l][c], layout.depth[l][c] == depth, ch != " ", ch != "\t" {
                    if ch == "," {
                        expectKey = true
                    } else if expectKey {
                        if let length = keyLength(name, lines[l], at: c) { return (l, c, length) }
                        expectKey = false
                    }
                }
                c += 1
            }
            l += 1
            c = 0
        }
        return nil
    }

    /// For each character: the depth of flow collections around it (`{` and `[` count, from the character
    /// after them), and whether it is YAML syntax (not inside a quoted scalar, a comment or a block scalar).
    struct Layout {
        var depth: [[Int]] = []
        var code: [[Bool]] = []

        init(_ lines: [[Unicode.Scalar]]) {
            var flow = 0
            var quote: Unicode.Scalar? = nil
            var blockScalarIndent: Int? = nil
            for line in lines {
                var depths = Array(repeating: flow, count: line.count)
                var codes = Array(repeating: false, count: line.count)
                defer { depth.append(depths); code.append(codes) }
                let indent = line.firstIndex { $0 != " " } ?? line.count
                if let parent = blockScalarIndent {
                    if indent == line.count || indent > parent { continue }
                    blockScalarIndent = nil
                }
                var c = 0
                var previous: Unicode.Scalar? = nil   // the previous non-space character of syntax on this line
                var property = false                  // the previous word is an anchor (`&a`) or a tag (`!t`)
                while c < line.count {
                    let ch = line[c]
                    for i in c..<line.count { depths[i] = flow }   // until the depth changes again
                    if let q = quote {
                        if q == "\"" && ch == "\\" { c += 2; continue }
                        if ch == q {
                            if q == "'" && c + 1 < line.count && line[c + 1] == "'" { c += 2; continue }
                            quote = nil
                            codes[c] = true
                            previous = ch
                        }
                        c += 1
                        continue
                    }
                    let spaced = c == 0 || line[c - 1] == " " || line[c - 1] == "\t"
                    if ch == "#" && spaced { break }
                    codes[c] = true
                    let tokenStart = flow > 0
                        ? spaced || previous.map { "{[,:".unicodeScalars.contains($0) } ?? true
                        : spaced && (property || previous.map { ":-?".unicodeScalars.contains($0) } ?? true)
                    if (ch == "\"" || ch == "'") && tokenStart {
                        quote = ch
                    } else if (ch == "{" || ch == "[") && (tokenStart || flow > 0) {
                        flow += 1
                    } else if (ch == "}" || ch == "]") && flow > 0 {
                        flow -= 1
                    } else if (ch == "|" || ch == ">") && flow == 0 && tokenStart {
                        let rest = line[(c + 1)...].prefix { $0 != "#" }
                        if rest.allSatisfy({ "+-0123456789 \t".unicodeScalars.contains($0) }) { blockScalarIndent = indent }
                    }
                    if ch != " " && ch != "\t" {
                        if spaced { property = tokenStart && (ch == "&" || ch == "!") }
                        previous = ch
                    }
                    c += 1
                }
            }
        }
    }
}

/// "Did you mean" suggestions by edit distance.
enum Suggest {
    /// Edit distance, ignoring case.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.lowercased().unicodeScalars), b = Array(b.lowercased().unicodeScalars)
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
