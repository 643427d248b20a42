/// The stream version an append expects to find, for optimistic concurrency.
public enum ExpectedVersion: Sendable, Hashable, CustomStringConvertible {
    /// Append whatever the stream's state.
    case any
    /// The stream must not exist yet.
    case noStream
    /// The stream's last event must have exactly this 0-based version.
    case exact(UInt64)

    public var description: String {
        switch self {
        case .any: return "any"
        case .noStream: return "no-stream"
        case .exact(let v): return String(v)
        }
    }

    /// Parses `any`, `no-stream` or a non-negative integer.
    public init?(_ text: String) {
        switch text {
        case "any": self = .any
        case "no-stream", "nostream", "none": self = .noStream
        default:
            guard let v = UInt64(text) else { return nil }
            self = .exact(v)
        }
    }
}

/// One atomic append: one or several events to one stream.
public struct AppendRequest: Sendable {
    /// The stream to append to.
    public var streamId: String
    /// The version the stream must be at.
    public var expectedVersion: ExpectedVersion
    /// The events, written together or not at all.
    public var events: [ProposedEvent]
    /// An idempotency key: an append whose command id was already committed returns the original
    /// result and writes nothing.
    public var commandId: String?

    /// An append request.
    public init(streamId: String, expectedVersion: ExpectedVersion = .any, events: [ProposedEvent], commandId: String? = nil) {
        self.streamId = streamId
        self.expectedVersion = expectedVersion
        self.events = events
        self.commandId = commandId
    }
}

/// What a committed (durable) append wrote.
public struct AppendResult: Sendable, Hashable {
    /// The stream appended to.
    public var streamId: String
    /// The global position of the first event written.
    public var firstPosition: UInt64
    /// The global position of the last event written.
    public var lastPosition: UInt64
    /// The stream version of the first event written.
    public var firstVersion: UInt64
    /// The stream version of the last event written: the stream's version after the append.
    public var lastVersion: UInt64
    /// True when the command id had already been committed and this is the original result.
    public var deduplicated: Bool
}

/// Why the log refused or failed an operation.
public enum EventStoreError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The stream was not at the expected version. Nothing was written.
    case wrongExpectedVersion(stream: String, expected: ExpectedVersion, actual: UInt64?)
    /// The command id was already used for an append to another stream. Nothing was written.
    case commandIdReused(commandId: String, originalStream: String, stream: String)
    /// The request is malformed (empty, too long a name …). Nothing was written.
    case invalidRequest(String)
    /// The map reached its configured ceiling. Nothing of the failed batch was written; everything
    /// acknowledged before is intact.
    case storeFull(mapSize: Int, ceiling: Int)
    /// The disk is full. Nothing of the failed batch was written.
    case diskFull(String)
    /// LMDB reported an error; the batch was not written.
    case storage(String)
    /// The store is closed.
    case closed
    /// The store is opened read-only.
    case readOnly
    /// A record in the store is malformed.
    case corrupt(position: UInt64?, reason: String)
    /// An argument lies outside the log (a position or tree size beyond its end).
    case outOfRange(String)

    public var description: String {
        switch self {
        case let .wrongExpectedVersion(stream, expected, actual):
            let now = actual.map { "is at version \($0)" } ?? "does not exist"
            return "wrong expected version for stream '\(stream)': expected \(expected), but the stream \(now); nothing was written"
        case let .commandIdReused(id, original, stream):
            return "command id '\(id)' was already used for stream '\(original)', not '\(stream)'; nothing was written"
        case let .invalidRequest(why): return "invalid append: \(why); nothing was written"
        case let .storeFull(size, ceiling):
            return "store is full: the map is \(size) bytes and may not grow past its ceiling of \(ceiling) bytes; nothing of this append was written (raise the ceiling with --max-map-size)"
        case let .diskFull(what): return "disk is full (\(what)); nothing of this append was written; free space and retry"
        case let .storage(what): return "storage error: \(what); nothing of this append was written"
        case .closed: return "the store is closed"
        case .readOnly: return "the store is open read-only"
        case let .corrupt(position, reason):
            return "corrupt record\(position.map { " at position \($0)" } ?? ""): \(reason)"
        case let .outOfRange(what): return what
        }
    }
}

/// Limits on names, checked before an append reaches the writer.
public enum AppendLimits {
    /// The longest stream id, event type or command id, in UTF-8 bytes (LMDB keys are at most 511).
    public static let maxNameBytes = 256

    static func validate(_ request: AppendRequest) throws(EventStoreError) {
        func name(_ value: String, _ what: String) throws(EventStoreError) {
            let n = value.utf8.count
            if n == 0 { throw .invalidRequest("\(what) is empty") }
            if n > maxNameBytes { throw .invalidRequest("\(what) is \(n) bytes; at most \(maxNameBytes) are allowed") }
        }
        try name(request.streamId, "stream id")
        if let id = request.commandId { try name(id, "command id") }
        if request.events.isEmpty { throw .invalidRequest("no events to append") }
        for e in request.events { try name(e.type, "event type") }
    }
}
