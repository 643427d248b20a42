import CasebookLog
import Testing

/// Strings made from bytes and kept for reuse are the strings of those bytes.
@Suite struct ReusedStringsTests {
    @Test func givesTheStringOfTheBytesWhetherKeptOrNot() {
        var reused = ReusedStrings()
        // Short and long, ASCII and not, the same length with other bytes, more than once, and repeats.
        let words = ["case.opened", "case.command-accepted", "case.command-rejected", "counter:张子@c532", "request.received"]
            + (0..<12).map { "request.type-\($0)-of-a-long-name" } + [""] + ["case.command-accepted", "case.command-rejected", "request.type-3-of-a-long-name"]
        for _ in 0..<3 {
            for w in words {
                let made = Array(w.utf8).withUnsafeBytes { reused.string($0) }
                #expect(made == w)
            }
        }
    }
}
