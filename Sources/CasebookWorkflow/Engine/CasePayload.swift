/// The members of an engine event's payload that folding a case reads (``CaseState``), and those that
/// showing a command reads (its name, role, data and, for a refusal, the check and reason).
///
/// Read from a payload's bytes (``parse(_:showing:)``), it is made without building a dictionary of the
/// whole payload: members nobody reads (the actor, the case id, recorded decisions, …) are checked and
/// passed over, and `set` and `data` are kept as lists in payload order. The members that show a command
/// are read only when asked for (`showing: true`); taken from an already decoded payload (``init(_:)``), it
/// holds them all. A member of the wrong JSON type reads as absent, as a lookup in the decoded payload
/// (`payload["state"]?.string`) would.
public struct CasePayload: Sendable {
    /// `at`: the command's or event's time, as recorded.
    public var at: String?
    /// `definition`: the definition hash (on `case.opened`).
    public var definition: String?
    /// `state`: the state after the command.
    public var state: String?
    /// `set`: the fields the command set, in payload order (empty if absent or not an object). In a payload
    /// read from bytes, a name given twice is listed twice: applied in order, the last value stands.
    public var set: [(name: String, value: JSONValue)] = []
    /// `clocks`: the clock operations (empty if absent or not a list).
    public var clocks: [JSONValue] = []
    /// `to`: the definition a migration moved the case to.
    public var to: String?
    /// `field` and `linked`: the reference field a linked case went into, and that case.
    public var field: String?
    public var linked: String?
    /// `clock`, `deadline`, `moveTo` and `flag`: which clock a breach is of, its deadline, and what it did.
    public var clock: String?
    public var deadline: String?
    public var moveTo: String?
    public var flag: String?
    /// `command` and `role`: the command and the role that issued it.
    public var command: String?
    public var role: String?
    /// `data`: the command's data, in payload order (nil if absent or not an object; a name given twice is listed twice).
    public var data: [(name: String, value: JSONValue)]?
    /// `check` and `reason`: why a command was refused.
    public var check: String?
    public var reason: String?

    /// The members of a decoded payload.
    public init(_ object: [String: JSONValue]) {
        at = object["at"]?.string
        definition = object["definition"]?.string
        state = object["state"]?.string
        set = object["set"]?.object.map { $0.map { (name: $0.key, value: $0.value) } } ?? []
        clocks = object["clocks"]?.array ?? []
        to = object["to"]?.string
        field = object["field"]?.string
        linked = object["linked"]?.string
        clock = object["clock"]?.string
        deadline = object["deadline"]?.string
        moveTo = object["moveTo"]?.string
        flag = object["flag"]?.string
        command = object["command"]?.string
        role = object["role"]?.string
        data = object["data"]?.object.map { $0.map { (name: $0.key, value: $0.value) } }
        check = object["check"]?.string
        reason = object["reason"]?.string
    }

    /// Reads a payload's bytes: nil if they are JSON but not an object. Throws if they are not JSON (the whole
    /// text is checked, members passed over included). A repeated top-level member keeps its last value.
    /// Only with `showing` are the members that show a command read (`command`, `role`, `data`, `check`,
    /// `reason`): folding a case needs none of them, and `data` is as large as `set`.
    public static func parse(_ bytes: UnsafeRawBufferPointer, showing: Bool = false) throws(JSONSyntaxError) -> CasePayload? {
        var p = JSONParser(bytes)
        p.skipSpace()
        guard p.peek == UInt8(ascii: "{") else {
            try p.skip(depth: 0)
            p.skipSpace()
            guard p.i == bytes.count else { throw p.error("the end of the text") }
            return nil
        }
        let payload = try CasePayload(members: &p, showing: showing)
        p.skipSpace()
        guard p.i == bytes.count else { throw p.error("the end of the text") }
        return payload
    }

    /// Reads the members of the object the parser stands at (made in place, field by field).
    private init(members p: inout JSONParser, showing: Bool) throws(JSONSyntaxError) {
        // A member that must be a string to count (otherwise checked, passed over, and absent).
        func string(_ p: inout JSONParser) throws(JSONSyntaxError) -> String? {
            if p.peek == UInt8(ascii: "\"") { return try p.string() }
            try p.skip(depth: 1)
            return nil
        }
        // `set` and `data`: the members of an object, in payload order (nil: not an object). A repeated name
        // is listed again: folding in order leaves the last value, as a decoded payload keeps it.
        func members(_ p: inout JSONParser) throws(JSONSyntaxError) -> [(name: String, value: JSONValue)]? {
            guard p.peek == UInt8(ascii: "{") else {
                try p.skip(depth: 1)
                return nil
            }
            var list: [(name: String, value: JSONValue)] = []
            guard try p.beginObject(depth: 1) else { return list }
            list.reserveCapacity(8)
            repeat {
                let name = try p.memberName().string
                list.append((name: name, value: try p.value(depth: 2)))
            } while try p.nextMember()
            return list
        }
        if try p.beginObject(depth: 0) {
            repeat {
                let name = try p.memberName()
                // By length first: each name is compared with at most four others, byte by byte.
                switch name.count {
                case 2 where name.is("at"): self.at = try string(&p)
                case 2 where name.is("to"): self.to = try string(&p)
                case 3 where name.is("set"): self.set = try members(&p) ?? []
                case 4 where showing && name.is("data"): self.data = try members(&p)
                case 4 where showing && name.is("role"): self.role = try string(&p)
                case 4 where name.is("flag"): self.flag = try string(&p)
                case 5 where name.is("state"): self.state = try string(&p)
                case 5 where name.is("clock"): self.clock = try string(&p)
                case 5 where showing && name.is("check"): self.check = try string(&p)
                case 5 where name.is("field"): self.field = try string(&p)
                case 6 where name.is("clocks"):
                    if p.peek == UInt8(ascii: "[") { self.clocks = try p.value(depth: 1).array ?? [] } else {
                        try p.skip(depth: 1)
                        self.clocks = []
                    }
                case 6 where name.is("moveTo"): self.moveTo = try string(&p)
                case 6 where name.is("linked"): self.linked = try string(&p)
                case 6 where showing && name.is("reason"): self.reason = try string(&p)
                case 7 where showing && name.is("command"): self.command = try string(&p)
                case 8 where name.is("deadline"): self.deadline = try string(&p)
                case 10 where name.is("definition"): self.definition = try string(&p)
                default: try p.skip(depth: 1)
                }
            } while try p.nextMember()
        }
    }
}
