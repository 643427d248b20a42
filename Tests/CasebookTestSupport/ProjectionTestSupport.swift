import CasebookLog
import CasebookProjections
import CasebookWorkflow
import Foundation
import Testing

// A temporary store (``StoreHarness``) with the repository's real definitions published, and helpers
// to drive cases at explicit times (2026, calendar cn-2026) and read the projections.

/// An instant written in a test (ISO 8601 with its offset).
public func at(_ text: String) -> Timestamp {
    guard let t = Timestamp(iso8601: text) else { fatalError("bad test timestamp \(text)") }
    return t
}

/// Milliseconds since the epoch of an instant written in a test.
func ms(_ text: String) -> Int64 { at(text).millisecondsSince1970 }

/// The end of a China-time day (`2026-03-30` → 2026-03-30T23:59:59.999+08:00): where a day-based clock falls due.
func endOfDay(_ date: String) -> Int64 { ms(date + "T00:00:00+08:00") + 86_400_000 - 1 }

/// JSON written in a test.
public func json(_ text: String) -> JSONValue {
    do { return try JSONValue.parse(text) } catch { fatalError("bad test JSON \(text): \(error)") }
}

/// A ``StoreHarness`` with the repository's six definitions published. `afterCommand` (if set) runs after
/// every command and timer run the helpers issue: the projection-mechanics tests catch up there.
final class World: @unchecked Sendable {
    let harness: StoreHarness
    var afterCommand: (() throws -> Void)?

    var dir: String { harness.dir }
    var store: EventStore { harness.store }
    var engine: CaseEngine { harness.engine }

    private init(_ harness: StoreHarness) {
        self.harness = harness
    }

    /// Makes a temporary directory and store, publishes the repository's six definitions, runs `body`,
    /// then closes the store and deletes the directory.
    static func run<T>(_ body: (World) async throws -> T) async throws -> T {
        try await StoreHarness.run { harness in
            for name in ["task-admission", "entrusted-service", "department-evaluation", "rectification", "resident-request", "community-rating"] {
                try await harness.publishRepositoryWorkflow(name)
            }
            return try await body(World(harness))
        }
    }

