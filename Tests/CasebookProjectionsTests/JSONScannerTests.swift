import Testing

@testable import CasebookProjections

/// Strings in payloads as the projections read them: plain ones from their bytes, escaped ones unescaped.
@Suite struct JSONScannerTests {
    /// The value at the start of `json`, read with `JSONScanner.string`.
    private func string(_ json: String) throws -> String? {
        try Array(json.utf8).withUnsafeBytes { raw throws -> String? in try JSONScanner(raw).string(0) }
    }

    @Test func stringsPlainAndEscaped() throws {
        #expect(try string(#""和平社区""#) == "和平社区")
        #expect(try string(#""""#) == "")
        #expect(try string(#""line\nbreak \"quoted\" \\ \u00e9\ud83d\ude00""#) == "line\nbreak \"quoted\" \\ é😀")
        #expect(try string("12") == nil, "12 is not a string")
        #expect(throws: (any Error).self) { try string(#""bad \x escape""#) }
    }

    /// Members and elements carry on after a value from where the body says it ended (when it read it
    /// through), and say where their object or array ends.
    @Test func membersCarryOnFromTheEndsTheBodyGives() throws {
        let json = #"{"a":"x\"y","b":[1,"]",{"c":"}"}],"d":{},"e":"和平"} tail"#
        try Array(json.utf8).withUnsafeBytes { raw in
            let j = JSONScanner(raw)
            var seen: [String] = []
            let end = try j.members(0) { ks, ke, v in
                let key = j.text(ks, ke)
                let valueEnd = try j.valueEnd(v)
                if let s = try j.string(v), let (_, close, _) = try j.stringBounds(v) {
                    seen.append("\(key)=\(s)")
                    #expect(close + 1 == valueEnd, "the end it gives is the string's end")
                    return close + 1
                }
                if key == "b" {
                    var n = 0
                    let end = try j.elements(v) { _ in n += 1; return nil }
                    #expect(end == valueEnd)
                    seen.append("b:\(n)")
                    return end
                }
                seen.append(key)
                return nil
            }
            #expect(seen == [#"a=x"y"#, "b:3", "d", "e=和平"])
            #expect(end == json.utf8.count - " tail".utf8.count, "just past the object")
        }
        try Array("{} []".utf8).withUnsafeBytes { raw in
            let j = JSONScanner(raw)
            let objectEnd = try j.members(0) { _, _, _ in nil }
            let arrayEnd = try j.elements(3) { _ in nil }
            #expect(objectEnd == 2 && arrayEnd == 5)
        }
    }

    /// String ends, found eight bytes at a time, agree with a byte-by-byte reading, wherever quotes and
    /// backslashes fall in the words and however near the end of the bytes the string ends.
    @Test func stringEndsAgreeWithAByteByByteReading() throws {
        func reference(_ b: [UInt8], _ i: Int) -> Int? {
            var j = i + 1
            while j < b.count {
                if b[j] == UInt8(ascii: "\\") { j += 2; continue }
                if b[j] == UInt8(ascii: "\"") { return j + 1 }
                j += 1
            }
            return nil
        }
        let pieces = ["a", "和", "\\\"", "\\\\", "\\n", "\"", ",", "x1234567"]
        var state: UInt64 = 42
        func next(_ n: Int) -> Int {  // a fixed pseudo-random sequence
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        for _ in 0..<3_000 {
            var text = "\""
            for _ in 0..<next(24) { text += pieces[next(pieces.count)] }
            let bytes = Array(text.utf8)
            try bytes.withUnsafeBytes { raw in
                let j = JSONScanner(raw)
                if let expected = reference(bytes, 0) {
                    let end = try j.stringEnd(0)
                    #expect(end == expected, "\(text)")
                } else {
                    #expect(throws: MalformedPayload.self, "\(text)") { try j.stringEnd(0) }
                }
            }
        }
    }
    /// Member names read as integers: the same integer for the same name wherever it lies (also where
    /// fewer than eight bytes follow it), none for longer names or names ending in a zero byte, and the
    /// reader's written-out constants are its names.
    @Test func shortNamesAreTheirBytes() throws {
        for (text, value) in PackedEventReader.Name.all {
            try Array("{\"\(text)\":1}".utf8).withUnsafeBytes { raw in
                let j = JSONScanner(raw)
                try j.members(0) { ks, ke, _ in
                    #expect(j.shortName(ks, ke) == value, "\(text) in a payload")
                    return nil
                }
            }
            // At the very end of the bytes (no room for an 8-byte load).
            try Array(text.utf8).withUnsafeBytes { raw in
                #expect(JSONScanner(raw).shortName(0, raw.count) == value, "\(text) at the end")
            }
        }
        try Array("workflows case\u{0} cas".utf8).withUnsafeBytes { raw in
            let j = JSONScanner(raw)
            #expect(j.shortName(0, 9) == 0, "longer than eight bytes")
            #expect(j.shortName(10, 15) == 0, "ends in a zero byte")
            #expect(j.shortName(16, 19) != PackedEventReader.Name.case, "a prefix is another name")
            #expect(j.shortName(10, 14) == PackedEventReader.Name.case)
        }
    }
}
