import Foundation
import Testing

@testable import CasebookWorkflow

/// The members of a case event's payload, read from bytes without decoding the whole payload: the same as
/// taken from the decoded payload, and as strict about malformed text.
@Suite struct CasePayloadTests {
    /// Everything a payload holds, as text, so that two readings can be compared.
    static func summary(_ p: CasePayload?) -> String {
        guard let p else { return "nil" }
        let strings: [(String, String?)] = [
            ("at", p.at), ("definition", p.definition), ("state", p.state), ("to", p.to), ("field", p.field),
            ("linked", p.linked), ("clock", p.clock), ("deadline", p.deadline), ("moveTo", p.moveTo), ("flag", p.flag),
            ("command", p.command), ("role", p.role), ("check", p.check), ("reason", p.reason),
        ]
        var out = strings.map { "\($0.0)=\($0.1 ?? "-")" }
        // Names in order of name: a decoded payload has no member order.
        out.append("set=" + p.set.sorted { $0.name < $1.name }.map { "\($0.name):\($0.value.json)" }.joined(separator: ","))
        out.append("clocks=" + JSONValue.array(p.clocks).json)
        out.append("data=" + (p.data.map { $0.sorted { $0.name < $1.name }.map { "\($0.name):\($0.value.json)" }.joined(separator: ",") } ?? "-"))
        return out.joined(separator: " ")
    }

    static func fromBytes(_ text: String, showing: Bool = true) throws -> CasePayload? {
        try Data(text.utf8).withUnsafeBytes { bytes throws(JSONSyntaxError) in try CasePayload.parse(bytes, showing: showing) }
    }

    static func decoded(_ text: String) throws -> CasePayload? {
        try JSONValue.parse(text).object.map(CasePayload.init)
    }

    @Test func readsWhatTheEngineWritesAsTheDecodedPayloadDoes() throws {
        let texts = [
            // An opening, as the engine writes it: sealed personal data, decisions and clocks.
            #"{"actor":"张子@c532","at":"2026-01-06T01:10:00.000Z","case":"s1-c532-rq0003","clocks":[{"budget":"5 working days","clock":"completion","deadline":"2026-01-13T15:59:59.999Z","op":"start"}],"command":"receive","data":{"applicant":{"ct":"K8amz0KX+h2baJg/CFbxeBZZ16TNY=","pii":"case:s1-c532-rq0003"},"community":"幸福七社区","item":"complaint"},"decisions":[{"catalogue":"service-items","inputs":["complaint"],"line":49,"outputs":{"limit_days":5,"referral":""},"table":"service-item"}],"definition":"f4f8caff5837d5dd","from":"","role":"counter","set":{"certificate":"none","limit_days":5,"notices":0,"overdue":false,"owner":"张子@c532"},"state":"received","version":2,"workflow":"resident-request"}"#,
            // A refusal, a breach, a link and a migration.
            #"{"actor":"a","at":"2026-01-06T01:10:00.000Z","check":"guard","command":"notify","details":{"x":[1,2.5,null,true]},"reason":"only one notice","role":"counter"}"#,
            #"{"at":"2026-01-06T01:10:00.000Z","clock":"completion","deadline":"2026-01-13T15:59:59.999Z","flag":"overdue","moveTo":"late"}"#,
            #"{"field":"rectification","linked":"r-1"}"#,
            #"{"at":"2026-01-06T01:10:00.000Z","from":"abc","to":"def"}"#,
            // Escaped names and values, white space, and members of the wrong type (read as absent).
            #" { "st\u0061te" : "a\"b" , "set" : { "n\u00e4me" : "\u793e\u533a", "x": {"y": [ ]} }, "role": 7, "data": [1], "clocks": {"a": 1}, "command": null } "#,
            #"{}"#,
        ]
        for text in texts {
            #expect(Self.summary(try Self.fromBytes(text)) == Self.summary(try Self.decoded(text)), "\(text)")
        }
        // Read for folding, not showing: the members that show a command are passed over, the rest is the same.
        func withoutShowing(_ p: CasePayload?) -> CasePayload? {
            p.map { var p = $0; p.command = nil; p.role = nil; p.check = nil; p.reason = nil; p.data = nil; return p }
        }
        var shownSomewhere = 0
        for text in texts {
            let folded = try Self.fromBytes(text, showing: false), shown = try Self.fromBytes(text)
            #expect(Self.summary(folded) == Self.summary(withoutShowing(folded)), "nothing for showing is read: \(text)")
            #expect(Self.summary(folded) == Self.summary(withoutShowing(shown)), "the rest is the same: \(text)")
            if Self.summary(shown) != Self.summary(folded) { shownSomewhere += 1 }
        }
        #expect(shownSomewhere == 2, "the opening and the refusal show a command")
        let read = try #require(try Self.fromBytes(texts[0]))
        #expect(read.set.map(\.name) == ["certificate", "limit_days", "notices", "overdue", "owner"])  // payload order
        #expect(read.data?.map(\.name) == ["applicant", "community", "item"])
        #expect(read.state == "received" && read.definition == "f4f8caff5837d5dd" && read.at == "2026-01-06T01:10:00.000Z")
    }

    @Test func aRepeatedNameIsReadInOrderSoThatTheLastStands() throws {
        let text = #"{"state":"a","set":{"n":1,"m":2,"n":3},"state":"b"}"#
        let read = try #require(try Self.fromBytes(text))
        #expect(read.state == "b")
        #expect(read.set.map(\.name) == ["n", "m", "n"])
        #expect(read.set.last?.value == .int(3))
        #expect(try Self.decoded(text)?.set.first { $0.name == "n" }?.value == .int(3))
    }

    @Test func isNilForJSONThatIsNotAnObject() throws {
        for text in ["[1,2]", "\"case\"", "12", "null", " true "] {
            #expect(try Self.fromBytes(text) == nil, "\(text)")
        }
    }

    @Test func refusesMalformedTextAnywhereAsTheFullParserDoes() {
        // Errors in members nobody reads are errors too: the payload is checked whole.
        let texts = [
            #"{"actor":"a"#, #"{"actor":"a\x"}"#, #"{"decisions":[1,]}"#, #"{"decisions":[{"a" 1}]}"#, #"{"at":"x",}"#,
            #"{"case":tru}"#, #"{"version":01}"#, #"{"state":"a"} x"#, #"{"data":{"a":1,}}"#, "{\"actor\":\"a\u{01}\"}",
            #"{"actor":"\ud800\u0041"}"#, #"{"st\x":1}"#, #"{"a":1"b":2}"#, "",
            "{\"decisions\":" + String(repeating: "[", count: 600) + String(repeating: "]", count: 600) + "}",
        ]
        for text in texts {
            var full: JSONSyntaxError?
            do { _ = try JSONValue.parse(text) } catch { full = error as? JSONSyntaxError }
            #expect(full != nil, "the full parser accepts \(text)")
            do {
                _ = try Self.fromBytes(text)
                Issue.record("accepted \(text)")
            } catch {
                #expect((error as? JSONSyntaxError)?.offset == full?.offset, "\(text): \(error) against \(String(describing: full))")
            }
        }
    }
}