    /// Opens a case with an opening command that must be accepted.
    @discardableResult
    func open(
        _ workflow: String, _ caseId: String, command: String? = nil, as actor: Actor, _ data: String, at time: String,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async throws -> CaseState {
        let outcome = try await engine.open(workflow: workflow, caseId: caseId, command: command, actor: actor, data: json(data), at: at(time))
        return try accepted(outcome, "opening \(caseId)", sourceLocation)
    }

    /// The case after an outcome that must be an acceptance (after running `afterCommand`); else records
    /// the refusal and throws.
    private func accepted(_ outcome: CommandOutcome, _ what: String, _ sourceLocation: Testing.SourceLocation) throws -> CaseState {
        try afterCommand?()
        guard case .accepted(let state, _) = outcome else {
            Issue.record("\(what) refused: \(outcome)", sourceLocation: sourceLocation)
            throw ScenarioError.refused
        }
        return state
    }

    /// Issues a command that must be accepted; returns the case afterwards.
    @discardableResult
    func accept(
        _ caseId: String, _ command: String, as actor: Actor, _ data: String = "{}", at time: String,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async throws -> CaseState {
        let outcome = try await engine.handle(caseId: caseId, command: command, actor: actor, data: json(data), at: at(time))
        return try accepted(outcome, "\(command) on \(caseId)", sourceLocation)
    }

    /// Issues a command that must be refused by `check`: the case is left as it was, and the refusal is
    /// the last event on the case's stream.
    @discardableResult
    func refuse(
        _ caseId: String, _ command: String, as actor: Actor, _ data: String = "{}", at time: String, check: Rejection.Check,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async throws -> Rejection {
        let before = try engine.load(caseId)
        let outcome = try await engine.handle(caseId: caseId, command: command, actor: actor, data: json(data), at: at(time))
        try afterCommand?()
        guard case .rejected(let rejection, let position) = outcome else {
            Issue.record("\(command) on \(caseId) was accepted; it should have been refused (\(check))", sourceLocation: sourceLocation)
            throw ScenarioError.accepted
        }
        #expect(rejection.check == check, "\(command) on \(caseId): \(rejection)", sourceLocation: sourceLocation)
        let after = try engine.load(caseId)
        #expect(after?.state == before?.state && after?.data == before?.data, "a refusal leaves the case as it was", sourceLocation: sourceLocation)
        let last = try #require(try events(caseId).last, sourceLocation: sourceLocation)
        #expect(last.type == "case.command-rejected" && last.position == position, sourceLocation: sourceLocation)
        let payload: [String: JSONValue] = (try? JSONValue.parse(last.payloadText ?? "").object) ?? [:]
        #expect(payload["command"] == JSONValue.string(command) && payload["check"] == JSONValue.string(check.rawValue), "the refusal is recorded on the case",
                sourceLocation: sourceLocation)
        return rejection
    }

    /// Fires the clocks due by `time`; returns the (case, clock) pairs breached.
    @discardableResult
    func runTimers(until time: String) async throws -> [String] {
        let fired = try await engine.runTimers(until: at(time))
        try afterCommand?()
        return fired.map { "\($0.caseId)/\($0.clock)" }
    }

    /// The case as its events leave it.
    func state(_ caseId: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> CaseState {
        try harness.state(caseId, sourceLocation: sourceLocation)
    }

    /// The events of a case's stream.
    func events(_ caseId: String) throws -> [RecordedEvent] { try harness.events(caseId) }

    /// The projections (in `<store>/projections`, or at `path`), caught up.
    func projections(path: String? = nil) throws -> ProjectionStore {
        let p = try ProjectionStore(store: store, path: path)
        try p.catchUp()
        return p
    }
}

enum ScenarioError: Error { case refused, accepted }

extension CaseState {
    /// A string field's value (nil if unset or not a string).
    func string(_ field: String) -> String? {
        if case .string(let s)? = data[field] { return s }
        return nil
    }
    /// An integer or money field's value.
    func int(_ field: String) -> Int64? {
        switch data[field] {
        case .integer(let i)?, .money(let i)?: return i
        default: return nil
        }
    }
    /// A boolean field's value.
    func bool(_ field: String) -> Bool? {
        if case .boolean(let b)? = data[field] { return b }
        return nil
    }
}

extension ProjectionStore {
    /// Every projection's table, key and value, in key order.
    func dumpAll() throws -> [String: [(key: String, value: [UInt8])]] {
        var out: [String: [(key: String, value: [UInt8])]] = [:]
        for name in ProjectionStore.names { out[name] = try dump(name) }
        return out
    }

    /// One projection's row, by case id.
    func requestRow(_ id: String) throws -> RequestRow? { try requestRows().first { $0.caseId == id }?.row }
    func admissionRow(_ id: String) throws -> AdmissionRow? { try admissionRows().first { $0.caseId == id }?.row }
    func ledgerRow(_ id: String) throws -> LedgerRow? { try ledgerRows().first { $0.caseId == id }?.row }
    func rectificationRow(_ id: String) throws -> RectificationRow? { try rectificationRows().first { $0.caseId == id }?.row }
    func ratingRow(_ id: String) throws -> RatingRow? { try ratingRows().first { $0.caseId == id }?.row }

    /// The balance of one account, summed over what the filters leave.
    func balance(_ account: String, department: String? = nil, community: String? = nil, period: String = "") throws -> AccountBalance? {
        try ledgerBalances(department: department, community: community, period: period).first { $0.account == account }
    }
}

/// Two dumps are the same, byte for byte (with the first difference named).
func expectSameDumps(
    _ a: [String: [(key: String, value: [UInt8])]], _ b: [String: [(key: String, value: [UInt8])]], _ what: String,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
    for name in ProjectionStore.names {
        let x = a[name] ?? [], y = b[name] ?? []
        #expect(x.count == y.count, "\(what): \(name) has \(x.count) vs \(y.count) entries", sourceLocation: sourceLocation)
        if let i = Array(zip(x, y)).firstIndex(where: { $0.key != $1.key || $0.value != $1.value }) {
            Issue.record("\(what): \(name) differs at entry \(i): \(x[i].key.debugDescription) vs \(y[i].key.debugDescription)", sourceLocation: sourceLocation)
        }
    }
}

// MARK: Actors

enum Actors {
    // task-admission
    static let civilAffairs = Actor(role: "department", id: "民政局")
    static let statistics = Actor(role: "department", id: "统计局")
    static let urbanManagement = Actor(role: "department", id: "城管局")
    static let police = Actor(role: "department", id: "公安局")
    static let civilisationOffice = Actor(role: "department", id: "文明办")
    static let housing = Actor(role: "department", id: "住建局")
    static let committee = Actor(role: "residents-committee", id: "新河居委会")
    static let street = Actor(role: "street-office", id: "李科长")
    static let district = Actor(role: "district-office", id: "周主任")
    // entrusted-service
    static let community = Actor(role: "community", id: "新河居委会")
    static let assessor = Actor(role: "assessor", id: "街道评估组")
    // department-evaluation, rectification
    static let panel = Actor(role: "community", id: "新河评议小组")
    // resident-request
    static let counter = Actor(role: "counter", id: "王芳")
    static let backOffice = Actor(role: "back-office", id: "李明")
    static let resident = Actor(role: "resident", id: "张三")
    static let supervisor = Actor(role: "supervisor", id: "赵站长")
    // community-rating
    static let xinheStreet = Actor(role: "street-office", id: "新河街道")
    static let dongfengStreet = Actor(role: "street-office", id: "东风街道")
    static let surveyor = Actor(role: "surveyor", id: "王芳")
}
