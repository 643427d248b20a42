import CasebookLog
import CasebookWorkflow
import Foundation

// Case events as plain numbers, for handing from the thread that reads and parses the log to the one
// that folds: strings are numbered (word ids) by the reading side, which sends each new string once,
// and field lists and clock operations sit in arrays shared by the whole batch. A batch holds no
// references per event, so that neither thread allocates, frees or counts references per event.
// Case ids are not numbered here but sent as bytes: the folding thread numbers them, by a numbering
// that lasts the whole run (it finds a case's owner and row by that number, an array index).

/// A value recorded in a payload's `set`, packed: its kind and one number (an integer, a boolean, a
/// list's length, or a string's word id).
struct PackedScalar: Sendable {
    enum Tag: UInt8, Sendable { case null, string, int, bool, list, other }
    var tag: Tag
    var value: Int64
}

/// A field set by a command: its name's word id and its value.
struct PackedField: Sendable {
    var name: Int32
    var value: PackedScalar
}

/// A clock operation: the clock's and operation's word ids (-1: none) and the deadline it left.
struct PackedClock: Sendable {
    var clock: Int32 = -1
    var op: Int32 = -1
    var deadline: Int64?
}

/// A ``CaseEvent`` packed: its case id as a range of the batch's case id bytes, its other strings as
/// word ids (-1: absent), its fields and clock operations as ranges of the batch's lists.
struct PackedEvent: Sendable {
    var kind: CaseEvent.Kind
    var position: UInt64
    var at: Int64
    /// The case id's bytes in the batch's `caseIds` (empty when the payload has none).
    var caseId: Range<Int32> = 0..<0
    /// Its other strings (the ids a ``CaseEvent`` keeps as they are).
    var ids = CaseEvent.WordRefs()
    var breachDeadline: Int64?
    var fields: Range<Int32> = 0..<0
    var clocks: Range<Int32> = 0..<0
}

/// A batch of packed events, with the strings first met in it.
struct PackedEvents: Sendable {
    var events: [PackedEvent] = []
    var fields: [PackedField] = []
    var clocks: [PackedClock] = []
    /// The strings numbered while reading this batch, in the order of their word ids.
    var newWords: [String] = []
    /// The events' case ids, one after another (UTF-8).
    var caseIds: [UInt8] = []
    /// Whether the reader forgot every word before this batch (its numbering starts again at 0).
    var wordsReset = false
    /// Log positions handed over unread, for the folding thread to read and parse itself (nil: the
    /// events are here).
    var unread: Range<UInt64>?

    /// Empties it, keeping its capacity.
    mutating func removeAll() {
        events.removeAll(keepingCapacity: true)
        fields.removeAll(keepingCapacity: true)
        clocks.removeAll(keepingCapacity: true)
        newWords.removeAll(keepingCapacity: true)
        caseIds.removeAll(keepingCapacity: true)
        wordsReset = false
        unread = nil
    }
}

