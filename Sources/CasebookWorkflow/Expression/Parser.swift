extension Expression {
    /// A node of the expression tree. The parser builds it; the checker validates it and rewrites a few
    /// forms (`date("…")` calls become literals, `x == null` becomes `x is not set`).
    struct Node: Sendable, Hashable {
        enum BinaryOperator: String, Sendable, Hashable {
            case or, and
            case eq = "==", ne = "!=", lt = "<", le = "<=", gt = ">", ge = ">="
            case `in`, notIn = "not in"
            case add = "+", sub = "-", mul = "*"

            var isOrdering: Bool { [.lt, .le, .gt, .ge].contains(self) }
        }

        indirect enum Kind: Sendable, Hashable {
            case literal(Value)
            case name(String)
            case list([Node])
            case negate(Node)
            case not(Node)
            case binary(BinaryOperator, Node, Node)
            case isSet(Node, negated: Bool)
            case call(String, [Node])
        }

        var kind: Kind
        /// Offset of the token an error about this node points at (the operator of an operation).
        var offset: Int
        /// Offset of the node's first token (an error about this node as an operand points here).
        var start: Int

        init(_ kind: Kind, offset: Int, start: Int? = nil) {
            self.kind = kind
            self.offset = offset
            self.start = start ?? offset
        }
    }

    /// Recursive-descent parser. Grammar (lowest precedence first):
    ///
    ///     expression     = or ;
    ///     or             = and { "or" and } ;
    ///     and            = not { "and" not } ;
    ///     not            = "not" not | comparison ;
    ///     comparison     = additive [ ( "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in" ) additive
    ///                                 | "is" [ "not" ] "set" ] ;                (not associative)
    ///     additive       = multiplicative { ( "+" | "-" ) multiplicative } ;
    ///     multiplicative = unary { "*" unary } ;
    ///     unary          = "-" unary | primary ;
    ///     primary        = number [ "yuan" | "fen" ] | string | "true" | "false" | "null"
    ///                    | name [ "(" [ expression { "," expression } ] ")" ]
    ///                    | "[" [ expression { "," expression } [ "," ] ] "]" | "(" expression ")" ;
    ///     name           = identifier { "." identifier } ;
    struct Parser {
        static let keywords: Set<String> = ["and", "or", "not", "in", "is", "set", "true", "false", "null", "yuan", "fen"]

        private let tokens: [Token]
        private var i = 0

        init(tokens: [Token]) { self.tokens = tokens }

        private var peek: Token { tokens[i] }
        private func isWord(_ w: String, ahead k: Int = 0) -> Bool { tokens[min(i + k, tokens.count - 1)].kind == .word(w) }
        private func isSymbol(_ s: String) -> Bool { peek.kind == .symbol(s) }
        private mutating func advance() -> Token {
            defer { if i < tokens.count - 1 { i += 1 } }
            return tokens[i]
        }

        /// Parses the whole source as one expression.
        mutating func parseExpression() throws(Problem) -> Node {
            if peek.kind == .end { throw Problem(at: 0, "empty expression", hint: "write a condition, e.g. 'case.amount > 0 yuan'") }
            let node = try parseOr()
            guard peek.kind == .end else {
                throw Problem(at: peek.offset, "unexpected \(peek.display) after a complete expression",
                              hint: "join conditions with 'and' or 'or'")
            }
            return node
        }

        private mutating func parseOr() throws(Problem) -> Node {
            var left = try parseAnd()
            while isWord("or") {
                let op = advance()
                left = Node(.binary(.or, left, try parseAnd()), offset: op.offset, start: left.start)
            }
            return left
        }

        private mutating func parseAnd() throws(Problem) -> Node {
            var left = try parseNot()
            while isWord("and") {
                let op = advance()
                left = Node(.binary(.and, left, try parseNot()), offset: op.offset, start: left.start)
            }
            return left
        }

        private mutating func parseNot() throws(Problem) -> Node {
            guard isWord("not") else { return try parseComparison() }
            let op = advance()
            return Node(.not(try parseNot()), offset: op.offset)
        }

        private mutating func parseComparison() throws(Problem) -> Node {
            let left = try parseAdditive()
            guard let (opToken, op) = comparisonAhead() else { return left }
            _ = advance()
            let node: Node
            if let op {
                if op == .notIn { _ = advance() }
                node = Node(.binary(op, left, try parseAdditive()), offset: opToken.offset, start: left.start)
            } else {  // `is [not] set`
                let negated = isWord("not")
                if negated { _ = advance() }
                guard isWord("set") else {
                    throw Problem(at: peek.offset, "expected 'set' after '\(negated ? "is not" : "is")'",
                                  hint: "write 'x is set' or 'x is not set'")
                }
                _ = advance()
                node = Node(.isSet(left, negated: negated), offset: opToken.offset, start: left.start)
            }
            if let (again, _) = comparisonAhead() {
                throw Problem(at: again.offset, "comparisons cannot be chained",
                              hint: "write 'a < b and b < c', or use parentheses")
            }
            return node
        }

        /// The comparison operator at the next token, if any (`nil` operator: `is [not] set`).
        private func comparisonAhead() -> (Token, Node.BinaryOperator?)? {
            switch peek.kind {
            case .symbol(let s) where ["==", "!=", "<", "<=", ">", ">="].contains(s): return (peek, Node.BinaryOperator(rawValue: s))
            case .word("in"): return (peek, .in)
            case .word("not") where isWord("in", ahead: 1): return (peek, .notIn)
            case .word("is"): return (peek, nil)
            default: return nil
            }
        }

        private mutating func parseAdditive() throws(Problem) -> Node {
            var left = try parseMultiplicative()
            while isSymbol("+") || isSymbol("-") {
                let op = advance()
                let right = try parseMultiplicative()
                left = Node(.binary(op.kind == .symbol("+") ? .add : .sub, left, right), offset: op.offset, start: left.start)
            }
            return left
        }

        private mutating func parseMultiplicative() throws(Problem) -> Node {
            var left = try parseUnary()
            while isSymbol("*") {
                let op = advance()
                left = Node(.binary(.mul, left, try parseUnary()), offset: op.offset, start: left.start)
            }
            return left
        }

        private mutating func parseUnary() throws(Problem) -> Node {
            guard isSymbol("-") else { return try parsePrimary() }
            let op = advance()
            if case .number = peek.kind { return try parseNumber(negative: true, start: op.offset) }
            return Node(.negate(try parseUnary()), offset: op.offset)
        }

        private mutating func parsePrimary() throws(Problem) -> Node {
            let t = peek
            switch t.kind {
            case .number:
                return try parseNumber(negative: false, start: t.offset)
            case .string(let s):
                _ = advance()
                return Node(.literal(.string(s)), offset: t.offset)
            case .word("true"), .word("false"):
                _ = advance()
                return Node(.literal(.boolean(t.kind == .word("true"))), offset: t.offset)
            case .word("null"):
                _ = advance()
                return Node(.literal(.null), offset: t.offset)
            case .word(let w) where Self.keywords.contains(w):
                let hint = w == "yuan" || w == "fen" ? "money is written after a number, e.g. '12.34 yuan' or '1234 fen'" : nil
                throw Problem(at: t.offset, "expected a value, found '\(w)'", hint: hint)
            case .word(let w):
                _ = advance()
                guard isSymbol("(") else { return Node(.name(w), offset: t.offset) }
                _ = advance()
                return Node(.call(w, try parseList(closing: ")")), offset: t.offset)
            case .symbol("["):
                _ = advance()
                return Node(.list(try parseList(closing: "]")), offset: t.offset)
            case .symbol("("):
                _ = advance()
                var inner = try parseOr()
                try expectClosing(")")
                inner.start = t.offset
                return inner
            case .end:
                throw Problem(at: t.offset, "unexpected end of expression", hint: "the expression is incomplete")
            default:
                throw Problem(at: t.offset, "expected a value, found \(t.display)")
            }
        }

        /// Comma-separated expressions up to `closing` (a trailing comma is allowed in lists).
        private mutating func parseList(closing: String) throws(Problem) -> [Node] {
            var items: [Node] = []
            while !isSymbol(closing) {
                items.append(try parseOr())
                guard isSymbol(",") else { break }
                _ = advance()
                if closing == ")" && isSymbol(")") { throw Problem(at: peek.offset, "expected an argument after ','") }
            }
            try expectClosing(closing, expected: "',' or '\(closing)'")
            return items
        }

        private mutating func expectClosing(_ closing: String, expected: String? = nil) throws(Problem) {
            guard isSymbol(closing) else {
                let opening = closing == "]" ? "[" : "("
                throw Problem(at: peek.offset, "expected \(expected ?? "'\(closing)'"), found \(peek.display)",
                              hint: "every '\(opening)' needs a matching '\(closing)'")
            }
            _ = advance()
        }

        /// An integer or money literal; `negative` if a unary minus was just consumed.
        private mutating func parseNumber(negative: Bool, start: Int) throws(Problem) -> Node {
            let t = advance()
            guard case .number(let whole, let fraction) = t.kind else { throw Problem(at: t.offset, "expected a number") }
            let sign = negative ? "-" : ""
            let text = whole + (fraction.map { "." + $0 } ?? "")
            let digits: String
            if isWord("yuan") {
                let frac = fraction ?? ""
                guard frac.count <= 2 else {
                    throw Problem(at: t.offset, "money cannot have more than 2 decimal places: '\(text) yuan'",
                                  hint: "the smallest amount is 1 fen = 0.01 yuan")
                }
                digits = whole + frac + String(repeating: "0", count: 2 - frac.count)
            } else if isWord("fen") {
                guard fraction == nil else {
                    throw Problem(at: t.offset, "fen must be a whole number: '\(text) fen'", hint: "1 fen is the smallest amount of money")
                }
                digits = whole
            } else {
                guard fraction == nil else {
                    throw Problem(at: t.offset, "decimal numbers are not supported: '\(text)'",
                                  hint: "for money add a unit, e.g. '\(text) yuan'; integers are whole numbers")
                }
                guard let value = Int64(sign + whole) else {
                    throw Problem(at: t.offset, "integer '\(sign)\(text)' is out of range",
                                  hint: "integers are 64-bit: at most 9223372036854775807")
                }
                return Node(.literal(.integer(value)), offset: start)
            }
            let unit = advance()
            guard let fen = Int64(sign + digits) else {
                throw Problem(at: t.offset, "money '\(sign)\(text) \(unit.kind == .word("yuan") ? "yuan" : "fen")' is out of range")
            }
            return Node(.literal(.money(fen)), offset: start)
        }
    }
}
