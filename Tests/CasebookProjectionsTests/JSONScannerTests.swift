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

    /// A walk through an object carries on after a value from where the caller says it ended (when it read
    /// it through), and elements likewise; both say where their object or array ends.
    @Test func walksCarryOnFromTheEndsTheCallerGives() throws {
        let json = #"{"a":"x\"y","b":[1,"]",{"c":"}"}],"d":{},"e":"和平"} tail"#
        try Array(json.utf8).withUnsafeBytes { raw in
            let j = JSONScanner(raw)
            var seen: [String] = []
            var walk = try j.walk(object: 0)
            while let (ks, ke, v) = try j.nextMember(&walk) {
                let key = j.text(ks, ke)
                let valueEnd = try j.valueEnd(v)
                var end: Int?
                if let s = try j.string(v), let (_, close, _) = try j.stringBounds(v) {
                    seen.append("\(key)=\(s)")
                    #expect(close + 1 == valueEnd, "the end it gives is the string's end")
                    end = close + 1
                } else if key == "b" {
                    var n = 0
                    end = try j.elements(v) { _ in n += 1; return nil }
                    #expect(end == valueEnd)
                    seen.append("b:\(n)")
                } else {
                    seen.append(key)
                }
                try j.after(&walk, valueEnd: end)
            }
            #expect(seen == [#"a=x"y"#, "b:3", "d", "e=和平"])
            #expect(walk.next == json.utf8.count - " tail".utf8.count, "just past the object")
        }
        try Array("{} []".utf8).withUnsafeBytes { raw in
            let j = JSONScanner(raw)
            var object = try j.walk(object: 0)
            #expect(try j.nextMember(&object) == nil && object.next == 2)
            let arrayEnd = try j.elements(3) { _ in nil }
            #expect(arrayEnd == 5)
        }
        // A member not followed by ',' or '}' is an error, not the end of the object.
        try Array(#"{"a":1 "b":2}"#.utf8).withUnsafeBytes { raw in
            let j = JSONScanner(raw)
            var walk = try j.walk(object: 0)
            _ = try j.nextMember(&walk)
            #expect(throws: MalformedPayload.self) { try j.after(&walk, valueEnd: nil) }
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
        for name in PackedEventReader.Name.allCases {
            let (text, value) = (String(describing: name), name.rawValue)
            try Array("{\"\(text)\":1}".utf8).withUnsafeBytes { raw in
                let j = JSONScanner(raw)
                var walk = try j.walk(object: 0)
                let (ks, ke, _) = try #require(try j.nextMember(&walk))
                #expect(j.shortName(ks, ke) == value, "\(text) in a payload")
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
            #expect(j.shortName(16, 19) != PackedEventReader.Name.case.rawValue, "a prefix is another name")
            #expect(j.shortName(10, 14) == PackedEventReader.Name.case.rawValue)
        }
    }
}
