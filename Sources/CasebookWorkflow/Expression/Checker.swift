import CasebookLog

extension Expression {
    /// The static type of a sub-expression: a field type, or one of the two literals that have none.
    enum ExprType: Hashable {
        /// The `null` literal.
        case null
        /// The `[]` literal.
        case emptyList
        case known(FieldType)

        var description: String {
            switch self {
            case .null: return "null"
            case .emptyList: return "empty list"
            case .known(let t): return t.description
            }
        }
    }

    /// Resolves names, type-checks, and rewrites the parsed tree.
    struct Checker {
        let env: ExpressionEnvironment
        private(set) var names: [String] = []
        private(set) var nameTypes: [String: FieldType] = [:]

        /// The functions and how many arguments each takes (`date`/`datetime` are literal forms).
        static let functions: [String: Int] = [
            "count": 1, "len": 1, "days_between": 2, "date_of": 1, "min": 2, "max": 2, "date": 1, "datetime": 1,
            "in_office_hours": 1, "string": 1,
        ]

        init(env: ExpressionEnvironment) { self.env = env }

        /// Checks the whole expression and that its type is `expected` (any type if nil).
        mutating func check(_ node: Node, expecting expected: FieldType?) throws(Problem) -> (Node, FieldType) {
            let (checked, type) = try check(node)
            guard let expected else {
                guard case .known(let t) = type else {
                    throw Problem(at: node.start, "cannot tell the type of \(type == .null ? "null" : "an empty list")")
                }
                return (checked, t)
            }
            switch type {
            case .null: return (checked, expected)
            case .emptyList:
                if case .list = expected { return (checked, expected) }
            case .known(let t):
                if let s = stringLiteral(checked), case .enumeration(let values) = expected {
                    try requireMember(s, of: values, at: checked.start)
                    return (checked, expected)
                }
                if normalized(t) == normalized(expected) { return (checked, expected) }
            }
            throw Problem(at: node.start, "the expression must be \(expected), but it is \(type.description)",
                          hint: expected == .boolean ? "write a condition, e.g. 'x > 0', 'x == \"a\"' or 'x is set'" : nil)
        }

        private mutating func check(_ node: Node) throws(Problem) -> (Node, ExprType) {
            switch node.kind {
            case .literal(let v):
                switch v {
                case .null: return (node, .null)
                case .string: return (node, .known(.string))
                case .integer: return (node, .known(.integer))
                case .money: return (node, .known(.money))
                case .boolean: return (node, .known(.boolean))
                case .date: return (node, .known(.date))
                case .datetime: return (node, .known(.datetime))
                case .list: return (node, .emptyList)  // not produced by the parser
                }
            case .name(let name):
                guard let type = env.type(of: name) else { throw unknownName(name, at: node.offset) }
                if nameTypes[name] == nil { names.append(name) }
                nameTypes[name] = type
                return (node, .known(type))
            case .list(let items):
                var checked: [Node] = []
                var element: FieldType?
                for item in items {
                    let (c, t) = try check(item)
                    guard case .known(let type) = t else {
                        throw Problem(at: item.start, t == .null ? "a list cannot contain null" : "a list cannot contain an empty list")
                    }
                    if let e = element, normalized(e) != normalized(type) {
                        throw Problem(at: item.start, "list elements must have one type: expected \(e), found \(type)")
                    }
                    element = element ?? type
                    checked.append(c)
                }
                return (Node(.list(checked), offset: node.offset, start: node.start), element.map { .known(.list($0)) } ?? .emptyList)
            case .negate(let operand):
                let (c, t) = try check(operand)
                guard t == .known(.integer) || t == .known(.money) else {
                    throw Problem(at: node.offset, "cannot negate \(t.description)", hint: "'-' applies to integer and money")
                }
                return (Node(.negate(c), offset: node.offset, start: node.start), t)
            case .not(let operand):
                let c = try checkBoolean(operand, for: "not")
                return (Node(.not(c), offset: node.offset, start: node.start), .known(.boolean))
            case .isSet(let operand, let negated):
                let (c, _) = try check(operand)
                return (Node(.isSet(c, negated: negated), offset: node.offset, start: node.start), .known(.boolean))
            case .binary(let op, let l, let r):
                return try checkBinary(op, l, r, node)
            case .call(let name, let args):
                return try checkCall(name, args, node)
            }
        }