/// A hash of bytes taken eight at a time, mixed so that its low bits depend on all of them.
enum ByteHash {
    @inline(__always) static func hash(_ raw: UnsafeRawBufferPointer) -> UInt64 {
        var h = UInt64(raw.count) &* 0x9E37_79B9_7F4A_7C15
        var k = 0
        while k + 8 <= raw.count {
            h = (h ^ raw.loadUnaligned(fromByteOffset: k, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            k += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while k < raw.count {
            tail |= UInt64(raw[k]) << shift
            shift += 8
            k += 1
        }
        h = (h ^ tail) &* 0x94D0_49BB_1331_11EB
        return h ^ (h >> 29)
    }
}

/// Numbers distinct byte strings 0, 1, 2, … in the order they are first met (open addressing, linear
/// probing, at most half full; the bytes are kept in one array).
///
/// A slot holds a word's first 16 bytes and its length beside its id, so that a word of up to 16 bytes
/// (case ids, people's names) is found by reading its slot alone: the ids met in a log are many, and
/// every further array a lookup reads is a likely cache miss.
struct WordIds {
    struct Slot {
        /// The high 24 bits of the word's hash, its length (255: longer than 254) and its id plus one (low
        /// 32 bits); 0 for an empty slot.
        var meta: UInt64 = 0
        /// Its first 16 bytes, zero-padded.
        var head: UInt64 = 0, tail: UInt64 = 0
    }
    private var slots = [Slot](repeating: Slot(), count: 1024)
    /// By id: where its bytes start in `arena` (and, one further, where they end).
    private var starts: [Int] = [0]
    private var arena: [UInt8] = []
    /// Words numbered so far.
    var count: Int { starts.count - 1 }
    /// Their bytes, all told.
    var byteCount: Int { arena.count }

    /// The slot's meta without the id, and the first 16 bytes, of `bytes` with hash `h`.
    @inline(__always) private static func signature(_ bytes: UnsafeRawBufferPointer, _ h: UInt64) -> (UInt64, UInt64, UInt64) {
        var head: UInt64 = 0, tail: UInt64 = 0
        let n = bytes.count
        if n >= 16 {
            head = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
            tail = bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        } else if n > 0 {
            withUnsafeMutableBytes(of: &head) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<min(8, n)])) }
            if n > 8 { withUnsafeMutableBytes(of: &tail) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[8..<n])) } }
        }
        return (h & 0xFFFF_FF00_0000_0000 | UInt64(min(n, 255)) << 32, head, tail)
    }

    /// The word's id; `new` is called with its bytes when it is met for the first time.
    @inline(__always) mutating func id(_ bytes: UnsafeRawBufferPointer, new: (UnsafeRawBufferPointer) -> Void) -> Int32 {
        let h = ByteHash.hash(bytes)
        let (meta, head, tail) = Self.signature(bytes, h)
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while slots[i].meta != 0 {
            let slot = slots[i]
            if slot.meta & 0xFFFF_FFFF_0000_0000 == meta && slot.head == head && slot.tail == tail {
                let n = Int(slot.meta & 0xFFFF_FFFF) - 1
                // Up to 16 bytes, the slot says it all; a longer word is compared with its bytes.
                if bytes.count <= 16 || arena.withUnsafeBytes({ a in
                    starts[n + 1] - starts[n] == bytes.count && memcmp(a.baseAddress! + starts[n], bytes.baseAddress!, bytes.count) == 0
                }) {
                    return Int32(n)
                }
            }
            i = (i + 1) & mask
        }
        let n = count
        arena.append(contentsOf: bytes)
        starts.append(arena.count)
        slots[i] = Slot(meta: meta | UInt64(n + 1), head: head, tail: tail)
        if 2 * count > slots.count { grow() }
        new(bytes)
        return Int32(n)
    }

    /// Forgets every word.
    mutating func reset() {
        slots = [Slot](repeating: Slot(), count: 1024)
        starts = [0]
        arena = []
    }

    private mutating func grow() {
        let old = slots
        slots = [Slot](repeating: Slot(), count: 2 * old.count)
        let mask = slots.count - 1
        arena.withUnsafeBytes { a in
            for slot in old where slot.meta != 0 {
                let n = Int(slot.meta & 0xFFFF_FFFF) - 1
                let h = ByteHash.hash(UnsafeRawBufferPointer(rebasing: a[starts[n]..<starts[n + 1]]))
                var i = Int(truncatingIfNeeded: h) & mask
                while slots[i].meta != 0 { i = (i + 1) & mask }
                slots[i] = slot
            }
        }
    }
}

/// Reads engine case events from the log into packed batches (the reading side).
struct PackedEventReader {
    /// Words, and their bytes, kept before the numbering starts again: they bound the memory both sides
    /// keep for words (each word is kept on both). The numbering starts again only at the start of a
    /// batch, so a batch's new words come on top; 196,608 words keep the reader's table from doubling
    /// past 2^19 slots (12 MiB) before it starts again. A run reading ahead has two readers (the folding
    /// thread reads what is handed over unread with its own), which share what one had before: smaller
    /// tables cost nothing measurable (4,096 to 393,216 words rebuilt the demo log alike).
    let wordLimit: Int, byteLimit: Int
    private var words = WordIds()

    /// A reader that starts numbering words again, at the start of a batch, once it has more than
    /// `wordLimit` words or `byteLimit` bytes of them.
    init(wordLimit: Int = 196_608, byteLimit: Int = 16 << 20) {
        self.wordLimit = wordLimit
        self.byteLimit = byteLimit
    }

