import Foundation
import Testing

@testable import CasebookWorkflow

/// The engine's own JSON parser: what it accepts, what it refuses, and that it reads what the engine
/// writes exactly as written.
@Suite struct JSONValueTests {
    @Test func readsEveryKindOfValue() throws {
        let v = try JSONValue.parse(#" {"a": [1, -2, 3.5, 1e2, 0, -0.25], "b": true, "c": false, "d": null, "e": "社区", "f": {}} "#)
        #expect(v == .object([
            "a": .array([.int(1), .int(-2), .double(3.5), .int(100), .int(0), .double(-0.25)]),
            "b": .bool(true), "c": .bool(false), "d": .null, "e": .string("社区"), "f": .object([:]),
        ]))
        #expect(try JSONValue.parse("9223372036854775807") == .int(Int64.max))
        #expect(try JSONValue.parse("[]") == .array([]))
    }

    @Test func readsNestedObjectsRepeatedNamesAndWholeNumbersAtTheirLimits() throws {
        // Objects inside objects and arrays, members after a nested object, and a repeated name (the last wins).
        let v = try JSONValue.parse(#"{"a":{"b":{"c":1},"d":[{"e":2},{"f":3,"f":4}],"g":5},"h":6,"h":7,"i":{}}"#)
        #expect(v == .object([
            "a": .object(["b": .object(["c": .int(1)]), "d": .array([.object(["e": .int(2)]), .object(["f": .int(4)])]), "g": .int(5)]),
            "h": .int(7), "i": .object([:]),
        ]))
        #expect(try JSONValue.parse("-0") == .int(0))
        #expect(try JSONValue.parse("-12") == .int(-12))
        #expect(try JSONValue.parse("999999999999999999") == .int(999_999_999_999_999_999))
        #expect(try JSONValue.parse("-999999999999999999") == .int(-999_999_999_999_999_999))
        #expect(try JSONValue.parse("1000000000000000000") == .int(1_000_000_000_000_000_000))
        #expect(try JSONValue.parse("-9223372036854775808") == .int(Int64.min))
        #expect(try JSONValue.parse("9223372036854775808") == .double(9_223_372_036_854_775_808))
        #expect(try JSONValue.parse("[0,10,-7]") == .array([.int(0), .int(10), .int(-7)]))
    }

    @Test func unescapesStrings() throws {
        #expect(try JSONValue.parse(#""a\"b\\c\/d\n\t\r\b\f""#) == .string("a\"b\\c/d\n\t\r\u{08}\u{0C}"))
        #expect(try JSONValue.parse(#""\u793e\u533a""#) == .string("社区"))
        #expect(try JSONValue.parse(#""\ud83d\ude00""#) == .string("😀"))
    }

    @Test func refusesMalformedTextSayingWhere() {
        for (text, offset) in [("{\"a\":}", 5), ("[1,]", 3), ("tru", 0), ("\"abc", 4), ("01", 1), ("1.", 2), ("{\"a\" 1}", 5), ("[1] x", 4), ("\"\\x\"", 2)] {
            do {
                _ = try JSONValue.parse(text)
                Issue.record("accepted \(text)")
            } catch let e as JSONSyntaxError {
                #expect(e.offset == offset, "\(text): \(e)")
            } catch {
                Issue.record("\(text): \(error)")
            }
        }
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(String(repeating: "[", count: 600) + String(repeating: "]", count: 600)) }
    }

    @Test func readsBackWhatTheEngineWritesAndAgreesWithFoundation() throws {
        let value: JSONValue = .object([
            "case": .string("c-1"), "at": .string("2026-03-02T09:00:00.000Z"), "n": .int(-42), "x": .double(0.5),
            "list": .array([.string("户口簿 \"原件\"\n"), .null, .bool(true)]), "nested": .object(["k": .array([])]),
        ])
        #expect(try JSONValue.parse(value.json) == value)
        let foundation = try JSONSerialization.jsonObject(with: Data(value.json.utf8)) as? [String: Any]
        #expect((foundation?["list"] as? [Any])?.first as? String == "户口簿 \"原件\"\n")
    }
}
