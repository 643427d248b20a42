import CasebookLog

/// A compiled guard expression: parsed and type-checked against an ``ExpressionEnvironment``.
///
/// The language is deterministic (no I/O, no wall clock, no randomness): an expression's value
/// depends only on the ``EvaluationContext`` it is given. See `Expression/Parser.swift` for the grammar.
public struct Expression: Sendable, Hashable {
    /// The text the expression was compiled from.
    public let source: String
    /// Where the source starts in its definition file (runtime errors point here).
    public let location: SourceLocation
    /// The type of the expression's value (`boolean` for a guard).
    public let resultType: FieldType
    let root: Node
    /// Names read, in order of first appearance in the source.
    let names: [String]
    /// Declared type of every name read (runtime data is checked against it).
    let nameTypes: [String: FieldType]

    /// Every name the expression reads, e.g. `case.amount`, `data.reason`, `now`.
    public var referencedNames: Set<String> { Set(names) }

    /// Parses and type-checks `source`.
    ///
    /// - Parameters:
    ///   - source: one line of expression text.
    ///   - location: where `source` starts; diagnostics point at the offending token inside it.
    ///   - env: the names the expression may read and their types.
    ///   - expecting: the type the expression must have (`nil`: any type).
    /// - Throws: a ``Diagnostic`` naming what is wrong, where, and a hint.
    public static func compile(
        _ source: String, at location: SourceLocation, in env: ExpressionEnvironment,
        expecting: FieldType? = .boolean
    ) throws(Diagnostic) -> Expression {
        do {
            let scalars = Array(source.unicodeScalars)
            let tokens = try Lexer.tokenize(scalars)
            var parser = Parser(tokens: tokens)
            let tree = try parser.parseExpression()
            var checker = Checker(env: env)
            let (root, type) = try checker.check(tree, expecting: expecting)
            return Expression(
                source: source, location: location, resultType: type, root: root,
                names: checker.names, nameTypes: checker.nameTypes)
        } catch {
            throw Diagnostic(.error, at: location.advanced(by: error.offset), error.message, hint: error.hint)
        }
    }

    /// The expression's value in `context`. A guard's value is `true`, `false`, or `null` (a lone
    /// boolean field that is not set); see ``isSatisfied(by:)``.
    ///
    /// - Throws: ``EvaluationError`` on integer overflow, a date out of range, or data that does not
    ///   have its declared type. Never traps.
    public func evaluate(_ context: EvaluationContext) throws(EvaluationError) -> Value {
        do {
            return try Evaluator(context: context, nameTypes: nameTypes).eval(root)
        } catch {
            throw EvaluationError(location: location.advanced(by: error.offset), message: error.message)
        }
    }

    /// True only if the expression evaluates to `true` (`false` and `null` do not satisfy a guard).
    public func isSatisfied(by context: EvaluationContext) throws(EvaluationError) -> Bool {
        try evaluate(context) == .boolean(true)
    }

    /// Every name the expression reads and the value it has in `context` (`null` if missing), in
    /// order of first appearance: what an investigator needs to see why a guard held or not.
    public func explain(_ context: EvaluationContext) -> [(name: String, value: Value)] {
        let evaluator = Evaluator(context: context, nameTypes: nameTypes)
        return names.map { name in (name: name, value: (try? evaluator.lookup(name)) ?? .null) }
    }

    /// A failure while evaluating: integer overflow, a date out of range, or data of the wrong type.
    public struct EvaluationError: Error, Sendable, Hashable, CustomStringConvertible {
        /// The token of the operation that failed.
        public var location: SourceLocation
        /// What went wrong.
        public var message: String

        public var description: String { "\(location): error: \(message)" }
    }
}

/// The names an expression may read: case fields (`case.<field>`), command fields (`data.<field>`),
/// and the built-ins `now` (datetime), `today` (date, China time), `actor` and `role` (strings).
public struct ExpressionEnvironment: Sendable {
    /// Case data fields and their types.
    public var caseFields: [String: FieldType]
    /// Command data fields and their types.
    public var commandFields: [String: FieldType]
    /// Whether the workflow declares office hours (and a calendar), so `in_office_hours(t)` may be used.
    public var officeHours: Bool


    /// The built-in names and their types.
    public static let builtins: [String: FieldType] = [
        "now": .datetime, "today": .date, "actor": .string, "role": .string,
    ]

    /// An environment with the given case and command fields (plus the built-ins).
    public init(caseFields: [String: FieldType], commandFields: [String: FieldType], officeHours: Bool = false) {
        self.caseFields = caseFields
        self.commandFields = commandFields
        self.officeHours = officeHours
    }

    /// The type of a full name such as `case.amount`, `data.reason` or `now`; nil if unknown.
    public func type(of name: String) -> FieldType? {
        if name.hasPrefix("case.") { return caseFields[String(name.dropFirst(5))] }
        if name.hasPrefix("data.") { return commandFields[String(name.dropFirst(5))] }
        return Self.builtins[name]
    }

    /// Every name an expression may read, sorted (`case.` fields, `data.` fields, then built-ins).
    public var knownNames: [String] {
        caseFields.keys.map { "case." + $0 }.sorted() + commandFields.keys.map { "data." + $0 }.sorted()
            + Self.builtins.keys.sorted()
    }
}

/// What an expression is evaluated against: the case, the command, and the command's clock.
public struct EvaluationContext: Sendable {
    /// Case data, by field name (`case.<field>`); a missing field is `null`.
    public var caseData: [String: Value]
    /// Command data, by field name (`data.<field>`); a missing field is `null`.
    public var commandData: [String: Value]
    /// The command's time (`now`; `today` is its date in China time, UTC+08:00).
    public var now: Timestamp
    /// Who issued the command (`actor`).
    public var actor: String
    /// The actor's role (`role`).
    public var role: String
    /// The workflow's office hours (`in_office_hours(t)`), if it declares them.
    public var officeHours: OfficeHours?

    /// A context.
    public init(
        caseData: [String: Value] = [:], commandData: [String: Value] = [:], now: Timestamp,
        actor: String = "", role: String = "", officeHours: OfficeHours? = nil
    ) {
        self.caseData = caseData
        self.commandData = commandData
        self.now = now
        self.actor = actor
        self.role = role
        self.officeHours = officeHours
    }
}

extension Expression {
    /// A problem at a scalar offset in the source (converted to a ``Diagnostic`` or an
    /// ``Expression/EvaluationError`` by the public API).
    struct Problem: Error {
        var offset: Int
        var message: String
        var hint: String?

        init(at offset: Int, _ message: String, hint: String? = nil) {
            self.offset = offset
            self.message = message
            self.hint = hint
        }
    }
}