        private mutating func checkBoolean(_ operand: Node, for op: String) throws(Problem) -> Node {
            let (c, t) = try check(operand)
            guard t == .known(.boolean) else {
                throw Problem(at: operand.start, "'\(op)' needs a boolean, but this is \(t.description)",
                              hint: "write a condition, e.g. 'x > 0', 'x == \"a\"' or 'x is set'")
            }
            return c
        }

        private mutating func checkBinary(_ op: Node.BinaryOperator, _ l: Node, _ r: Node, _ node: Node) throws(Problem) -> (Node, ExprType) {
            func make(_ l: Node, _ r: Node, _ type: ExprType) -> (Node, ExprType) {
                (Node(.binary(op, l, r), offset: node.offset, start: node.start), type)
            }
            let boolean = ExprType.known(.boolean)
            switch op {
            case .and, .or:
                let cl = try checkBoolean(l, for: op.rawValue)
                return make(cl, try checkBoolean(r, for: op.rawValue), boolean)
            case .in, .notIn:
                let (cl, tl) = try check(l)
                if tl == .null { throw Problem(at: l.start, "null cannot be tested with '\(op.rawValue)'", hint: "write 'x is set'") }
                if case .list(let items) = r.kind {  // a list literal: each element is compared with the left side
                    var checked: [Node] = []
                    for item in items {
                        let (ci, ti) = try check(item)
                        if ti == .null { throw Problem(at: item.start, "a list cannot contain null") }
                        try requireComparable(cl, tl, ci, ti, opOffset: item.start)
                        checked.append(ci)
                    }
                    return make(cl, Node(.list(checked), offset: r.offset, start: r.start), boolean)
                }
                let (cr, tr) = try check(r)
                guard case .known(.list(let element)) = tr else {
                    throw Problem(at: r.start, "'\(op.rawValue)' needs a list on the right, but this is \(tr.description)",
                                  hint: "write a list such as [\"a\", \"b\"] or use a list field")
                }
                try requireComparable(cl, tl, Node(.name("element"), offset: r.start), .known(element), opOffset: node.offset)
                return make(cl, cr, boolean)
            case .eq, .ne:
                let (cl, tl) = try check(l), (cr, tr) = try check(r)
                if tl == .null || tr == .null {  // `x == null` is `x is not set`; `null == null` is true
                    if tl == .null && tr == .null { return (Node(.literal(.boolean(op == .eq)), offset: node.offset, start: node.start), boolean) }
                    return (Node(.isSet(tl == .null ? cr : cl, negated: op == .eq), offset: node.offset, start: node.start), boolean)
                }
                try requireComparable(cl, tl, cr, tr, opOffset: node.offset)
                return make(cl, cr, boolean)
            case .lt, .le, .gt, .ge:
                let (cl, tl) = try check(l), (cr, tr) = try check(r)
                for (n, t) in [(cl, tl), (cr, tr)] where t == .null {
                    throw Problem(at: n.start, "cannot order null with '\(op.rawValue)'", hint: "to test whether a value is present, write 'x is set'")
                }
                guard case .known(let t) = tl, [.integer, .money, .date, .datetime, .string].contains(normalized(t)) else {
                    throw Problem(at: node.offset, "cannot order \(tl.description) values with '\(op.rawValue)'",
                                  hint: "'<', '<=', '>' and '>=' work on integer, money, date, datetime and string")
                }
                try requireComparable(cl, tl, cr, tr, opOffset: node.offset, ordering: true)
                return make(cl, cr, boolean)
            case .add, .sub, .mul:
                let (cl, tl) = try check(l), (cr, tr) = try check(r)
                for (n, t) in [(cl, tl), (cr, tr)] where t == .null || t == .emptyList {
                    throw Problem(at: n.start, "\(t.description) cannot be used in arithmetic")
                }
                guard case .known(let a) = tl, case .known(let b) = tr else { return make(cl, cr, tl) }
                switch (op, a, b) {
                case (_, .integer, .integer): return make(cl, cr, .known(.integer))
                case (.add, _, _) where isText(a) && isText(b): return make(cl, cr, .known(.string))
                case (.add, .money, .money), (.sub, .money, .money), (.mul, .money, .integer), (.mul, .integer, .money):
                    return make(cl, cr, .known(.money))
                case (.add, .date, .integer), (.sub, .date, .integer), (.add, .integer, .date):
                    return make(cl, cr, .known(.date))
                default: break
                }
                let verb = op == .add ? "add \(a) and \(b)" : op == .sub ? "subtract \(b) from \(a)" : "multiply \(a) by \(b)"
                var at = node.offset
                var hint = "'+' and '-' work on integer+integer, money+money and date±integer (days), '+' also joins strings; '*' on integer*integer and money*integer"
                if a == .money, b == .money, op == .mul {
                    hint = "multiply money by an integer, e.g. 'case.price * 3'"
                } else if a == .date, b == .date {
                    hint = "use days_between(a, b) for the number of days from a to b"
                } else if a == .datetime || b == .datetime {
                    hint = "arithmetic on datetime is not supported; use date_of(…) to get its date"
                } else if let (n, literal) = integerLiteral(beside: .money, cl, a, cr, b) {
                    (at, hint) = (literal.start, moneyHint(n))
                } else if op == .add && (isText(a) || isText(b)) {
                    hint = "'+' joins two strings; write string(x) for the text of another value"
                }
                throw Problem(at: at, "cannot \(verb)", hint: hint)
            }
        }