    /// Reads `event` into `batch`; false if it is not one of the engine's case events. Strings met for
    /// the first time are added to the batch's new words.
    mutating func read(_ event: borrowing EventView, into batch: inout PackedEvents) throws -> Bool {
        guard let kind = Self.kind(of: event) else { return false }
        if batch.events.isEmpty && (words.count > wordLimit || words.byteCount > byteLimit) {
            words.reset()
            batch.wordsReset = true
        }
        var e = PackedEvent(kind: kind, position: event.position, at: event.recordedAt.millisecondsSince1970)
        let j = JSONScanner(event.payload)
        // Walked member by member, without closures (a closure per member cost more than most members),
        // names compared as integers. The helpers return where the value they read ends, when reading it
        // went through it, so that the scanner carries on from there instead of looking through it again.
        var walk = try j.walk(object: 0)
        while let (ks, ke, v) = try j.nextMember(&walk) {
            var end: Int?
            switch Name(rawValue: j.shortName(ks, ke)) {
            case .set: end = try fields(j, v, into: &batch, event: &e)
            case .case: end = try Self.caseId(j, v, &e.caseId, &batch)
            case .role: end = try word(j, v, &e.ids.role, &batch)
            case .flag: end = try word(j, v, &e.ids.flag, &batch)
            case .state: end = try word(j, v, &e.ids.state, &batch)
            case .actor: end = try word(j, v, &e.ids.actor, &batch)
            case .check: end = try word(j, v, &e.ids.check, &batch)
            case .clock: end = try word(j, v, &e.ids.breachedClock, &batch)
            case .moveTo: end = try word(j, v, &e.ids.moveTo, &batch)
            case .clocks: end = try clocks(j, v, into: &batch, event: &e)
            case .command: end = try word(j, v, &e.ids.command, &batch)
            case .workflow: end = try word(j, v, &e.ids.workflow, &batch)
            case .deadline: end = try Self.time(j, v, &e.breachDeadline)
            case .op, nil: break
            }
            try j.after(&walk, valueEnd: end)
        }
        batch.events.append(e)
        return true
    }

    /// The kind of case event `event` is; nil if it is none of the engine's case events.
    static func kind(of event: borrowing EventView) -> CaseEvent.Kind? {
        if event.typeIs("case.command-accepted") { return .accepted }
        if event.typeIs("case.opened") { return .opened }
        if event.typeIs("case.command-rejected") { return .rejected }
        if event.typeIs("clock.breached") { return .breached }
        if event.typeIs("case.migrated") { return .migrated }
        if event.typeIs("subject.erased") { return .erased }
        return nil
    }

    /// The member names read, as ``JSONScanner/shortName(_:_:)`` gives them (written out: a name made
    /// when first used would be checked for at every use). Each case's name is its text, which
    /// `shortNamesAreTheirBytes` checks against its value.
    enum Name: UInt64, CaseIterable {
        case set = 0x746573
        case `case` = 0x65736163
        case role = 0x656C6F72
        case flag = 0x67616C66
        case state = 0x6574617473
        case actor = 0x726F746361
        case check = 0x6B63656863
        case clock = 0x6B636F6C63
        case moveTo = 0x6F5465766F6D
        case clocks = 0x736B636F6C63
        case command = 0x646E616D6D6F63
        case workflow = 0x776F6C666B726F77
        case deadline = 0x656E696C64616564
        case op = 0x706F
    }

    /// The word id of `bytes`, added to the batch's new words if it is new.
    @inline(__always) private mutating func word(_ bytes: UnsafeRawBufferPointer, _ batch: inout PackedEvents) -> Int32 {
        words.id(bytes) { batch.newWords.append(String(decoding: $0, as: UTF8.self)) }
    }

    /// Reads the string at `v` into `target` as a word id (-1 if it is not a string); returns where it ends.
    @inline(__always) private mutating func word(_ j: JSONScanner, _ v: Int, _ target: inout Int32, _ batch: inout PackedEvents) throws -> Int? {
        guard let (start, end, escaped) = try j.stringBounds(v) else { target = -1; return nil }
        if !escaped {
            target = word(UnsafeRawBufferPointer(rebasing: j.bytes[start..<end]), &batch)
        } else {
            // Rare: made unescaped, then numbered by its UTF-8 bytes.
            var s = try j.string(v)!
            target = s.withUTF8 { word(UnsafeRawBufferPointer($0), &batch) }
        }
        return end + 1
    }

    /// Adds the case id at `v` to the batch's case ids and sets `target` to its range (left empty if it
    /// is not a string); returns where it ends.
    private static func caseId(_ j: JSONScanner, _ v: Int, _ target: inout Range<Int32>, _ batch: inout PackedEvents) throws -> Int? {
        guard let (start, end, escaped) = try j.stringBounds(v) else { target = 0..<0; return nil }
        let first = Int32(batch.caseIds.count)
        if escaped {
            batch.caseIds.append(contentsOf: try j.string(v)!.utf8)
        } else {
            batch.caseIds.append(contentsOf: UnsafeRawBufferPointer(rebasing: j.bytes[start..<end]))
        }
        target = first..<Int32(batch.caseIds.count)
        return end + 1
    }

    /// Reads the time at `v` into `target` (nil if it is not one); returns where it ends.
    private static func time(_ j: JSONScanner, _ v: Int, _ target: inout Int64?) throws -> Int? {
        guard let (start, end, escaped) = try j.stringBounds(v) else { target = nil; return nil }
        if escaped {
            target = try j.string(v).flatMap { Timestamp(iso8601: $0) }?.millisecondsSince1970
        } else {
            target = Timestamp(iso8601UTF8: UnsafeRawBufferPointer(rebasing: j.bytes[start..<end]))?.millisecondsSince1970
        }
        return end + 1
    }

