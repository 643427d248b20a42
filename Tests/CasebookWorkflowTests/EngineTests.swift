import CasebookLog
import CasebookTestSupport
import Foundation
import Testing

@testable import CasebookWorkflow

// End-to-end tests of the case engine over a real (temporary) event store: the state a case reaches,
// its data and clocks, and the events recorded on its stream `case-<id>`.

// MARK: - Test definitions

/// Money and date data, assignments and guards over command data, case data, `now`, `today`,
/// `actor` and `role`.
private let errandYAML = """
    workflow: errand
    version: 1
    title: Errand 跑腿
    calendar: cn
    roles: [clerk, head]
    fields:
      owner: string
      ownerRole: string
      openedAt: datetime
      openedOn: date
      budget: money
      spent: money
      previous: money
      lastBy: string
      note: string
      due: date
      urgent: boolean
    states:
      active: { initial: true, owner: clerk }
      done: { final: true }
    commands:
      start:
        opens: true
        roles: [clerk, head]
        data:
          budget: { type: money, required: true }
          note: string
        set: { owner: actor, ownerRole: role, openedAt: now, openedOn: today, budget: data.budget, spent: "0 fen", note: data.note }
      spend:
        from: [active]
        roles: [clerk, head]
        data:
          amount: { type: money, required: true }
        guard:
          - { if: "data.amount > 0 fen", message: an amount must be positive }
          - { if: 'actor == case.owner or role == "head"', message: only the owner or a head may spend }
          - { if: "case.spent + data.amount <= case.budget", message: over budget }
          - { if: "days_between(case.openedOn, today) <= 30", message: the errand is older than 30 days }
        set: { spent: case.spent + data.amount, previous: case.spent, lastBy: actor }
      schedule:
        from: [active]
        roles: [clerk, head]
        data:
          day: { type: date, required: true }
          urgent: boolean
        guard:
          - { if: "data.day >= today", message: cannot schedule in the past }
        set: { due: data.day, urgent: data.urgent }
      finish:
        from: [active]
        to: done
        roles: [clerk, head]
    """

/// A decision table with hit policy unique.
private let grantYAML = """
    workflow: grant
    version: 1
    title: Grant 补助
    roles: [clerk]
    fields:
      amount: money
      category: enum(general, special, other)
      tier: enum(low, mid, special)
      approver: string
      fast: boolean
      routedTo: string
    states:
      draft: { initial: true, owner: clerk }
      assessed: { owner: clerk }
      done: { final: true }
    decisions:
      route:
        hit: unique
        inputs: [case.amount, case.category]
        outputs: [tier, approver, fast]
        rules:
          - { when: ["< 100000", general], then: [low, clerk, "true"] }
          - { when: ["[100000..500000]", general], then: [mid, head, "false"] }
          - { when: ["-", special], then: [special, director, "false"] }
    commands:
      apply:
        opens: true
        roles: [clerk]
        data:
          amount: { type: money, required: true }
          category: { type: "enum(general, special, other)", required: true }
        set: { amount: data.amount, category: data.category }
      assess:
        from: [draft]
        to: assessed
        roles: [clerk]
        decide: [route]
        set: { routedTo: case.approver }
      finish:
        from: [assessed]
        to: done
        roles: [clerk]
    """

/// An hours-budget clock that moves the case and sets a flag when breached.
private let ticketYAML = """
    workflow: ticket
    version: 1
    title: Ticket
    calendar: cn
    roles: [agent, lead]
    fields:
      late: boolean
    states:
      open: { initial: true, owner: agent }
      escalated: { owner: lead }
      done: { final: true }
    clocks:
      response:
        budget: 4 hours
        on-breach: { event: ticket.late, move-to: escalated, flag: late, notify: lead }
    commands:
      create:
        opens: true
        roles: [agent]
        clocks: { response: start }
      hold:
        from: [open]
        roles: [agent]
        clocks: { response: pause }
      unhold:
        from: [open]
        roles: [agent]
        clocks: { response: resume }
      close:
        from: [open, escalated]
        to: done
        roles: [agent, lead]
        clocks: { response: stop }
    """

/// Version 1 of `permit`: a 5-working-day review.
private let permitV1YAML = """
    workflow: permit
    version: 1
    title: Permit
    calendar: cn
    roles: [clerk, head]
    fields:
      late: boolean
    states:
      open: { initial: true, owner: clerk }
      done: { final: true }
    clocks:
      review:
        budget: 5 working days
        on-breach: { event: permit.late, flag: late }
    commands:
      apply:
        opens: true
        roles: [clerk]
        clocks: { review: start }
      grant:
        from: [open]
        to: done
        roles: [clerk]
        clocks: { review: stop }
    """

/// Version 2 of `permit`: a 2-working-day review and a new command.
private let permitV2YAML = """
    workflow: permit
    version: 2
    title: Permit
    calendar: cn
    roles: [clerk, head]
    fields:
      late: boolean
    states:
      open: { initial: true, owner: clerk }
      done: { final: true }
    clocks:
      review:
        budget: 2 working days
        on-breach: { event: permit.late, flag: late }
    commands:
      apply:
        opens: true
        roles: [clerk]
        clocks: { review: start }
      escalate:
        from: [open]
        roles: [head]
      grant:
        from: [open]
        to: done
        roles: [clerk]
        clocks: { review: stop }
    """

/// What one of many concurrent calls came back with.
private enum Attempt: Sendable {
    case outcome(CommandOutcome)
    case failed(String)
}

// MARK: - Tests

@Suite struct EngineTests {
    let counter = Actor(role: "counter", id: "wang")
    let backOffice = Actor(role: "back-office", id: "li")
    let resident = Actor(role: "resident", id: "zhang")
    let supervisor = Actor(role: "supervisor", id: "zhao")
    /// A family-planning certificate: a certificate the community must issue, with a 5-working-day limit.
    let requestData = #"{"item":"family-planning-certificate","community":"dongcheng","applicant":"张三"}"#

    // MARK: 1. Happy path

    @Test func residentRequestAcrossSpringFestival() async throws {
        try await StoreHarness.run { h in
            let compiled = try await h.publishResidentRequest()
            let calendar = try #require(compiled.calendar)

            // Opened Thu 12 Feb 09:00 (Beijing). The start day is not counted:
            // 13 Fri (1), 14 Sat worked for the festival (2), 15–23 Spring Festival, 24 Tue (3), 25 Wed (4), 26 Thu (5).
            let opened = try await openRequest(h, "r1", at: "2026-02-12T09:00+08:00")
            #expect(opened.isOpen)
            #expect(opened.state == "received")
            #expect(opened.workflow == "resident-request")
            #expect(opened.definitionHash == compiled.hash)
            #expect(opened.definitionVersion == 2)
            #expect(opened.data == [
                "item": .string("family-planning-certificate"), "applicant": .string("张三"), "owner": .string("wang"),
                "notices": .integer(0), "overdue": .boolean(false), "community": .string("dongcheng"), "patch": .null,
                "item_title": .string("计划生育证明 Family-planning certificate"), "limit_days": .integer(5), "certificate": .string("must"),
                "referral": .string(""),
            ])
            #expect(opened.openedAt == at("2026-02-12T09:00+08:00"))
            #expect(opened.accepted == 1 && opened.rejected == 0)
            let started = try #require(opened.clocks["completion"])
            #expect(started.isRunning)
            #expect(started.budget == .workingDays(5))
            #expect(started.startedAt == at("2026-02-12T09:00+08:00"))
            #expect(try started.deadline(calendar: calendar) == at("2026-02-26T23:59:59.999+08:00"))

