import Testing

@testable import CasebookProjections

/// Case numbers: 0, 1, 2, … in the order the cases are first met, the same number for the same id.
@Suite struct CaseNumbersTests {
    @Test func casesAreNumberedInTheOrderFirstMet() {
        var numbers = CaseNumbers()
        // Short (inline) and long ids, ids one byte apart, non-ASCII ids, and enough of them to grow the table.
        let ids = (0..<5_000).map { i in
            switch i % 4 {
            case 0: "s1-c\(i)-rq0001"
            case 1: "a-much-longer-case-identifier-number-\(i)"
            case 2: "案件\(i)"
            default: "s1-c\(i - 3)-rq0002"
            }
        }
        for (n, id) in ids.enumerated() { #expect(numbers.number(id) == Int32(n)) }
        #expect(numbers.count == ids.count)
        for (n, id) in ids.enumerated().reversed() { #expect(numbers.number(id) == Int32(n), "\(id) keeps its number") }
        #expect(numbers.number("") == Int32(ids.count), "a new id gets the next number")
        #expect(numbers.count == ids.count + 1)
    }
}
