import CasebookLog
import CasebookWorkflow
import Foundation
import Testing

@testable import CasebookSimulation

/// The repository's Workflows folder, found from this file's path (…/Tests/CasebookSimulationTests/<file>).
private let workflowsDirectory: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/") + "/Workflows"
}()

/// A temporary store with an engine over it, removed afterwards.
private func withStore<T>(_ body: (EventStore, CaseEngine) async throws -> T) async throws -> T {
    let dir = NSTemporaryDirectory() + "casebook-simulation-test-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let store = try EventStore(path: dir + "/store")
    defer { store.close() }
    return try await body(store, try CaseEngine(store: store))
}

/// A small city: 3 communities, 60 requests each, the other workflows at their default rates.
private func smallCity(seed: UInt64 = 7, concurrency: Int = 8) -> CityConfiguration {
    var c = CityConfiguration(communities: 3, requestsPerCommunity: 60, seed: seed, concurrency: concurrency)
    c.admissionsPerCommunity = 14
    c.departmentsRatedPerCommunity = 12
    return c
}

private func simulate(_ engine: CaseEngine, _ configuration: CityConfiguration) async throws -> SimulationReport {
    try await CitySimulation(engine: engine, workflows: workflowsDirectory, configuration: configuration).run { _ in }
}

/// Every event as (type, stream, payload), personal data ciphertext blanked: keys and nonces are random.
private func logContents(_ store: EventStore) throws -> [String] {
    var out: [String] = []
    try store.scan { e in
        var text = e.payloadText ?? ""
        if let value = try? JSONValue.parse(text) { text = blankSealed(value).json }
        out.append("\(e.type) \(e.streamId) \(e.recordedAt.millisecondsSince1970) \(e.actor) \(e.commandId) \(text)")
        return true
    }
    return out
}

private func blankSealed(_ value: JSONValue) -> JSONValue {
    if PersonalData.sealed(value) != nil { return .string("[sealed]") }
    switch value {
    case .object(let o): return .object(o.mapValues(blankSealed))
    case .array(let a): return .array(a.map(blankSealed))
    default: return value
    }
}

@Suite struct CitySimulationTests {
    @Test func aSmallCityRunsThroughEveryWorkflowAndVerifies() async throws {
        try await withStore { store, engine in
            var seen: [SimulationProgress] = []
            let report = try await CitySimulation(engine: engine, workflows: workflowsDirectory, configuration: smallCity()).run { seen.append($0) }
            print(report.unexpected.joined(separator: "\n"))
            print(report.tallies.sorted { $0.key < $1.key })
            print(report.statesByWorkflow)
            print(report.refusals, report.breaches, report.eventsAppended, report.wallSeconds)
            #expect(report.unexpected == [])
            #expect(report.abandonedCases == 0)
            for name in CitySimulation.workflowNames {
                #expect((report.casesByWorkflow[name] ?? 0) > 0, "\(name) has cases")
            }
            #expect(seen.contains { $0.phase == .timers })
            #expect(seen.last?.phase == .done)
            let verified = try store.verify()
            #expect(verified.isValid)
            #expect(report.eventsAppended == store.count)
        }
    }
}
