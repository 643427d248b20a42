import CasebookLog
import CasebookTestSupport
import CasebookWorkflow
import Foundation
import Testing

@testable import CasebookAudit

/// The timeline's shortcuts give what the plain computations give.
@Suite struct TimelineHelperTests {
    @Test func lastComponentIsTheLastNonEmptyPartSplitAtDots() {
        for name in ["case.count", "data.note", "count", "", ".", "..", "a.", ".a", "a..b", "case.x.", "case.社区", "社区.名", "a.b.c", "é.x"] {
            #expect(lastComponent(name) == (name.split(separator: ".").last.map(String.init) ?? name), "\(name)")
        }
    }

    /// A clock's snapshot taken again only when it changed is the snapshot taken afresh at every step: through
    /// starts, pauses (open and closed), resumes, a breach, a stop and a change of calendar.
    @Test func clockSnapshotsTakenOnlyOnChangeAreTheFreshOnes() throws {
        let text = try String(contentsOfFile: calendarDirectory + "/cn-2026.yaml", encoding: .utf8)
        let cn = try WorkingCalendar.parse(yaml: text, file: "cn-2026.yaml")
        var state = CaseState(caseId: "c")
        var snapshots = ClockSnapshots()
        var time = Timestamp(iso8601: "2026-03-02T09:00:00+08:00")!
        var steps = 0
        func step(_ change: (inout CaseState) throws -> Void = { _ in }, definition: String = "d1", calendar: WorkingCalendar? = cn,
                  hours: Int64 = 1) throws {
            time.millisecondsSince1970 += hours * 3_600_000
            try change(&state)
            let taken = snapshots.take(state, definition: definition, calendar: calendar, at: time)
            #expect(taken == CaseTimeline.clocks(state, calendar: calendar, at: time), "step \(steps)")
            steps += 1
        }
        func clock(_ name: String, _ op: @escaping (inout ClockState) throws -> Void) -> (inout CaseState) throws -> Void {
            { s in
                var c = s.clocks[name] ?? ClockState()
                try op(&c)
                s.clocks[name] = c
            }
        }
        try step(clock("a") { try $0.start(at: time, budget: .workingDays(3)) })
        try step()
        try step(clock("b") { try $0.start(at: time, budget: .hours(30)) })
        try step()
        try step(clock("a") { try $0.pause(at: time) })
        try step()
        try step()  // the open pause grows
        try step(clock("a") { try $0.resume(at: time) })
        try step()
        try step(hours: -3)  // a step recorded before the clock's latest event: the clock as it was then
        try step(hours: 3)
        try step(clock("a") { try $0.pause(at: time) })
        try step(hours: -2)  // before the open pause began
        try step(hours: 3)
        try step(clock("a") { try $0.resume(at: time) })
        try step { $0.breaches["b"] = Timestamp(iso8601: "2026-03-03T15:00:00+08:00")! }
        try step()
        try step(definition: "d2", calendar: nil)  // another definition, without a calendar: no deadlines
        try step(definition: "d2", calendar: nil)
        try step(clock("b") { try $0.stop(at: time) })
        try step()
    }
}
