import CasebookLog
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Kills a writing child process with SIGKILL at random moments and checks after each kill that the store
/// opens, holds every acknowledged event, has gapless positions and verifies.
///
/// 50 kills by default; set `CASEBOOK_CRASH_ITERATIONS` for more, `CASEBOOK_CRASH_SEED` to repeat a run.
@Suite struct CrashTests {
    struct Ack {
        var first: UInt64
        var last: UInt64
        var stream: String
        var firstVersion: UInt64
    }

    @Test func sigkillNeverLosesAnAcknowledgedAppend() throws {
        let env = ProcessInfo.processInfo.environment
        let iterations = env["CASEBOOK_CRASH_ITERATIONS"].flatMap(Int.init) ?? 50
        var seed = env["CASEBOOK_CRASH_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max)
        print("crash test: \(iterations) kills, CASEBOOK_CRASH_SEED=\(seed)")
        func random(_ range: ClosedRange<UInt64>) -> UInt64 {
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
            return range.lowerBound + seed % (range.upperBound - range.lowerBound + 1)
        }
        let store = temporaryPath("crash")
        let logs = temporaryPath("crash-logs")
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        defer {
            try? FileManager.default.removeItem(atPath: store)
            try? FileManager.default.removeItem(atPath: logs)
        }
        var acked: [Ack] = []
        var killedWithAcks = 0
        for iteration in 0..<iterations {
            // The child writes its acknowledgements to a file: what it wrote survives its death.
            let ackFile = "\(logs)/acks-\(iteration)"
            _ = FileManager.default.createFile(atPath: ackFile, contents: nil)
            let child = Process()
            child.executableURL = casebookBinary
            child.arguments = ["crash-child", "--store", store, "--writers", String(1 + random(0...15))]
            child.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: ackFile))
            child.standardError = FileHandle.nullDevice
            try child.run()
            usleep(useconds_t(random(5_000...250_000)))
            kill(child.processIdentifier, SIGKILL)
            child.waitUntilExit()
            #expect(child.terminationReason == .uncaughtSignal, "iteration \(iteration): child exited by itself")

            let text = try String(contentsOfFile: ackFile, encoding: .utf8)
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            lines.removeLast()  // the text after the last newline: empty, or a line cut by the kill
            let fresh = lines.compactMap { line -> Ack? in
                let f = line.split(separator: " ")
                guard f.count == 6, f[0] == "ack", let a = UInt64(f[1]), let b = UInt64(f[2]), let v = UInt64(f[4]) else {
                    Issue.record("iteration \(iteration): unreadable acknowledgement '\(line)'")
                    return nil
                }
                return Ack(first: a, last: b, stream: String(f[3]), firstVersion: v)
            }
            if !fresh.isEmpty { killedWithAcks += 1 }
            acked += fresh

            // Reopen after the kill: everything acknowledged, in this run and every earlier one, is there.
            guard FileManager.default.fileExists(atPath: store + "/data.mdb") else { continue }
            let log = try EventStore(path: store)
            defer { log.close() }
            let highest = acked.map(\.last).max()
            if let highest { #expect(log.count > highest, "iteration \(iteration): log has \(log.count) events, \(highest) was acknowledged") }
            for ack in fresh {
                let events = try log.read(from: ack.first, limit: Int(ack.last - ack.first + 1))
                #expect(events.count == Int(ack.last - ack.first + 1), "iteration \(iteration): acknowledged events \(ack.first)...\(ack.last) missing")
                for (k, e) in events.enumerated() {
                    #expect(e.streamId == ack.stream && e.streamVersion == ack.firstVersion + UInt64(k),
                            "iteration \(iteration): position \(e.position) holds \(e.streamId)@\(e.streamVersion)")
                }
            }
            // Gapless positions, intact indexes and Merkle tree.
            let report = try log.verify()
            #expect(report.isValid, "iteration \(iteration): \(report.problems.map(\.description))")
        }
        print("crash test: \(acked.count) acknowledged appends checked over \(iterations) kills (\(killedWithAcks) with acknowledgements)")
        #expect(killedWithAcks > iterations / 2, "too few kills landed after appends began; the test did not exercise much")
    }
}
