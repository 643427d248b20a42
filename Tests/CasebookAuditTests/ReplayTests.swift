import CasebookLog
import CasebookTestSupport
import CasebookWorkflow
import Foundation
import Testing

@testable import CasebookAudit

/// The case as the live engine had it when the store ended at `lastPosition`.
struct Snapshot {
    var lastPosition: UInt64
    var at: Timestamp
    var state: CaseState
}

extension StoreHarness {
    /// Issues a command and records the engine's view of the case and the log's last position afterwards.
    func step(_ snapshots: inout [Snapshot], _ caseId: String, _ command: String, _ actor: String, _ data: String = "{}",
              at: String, workflow: String? = nil, expectAccepted: Bool = true,
              sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws {
        let accepted = try await issue(caseId, command, actor, data, at: at, workflow: workflow)
        #expect(accepted == expectAccepted, "\(command) at \(at)", sourceLocation: sourceLocation)
        let state = try #require(try engine.load(caseId), sourceLocation: sourceLocation)
        snapshots.append(Snapshot(lastPosition: store.count - 1, at: Timestamp(iso8601: at)!, state: state))
    }

    /// A resident request for a residence certificate: received, one notice, materials supplied 13 days
    /// later, a refused second notice, completed, rated.
    func residentRequest(_ caseId: String) async throws -> [Snapshot] {
        var s: [Snapshot] = []
        try await step(&s, caseId, "receive", "counter:wang",
                       #"{"item":"residence-certificate","community":"鄞州区·福明社区","applicant":"张三"}"#,
                       at: "2026-03-02T09:00:00+08:00", workflow: "resident-request")
        try await step(&s, caseId, "notify-missing", "counter:wang", #"{"missing":["户口簿"]}"#, at: "2026-03-03T10:00:00+08:00")
        try await step(&s, caseId, "supply-materials", "resident:zhang", at: "2026-03-16T10:00:00+08:00")
        try await step(&s, caseId, "notify-missing", "back-office:li", #"{"missing":["租房合同"]}"#, at: "2026-03-16T11:00:00+08:00",
                       expectAccepted: false)
        try await step(&s, caseId, "complete", "back-office:li", at: "2026-03-17T15:00:00+08:00")
        try await step(&s, caseId, "rate", "resident:zhang", #"{"rating":"satisfied"}"#, at: "2026-03-18T09:00:00+08:00")
        return s
    }

    /// A task admission with a legal basis: applied, reviewed, approved (classified), admitted.
    func taskAdmission(_ caseId: String) async throws -> [Snapshot] {
        var s: [Snapshot] = []
        try await step(&s, caseId, "apply", "department:civil-affairs",
                       #"{"kind":"work-task","title":"测试事项","community":"和平社区","department":"民政局","has_legal_basis":true,"legal_basis":"《城市居民委员会组织法》第三条"}"#,
                       at: "2026-03-02T09:00:00+08:00", workflow: "task-admission")
        try await step(&s, caseId, "review", "street-office:li", at: "2026-03-03T09:00:00+08:00")
        try await step(&s, caseId, "approve", "district-office:zhou", at: "2026-03-04T09:00:00+08:00")
        try await step(&s, caseId, "admit", "district-office:zhou", at: "2026-03-05T09:00:00+08:00")
        return s
    }
}

@Suite struct ReplayTests {
    @Test func explainShowsGuardValuesDecisionsAndDeadlines() async throws {
        try await StoreHarness.run(unsafeNoSync: true) { h in
            try await h.publishRepositoryWorkflows()
            _ = try await h.residentRequest("r1")
            let t = try CaseTimeline.build(store: h.store, registry: h.engine.registry, caseId: "r1", explain: true)
            let events = try h.store.readStream(CaseState.stream("r1"), limit: Int.max)
            #expect(t.steps.map(\.position) == events.map(\.position))
            #expect(t.final.state == "closed")
            let commands = t.steps.filter { $0.command != nil }
            #expect(commands.map(\.command!) == ["receive", "notify-missing", "supply-materials", "notify-missing", "complete", "rate"])
            #expect(commands.map(\.outcome) == ["opened", "accepted", "accepted", "refused", "accepted", "accepted"])

            // Receive: the catalogue decision with its input and outputs; personal data redacted; the clock's deadline.
            let receive = commands[0]
            #expect(receive.definitionVersion == 2)
            #expect(receive.from == "" && receive.to == "received")
            #expect(receive.actor == "counter:wang" && receive.role == "counter")
            #expect(receive.data["applicant"] == PersonalData.placeholder)
            #expect(receive.personalFields == ["applicant"])
            let decision = try #require(receive.explanation.first { $0.kind == "decision" })
            #expect(decision.subject == "service-item")
            #expect(decision.outcome.contains("item residence-certificate"))
            #expect(decision.values.contains { $0.name == "data.item" && $0.value == "residence-certificate" })
            #expect(decision.values.contains { $0.name == "→ case.limit_days" && $0.value == "3" })
            let clock = try #require(receive.clocks.first)
            #expect(clock.name == "completion" && clock.status == "running" && clock.budget == "3 working days")
            // The deadline the engine recorded with the command.
            let recorded = try #require(events.first { $0.type == CaseEventType.opened })
            let op = try #require((try JSONValue.parse(Data(recorded.payload))).object?["clocks"]?.array?.first?.object)
            #expect(clock.deadline?.iso8601 == op["deadline"]?.string)
            #expect(clock.deadline != nil)

            // The accepted notice: both guards true, with the values they saw; the clock pauses.
            let notice = commands[1]
            let guards = notice.explanation.filter { $0.kind == "guard" }
            #expect(guards.map(\.subject) == ["count(data.missing) > 0", "case.notices == 0"])
            #expect(guards.map(\.outcome) == ["true", "true"])
            #expect(guards[0].values.map(\.value) == ["[\"户口簿\"]"])
            #expect(guards[1].values.map(\.name) == ["case.notices"] && guards[1].values.map(\.value) == ["0"])
            #expect(notice.clocks.first?.status == "paused" && notice.clocks.first?.deadline == nil)

            // Supplied 13 days later: the deadline moves on by the pause.
            let supplied = commands[2]
            let resumed = try #require(supplied.clocks.first?.deadline)
            #expect(resumed > clock.deadline!)

            // The refused second notice: the guard that failed, with the value it saw.
            let refused = commands[3]
            #expect(refused.refusal?.hasPrefix("guard:") == true)
            #expect(refused.from == "in-progress" && refused.to == "in-progress")
            let failed = try #require(refused.explanation.first { $0.kind == "guard" && $0.subject == "case.notices == 0" })
            #expect(failed.outcome == "false")
            #expect(failed.values.map(\.value) == ["1"])
            #expect(refused.explanation.contains { $0.kind == "refusal" && $0.subject == "guard" })

            let text = t.text(explain: true)
            #expect(text.contains("… 13 days without events …"))
            #expect(text.contains("applicant=[personal data]"))
            #expect(!text.contains("张三"))
            #expect(text.contains("guard case.notices == 0 ⇒ false  [case.notices=1]"))
            #expect(text.contains("clock completion: running, 3 working days, due \(clock.deadline!.iso8601)"))
            let json = t.json(explain: true).json
            #expect(!json.contains("张三"))
            #expect(json.contains("\"explanation\""))
        }
    }

    @Test func replayUntilEqualsTheStoreAsItWasThen() async throws {
        try await StoreHarness.run(unsafeNoSync: true) { h in
            try await h.publishRepositoryWorkflows()
            let request = try await h.residentRequest("r1")
            let admission = try await h.taskAdmission("t1")
            for (caseId, snapshots) in [("r1", request), ("t1", admission)] {
                for snap in snapshots {
                    let byPosition = try CaseTimeline.build(store: h.store, registry: h.engine.registry, caseId: caseId,
                                                            until: .position(snap.lastPosition), reveal: h.reveal)
                    #expect(byPosition.final == snap.state, "\(caseId) until \(snap.lastPosition)")
                    let byTime = try CaseTimeline.build(store: h.store, registry: h.engine.registry, caseId: caseId,
                                                        until: .time(snap.at), reveal: h.reveal)
                    #expect(byTime.final == snap.state, "\(caseId) as of \(snap.at)")
                }
                // Without the key reader, personal data is redacted but nothing else differs.
                var last = try #require(snapshots.last).state
                let redacted = try CaseTimeline.build(store: h.store, registry: h.engine.registry, caseId: caseId).final
                for field in redacted.redacted { last.data[field] = .null }
                last.redacted = redacted.redacted
                #expect(redacted == last)
            }
            // The admission's classification decision is explained.
            let t = try CaseTimeline.build(store: h.store, registry: h.engine.registry, caseId: "t1", explain: true)
            let approve = try #require(t.steps.first { $0.command == "approve" })
            let table = try #require(approve.explanation.first { $0.kind == "decision" })
            #expect(table.subject == "classification" && table.outcome.hasPrefix("rule 1"))
            #expect(table.values.contains { $0.name == "→ case.category" && $0.value == "must-undertake" })
            #expect(approve.from == "awaiting-filing" && approve.to == "filed")
            #expect(t.final.state == "admitted")
        }
    }

    @Test func diffBetweenTwoPoints() async throws {
        try await StoreHarness.run(unsafeNoSync: true) { h in
            try await h.publishRepositoryWorkflows()
            let s = try await h.residentRequest("r1")
            let diff = try CaseDiff.between(store: h.store, registry: h.engine.registry, caseId: "r1",
                                            from: .position(s[0].lastPosition), to: .position(s[5].lastPosition))
            let changes = Dictionary(uniqueKeysWithValues: diff.changes.map { ($0.subject, $0) })
            #expect(changes["state"]?.before == "received" && changes["state"]?.after == "closed")
            #expect(changes["data.rating"]?.before == "—" && changes["data.rating"]?.after == "\"satisfied\"")
            #expect(changes["data.notices"]?.before == "0" && changes["data.notices"]?.after == "1")
            #expect(changes["clock.completion.status"]?.before == "running" && changes["clock.completion.status"]?.after == "stopped")
            #expect(changes["clock.completion.deadline"]?.after == "—")
            #expect(changes["refused"]?.before == "0" && changes["refused"]?.after == "1")
            #expect(changes["data.applicant"] == nil)  // personal data unchanged (and never shown)
            #expect(changes["data.item"] == nil)
            #expect(diff.positions.first == s[0].lastPosition + 1 && diff.positions.last == s[5].lastPosition)
            // The same by time, and the empty diff.
            let byTime = try CaseDiff.between(store: h.store, registry: h.engine.registry, caseId: "r1",
                                              from: try #require(ReplayPoint("2026-03-02T12:00:00+08:00")),
                                              to: try #require(ReplayPoint("2026-03-19")))
            #expect(byTime.changes == diff.changes)
            let none = try CaseDiff.between(store: h.store, registry: h.engine.registry, caseId: "r1", from: .position(s[5].lastPosition),
                                            to: .time(Timestamp(iso8601: "2027-01-01")!))
            #expect(none.changes.isEmpty)
            #expect(none.text.contains("no changes"))
            #expect(ReplayPoint("12") == .position(12))
            #expect(ReplayPoint("yesterday") == nil)
        }
    }
}