        /// Checks that two operands can be compared (`==`, `in`, and with `ordering` `<` etc.).
        private func requireComparable(_ l: Node, _ tl: ExprType, _ r: Node, _ tr: ExprType, opOffset: Int, ordering: Bool = false) throws(Problem) {
            switch (tl, tr) {
            case (.emptyList, .emptyList), (.emptyList, .known(.list)), (.known(.list), .emptyList): return
            case (.known(let a), .known(let b)):
                if !ordering {
                    for (x, t) in [(l, b), (r, a)] {  // an enum value compares with a string literal that names one of its values
                        if let s = stringLiteral(x), case .enumeration(let values) = t {
                            return try requireMember(s, of: values, at: x.start)
                        }
                        if stringLiteral(x) != nil, case .reference = t { return }
                    }
                }
                if normalized(a) == normalized(b) { return }
                var at = opOffset
                var hint = "both sides must have the same type"
                if let (n, literal) = integerLiteral(beside: .money, l, a, r, b) {
                    (at, hint) = (literal.start, moneyHint(n))
                } else if a == .money && b == .integer || a == .integer && b == .money {
                    hint = "money and integer are different types; 'n * 1 fen' turns an integer into money"
                } else if [a, b].contains(.date) && [a, b].contains(.datetime) {
                    hint = "use date_of(…) to get the date (China time) of a datetime"
                } else if case .enumeration(let values) = a, normalized(b) == .string {
                    hint = "an enum compares only with a literal naming one of its values: \(quoted(values))"
                } else if case .enumeration(let values) = b, normalized(a) == .string {
                    hint = "an enum compares only with a literal naming one of its values: \(quoted(values))"
                } else if let (s, t) = [(stringLiteral(l), b), (stringLiteral(r), a)].first(where: { $0.0 != nil && ($0.1 == .date || $0.1 == .datetime) }) {
                    hint = "write \(t)(\"\(s!)\")"
                }
                throw Problem(at: at, "cannot compare \(a) with \(b)", hint: hint)
            default:
                throw Problem(at: opOffset, "cannot compare \(tl.description) with \(tr.description)")
            }
        }

