/// A workflow definition as written in `Workflows/*.yaml`: who may issue which command in which state,
/// with what data, under which guards and time limits, and what follows.
///
/// Every element remembers where it was written, so that the linter and the engine can point at it.
public struct WorkflowDefinition: Sendable {
    /// The workflow's name, e.g. `resident-request`; cases and references use it.
    public var name: String
    /// The definition's version number (administrators raise it on each published change).
    public var version: Int
    /// A human title; Chinese and English are both fine.
    public var title: String
    /// The working-day calendar its clocks use (a file under `Workflows/calendars/`), if any.
    public var calendar: String?
    /// Roles that may act on cases.
    public var roles: [RoleDefinition]
    /// Typed case data.
    public var fields: [FieldDefinition]
    /// States; exactly one is initial.
    public var states: [StateDefinition]
    /// Named clocks (time limits).
    public var clocks: [ClockDefinition]
    /// Commands: the only way a case changes.
    public var commands: [CommandDefinition]
    /// Decision tables.
    public var decisions: [DecisionTable]
    /// Where the definition was read from.
    public var location: SourceLocation
    /// Where the calendar's name is written, if the workflow names one.
    public var calendarLocation: SourceLocation? = nil
    /// The catalogues the definition uses (files `catalogues/<name>.yaml` beside it), for decision tables.
    public var catalogues: [Named] = []
    /// Office hours on the calendar's working days, if the workflow declares them (`office-hours:`).
    public var officeHours: OfficeHoursSpec? = nil

    /// The state marked initial.
    public var initialState: StateDefinition? { states.first { $0.isInitial } }

    /// Looks up a state by name.
    public func state(_ name: String) -> StateDefinition? { states.first { $0.name == name } }
    /// Looks up a command by name.
    public func command(_ name: String) -> CommandDefinition? { commands.first { $0.name == name } }
    /// Looks up a case field by name.
    public func field(_ name: String) -> FieldDefinition? { fields.first { $0.name == name } }
    /// Looks up a clock by name.
    public func clock(_ name: String) -> ClockDefinition? { clocks.first { $0.name == name } }
    /// Looks up a decision table by name.
    public func decision(_ name: String) -> DecisionTable? { decisions.first { $0.name == name } }
    /// True if the workflow declares office hours and a calendar (their working days): `in_office_hours(t)` works.
    public var hasOfficeHours: Bool { officeHours != nil && calendar != nil }
}

/// A role, e.g. `counter` (front-desk worker) or `street-office`.
public struct RoleDefinition: Sendable, Hashable {
    /// The role's name.
    public var name: String
    /// A human title.
    public var title: String?
    /// Where it was declared.
    public var location: SourceLocation
}

/// A typed field of case data or of a command's data.
public struct FieldDefinition: Sendable, Hashable {
    /// The field's name.
    public var name: String
    /// Its type.
    public var type: FieldType
    /// Whether a command must carry it (command data) or a case must have it once opened (case data).
    public var required: Bool
    /// Personal data: stored encrypted under the subject's key.
    public var pii: Bool
    /// A human title.
    public var title: String?
    /// Where it was declared.
    public var location: SourceLocation
}

/// A state of a case.
public struct StateDefinition: Sendable, Hashable {
    /// The state's name.
    public var name: String
    /// A human title.
    public var title: String?
    /// Cases start here.
    public var isInitial: Bool
    /// Cases end here; no command leaves it.
    public var isFinal: Bool
    /// The role responsible while a case is in this state (who the case waits for).
    public var owner: String?
    /// Where it was declared.
    public var location: SourceLocation
    /// Where the owner's name is written, if there is an owner.
    public var ownerLocation: SourceLocation? = nil

    /// Equal if written the same at the same place; the positions of the values in it are not compared.
    public static func == (a: StateDefinition, b: StateDefinition) -> Bool {
        a.name == b.name && a.title == b.title && a.isInitial == b.isInitial && a.isFinal == b.isFinal && a.owner == b.owner
            && a.location == b.location
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(title)
        hasher.combine(isInitial)
        hasher.combine(isFinal)
        hasher.combine(owner)
        hasher.combine(location)
    }
}

