import CasebookLog
import Foundation
import Synchronization
import Testing

// Catch-up subscriptions: history then live events, each exactly once and in order, under concurrent
// appends; starting positions; ending when the store closes; ending promptly when cancelled.

/// Hands one value to whoever waits, whichever of several racers comes first.
private final class FirstValue<T: Sendable>: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<T, Never>)
        case value(T)
        case done
    }
    private let state = Mutex<State>(.empty)

    func offer(_ value: T) {
        let c = state.withLock { s -> CheckedContinuation<T, Never>? in
            switch s {
            case .empty:
                s = .value(value)
                return nil
            case .waiting(let c):
                s = .done
                return c
            case .value, .done:
                return nil
            }
        }
        c?.resume(returning: value)
    }

    func wait() async -> T {
        await withCheckedContinuation { (c: CheckedContinuation<T, Never>) in
            let ready = state.withLock { s -> T? in
                if case .value(let v) = s {
                    s = .done
                    return v
                }
                s = .waiting(c)
                return nil
            }
            if let ready { c.resume(returning: ready) }
        }
    }
}

/// The task's result, or nil if it has not finished within `seconds` (it is then cancelled). Never
/// waits longer than that, even for a task that ignores cancellation.
private func outcome<T: Sendable>(of task: Task<T, any Error>, within seconds: Double) async -> Result<T, any Error>? {
    let first = FirstValue<Result<T, any Error>?>()
    let watcher = Task { first.offer(await task.result) }
    let timer = Task {
        try await Task.sleep(for: .seconds(seconds))
        first.offer(nil)
    }
    let result = await first.wait()
    timer.cancel()
    if result == nil {
        task.cancel()
        watcher.cancel()
    }
    return result
}

private func events(_ n: Int, _ tag: String) -> [ProposedEvent] {
    (0..<n).map { event("sub.\(tag)", "{\"i\":\($0)}") }
}