    /// Reads the `set` object at `v` into the batch's fields; returns where it ends.
    private mutating func fields(_ j: JSONScanner, _ v: Int, into batch: inout PackedEvents, event e: inout PackedEvent) throws -> Int {
        // A repeated member replaces the first, as it does in a decoded payload.
        let first = Int32(batch.fields.count)
        var walk = try j.walk(object: v)
        while let (fs, fe, fv) = try j.nextMember(&walk) {
            var value = PackedScalar(tag: .other, value: 0)
            var end: Int?
            switch fv < j.bytes.count ? j.bytes[fv] : 0 {
            case UInt8(ascii: "\""):
                var id: Int32 = -1
                end = try word(j, fv, &id, &batch)
                value = PackedScalar(tag: .string, value: Int64(id))
            case UInt8(ascii: "t"), UInt8(ascii: "f"): value = PackedScalar(tag: .bool, value: j.bool(fv)! ? 1 : 0)
            case UInt8(ascii: "n"): value = PackedScalar(tag: .null, value: 0)
            case UInt8(ascii: "["):
                var n: Int64 = 0
                end = try j.elements(fv) { _ in n += 1; return nil }
                value = PackedScalar(tag: .list, value: n)
            case UInt8(ascii: "{"): break
            default: if let i = j.int(fv) { value = PackedScalar(tag: .int, value: i) }
            }
            batch.fields.append(PackedField(name: word(UnsafeRawBufferPointer(rebasing: j.bytes[fs..<fe]), &batch), value: value))
            try j.after(&walk, valueEnd: end)
        }
        e.fields = first..<Int32(batch.fields.count)
        return walk.next
    }

    /// Reads the `clocks` array at `v` into the batch's clock operations; returns where it ends.
    private mutating func clocks(_ j: JSONScanner, _ v: Int, into batch: inout PackedEvents, event e: inout PackedEvent) throws -> Int {
        let first = Int32(batch.clocks.count)
        var walk = try j.walk(array: v)
        while let o = j.nextElement(&walk) {
            var op = PackedClock()
            var members = try j.walk(object: o)
            while let (cs, ce, cv) = try j.nextMember(&members) {
                var end: Int?
                switch Name(rawValue: j.shortName(cs, ce)) {
                case .clock: end = try word(j, cv, &op.clock, &batch)
                case .op: end = try word(j, cv, &op.op, &batch)
                case .deadline: end = try Self.time(j, cv, &op.deadline)
                default: break
                }
                try j.after(&members, valueEnd: end)
            }
            batch.clocks.append(op)
            try j.after(&walk, valueEnd: members.next)
        }
        e.clocks = first..<Int32(batch.clocks.count)
        return walk.next
    }
}

/// Turns packed events back into ``CaseEvent``s (the folding side), with strings from its own copy of
/// the reader's words.
struct PackedEventUnpacker {
    /// By word id.
    private(set) var words: [String] = []
    /// The event last unpacked (one value, refilled in place for each event, so that its lists keep their
    /// storage). It shares `words`.
    private(set) var event = CaseEvent(kind: .opened, position: 0, at: 0)

    /// Learns the words a batch brings (first forgetting all if the reader did).
    mutating func take(_ batch: borrowing PackedEvents) {
        // The event lets go of the words first: shared, they would be copied as they grow.
        event.words = []
        if batch.wordsReset { words.removeAll(keepingCapacity: true) }
        if words.count + batch.newWords.count > words.capacity {
            // Grown fourfold: the table is refilled after every reset, and each growth moves every word.
            words.reserveCapacity(4 * (words.count + batch.newWords.count))
        }
        words.append(contentsOf: batch.newWords)
        event.words = words
    }

    /// Makes ``event`` event `k` of the batch (whose words it has taken), whose case id is `caseId`.
    mutating func unpack(_ batch: borrowing PackedEvents, _ k: Int, caseId: String) {
        let p = batch.events[k]
        event.kind = p.kind
        event.position = p.position
        event.at = p.at
        event.caseId = caseId
        event.breachDeadline = p.breachDeadline
        event.ids = p.ids
        event.packedFields.removeAll(keepingCapacity: true)
        event.packedFields.append(contentsOf: batch.fields[Int(p.fields.lowerBound)..<Int(p.fields.upperBound)])
        event.packedClocks.removeAll(keepingCapacity: true)
        event.packedClocks.append(contentsOf: batch.clocks[Int(p.clocks.lowerBound)..<Int(p.clocks.upperBound)])
    }
}
