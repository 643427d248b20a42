import CasebookExport
import CasebookLog
import Foundation
import CasebookWorkflow
import Testing
@testable import CasebookTestSupport

@Suite struct FormattingTests {
    @Test func displayWidthCountsWideCharactersTwice() {
        #expect(DisplayWidth.of("abc") == 3)
        #expect(DisplayWidth.of("新河社区") == 8)
        #expect(DisplayWidth.of("鄞州区·福明社区") == 15)  // the middle dot is narrow
        #expect(DisplayWidth.of("ＡＢ") == 4)  // fullwidth forms
        #expect(DisplayWidth.of("，。") == 4)  // CJK punctuation
        #expect(DisplayWidth.of("e\u{301}") == 1)  // a combining accent takes no column
        #expect(DisplayWidth.of("한국") == 4)
        #expect(DisplayWidth.of("¥1,400.00") == 9)
        #expect(DisplayWidth.pad("民政局", to: 8) == "民政局  ")
        #expect(DisplayWidth.pad("12", to: 4, alignRight: true) == "  12")
    }

    @Test func tablesLineUpChineseText() {
        let t = ResultTable(columns: ["community", "outstanding"],
                            rows: [[.text("新河社区"), .fen(140_000)], [.text("abc"), .fen(5)], [.text("鄞州区·福明社区"), .fen(-1_234_567)]])
        let lines = t.render(.table).split(separator: "\n").map(String.init)
        #expect(lines.count == 6)
        // Every line up to the count is as wide as the header's separator line.
        let width = DisplayWidth.of(lines[1])
        for line in lines[0..<5] { #expect(DisplayWidth.of(line) == width, "\(line)") }
        #expect(lines[2] == "新河社区" + String(repeating: " ", count: 12) + "1,400.00")
        #expect(lines[4].hasSuffix("-12,345.67"))
        #expect(lines[5] == "(3 rows)")
    }

    @Test func csvQuotesAndJSONKeepsColumnOrder() throws {
        let t = ResultTable(columns: ["case", "title", "due_at", "late", "handling"],
                            rows: [[.text("a"), .text("say \"hi\", then go"), .time(0), .flag(true), .empty],
                                   [.text("b"), .text("新河"), .time(1_772_413_200_000), .flag(false), .int(90)]])
        #expect(t.render(.csv) == "case,title,due_at,late,handling\r\na,\"say \"\"hi\"\", then go\",,true,\r\nb,新河,2026-03-02T01:00:00.000Z,false,90\r\n")
        let json = t.render(.json)
        #expect(json.hasPrefix(#"[{"case":"a","title":"say \"hi\", then go","due_at":null,"late":true,"handling":null}"#))
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(parsed.count == 2 && parsed[1]["due_at"] as? String == "2026-03-02T01:00:00.000Z" && parsed[1]["handling"] as? Int == 90)
        #expect(Cell.time(1_772_413_200_000).display == "2026-03-02 09:00")  // China time
    }

    @Test func filtersAndSorting() throws {
        let t = ResultTable(columns: ["case", "community", "amount", "at", "late"],
                            rows: [[.text("a"), .text("东风社区"), .fen(500), .time(1_772_413_200_000), .flag(true)],
                                   [.text("b"), .text("新河社区"), .fen(150_000), .time(1_775_000_000_000), .flag(false)],
                                   [.text("c"), .text("新河社区"), .fen(20_000), .time(0), .flag(true)]])
        func ids(_ t: ResultTable) throws -> [String] { try t.column("case").map(\.plain) }
        var f = TableFilter()
        f.equals("community", "新河社区")
        #expect(try ids(t.filtered(f)) == ["b", "c"])
        f.flag("late")
        #expect(try ids(t.filtered(f)) == ["c"])
        var p = TableFilter()
        p.period("at", "2026-03")
        #expect(try ids(t.filtered(p)) == ["a"])
        p = TableFilter()
        p.period("at", "2026")
        #expect(try ids(t.filtered(p)) == ["a", "b"])  // an unset time is in no period
        var r = TableFilter()
        r.range("amount", min: 10_000, max: nil)
        #expect(try ids(t.filtered(r)) == ["b", "c"])
        r = TableFilter()
        r.range("amount", min: 600, max: 20_000)
        #expect(try ids(t.filtered(r)) == ["c"])
        #expect(try ids(t.sorted(by: "amount")) == ["a", "c", "b"])
        #expect(try ids(t.sorted(by: "amount", descending: true).limited(2)) == ["b", "c"])
        #expect(try ids(t.sorted(by: "at")) == ["c", "a", "b"])  // unset first
        #expect(try ids(t.sorted(by: "community")) == ["a", "b", "c"])  // stable among equals
        #expect(throws: QueryError.self) { try t.sorted(by: "nope") }
        var bad = TableFilter()
        bad.equals("nope", "x")
        #expect(throws: QueryError.self) { try t.filtered(bad) }
    }

    @Test func amountsInYuanOrFen() {
        #expect(Money.parse("1400") == 140_000)
        #expect(Money.parse("1400.5") == 140_050)
        #expect(Money.parse("12.05yuan") == 1205)
        #expect(Money.parse("3元") == 300)
        #expect(Money.parse("140000fen") == 140_000)
        #expect(Money.parse("-2.50") == -250)
        #expect(Money.parse("1.234") == nil)
        #expect(Money.parse("abc") == nil)
        #expect(Money.parse("") == nil)
        #expect(Money.parse("1.5fen") == nil)
        #expect(Value.yuan(140_000) == "1,400.00" && Value.yuan(-5) == "-0.05" && Value.yuan(-123_456_789, symbol: true) == "-¥1,234,567.89")
    }

    @Test func redactionReplacesSealedValuesOnly() throws {
        let payload = #"{"case":"r1","data":{"applicant":{"pii":"case:r1","ct":"QUJDREVG"},"item":"居住证明","list":[{"ct":"x","pii":"y"},1,true,null]},"pii":"not sealed"}"#
        let out = try #require(Redaction.redact(Array(payload.utf8)))
        #expect(out == #"{"case":"r1","data":{"applicant":"[personal data]","item":"居住证明","list":["[personal data]",1,true,null]},"pii":"not sealed"}"#)
        #expect(!out.contains("QUJDREVG") && !out.contains("case:r1\""))
        // An object with more than the two keys is not a sealed value and is kept (written with sorted keys).
        #expect(Redaction.redact(Array(#"{"pii":"a","ct":"b","x":1}"#.utf8)) == #"{"ct":"b","pii":"a","x":1}"#)
        #expect(Redaction.redact(Array(#"{"a":"#.utf8)) == nil)
        #expect(Redaction.redact(Array(#"{"a":tru}"#.utf8)) == nil)
        #expect(Redaction.redact(Array(" [ 1 , \"a\\\"b\" ] ".utf8)) == #"[1,"a\"b"]"#)
    }
}

@Suite struct PayloadTests {
    func event(_ payload: String, _ encoding: PayloadEncoding = .json) -> RecordedEvent {
        RecordedEvent(position: 0, streamId: "s", streamVersion: 0, type: "t", schemaVersion: 1, recordedAt: Timestamp(millisecondsSince1970: 0),
                      actor: "", correlationId: "", causationId: "", commandId: "", payloadEncoding: encoding, payload: Array(payload.utf8))
    }

    @Test func payloadsLeaveWithoutPersonalData() {
        // Without a sealed value: copied as written, spacing and all.
        #expect(Redaction.payloadJSON(event(#"{"a": 1, "b": "新河"}"#)) == #"{"a": 1, "b": "新河"}"#)
        #expect(Redaction.payloadJSON(event(#"{"x":{"pii":"case:1","ct":"SECRET"}}"#)) == #"{"x":"[personal data]"}"#)
        // A key spelt with escapes is still found.
        #expect(Redaction.payloadJSON(event(#"{"x":{"pii":"case:1","\u0063t":"SECRET"}}"#)).contains("SECRET") == false)
        // Unparseable JSON that might hold a sealed value, ciphertext payloads and binary are not copied.
        #expect(Redaction.payloadJSON(event(#"{"x":{"pii":"case:1","ct":"SECRET"}"#)) == #""[unreadable JSON payload, 35 bytes]""#)
        #expect(Redaction.payloadJSON(event("SECRET", .encrypted)) == #""[personal data]""#)
        #expect(Redaction.payloadJSON(event("SECRET", .binary)) == #""[binary payload, 6 bytes]""#)
    }
}
