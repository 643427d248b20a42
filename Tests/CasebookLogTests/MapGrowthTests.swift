import CasebookLog
import Foundation
import Testing

// The LMDB map: growing on demand from a small initial size, and refusing appends cleanly, with
// everything acknowledged intact, once it reaches its ceiling.

private func bigEvent(_ tag: String, _ i: Int, bytes: Int) -> ProposedEvent {
    let header = Array("{\"tag\":\"\(tag)\",\"i\":\(i),\"pad\":\"".utf8)
    let body = [UInt8](repeating: UInt8(ascii: "a") + UInt8(i % 26), count: max(0, bytes - header.count - 2))
    return ProposedEvent(type: "map.filled", payload: header + body + Array("\"}".utf8))
}

@Suite struct MapGrowthTests {
    @Test func theMapGrowsFromOneMiBToHoldTwentyMB() async throws {
        try await withStore({ $0.initialMapSize = 1 << 20 }) { store, _ in
            #expect(store.mapSize.current == 1 << 20)
            #expect(store.mapSize.ceiling == EventStoreOptions().maxMapSize)
            let total = 2000, payloadBytes = 10_000, concurrency = 50

            // A subscription reads along while the map is resized under it.
            let reader = Task { () throws -> (count: Int, bytes: Int) in
                var n = 0, bytes = 0
                for try await e in store.subscribe(from: 0, batchSize: 64) {
                    #expect(e.position == UInt64(n))
                    n += 1
                    bytes += e.payload.count
                    if n == total { break }
                }
                return (n, bytes)
            }

            var acknowledged = 0
            for round in 0..<(total / concurrency) {
                acknowledged += try await withThrowingTaskGroup(of: Int.self) { group in
                    for k in 0..<concurrency {
                        let i = round * concurrency + k
                        group.addTask {
                            try await store.append(to: "big-\(i % 10)", events: [bigEvent("grow", i, bytes: payloadBytes)])
                            return 1
                        }
                    }
                    return try await group.reduce(0, +)
                }
            }
            #expect(acknowledged == total)
            #expect(store.count == UInt64(total))
            #expect(store.mapSize.current > 1 << 20)
            #expect(store.mapSize.current >= total * payloadBytes)

            let (n, bytes) = try await reader.value
            #expect(n == total && bytes == total * payloadBytes)

            let report = try store.verify()
            #expect(report.problems.isEmpty)
            #expect(report.isValid && report.events == UInt64(total))
            for p in [0, 1, 999, 1999] {
                let e = try #require(try store.event(at: UInt64(p)))
                #expect(e.payload.count == payloadBytes)
            }
            #expect(try store.inclusionProof(position: 1234).verify(envelope: Envelope.encode(try #require(try store.event(at: 1234)))))
        }
    }

    @Test func atTheCeilingAppendsFailWithStoreFullAndNothingAcknowledgedIsLost() async throws {
        let dir = TempDir("map-ceiling")
        defer { dir.cleanup() }
        var options = EventStoreOptions()
        options.initialMapSize = 1 << 20
        options.maxMapSize = 4 << 20
        options.clock = { Timestamp(millisecondsSince1970: 1_767_225_600_000) }
        let payloadBytes = 64 << 10

        var acknowledged: [AppendResult] = []
        var root = Merkle.emptyRoot
        do {
            let store = try EventStore(path: dir.path, options: options)
            defer { store.close() }
            var failure: (any Error)?
            for i in 0..<200 {  // 200 × 64 KiB is far past 4 MiB
                do {
                    acknowledged.append(try await store.append(to: "fill-\(i % 3)", events: [bigEvent("fill", i, bytes: payloadBytes)]))
                } catch {
                    failure = error
                    break
                }
            }
            let error = try #require(failure, "no append failed below a 4 MiB ceiling")
            guard case .storeFull(let mapSize, let ceiling)? = error as? EventStoreError else {
                Issue.record("append failed with \(error), expected storeFull")
                return
            }
            #expect(ceiling == 4 << 20)
            #expect(mapSize == 4 << 20)
            #expect(store.mapSize.current == 4 << 20)
            #expect(!acknowledged.isEmpty)
            #expect(acknowledged.count < 64)  // 64 of them alone would fill 4 MiB

            // Every acknowledged event is there, gapless; nothing of the failed append is.
            #expect(store.count == UInt64(acknowledged.count))
            #expect(acknowledged.map(\.firstPosition) == (0..<UInt64(acknowledged.count)).map { $0 })
            for (i, result) in acknowledged.enumerated() {
                let e = try #require(try store.event(at: result.firstPosition), "position \(i) unreadable")
                #expect(e.payload == bigEvent("fill", i, bytes: payloadBytes).payload)
                #expect(e.streamId == "fill-\(i % 3)")
            }
            #expect(try store.event(at: UInt64(acknowledged.count)) == nil)

            // Another large append is refused the same way and changes nothing.
            await #expect(throws: EventStoreError.storeFull(mapSize: 4 << 20, ceiling: 4 << 20)) {
                try await store.append(to: "fill-0", events: [bigEvent("again", 0, bytes: payloadBytes)])
            }
            #expect(store.count == UInt64(acknowledged.count))

            let report = try store.verify()
            #expect(report.problems.isEmpty)
            #expect(report.isValid && report.events == UInt64(acknowledged.count))
            root = try store.root()
        }

        // Reopened: the same events, the same tree.
        let reopened = try EventStore(path: dir.path, options: options)
        defer { reopened.close() }
        #expect(reopened.count == UInt64(acknowledged.count))
        #expect(try reopened.root() == root)
        #expect(try reopened.read(from: 0, limit: 1000).count == acknowledged.count)
        let report = try reopened.verify()
        #expect(report.isValid && report.events == UInt64(acknowledged.count))
    }
}
