import ArgumentParser
import CasebookLog
import Foundation

/// The child process of the crash test: appends forever and reports each acknowledged append on
/// standard output, so that a parent can kill it at any moment and check that every acknowledged
/// event survived.
struct CrashChild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crash-child", abstract: "Append until killed, printing each acknowledgement (for crash tests).",
        shouldDisplay: false)
    @OptionGroup var storeOptions: StoreOptions
    @Option(help: "Concurrent appenders.") var writers: Int = 8

    func run() async throws {
        let store = try storeOptions.open()
        let out = FileHandle.standardOutput
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<writers {
                group.addTask {
                    let stream = "crash-\(w)"
                    var version = try store.streamVersion(stream)
                    var n = 0
                    while true {
                        n += 1
                        let size = 1 + n % 3  // one to three events per append
                        let events = (0..<size).map { k in
                            ProposedEvent(type: "crash.tick", json: "{\"writer\":\(w),\"n\":\(n),\"k\":\(k),\"pad\":\"\(String(repeating: "z", count: (n * 37) % 900))\"}")
                        }
                        let r = try await store.append(
                            to: stream, expectedVersion: version.map { .exact($0) } ?? .noStream, events: events)
                        version = r.lastVersion
                        // One write(2) per line: lines from different appenders never interleave.
                        out.write(Data("ack \(r.firstPosition) \(r.lastPosition) \(stream) \(r.firstVersion) \(r.lastVersion)\n".utf8))
                    }
                }
            }
            try await group.next()
        }
    }
}