        private func requireMember(_ s: String, of values: [String], at offset: Int) throws(Problem) {
            guard !values.contains(s) else { return }
            let close = Suggest.closest(to: s, in: values)
            throw Problem(at: offset, "'\(s)' is not one of the enum's values",
                          hint: (close.isEmpty ? "" : "did you mean \(Suggest.either(close))? ") + "allowed values: \(quoted(values))")
        }

        private mutating func checkCall(_ name: String, _ args: [Node], _ node: Node) throws(Problem) -> (Node, ExprType) {
            guard let arity = Self.functions[name] else {
                let close = Suggest.closest(to: name, in: Array(Self.functions.keys))
                throw Problem(at: node.offset, "unknown function '\(name)'",
                              hint: close.isEmpty ? "functions are: \(Self.functions.keys.sorted().joined(separator: ", "))"
                                                  : "did you mean \(Suggest.either(close))?")
            }
            guard args.count == arity else {
                throw Problem(at: node.offset, "\(name)() takes \(arity) argument\(arity == 1 ? "" : "s"), but \(args.count) \(args.count == 1 ? "was" : "were") given")
            }
            if name == "date" || name == "datetime" { return try literalCall(name, args[0], node) }
            var checked: [Node] = []
            var types: [FieldType] = []
            for arg in args {
                let (c, t) = try check(arg)
                if name == "count" && t == .emptyList {
                    (checked, types) = ([c], [.list(.string)])
                    continue
                }
                guard case .known(let type) = t else { throw Problem(at: arg.start, "\(name)() cannot take \(t.description)") }
                checked.append(c)
                types.append(type)
            }
            func require(_ k: Int, _ ok: Bool, _ what: String) throws(Problem) {
                guard ok else { throw Problem(at: args[k].start, "\(name)() needs \(what), but this is \(types[k])") }
            }
            let result: FieldType
            switch name {
            case "count":
                if case .list = types[0] {} else { try require(0, false, "a list") }
                result = .integer
            case "len":
                try require(0, normalized(types[0]) == .string, "a string")
                result = .integer
            case "days_between":
                try require(0, types[0] == .date, "a date")
                try require(1, types[1] == .date, "a date")
                result = .integer
            case "date_of":
                try require(0, types[0] == .datetime, "a datetime")
                result = .date
            case "in_office_hours":
                guard env.officeHours else {
                    throw Problem(at: node.offset, "in_office_hours() needs the workflow's office hours",
                                  hint: "declare `office-hours: [\"08:30-12:00\", \"14:00-17:30\"]` and a `calendar:` (its working days)")
                }
                try require(0, types[0] == .datetime, "a datetime")
                result = .boolean
            case "string":
                if case .list = types[0] { try require(0, false, "a single value") }
                result = .string
            default:  // min, max
                try require(0, [.integer, .money, .date].contains(types[0]), "integer, money or date")
                try require(1, types[1] == types[0], "a second \(types[0])")
                result = types[0]
            }
            return (Node(.call(name, checked), offset: node.offset, start: node.start), .known(result))
        }

        /// `date("YYYY-MM-DD")` and `datetime("…T…±HH:MM")`, validated and turned into literals.
        private func literalCall(_ name: String, _ arg: Node, _ node: Node) throws(Problem) -> (Node, ExprType) {
            let example = name == "date" ? "date(\"2026-03-01\")" : "datetime(\"2026-03-01T09:00:00+08:00\")"
            guard let text = stringLiteral(arg) else {
                throw Problem(at: arg.start, "\(name)() takes a quoted literal", hint: "write e.g. \(example)")
            }
            let scalars = Array(text.unicodeScalars)
            let value: Value?
            if name == "date" {
                value = scalars.count == 10 ? Timestamp(iso8601: text).map { .date($0.millisecondsSince1970 / 86_400_000) } : nil
            } else {
                let zoned = scalars.count > 16 && (["Z", "z"].contains(scalars.last!) || ["+", "-"].contains(scalars[scalars.count - 6]))
                value = zoned ? Timestamp(iso8601: text).map { .datetime($0) } : nil
            }
            guard let value else {
                let form = name == "date" ? "YYYY-MM-DD and must exist in the calendar" : "YYYY-MM-DDTHH:MM[:SS] with a zone (Z or +08:00)"
                throw Problem(at: arg.start, "invalid \(name) '\(text)'", hint: "a \(name) is written \(form), e.g. \(example)")
            }
            return (Node(.literal(value), offset: node.offset, start: node.start), .known(name == "date" ? .date : .datetime))
        }

