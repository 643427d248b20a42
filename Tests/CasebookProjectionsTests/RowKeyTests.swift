import CasebookLog
import Testing

@testable import CasebookProjections

/// Table keys: parts joined by U+001F, and months in China Standard Time.
@Suite struct RowKeyTests {
    @Test func aKeysBytesAreThePartsJoined() {
        for parts in [["m", "和平五社区", "2026-06"], ["b", "cash", "税务局 Taxation", "", "2026-12"], ["c"], ["", ""]] {
            let joined = parts.joined(separator: "\u{1F}")
            let key: Key = switch parts.count {
            case 1: RowKey.key(parts[0])
            case 2: RowKey.key(parts[0], parts[1])
            case 3: RowKey.key(parts[0], parts[1], parts[2])
            default: RowKey.key(parts[0], parts[1], parts[2], parts[3], parts[4])
            }
            #expect(key.bytes == Array(joined.utf8))
            #expect(RowKey.parts(key.string) == parts)
        }
        #expect(RowKey.make("k", "南苑社区", "stamping-item") == "k\u{1F}南苑社区\u{1F}stamping-item")
    }

    @Test func monthsAreCountedInChinaStandardTime() {
        func month(_ iso: String) -> String { RowKey.month(Timestamp(iso8601: iso)!.millisecondsSince1970) }
        #expect(month("2026-06-26T02:35:00.000Z") == "2026-06")
        // Midnight in Beijing is 16:00 UTC the day before.
        #expect(month("2026-06-30T15:59:59.999Z") == "2026-06")
        #expect(month("2026-06-30T16:00:00.000Z") == "2026-07")
        #expect(month("2026-12-31T16:00:00.000Z") == "2027-01")
        #expect(month("2027-01-31T12:00:00.000Z") == "2027-01")
        #expect(month("2026-10-01T00:00:00.000Z") == "2026-10")
        // Before the epoch and outside four-digit years.
        #expect(month("1969-12-31T15:00:00.000Z") == "1969-12")
        #expect(RowKey.month(0) == "1970-01")
        #expect(RowKey.month(-62_167_219_200_000 - 8 * 3_600_000) == "0-01")
        #expect(RowKey.month(253_402_300_800_000) == "10000-01")
    }
}
