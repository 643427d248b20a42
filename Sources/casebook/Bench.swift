import ArgumentParser
import CasebookLog
import Dispatch
import Foundation
import Synchronization

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the log: each prints one JSON object of figures and the settings it ran with.",
        subcommands: [AppendBench.self, ReadBench.self, CommandBench.self, ProjectionBench.self, ReplayBench.self])
}

/// Latency samples in nanoseconds, summarised as percentiles in microseconds.
struct Latencies {
    var samples: [UInt64] = []

    mutating func append(contentsOf other: [UInt64]) { samples.append(contentsOf: other) }

    func percentile(_ p: Double) -> Double {
        guard !samples.isEmpty else { return 0 }
        let sorted = samples.sorted()
        let index = min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)
        return Double(sorted[max(0, index)]) / 1000
    }
}

func nowNanos() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

func round2(_ v: Double) -> Double { (v * 100).rounded() / 100 }

/// A fresh benchmark directory: `--dir` if given (must not exist yet), else a temporary one.
func benchDirectory(_ dir: String?) throws -> String {
    if let dir {
        if FileManager.default.fileExists(atPath: dir),
           let contents = try? FileManager.default.contentsOfDirectory(atPath: dir), !contents.isEmpty {
            throw ValidationError("--dir \(dir) is not empty; benchmarks write a fresh store")
        }
        return dir
    }
    return NSTemporaryDirectory() + "casebook-bench-\(UUID().uuidString)"
}

struct AppendBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "append",
        abstract: "Durable appends, one event each with an exact expected version, from concurrent writers.",
        discussion: """
            Event i goes to stream i % streams. The writers × in-flight appenders each own a share of the
            streams and append to them in order, so every append carries the exact expected version and none
            conflicts. Latency is from the call to the durable acknowledgement.
            """)
    @Option(help: "Events to append.") var events: Int = 100_000
    @Option(help: "Streams to spread them over.") var streams: Int = 10_000
    @Option(help: "Concurrent writers.") var writers: Int = 1
    @Option(help: "Appends each writer keeps in flight.") var inFlight: Int = 1
    @Option(help: "Payload bytes per event.") var payload: Int = 300
    @Option(help: "Store directory (default: a new temporary one).") var dir: String?
    @Flag(help: "Keep the store afterwards (for `bench read`).") var keep = false
    @Option(help: ArgumentHelp(
        "Write the commits as they happened to this file (a stream number per event, `c` after each commit), for `probe write --order`.",
        valueName: "file"))
    var trace: String?

    func validate() throws {
        guard events > 0, streams > 0, writers > 0, inFlight > 0, payload >= 0 else {
            throw ValidationError("--events, --streams, --writers and --in-flight must be positive")
        }
    }

    func run() async throws {
        let path = try benchDirectory(dir)
        defer { if !keep { try? FileManager.default.removeItem(atPath: path) } }
        var options = EventStoreOptions()
        options.initialMapSize = 256 << 20
        let observed = Mutex<[(UInt64, UInt64)]>([])
        if trace != nil { options.commitObserver = { first, count in observed.withLock { $0.append((first, count)) } } }
        let store = try EventStore(path: path, options: options)
        // Plain locals: reading @Option properties in the hot loop costs more than the appends.
        let (events, streams, slots) = (self.events, self.streams, writers * inFlight)
        let body = Array(repeating: UInt8(ascii: "x"), count: max(0, payload - 10))
        let payloadBytes = Array("{\"pad\":\"".utf8) + body + Array("\"}".utf8)
        let started = nowNanos()
        let commitsBefore = store.commitCount
        let latencies = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for slot in 0..<slots {
                group.addTask {
                    var versions: [Int: UInt64] = [:]
                    var samples: [UInt64] = []
                    // Appender `slot` owns streams slot, slot + slots, …; event i goes to stream i % streams, so
                    // it appends events r * streams + s for its streams s, round r by round.
                    for round in 0...(events / streams) {
                        for stream in stride(from: slot, to: streams, by: slots) {
                            guard round * streams + stream < events else { break }
                            let expected: ExpectedVersion = versions[stream].map { .exact($0) } ?? .noStream
                            let t0 = nowNanos()
                            let r = try await store.append(
                                to: streamName(stream), expectedVersion: expected,
                                events: [ProposedEvent(type: "bench.event", payload: payloadBytes)])
                            samples.append(nowNanos() - t0)
                            versions[stream] = r.lastVersion
                        }
                    }
                    return samples
                }
            }
            var all = Latencies()
            for try await s in group { all.append(contentsOf: s) }
            return all
        }
        let seconds = Double(nowNanos() - started) / 1e9
        let commits = store.commitCount - commitsBefore
        let stats = try store.stats()
        let writer = store.writerMilliseconds
        if let trace {
            // The stream of each position, and where each commit ended.
            var lines: [String] = []
            var ends = Set(observed.withLock { $0 }.map { $0.0 + $0.1 - 1 })
            try store.scan { e in
                lines.append(String(Int(e.streamId.dropFirst("stream-".count)) ?? -1))
                if ends.remove(e.position) != nil { lines.append("c") }
                return true
            }
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: trace))
        }
        store.close()
        let figures: [String: any Sendable] = [
            "bench": "append", "events": events, "streams": streams, "writers": writers, "inFlight": inFlight,
            "payload": payloadBytes.count, "seconds": round2(seconds * 1000) / 1000,
            "eventsPerSec": round2(Double(events) / seconds), "p50Us": round2(latencies.percentile(0.5)),
            "p99Us": round2(latencies.percentile(0.99)), "p999Us": round2(latencies.percentile(0.999)),
            "commits": Int(commits), "eventsPerCommit": round2(Double(events) / Double(max(commits, 1))),
            "storeBytes": stats.usedBytes, "durable": true,
            "writerWaitingMs": round2(writer.waiting), "writerApplyingMs": round2(writer.applying),
            "writerCommittingMs": round2(writer.committing),
        ]
        print(try jsonObject(figures))
        if keep { warn("store kept at \(path)") }
    }
}

