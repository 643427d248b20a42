import CasebookLog

extension Expression {
    /// Evaluates a checked tree. Null semantics: a missing field is `null`; comparisons with a `null`
    /// operand are `false` (`is set` / `is not set` and the rewritten `== null` / `!= null` excepted),
    /// arithmetic and functions with a `null` operand give `null` (`count(null)` is 0), and `and`, `or`,
    /// `not` treat `null` as `false`. Integer overflow and out-of-range dates are errors, never traps.
    struct Evaluator {
        let context: EvaluationContext
        let nameTypes: [String: FieldType]

        /// Dates are kept to years 0001…9999.
        static let dayRange = CivilDate.toDays(year: 1, month: 1, day: 1)...CivilDate.toDays(year: 9999, month: 12, day: 31)
        static let chinaOffset: Int64 = 8 * 3_600_000
        static let dayLength: Int64 = 86_400_000

        func eval(_ node: Node) throws(Problem) -> Value {
            switch node.kind {
            case .literal(let v): return v
            case .name(let name): return try lookup(name, at: node.offset)
            case .list(let items):
                var values: [Value] = []
                for item in items { values.append(try eval(item)) }
                return .list(values)
            case .negate(let operand):
                switch try eval(operand) {
                case .integer(let n): return .integer(try checked(0, n, Int64.subtractingReportingOverflow, "-", node))
                case .money(let n): return .money(try checked(0, n, Int64.subtractingReportingOverflow, "-", node))
                default: return .null
                }
            case .not(let operand): return .boolean(try eval(operand) != .boolean(true))
            case .isSet(let operand, let negated): return .boolean((try eval(operand) != .null) != negated)
            case .binary(.and, let l, let r):  // short-circuit; explain() still reports every name
                guard try eval(l) == .boolean(true) else { return .boolean(false) }
                return .boolean(try eval(r) == .boolean(true))
            case .binary(.or, let l, let r):
                if try eval(l) == .boolean(true) { return .boolean(true) }
                return .boolean(try eval(r) == .boolean(true))
            case .binary(let op, let l, let r):
                let a = try eval(l), b = try eval(r)
                if op == .add || op == .sub || op == .mul { return try arithmetic(op, a, b, node) }
                if a == .null || b == .null { return .boolean(false) }
                switch op {
                case .eq: return .boolean(Self.equal(a, b))
                case .ne: return .boolean(!Self.equal(a, b))
                case .in, .notIn:
                    guard case .list(let items) = b else { return .boolean(false) }
                    return .boolean(items.contains { $0 != .null && Self.equal(a, $0) } == (op == .in))
                default:
                    guard let order = Self.compare(a, b) else { return .boolean(false) }
                    switch op {
                    case .lt: return .boolean(order < 0)
                    case .le: return .boolean(order <= 0)
                    case .gt: return .boolean(order > 0)
                    default: return .boolean(order >= 0)
                    }
                }
            case .call(let name, let args):
                var values: [Value] = []
                for arg in args { values.append(try eval(arg)) }
                return try call(name, values, node)
            }
        }

        /// The value of a name, checked against its declared type (`null` if missing).
        func lookup(_ name: String, at offset: Int = 0) throws(Problem) -> Value {
            let value: Value
            switch name {
            case "now": value = .datetime(context.now)
            case "today": value = try chinaDate(context.now, at: offset)
            case "actor": value = .string(context.actor)
            case "role": value = .string(context.role)
            default:
                let field = String(name.dropFirst(5))
                value = (name.hasPrefix("case.") ? context.caseData[field] : context.commandData[field]) ?? .null
            }
            if let type = nameTypes[name], !Self.conforms(value, to: type) {
                throw Problem(at: offset, "\(name) should be \(type) but is \(value)")
            }
            return value
        }

        private func arithmetic(_ op: Node.BinaryOperator, _ a: Value, _ b: Value, _ node: Node) throws(Problem) -> Value {
            switch (op, a, b) {
            case (.add, .integer(let x), .integer(let y)): return .integer(try checked(x, y, Int64.addingReportingOverflow, "+", node))
            case (.sub, .integer(let x), .integer(let y)): return .integer(try checked(x, y, Int64.subtractingReportingOverflow, "-", node))
            case (.mul, .integer(let x), .integer(let y)): return .integer(try checked(x, y, Int64.multipliedReportingOverflow, "*", node))
            case (.add, .money(let x), .money(let y)): return .money(try checked(x, y, Int64.addingReportingOverflow, "+", node))
            case (.sub, .money(let x), .money(let y)): return .money(try checked(x, y, Int64.subtractingReportingOverflow, "-", node))
            case (.mul, .money(let x), .integer(let y)), (.mul, .integer(let y), .money(let x)):
                return .money(try checked(x, y, Int64.multipliedReportingOverflow, "*", node))
            case (.add, .date(let d), .integer(let n)), (.add, .integer(let n), .date(let d)):
                return try date(try checked(d, n, Int64.addingReportingOverflow, "+", node), node)
            case (.sub, .date(let d), .integer(let n)):
                return try date(try checked(d, n, Int64.subtractingReportingOverflow, "-", node), node)
            case (.add, .string(let x), .string(let y)): return .string(x + y)
            default: return .null  // a null operand (the checker rules out other combinations)
            }
        }

