extension Expression {
    /// A token of expression source. Offsets count Unicode scalars from the start of the source.
    struct Token: Sendable, Hashable {
        enum Kind: Sendable, Hashable {
            /// Digits, with optional fraction digits (`12`, `12.34`); the parser decides what they mean.
            case number(whole: String, fraction: String?)
            /// A quoted string, escapes resolved.
            case string(String)
            /// An identifier, keyword or dotted path (`and`, `now`, `case.amount`).
            case word(String)
            /// Punctuation or an operator: `( ) [ ] , + - * == != < <= > >=`.
            case symbol(String)
            /// End of the source.
            case end
        }

        var kind: Kind
        var offset: Int

        /// How the token is shown in messages.
        var display: String {
            switch kind {
            case .number(let whole, let fraction): return "'" + whole + (fraction.map { "." + $0 } ?? "") + "'"
            case .string: return "a string"
            case .word(let w), .symbol(let w): return "'\(w)'"
            case .end: return "the end of the expression"
            }
        }
    }

    /// Splits expression source into tokens.
    enum Lexer {
        static func tokenize(_ s: [Unicode.Scalar]) throws(Problem) -> [Token] {
            var tokens: [Token] = []
            var i = 0
            func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }
            func isIdentStart(_ c: Unicode.Scalar) -> Bool { c == "_" || c.properties.isAlphabetic }
            func isIdent(_ c: Unicode.Scalar) -> Bool { isIdentStart(c) || isDigit(c) }
            func at(_ k: Int) -> Unicode.Scalar? { k < s.count ? s[k] : nil }

            while i < s.count {
                let c = s[i]
                let start = i
                if c.properties.isWhitespace {
                    i += 1
                } else if isDigit(c) {
                    while let d = at(i), isDigit(d) { i += 1 }
                    let whole = String(String.UnicodeScalarView(s[start..<i]))
                    var fraction: String?
                    if at(i) == "." {
                        let dot = i
                        i += 1
                        while let d = at(i), isDigit(d) { i += 1 }
                        guard i > dot + 1 else { throw Problem(at: dot, "expected digits after '.'") }
                        fraction = String(String.UnicodeScalarView(s[(dot + 1)..<i]))
                    }
                    tokens.append(Token(kind: .number(whole: whole, fraction: fraction), offset: start))
                } else if isIdentStart(c) {
                    while true {
                        while let d = at(i), isIdent(d) { i += 1 }
                        guard at(i) == "." else { break }
                        guard let next = at(i + 1), isIdentStart(next) else {
                            throw Problem(at: i + 1, "expected a field name after '.'")
                        }
                        i += 1
                    }
                    tokens.append(Token(kind: .word(String(String.UnicodeScalarView(s[start..<i]))), offset: start))
                } else if c == "\"" || c == "'" {
                    tokens.append(Token(kind: .string(try string(s, &i, quote: c)), offset: start))
                } else {
                    let two = at(i + 1).map { String(c) + String($0) } ?? ""
                    if ["==", "!=", "<=", ">="].contains(two) {
                        tokens.append(Token(kind: .symbol(two), offset: start))
                        i += 2
                    } else if "()[],+-*<>".unicodeScalars.contains(c) {
                        tokens.append(Token(kind: .symbol(String(c)), offset: start))
                        i += 1
                    } else {
                        throw unexpected(c, two: two, at: start)
                    }
                }
            }
            tokens.append(Token(kind: .end, offset: s.count))
            return tokens
        }

        /// Reads a quoted string starting at `i` (the opening quote); leaves `i` after the closing quote.
        private static func string(_ s: [Unicode.Scalar], _ i: inout Int, quote: Unicode.Scalar) throws(Problem) -> String {
            let open = i
            var out = String.UnicodeScalarView()
            i += 1
            while i < s.count {
                let c = s[i]
                if c == quote {
                    i += 1
                    return String(out)
                }
                if c == "\\" {
                    guard i + 1 < s.count else { break }
                    switch s[i + 1] {
                    case "\"": out.append("\"")
                    case "'": out.append("'")
                    case "\\": out.append("\\")
                    case "n": out.append("\n")
                    default:
                        throw Problem(at: i, "unknown escape '\\\(s[i + 1])' in string", hint: "escapes are \\\" \\' \\\\ and \\n")
                    }
                    i += 2
                } else {
                    out.append(c)
                    i += 1
                }
            }
            throw Problem(at: open, "unterminated string", hint: "close it with \(quote)")
        }

        /// The error for a character that starts no token, with a hint for common slips.
        private static func unexpected(_ c: Unicode.Scalar, two: String, at offset: Int) -> Problem {
            let hint: String?
            switch two.isEmpty ? String(c) : two {
            case "&&": hint = "use 'and'"
            case "||": hint = "use 'or'"
            default:
                switch c {
                case "=": hint = "use '==' to compare"
                case "!": hint = "use 'not', or '!=' to compare"
                case "/", "%": hint = "division is not supported"
                case "“", "”", "‘", "’": hint = "use straight quotes \" or '"
                case "\u{FF01}"..."\u{FF5E}":
                    hint = "this is a full-width character; use '\(Unicode.Scalar(c.value - 0xFEE0)!)'"
                default: hint = nil
                }
            }
            return Problem(at: offset, "unexpected character '\(c)'", hint: hint)
        }
    }
}
