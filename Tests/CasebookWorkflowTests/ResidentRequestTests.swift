import CasebookLog
import CasebookTestSupport
import Foundation
import Testing

@testable import CasebookWorkflow

// Scenarios of Workflows/resident-request.yaml (v2) straight from the rules of DOMAIN.md §1: one-door
// acceptance with the service item's published limit from the catalogue, certificates the community may
// not issue refused with a referral, the one-time notice, appointments outside office hours, referral
// to a department, rating and reopening. Deadlines are checked against the real cn-2026 calendar.

@Suite struct ResidentRequestTests {
    let counter = Actor(role: "counter", id: "wang")
    let backOffice = Actor(role: "back-office", id: "li")
    let department = Actor(role: "department", id: "minzheng")
    let resident = Actor(role: "resident", id: "zhang")
    let supervisor = Actor(role: "supervisor", id: "zhao")

    /// Receives a request for `item` as counter:wang.
    func receive(_ h: StoreHarness, _ caseId: String, item: String, at time: String, patch: String? = nil,
                 sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws -> CaseState {
        var data: [String: JSONValue] = ["item": .string(item), "community": .string("dongcheng"), "applicant": .string("张三")]
        if let patch { data["patch"] = .string(patch) }
        let outcome = try await h.engine.open(workflow: "resident-request", caseId: caseId, actor: counter, data: .object(data), at: at(time))
        if let r = outcome.rejection { Issue.record("receiving \(caseId) refused: \(r)", sourceLocation: sourceLocation) }
        return try #require(outcome.acceptedState, sourceLocation: sourceLocation)
    }

    /// Issues a command that must be accepted; checks that the events folded afresh give the same case.
    @discardableResult
    func accept(_ h: StoreHarness, _ caseId: String, _ command: String, as actor: Actor, _ data: String = "{}", at time: String,
                sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws -> CaseState {
        let outcome = try await h.engine.handle(caseId: caseId, command: command, actor: actor, data: json(data), at: at(time))
        if let r = outcome.rejection { Issue.record("\(command) on \(caseId) refused: \(r)", sourceLocation: sourceLocation) }
        let state = try #require(outcome.acceptedState, sourceLocation: sourceLocation)
        #expect(try h.replayed(caseId) == state, "the state returned differs from the events folded afresh", sourceLocation: sourceLocation)
        return state
    }

    /// Issues a command that must be refused with `check`; checks the refusal is the case's last event.
    @discardableResult
    func refuse(_ h: StoreHarness, _ caseId: String, _ command: String, as actor: Actor, _ data: String = "{}", at time: String,
                check: Rejection.Check, sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws -> Rejection {
        let before = try h.state(caseId, sourceLocation: sourceLocation)
        let outcome = try await h.engine.handle(caseId: caseId, command: command, actor: actor, data: json(data), at: at(time))
        let rejection = try #require(outcome.rejection, "\(command) should be refused", sourceLocation: sourceLocation)
        #expect(rejection.check == check, sourceLocation: sourceLocation)
        let last = try #require(try h.events(caseId).last, sourceLocation: sourceLocation)
        #expect(last.type == CaseEventType.commandRejected && last.position == outcome.position, sourceLocation: sourceLocation)
        let after = try h.state(caseId, sourceLocation: sourceLocation)
        #expect(after.state == before.state && after.data == before.data && after.clocks == before.clocks, sourceLocation: sourceLocation)
        return rejection
    }

    /// The `clocks` array recorded by the last accepted `command` on the case.
    func clockOps(_ h: StoreHarness, _ caseId: String, command: String) throws -> [JSONValue] {
        let event = try #require(try h.events(caseId).last {
            enginePayload($0)["command"] == .string(command) && [CaseEventType.opened, CaseEventType.commandAccepted].contains($0.type)
        })
        return enginePayload(event)["clocks"]?.array ?? []
    }

    // MARK: Receipt: the item's published limit

    @Test func mustItemDeadlineIsItsLimitInWorkingDaysAcrossTheSpringFestival() async throws {
        try await StoreHarness.run { h in
            let compiled = try await h.publishResidentRequest()
            #expect(compiled.definition.version == 2)
            #expect(compiled.catalogueSources.map(\.file) == ["catalogues/service-items.yaml"])
            let calendar = try #require(compiled.calendar)
            // A residence certificate (must, 3 working days) received Thu 12 Feb 2026 09:00: the start day is not
            // counted; Fri 13 (1), Sat 14 worked for the Spring Festival (2), 15–23 Feb off, Tue 24 (3).
            let opened = try await receive(h, "r1", item: "residence-certificate", at: "2026-02-12T09:00+08:00", patch: "p-03")
            #expect(opened.state == "received")
            #expect(opened.data["item_title"] == .string("居住证明 Residence certificate"))
            #expect(opened.data["limit_days"] == .integer(3))
            #expect(opened.data["certificate"] == .string("must"))
            #expect(opened.data["referral"] == .string(""))
            #expect(opened.data["owner"] == .string("wang") && opened.data["community"] == .string("dongcheng"))
            #expect(opened.data["patch"] == .string("p-03") && opened.data["notices"] == .integer(0) && opened.data["overdue"] == .boolean(false))
            let clock = try #require(opened.clocks["completion"])
            #expect(clock.budget == .workingDays(3))
            #expect(try clock.deadline(calendar: calendar) == at("2026-02-24T23:59:59.999+08:00"))
            // The start records the budget it counts and the deadline it fixed.
            #expect(try clockOps(h, "r1", command: "receive") == [json(
                #"{"clock":"completion","op":"start","budget":"3 working days","deadline":"2026-02-24T15:59:59.999Z"}"#)])
            // The decision is recorded with the catalogue item it used.
            let decision = try #require(enginePayload(try h.events("r1")[0])["decisions"]?.array?.first?.object)
            #expect(decision["table"] == .string("service-item") && decision["catalogue"] == .string("service-items"))
            #expect(decision["item"] == .string("residence-certificate"))
            #expect(decision["outputs"]?.object?["limit_days"] == .int(3))

            // Nothing breaches until the end of Tue 24 Feb; then exactly once, flagging the case.
            #expect(try await h.engine.runTimers(until: at("2026-02-24T23:59:59.998+08:00")).isEmpty)
            let fired = try await h.engine.runTimers(until: at("2026-02-25T00:00+08:00"))
            #expect(fired.map(\.caseId) == ["r1"])
            let breached = try h.state("r1")
            #expect(breached.data["overdue"] == .boolean(true))
            let breach = try #require(try h.events("r1").first { $0.type == CaseEventType.clockBreached })
            #expect(enginePayload(breach)["budget"] == .string("3 working days"))
            #expect(enginePayload(breach)["notify"] == .string("supervisor"))
        }
    }

    @Test func limitCrossesTheMakeUpSaturdayOfLabourDay() async throws {
        try await StoreHarness.run { h in
            try await h.publishResidentRequest()
            // A family-planning certificate (5 working days) received Fri 8 May 2026: Sat 9 May is worked for
            // Labour Day (1), Mon 11 (2), Tue 12 (3), Wed 13 (4), Thu 14 (5).
            _ = try await receive(h, "r2", item: "family-planning-certificate", at: "2026-05-08T16:00+08:00")
            #expect(try clockOps(h, "r2", command: "receive").first?.object?["deadline"] == .string("2026-05-14T15:59:59.999Z"))
        }
    }

    @Test func unknownItemIsRefusedNamingTheIdAndKnownItems() async throws {
        try await StoreHarness.run { h in
            try await h.publishResidentRequest()
            let outcome = try await h.engine.open(
                workflow: "resident-request", caseId: "u1", actor: counter,
                data: json(#"{"item":"residence-certficate","community":"dongcheng","applicant":"张三"}"#), at: at("2026-03-02T09:00+08:00"))
            let r = try #require(outcome.rejection)
            #expect(r.check == .decision)
            #expect(r.message.hasPrefix("'residence-certficate' is not an item of catalogue 'service-items'"))
            // The nearest id comes first among the known items listed.
            #expect(r.message.contains("known items include residence-certificate, "))
            #expect(r.details["data.item"] == "residence-certficate" && r.details["catalogue"] == "service-items")
            // The refusal is recorded; no case is opened.
            #expect(try h.types("u1") == [CaseEventType.commandRejected])
            #expect(try h.engine.load("u1")?.isOpen == false)
        }
    }

    // MARK: Certificates the community may not issue

    @Test func mayNotItemIsRefusedWithItsReferral() async throws {
        try await StoreHarness.run { h in
            try await h.publishResidentRequest()
            let opened = try await receive(h, "k1", item: "kinship-certificate", at: "2026-03-02T09:00+08:00")
            #expect(opened.data["certificate"] == .string("may-not"))
            let referral = try #require(opened.data["referral"].flatMap { if case .string(let s) = $0 { s } else { nil } })
            #expect(referral.hasPrefix("户籍所在地派出所"))
            // It cannot be handled as if the community could issue it.
            var r = try await refuse(h, "k1", "hand-off", as: counter, at: "2026-03-02T09:05+08:00", check: .guardFailed)
            #expect(r.message.contains("refuse it with the referral"))
            r = try await refuse(h, "k1", "refer-to-department", as: counter, #"{"department":"派出所"}"#, at: "2026-03-02T09:05+08:00", check: .guardFailed)
            #expect(r.details["case.certificate"] == "\"may-not\"")
            // Refused, with the referral in the recorded reason; the clock stops.
            let refused = try await accept(h, "k1", "refuse", as: counter, at: "2026-03-02T09:10+08:00")
            #expect(refused.state == "refused")
            #expect(refused.data["refusal"] == .string("本社区不得出具此证明，请到 " + referral + " 办理"))
            #expect(refused.clocks["completion"]?.isStopped == true)
            #expect(try h.types("k1").contains("request.refused"))
            #expect(try await h.engine.runTimers(until: at("2026-12-31T00:00+08:00")).isEmpty)
        }
    }

    @Test func aCertificateTheCommunityMustIssueCannotBeRefused() async throws {
        try await StoreHarness.run { h in
            try await h.publishResidentRequest()
            _ = try await receive(h, "m1", item: "residence-certificate", at: "2026-03-02T09:00+08:00")
            let r = try await refuse(h, "m1", "refuse", as: supervisor, at: "2026-03-02T09:10+08:00", check: .guardFailed)
            #expect(r.details["case.certificate"] == "\"must\"")
        }
    }

    // MARK: One-time notice, pause and resume

    @Test func secondNoticeIsRefusedAndRecordedAndPauseMovesTheDeadline() async throws {
        try await StoreHarness.run { h in
            let compiled = try await h.publishResidentRequest()
            let calendar = try #require(compiled.calendar)
            // Residence certificate (3 working days) received Mon 2 Mar 09:00: due Thu 5 Mar (3, 4, 5).
            _ = try await receive(h, "n1", item: "residence-certificate", at: "2026-03-02T09:00+08:00")
            #expect(try clockOps(h, "n1", command: "receive").first?.object?["deadline"] == .string("2026-03-05T15:59:59.999Z"))
            let waiting = try await accept(h, "n1", "notify-missing", as: counter, #"{"missing":["户口簿","租房合同"]}"#, at: "2026-03-02T10:00+08:00")
            #expect(waiting.state == "waiting-materials" && waiting.data["notices"] == .integer(1))
            #expect(waiting.clocks["completion"]?.isPaused == true)
            // A paused clock has no deadline: the pause op records none.
            #expect(try clockOps(h, "n1", command: "notify-missing") == [json(#"{"clock":"completion","op":"pause"}"#)])
            // A second "you also need…" is refused, and the refusal is in the log.
            _ = try await accept(h, "n1", "supply-materials", as: resident, at: "2026-03-04T10:00+08:00")
            let r = try await refuse(h, "n1", "notify-missing", as: backOffice, #"{"missing":["照片"]}"#, at: "2026-03-04T11:00+08:00", check: .guardFailed)
            #expect(r.message.hasPrefix("只能一次性告知"))
            let rejected = try #require(try h.events("n1").last)
            let payload = enginePayload(rejected)
            #expect(payload["command"] == .string("notify-missing") && payload["check"] == .string("guard"))
            #expect(payload["reason"] == .string(r.message) && payload["details"]?.object?["case.notices"] == .string("1"))
            // Paused Mon 2 → resumed Wed 4 suspends working days 3 and 4: the deadline moves 2 working days,
            // from Thu 5 to Mon 9 Mar (Fri 6, Mon 9), and the resume records it.
            #expect(try clockOps(h, "n1", command: "supply-materials") == [json(
                #"{"clock":"completion","op":"resume","deadline":"2026-03-09T15:59:59.999Z"}"#)])
            let state = try h.state("n1")
            #expect(try state.clocks["completion"]?.deadline(calendar: calendar) == at("2026-03-09T23:59:59.999+08:00"))
            #expect(state.rejected == 1)
        }
    }

    // MARK: Appointments outside office hours

    @Test func appointmentsAreBookedOnlyOutsideOfficeHours() async throws {
        try await StoreHarness.run { h in
            try await h.publishResidentRequest()
            _ = try await receive(h, "a1", item: "senior-card", at: "2026-03-02T09:00+08:00")
            let t = "2026-03-02T09:30+08:00"
            // Tue 3 Mar 10:00 and 16:00 are office hours; so is 10:00 on Sat 14 Feb (a make-up working day).
            for inside in ["2026-03-03T10:00:00+08:00", "2026-03-03T16:00:00+08:00", "2026-03-03T08:30:00+08:00"] {
                let r = try await refuse(h, "a1", "book-appointment", as: resident, #"{"time":"\#(inside)"}"#, at: t, check: .guardFailed)
                #expect(r.message.contains("outside office hours"))
            }
            // In the past: refused.
            try await refuse(h, "a1", "book-appointment", as: resident, #"{"time":"2026-03-01T19:00:00+08:00"}"#, at: t, check: .guardFailed)
            // Lunch break, evening, and a Saturday are outside office hours.
            var booked = try await accept(h, "a1", "book-appointment", as: resident, #"{"time":"2026-03-03T12:30:00+08:00"}"#, at: t)
            #expect(booked.data["appointment"] == .string("2026-03-03T04:30:00.000Z"))
            booked = try await accept(h, "a1", "book-appointment", as: counter, #"{"time":"2026-03-07T10:00:00+08:00"}"#, at: t)
            #expect(booked.data["appointment"] == .string("2026-03-07T02:00:00.000Z"))
            booked = try await accept(h, "a1", "book-appointment", as: resident, #"{"time":"2026-03-03T17:30:00+08:00"}"#, at: t)
            #expect(booked.state == "received")
            #expect(try h.types("a1").filter { $0 == "request.appointment-booked" }.count == 3)
        }
    }

    @Test func aMakeUpSaturdayHasOfficeHours() async throws {
        try await StoreHarness.run { h in
            try await h.publishResidentRequest()
            _ = try await receive(h, "a2", item: "senior-card", at: "2026-02-10T09:00+08:00")
            try await refuse(h, "a2", "book-appointment", as: resident, #"{"time":"2026-02-14T10:00:00+08:00"}"#,
                             at: "2026-02-10T09:30+08:00", check: .guardFailed)
            _ = try await accept(h, "a2", "book-appointment", as: resident, #"{"time":"2026-02-15T10:00:00+08:00"}"#, at: "2026-02-10T09:30+08:00")
        }
    }

    // MARK: Departments, grid patches, rating, reopening

    @Test func referredToADepartmentWhichCompletesThenRatedAndClosed() async throws {
        try await StoreHarness.run { h in
            try await h.publishResidentRequest()
            _ = try await receive(h, "d1", item: "subsistence-allowance", at: "2026-03-02T09:00+08:00")
            let patched = try await accept(h, "d1", "assign-patch", as: supervisor, #"{"patch":"p-07","leader":"patch:liu"}"#, at: "2026-03-02T09:10+08:00")
            #expect(patched.data["patch"] == .string("p-07") && patched.data["patch_leader"] == .string("patch:liu"))
            let referred = try await accept(h, "d1", "refer-to-department", as: counter, #"{"department":"民政科 civil affairs"}"#, at: "2026-03-02T09:30+08:00")
            #expect(referred.state == "with-department")
            #expect(referred.data["handler"] == .string("民政科 civil affairs") && referred.data["department"] == .string("民政科 civil affairs"))
            // The back office or the department completes; a resident cannot.
            try await refuse(h, "d1", "complete", as: resident, at: "2026-03-05T10:00+08:00", check: .role)
            let completed = try await accept(h, "d1", "complete", as: department, at: "2026-03-10T10:00+08:00")
            #expect(completed.state == "completed" && completed.clocks["completion"]?.isStopped == true)
            #expect(try clockOps(h, "d1", command: "complete") == [json(#"{"clock":"completion","op":"stop"}"#)])
            let closed = try await accept(h, "d1", "rate", as: resident, #"{"rating":"basically-satisfied"}"#, at: "2026-03-11T10:00+08:00")
            #expect(closed.state == "closed" && closed.data["rating"] == .string("basically-satisfied"))
            try await refuse(h, "d1", "reopen", as: supervisor, at: "2026-03-12T10:00+08:00", check: .state)
        }
    }

    @Test func handOffSetsTheHandlerAndReopenRestartsTheLimit() async throws {
        try await StoreHarness.run { h in
            try await h.publishResidentRequest()
            _ = try await receive(h, "o1", item: "employment-registration", at: "2026-03-02T09:00+08:00")
            let handed = try await accept(h, "o1", "hand-off", as: counter, at: "2026-03-02T09:20+08:00")
            #expect(handed.state == "in-progress" && handed.data["handler"] == .string("back-office"))
            _ = try await accept(h, "o1", "complete", as: backOffice, at: "2026-03-04T15:00+08:00")
            // Reopened Thu 5 Mar: the item's full 3 working days again: Fri 6, Mon 9, Tue 10.
            let reopened = try await accept(h, "o1", "reopen", as: resident, at: "2026-03-05T09:00+08:00")
            #expect(reopened.state == "in-progress" && reopened.clocks["completion"]?.isRunning == true)
            #expect(try clockOps(h, "o1", command: "reopen") == [json(
                #"{"clock":"completion","op":"start","budget":"3 working days","deadline":"2026-03-10T15:59:59.999Z"}"#)])
        }
    }

    // MARK: The recorded budget is what replays use

    @Test func replayUsesTheRecordedBudgetNotTheDefinitions() async throws {
        try await StoreHarness.run { h in
            let compiled = try await h.publishResidentRequest()
            #expect(compiled.definition.clock("completion")?.budget.description == "5 working days")
            _ = try await receive(h, "b1", item: "disability-card", at: "2026-03-02T09:00+08:00")
            let replayed = try #require(try h.replayed("b1"))
            #expect(replayed.clocks["completion"]?.budget == .workingDays(10))
            // An op without a recorded budget (written before budgets were recorded) falls back to the definition's.
            var state = CaseState(caseId: "old")
            let payload: [String: JSONValue] = [
                "definition": .string(compiled.hash), "at": .string("2026-03-02T01:00:00.000Z"), "state": .string("received"),
                "set": .object([:]), "clocks": json(#"[{"clock":"completion","op":"start"}]"#),
            ]
            try state.apply(type: CaseEventType.opened, payload: payload, streamVersion: 0, position: 0, definition: { _ in compiled })
            #expect(state.clocks["completion"]?.budget == .workingDays(5))
        }
    }
}
