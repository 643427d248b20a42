import Foundation
import Testing

@testable import CasebookAudit

@Suite struct BenchmarkTests {
    /// Prints the figures for a 1,000-event case (debug build here; `casebook bench replay` for release).
    /// Never the times are checked: only that both cases were built of accepted commands (the benchmark
    /// throws otherwise), hold 1,000 events each, and that the bundle verified (it throws otherwise too).
    @Test func replayAndBundleOfAThousandEventCase() async throws {
        let f = try await AuditBenchmark.run(events: 1000, runs: 3)
        #expect(f.events == 1000)
        #expect(f.clockEvents == 1000)
        print("audit bench (debug, 1000 events): replay \(f.replayMilliseconds) ms, with explain \(f.replayExplainMilliseconds) ms, "
              + "fold only \(f.foldMilliseconds) ms, JSON parse only \(f.parseMilliseconds) ms, bundle \(f.bundleMilliseconds) ms, verify \(f.verifyMilliseconds) ms, \(f.bundleBytes) bytes, "
              + "clock case replay \(f.clockReplayMilliseconds) ms, with explain \(f.clockReplayExplainMilliseconds) ms")
    }
}
