import Foundation

/// The built `casebook` executable, beside the test bundle (or `CASEBOOK_BIN`).
let casebookBinary: URL = {
    if let path = ProcessInfo.processInfo.environment["CASEBOOK_BIN"] { return URL(fileURLWithPath: path) }
    let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("casebook")
    if FileManager.default.isExecutableFile(atPath: besideTests.path) { return besideTests }
    // Fall back to the package's debug build folder.
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/debug/casebook")
}()

/// The result of running the CLI.
struct RunResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs `casebook` with `arguments` and waits for it.
@discardableResult
func casebook(_ arguments: [String], environment: [String: String] = [:]) throws -> RunResult {
    let process = Process()
    process.executableURL = casebookBinary
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { $1 }
    process.environment = env
    let dir = NSTemporaryDirectory() + "casebook-cli-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let out = URL(fileURLWithPath: dir + "/out"), err = URL(fileURLWithPath: dir + "/err")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    try process.run()
    process.waitUntilExit()
    return RunResult(
        status: process.terminationStatus,
        stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
}

/// A temporary directory path (not created).
func temporaryPath(_ name: String) -> String {
    NSTemporaryDirectory() + "casebook-\(name)-\(UUID().uuidString)"
}