@Suite struct SubscriptionTests {
    @Test func subscriptionsSeeEveryPositionOnceInOrderWhileEightTasksAppend() async throws {
        try await withStore { store, _ in
            let total = 2000, writers = 8, perWriter = 250
            // Two subscriptions that stop after the expected count (one with tiny batches), and one that
            // runs until its task is cancelled, reporting each position as it sees it.
            func collect(batchSize: Int) -> Task<[RecordedEvent], any Error> {
                Task {
                    var seen: [RecordedEvent] = []
                    for try await e in store.subscribe(from: 0, batchSize: batchSize) {
                        seen.append(e)
                        if seen.count == total { break }
                    }
                    return seen
                }
            }
            let big = collect(batchSize: 512)
            let small = collect(batchSize: 7)
            let (stream, sink) = AsyncStream.makeStream(of: UInt64.self)
            let endless = Task { () throws -> Void in
                for try await e in store.subscribe(from: 0) { sink.yield(e.position) }
                sink.finish()
            }

            try await withThrowingTaskGroup(of: Void.self) { group in
                for w in 0..<writers {
                    group.addTask {
                        var written = 0
                        var k = 0
                        while written < perWriter {
                            let n = min(perWriter - written, [1, 2, 3, 4][(w + k) % 4])
                            let events = (written..<written + n).map { i in event("sub.write", "{\"w\":\(w),\"i\":\(i)}") }
                            try await store.append(to: "writer-\(w)", events: events)
                            written += n
                            k += 1
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(store.count == UInt64(total))

            for (name, task) in [("batch 512", big), ("batch 7", small)] {
                guard let result = await outcome(of: task, within: 30) else {
                    Issue.record("subscription (\(name)) did not deliver \(total) events")
                    continue
                }
                let seen = try result.get()
                #expect(seen.map(\.position) == (0..<UInt64(total)).map { $0 }, "subscription (\(name))")
                // Each writer's events arrive in its own order, with consecutive stream versions.
                for w in 0..<writers {
                    let mine = seen.filter { $0.streamId == "writer-\(w)" }
                    #expect(mine.map(\.streamVersion) == (0..<UInt64(perWriter)).map { $0 })
                    #expect(mine.map(\.payloadText) == (0..<perWriter).map { "{\"w\":\(w),\"i\":\($0)}" })
                }
                // What the subscription delivered is what the log holds.
                #expect(seen == (try store.read(from: 0, limit: total)))
            }

            // The endless subscription delivered 0…1999 and then waits; cancelling its task ends it.
            var positions: [UInt64] = []
            for await p in stream {
                positions.append(p)
                if positions.count == total { break }
            }
            #expect(positions == (0..<UInt64(total)).map { $0 })
            endless.cancel()
            guard let ended = await outcome(of: endless, within: 10) else {
                Issue.record("cancelled subscription did not end")
                return
            }
            #expect(throws: CancellationError.self) { try ended.get() }
        }
    }

    @Test func aSubscriptionFromTheMiddleStartsThere() async throws {
        try await withStore { store, _ in
            try await store.append(to: "a", events: events(60, "a"))
            try await store.append(to: "b", events: events(40, "b"))
            let fromMiddle = Task { () throws -> [RecordedEvent] in
                var seen: [RecordedEvent] = []
                for try await e in store.subscribe(from: 40, batchSize: 16) {
                    seen.append(e)
                    if e.position == 119 { break }
                }
                return seen
            }
            // Live events after the history.
            for i in 0..<20 { try await store.append(to: "c", events: [event("sub.live", "{\"i\":\(i)}")]) }
            guard let result = await outcome(of: fromMiddle, within: 20) else {
                Issue.record("subscription from 40 did not reach 119")
                return
            }
            let seen = try result.get()
            #expect(seen.first?.position == 40)
            #expect(seen.first == (try store.event(at: 40)))
            #expect(seen.map(\.position) == (40..<UInt64(120)).map { $0 })

            // From the current end: only what is appended next.
            let fromEnd = Task { () throws -> [UInt64] in
                var seen: [UInt64] = []
                for try await e in store.subscribe(from: 120) {
                    seen.append(e.position)
                    if seen.count == 3 { break }
                }
                return seen
            }
            // From beyond the end: waits for that position, skips nothing before it.
            let fromFuture = Task { () throws -> [UInt64] in
                var seen: [UInt64] = []
                for try await e in store.subscribe(from: 125) {
                    seen.append(e.position)
                    if e.position == 127 { break }
                }
                return seen
            }
            try await store.append(to: "d", events: events(8, "d"))
            let end = try #require(await outcome(of: fromEnd, within: 20), "subscription from the end did not finish")
            #expect(try end.get() == [120, 121, 122])
            let future = try #require(await outcome(of: fromFuture, within: 20), "subscription from 125 did not finish")
            #expect(try future.get() == [125, 126, 127])
        }
    }

    @Test func aSubscriptionEndsWhenTheStoreCloses() async throws {
        try await withStore { store, _ in
            try await store.append(to: "s", events: events(5, "s"))
            let (stream, sink) = AsyncStream.makeStream(of: UInt64.self)
            let live = Task { () throws -> [UInt64] in
                var seen: [UInt64] = []
                for try await e in store.subscribe(from: 0) {
                    seen.append(e.position)
                    sink.yield(e.position)
                }
                sink.finish()
                return seen  // reached only when next() returns nil
            }
            // Wait until the history is delivered (the subscription then waits for more), then close.
            var delivered = 0
            for await _ in stream {
                delivered += 1
                if delivered == 5 { break }
            }
            store.close()
            guard let result = await outcome(of: live, within: 10) else {
                Issue.record("subscription did not end after close()")
                return
            }
            #expect(try result.get() == [0, 1, 2, 3, 4])

            // A subscription made after close delivers the history, then ends.
            let late = Task { () throws -> [UInt64] in
                var seen: [UInt64] = []
                for try await e in store.subscribe(from: 2) { seen.append(e.position) }
                return seen
            }
            let lateResult = try #require(await outcome(of: late, within: 10), "subscription after close() did not end")
            #expect(try lateResult.get() == [2, 3, 4])
            var iterator = store.subscribe(from: 5).makeAsyncIterator()
            #expect(try await iterator.next() == nil)
            await #expect(throws: EventStoreError.closed) {
                try await store.append(to: "s", events: [event()])
            }
        }
    }

    @Test func aSubscriptionOnAReadOnlyStoreEndsWhenItCloses() async throws {
        let dir = TempDir("readonly-subscription")
        defer { dir.cleanup() }
        do {
            let writer = try EventStore(path: dir.path)
            defer { writer.close() }
            try await writer.append(to: "s", events: events(3, "s"))
        }
        var options = EventStoreOptions()
        options.readOnly = true
        let store = try EventStore(path: dir.path, options: options)
        defer { store.close() }
        #expect(store.count == 3)

        let (stream, sink) = AsyncStream.makeStream(of: UInt64.self)
        let live = Task { () throws -> [UInt64] in
            var seen: [UInt64] = []
            for try await e in store.subscribe(from: 0) {
                seen.append(e.position)
                sink.yield(e.position)
            }
            return seen
        }
        for await p in stream where p == 2 { break }
        store.close()
        // close() promises that subscriptions end; a read-only store has no writer to end them.
        if let result = await outcome(of: live, within: 3) {
            #expect(try result.get() == [0, 1, 2])
        } else {
            Issue.record("a subscription on a read-only store did not end within 3 s of close() (it was cancelled instead)")
        }
        // A subscription made after close() delivers the history and ends.
        let late = Task { () throws -> [UInt64] in
            var seen: [UInt64] = []
            for try await e in store.subscribe(from: 1) { seen.append(e.position) }
            return seen
        }
        if let result = await outcome(of: late, within: 3) {
            #expect(try result.get() == [1, 2])
        } else {
            Issue.record("a subscription made after close() on a read-only store did not end within 3 s (it was cancelled instead)")
        }
    }

    @Test func aZeroBatchSizeNeitherSpinsNorSkipsEvents() async throws {
        try await withStore { store, _ in
            try await store.append(to: "s", events: events(5, "s"))
            // A subscription with batchSize 0 must deliver the events (e.g. by reading at least one at a
            // time) or end; it must not loop forever reading empty batches.
            let zero = Task { () throws -> [UInt64] in
                var seen: [UInt64] = []
                for try await e in store.subscribe(from: 0, batchSize: 0) {
                    seen.append(e.position)
                    if seen.count == 5 { break }
                }
                return seen
            }
            if let result = await outcome(of: zero, within: 3) {
                #expect(try result.get() == [0, 1, 2, 3, 4])
            } else {
                Issue.record("subscribe(batchSize: 0) delivered nothing within 3 s (it reads empty batches forever; it was cancelled)")
            }
            // scan with batchSize 0 reads one event at a time: it visits every event.
            var visited: [UInt64] = []
            try store.scan(from: 0, batchSize: 0) { e in
                visited.append(e.position)
                return true
            }
            #expect(visited == [0, 1, 2, 3, 4], "scan(batchSize: 0) visited \(visited)")
        }
    }

    @Test func cancellingATaskWaitingInNextEndsItPromptly() async throws {
        try await withStore { store, _ in
            try await store.append(to: "s", events: events(3, "s"))

            // Cancelled while waiting for live events, after the history.
            let (stream, sink) = AsyncStream.makeStream(of: UInt64.self)
            let waiting = Task { () throws -> Int in
                var n = 0
                for try await _ in store.subscribe(from: 0) {
                    n += 1
                    sink.yield(UInt64(n))
                }
                return n
            }
            for await n in stream where n == 3 { break }
            try await Task.sleep(for: .milliseconds(50))  // let it reach the wait; either way it must end
            waiting.cancel()
            if let result = await outcome(of: waiting, within: 5) {
                #expect(throws: CancellationError.self) { try result.get() }
            } else {
                Issue.record("a subscription waiting in next() did not end within 5 s of cancellation")
            }

            // Cancelled at once, on an empty tail, possibly before it starts waiting.
            for _ in 0..<20 {
                let immediate = Task { () throws -> Int in
                    var n = 0
                    for try await _ in store.subscribe(from: store.count) { n += 1 }
                    return n
                }
                immediate.cancel()
                if let result = await outcome(of: immediate, within: 5) {
                    #expect(throws: CancellationError.self) { try result.get() }
                } else {
                    Issue.record("an immediately cancelled subscription did not end within 5 s")
                    break
                }
            }

            // A directly driven iterator in a task cancelled mid-wait.
            let direct = Task { () throws -> RecordedEvent? in
                var iterator = store.subscribe(from: 3).makeAsyncIterator()
                return try await iterator.next()
            }
            try await Task.sleep(for: .milliseconds(20))
            direct.cancel()
            if let result = await outcome(of: direct, within: 5) {
                #expect(throws: CancellationError.self) { _ = try result.get() }
            } else {
                Issue.record("next() did not return within 5 s of cancellation")
            }

            // The store and new subscriptions are unaffected.
            try await store.append(to: "s", events: [event()])
            let after = Task { () throws -> UInt64? in
                for try await e in store.subscribe(from: 3) { return e.position }
                return nil
            }
            let afterResult = try #require(await outcome(of: after, within: 10), "subscription after cancellations did not deliver")
            #expect(try afterResult.get() == 3)
        }
    }
}
