import Testing

@testable import CasebookLog

/// Reading ISO 8601 times: the form the engine records, the other accepted forms, and what is refused.
@Suite struct TimestampTests {
    @Test func recordedTimesReadBackExactly() {
        for text in ["2026-03-02T01:00:00.000Z", "2026-12-31T23:59:59.999Z", "1970-01-01T00:00:00.000Z", "0001-01-01T00:00:00.000Z",
                     "2024-02-29T12:34:56.789Z"] {
            #expect(Timestamp(iso8601: text)?.iso8601 == text, "\(text)")
        }
        #expect(Timestamp(iso8601: "2026-03-02T01:00:00.000Z") == Timestamp(millisecondsSince1970: 1_772_413_200_000))
    }

    @Test func otherFormsAndZones() {
        let utc = Timestamp(millisecondsSince1970: 1_772_413_200_000)  // 2026-03-02T01:00:00Z
        for text in ["2026-03-02T09:00:00+08:00", "2026-03-02T09:00:00.000+08:00", "2026-03-02t01:00:00.000z", "2026-03-02T01:00Z",
                     "2026-03-02 01:00:00"] {
            #expect(Timestamp(iso8601: text) == utc, "\(text)")
        }
        #expect(Timestamp(iso8601: "2026-03-02") == Timestamp(millisecondsSince1970: 1_772_409_600_000))
    }

    @Test func impossibleOrMalformedTimesAreRefused() {
        for text in ["2026-02-29T12:00:00.000Z", "2026-13-01T00:00:00.000Z", "2026-00-10T00:00:00.000Z", "2026-04-31T00:00:00.000Z",
                     "2026-03-02T24:00:00.000Z", "2026-03-02T23:60:00.000Z", "2026-03-02T23:59:60.000Z", "2026-03-02T09:00:00.00aZ",
                     "", "x026-03-02T09:00:00.000Z", "2026-03-02T09:00:00.000Zjunk", "2026-03-02T09"] {
            #expect(Timestamp(iso8601: text) == nil, "\(text)")
        }
    }
}
