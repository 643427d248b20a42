import CasebookLMDB
import CasebookLog
@testable import CasebookProjections
import CasebookWorkflow
import Foundation
import Testing
@testable import CasebookTestSupport

// Projection mechanics: incremental catch-up equals a rebuild from position 0, byte for byte; a rebuild
// swaps one projection's table and leaves the others alone; catch-up is idempotent, resumable from its
// checkpoint after a reopen, and independent of its batch size.

@Suite struct ProjectionMechanicsTests {
    @Test func catchingUpAfterEveryCommandEqualsARebuildFromZero() async throws {
        try await World.run { w in
            let p = try ProjectionStore(store: w.store)
            var catchUps = 0
            w.afterCommand = {
                try p.catchUp()
                catchUps += 1
                #expect(try p.status().allSatisfy { $0.checkpoint == w.store.count })
            }
            try await w.allScenarios()
            w.afterCommand = nil
            #expect(catchUps > 100)
            let incremental = try p.dumpAll()
            for name in ProjectionStore.names { #expect(!(incremental[name] ?? []).isEmpty, "\(name) has rows") }

            // A second store folding everything at once, and a third one event per transaction.
            let once = try w.projections(path: w.dir + "/once")
            expectSameDumps(incremental, try once.dumpAll(), "incremental vs all at once")
            let single = try ProjectionStore(store: w.store, path: w.dir + "/single")
            let run = try single.catchUp(batchSize: 1)
            #expect(run.events == w.store.count && run.transactions == Int(w.store.count))
            expectSameDumps(incremental, try single.dumpAll(), "incremental vs batches of one")
            // A new store caught up in one transaction with at most 10 rows and tallies in memory: written
            // out and dropped within it, then read back, many times over.
            let small = try ProjectionStore(store: w.store, path: w.dir + "/small")
            #expect(try small.catchUp(batchSize: 1 << 20, cacheLimit: 10).transactions == 1)
            expectSameDumps(incremental, try small.dumpAll(), "incremental vs a cache of 10")

            // Rebuilding from 0 into the spare tables and swapping gives the same bytes.
            let rebuilt = try p.rebuild()
            #expect(rebuilt.events == w.store.count)
            expectSameDumps(incremental, try p.dumpAll(), "incremental vs rebuilt")
            for s in try p.status() {
                #expect(s.generation == 1 && s.checkpoint == w.store.count && s.entries == incremental[s.name]?.count)
            }
            // A rebuild in small batches, with the cache dropped between them, too.
            try p.rebuild(batchSize: 7, cacheLimit: 10)
            expectSameDumps(incremental, try p.dumpAll(), "incremental vs rebuilt in batches of 7")
            #expect(try p.status().allSatisfy { $0.generation == 2 })

            // Read ahead on a second thread in batches of 5 positions (a large log's path, on this small one),
            // catching up in runs of 300 and rebuilding in one.
            let ahead = try ProjectionStore(store: w.store, path: w.dir + "/ahead", readOnly: false,
                                            readAhead: .init(minimumEvents: 16, batchSize: 5))
            let caughtUp = try ahead.catchUp(batchSize: 300)
            #expect(caughtUp.transactions == (Int(w.store.count) + 299) / 300)
            expectSameDumps(incremental, try ahead.dumpAll(), "incremental vs read ahead in runs of 300")
            try ahead.rebuild()
            expectSameDumps(incremental, try ahead.dumpAll(), "incremental vs rebuilt, read ahead")
            // With at most 20 rows and tallies cached: written out and dropped within the transaction,
            // then read back, many times over.
            try ahead.rebuild(cacheLimit: 20)
            expectSameDumps(incremental, try ahead.dumpAll(), "incremental vs rebuilt with a cache of 20")

            // Every batch handed over unread, for the folding thread to read and parse with words of its own
            // (a folding thread that would wait gets some of them; here all of them).
            let unread = try ProjectionStore(store: w.store, path: w.dir + "/unread", readOnly: false,
                                             readAhead: .init(minimumEvents: 16, batchSize: 5, unread: .always))
            try unread.catchUp(batchSize: 300)
            expectSameDumps(incremental, try unread.dumpAll(), "incremental vs read by the folding thread")
            try unread.rebuild(cacheLimit: 20)
            expectSameDumps(incremental, try unread.dumpAll(), "incremental vs rebuilt, read by the folding thread")
        }
    }

    @Test func runsAreReadInSpansThatCoverThemExactly() {
        func spans(_ from: UInt64, _ end: UInt64, _ size: Int) -> [Range<UInt64>] { Array(ProjectionStore.spans(from: from, to: end, size: size)) }
        #expect(spans(0, 10, 4) == [0..<4, 4..<8, 8..<10])
        #expect(spans(3, 11, 4) == [3..<7, 7..<11])
        #expect(spans(5, 5, 4) == [])
        #expect(spans(0, 3, 0) == [0..<1, 1..<2, 2..<3], "a size below 1 reads one position at a time")
    }

    @Test func aReaderReadsEveryEventAsReadingItAloneDoes() async throws {
        try await World.run { w in
            try await w.allScenarios()
            var reader = CaseEvent.Reader()
            var read = 0, longStrings = 0
            try w.store.scanViews(from: 0) { view in
                let alone = try CaseEvent.read(view)
                let inTurn = try reader.read(view)
                #expect(alone.map { String(describing: $0) } == inTurn.map { String(describing: $0) }, "event \(view.position)")
                if let e = inTurn {
                    read += 1
                    // Strings the reader keeps and hands out again (longer than 15 UTF-8 bytes).
                    longStrings += ([e.command, e.actor, e.workflow ?? ""] + e.set.compactMap { $0.value.string }).filter { $0.utf8.count > 15 }.count
                }
            }
            #expect(read > 100)
            #expect(longStrings > 50)
        }
    }

    @Test func rebuildingOneProjectionLeavesTheOthersUntouchedAndBumpsItsGeneration() async throws {
        try await World.run { w in
            try await w.ledgerCommands()
            try await w.admissionCommands()
            let p = try w.projections()
            let before = try p.dumpAll()
            let statusBefore = try p.status()
            #expect(statusBefore.allSatisfy { $0.generation == 0 && $0.checkpoint == w.store.count })

            try p.rebuild(["ledger"])
            let after = try p.dumpAll()
            expectSameDumps(before, after, "after rebuilding the ledger")
            let statusAfter = try p.status()
            for (b, a) in zip(statusBefore, statusAfter) {
                #expect(a.generation == (a.name == "ledger" ? 1 : 0), "\(a.name)")
                #expect(a.checkpoint == b.checkpoint && a.entries == b.entries, "\(a.name)")
            }
            #expect(throws: ProjectionError.self) { try p.rebuild(["ledgers"]) }
            #expect(try p.status().first { $0.name == "ledger" }?.generation == 1, "an unknown name rebuilds nothing")

            // The swapped-in table keeps up incrementally like the old one.
            try await w.ledgerTimers()
            try await w.ledgerSettlement()
            try p.catchUp()
            #expect(try p.ledgerRow("led-1")?.state == "closed")
            let fresh = try w.projections(path: w.dir + "/fresh")
            expectSameDumps(try fresh.dumpAll(), try p.dumpAll(), "after more commands on the rebuilt ledger")

            try p.rebuild(["ledger", "admissions"])
            #expect(try p.status().map(\.generation) == ProjectionStore.names.map { ["ledger": 2, "admissions": 1][$0] ?? 0 })
            expectSameDumps(try fresh.dumpAll(), try p.dumpAll(), "after the second rebuild")
        }
    }

    @Test func catchingUpTwiceReadsNothingTheSecondTime() async throws {
        try await World.run { w in
            try await w.evaluationCommands()
            let p = try ProjectionStore(store: w.store)
            let first = try p.catchUp()
            #expect(first.events == w.store.count && first.transactions == 1)
            let dump = try p.dumpAll()
            let status = try p.status()
            let second = try p.catchUp()
            #expect(second.events == 0 && second.transactions == 0)
            expectSameDumps(dump, try p.dumpAll(), "after a second catch-up")
            #expect(try p.status() == status)
        }
    }

    @Test func aReopenedProjectionStoreContinuesFromItsCheckpoint() async throws {
        try await World.run { w in
            try await w.requestCommands()
            let checkpoint: UInt64
            do {
                let p = try w.projections()
                checkpoint = w.store.count
                #expect(try p.status().allSatisfy { $0.checkpoint == checkpoint })
            }  // closed here
            try await w.requestTimers()
            try await w.evaluationCommands()
            #expect(w.store.count > checkpoint)

            let reopened = try ProjectionStore(store: w.store)
            #expect(try reopened.status().allSatisfy { $0.checkpoint == checkpoint }, "the checkpoint survived the close")
            let run = try reopened.catchUp()
            #expect(run.events == w.store.count - checkpoint, "only the events appended since")
            #expect(try reopened.requestRow("req-7")?.overdueFlag == true)
            let fresh = try w.projections(path: w.dir + "/fresh")
            expectSameDumps(try fresh.dumpAll(), try reopened.dumpAll(), "reopened and caught up vs from scratch")
        }
    }

    @Test func aProjectionFoldedUnderAnOlderLayoutIsRebuiltNotMisread() async throws {
        try await World.run { w in
            try await w.requestCommands()
            let before: [ProjectionStatus]
            let dump: [String: [(key: String, value: [UInt8])]]
            do {
                let p = try w.projections()
                before = try p.status()
                dump = try p.dumpAll()
            }
            // Pretend the requests table was written by an older version of Casebook.
            var options = EnvironmentOptions()
            options.mapSize = 256 << 20
            var specs = [DatabaseSpec("meta")]
            for name in ProjectionStore.names { specs += [DatabaseSpec(name + ".a"), DatabaseSpec(name + ".b")] }
            do {
                let env = try Environment(path: w.store.path + "/projections", databases: specs, options: options)
                try env.write { txn in
                    try txn.put(env.database("meta"), key: Array("requests.format".utf8), value: withUnsafeBytes(of: UInt64(1).bigEndian) { Array($0) })
                }
            }
            let p = try ProjectionStore(store: w.store)
            // A catch-up to a point cannot rebuild, and must not record the old rows as the new layout.
            #expect(throws: ProjectionError.staleLayout(["requests"])) { try p.catchUp(upTo: w.store.count) }
            #expect(throws: ProjectionError.staleLayout(["requests"])) { try p.catchUp(recordedAtOrBefore: 0) }
            let run = try p.catchUp()
            #expect(run.events == w.store.count, "the stale projection was folded again from position 0")
            let after = try p.status()
            #expect(after.first { $0.name == "requests" }?.generation == (before.first { $0.name == "requests" }?.generation ?? 0) + 1)
            #expect(after.filter { $0.name != "requests" } == before.filter { $0.name != "requests" }, "the others were left alone")
            expectSameDumps(dump, try p.dumpAll(), "rebuilt under the current layout")
            #expect(try p.catchUp().events == 0, "and it is not rebuilt again")
        }
    }

    @Test func projectionsCaughtUpSeparatelyEndUpTheSame() async throws {
        try await World.run { w in
            try await w.admissionCommands()
            try await w.ledgerCommands()
            let p = try ProjectionStore(store: w.store)
            try p.catchUp(["ledger"])
            let head = w.store.count
            #expect(try p.status().map(\.checkpoint) == ProjectionStore.names.map { $0 == "ledger" ? head : 0 })
            #expect(try p.admissionRows().isEmpty && !(try p.ledgerRows().isEmpty))
            try await w.admissionTimers()
            // The others start from 0, the ledger from where it was; every one reaches the head once.
            let run = try p.catchUp(batchSize: 5)
            #expect(run.events == w.store.count)
            #expect(try p.status().allSatisfy { $0.checkpoint == w.store.count })
            let fresh = try w.projections(path: w.dir + "/fresh")
            expectSameDumps(try fresh.dumpAll(), try p.dumpAll(), "separately vs together")
        }
    }
}

@Suite struct ProjectionPrivacyTests {
    /// Applicants' names and the staff member who advanced money are personal data (`pii: true`): sealed in
    /// the log, and never in a projection.
    @Test func projectionsHoldNoPersonalData() async throws {
        try await World.run { w in
            try await w.requestCommands()
            try await w.ledgerCommands()
            let p = try w.projections()
            let names = ["李四", "王五", "赵六", "孙七", "周八", "吴九", "郑十"]
            for (projection, entries) in try p.dumpAll() {
                for (key, value) in entries {
                    let text = key + String(decoding: value, as: UTF8.self)
                    for name in names { #expect(!text.contains(name), "\(projection) \(key.debugDescription) holds \(name)") }
                }
            }
            let ledger = try p.dump("ledger").map { $0.key + String(decoding: $0.value, as: UTF8.self) }
            #expect(!ledger.contains { $0.contains("王芳") }, "the staff member who advanced money")
            // The log holds them only sealed.
            let payloads = try w.events("req-2").compactMap(\.payloadText)
            #expect(!payloads.contains { $0.contains("李四") })
        }
    }
}

/// What projections read of engine events, checked against the payload decoded whole, and the packed
/// form the reading thread hands over, checked against reading events one at a time.
@Suite struct CaseEventReadingTests {
    /// The event as the full JSON decoder sees it (fields sorted by name: a decoded object has no order).
    static func reference(_ view: borrowing EventView) throws -> String {
        let p = try #require(try JSONValue.parse(view.payload).object)
        func scalar(_ v: JSONValue) -> RecordedScalar {
            switch v {
            case .null: return .null
            case .string(let s): return .string(s)
            case .int(let i): return .int(i)
            case .bool(let b): return .bool(b)
            case .array(let a): return .list(count: a.count)
            default: return .other
            }
        }
        func time(_ v: JSONValue?) -> Int64? { v?.string.flatMap { Timestamp(iso8601: $0) }?.millisecondsSince1970 }
        let set = (p["set"]?.object ?? [:]).map { ($0.key, scalar($0.value)) }.sorted { $0.0 < $1.0 }
        let clocks = (p["clocks"]?.array ?? []).map { c in
            RecordedClockOperation(clock: c.object?["clock"]?.string ?? "", op: c.object?["op"]?.string ?? "", deadline: time(c.object?["deadline"]))
        }
        return "\(p["case"]?.string ?? "")|\(String(describing: p["workflow"]?.string))|\(p["command"]?.string ?? "")|\(p["actor"]?.string ?? "")|"
            + "\(p["role"]?.string ?? "")|\(String(describing: p["state"]?.string))|\(String(describing: p["check"]?.string))|"
            + "\(String(describing: p["clock"]?.string))|\(String(describing: time(p["deadline"])))|\(String(describing: p["flag"]?.string))|"
            + "\(String(describing: p["moveTo"]?.string))|\(set)|\(clocks)"
    }

