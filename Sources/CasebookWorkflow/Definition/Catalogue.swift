import Foundation

// The catalogue file format (`Workflows/catalogues/<name>.yaml`, beside the definitions that use it):
//
//     catalogue: service-items            # required: the name definitions refer to; the file is <name>.yaml
//     title: 社区服务事项目录               # optional
//     columns:                            # required: each item's values, typed
//       title: string                     # string, text, integer, boolean, or an enum:
//       limit_days: integer
//       certificate: { enum: [none, must, may, may-not] }   # (or `enum(none, must, …)`)
//     items:                              # required: one mapping per item, an `id` and a value for every column
//       - { id: residence-certificate, title: 居住证明 Residence certificate, limit_days: 3, certificate: must }
//
// Item ids are letters, digits and '-' (starting with a letter or digit), each used once.

/// A catalogue: a published, typed table of items (e.g. the community's service items with their time
/// limits), from which a decision table can take its rules: the item whose id is the key supplies the outputs.
public struct Catalogue: Sendable {
    /// A typed column.
    public struct Column: Sendable, Hashable {
        /// The column's name.
        public var name: String
        /// Its type: string, text, integer, boolean or an enum.
        public var type: FieldType
        /// Where it is declared.
        public var location: SourceLocation
    }

    /// One item: its id and a value for every column.
    public struct Item: Sendable, Hashable {
        /// The item's id (what a key expression evaluates to).
        public var id: String
        /// Its values, by column name.
        public var values: [String: Value]
        /// Where the item is written.
        public var location: SourceLocation
    }

    /// The catalogue's name.
    public var name: String
    /// A human title.
    public var title: String?
    /// Its columns, in file order.
    public var columns: [Column]
    /// Its items, in file order.
    public var items: [Item]
    /// Where the catalogue's name is written.
    public var location: SourceLocation

    /// Looks up a column by name.
    public func column(_ name: String) -> Column? { columns.first { $0.name == name } }
    /// Looks up an item by id.
    public func item(_ id: String) -> Item? { items.first { $0.id == id } }

    static let topKeys = ["catalogue", "title", "columns", "items"]
    static let columnKeys = ["type", "values", "enum", "title"]
    static let columnTypes = "string, text, integer, boolean, or an enum (`{ enum: [a, b] }`)"