            // One-time notice the same morning: the clock pauses, and has no fixed deadline while paused.
            let waiting = try await accept(h, "r1", "notify-missing", as: counter,
                                           #"{"missing":["户口本 household register","照片 photo"]}"#, at: "2026-02-12T10:30+08:00")
            #expect(waiting.state == "waiting-materials")
            #expect(waiting.data["missing"] == .list([.string("户口本 household register"), .string("照片 photo")]))
            #expect(waiting.data["notices"] == .integer(1))
            let paused = try #require(waiting.clocks["completion"])
            #expect(paused.isPaused)
            #expect(try paused.deadline(calendar: calendar) == nil)
            #expect(try paused.deadline(calendar: calendar, ifResumedAt: at("2026-02-24T10:00+08:00"))
                    == at("2026-03-02T23:59:59.999+08:00"))

            // Materials supplied Tue 24 Feb: the pause from the 12th to the 24th suspended the working days d
            // with 12 < d ≤ 24: 13 Fri, 14 Sat (worked) and 24 Tue (15–23 are holidays) = 3 working days.
            // The deadline moves 3 working days past Thu 26: 27 Fri (1), 28 Sat worked (2), Mon 2 Mar (3).
            let resumed = try await accept(h, "r1", "supply-materials", as: resident, at: "2026-02-24T10:00+08:00")
            #expect(resumed.state == "in-progress")
            let running = try #require(resumed.clocks["completion"])
            #expect(running.isRunning)
            #expect(try running.deadline(calendar: calendar) == at("2026-03-02T23:59:59.999+08:00"))

            // Completed Fri 27 Feb: the clock stops, in time.
            let completed = try await accept(h, "r1", "complete", as: backOffice, at: "2026-02-27T16:00+08:00")
            #expect(completed.state == "completed")
            let stopped = try #require(completed.clocks["completion"])
            #expect(stopped.isStopped)
            #expect(stopped.stoppedAt == at("2026-02-27T16:00+08:00"))
            #expect(try stopped.deadline(calendar: calendar) == nil)
            #expect(try stopped.isBreached(at: at("2026-12-31T00:00+08:00"), calendar: calendar) == false)
            // Used: 13, 14, 24, 25, 26, 27 (6 working days) minus the 3 paused = 3.
            #expect(try stopped.used(at: at("2026-12-31T00:00+08:00"), calendar: calendar) == .workingDays(3))