struct ReadBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Read the whole log with envelopes decoded, then time whole-stream reads of sampled streams.")
    @Option(help: "The store to read (e.g. one kept by `bench append --keep`).") var dir: String
    @Option(help: "Streams to sample for stream reads.") var samples: Int = 2000
    @Option(help: "Events per read-all batch (one read transaction each).") var batch: Int = 4096

    func run() async throws {
        var options = EventStoreOptions()
        options.readOnly = true
        let store = try EventStore(path: dir, options: options)
        defer { store.close() }
        // Read-all, decoded.
        var count = 0
        var bytes = 0
        let t0 = nowNanos()
        try store.scan(from: 0, batchSize: batch) { e in
            count += 1
            bytes += e.payload.count
            return true
        }
        let readSeconds = Double(nowNanos() - t0) / 1e9
        print(try jsonObject([
            "bench": "read-all", "events": count, "seconds": round2(readSeconds * 1e6) / 1e6,
            "eventsPerSec": round2(Double(count) / readSeconds), "payloadBytes": bytes, "batch": batch,
        ]))
        // Stream reads: streams of events at pseudo-random positions (xorshift, fixed seed).
        guard count > 0 else { return }
        var rng: UInt64 = 42
        var latencies = Latencies()
        var eventsRead = 0
        for _ in 0..<samples {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
            guard let e = try store.event(at: rng % UInt64(count)) else { continue }
            let s0 = nowNanos()
            let events = try store.readStream(e.streamId)
            latencies.samples.append(nowNanos() - s0)
            eventsRead += events.count
        }
        print(try jsonObject([
            "bench": "read-stream", "samples": samples, "eventsPerStream": round2(Double(eventsRead) / Double(max(samples, 1))),
            "p50Us": round2(latencies.percentile(0.5)), "p99Us": round2(latencies.percentile(0.99)),
        ]))
    }
}

/// The benchmark's stream names, `stream-000042`: the probe's names, so that both fill their
/// stream-head pages alike.
func streamName(_ n: Int) -> String {
    let digits = String(n)
    return "stream-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
}

/// One line of JSON from a dictionary of plain values, keys sorted.
func jsonObject(_ fields: [String: any Sendable]) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys, .withoutEscapingSlashes])
    return String(decoding: data, as: UTF8.self)
}
