import CasebookLog
import Testing

@testable import CasebookWorkflow

/// Guard expressions: lexing, parsing, type rules (with exact messages and columns), evaluation.
@Suite struct ExpressionTests {
    typealias Location = CasebookWorkflow.SourceLocation

    let env = ExpressionEnvironment(
        caseFields: [
            "amount": .money, "status": .enumeration(["open", "review", "closed"]), "due": .date,
            "filed_at": .datetime, "tags": .list(.string), "applicant": .string, "notes": .text,
            "urgent": .boolean, "visits": .integer, "parent": .reference(workflow: "permit"),
        ],
        commandFields: [
            "amount": .money, "reason": .string, "days": .integer, "document": .string, "codes": .list(.integer),
            "kind": .enumeration(["a", "b"]),
        ])
    /// Column 1, so a diagnostic's column is the 1-based position of the token in the source.
    let loc = Location(file: "wf.yaml", line: 7, column: 1)
    /// 2026-03-01T09:00:00+08:00.
    let nine = Timestamp(iso8601: "2026-03-01T09:00:00+08:00")!

    func context(case caseData: [String: Value] = [:], data: [String: Value] = [:], now: Timestamp? = nil) -> EvaluationContext {
        EvaluationContext(caseData: caseData, commandData: data, now: now ?? nine, actor: "wang.li", role: "clerk")
    }

    func compile(_ source: String, expecting: FieldType? = .boolean) throws -> Expression {
        try Expression.compile(source, at: loc, in: env, expecting: expecting)
    }

    func eval(_ source: String, case c: [String: Value] = [:], data d: [String: Value] = [:],
              expecting: FieldType? = .boolean, now: Timestamp? = nil) throws -> Value {
        try compile(source, expecting: expecting).evaluate(context(case: c, data: d, now: now))
    }

    func day(_ text: String) -> Value { .date(Timestamp(iso8601: text)!.millisecondsSince1970 / 86_400_000) }