/// A time limit a command can start, pause, resume and stop.
public struct ClockDefinition: Sendable, Hashable {
    /// The clock's name.
    public var name: String
    /// How long it runs before it is breached.
    public var budget: ClockBudgetSpec
    /// What happens, exactly once, when it is breached.
    public var onBreach: Escalation
    /// Where it was declared.
    public var location: SourceLocation
    /// An integer case field whose value, when the clock starts, is the budget's amount (in the unit of
    /// ``budget``); the fixed budget applies when the field is not set. Written `budget-field: limit_days`.
    public var budgetField: Named? = nil
}

/// Office hours as written: `office-hours: ["08:30-12:00", "14:00-17:30"]`. They apply on the working days
/// of the workflow's calendar, in its local time.
public struct OfficeHoursSpec: Sendable, Hashable {
    /// Periods of the day, as minutes after local midnight: from `start` (included) to `end` (excluded).
    public var periods: [OfficeHours.Period]
    /// Where they are written.
    public var location: SourceLocation
}

/// A clock budget as written: `5 working days`, `10 calendar days`, `48 hours`.
public struct ClockBudgetSpec: Sendable, Hashable, CustomStringConvertible {
    /// The unit of a budget.
    public enum Unit: String, Sendable, Hashable {
        /// Working days on the workflow's calendar.
        case workingDays = "working days"
        /// Calendar days.
        case calendarDays = "calendar days"
        /// Hours.
        case hours
    }
    /// How many units.
    public var amount: Int
    /// Which unit.
    public var unit: Unit

    /// `5 working days`, `1 working day`, `1 hour`.
    public var description: String { "\(amount) \(amount == 1 ? String(unit.rawValue.dropLast()) : unit.rawValue)" }
}

/// What a breached clock does: record an event, and optionally move the case or set a flag.
public struct Escalation: Sendable, Hashable {
    /// The event type recorded on breach (e.g. `request.overdue`).
    public var event: String
    /// A state to move the case to, if any.
    public var moveTo: String?
    /// A boolean case field to set true, if any.
    public var flag: String?
    /// A role to notify (recorded in the event), if any.
    public var notify: String?
    /// Where it was declared.
    public var location: SourceLocation
    /// Where the `move-to` state's name is written, if any.
    public var moveToLocation: SourceLocation? = nil
    /// Where the `flag` field's name is written, if any.
    public var flagLocation: SourceLocation? = nil
    /// Where the `notify` role's name is written, if any.
    public var notifyLocation: SourceLocation? = nil

    /// Equal if written the same at the same place; the positions of the values in it are not compared.
    public static func == (a: Escalation, b: Escalation) -> Bool {
        a.event == b.event && a.moveTo == b.moveTo && a.flag == b.flag && a.notify == b.notify && a.location == b.location
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(event)
        hasher.combine(moveTo)
        hasher.combine(flag)
        hasher.combine(notify)
        hasher.combine(location)
    }
}

/// A command: who may issue it, in which states, with what data, under which guards, and what follows.
public struct CommandDefinition: Sendable, Hashable {
    /// The command's name.
    public var name: String
    /// A human title.
    public var title: String?
    /// The states it applies in (`*` in the file means every non-final state).
    public var from: [Named]
    /// The state it leads to; nil keeps the case where it is.
    public var to: Named?
    /// The roles that may issue it.
    public var roles: [Named]
    /// The data it carries.
    public var data: [FieldDefinition]
    /// Conditions that must all hold.
    public var guards: [Guard]
    /// Case fields it sets, each from an expression.
    public var assignments: [Assignment]
    /// Clock operations.
    public var clockOperations: [ClockOperation]
    /// Decision tables it consults (their outputs are set on the case).
    public var decide: [Named]
    /// Effects after the transition.
    public var effects: [Effect]
    /// True for a command that opens a case (issued in no state; leads to the initial state).
    public var opensCase: Bool
    /// Where it was declared.
    public var location: SourceLocation
}

