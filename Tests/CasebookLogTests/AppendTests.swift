import CasebookLog
import Foundation
import Testing

@Suite struct AppendTests {
    @Test func positionsAreGaplessAndVersionsCountPerStream() async throws {
        try await withStore { store, _ in
            let a1 = try await store.append(to: "a", expectedVersion: .noStream, events: [event(), event()])
            let b1 = try await store.append(to: "b", expectedVersion: .noStream, events: [event()])
            let a2 = try await store.append(to: "a", expectedVersion: .exact(1), events: [event()])
            #expect(a1.firstPosition == 0 && a1.lastPosition == 1 && a1.firstVersion == 0 && a1.lastVersion == 1)
            #expect(b1.firstPosition == 2 && b1.lastVersion == 0)
            #expect(a2.firstPosition == 3 && a2.firstVersion == 2)
            #expect(store.count == 4)
            let all = try store.read(from: 0)
            #expect(all.map(\.position) == [0, 1, 2, 3])
            #expect(all.map(\.streamId) == ["a", "a", "b", "a"])
            #expect(try store.streamVersion("a") == 2)
            #expect(try store.streamVersion("nope") == nil)
        }
    }

    /// What `sync()` writes to disk cannot be seen from here (it matters after a power loss); this checks that it
    /// succeeds on a store kept without sync and leaves it whole.
    @Test func syncOnAStoreKeptWithoutSyncSucceedsAndTheStoreReadsBackAfterReopening() async throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        var options = EventStoreOptions()
        options.unsafeNoSync = true
        let store = try EventStore(path: dir.path, options: options)
        try await store.append(to: "s", expectedVersion: .noStream, events: [event(), event("test.other", #"{"n":1}"#)])
        try store.sync()
        store.close()
        let reopened = try EventStore(path: dir.path)
        defer { reopened.close() }
        #expect(reopened.count == 2)
        #expect(try reopened.read(from: 0).map(\.type) == ["test.happened", "test.other"])
    }

    @Test func streamViewsVisitWhatReadStreamReturns() async throws {
        try await withStore { store, _ in
            for i in 0..<5 {
                try await store.append(to: "a", expectedVersion: i == 0 ? .noStream : .exact(UInt64(i - 1)), events: [event("a.\(i)", #"{"i":\#(i)}"#)])
                try await store.append(to: "b", expectedVersion: i == 0 ? .noStream : .exact(UInt64(i - 1)), events: [event("b.\(i)")])
            }
            func viewed(_ stream: String, from: UInt64?, _ direction: ReadDirection, limit: Int) throws -> [String] {
                var out: [String] = []
                try store.readStreamViews(stream, from: from, direction: direction, limit: limit) { v in
                    out.append("\(v.position)/\(v.streamVersion) \(String(decoding: v.type, as: UTF8.self)) \(String(decoding: v.payload, as: UTF8.self))")
                }
                return out
            }
            func read(_ stream: String, from: UInt64?, _ direction: ReadDirection, limit: Int) throws -> [String] {
                try store.readStream(stream, from: from, direction: direction, limit: limit).map {
                    "\($0.position)/\($0.streamVersion) \($0.type) \(String(decoding: $0.payload, as: UTF8.self))"
                }
            }
            for (from, direction, limit) in [(nil, ReadDirection.forward, 100), (2, .forward, 2), (nil, .backward, 3), (1, .backward, 100), (9, .forward, 5)] as [(UInt64?, ReadDirection, Int)] {
                #expect(try viewed("a", from: from, direction, limit: limit) == read("a", from: from, direction, limit: limit))
            }
            #expect(try viewed("a", from: nil, .forward, limit: 100) == (0..<5).map { #"\#($0 * 2)/\#($0) a.\#($0) {"i":\#($0)}"# })
            #expect(try viewed("nope", from: nil, .forward, limit: 100).isEmpty)
        }
    }

    @Test func wrongExpectedVersionNamesActualAndWritesNothing() async throws {
        try await withStore { store, _ in
            try await store.append(to: "s", expectedVersion: .noStream, events: [event()])
            await #expect(throws: EventStoreError.wrongExpectedVersion(stream: "s", expected: .exact(5), actual: 0)) {
                try await store.append(to: "s", expectedVersion: .exact(5), events: [event(), event()])
            }
            await #expect(throws: EventStoreError.wrongExpectedVersion(stream: "s", expected: .noStream, actual: 0)) {
                try await store.append(to: "s", expectedVersion: .noStream, events: [event()])
            }
            await #expect(throws: EventStoreError.wrongExpectedVersion(stream: "t", expected: .exact(0), actual: nil)) {
                try await store.append(to: "t", expectedVersion: .exact(0), events: [event()])
            }
            #expect(store.count == 1)
            #expect(try store.read(from: 0).count == 1)
            let message = EventStoreError.wrongExpectedVersion(stream: "s", expected: .exact(5), actual: 0).description
            #expect(message.contains("version 0") && message.contains("expected 5"))
        }
    }

    @Test func sixtyFourRacersOnOneExpectedVersionExactlyOneWins() async throws {
        try await withStore { store, _ in
            try await store.append(to: "case-1", expectedVersion: .noStream, events: [event()])
            let outcomes = await withTaskGroup(of: Result<AppendResult, any Error>.self) { group in
                for i in 0..<64 {
                    group.addTask {
                        do {
                            return .success(try await store.append(to: "case-1", expectedVersion: .exact(0), events: [event("racer", "{\"i\":\(i)}")]))
                        } catch {
                            return .failure(error)
                        }
                    }
                }
                var all: [Result<AppendResult, any Error>] = []
                for await r in group { all.append(r) }
                return all
            }
            let winners = outcomes.compactMap { try? $0.get() }
            #expect(winners.count == 1)
            #expect(winners.first?.lastVersion == 1)
            for case .failure(let error) in outcomes {
                #expect(error as? EventStoreError == .wrongExpectedVersion(stream: "case-1", expected: .exact(0), actual: 1))
            }
            #expect(store.count == 2)
            #expect(try store.verify().isValid)
        }
    }

    @Test func aBadAppenderDoesNotFailOthersInItsBatch() async throws {
        try await withStore { store, _ in
            // Many concurrent appenders, every third one with a wrong expected version.
            let results = await withTaskGroup(of: (Int, Bool).self) { group in
                for i in 0..<300 {
                    group.addTask {
                        let expected: ExpectedVersion = i % 3 == 0 ? .exact(99) : .noStream
                        let ok = (try? await store.append(to: "s-\(i)", expectedVersion: expected, events: [event()])) != nil
                        return (i, ok)
                    }
                }
                var all: [(Int, Bool)] = []
                for await r in group { all.append(r) }
                return all
            }
            for (i, ok) in results { #expect(ok == (i % 3 != 0), "append \(i)") }
            #expect(store.count == 200)
            let report = try store.verify()
            #expect(report.isValid)
        }
    }

    @Test func aBatchOfManyRecordsIsWrittenInOrderWithItsHashes() async throws {
        // One append of 300 events and 100 single appends racing it: batches of more than a hundred records,
        // which the writer patches and hashes on two threads before writing them.
        try await withStore { store, _ in
            let big = (0..<300).map { event("bulk.item", "{\"n\":\($0)}") }
            async let bulk = store.append(to: "bulk", expectedVersion: .noStream, events: big)
            let singles = await withTaskGroup(of: AppendResult?.self) { group in
                for i in 0..<100 {
                    group.addTask { try? await store.append(to: "s-\(i)", expectedVersion: .noStream, events: [event("single", "{\"i\":\(i)}")]) }
                }
                var all: [AppendResult] = []
                for await r in group { if let r { all.append(r) } }
                return all
            }
            let b = try await bulk
            #expect(singles.count == 100 && store.count == 400)
            #expect(b.lastPosition - b.firstPosition == 299 && b.firstVersion == 0 && b.lastVersion == 299)
            // Every record is where its append said, with its version, and proves against the tree.
            let stream = try store.readStream("bulk", limit: 1000)
            #expect(stream.map(\.position) == Array(b.firstPosition...b.lastPosition))
            #expect(stream.map(\.streamVersion) == Array(0...299))
            #expect(stream.map { String(decoding: $0.payload, as: UTF8.self) } == (0..<300).map { "{\"n\":\($0)}" })
            for r in singles { #expect(try store.event(at: r.firstPosition)?.streamId == r.streamId) }
            for position in [b.firstPosition, b.firstPosition + 127, b.lastPosition, 0, 399] {
                let e = try #require(try store.event(at: position))
                #expect(try store.inclusionProof(position: position).verify(envelope: Envelope.encode(e)))
            }
            #expect(try store.verify().isValid)
        }
    }

    @Test func idempotentRetryReturnsOriginalAndWritesNothing() async throws {
        try await withStore { store, _ in
            let first = try await store.append(to: "s", expectedVersion: .noStream, events: [event(), event()], commandId: "cmd-1")
            try await store.append(to: "other", events: [event()])
            let again = try await store.append(to: "s", expectedVersion: .noStream, events: [event(), event()], commandId: "cmd-1")
            #expect(!first.deduplicated && again.deduplicated)
            #expect(again.firstPosition == first.firstPosition && again.lastPosition == first.lastPosition)
            #expect(again.lastVersion == first.lastVersion)
            #expect(store.count == 3)
            await #expect(throws: EventStoreError.commandIdReused(commandId: "cmd-1", originalStream: "s", stream: "t")) {
                try await store.append(to: "t", events: [event()], commandId: "cmd-1")
            }
            // Concurrent duplicates of a new command: one write, all get the same result.
            let results = try await withThrowingTaskGroup(of: AppendResult.self) { group in
                for _ in 0..<16 { group.addTask { try await store.append(to: "u", events: [event()], commandId: "cmd-2") } }
                var all: [AppendResult] = []
                for try await r in group { all.append(r) }
                return all
            }
            #expect(Set(results.map(\.firstPosition)).count == 1)
            #expect(results.filter { !$0.deduplicated }.count == 1)
            #expect(store.count == 4)
            #expect(try store.read(from: 0).filter { $0.commandId == "cmd-1" }.count == 2)
        }
    }

    @Test func multiEventAppendIsAtomic() async throws {
        try await withStore { store, _ in
            let events = (0..<50).map { event("e", "{\"n\":\($0)}") }
            let r = try await store.append(to: "batch", expectedVersion: .noStream, events: events)
            #expect(r.lastPosition - r.firstPosition == 49)
            // A failing multi-event append leaves nothing behind.
            await #expect(throws: EventStoreError.self) {
                try await store.append(to: "batch", expectedVersion: .noStream, events: events)
            }
            #expect(store.count == 50)
            let stream = try store.readStream("batch")
            #expect(stream.map(\.streamVersion) == Array(0..<50))
            #expect(stream.map(\.position) == Array(0..<50))
        }
    }

    @Test func streamsReadForwardAndBackwardFromAnyVersion() async throws {
        try await withStore { store, _ in
            for i in 0..<30 {
                try await store.append(to: i % 3 == 0 ? "other" : "s", events: [event("e", "{\"i\":\(i)}")])
            }
            let all = try store.readStream("s")
            #expect(all.map(\.streamVersion) == Array(0..<20))
            #expect(try store.readStream("s", from: 5, limit: 3).map(\.streamVersion) == [5, 6, 7])
            #expect(try store.readStream("s", from: 18, limit: 10).map(\.streamVersion) == [18, 19])
            #expect(try store.readStream("s", from: 20).isEmpty)
            #expect(try store.readStream("s", direction: .backward, limit: 3).map(\.streamVersion) == [19, 18, 17])
            #expect(try store.readStream("s", from: 2, direction: .backward).map(\.streamVersion) == [2, 1, 0])
            #expect(try store.readStream("s", from: 99, direction: .backward, limit: 1).map(\.streamVersion) == [19])
            #expect(try store.readStream("missing").isEmpty)
            // Positions interleave with the other stream, and each event is the one indexed.
            #expect(all.allSatisfy { $0.streamId == "s" })
            #expect(all.map(\.position) == (0..<30).filter { $0 % 3 != 0 }.map(UInt64.init))
        }
    }

    @Test func invalidRequestsAreRefusedBeforeTheWriter() async throws {
        try await withStore { store, _ in
            await #expect(throws: EventStoreError.invalidRequest("stream id is empty")) {
                try await store.append(to: "", events: [event()])
            }
            await #expect(throws: EventStoreError.invalidRequest("no events to append")) {
                try await store.append(to: "s", events: [])
            }
            await #expect(throws: EventStoreError.self) {
                try await store.append(to: String(repeating: "x", count: 300), events: [event()])
            }
            #expect(store.count == 0)
        }
    }

    @Test func envelopeCarriesAllMetadataAndRoundTrips() async throws {
        try await withStore { store, _ in
            let e = ProposedEvent(
                type: "case.opened", payload: Array("{\"title\":\"居民诉求\"}".utf8), payloadEncoding: .json, schemaVersion: 3,
                actor: "counter:王芳", correlationId: "corr-1", causationId: "cause-1",
                recordedAt: Timestamp(iso8601: "2026-02-14T09:30:00+08:00"))
            try await store.append(to: "案件-1", events: [e], commandId: "c-9")
            let got = try #require(try store.event(at: 0))
            #expect(got.type == "case.opened" && got.schemaVersion == 3 && got.actor == "counter:王芳")
            #expect(got.correlationId == "corr-1" && got.causationId == "cause-1" && got.commandId == "c-9")
            #expect(got.streamId == "案件-1" && got.payloadText == "{\"title\":\"居民诉求\"}")
            #expect(got.recordedAt.iso8601 == "2026-02-14T01:30:00.000Z")
            #expect(Envelope.decode(Envelope.encode(got)) == got)
            // Without a time of its own, the event gets the store clock's.
            try await store.append(to: "x", events: [event()])
            #expect(try store.event(at: 1)?.recordedAt.iso8601 == "2026-01-01T00:00:00.000Z")
        }
    }

    @Test func malformedEnvelopesAreRejected() {
        let good = Envelope.encode(RecordedEvent(
            position: 7, streamId: "s", streamVersion: 0, type: "t", schemaVersion: 1,
            recordedAt: Timestamp(millisecondsSince1970: 0), actor: "", correlationId: "", causationId: "", commandId: "",
            payloadEncoding: .json, payload: Array("{}".utf8)))
        #expect(Envelope.decode(good) != nil)
        for cut in 0..<good.count { #expect(Envelope.decode(Array(good.prefix(cut))) == nil) }
        #expect(Envelope.decode(good + [0]) == nil)
        var badFormat = good
        badFormat[0] = 9
        #expect(Envelope.decode(badFormat) == nil)
    }
}