        private func unknownName(_ name: String, at offset: Int) -> Problem {
            let known = env.knownNames
            let isField = name.hasPrefix("case.") || name.hasPrefix("data.")
            let what = isField ? "unknown field '\(name)'" : "unknown name '\(name)'"
            let tail = name.split(separator: ".").last.map(String.init) ?? name
            var close = known.filter { $0 != name && $0.split(separator: ".").last.map(String.init) == tail && $0.contains(".") }
            if close.isEmpty { close = Suggest.closest(to: name, in: known) }
            if !close.isEmpty { return Problem(at: offset, what, hint: "did you mean \(Suggest.either(close))?") }
            return Problem(at: offset, what, hint: "known names: \(known.joined(separator: ", "))")
        }

        /// If one operand has type `other` and the other is an integer literal, that literal and its value.
        private func integerLiteral(beside other: FieldType, _ l: Node, _ a: FieldType, _ r: Node, _ b: FieldType) -> (Int64, Node)? {
            for (x, t) in [(r, a), (l, b)] where t == other {
                if case .literal(.integer(let n)) = x.kind { return (n, x) }
            }
            return nil
        }

        private func moneyHint(_ n: Int64) -> String {
            let (fen, overflow) = n.multipliedReportingOverflow(by: 100)
            return overflow ? "write \(n) fen" : "write \(n) yuan or \(fen) fen"
        }

        private func stringLiteral(_ node: Node) -> String? {
            if case .literal(.string(let s)) = node.kind { return s }
            return nil
        }

        /// True for string-like types (string, text, enum, reference): what '+' joins.
        private func isText(_ t: FieldType) -> Bool {
            switch t {
            case .string, .text, .enumeration, .reference: return true
            default: return false
            }
        }

        /// Text and free text are both strings to the expression language.
        private func normalized(_ t: FieldType) -> FieldType {
            switch t {
            case .text: return .string
            case .list(let e): return .list(normalized(e))
            default: return t
            }
        }

        private func quoted(_ values: [String]) -> String { values.map { "'\($0)'" }.joined(separator: ", ") }
    }

    /// "Did you mean" suggestions by edit distance (over Unicode scalars).
    enum Suggest {
        /// The candidates nearest to `word`, if near enough to be a plausible typo.
        static func closest(to word: String, in candidates: [String]) -> [String] {
            let limit = max(2, word.unicodeScalars.count / 3)
            let scored = candidates.map { ($0, distance(word, $0)) }.filter { $0.1 <= limit }
            guard let best = scored.map(\.1).min() else { return [] }
            return scored.filter { $0.1 == best }.map(\.0).sorted()
        }

        /// `'a'`, `'a' or 'b'`, `'a', 'b' or 'c'`.
        static func either(_ names: [String]) -> String {
            let q = names.map { "'\($0)'" }
            return q.count == 1 ? q[0] : q.dropLast().joined(separator: ", ") + " or " + q.last!
        }

        static func distance(_ a: String, _ b: String) -> Int {
            let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
            var previous = Array(0...y.count)
            for i in stride(from: 1, through: x.count, by: 1) {
                var current = [i] + Array(repeating: 0, count: y.count)
                for j in stride(from: 1, through: y.count, by: 1) {
                    current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
                }
                previous = current
            }
            return previous[y.count]
        }
    }
}