/// A name with the place it was written.
public struct Named: Sendable, Hashable, CustomStringConvertible {
    /// The name.
    public var name: String
    /// Where.
    public var location: SourceLocation
    public var description: String { name }
}

/// A guard: an expression that must be true, with an optional message for the refusal.
public struct Guard: Sendable, Hashable {
    /// The expression's text.
    public var source: String
    /// Where it starts (inside the quotes, if it is quoted): positions in the expression count from here.
    public var location: SourceLocation
    /// The reason given to the user when it fails.
    public var message: String?
    /// Where the quoted value is written (its opening quote), for findings about the guard as a whole;
    /// nil if it is not quoted (it is then at `location`).
    public var quoteLocation: SourceLocation? = nil

    /// Where the guard is written: at its opening quote, if it is quoted.
    public var writtenLocation: SourceLocation { quoteLocation ?? location }
}

/// `field: expression` in a command's `set:`.
public struct Assignment: Sendable, Hashable {
    /// The case field set.
    public var field: Named
    /// The expression's text.
    public var source: String
    /// Where the expression starts.
    public var location: SourceLocation
}

/// `clock: start|pause|resume|stop`.
public struct ClockOperation: Sendable, Hashable {
    /// What to do.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Start the clock (its budget begins).
        case start
        /// Suspend it (e.g. waiting for the resident's materials).
        case pause
        /// Continue it.
        case resume
        /// Stop it for good.
        case stop
    }
    /// The clock.
    public var clock: Named
    /// The operation.
    public var kind: Kind
}

/// Something a transition causes beyond its own events.
public enum Effect: Sendable, Hashable {
    /// Record a domain event of this type on the case (for projections).
    case emit(type: String, location: SourceLocation)
    /// Open a linked case of another workflow, optionally remembering its id in a reference field.
    case open(workflow: Named, command: String, storeIdIn: Named?, location: SourceLocation)
    /// Issue a command to the case whose id is in a reference field (e.g. withdraw admitted work).
    case send(command: String, toCaseIn: Named, location: SourceLocation)
    /// Issue a command to every case of a workflow whose fields match values of the source case (e.g.
    /// withdraw all of a department's admitted items in a community).
    case sendToMatching(CaseSelection)
}

/// `send: { command: withdraw, to-cases-of: task-admission, where: { department: case.department }, in-states: [admitted] }`:
/// a command sent to every case of `workflow` whose fields equal the values of the `where` expressions.
///
/// The expressions read the source case (as the command left it) and the command's data. A case matches
/// when it is open, its state is one of `inStates` (every non-final state if none is written), and each
/// field named in `where` holds the expression's value; a value that is not set matches no case. The
/// engine finds the matching cases once, records them on the source case (`case.effect-targeted`), and
/// sends the command to each, in the order of their ids.
public struct CaseSelection: Sendable, Hashable {
    /// The command sent to each matching case.
    public var command: Named
    /// The workflow whose cases are searched.
    public var workflow: Named
    /// For each field of the other workflow (``Assignment/field``), the expression over the source case
    /// and the command's data whose value it must hold.
    public var matches: [Assignment]
    /// The states a case must be in; empty: every non-final state.
    public var inStates: [Named]
    /// Where the effect is written.
    public var location: SourceLocation
}

/// A DMN-like decision table.
public struct DecisionTable: Sendable, Hashable {
    /// How rules combine.
    public enum HitPolicy: String, Sendable, Hashable {
        /// At most one rule may match any input; overlapping rules are a compile error.
        case unique
        /// The first matching rule wins.
        case first
    }
    /// The table's name.
    public var name: String
    /// The hit policy.
    public var hitPolicy: HitPolicy
    /// Input expressions (over case and command data).
    public var inputs: [Guard]
    /// Output case fields.
    public var outputs: [Named]
    /// Rules, in order.
    public var rules: [DecisionRule]
    /// Where it was declared.
    public var location: SourceLocation
    /// For a table whose rules are the items of a catalogue: the catalogue, and for each output field the
    /// column it is filled from. The table's one input is then the key expression (an item id).
    public var catalogue: CatalogueLookup? = nil
}