    static func summary(_ e: CaseEvent) -> String {
        "\(e.caseId)|\(String(describing: e.workflow))|\(e.command)|\(e.actor)|\(e.role)|\(String(describing: e.state))|"
            + "\(String(describing: e.check))|\(String(describing: e.breachedClock))|\(String(describing: e.breachDeadline))|"
            + "\(String(describing: e.flag))|\(String(describing: e.moveTo))|\(e.set.sorted { $0.field < $1.field }.map { ($0.field, $0.value) })|\(e.clocks)"
    }

    @Test func eachCaseEventReadsAsTheDecodedPayloadSays() async throws {
        try await World.run { w in
            try await w.allScenarios()
            var reader = CaseEvent.Reader()
            var kinds: Set<String> = []
            var withSet = 0, withClocks = 0
            try w.store.scanViews(from: 0) { view in
                guard let e = try reader.read(view) else { return }
                kinds.insert("\(e.kind)")
                if !e.set.isEmpty { withSet += 1 }
                if !e.clocks.isEmpty { withClocks += 1 }
                #expect(e.position == view.position && e.at == view.recordedAt.millisecondsSince1970)
                #expect(Self.summary(e) == (try Self.reference(view)), "event \(view.position)")
            }
            #expect(kinds.isSuperset(of: ["opened", "accepted", "rejected", "breached"]))
            #expect(withSet > 50 && withClocks > 10)
        }
    }