    /// Reads a catalogue file.
    ///
    /// - Throws: ``DiagnosticList`` with every problem found (each at file:line:column, with a hint).
    public static func load(path: String, file: String? = nil) throws(DiagnosticList) -> Catalogue {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw DiagnosticList([Diagnostic(at: SourceLocation(file: file ?? path, line: 1, column: 1),
                                             "cannot read catalogue file: \(error.localizedDescription)",
                                             hint: "check that the file exists, is readable and is UTF-8")])
        }
        return try parse(yaml: text, file: file ?? path)
    }

    /// Parses and checks catalogue YAML; `file` names it in diagnostics.
    ///
    /// Checked: YAML syntax, unknown, missing and duplicate keys, the catalogue name, column types, item ids
    /// (well-formed, each once), a value for every column and none for unknown columns, and every value of
    /// its column's type (enum values among the enum's).
    ///
    /// - Throws: ``DiagnosticList`` with every problem found, sorted by position.
    public static func parse(yaml text: String, file: String) throws(DiagnosticList) -> Catalogue {
        var diagnostics: [Diagnostic] = []
        func attempt<T>(_ body: () throws(Diagnostic) -> T) -> T? {
            do { return try body() } catch { diagnostics.append(error); return nil }
        }
        guard let root = attempt({ () throws(Diagnostic) in try YAMLValue.parse(text, file: file) }) else { throw DiagnosticList(diagnostics) }
        let document = root.document
        func finish() -> [Diagnostic] {
            var seen: Set<Diagnostic> = []
            return (diagnostics + document.collected()).filter { !document.suppressed.contains($0) && seen.insert($0).inserted }
        }
        guard let top = attempt({ () throws(Diagnostic) in try root.mapping("the catalogue file", allowed: topKeys) }) else {
            throw DiagnosticList(finish())
        }
        let nameNode = attempt { () throws(Diagnostic) in
            try top.required("catalogue", in: "the catalogue file", hint: "start the file with `catalogue: <name>` (the file's name without .yaml)")
        }
        var name: String?
        if let nameNode, let text = attempt({ () throws(Diagnostic) in try nameNode.string("the catalogue name") }) {
            if isIdentifier(text) {
                name = text
            } else {
                diagnostics.append(nameNode.error("invalid catalogue name '\(text)'", hint: "use letters, digits and '-', e.g. `service-items`"))
            }
        }
        let title = attempt { () throws(Diagnostic) in try top["title"]?.string("the title") } ?? nil

        var columns: [Column] = []
        var declared: [String] = []  // every column named, even one whose type is wrong (its cells are then not checked)
        if let map = attempt({ () throws(Diagnostic) in
            try top.required("columns", in: "the catalogue file", hint: "declare the items' columns, e.g. `columns: { title: string, limit_days: integer }`")
                .mapping("columns")
        }) {
            for entry in map.entries {
                if entry.key == "id" {
                    diagnostics.append(Diagnostic(at: entry.keyLocation, "'id' is not a column: every item has an id",
                                                  hint: "remove this column; write `id:` in each item"))
                    continue
                }
                declared.append(entry.key)
                if let type = attempt({ () throws(Diagnostic) in try columnType(entry.key, entry.value) }) {
                    columns.append(Column(name: entry.key, type: type, location: entry.keyLocation))
                }
            }
        }

        var items: [Item] = []
        var seenIds: [String: SourceLocation] = [:]
        if let list = attempt({ () throws(Diagnostic) in
            try top.required("items", in: "the catalogue file", hint: "list the items, each `- { id: <id>, <column>: <value>, … }`").list("items")
        }) {
            for node in list {
                guard let m = attempt({ () throws(Diagnostic) in try node.mapping("an item", allowed: ["id"] + declared) }) else { continue }
                guard let idNode = attempt({ () throws(Diagnostic) in try m.required("id", in: "an item", hint: "give each item an `id:`") }),
                      let id = attempt({ () throws(Diagnostic) in try idNode.string("an item id") })
                else { continue }
                if !isIdentifier(id) {
                    diagnostics.append(idNode.error("invalid item id '\(id)'",
                                                    hint: "use letters, digits and '-' (e.g. `residence-certificate`); the title can say the rest"))
                    continue
                }
                if let first = seenIds[id] {
                    diagnostics.append(idNode.error("item id '\(id)' is used twice", hint: "the first is at line \(first.line); ids must be unique"))
                    continue
                }
                seenIds[id] = idNode.location
                var values: [String: Value] = [:]
                var complete = !m.hasUnknownKeys && declared.count == columns.count
                for column in columns {
                    guard let valueNode = m[column.name] else {
                        diagnostics.append(node.error("item '\(id)' has no '\(column.name)'",
                                                      hint: "give every column a value (\(column.type)); write \"\" for an empty string"))
                        complete = false
                        continue
                    }
                    if let value = attempt({ () throws(Diagnostic) in try columnValue(valueNode, column) }) {
                        values[column.name] = value
                    } else {
                        complete = false
                    }
                }
                if complete { items.append(Item(id: id, values: values, location: node.location)) }
            }
        }
        let all = finish()
        guard let name, let nameNode, all.isEmpty else { throw DiagnosticList(all) }
        return Catalogue(name: name, title: title, columns: columns, items: items, location: nameNode.location)
    }

    /// Letters, digits and '-', starting with a letter or digit.
    static func isIdentifier(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first.properties.isAlphabetic || ("0"..."9").contains(first) else { return false }
        return text.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" }
    }

    /// `string`, `integer`, `enum(a, b)`, `{ enum: [a, b] }`, `{ type: enum, values: [a, b] }`.
    static func columnType(_ name: String, _ node: YAMLValue) throws(Diagnostic) -> FieldType {
        let type: FieldType
        var at = node.location
        if node.isScalar {
            if node.isNull { throw node.error("column '\(name)' has no type", hint: "types: \(columnTypes)") }
            type = try DefinitionParser.parseType(node.string("the type of column '\(name)'"), at: node.location)
        } else {
            let m = try node.mapping("column '\(name)'", allowed: columnKeys)
            if let values = m["enum"] {
                let list = try values.strings("the enum's values").map(\.0)
                guard !list.isEmpty else { throw values.error("an enum needs at least one value") }
                type = .enumeration(list)
            } else {
                let typeNode = try m.required("type", in: "column '\(name)'", hint: "e.g. `type: integer`, or `enum: [a, b]`")
                at = typeNode.location
                var t = try DefinitionParser.parseType(typeNode.string("a type"), at: typeNode.location)
                if let values = m["values"] {
                    guard case .enumeration = t else { throw values.error("only an enum column takes 'values'") }
                    let list = try values.strings("the values").map(\.0)
                    guard !list.isEmpty else { throw values.error("an enum needs at least one value") }
                    t = .enumeration(list)
                }
                type = t
            }
        }
        switch type {
        case .string, .text, .integer, .boolean: return type
        case .enumeration(let values) where !values.isEmpty: return type
        case .enumeration: throw Diagnostic(at: at, "enum column '\(name)' has no values", hint: "write `{ enum: [a, b] }`")
        default: throw Diagnostic(at: at, "column '\(name)' cannot be \(type)", hint: "catalogue columns are \(columnTypes)")
        }
    }

    /// A cell's value, checked against its column's type.
    static func columnValue(_ node: YAMLValue, _ column: Column) throws(Diagnostic) -> Value {
        let text = try node.string("the value of '\(column.name)'")
        switch column.type {
        case .integer:
            guard let n = Int64(text) else {
                throw node.error("'\(text)' is not a whole number (column '\(column.name)' is integer)", hint: "write e.g. `\(column.name): 5`")
            }
            return .integer(n)
        case .boolean:
            switch text {
            case "true", "yes": return .boolean(true)
            case "false", "no": return .boolean(false)
            default: throw node.error("'\(text)' is not true or false (column '\(column.name)' is boolean)")
            }
        case .enumeration(let allowed):
            guard allowed.contains(text) else {
                let near = Suggest.closest(text, among: allowed).map { "did you mean '\($0)'? " } ?? ""
                throw node.error("'\(text)' is not one of \(allowed.joined(separator: ", ")) (column '\(column.name)')",
                                 hint: near + "allowed values: \(allowed.joined(separator: ", "))")
            }
            return .string(text)
        default:
            return .string(text)
        }
    }
}

