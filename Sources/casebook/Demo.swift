import ArgumentParser
import CasebookLog
import Foundation

/// The main job for now: a small synthetic run on the default store that appends resident-request
/// events, reads them back and verifies the log.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Append a synthetic day of resident requests to the store, read them back and verify the log.",
        discussion: "Deterministic for a given --seed; running it again with the same seed writes nothing new (idempotent command ids).")
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Resident requests to create.") var cases: Int = 500
    @Option(help: "Seed for the synthetic data.") var seed: UInt64 = 1

    func run() async throws {
        let store = try storeOptions.open()
        defer { store.close() }
        let started = nowNanos()
        let before = store.count
        var rng = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func next(_ bound: Int) -> Int {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
            return Int(rng % UInt64(bound))
        }
        let items = ["居住证明", "低保申请", "计划生育证明", "老年优待证", "就业登记"]
        let workers = ["counter:王芳", "counter:李强", "counter:张敏"]
        let day = Timestamp(iso8601: "2026-03-02T08:30:00+08:00")!.millisecondsSince1970
        // Each case is appended by its own task; the writer groups the concurrent appends into commits.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<cases {
                let item = items[next(items.count)], worker = workers[next(workers.count)]
                let missing = next(4) == 0
                let minutes = Int64(next(540))
                group.addTask {
                    let id = "demo-\(seed)-request-\(c)"
                    var at = day + minutes * 60_000
                    var steps: [(String, String)] = [("request.received", "{\"item\":\"\(item)\",\"owner\":\"\(worker)\"}")]
                    if missing { steps.append(("request.materials-missing", "{\"missing\":[\"户口簿复印件\",\"身份证复印件\"]}")) }
                    steps.append(("request.completed", "{\"onTime\":true}"))
                    var expected: ExpectedVersion = .noStream
                    for (k, (type, json)) in steps.enumerated() {
                        at += 3_600_000
                        let r = try await store.append(
                            to: id, expectedVersion: expected,
                            events: [ProposedEvent(type: type, json: json, actor: worker, recordedAt: Timestamp(millisecondsSince1970: at))],
                            commandId: "\(id)-step-\(k)")
                        expected = .exact(r.lastVersion)
                    }
                }
            }
            try await group.waitForAll()
        }
        let appended = store.count - before
        var byType: [String: Int] = [:]
        try store.scan { e in
            if e.streamId.hasPrefix("demo-\(seed)-") { byType[e.type, default: 0] += 1 }
            return true
        }
        let report = try store.verify()
        let seconds = Double(nowNanos() - started) / 1e9
        print("store: \(storeOptions.store) (id \(store.storeId))")
        print("appended \(appended) events for \(cases) resident requests in \(String(format: "%.2f", seconds)) s (\(store.commitCount) group commits)")
        for (type, n) in byType.sorted(by: { $0.key < $1.key }) { print("  \(type): \(n)") }
        print("log: \(report.events) events in \(report.streams) streams, Merkle root \(report.root.hex)")
        print(report.isValid ? "verify: OK" : "verify: FAILED \(report.problems.first.map(String.init(describing:)) ?? "")")
        if !report.isValid { throw ExitCode.failure }
        print("next: `casebook read --stream demo-\(seed)-request-0`, `casebook checkpoint`, `casebook verify`")
    }
}