/// A decision table read from a catalogue: `catalogue: service-items`, `key: data.item`,
/// `outputs: { item_title: title, limit_days: limit_days }` (or a list of names, each filled from the
/// column of the same name).
public struct CatalogueLookup: Sendable, Hashable {
    /// The catalogue's name (as listed in the definition's `catalogues:`).
    public var catalogue: Named
    /// For each output field (in ``DecisionTable/outputs`` order), the column it is filled from.
    public var columns: [Named]
}

/// One row of a decision table: a test per input, a value per output.
public struct DecisionRule: Sendable, Hashable {
    /// One test per input.
    public var tests: [InputTest]
    /// One literal per output.
    public var outputs: [(String, SourceLocation)]
    /// Where the row starts.
    public var location: SourceLocation

    public static func == (a: DecisionRule, b: DecisionRule) -> Bool {
        a.tests == b.tests && a.location == b.location && a.outputs.map(\.0) == b.outputs.map(\.0)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(tests)
        hasher.combine(location)
        hasher.combine(outputs.map(\.0))
    }
}

/// A decision-table cell: what an input must be for the rule to match.
public enum InputTest: Sendable, Hashable, CustomStringConvertible {
    /// `-`: anything.
    case any
    /// One of these literal values (`"a"`, `[a, b]`, `true`).
    case oneOf([String])
    /// A numeric interval; nil bounds are open. Written `< 5`, `>= 10`, `[1..10]`.
    case range(lower: Int64?, lowerInclusive: Bool, upper: Int64?, upperInclusive: Bool)

    public var description: String {
        switch self {
        case .any: return "-"
        case .oneOf(let values): return values.count == 1 ? values[0] : "[" + values.joined(separator: ", ") + "]"
        case let .range(lower, li, upper, ui):
            return "\(li ? "[" : "(")\(lower.map(String.init) ?? "-∞")..\(upper.map(String.init) ?? "+∞")\(ui ? "]" : ")")"
        }
    }

    /// True if some value satisfies both tests.
    public func overlaps(_ other: InputTest) -> Bool {
        switch (self, other) {
        case (.any, _), (_, .any): return true
        case let (.oneOf(a), .oneOf(b)): return !Set(a).isDisjoint(with: b)
        case let (.oneOf(values), .range), let (.range, .oneOf(values)):
            let range = { if case .range = self { return self } else { return other } }()
            return values.contains { Int64($0).map { range.contains($0) } ?? false }
        case let (.range(l1, li1, u1, ui1), .range(l2, li2, u2, ui2)):
            // The intersection's lower bound is the larger lower bound, its upper the smaller upper.
            let (lower, lowerIn): (Int64?, Bool) = {
                guard let l1 else { return (l2, li2) }
                guard let l2 else { return (l1, li1) }
                return l1 == l2 ? (l1, li1 && li2) : (l1 > l2 ? (l1, li1) : (l2, li2))
            }()
            let (upper, upperIn): (Int64?, Bool) = {
                guard let u1 else { return (u2, ui2) }
                guard let u2 else { return (u1, ui1) }
                return u1 == u2 ? (u1, ui1 && ui2) : (u1 < u2 ? (u1, ui1) : (u2, ui2))
            }()
            guard let lower, let upper else { return true }
            if lower < upper { return lowerIn || upperIn || upper - lower > 1 }
            return lower == upper && lowerIn && upperIn
        }
    }

    /// True if `value` satisfies a range test (false for other kinds).
    func contains(_ value: Int64) -> Bool {
        guard case let .range(lower, li, upper, ui) = self else { return false }
        if let lower, li ? value < lower : value <= lower { return false }
        if let upper, ui ? value > upper : value >= upper { return false }
        return true
    }
}