        private func call(_ name: String, _ args: [Value], _ node: Node) throws(Problem) -> Value {
            if name == "count" {
                if case .list(let items) = args[0] { return .integer(Int64(items.count)) }
                return .integer(0)
            }
            if args.contains(.null) { return .null }
            switch (name, args[0], args.count > 1 ? args[1] : .null) {
            case ("len", .string(let s), _): return .integer(Int64(s.unicodeScalars.count))
            case ("days_between", .date(let a), .date(let b)):
                return .integer(try checked(b, a, Int64.subtractingReportingOverflow, "days_between", node))
            case ("date_of", .datetime(let t), _): return try chinaDate(t, at: node.offset)
            case ("string", .string(let s), _): return .string(s)
            case ("string", let v, _): return .string(v.description)
            case ("in_office_hours", .datetime(let t), _):
                guard let hours = context.officeHours else { throw Problem(at: node.offset, "office hours are not known here") }
                do {
                    return .boolean(try hours.contains(t))
                } catch {
                    throw Problem(at: node.offset, "in_office_hours(): \(error)")
                }
            case ("min", let a, let b): return (Self.compare(a, b) ?? 0) <= 0 ? a : b
            case ("max", let a, let b): return (Self.compare(a, b) ?? 0) >= 0 ? a : b
            default: return .null
            }
        }

        private func checked(
            _ x: Int64, _ y: Int64, _ op: (Int64) -> (Int64) -> (partialValue: Int64, overflow: Bool), _ symbol: String, _ node: Node
        ) throws(Problem) -> Int64 {
            let (result, overflow) = op(x)(y)
            guard !overflow else { throw Problem(at: node.offset, "integer overflow in '\(symbol)'") }
            return result
        }

        private func date(_ day: Int64, _ node: Node) throws(Problem) -> Value {
            guard Self.dayRange.contains(day) else { throw Problem(at: node.offset, "date out of range (years 1 to 9999)") }
            return .date(day)
        }

        /// The date of an instant in China time (UTC+08:00).
        private func chinaDate(_ t: Timestamp, at offset: Int) throws(Problem) -> Value {
            let (local, overflow) = t.millisecondsSince1970.addingReportingOverflow(Self.chinaOffset)
            guard !overflow else { throw Problem(at: offset, "datetime out of range") }
            let day = local / Self.dayLength - (local % Self.dayLength < 0 ? 1 : 0)  // floor division
            return .date(day)
        }

        /// Equality; strings compare by Unicode scalars (exact, locale- and normalisation-independent).
        static func equal(_ a: Value, _ b: Value) -> Bool {
            switch (a, b) {
            case (.string(let x), .string(let y)): return x.unicodeScalars.elementsEqual(y.unicodeScalars)
            case (.list(let x), .list(let y)): return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
            default: return a == b
            }
        }

        /// Ordering (-1, 0, 1) of two values of one orderable kind; nil otherwise.
        static func compare(_ a: Value, _ b: Value) -> Int? {
            func sign<T: Comparable>(_ x: T, _ y: T) -> Int { x < y ? -1 : x > y ? 1 : 0 }
            switch (a, b) {
            case (.integer(let x), .integer(let y)), (.money(let x), .money(let y)), (.date(let x), .date(let y)): return sign(x, y)
            case (.datetime(let x), .datetime(let y)): return sign(x, y)
            case (.string(let x), .string(let y)):
                if x.unicodeScalars.elementsEqual(y.unicodeScalars) { return 0 }
                return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars) { $0.value < $1.value } ? -1 : 1
            default: return nil
            }
        }

        /// Whether runtime data has its declared type (`null` always does).
        static func conforms(_ value: Value, to type: FieldType) -> Bool {
            switch (value, type) {
            case (.null, _): return true
            case (.string, .string), (.string, .text), (.string, .enumeration), (.string, .reference): return true
            case (.integer, .integer), (.money, .money), (.date, .date), (.datetime, .datetime), (.boolean, .boolean): return true
            case (.list(let items), .list(let element)): return items.allSatisfy { conforms($0, to: element) }
            default: return false
            }
        }
    }
}
