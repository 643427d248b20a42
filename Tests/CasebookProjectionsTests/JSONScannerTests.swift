import Testing

@testable import CasebookProjections

/// Strings in payloads as the projections read them: plain ones from their bytes, escaped ones unescaped.
@Suite struct JSONScannerTests {
    /// The value at the start of `json`, read with `JSONScanner.string` (and `plain`, if given).
    private func string(_ json: String, plain: ((UnsafeRawBufferPointer) -> String)? = nil) throws -> String? {
        try Array(json.utf8).withUnsafeBytes { raw throws -> String? in
            let j = JSONScanner(raw)
            return try plain.map { try j.string(0, plain: $0) } ?? j.string(0)
        }
    }

    @Test func stringsPlainAndEscaped() throws {
        #expect(try string(#""和平社区""#) == "和平社区")
        #expect(try string(#""""#) == "")
        #expect(try string(#""line\nbreak \"quoted\" \\ \u00e9\ud83d\ude00""#) == "line\nbreak \"quoted\" \\ é😀")
        #expect(try string(#""和平社区""#, plain: { _ in "reused" }) == "reused", "a plain string is made by `plain`")
        #expect(try string(#""esc\"aped""#, plain: { _ in "reused" }) == "esc\"aped", "an escaped one is unescaped")
        #expect(try string("12") == nil, "12 is not a string")
        #expect(throws: (any Error).self) { try string(#""bad \x escape""#) }
    }
}
