import CasebookLog
import Testing

@testable import CasebookWorkflow

/// The fold's direct reading of recorded times gives exactly what `Timestamp(iso8601:)` gives.
@Suite struct CaseStateTimeTests {
    @Test func readsRecordedTimesAsTheGeneralParserDoes() {
        let texts = [
            "2026-03-02T01:00:00.000Z", "2026-12-31T23:59:59.999Z", "1970-01-01T00:00:00.000Z", "0001-01-01T00:00:00.000Z",
            "2024-02-29T12:34:56.789Z", "2026-02-29T12:00:00.000Z", "2026-13-01T00:00:00.000Z", "2026-00-10T00:00:00.000Z",
            "2026-04-31T00:00:00.000Z", "2026-03-02T24:00:00.000Z", "2026-03-02T23:60:00.000Z", "2026-03-02T23:59:60.000Z",
            "2026-03-02T09:00:00.00aZ", "2026-03-02t09:00:00.000Z", "2026-03-02T09:00:00.000z", "2026-03-02T09:00:00+08:00",
            "2026-03-02T09:00:00.000+08:00", "2026-03-02", "2026-03-02T09:00Z", "", "x026-03-02T09:00:00.000Z",
        ]
        for text in texts {
            #expect(CaseState.time(text) == Timestamp(iso8601: text), "\(text)")
        }
        #expect(CaseState.time("2026-03-02T01:00:00.000Z") == Timestamp(millisecondsSince1970: 1_772_413_200_000))
    }
}
