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
            Event i goes to stream i % streams with exact expected version i / streams - 1 (no stream for the \
            first round), the probe's order. The writers × in-flight appenders take the next event from one \
            shared counter, so what is in flight at any moment is a window of consecutive events. Latency is \
            from the call to the durable acknowledgement.
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
        let names = (0..<streams).map(streamName)  // formatted before the clock starts, as the probe's are cheap
        let payloadBytes = Array("{\"pad\":\"".utf8) + body + Array("\"}".utf8)
        let started = nowNanos()
        let commitsBefore = store.commitCount
        // Event i goes to stream i % streams with version i / streams, as in the probe. The appenders take
        // the next event from one shared counter, so the appends in flight at any moment are a window of
        // consecutive events, like one of the probe's batches. An event whose stream's previous event is
        // still in flight with another appender (only possible with fewer streams than appends in flight)
        // is refused as a wrong expected version and tried again; `retries` counts those.
        let next = SharedCounter(), retries = SharedCounter()
        let latencies = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for _ in 0..<slots {
                group.addTask {
                    var samples: [UInt64] = []
                    while true {
                        let i = next.take()
                        guard i < events else { break }
                        let (round, stream) = i.quotientAndRemainder(dividingBy: streams)
                        let expected: ExpectedVersion = round == 0 ? .noStream : .exact(UInt64(round - 1))
                        let t0 = nowNanos()
                        while true {
                            do {
                                _ = try await store.append(
                                    to: names[stream], expectedVersion: expected,
                                    events: [ProposedEvent(type: "bench.event", payload: payloadBytes)])
                                break
                            } catch EventStoreError.wrongExpectedVersion(_, _, let actual)
                                where round > 0 && (actual.map { $0 < UInt64(round - 1) } ?? true) {
                                _ = retries.take()
                                await Task.yield()
                            }
                        }
                        samples.append(nowNanos() - t0)
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
            "writerCommittingMs": round2(writer.committing), "retries": retries.value,
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
        // Read-all, twice. In place: every envelope decoded into an EventView that points into the map (the
        // path projections and verification take). Copied: every event decoded into an owned RecordedEvent,
        // strings and payload copied out (the path of `casebook read` and of callers that keep events).
        var count = 0
        for mode in ["view", "copy"] {
            var events = 0
            var bytes = 0
            let t0 = nowNanos()
            if mode == "view" {
                try store.scanViews(from: 0, batchSize: batch) { e in
                    events += 1
                    bytes += e.payload.count + e.streamId.count + e.type.count
                }
            } else {
                try store.scan(from: 0, batchSize: batch) { e in
                    events += 1
                    bytes += e.payload.count
                    return true
                }
            }
            let seconds = Double(nowNanos() - t0) / 1e9
            count = events
            print(try jsonObject([
                "bench": "read-all", "mode": mode, "events": events, "seconds": round2(seconds * 1e6) / 1e6,
                "eventsPerSec": round2(Double(events) / seconds), "bytesTouched": bytes, "batch": batch,
            ]))
        }
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

/// A counter shared by concurrent tasks.
final class SharedCounter: Sendable {
    private let count = Atomic<Int>(0)
    /// Returns the current value and adds one.
    func take() -> Int { count.add(1, ordering: .relaxed).oldValue }
    var value: Int { count.load(ordering: .relaxed) }
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