extension Catalogue {
    /// The sources of the catalogues `names`, read from `<directory>/<name>.yaml`, named in diagnostics
    /// `<prefix><name>.yaml`. A catalogue without a file is left out (the linter reports it as unknown).
    public static func sources(named names: [String], directory: String, prefix: String = "catalogues/") throws -> [(file: String, source: String)] {
        var out: [(file: String, source: String)] = []
        for name in Set(names).sorted() {
            let path = (directory as NSString).appendingPathComponent(name + ".yaml")
            guard FileManager.default.fileExists(atPath: path) else { continue }
            out.append((prefix + name + ".yaml", try String(contentsOfFile: path, encoding: .utf8)))
        }
        return out
    }

    /// Parses catalogue sources and indexes them by name. A file must be named after the catalogue it
    /// declares (`service-items.yaml` declares `catalogue: service-items`), and each name is declared once.
    ///
    /// - Throws: ``DiagnosticList`` with every problem of every source.
    public static func collect(_ sources: [(file: String, source: String)]) throws(DiagnosticList) -> [String: Catalogue] {
        var diagnostics: [Diagnostic] = []
        var out: [String: Catalogue] = [:]
        for (file, text) in sources {
            do {
                let catalogue = try parse(yaml: text, file: file)
                let base = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
                if base != catalogue.name {
                    diagnostics.append(Diagnostic(at: catalogue.location, "this file declares catalogue '\(catalogue.name)', but it is named \(base)",
                                                  hint: "name the file \(catalogue.name).yaml, or write `catalogue: \(base)`"))
                } else if out[catalogue.name] != nil {
                    diagnostics.append(Diagnostic(at: catalogue.location, "catalogue '\(catalogue.name)' is declared twice"))
                } else {
                    out[catalogue.name] = catalogue
                }
            } catch {
                diagnostics += error.diagnostics
            }
        }
        if !diagnostics.isEmpty { throw DiagnosticList(diagnostics) }
        return out
    }
}