    @Test func packedBatchesUnpackToWhatReadingAloneGives() async throws {
        try await World.run { w in
            try await w.allScenarios()
            var alone: [String] = []
            try w.store.scanViews(from: 0) { view in
                if let e = try CaseEvent.read(view) { alone.append("\(e.kind) \(e.position) \(e.at) " + Self.summary(e)) }
            }
            // Batches of a few events each, with a reader that starts its words again whenever it has more
            // than 5, as the folding thread receives them; one event value is refilled for every event.
            for (batchSize, limit, bytes) in [(3, 5, Int.max), (4, Int.max, 200), (1000, 196_608, 16 << 20)] {
                var reader = PackedEventReader(wordLimit: limit, byteLimit: bytes)
                var unpacker = PackedEventUnpacker()
                var batch = PackedEvents()
                var unpacked: [String] = []
                var resets = 0
                func drain() {
                    if batch.wordsReset { resets += 1 }
                    unpacker.take(batch)
                    for k in batch.events.indices {
                        let id = batch.events[k].caseId
                        let caseId = String(decoding: batch.caseIds[Int(id.lowerBound)..<Int(id.upperBound)], as: UTF8.self)
                        unpacker.unpack(batch, k, caseId: caseId)
                        let event = unpacker.event
                        unpacked.append("\(event.kind) \(event.position) \(event.at) " + Self.summary(event))
                    }
                    batch.removeAll()
                }
                try w.store.scanViews(from: 0) { view in
                    if try reader.read(view, into: &batch), batch.events.count == batchSize { drain() }
                }
                drain()
                #expect(unpacked.count == alone.count)
                #expect(unpacked == alone, "batches of \(batchSize)")
                if limit == 5 || bytes == 200 { #expect(resets > 10, "the words were started again") }
            }
        }
    }
}

/// A reader that met a malformed payload reads the events after it as a fresh reader does.
@Suite struct CaseEventReaderRecoveryTests {
    @Test func aMalformedPayloadLeavesTheReaderInStep() async throws {
        try await StoreHarness.run(unsafeNoSync: true) { h in
            let payloads = [
                #"{"case":"a-1","command":"open","actor":"甲@c001","set":{"community":"和平社区","item":"complaint-about-the-long-name"}}"#,
                // New words (a case id, an actor) are numbered before the member that is not an object.
                #"{"case":"new-2","actor":"乙@c002","command":"a-brand-new-command-name","set":5}"#,
                #"{"case":"b-3","command":"next","actor":"丙@c003","set":{"community":"新河社区","note":"a third string, long enough"}}"#,
                #"{"case":"a-1","command":"again","actor":"甲@c001","set":{"community":"和平社区","item":"complaint-about-the-long-name"}}"#,
            ]
            for (k, json) in payloads.enumerated() {
                try await h.store.append(to: "case-t\(k)", expectedVersion: .any, events: [ProposedEvent(type: "case.command-accepted", json: json)])
            }
            var reader = CaseEvent.Reader()
            var failures = 0, compared = 0
            try h.store.scanViews(from: 0) { view in
                let inTurn: CaseEvent?
                do { inTurn = try reader.read(view) } catch {
                    failures += 1
                    #expect(view.position == 1 && error is MalformedPayload, "only the second payload is malformed: \(error)")
                    return
                }
                let alone = try #require(try CaseEvent.read(view))
                #expect(inTurn.map { String(describing: $0) } == String(describing: alone), "event \(view.position)")
                compared += 1
            }
            #expect(failures == 1 && compared == 3)
        }
    }
}

/// A case event whose payload the engine would not write stops the projections before it, with an error
/// that names it, and changes nothing: not the checkpoints, not the rows, not a rebuild's live tables.
@Suite struct UnreadableEventTests {
    @Test func anUnreadableCaseEventIsNamedAndNothingChanges() async throws {
        try await StoreHarness.run(unsafeNoSync: true) { h in
            let good = #"{"case":"a-1","workflow":"resident-request","command":"receive","actor":"甲@c001","set":{"community":"和平社区"}}"#
            try await h.store.append(to: "case-a-1", expectedVersion: .any, events: [ProposedEvent(type: "case.opened", json: good)])
            // Read by the folding thread (a short run), ahead on a second thread (as a long run is), and
            // handed over unread by that thread for the folding one to read and parse.
            let settings = [ProjectionStore.ReadAheadSettings(), .init(minimumEvents: 1, batchSize: 1), .init(minimumEvents: 1, batchSize: 1, unread: .always)]
            let stores = try settings.enumerated().map { k, readAhead in
                try ProjectionStore(store: h.store, path: h.dir + "/p\(k)", readOnly: false, readAhead: readAhead)
            }
            var before: [[String: [(key: String, value: [UInt8])]]] = [], status: [[ProjectionStatus]] = []
            for p in stores {
                try p.catchUp()
                before.append(try p.dumpAll())
                status.append(try p.status())
                #expect(!(before.last!["requests"] ?? []).isEmpty)
            }
            // Valid JSON, but `set` is not an object: appended by hand, not by the engine.
            try await h.store.append(to: "case-a-1", expectedVersion: .any,
                                     events: [ProposedEvent(type: "case.command-accepted", json: #"{"case":"a-1","command":"x","set":5}"#)])
            for (k, p) in stores.enumerated() {
                for attempt in ["catch-up", "rebuild"] {
                    let error = #expect(throws: ProjectionError.self, "\(attempt)") {
                        if attempt == "catch-up" { try p.catchUp() } else { try p.rebuild() }
                    }
                    #expect(error == .unreadableEvent(position: 1, type: "case.command-accepted", reason: "malformed JSON payload at byte 34: expected an object"))
                    #expect(error?.description.contains("event 1 (case.command-accepted)") == true && error?.description.contains("casebook read --from 1") == true)
                    #expect(try p.status() == status[k], "\(attempt): checkpoints and generations as they were")
                    expectSameDumps(before[k], try p.dumpAll(), "\(attempt): rows as they were")
                }
            }
        }
    }
}