            // Rated: closed.
            let closed = try await accept(h, "r1", "rate", as: resident, #"{"rating":"satisfied"}"#, at: "2026-03-02T09:00+08:00")
            #expect(closed.state == "closed")
            #expect(closed.data["rating"] == .string("satisfied"))
            #expect(closed.accepted == 5 && closed.rejected == 0)
            #expect(closed.updatedAt == at("2026-03-02T09:00+08:00"))
            #expect(try h.state("r1") == closed)

            // Nothing for the timers: the clock stopped before its deadline.
            #expect(try await h.engine.runTimers(until: at("2026-12-31T00:00+08:00")).isEmpty)

            // The stream.
            let events = try h.events("r1")
            #expect(events.map(\.type) == [
                "case.opened", "request.received",
                "case.command-accepted", "request.materials-missing",
                "case.command-accepted", "request.materials-supplied",
                "case.command-accepted", "request.completed",
                "case.command-accepted", "request.rated",
            ])
            #expect(events.map(\.streamVersion) == Array(0..<10))
            #expect(events.allSatisfy { $0.streamId == "case-r1" })
            let p = events.map(enginePayload)
            #expect(p[0]["workflow"] == .string("resident-request"))
            #expect(p[0]["definition"] == .string(compiled.hash))
            #expect(p[0]["version"] == .int(2))
            #expect(p[0]["command"] == .string("receive"))
            #expect(p[0]["actor"] == .string("wang") && p[0]["role"] == .string("counter"))
            #expect(p[0]["at"] == .string("2026-02-12T01:00:00.000Z"))
            #expect(p[0]["from"] == .string("") && p[0]["state"] == .string("received"))
            // Personal data (applicant is pii) is recorded only sealed under the case subject's key.
            var set = try #require(p[0]["set"]?.object)
            let sealed = try #require(set.removeValue(forKey: "applicant").flatMap(PersonalData.sealed))
            #expect(sealed.subject == "case:r1")
            #expect(try h.engine.vault.open(sealed.ciphertext, subject: sealed.subject) == #""张三""#)
            #expect(JSONValue.object(set) == json(#"""
                {"item":"family-planning-certificate","community":"dongcheng","patch":null,"owner":"wang","notices":0,"overdue":false,
                 "item_title":"计划生育证明 Family-planning certificate","limit_days":5,"certificate":"must","referral":""}
                """#))
            // Each clock operation records what it fixed: the budget counted, and the deadline while it runs.
            #expect(p[0]["clocks"] == json(
                #"[{"clock":"completion","op":"start","budget":"5 working days","deadline":"2026-02-26T15:59:59.999Z"}]"#))
            #expect(events[0].actor == "counter:wang")
            #expect(events[0].recordedAt == at("2026-02-12T09:00+08:00"))
            #expect(p[1]["state"] == .string("received") && p[1]["case"] == .string("r1"))
            let accepted = [2, 4, 6, 8].map { p[$0] }
            #expect(accepted.map { $0["command"] } == ["notify-missing", "supply-materials", "complete", "rate"].map(JSONValue.string))
            #expect(accepted.map { $0["from"] } == ["received", "waiting-materials", "in-progress", "completed"].map(JSONValue.string))
            #expect(accepted.map { $0["state"] } == ["waiting-materials", "in-progress", "completed", "closed"].map(JSONValue.string))
            #expect(accepted.map { $0["clocks"] } == [
                json(#"[{"clock":"completion","op":"pause"}]"#),
                json(#"[{"clock":"completion","op":"resume","deadline":"2026-03-02T15:59:59.999Z"}]"#),
                json(#"[{"clock":"completion","op":"stop"}]"#), nil,
            ])
            #expect(p[2]["set"] == json(#"{"missing":["户口本 household register","照片 photo"],"notices":1}"#))
            #expect(p[8]["set"] == json(#"{"rating":"satisfied"}"#))
            #expect(events[6].actor == "back-office:li")
            #expect(events[6].recordedAt == at("2026-02-27T16:00+08:00"))

            // A closed case takes no more commands.
            try await expectRejected(h, "r1", "reopen", as: supervisor, at: "2026-03-03T09:00+08:00", check: .state)
        }
    }

    // MARK: 2. Rejections

    @Test func rejectionsAreRecordedAndChangeNothing() async throws {
        try await StoreHarness.run { h in
            let compiled = try await h.publishResidentRequest()
            let notify = try #require(compiled.definition.command("notify-missing"))
            _ = try await openRequest(h, "r1", at: "2026-03-02T09:00+08:00")
            let t = "2026-03-02T09:30+08:00"

            var r = try await expectRejected(h, "r1", "approve", as: counter, at: t, check: .unknownCommand)
            #expect(r.details == ["commands": compiled.definition.commands.map(\.name).joined(separator: ", ")])

            r = try await expectRejected(h, "r1", "hand-off", as: resident, at: t, check: .role)
            #expect(r.details == ["allowed": "counter", "role": "resident"])

            r = try await expectRejected(h, "r1", "complete", as: backOffice, at: t, check: .state)
            #expect(r.details == ["state": "received"])
            #expect(r.message.contains("in-progress") && r.message.contains("'received'"))

            r = try await expectRejected(h, "r1", "notify-missing", as: counter, #"{"missing":["照片"],"extra":true}"#, at: t, check: .data)
            #expect(r.message == "'notify-missing' takes no field 'extra'")
            #expect(r.details == ["fields": "missing"])

            r = try await expectRejected(h, "r1", "notify-missing", as: counter, #"{"missing":"照片"}"#, at: t, check: .data)
            #expect(r.message.contains("'missing' must be list(string)"))

            r = try await expectRejected(h, "r1", "notify-missing", as: counter, #"{"missing":[1]}"#, at: t, check: .data)
            #expect(r.message.contains("'missing[0]' must be string"))

            r = try await expectRejected(h, "r1", "notify-missing", as: counter, "{}", at: t, check: .data)
            #expect(r.message == "'notify-missing' needs 'missing' (list(string))")

            r = try await expectRejected(h, "r1", "notify-missing", as: counter, #"{"missing":null}"#, at: t, check: .data)
            #expect(r.message == "'notify-missing' needs 'missing' (list(string))")

            r = try await expectRejected(h, "r1", "notify-missing", as: counter, "[1]", at: t, check: .data)
            #expect(r.message == "the command's data must be a JSON object")

            // The first guard: the notice must list something.
            r = try await expectRejected(h, "r1", "notify-missing", as: counter, #"{"missing":[]}"#, at: t, check: .guardFailed)
            #expect(r.message == notify.guards[0].message)
            #expect(r.details == ["data.missing": "[]", "guard": "count(data.missing) > 0"])

            // A clock operation dated before the clock's start is refused by the clock check.
            r = try await expectRejected(h, "r1", "notify-missing", as: counter, #"{"missing":["照片"]}"#, at: "2026-03-02T08:00+08:00", check: .clock)
            #expect(r.message.hasPrefix("clock 'completion' cannot pause"))

            // Opening an open case.
            r = try await expectRejected(h, "r1", "receive", as: counter, requestData, at: t, check: .lifecycle, opening: "resident-request")
            #expect(r.details == ["state": "received"])

            // The one-time notice, then a second one: refused by the guard, with the definition's message.
            _ = try await accept(h, "r1", "notify-missing", as: counter, #"{"missing":["照片 photo"]}"#, at: "2026-03-02T10:00+08:00")
            _ = try await accept(h, "r1", "supply-materials", as: counter, at: "2026-03-03T10:00+08:00")
            r = try await expectRejected(h, "r1", "notify-missing", as: backOffice, #"{"missing":["户口本"]}"#,
                                         at: "2026-03-04T10:00+08:00", check: .guardFailed)
            let message = try #require(notify.guards[1].message)
            #expect(message.hasPrefix("只能一次性告知"))
            #expect(r.message == message)
            #expect(r.details["case.notices"] == "1")
            #expect(r.details["guard"] == "case.notices == 0")

            // A value outside an enum.
            _ = try await accept(h, "r1", "complete", as: backOffice, at: "2026-03-05T10:00+08:00")
            r = try await expectRejected(h, "r1", "rate", as: resident, #"{"rating":"great"}"#, at: "2026-03-05T11:00+08:00", check: .data)
            #expect(r.message.contains("'rating' must be enum(satisfied, basically-satisfied, dissatisfied)"))

            let final = try h.state("r1")
            #expect(final.state == "completed")
            #expect(final.accepted == 4)
            #expect(final.rejected == 14)
            #expect(try h.types("r1").filter { $0 == CaseEventType.commandRejected }.count == 14)
        }
    }

    @Test func dataOfTheWrongTypeIsRefused() async throws {
        try await StoreHarness.run { h in
            try await h.publish(errandYAML, file: "errand.yaml")
            let wang = Actor(role: "clerk", id: "wang")
            _ = try #require(try await h.engine.open(workflow: "errand", caseId: "e1", actor: wang, data: json(#"{"budget":50000}"#),
                                                     at: at("2026-03-02T09:00+08:00")).acceptedState)
            let t = "2026-03-02T10:00+08:00"

            // Money is whole fen, never a string or a fraction.
            var r = try await expectRejected(h, "e1", "spend", as: wang, #"{"amount":"120.00"}"#, at: t, check: .data)
            #expect(r.message.contains("'amount' must be money") && r.message.contains(#"not "120.00""#))
            #expect(r.details.isEmpty)
            r = try await expectRejected(h, "e1", "spend", as: wang, #"{"amount":12.5}"#, at: t, check: .data)
            #expect(r.message.contains("'amount' must be money"))

            // Dates are YYYY-MM-DD and must exist.
            for bad in ["2026-02-30", "2026/03/15", "2026-3-15", "2026-03-15T09:00+08:00", "15.03.2026"] {
                r = try await expectRejected(h, "e1", "schedule", as: wang, #"{"day":"\#(bad)"}"#, at: t, check: .data)
                #expect(r.message.contains("'day' must be date"), "\(bad): \(r.message)")
            }
            r = try await expectRejected(h, "e1", "schedule", as: wang, #"{"day":20260315}"#, at: t, check: .data)
            #expect(r.message.contains("'day' must be date"))

            // Booleans are JSON booleans.
            r = try await expectRejected(h, "e1", "schedule", as: wang, #"{"day":"2026-03-15","urgent":"yes"}"#, at: t, check: .data)
            #expect(r.message.contains("'urgent' must be boolean"))

            // Unknown and missing fields.
            r = try await expectRejected(h, "e1", "spend", as: wang, #"{"amount":100,"currency":"CNY"}"#, at: t, check: .data)
            #expect(r.details == ["fields": "amount"])
            r = try await expectRejected(h, "e1", "spend", as: wang, "{}", at: t, check: .data)
            #expect(r.message == "'spend' needs 'amount' (money)")

            // The valid forms are accepted.
            let scheduled = try await accept(h, "e1", "schedule", as: wang, #"{"day":"2026-03-15","urgent":true}"#, at: t)
            #expect(scheduled.data["due"]?.description == "2026-03-15")
            #expect(scheduled.data["urgent"] == .boolean(true))
            let spent = try await accept(h, "e1", "spend", as: wang, #"{"amount":12050}"#, at: t)
            #expect(spent.data["spent"] == .money(12050))
            #expect(try h.state("e1").rejected == 11)
        }
    }

    @Test func commandsToMissingOrUnopenedCasesThrow() async throws {
        try await StoreHarness.run { h in
            try await h.publishResidentRequest()
            let at = at("2026-03-02T09:00+08:00")

            // No such case: an engine error, nothing recorded.
            await #expect(throws: EngineError.unknownCase("ghost")) {
                try await h.engine.handle(caseId: "ghost", command: "hand-off", actor: counter, at: at)
            }
            #expect(try h.events("ghost").isEmpty)
            #expect(try h.engine.load("ghost") == nil)

            // No such workflow.
            await #expect(throws: EngineError.unknownWorkflow("nope", published: ["resident-request"])) {
                try await h.engine.open(workflow: "nope", caseId: "x", actor: counter, at: at)
            }

            // A refused opening is recorded, but does not open the case.
            let refused = try await h.engine.open(workflow: "resident-request", caseId: "r2", actor: counter, data: json(#"{"item":"证明","community":"dongcheng"}"#), at: at)
            let rejection = try #require(refused.rejection)
            #expect(rejection.check == .data)
            #expect(rejection.message == "'receive' needs 'applicant' (string)")
            #expect(try h.types("r2") == [CaseEventType.commandRejected])
            let unopened = try h.state("r2")
            #expect(!unopened.isOpen && unopened.rejected == 1 && unopened.accepted == 0 && unopened.streamVersion == 0)
            await #expect(throws: EngineError.unknownCase("r2")) {
                try await h.engine.handle(caseId: "r2", command: "hand-off", actor: counter, at: at)
            }
            #expect(try h.events("r2").count == 1)

            // It can still be opened properly.
            let opened = try await openRequest(h, "r2", at: "2026-03-02T09:05+08:00")
            #expect(opened.isOpen && opened.state == "received" && opened.accepted == 1 && opened.rejected == 1)
            #expect(try h.types("r2") == [CaseEventType.commandRejected, CaseEventType.opened, "request.received"])
        }
    }

    // MARK: 3. Concurrency

    @Test func concurrentCommandIsAcceptedExactlyOnce() async throws {
        try await StoreHarness.run { h in
            try await h.publishResidentRequest()
            _ = try await openRequest(h, "c1", at: "2026-03-02T09:00+08:00")
            let engine = h.engine
            let at = at("2026-03-02T10:00+08:00")
            let attempts = await withTaskGroup(of: Attempt.self) { group in
                for i in 0..<32 {
                    group.addTask {
                        do {
                            return .outcome(try await engine.handle(caseId: "c1", command: "hand-off", actor: Actor(role: "counter", id: "clerk\(i)"), at: at))
                        } catch {
                            return .failed("\(error)")
                        }
                    }
                }
                var all: [Attempt] = []
                for await a in group { all.append(a) }
                return all
            }
            let failures = attempts.compactMap { if case .failed(let e) = $0 { return e } else { return nil } }
            let outcomes = attempts.compactMap { if case .outcome(let o) = $0 { return o } else { return nil } }
            #expect(failures.isEmpty, "commands threw instead of being decided: \(failures.count) × \(failures.first ?? "")")
            #expect(outcomes.filter { $0.acceptedState != nil }.count == 1)
            let rejections = outcomes.compactMap(\.rejection)
            #expect(rejections.count == 31)
            #expect(rejections.allSatisfy { $0.check == .state && $0.details == ["state": "in-progress"] })

            let events = try h.events("c1").filter { enginePayload($0)["command"] == .string("hand-off") }
            #expect(events.filter { $0.type == CaseEventType.commandAccepted }.count == 1)
            #expect(events.filter { $0.type == CaseEventType.commandRejected }.count == 31)
            #expect(events.filter { $0.type == CaseEventType.commandRejected }.allSatisfy { enginePayload($0)["check"] == .string("state") })
            // The accepted one is the first of them on the stream; every refusal came after it.
            #expect(events.first?.type == CaseEventType.commandAccepted)
            #expect(Set(events.map(\.actor)).count == 32)
            let state = try h.state("c1")
            #expect(state.state == "in-progress" && state.accepted == 2 && state.rejected == 31)
            #expect(try h.events("c1").count == 2 + 32)
        }
    }

    @Test func concurrentOpeningsOpenTheCaseOnce() async throws {
        try await StoreHarness.run { h in
            try await h.publishResidentRequest()
            let engine = h.engine
            let data = json(requestData)
            let at = at("2026-03-02T09:00+08:00")
            let attempts = await withTaskGroup(of: Attempt.self) { group in
                for i in 0..<16 {
                    group.addTask {
                        do {
                            return .outcome(try await engine.open(workflow: "resident-request", caseId: "o1", actor: Actor(role: "counter", id: "c\(i)"),
                                                                  data: data, at: at))
                        } catch {
                            return .failed("\(error)")
                        }
                    }
                }
                var all: [Attempt] = []
                for await a in group { all.append(a) }
                return all
            }
            let failures = attempts.compactMap { if case .failed(let e) = $0 { return e } else { return nil } }
            let outcomes = attempts.compactMap { if case .outcome(let o) = $0 { return o } else { return nil } }
            #expect(failures.isEmpty, "openings threw instead of being decided: \(failures.count) × \(failures.first ?? "")")
            #expect(outcomes.filter { $0.acceptedState != nil }.count == 1)
            #expect(outcomes.compactMap(\.rejection).filter { $0.check == .lifecycle }.count == 15)
            let types = try h.types("o1")
            #expect(types.filter { $0 == CaseEventType.opened }.count == 1)
            #expect(types.first == CaseEventType.opened)
            #expect(types.filter { $0 == CaseEventType.commandRejected }.count == 15)
        }
    }

    /// A client that retries a command with the same command id (say after a timeout) must get the
    /// original outcome back, and nothing new may be recorded.
    @Test func retryWithTheSameCommandIdReturnsTheOriginalOutcome() async throws {
        try await StoreHarness.run { h in
            try await h.publishResidentRequest()
            _ = try await openRequest(h, "i1", at: "2026-03-02T09:00+08:00")
            let at = at("2026-03-02T10:00+08:00")

            // An accepted command, retried: still accepted, at the same position.
            let first = try await h.engine.handle(caseId: "i1", command: "hand-off", actor: counter, at: at, commandId: "cmd-hand-off")
            let firstState = try #require(first.acceptedState)
            let count = try h.events("i1").count
            let retry = try await h.engine.handle(caseId: "i1", command: "hand-off", actor: counter, at: at, commandId: "cmd-hand-off")
            #expect(try h.events("i1").count == count)
            #expect(retry.acceptedState == firstState, "the retry of an accepted command came back \(retry.rejection.map { "\($0)" } ?? "accepted")")
            #expect(retry.position == first.position)
        }
    }

    /// A refused command retried with its command id after the case changed so that it would now be
    /// accepted: the original refusal stands, and the case is not changed.
    @Test func retryOfARefusedCommandIdDoesNotClaimAcceptance() async throws {
        try await StoreHarness.run { h in
            try await h.publishResidentRequest()
            _ = try await openRequest(h, "i2", at: "2026-03-02T09:00+08:00")
            let refused = try await h.engine.handle(caseId: "i2", command: "complete", actor: backOffice,
                                                    at: at("2026-03-02T10:00+08:00"), commandId: "cmd-complete")
            #expect(refused.rejection?.check == .state)
            _ = try await accept(h, "i2", "hand-off", as: counter, at: "2026-03-02T11:00+08:00")
            let before = try h.state("i2")
            let count = try h.events("i2").count

            let retry = try await h.engine.handle(caseId: "i2", command: "complete", actor: backOffice,
                                                  at: at("2026-03-02T12:00+08:00"), commandId: "cmd-complete")
            #expect(try h.events("i2").count == count)
            #expect(try h.state("i2") == before)
            #expect(before.state == "in-progress")
            // Whatever the retry reports, it must not claim that `complete` was accepted: nothing was applied.
            #expect(retry.acceptedState == nil, "the retry claims acceptance at position \(retry.position), the original refusal's event")
            #expect(retry.rejection == refused.rejection)
            #expect(retry.position == refused.position)
        }
    }

    // MARK: 4. Determinism and replay

    /// A scripted life of a case: pause, resume, a refusal, a breach, completion and rating.
    private func script(_ h: StoreHarness) async throws {
        _ = try await openRequest(h, "d1", at: "2026-02-12T09:00+08:00")
        _ = try await accept(h, "d1", "notify-missing", as: counter, #"{"missing":["照片 photo"]}"#, at: "2026-02-12T10:00+08:00")
        _ = try await accept(h, "d1", "supply-materials", as: resident, at: "2026-02-24T10:00+08:00")
        _ = try await h.engine.handle(caseId: "d1", command: "complete", actor: counter, at: at("2026-02-25T10:00+08:00"))
        let fired = try await h.engine.runTimers(until: at("2026-03-03T09:00+08:00"))
        #expect(fired.map(\.caseId) == ["d1"])
        _ = try await accept(h, "d1", "complete", as: backOffice, at: "2026-03-03T10:00+08:00")
        _ = try await accept(h, "d1", "rate", as: resident, #"{"rating":"basically-satisfied"}"#, at: "2026-03-04T10:00+08:00")
    }

    private func clockJSON(_ state: CaseState) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(state.clocks), as: UTF8.self)
    }

    @Test func replayIsDeterministic() async throws {
        let dir = NSTemporaryDirectory() + "casebook-engine-test-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let storePath = dir + "/store"
        var original: CaseState?
        var originalEvents: [RecordedEvent] = []
        do {
            let store = try EventStore(path: storePath, options: StoreHarness.options())
            defer { store.close() }
            let h = StoreHarness(dir: dir, store: store, engine: try CaseEngine(store: store))
            try await h.publishResidentRequest()
            try await script(h)

            let first = try h.state("d1")
            let second = try h.state("d1")
            #expect(first == second)
            #expect(first.state == "closed" && first.accepted == 5 && first.rejected == 1)
            #expect(first.data["overdue"] == .boolean(true))
            #expect(first.breaches["completion"] == at("2026-03-02T23:59:59.999+08:00"))

            // A fresh engine (and registry) over the same store.
            let fresh = try #require(try CaseEngine(store: store).load("d1"))
            #expect(fresh == first)
            #expect(ValueCoding.encode(fresh.data).json == ValueCoding.encode(first.data).json)
            #expect(try clockJSON(fresh) == clockJSON(first))
            #expect(fresh.state == first.state && fresh.definitionHash == first.definitionHash && fresh.streamVersion == first.streamVersion)

            // Folding the events one at a time gives the same state.
            let events = try h.events("d1")
            var folded = CaseState(caseId: "d1")
            for e in events {
                try folded.apply(e, definition: h.engine.registry.definition(hash:), reveal: { s, c in try h.engine.vault.open(c, subject: s) })
            }
            #expect(folded == first)
            #expect(ValueCoding.encode(folded.data).json == ValueCoding.encode(first.data).json)
            #expect(try clockJSON(folded) == clockJSON(first))

            original = first
            originalEvents = events
        }

        // The store closed and reopened, with a new engine.
        let store = try EventStore(path: storePath, options: StoreHarness.options())
        defer { store.close() }
        let reloaded = try #require(try CaseEngine(store: store).load("d1"))
        let before = try #require(original)
        #expect(reloaded == before)
        #expect(ValueCoding.encode(reloaded.data).json == ValueCoding.encode(before.data).json)
        #expect(try clockJSON(reloaded) == clockJSON(before))

        // The same script in another store records the very same events and reaches the same state.
        try await StoreHarness.run { other in
            try await other.publishResidentRequest()
            try await script(other)
            // Personal data is sealed with fresh keys and nonces in each store; everything else is identical.
            func unsealed(_ events: [RecordedEvent]) -> [String] {
                events.map { e in
                    guard e.payloadEncoding == .json, let payload = try? JSONValue.parse(Data(e.payload)) else { return "\(e)" }
                    func strip(_ v: JSONValue) -> JSONValue {
                        if PersonalData.sealed(v) != nil { return .string("<sealed>") }
                        switch v {
                        case .object(let o): return .object(o.mapValues(strip))
                        case .array(let a): return .array(a.map(strip))
                        default: return v
                        }
                    }
                    return "\(e.position) \(e.streamVersion) \(e.type) \(e.actor) \(e.recordedAt) \(strip(payload).json)"
                }
            }
            #expect(unsealed(try other.events("d1")) == unsealed(originalEvents))
            let state = try other.state("d1")
            #expect(state == before)
            #expect(ValueCoding.encode(state.data).json == ValueCoding.encode(before.data).json)
        }
    }

    // MARK: 5. Version pinning

    @Test func casesStayPinnedToTheirDefinition() async throws {
        try await StoreHarness.run { h in
            let v1 = try await h.publish(permitV1YAML, file: "permit-v1.yaml")
            let clerk = Actor(role: "clerk", id: "wang"), head = Actor(role: "head", id: "zhao")
            let at = at("2026-03-02T09:00+08:00")  // Monday
            let a = try #require(try await h.engine.open(workflow: "permit", caseId: "a", actor: clerk, at: at).acceptedState)
            #expect(a.definitionHash == v1.hash && a.definitionVersion == 1)

            let v2 = try await h.publish(permitV2YAML, file: "permit-v2.yaml")
            #expect(v2.hash != v1.hash)
            let b = try #require(try await h.engine.open(workflow: "permit", caseId: "b", actor: clerk, at: at).acceptedState)
            #expect(b.definitionHash == v2.hash && b.definitionVersion == 2)
            #expect(try h.state("a").definitionHash == v1.hash)
            #expect(a.clocks["review"]?.budget == .workingDays(5))
            #expect(b.clocks["review"]?.budget == .workingDays(2))
            #expect(enginePayload(try h.events("a")[0])["definition"] == .string(v1.hash))
            #expect(enginePayload(try h.events("b")[0])["definition"] == .string(v2.hash))

            // The new command exists only for the new case.
            let r = try await expectRejected(h, "a", "escalate", as: head, at: "2026-03-02T10:00+08:00", check: .unknownCommand)
            #expect(r.details == ["commands": "apply, grant"])
            _ = try await accept(h, "b", "escalate", as: head, at: "2026-03-02T10:00+08:00")

            // Each keeps its own time limit: b (2 working days) is due Wed 4 Mar, a (5) Mon 9 Mar.
            let early = try await h.engine.runTimers(until: CasebookTestSupport.at("2026-03-05T00:00+08:00"))
            #expect(early.map(\.caseId) == ["b"])
            #expect(early.first?.deadline == CasebookTestSupport.at("2026-03-04T23:59:59.999+08:00"))
            let late = try await h.engine.runTimers(until: CasebookTestSupport.at("2026-03-10T00:00+08:00"))
            #expect(late.map(\.caseId) == ["a"])
            #expect(late.first?.deadline == CasebookTestSupport.at("2026-03-09T23:59:59.999+08:00"))

            // A fresh engine sees the same pinning.
            let fresh = try CaseEngine(store: h.store)
            #expect(try fresh.load("a")?.definitionHash == v1.hash)
            #expect(try fresh.load("b")?.definitionHash == v2.hash)
            #expect(try fresh.registry.latest("permit").hash == v2.hash)
            #expect(try fresh.load("a") == h.state("a"))
        }
    }

    @Test func publishingTheSameTextTwiceIsIdempotent() async throws {
        try await StoreHarness.run { h in
            let first = try await h.publish(permitV1YAML, file: "permit.yaml")
            let again = try await h.publish(permitV1YAML, file: "permit.yaml")
            #expect(again.hash == first.hash)
            let published = try h.store.readStream(WorkflowRegistry.stream, limit: Int.max)
            #expect(published.map(\.type) == [WorkflowRegistry.publishedType])
            #expect(enginePayload(published[0])["hash"] == .string(first.hash))

            // Publishing v2, then v1 again, leaves v2 the latest and adds only v2's event.
            let v2 = try await h.publish(permitV2YAML, file: "permit-v2.yaml")
            _ = try await h.publish(permitV1YAML, file: "permit.yaml")
            #expect(try h.store.readStream(WorkflowRegistry.stream, limit: Int.max).count == 2)
            #expect(try h.engine.registry.latest("permit").hash == v2.hash)
            let c = try #require(try await h.engine.open(workflow: "permit", caseId: "c", actor: Actor(role: "clerk", id: "wang"),
                                                         at: at("2026-03-02T09:00+08:00")).acceptedState)
            #expect(c.definitionHash == v2.hash)
        }
    }

    // MARK: 6. Timers

    @Test func overdueClockBreachesExactlyOnce() async throws {
        try await StoreHarness.run { h in
            try await h.publishResidentRequest()
            _ = try await openRequest(h, "t1", at: "2026-02-12T09:00+08:00")
            let deadline = at("2026-02-26T23:59:59.999+08:00")

            #expect(try await h.engine.runTimers(until: at("2026-02-26T23:59:59.998+08:00")).isEmpty)
            #expect(try h.types("t1") == ["case.opened", "request.received"])

            let fired = try await h.engine.runTimers(until: at("2026-02-27T09:00+08:00"))
            #expect(fired.count == 1)
            #expect(fired.first?.caseId == "t1" && fired.first?.clock == "completion" && fired.first?.deadline == deadline)
            let events = try h.events("t1")
            #expect(events.map(\.type) == ["case.opened", "request.received", "clock.breached", "request.overdue"])
            for e in events.suffix(2) {
                #expect(e.recordedAt == deadline)
                #expect(e.actor == "system:timers")
                let p = enginePayload(e)
                #expect(p["case"] == .string("t1") && p["clock"] == .string("completion"))
                #expect(p["deadline"] == .string("2026-02-26T15:59:59.999Z") && p["at"] == .string("2026-02-26T15:59:59.999Z"))
                #expect(p["event"] == .string("request.overdue") && p["flag"] == .string("overdue") && p["notify"] == .string("supervisor"))
                #expect(p["budget"] == .string("5 working days"))
                #expect(p["moveTo"] == nil)
            }
            let state = try h.state("t1")
            #expect(state.data["overdue"] == .boolean(true))
            #expect(state.breaches == ["completion": deadline])
            #expect(state.state == "received")
            #expect(state.updatedAt == deadline)
            #expect(state.clocks["completion"]?.isRunning == true)

            // Running again, at the same or a later time, records nothing.
            #expect(try await h.engine.runTimers(until: at("2026-02-27T09:00+08:00")).isEmpty)
            #expect(try await h.engine.runTimers(until: at("2026-06-30T00:00+08:00")).isEmpty)
            #expect(try h.events("t1").count == 4)

            // A breach stands: pausing and resuming after it does not move the deadline or fire again.
            _ = try await accept(h, "t1", "notify-missing", as: counter, #"{"missing":["照片 photo"]}"#, at: "2026-02-27T10:00+08:00")
            let resumed = try await accept(h, "t1", "supply-materials", as: resident, at: "2026-03-02T10:00+08:00")
            let calendar = try #require(try h.engine.registry.latest("resident-request").calendar)
            #expect(try resumed.clocks["completion"]?.deadline(calendar: calendar) == deadline)
            #expect(try await h.engine.runTimers(until: at("2026-06-30T00:00+08:00")).isEmpty)
            #expect(try h.types("t1").filter { $0 == CaseEventType.clockBreached }.count == 1)
        }
    }

    @Test func concurrentTimerRunsBreachOnce() async throws {
        try await StoreHarness.run { h in
            try await h.publishResidentRequest()
            for id in ["p1", "p2", "p3"] { _ = try await openRequest(h, id, at: "2026-02-12T09:00+08:00") }
            let engine = h.engine
            let until = at("2026-03-01T00:00+08:00")
            let runs = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<4 { group.addTask { try await engine.runTimers(until: until).map(\.caseId) } }
                var all: [[String]] = []
                for try await r in group { all.append(r) }
                return all
            }
            #expect(runs.flatMap { $0 }.sorted() == ["p1", "p2", "p3"])
            for id in ["p1", "p2", "p3"] {
                #expect(try h.types(id) == ["case.opened", "request.received", "clock.breached", "request.overdue"])
                #expect(try h.state(id).data["overdue"] == .boolean(true))
            }
        }
    }

    @Test func pausedClockDoesNotBreachUntilResumed() async throws {
        try await StoreHarness.run { h in
            try await h.publishResidentRequest()
            _ = try await openRequest(h, "w1", at: "2026-02-12T09:00+08:00")
            _ = try await accept(h, "w1", "notify-missing", as: counter, #"{"missing":["照片 photo"]}"#, at: "2026-02-12T10:00+08:00")
            #expect(try await h.engine.runTimers(until: at("2026-03-02T09:00+08:00")).isEmpty)
            #expect(try h.state("w1").data["overdue"] == .boolean(false))

            // Resumed Mon 2 Mar: 5 working days from then — 3, 4, 5, 6, 9 Mar.
            _ = try await accept(h, "w1", "supply-materials", as: resident, at: "2026-03-02T09:30+08:00")
            #expect(try await h.engine.runTimers(until: at("2026-03-09T23:59:59.998+08:00")).isEmpty)
            let fired = try await h.engine.runTimers(until: at("2026-03-10T08:00+08:00"))
            #expect(fired.map(\.deadline) == [at("2026-03-09T23:59:59.999+08:00")])
            #expect(try h.types("w1").filter { $0 == CaseEventType.clockBreached }.count == 1)
        }
    }

    @Test func stoppedClockDoesNotBreach() async throws {
        try await StoreHarness.run { h in
            try await h.publishResidentRequest()
            _ = try await openRequest(h, "s1", at: "2026-02-12T09:00+08:00")
            _ = try await accept(h, "s1", "hand-off", as: counter, at: "2026-02-13T09:00+08:00")
            _ = try await accept(h, "s1", "complete", as: backOffice, at: "2026-02-25T09:00+08:00")
            #expect(try await h.engine.runTimers(until: at("2026-12-31T00:00+08:00")).isEmpty)
            #expect(!(try h.types("s1")).contains(CaseEventType.clockBreached))
            #expect(try h.state("s1").data["overdue"] == .boolean(false))
        }
    }

    /// The clock rules say a pause that begins after the deadline does not move it ("a breach stands"),
    /// and `ClockState.deadline(calendar:)` keeps returning that deadline while paused. The breach must
    /// be recorded even if no timer run happened between the deadline and the pause.
    @Test func clockPausedAfterItsDeadlineStillBreaches() async throws {
        try await StoreHarness.run { h in
            let compiled = try await h.publishResidentRequest()
            let calendar = try #require(compiled.calendar)
            let deadline = at("2026-02-26T23:59:59.999+08:00")
            _ = try await openRequest(h, "late", at: "2026-02-12T09:00+08:00")
            // No timer run until after the notice, given Mon 2 Mar — days after the deadline.
            let paused = try await accept(h, "late", "notify-missing", as: counter, #"{"missing":["照片 photo"]}"#, at: "2026-03-02T10:00+08:00")
            let clock = try #require(paused.clocks["completion"])
            #expect(clock.isPaused)
            #expect(try clock.deadline(calendar: calendar) == deadline)
            #expect(try clock.isBreached(at: at("2026-03-03T00:00+08:00"), calendar: calendar))

            let fired = try await h.engine.runTimers(until: at("2026-03-03T00:00+08:00"))
            #expect(fired.map(\.deadline) == [deadline], "a clock breached before it was paused is not fired while paused")
            #expect(try h.types("late").filter { $0 == CaseEventType.clockBreached }.count == 1)
            #expect(try h.state("late").data["overdue"] == .boolean(true))
        }
    }

    /// A clock stopped after its deadline finished late ("finished late stays true forever"): the breach
    /// is recorded at the deadline, once, even if no timer run happened before the stop.
    @Test func clockStoppedLateBreachesOnce() async throws {
        try await StoreHarness.run { h in
            try await h.publishResidentRequest()
            _ = try await openRequest(h, "sl", at: "2026-02-12T09:00+08:00")
            _ = try await accept(h, "sl", "hand-off", as: counter, at: "2026-02-13T09:00+08:00")
            _ = try await accept(h, "sl", "complete", as: backOffice, at: "2026-03-03T09:00+08:00")
            let fired = try await h.engine.runTimers(until: at("2026-03-04T00:00+08:00"))
            #expect(fired.map(\.deadline) == [at("2026-02-26T23:59:59.999+08:00")])
            #expect(try await h.engine.runTimers(until: at("2026-12-31T00:00+08:00")).isEmpty)
            #expect(try h.types("sl").filter { $0 == CaseEventType.clockBreached }.count == 1)
            let state = try h.state("sl")
            #expect(state.data["overdue"] == .boolean(true))
            #expect(state.state == "completed")
        }
    }

    /// A final state ends a case: a breach found after the case was closed late may flag it, but must not
    /// move it out of its final state (the escalation's `move-to`).
    @Test func lateBreachDoesNotMoveAClosedCase() async throws {
        try await StoreHarness.run { h in
            try await h.publish(ticketYAML, file: "ticket.yaml")
            let agent = Actor(role: "agent", id: "wu")
            _ = try #require(try await h.engine.open(workflow: "ticket", caseId: "k3", actor: agent, at: at("2026-03-02T09:00+08:00")).acceptedState)
            // Due 13:00; closed at 14:00 with no timer run in between.
            let closed = try await accept(h, "k3", "close", as: agent, at: "2026-03-02T14:00+08:00")
            #expect(closed.state == "done")
            _ = try await h.engine.runTimers(until: at("2026-03-02T15:00+08:00"))
            let state = try h.state("k3")
            #expect(state.state == "done", "a timer moved a case out of its final state 'done' to '\(state.state)'")
            // And the case takes no commands as if it were still open.
            let outcome = try await h.engine.handle(caseId: "k3", command: "close", actor: Actor(role: "lead", id: "ma"),
                                                    at: at("2026-03-02T16:00+08:00"))
            #expect(outcome.rejection?.check == .state, "a closed case accepted 'close' again")
        }
    }

    @Test func hoursClockBreachesAtExactlyStartPlusHours() async throws {
        try await StoreHarness.run { h in
            try await h.publish(ticketYAML, file: "ticket.yaml")
            let agent = Actor(role: "agent", id: "wu")
            // Opened on a Spring Festival holiday: hours do not care about the calendar.
            let opened = at("2026-02-16T10:15:30.250+08:00")
            _ = try #require(try await h.engine.open(workflow: "ticket", caseId: "k1", actor: agent, at: opened).acceptedState)
            let deadline = at("2026-02-16T14:15:30.250+08:00")
            #expect(deadline.millisecondsSince1970 - opened.millisecondsSince1970 == 4 * 3_600_000)

            #expect(try await h.engine.runTimers(until: Timestamp(millisecondsSince1970: deadline.millisecondsSince1970 - 1)).isEmpty)
            let fired = try await h.engine.runTimers(until: deadline)
            #expect(fired.count == 1 && fired.first?.deadline == deadline)
            let events = try h.events("k1")
            #expect(events.map(\.type) == ["case.opened", "clock.breached", "ticket.late"])
            let p = enginePayload(events[1])
            #expect(p["deadline"] == .string(deadline.iso8601) && p["budget"] == .string("4 hours"))
            #expect(p["moveTo"] == .string("escalated") && p["flag"] == .string("late") && p["notify"] == .string("lead"))
            #expect(events[1].recordedAt == deadline)
            let state = try h.state("k1")
            #expect(state.state == "escalated")
            #expect(state.data["late"] == .boolean(true))
            #expect(try await h.engine.runTimers(until: at("2026-02-17T00:00+08:00")).isEmpty)
            _ = try await accept(h, "k1", "close", as: Actor(role: "lead", id: "ma"), at: "2026-02-16T15:00+08:00")
            #expect(try h.state("k1").state == "done")

            // A pause moves an hours deadline by exactly its length: 09:00 + 4 h + 1 h 30 min paused.
            _ = try #require(try await h.engine.open(workflow: "ticket", caseId: "k2", actor: agent, at: at("2026-03-02T09:00+08:00")).acceptedState)
            _ = try await accept(h, "k2", "hold", as: agent, at: "2026-03-02T10:00+08:00")
            _ = try await accept(h, "k2", "unhold", as: agent, at: "2026-03-02T11:30+08:00")
            #expect(try await h.engine.runTimers(until: at("2026-03-02T14:29:59.999+08:00")).isEmpty)
            let second = try await h.engine.runTimers(until: at("2026-03-02T18:00+08:00"))
            #expect(second.map(\.caseId) == ["k2"])
            #expect(second.first?.deadline == at("2026-03-02T14:30+08:00"))
        }
    }

    // MARK: 7. Decision tables

    @Test func decisionTableSetsOutputsAndRecordsTheRule() async throws {
        try await StoreHarness.run { h in
            try await h.publish(grantYAML, file: "grant.yaml")
            let clerk = Actor(role: "clerk", id: "wang")
            let lines = grantYAML.split(separator: "\n", omittingEmptySubsequences: false)
            func line(of text: String) -> Int64 { Int64((lines.firstIndex { $0.contains(text) } ?? -1) + 1) }
            let at = at("2026-03-02T09:00+08:00")

            let cases: [(id: String, data: String, rule: Int64, ruleText: String, tier: String, approver: String, fast: Bool, inputs: String)] = [
                ("g1", #"{"amount":250000,"category":"general"}"#, 2, #""[100000..500000]""#, "mid", "head", false, #"[250000,"general"]"#),
                ("g2", #"{"amount":99999,"category":"general"}"#, 1, #""< 100000""#, "low", "clerk", true, #"[99999,"general"]"#),
                ("g3", #"{"amount":100000,"category":"general"}"#, 2, #""[100000..500000]""#, "mid", "head", false, #"[100000,"general"]"#),
                ("g4", #"{"amount":9000000,"category":"special"}"#, 3, #"["-", special]"#, "special", "director", false, #"[9000000,"special"]"#),
            ]
            for c in cases {
                _ = try #require(try await h.engine.open(workflow: "grant", caseId: c.id, actor: clerk, data: json(c.data), at: at).acceptedState)
                let assessed = try await accept(h, c.id, "assess", as: clerk, at: "2026-03-02T10:00+08:00")
                #expect(assessed.state == "assessed")
                #expect(assessed.data["tier"] == .string(c.tier), "\(c.id)")
                #expect(assessed.data["approver"] == .string(c.approver), "\(c.id)")
                #expect(assessed.data["fast"] == .boolean(c.fast), "\(c.id)")
                // Assignments see the decision's outputs.
                #expect(assessed.data["routedTo"] == .string(c.approver), "\(c.id)")
                let event = try #require(try h.events(c.id).last)
                #expect(event.type == CaseEventType.commandAccepted)
                let decisions = try #require(enginePayload(event)["decisions"]?.array)
                #expect(decisions.count == 1)
                let d = try #require(decisions.first?.object)
                #expect(d["table"] == .string("route"))
                #expect(d["rule"] == .int(c.rule), "\(c.id)")
                #expect(d["line"] == .int(line(of: c.ruleText)), "\(c.id)")
                #expect(d["inputs"] == json(c.inputs), "\(c.id)")
                #expect(d["outputs"] == .object(["tier": .string(c.tier), "approver": .string(c.approver), "fast": .bool(c.fast)]), "\(c.id)")
                #expect(enginePayload(event)["set"] == .object(["tier": .string(c.tier), "approver": .string(c.approver), "fast": .bool(c.fast),
                                                               "routedTo": .string(c.approver)]))
            }
        }
    }

    @Test func noMatchingDecisionRuleIsRefused() async throws {
        try await StoreHarness.run { h in
            try await h.publish(grantYAML, file: "grant.yaml")
            let clerk = Actor(role: "clerk", id: "wang")
            let at = at("2026-03-02T09:00+08:00")
            for (id, data) in [("n1", #"{"amount":500001,"category":"general"}"#), ("n2", #"{"amount":100,"category":"other"}"#)] {
                _ = try #require(try await h.engine.open(workflow: "grant", caseId: id, actor: clerk, data: json(data), at: at).acceptedState)
                let r = try await expectRejected(h, id, "assess", as: clerk, at: "2026-03-02T10:00+08:00", check: .decision)
                #expect(r.details == ["decision": "route"])
                #expect(r.message.hasPrefix("no rule of decision 'route' matches case.amount="))
                let state = try h.state(id)
                #expect(state.state == "draft" && state.data["tier"] == nil && state.data["approver"] == nil)
            }
        }
    }

    // MARK: 8. What assignments and guards see

    @Test func assignmentsAndGuardsSeeDataCaseNowActorAndRole() async throws {
        try await StoreHarness.run { h in
            try await h.publish(errandYAML, file: "errand.yaml")
            let wang = Actor(role: "clerk", id: "wang"), li = Actor(role: "clerk", id: "li"), zhao = Actor(role: "head", id: "zhao")
            // 20:00 UTC on 1 Mar is 04:00 on 2 Mar in Beijing: `today` is the China date.
            let openedAt = at("2026-03-01T20:00:00Z")
            let opened = try #require(try await h.engine.open(workflow: "errand", caseId: "e1", actor: wang,
                                                              data: json(#"{"budget":50000,"note":"printer paper"}"#), at: openedAt).acceptedState)
            #expect(opened.data["owner"] == .string("wang"))
            #expect(opened.data["ownerRole"] == .string("clerk"))
            #expect(opened.data["openedAt"] == .datetime(openedAt))
            #expect(opened.data["openedOn"]?.description == "2026-03-02")
            #expect(opened.data["budget"] == .money(50000))
            #expect(opened.data["spent"] == .money(0))
            #expect(opened.data["note"] == .string("printer paper"))

            // Each assignment sees the case as it was: `previous` gets the old `spent`.
            let first = try await accept(h, "e1", "spend", as: wang, #"{"amount":12000}"#, at: "2026-03-03T09:00+08:00")
            #expect(first.data["spent"] == .money(12000) && first.data["previous"] == .money(0) && first.data["lastBy"] == .string("wang"))

            // Another clerk may not spend on wang's errand …
            var r = try await expectRejected(h, "e1", "spend", as: li, #"{"amount":1000}"#, at: "2026-03-03T10:00+08:00", check: .guardFailed)
            #expect(r.message == "only the owner or a head may spend")
            #expect(r.details["actor"] == #""li""#)
            #expect(r.details["case.owner"] == #""wang""#)
            #expect(r.details["role"] == #""clerk""#)

            // … but a head may.
            let second = try await accept(h, "e1", "spend", as: zhao, #"{"amount":30000}"#, at: "2026-03-03T11:00+08:00")
            #expect(second.data["spent"] == .money(42000) && second.data["previous"] == .money(12000) && second.data["lastBy"] == .string("zhao"))

            // Command data against case data.
            r = try await expectRejected(h, "e1", "spend", as: wang, #"{"amount":10000}"#, at: "2026-03-03T12:00+08:00", check: .guardFailed)
            #expect(r.message == "over budget")
            #expect(r.details["case.spent"] == "¥420.00" && r.details["data.amount"] == "¥100.00" && r.details["case.budget"] == "¥500.00")
            r = try await expectRejected(h, "e1", "spend", as: wang, #"{"amount":0}"#, at: "2026-03-03T12:00+08:00", check: .guardFailed)
            #expect(r.message == "an amount must be positive")

            // A date in the command against `today`.
            r = try await expectRejected(h, "e1", "schedule", as: wang, #"{"day":"2026-03-03"}"#, at: "2026-03-04T09:00+08:00", check: .guardFailed)
            #expect(r.details["data.day"] == "2026-03-03" && r.details["today"] == "2026-03-04")
            let scheduled = try await accept(h, "e1", "schedule", as: wang, #"{"day":"2026-03-04"}"#, at: "2026-03-04T09:00+08:00")
            #expect(scheduled.data["due"]?.description == "2026-03-04")
            #expect(scheduled.data["urgent"] == .null)

            // `now` / `today`: 30 days after 2 Mar is still allowed until midnight Beijing time on 1 Apr.
            _ = try await accept(h, "e1", "spend", as: wang, #"{"amount":100}"#, at: "2026-04-01T23:59+08:00")
            r = try await expectRejected(h, "e1", "spend", as: wang, #"{"amount":100}"#, at: "2026-04-01T16:00:00Z", check: .guardFailed)
            #expect(r.message == "the errand is older than 30 days")
            #expect(r.details["today"] == "2026-04-02" && r.details["case.openedOn"] == "2026-03-02")

            let final = try h.state("e1")
            #expect(final.data["spent"] == .money(42100))
            #expect(final.accepted == 5 && final.rejected == 5)
        }
    }
}

// MARK: - Helpers

extension EngineTests {
    /// Opens a resident request as counter:wang.
    func openRequest(_ h: StoreHarness, _ caseId: String, at time: String,
                     sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws -> CaseState {
        let outcome = try await h.engine.open(workflow: "resident-request", caseId: caseId, actor: counter, data: json(requestData),
                                              at: at(time))
        if let r = outcome.rejection { Issue.record("opening \(caseId) refused: \(r)", sourceLocation: sourceLocation) }
        return try #require(outcome.acceptedState, sourceLocation: sourceLocation)
    }

    /// Issues a command that must be accepted; returns the case as it then stands.
    @discardableResult
    func accept(_ h: StoreHarness, _ caseId: String, _ command: String, as actor: Actor, _ data: String = "{}", at time: String,
                sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws -> CaseState {
        let before = try h.events(caseId).count
        let outcome = try await h.engine.handle(caseId: caseId, command: command, actor: actor, data: json(data), at: at(time))
        if let r = outcome.rejection { Issue.record("\(command) on \(caseId) refused: \(r)", sourceLocation: sourceLocation) }
        let state = try #require(outcome.acceptedState, sourceLocation: sourceLocation)
        let events = try h.events(caseId)
        #expect(events.count > before, sourceLocation: sourceLocation)
        #expect(events[before].type == CaseEventType.commandAccepted, sourceLocation: sourceLocation)
        #expect(events[before].position == outcome.position, sourceLocation: sourceLocation)
        #expect(try h.state(caseId) == state, sourceLocation: sourceLocation)
        #expect(try h.replayed(caseId) == state, "the state returned differs from the events folded afresh", sourceLocation: sourceLocation)
        #expect(try CaseEngine(store: h.store).load(caseId) == state, "a fresh engine loads another state", sourceLocation: sourceLocation)
        return state
    }

    /// Issues a command that must be refused with `check`, and checks that exactly one
    /// `case.command-rejected` event was recorded, carrying the check, reason and details, and that the
    /// case is otherwise unchanged. `opening` issues it through `open` for that workflow.
    @discardableResult
    func expectRejected(_ h: StoreHarness, _ caseId: String, _ command: String, as actor: Actor, _ data: String = "{}", at time: String,
                        check: Rejection.Check, opening: String? = nil,
                        sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws -> Rejection {
        let before = try h.state(caseId, sourceLocation: sourceLocation)
        let eventsBefore = try h.events(caseId)
        let json = json(data)
        let outcome: CommandOutcome
        if let opening {
            outcome = try await h.engine.open(workflow: opening, caseId: caseId, command: command, actor: actor, data: json, at: at(time))
        } else {
            outcome = try await h.engine.handle(caseId: caseId, command: command, actor: actor, data: json, at: at(time))
        }
        let rejection = try #require(outcome.rejection, "\(command) on \(caseId) was accepted", sourceLocation: sourceLocation)
        #expect(rejection.check == check, "\(rejection)", sourceLocation: sourceLocation)

        let events = try h.events(caseId)
        #expect(events.count == eventsBefore.count + 1, sourceLocation: sourceLocation)
        #expect(Array(events.prefix(eventsBefore.count)) == eventsBefore, sourceLocation: sourceLocation)
        let e = try #require(events.last, sourceLocation: sourceLocation)
        #expect(e.type == CaseEventType.commandRejected, sourceLocation: sourceLocation)
        #expect(e.position == outcome.position, sourceLocation: sourceLocation)
        #expect(e.actor == actor.description, sourceLocation: sourceLocation)
        #expect(e.recordedAt == at(time), sourceLocation: sourceLocation)
        let p = enginePayload(e)
        #expect(p["check"] == .string(check.rawValue), sourceLocation: sourceLocation)
        #expect(p["reason"] == .string(rejection.message), sourceLocation: sourceLocation)
        #expect(p["details"] == .object(rejection.details.mapValues(JSONValue.string)), sourceLocation: sourceLocation)
        #expect(p["case"] == .string(caseId) && p["command"] == .string(command), sourceLocation: sourceLocation)
        #expect(p["actor"] == .string(actor.id) && p["role"] == .string(actor.role), sourceLocation: sourceLocation)
        // The data as given, with personal data recorded sealed (and opening to what was given).
        func revealed(_ v: JSONValue?) -> JSONValue? {
            guard let v else { return nil }
            if let sealed = PersonalData.sealed(v) {
                return (try? h.engine.vault.open(sealed.ciphertext, subject: sealed.subject)).flatMap { $0.flatMap { try? JSONValue.parse($0) } }
            }
            if case .object(let o) = v { return .object(o.compactMapValues(revealed)) }
            return v
        }
        #expect(revealed(p["data"]) == json, sourceLocation: sourceLocation)

        var expected = before
        expected.rejected += 1
        expected.streamVersion = e.streamVersion
        #expect(try h.state(caseId) == expected, sourceLocation: sourceLocation)
        #expect(try h.replayed(caseId) == expected, sourceLocation: sourceLocation)
        return rejection
    }
}
