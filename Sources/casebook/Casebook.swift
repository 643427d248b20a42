import ArgumentParser
import CasebookLog
import Foundation
#if canImport(Glibc)
import Glibc
#endif

@main
struct Casebook: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "casebook",
        abstract: "Casebook: an event-sourced case-workflow engine over an append-only, tamper-evident log.",
        subcommands: [
            Init.self, Append.self, Read.self, Verify.self, CheckpointCommand.self, Prove.self, Stats.self,
            WorkflowCommand.self, CaseCommand.self, Timers.self, Effects.self, EraseSubject.self, ProjectionsCommand.self, QueryCommand.self, ReportCommand.self, ExportCommand.self, Demo.self, Bench.self, CrashChild.self,
            ReplayCommand.self, DiffCommand.self, WhatIfCommand.self, BundleCommand.self, VerifyBundle.self,
        ]
    )

    /// Sets the process's memory policy, then runs the command line.
    static func main() async {
        keepFreedMemory()
        await main(nil)
    }
}

/// Keeps freed heap for reuse instead of handing it back to the system after every large free: up to 64 MiB
/// at the top of the heap, and blocks of up to 16 MiB taken from the heap rather than mapped and unmapped
/// each time (glibc's defaults are 128 KiB for both, and setting the first stops glibc raising the second by
/// itself). An operation that builds and drops a few megabytes, such as replaying a long case, would
/// otherwise fault the same pages in afresh each time it runs in one process: measured with
/// `casebook bench replay`, 0.6–0.8 ms of a 1,000-event replay's 3 ms.
func keepFreedMemory() {
    #if canImport(Glibc)
    // `mallopt` is glibc's (malloc.h, which the Glibc module leaves out): looked up by name.
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(nil, "mallopt") else { return }
    let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
    let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3  // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD
    _ = mallopt(trimThreshold, 64 << 20)
    _ = mallopt(mmapThreshold, 16 << 20)
    #endif
}

/// `--store`, shared by every command that opens a store.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The store directory (env CASEBOOK_STORE).", valueName: "path"))
    var store: String = ProcessInfo.processInfo.environment["CASEBOOK_STORE"] ?? "./casebook-data"

    @Option(name: .long, help: ArgumentHelp("The map size ceiling in MiB.", valueName: "MiB"))
    var maxMapSize: Int = 1 << 20

    func open(readOnly: Bool = false) throws -> EventStore {
        var options = EventStoreOptions()
        options.readOnly = readOnly
        options.maxMapSize = maxMapSize << 20
        if readOnly && !FileManager.default.fileExists(atPath: store + "/data.mdb") {
            throw ValidationError("no store at \(store): run `casebook init --store \(store)` first")
        }
        return try EventStore(path: store, options: options)
    }
}

/// Where the checkpoint signing key lives: outside the store, by default in the user's home.
struct KeyOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The Ed25519 signing key file, created if missing (env CASEBOOK_SIGNING_KEY).", valueName: "path"))
    var key: String = ProcessInfo.processInfo.environment["CASEBOOK_SIGNING_KEY"]
        ?? (NSHomeDirectory() + "/.config/casebook/signing-key")

    /// The signer of the key file, made (and announced on stderr) if the file does not exist yet.
    func signer() async throws -> CheckpointSigner {
        let existed = FileManager.default.fileExists(atPath: key)
        let signer = try await reportingErrors { try CheckpointSigner(keyFile: key, create: true) }
        if !existed { warn("created signing key \(key) (key id \(signer.keyId)); keep it outside the store") }
        return signer
    }
}

/// Parses an ISO 8601 time for `--at` options.
func parseTime(_ text: String?, option: String) throws -> Timestamp? {
    guard let text else { return nil }
    guard let t = Timestamp(iso8601: text) else {
        throw ValidationError("\(option) '\(text)' is not an ISO 8601 time such as 2026-03-02T09:30:00+08:00")
    }
    return t
}

/// Writes a line to standard error.
func warn(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Encodes a value as one line of JSON with sorted keys.
func jsonLine<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// Runs `body`, turning log errors into a clear message and exit code 1.
func reportingErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as EventStoreError {
        warn("error: \(error)")
        throw ExitCode.failure
    }
}