    /// Expects compiling `source` to fail with exactly this message, column and (if given) hint.
    func expectError(_ source: String, _ message: String, column: Int, hint: String? = nil, expecting: FieldType? = .boolean,
                     sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        do {
            let e = try Expression.compile(source, at: loc, in: env, expecting: expecting)
            Issue.record("expected an error, compiled to \(e.resultType)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.message == message, sourceLocation: sourceLocation)
            #expect(error.location.column == column, sourceLocation: sourceLocation)
            #expect(error.location.line == 7 && error.location.file == "wf.yaml", sourceLocation: sourceLocation)
            #expect(error.severity == .error, sourceLocation: sourceLocation)
            if let hint { #expect(error.hint == hint, sourceLocation: sourceLocation) }
        }
    }

    func expectTrue(_ sources: [String], case c: [String: Value] = [:], data d: [String: Value] = [:],
                    sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        for s in sources { #expect(try eval(s, case: c, data: d) == .boolean(true), "\(s)", sourceLocation: sourceLocation) }
    }

    func expectFalse(_ sources: [String], case c: [String: Value] = [:], data d: [String: Value] = [:],
                     sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        for s in sources { #expect(try eval(s, case: c, data: d) == .boolean(false), "\(s)", sourceLocation: sourceLocation) }
    }

    // MARK: Literals

    @Test func integerLiterals() throws {
        #expect(try eval("42", expecting: nil) == .integer(42))
        #expect(try eval("-3", expecting: nil) == .integer(-3))
        #expect(try eval("-9223372036854775808", expecting: nil) == .integer(.min))
        #expect(try eval("007", expecting: nil) == .integer(7))
        expectError("9223372036854775808 > 0", "integer '9223372036854775808' is out of range", column: 1)
    }

    @Test func moneyLiterals() throws {
        #expect(try eval("12.34 yuan", expecting: nil) == .money(1234))
        #expect(try eval("12.3 yuan", expecting: nil) == .money(1230))
        #expect(try eval("12 yuan", expecting: nil) == .money(1200))
        #expect(try eval("1234 fen", expecting: nil) == .money(1234))
        #expect(try eval("-0.05 yuan", expecting: nil) == .money(-5))
        #expect(try compile("1 yuan", expecting: nil).resultType == .money)
        try expectTrue(["12.34 yuan == 1234 fen", "0.01 yuan == 1 fen"])
    }

    @Test func moneyLiteralErrors() {
        expectError("case.amount > 12.345 yuan", "money cannot have more than 2 decimal places: '12.345 yuan'", column: 15,
                    hint: "the smallest amount is 1 fen = 0.01 yuan")
        expectError("case.amount > 1.5 fen", "fen must be a whole number: '1.5 fen'", column: 15)
        expectError("data.days > 2.5", "decimal numbers are not supported: '2.5'", column: 13,
                    hint: "for money add a unit, e.g. '2.5 yuan'; integers are whole numbers")
        expectError("case.amount > yuan", "expected a value, found 'yuan'", column: 15,
                    hint: "money is written after a number, e.g. '12.34 yuan' or '1234 fen'")
        expectError("1. == 1", "expected digits after '.'", column: 2)
    }

    @Test func stringLiteralsAndEscapes() throws {
        try expectTrue([
            #""a\"b" == 'a"b'"#, #"'it\'s' == "it's""#, #"len("\\") == 1"#, #"len("\n") == 1"#, #"'' == """#,
        ])
        #expect(try eval(#""tab\\n""#, expecting: nil) == .string("tab\\n"))
        expectError(#"data.reason == "abc"#, "unterminated string", column: 16, hint: "close it with \"")
        expectError(#"data.reason == "a\tb""#, "unknown escape '\\t' in string", column: 18)
    }

    @Test func chineseStrings() throws {
        try expectTrue([#"data.document == "居住证明""#, #"len("居住证明") == 4"#, "'居住证明' == \"居住证明\""],
                       data: ["document": .string("居住证明")])
        try expectFalse([#"data.document == "户口本""#], data: ["document": .string("居住证明")])
        // Columns count Unicode scalars: '==' is the 8th.
        expectError(#""居住证明" == 3"#, "cannot compare string with integer", column: 8, hint: "both sides must have the same type")
        // Chinese field names are identifiers too; unknown ones are reported at their column.
        expectError(#""证明" == case.申请人"#, "unknown field 'case.申请人'", column: 9)
    }

    @Test func booleanAndNullLiterals() throws {
        try expectTrue(["true", "not false", "true == true", "null == null", "null is not set", "true is set"])
        try expectFalse(["false", "null != null", "null is set"])
    }

    @Test func dateLiterals() throws {
        #expect(try eval(#"date("2026-03-01")"#, expecting: nil) == day("2026-03-01"))
        #expect(try eval(#"date("1969-12-31")"#, expecting: nil) == .date(-1))
        try expectTrue([
            #"date("2024-02-29") + 1 == date("2024-03-01")"#, #"date("2026-03-01") - 1 == date("2026-02-28")"#,
            #"30 + date("2026-03-01") == date("2026-03-31")"#, #"date("2026-03-01") < date("2026-03-02")"#,
        ])
        expectError(#"case.due < date("2026-02-30")"#, "invalid date '2026-02-30'", column: 17,
                    hint: #"a date is written YYYY-MM-DD and must exist in the calendar, e.g. date("2026-03-01")"#)
        expectError(#"case.due < date("2026-3-1")"#, "invalid date '2026-3-1'", column: 17)
        expectError(#"case.due < date("2026-03-01T00:00Z")"#, "invalid date '2026-03-01T00:00Z'", column: 17)
        expectError(#"case.due < date(data.reason)"#, "date() takes a quoted literal", column: 17)
    }

    @Test func datetimeLiterals() throws {
        try expectTrue([
            #"now == datetime("2026-03-01T09:00:00+08:00")"#, #"now == datetime("2026-03-01T01:00Z")"#,
            #"now < datetime("2026-03-01T01:00:00.001Z")"#,
        ])
        expectError(#"now < datetime("2026-03-01T09:00:00")"#, "invalid datetime '2026-03-01T09:00:00'", column: 16,
                    hint: #"a datetime is written YYYY-MM-DDTHH:MM[:SS] with a zone (Z or +08:00), e.g. datetime("2026-03-01T09:00:00+08:00")"#)
        expectError(#"now < datetime("2026-03-01T25:00Z")"#, "invalid datetime '2026-03-01T25:00Z'", column: 16)
    }

    @Test func listLiterals() throws {
        #expect(try eval(#"["a", "b"]"#, expecting: nil) == .list([.string("a"), .string("b")]))
        #expect(try compile("[1, 2, 3,]", expecting: nil).resultType == .list(.integer))
        try expectTrue(["count([1, 2, 3]) == 3", "count([]) == 0", "[1, 2] == [1, 2]", "[1, 2] != [2, 1]"])
        expectError(#"count(["a", 1]) == 2"#, "list elements must have one type: expected string, found integer", column: 13)
        expectError("count([1, null]) == 2", "a list cannot contain null", column: 11)
    }

    // MARK: Names

    @Test func namesAndBuiltins() throws {
        let c: [String: Value] = ["amount": .money(500), "applicant": .string("张三")]
        try expectTrue([
            "case.amount == 5 yuan", #"case.applicant == "张三""#, #"actor == "wang.li""#, #"role == "clerk""#,
            #"today == date("2026-03-01")"#, #"now == datetime("2026-03-01T01:00:00Z")"#,
        ], case: c)
        #expect(try compile("now", expecting: nil).resultType == .datetime)
        #expect(try compile("today", expecting: nil).resultType == .date)
    }

    @Test func todayIsTheChinaDate() throws {
        // 07:00 in Beijing is still the previous day in UTC.
        let early = Timestamp(iso8601: "2026-03-01T07:00:00+08:00")!
        #expect(try eval("today", expecting: nil, now: early) == day("2026-03-01"))
        let late = Timestamp(iso8601: "2026-03-01T23:59:59+08:00")!
        #expect(try eval("today", expecting: nil, now: late) == day("2026-03-01"))
        let midnight = Timestamp(iso8601: "2026-03-02T00:00:00+08:00")!
        #expect(try eval("today", expecting: nil, now: midnight) == day("2026-03-02"))
        let beforeEpoch = Timestamp(iso8601: "1970-01-01T07:59:59+08:00")!
        #expect(try eval("today", expecting: nil, now: beforeEpoch) == .date(0))
        #expect(try eval("today", expecting: nil, now: Timestamp(millisecondsSince1970: -28_800_001)) == .date(-1))
    }

    @Test func unknownNamesSuggestTheClosest() {
        expectError("data.amout > 0 yuan", "unknown field 'data.amout'", column: 1, hint: "did you mean 'data.amount'?")
        expectError("amount > 0 yuan", "unknown name 'amount'", column: 1, hint: "did you mean 'case.amount' or 'data.amount'?")
        expectError("case.amount > 0 yuan and case.reason is set", "unknown field 'case.reason'", column: 26,
                    hint: "did you mean 'data.reason'?")
        expectError("nwo > now", "unknown name 'nwo'", column: 1, hint: "did you mean 'now'?")
        expectError("1 == 1 and (rol == \"x\")", "unknown name 'rol'", column: 13, hint: "did you mean 'role'?")
        let empty = ExpressionEnvironment(caseFields: ["x": .integer], commandFields: [:])
        do {
            _ = try Expression.compile("zzzzzzzz", at: loc, in: empty)
            Issue.record("expected an error")
        } catch {
            #expect(error.message == "unknown name 'zzzzzzzz'")
            #expect(error.hint == "known names: case.x, actor, now, role, today")
        }
    }

    @Test func referencedNames() throws {
        let e = try compile(#"case.amount > data.amount and now > case.filed_at or case.amount is set and role == "a""#)
        #expect(e.referencedNames == ["case.amount", "data.amount", "now", "case.filed_at", "role"])
        #expect(try compile("1 == 1").referencedNames.isEmpty)
    }

    @Test func diagnosticsAreOffsetFromTheSourceLocation() {
        do {
            _ = try Expression.compile("case.amount > 12", at: Location(file: "a.yaml", line: 4, column: 12), in: env)
            Issue.record("expected an error")
        } catch {
            #expect(error.location == Location(file: "a.yaml", line: 4, column: 26))
            #expect(error.description == "a.yaml:4:26: error: cannot compare money with integer\n  hint: write 12 yuan or 1200 fen")
        }
    }

    // MARK: Operators and types

    @Test func integerArithmetic() throws {
        try expectTrue(["1 + 2 * 3 == 7", "(1 + 2) * 3 == 9", "10 - 3 - 2 == 5", "-2 * 3 + 1 == -5", "2 * -3 == -6",
                        "- data.days == -4", "-(1 + 2) == -3", "data.days * data.days - 6 == 10"],
                       data: ["days": .integer(4)])
    }

    @Test func moneyArithmetic() throws {
        let c: [String: Value] = ["amount": .money(1050)]
        try expectTrue(["case.amount + 1 yuan == 11.50 yuan", "case.amount - 50 fen == 10 yuan",
                        "case.amount * 2 == 21 yuan", "3 * case.amount == 3150 fen", "-case.amount == -10.50 yuan"], case: c)
        expectError("case.amount * data.amount > 0 yuan", "cannot multiply money by money", column: 13,
                    hint: "multiply money by an integer, e.g. 'case.price * 3'")
        expectError("case.amount + 1 > 0 yuan", "cannot add money and integer", column: 15, hint: "write 1 yuan or 100 fen")
        expectError("case.amount - data.days > 0 yuan", "cannot subtract integer from money", column: 13)
    }

    @Test func moneyVersusIntegerComparison() {
        expectError("case.amount > 12", "cannot compare money with integer", column: 15, hint: "write 12 yuan or 1200 fen")
        expectError("12 == case.amount", "cannot compare integer with money", column: 1, hint: "write 12 yuan or 1200 fen")
        expectError("case.amount == data.days", "cannot compare money with integer", column: 13,
                    hint: "money and integer are different types; 'n * 1 fen' turns an integer into money")
        expectError("case.amount in [1 yuan, 2]", "cannot compare money with integer", column: 25, hint: "write 2 yuan or 200 fen")
    }

    @Test func dateArithmetic() throws {
        try expectTrue(["case.due + 30 == date(\"2026-03-31\")", "case.due - data.days < case.due", "today - 1 < today"],
                       case: ["due": day("2026-03-01")], data: ["days": .integer(3)])
        expectError("today - case.due > 3", "cannot subtract date from date", column: 7,
                    hint: "use days_between(a, b) for the number of days from a to b")
        expectError("now + 1 > now", "cannot add datetime and integer", column: 5,
                    hint: "arithmetic on datetime is not supported; use date_of(…) to get its date")
        expectError("-today < today", "cannot negate date", column: 1, hint: "'-' applies to integer and money")
        expectError("today * 2 > today", "cannot multiply date by integer", column: 7)
    }

    @Test func equalityNeedsEqualTypes() throws {
        try expectTrue(["case.notes == data.reason", #"case.parent == "permit-17""#, "case.urgent == true"],
                       case: ["notes": .string("x"), "parent": .string("permit-17"), "urgent": .boolean(true)],
                       data: ["reason": .string("x")])
        expectError("case.due == now", "cannot compare date with datetime", column: 10,
                    hint: "use date_of(…) to get the date (China time) of a datetime")
        expectError(#"case.due == "2026-03-01""#, "cannot compare date with string", column: 10,
                    hint: #"write date("2026-03-01")"#)
        expectError("case.urgent != 1", "cannot compare boolean with integer", column: 13)
        expectError("[1] == [\"a\"]", "cannot compare list(integer) with list(string)", column: 5)
    }

    @Test func enumComparesOnlyWithItsValues() throws {
        try expectTrue([#"case.status == "open""#, #""open" == case.status"#, #"case.status != "closed""#,
                        #"case.status in ["open", "review"]"#, #"case.status not in ["closed"]"#],
                       case: ["status": .string("open")])
        expectError(#"case.status == "opne""#, "'opne' is not one of the enum's values", column: 16,
                    hint: "did you mean 'open'? allowed values: 'open', 'review', 'closed'")
        expectError(#"case.status in ["open", "shut"]"#, "'shut' is not one of the enum's values", column: 25,
                    hint: "allowed values: 'open', 'review', 'closed'")
        expectError("case.status == data.reason", "cannot compare enum(open, review, closed) with string", column: 13,
                    hint: "an enum compares only with a literal naming one of its values: 'open', 'review', 'closed'")
        expectError("case.status == data.kind", "cannot compare enum(open, review, closed) with enum(a, b)", column: 13)
        expectError(#"case.status < "open""#, "cannot order enum(open, review, closed) values with '<'", column: 13)
    }

    @Test func orderingComparisons() throws {
        let c: [String: Value] = ["visits": .integer(3), "amount": .money(100), "due": day("2026-03-05")]
        try expectTrue(["case.visits < 4", "case.visits <= 3", "case.visits > 2", "case.visits >= 3",
                        "case.amount > 99 fen", "case.due > today", "now >= now", #""apple" < "b""#, #""a" < "ab""#,
                        #""Z" < "a""#, #""一" < "丁""#], case: c)
        try expectFalse(["case.visits < 3", "case.visits > 3", "case.amount < 1 yuan", "case.due <= today"], case: c)
        expectError("true < false", "cannot order boolean values with '<'", column: 6,
                    hint: "'<', '<=', '>' and '>=' work on integer, money, date, datetime and string")
        expectError("case.tags >= case.tags", "cannot order list(string) values with '>='", column: 11)
        expectError("case.visits < null", "cannot order null with '<'", column: 15,
                    hint: "to test whether a value is present, write 'x is set'")
    }

    @Test func inAndNotIn() throws {
        let c: [String: Value] = ["tags": .list([.string("urgent"), .string("居民")])]
        let d: [String: Value] = ["days": .integer(2), "codes": .list([.integer(1), .integer(2)])]
        try expectTrue([#""urgent" in case.tags"#, #""居民" in case.tags"#, #""x" not in case.tags"#, "data.days in data.codes",
                        "data.days in [1, 2, 3]", "data.days not in [5]", "data.days not in []", "1 yuan in [1 yuan]"],
                       case: c, data: d)
        try expectFalse([#""x" in case.tags"#, "data.days in []", "data.days not in data.codes"], case: c, data: d)
        expectError(#"data.days in "abc""#, "'in' needs a list on the right, but this is string", column: 14,
                    hint: #"write a list such as ["a", "b"] or use a list field"#)
        expectError("data.days in case.tags", "cannot compare integer with string", column: 11)
        expectError("null in [1]", "null cannot be tested with 'in'", column: 1)
    }

    @Test func booleanOperatorsNeedBooleans() throws {
        try expectTrue(["true and true", "true or false", "false or true", "not false", "not not true"])
        try expectFalse(["true and false", "false and true", "false or false", "not true"])
        expectError("case.amount and true", "'and' needs a boolean, but this is money", column: 1,
                    hint: #"write a condition, e.g. 'x > 0', 'x == "a"' or 'x is set'"#)
        expectError("true or data.days + 1", "'or' needs a boolean, but this is integer", column: 9)
        expectError("not case.tags", "'not' needs a boolean, but this is list(string)", column: 5)
    }

    @Test func isSetAndIsNotSet() throws {
        let c: [String: Value] = ["amount": .money(0), "tags": .list([])]
        try expectTrue(["case.amount is set", "case.tags is set", "case.due is not set", "case.due == null",
                        "null == case.due", "case.amount != null", "data.days + 1 is not set"], case: c)
        try expectFalse(["case.due is set", "case.amount is not set", "case.amount == null", "case.due != null"], case: c)
        expectError("case.due is empty", "expected 'set' after 'is'", column: 13, hint: "write 'x is set' or 'x is not set'")
        expectError("case.due is not", "expected 'set' after 'is not'", column: 16)
    }

    // MARK: Null semantics

    @Test func comparisonsWithNullAreFalse() throws {
        // case.due, case.visits and data.days are not set.
        try expectFalse(["case.due < today", "case.due >= today", "case.due == today", "case.due != today",
                         "case.visits == data.days", "case.visits != data.days", "data.days in [1, 2]",
                         "data.days not in [1, 2]", #""a" in case.tags"#, #""a" not in case.tags"#, "case.visits + 1 > 0",
                         "-case.visits < 0"])
        try expectTrue(["not (case.due < today)", "count(case.tags) == 0"])
    }

    @Test func arithmeticWithNullIsNull() throws {
        #expect(try eval("case.amount + 1 yuan", expecting: nil) == .null)
        #expect(try eval("case.visits * 2", expecting: nil) == .null)
        #expect(try eval("case.due + 1", expecting: nil) == .null)
        #expect(try eval("-case.visits", expecting: nil) == .null)
        #expect(try eval("len(case.applicant)", expecting: nil) == .null)
        #expect(try eval("days_between(case.due, today)", expecting: nil) == .null)
        #expect(try eval("max(case.visits, 3)", expecting: nil) == .null)
        #expect(try eval("date_of(case.filed_at)", expecting: nil) == .null)
        expectError("case.visits + null is set", "null cannot be used in arithmetic", column: 15)
    }

    @Test func andOrTreatNullAsFalse() throws {
        try expectFalse(["case.urgent and true", "case.urgent or false", "case.urgent == true",
                         "case.urgent != true"])
        try expectTrue(["not case.urgent", "case.urgent or true", "case.urgent is not set"])
        let e = try compile("case.urgent")
        #expect(try e.evaluate(context()) == .null)
        #expect(try e.isSatisfied(by: context()) == false)
        #expect(try e.isSatisfied(by: context(case: ["urgent": .boolean(true)])) == true)
    }

    // MARK: Functions

    @Test func functions() throws {
        let c: [String: Value] = ["tags": .list([.string("a"), .string("b")]), "applicant": .string("王小明"),
                                  "due": day("2026-03-11"), "filed_at": .datetime(Timestamp(iso8601: "2026-02-28T20:00:00Z")!),
                                  "amount": .money(250), "visits": .integer(7)]
        try expectTrue([
            "count(case.tags) == 2", "len(case.applicant) == 3", "len(case.notes) is not set",
            "days_between(today, case.due) == 10", "days_between(case.due, today) == -10",
            #"date_of(case.filed_at) == date("2026-03-01")"#, #"date_of(datetime("2026-03-01T15:59:59Z")) == date("2026-03-01")"#,
            #"date_of(datetime("2026-03-01T16:00:00Z")) == date("2026-03-02")"#,
            "min(case.visits, 3) == 3", "max(case.visits, 3) == 7", "min(case.amount, 3 yuan) == 2.50 yuan",
            "max(case.due, today) == case.due", "min(-1, -2) == -2",
        ], case: c)
        #expect(try compile("min(1 yuan, case.amount)", expecting: nil).resultType == .money)
    }

    @Test func functionErrors() {
        expectError("cont(case.tags) > 0", "unknown function 'cont'", column: 1, hint: "did you mean 'count'?")
        expectError("frobnicate(1) > 0", "unknown function 'frobnicate'", column: 1,
                    hint: "functions are: count, date, date_of, datetime, days_between, in_office_hours, len, max, min, string")
        expectError("1 == 1 and len(\"a\", \"b\") > 0", "len() takes 1 argument, but 2 were given", column: 12)
        expectError("days_between(today) > 0", "days_between() takes 2 arguments, but 1 was given", column: 1)
        expectError("len(data.days) > 0", "len() needs a string, but this is integer", column: 5)
        expectError("count(data.reason) > 0", "count() needs a list, but this is string", column: 7)
        expectError("days_between(today, now) > 0", "days_between() needs a date, but this is datetime", column: 21)
        expectError("date_of(today) == today", "date_of() needs a datetime, but this is date", column: 9)
        expectError("max(1, 1 yuan) > 0", "max() needs a second integer, but this is money", column: 8)
        expectError("min(true, false)", "min() needs integer, money or date, but this is boolean", column: 5)
        expectError("len(null) > 0", "len() cannot take null", column: 5)
        expectError("len(\"a\",) > 0", "expected an argument after ','", column: 9)
    }

    // MARK: Precedence and syntax

    @Test func precedence() throws {
        // `not a and b` is `(not a) and b`; `a or b and c` is `a or (b and c)`.
        try expectFalse(["not true and false", "not false and false"])
        try expectTrue(["true or true and false", "false and false or true", "not 1 == 2", "not (true and false)",
                        "1 + 1 == 2 and 2 * 2 == 4", "-1 + 2 == 1", "2 + 3 * 4 == 14", "(2 + 3) * 4 == 20"])
        try expectTrue(["(1 < 2) == true", "false == (2 < 1)", "not not not false"])
    }

    @Test func comparisonsDoNotChain() {
        expectError("1 < 2 < 3", "comparisons cannot be chained", column: 7, hint: "write 'a < b and b < c', or use parentheses")
        expectError("1 == 1 == true", "comparisons cannot be chained", column: 8)
        expectError("case.due is set is set", "comparisons cannot be chained", column: 17)
        expectError("data.days in [1] == true", "comparisons cannot be chained", column: 18)
        expectError("1 < 2 not in [true]", "comparisons cannot be chained", column: 7)
    }

    @Test func syntaxErrors() {
        expectError("", "empty expression", column: 1)
        expectError("   ", "empty expression", column: 1)
        expectError("1 +", "unexpected end of expression", column: 4, hint: "the expression is incomplete")
        expectError("(1 == 1", "expected ')', found the end of the expression", column: 8, hint: "every '(' needs a matching ')'")
        expectError("[1, 2 == 1", "expected ',' or ']', found the end of the expression", column: 11)
        expectError("true true", "unexpected 'true' after a complete expression", column: 6, hint: "join conditions with 'and' or 'or'")
        expectError("data.days = 1", "unexpected character '='", column: 11, hint: "use '==' to compare")
        expectError("true && false", "unexpected character '&'", column: 6, hint: "use 'and'")
        expectError("data.days / 2 > 1", "unexpected character '/'", column: 11, hint: "division is not supported")
        expectError("data.days ＝＝ 1", "unexpected character '＝'", column: 11, hint: "this is a full-width character; use '='")
        expectError("case. == 1", "expected a field name after '.'", column: 6)
        expectError("== 1", "expected a value, found '=='", column: 1)
        expectError("1 == and", "expected a value, found 'and'", column: 6)
    }

    @Test func resultTypeIsChecked() throws {
        expectError("case.amount", "the expression must be boolean, but it is money", column: 1,
                    hint: #"write a condition, e.g. 'x > 0', 'x == "a"' or 'x is set'"#)
        expectError("  1 + 2", "the expression must be boolean, but it is integer", column: 3)
        #expect(try compile("case.amount + 1 yuan", expecting: .money).resultType == .money)
        #expect(try compile("data.reason", expecting: .text).resultType == .text)
        #expect(try compile(#""review""#, expecting: .enumeration(["open", "review"])).resultType == .enumeration(["open", "review"]))
        #expect(try compile("null", expecting: .date).resultType == .date)
        #expect(try compile("[]", expecting: .list(.integer)).resultType == .list(.integer))
        #expect(try compile("case.due + 1", expecting: nil).resultType == .date)
        #expect(try compile("case.visits > 1").resultType == .boolean)
        expectError(#""shut""#, "'shut' is not one of the enum's values", column: 1, expecting: .enumeration(["open"]))
        expectError("1 yuan", "the expression must be integer, but it is money", column: 1, expecting: .integer)
        expectError("null", "cannot tell the type of null", column: 1, expecting: nil)
        expectError("[]", "cannot tell the type of an empty list", column: 1, expecting: nil)
    }

    // MARK: Runtime errors

    @Test func overflowIsAnErrorNotATrap() throws {
        let e = try compile("data.days + 1 > 0")
        #expect(try e.evaluate(context(data: ["days": .integer(41)])) == .boolean(true))
        #expect(throws: Expression.EvaluationError(location: loc.advanced(by: 10), message: "integer overflow in '+'")) {
            try e.evaluate(context(data: ["days": .integer(.max)]))
        }
        for source in ["data.days * data.days > 0", "-data.days < 0", "data.days - 2 < 0", "case.amount * data.days > 0 yuan",
                       "case.amount + case.amount > 0 yuan", "days_between(case.due, today) > 0"] {
            #expect(throws: Expression.EvaluationError.self, "\(source)") {
                try eval(source, case: ["amount": .money(.max), "due": .date(.min + 5)], data: ["days": .integer(.min)])
            }
        }
        try expectTrue(["-9223372036854775808 == -9223372036854775807 - 1"])
    }

    @Test func datesStayInRange() throws {
        #expect(throws: Expression.EvaluationError(location: loc.advanced(by: 9), message: "date out of range (years 1 to 9999)")) {
            try eval("case.due + data.days > today", case: ["due": day("2026-03-01")], data: ["days": .integer(3_000_000)])
        }
        try expectTrue([#"date("9999-12-30") + 1 == date("9999-12-31")"#])
    }

    @Test func dataOfTheWrongTypeIsAnError() throws {
        let e = try compile("case.amount > 1 yuan")
        #expect(throws: Expression.EvaluationError(location: loc, message: "case.amount should be money but is 500")) {
            try e.evaluate(context(case: ["amount": .integer(500)]))
        }
        #expect(throws: Expression.EvaluationError.self) {
            try eval(#""a" in case.tags"#, case: ["tags": .list([.integer(1)])])
        }
        #expect(try e.evaluate(context(case: ["amount": .money(500)])) == .boolean(true))
    }

    // MARK: explain, determinism

    @Test func explainReportsEveryNameAndValue() throws {
        let e = try compile(#"case.amount > 100 yuan and data.reason is set or role == "clerk" and case.amount < 1000 yuan"#)
        let ctx = context(case: ["amount": .money(5000)])
        #expect(try e.evaluate(ctx) == .boolean(true))
        let seen = e.explain(ctx)
        #expect(seen.map(\.name) == ["case.amount", "data.reason", "role"])
        #expect(seen.map(\.value) == [.money(5000), .null, .string("clerk")])
        // Names skipped by short-circuit evaluation are still reported.
        let short = try compile("false and today > case.due")
        #expect(short.explain(context(case: ["due": day("2026-01-01")])).map(\.value) == [day("2026-03-01"), day("2026-01-01")])
        #expect(try compile("now is set").explain(context()).map(\.value) == [.datetime(nine)])
    }

    @Test func determinism() throws {
        let source = #"case.amount * 3 >= 10 yuan and "居住证明" in case.tags and days_between(today, case.due) <= 30"#
        let a = try compile(source), b = try compile(source)
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(a.source == source)
        let ctx = context(case: ["amount": .money(400), "tags": .list([.string("居住证明")]), "due": day("2026-03-20")])
        let results = try (0..<20).map { _ in try a.evaluate(ctx) }
        #expect(Set(results) == [.boolean(true)])
        #expect(try b.evaluate(ctx) == .boolean(true))
        #expect(a.explain(ctx).map(\.name) == b.explain(ctx).map(\.name))
        #expect(try compile(#"case.amount * 4 >= 10 yuan"#) != a)
    }

    // MARK: Odds and ends

    @Test func environment() {
        #expect(env.type(of: "case.amount") == .money)
        #expect(env.type(of: "data.reason") == .string)
        #expect(env.type(of: "today") == .date)
        #expect(env.type(of: "case.nope") == nil)
        #expect(env.type(of: "amount") == nil)
        let small = ExpressionEnvironment(caseFields: ["b": .integer, "a": .date], commandFields: ["z": .string])
        #expect(small.knownNames == ["case.a", "case.b", "data.z", "actor", "now", "role", "today"])
    }

    @Test func whitespaceIsFlexible() throws {
        try expectTrue(["1==1", "  1 ==\t1  ", "1\u{3000}==\u{3000}1", "(1==1)and(2==2)", "data.days in[1,2]"],
                       data: ["days": .integer(2)])
    }

    @Test func stringEqualityIsExact() throws {
        // Precomposed é and e + combining acute are different strings to a guard (scalar-exact); case matters.
        let d: [String: Value] = ["reason": .string("e\u{301}")]
        try expectFalse(["data.reason == \"\u{E9}\"", "data.reason == \"E\u{301}\""], data: d)
        try expectTrue(["data.reason == \"e\u{301}\"", "len(data.reason) == 2", "data.reason != \"\u{E9}\""], data: d)
    }

    @Test func callSyntax() {
        expectError(#"len("a" "b") > 0"#, "expected ',' or ')', found a string", column: 9, hint: "every '(' needs a matching ')'")
        expectError("count(case.tags > 0", "expected ',' or ')', found the end of the expression", column: 20)
        expectError("case.tags.count() > 0", "unknown function 'case.tags.count'", column: 1)
        expectError("case > 0", "unknown name 'case'", column: 1)
    }

    @Test func negativeLiterals() throws {
        #expect(try eval("-12.34 yuan", expecting: nil) == .money(-1234))
        #expect(try eval("--3", expecting: nil) == .integer(3))
        #expect(try eval("1 - -1", expecting: nil) == .integer(2))
        #expect(throws: Expression.EvaluationError(location: loc, message: "integer overflow in '-'")) {
            try eval("-(-9223372036854775808) > 0")
        }
    }

    @Test func evaluationErrorsSayWhere() throws {
        let e = try Expression.compile("data.days * 2 > 0", at: Location(file: "w.yaml", line: 9, column: 14), in: env)
        do {
            _ = try e.evaluate(context(data: ["days": .integer(.max)]))
            Issue.record("expected an overflow")
        } catch {
            #expect(error.description == "w.yaml:9:24: error: integer overflow in '*'")
        }
    }
}
