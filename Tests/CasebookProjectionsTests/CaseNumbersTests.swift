import Testing

@testable import CasebookProjections

/// Case numbers: 0, 1, 2, … in the order the cases are first met, the same number for the same id.
@Suite struct CaseNumbersTests {
    @Test func casesAreNumberedInTheOrderFirstMet() {
        var numbers = CaseNumbers()
        var met: [String] = []
        /// The id's number, as the folding thread asks for it (by its bytes); new ids are collected.
        func number(_ id: String) -> Int32 {
            var id = id
            return id.withUTF8 { numbers.number(UnsafeRawBufferPointer($0)) { met.append(String(decoding: $0, as: UTF8.self)) } }
        }
        // Short (inline) and long ids, ids one byte apart, non-ASCII ids, and enough of them to grow the table.
        let ids = (0..<5_000).map { i in
            switch i % 4 {
            case 0: "s1-c\(i)-rq0001"
            case 1: "a-much-longer-case-identifier-number-\(i)"
            case 2: "案件\(i)"
            default: "s1-c\(i - 3)-rq0002"
            }
        }
        for (n, id) in ids.enumerated() { #expect(number(id) == Int32(n)) }
        #expect(numbers.count == ids.count)
        for (n, id) in ids.enumerated().reversed() { #expect(number(id) == Int32(n), "\(id) keeps its number") }
        #expect(number("") == Int32(ids.count), "a new id gets the next number")
        #expect(numbers.count == ids.count + 1)
        #expect(met == ids + [""], "each id reported new once, when first met, with its bytes")
    }
}
