import Foundation

/// How an event's payload bytes are to be read.
public enum PayloadEncoding: UInt8, Sendable, Hashable, Codable {
    /// Opaque bytes.
    case binary = 0
    /// UTF-8 JSON, readable by auditors as it stands.
    case json = 1
    /// Ciphertext (personal data); readable only with the subject's key.
    case encrypted = 2
}

/// An event as an appender proposes it, before the log gives it a position and a version.
public struct ProposedEvent: Sendable, Hashable {
    /// The event type, e.g. `case.opened`.
    public var type: String
    /// The version of the payload's schema, for upcasting old events.
    public var schemaVersion: UInt32
    /// The payload bytes.
    public var payload: [UInt8]
    /// How the payload is encoded.
    public var payloadEncoding: PayloadEncoding
    /// Who caused the event (e.g. `counter:wang`); empty if not known.
    public var actor: String
    /// The id tying together every event of one business interaction; empty for none.
    public var correlationId: String
    /// The id of the message (command or event) that caused this one; empty for none.
    public var causationId: String
    /// When the event happened, if the caller says so; otherwise the log stamps the commit time.
    public var recordedAt: Timestamp?

    /// A proposed event.
    public init(
        type: String, payload: [UInt8], payloadEncoding: PayloadEncoding = .json, schemaVersion: UInt32 = 1,
        actor: String = "", correlationId: String = "", causationId: String = "", recordedAt: Timestamp? = nil
    ) {
        self.type = type
        self.payload = payload
        self.payloadEncoding = payloadEncoding
        self.schemaVersion = schemaVersion
        self.actor = actor
        self.correlationId = correlationId
        self.causationId = causationId
        self.recordedAt = recordedAt
    }

    /// A proposed event whose payload is the UTF-8 text `json`.
    public init(type: String, json: String, actor: String = "", recordedAt: Timestamp? = nil) {
        self.init(type: type, payload: Array(json.utf8), payloadEncoding: .json, actor: actor, recordedAt: recordedAt)
    }
}

/// An event as the log holds it.
public struct RecordedEvent: Sendable, Hashable {
    /// The global position: 0-based, gapless, in commit order. Also the event's Merkle leaf index.
    public var position: UInt64
    /// The stream (usually one case) the event belongs to.
    public var streamId: String
    /// The 0-based version of the event within its stream.
    public var streamVersion: UInt64
    /// The event type.
    public var type: String
    /// The payload schema version.
    public var schemaVersion: UInt32
    /// When the event happened (given by the appender) or was committed.
    public var recordedAt: Timestamp
    /// Who caused it.
    public var actor: String
    /// Correlation id; empty for none.
    public var correlationId: String
    /// Causation id; empty for none.
    public var causationId: String
    /// The id of the append command that wrote it; empty for none.
    public var commandId: String
    /// How the payload is encoded.
    public var payloadEncoding: PayloadEncoding
    /// The payload bytes.
    public var payload: [UInt8]

    /// An event as recorded; the log builds these, tools and tests may too.
    public init(
        position: UInt64, streamId: String, streamVersion: UInt64, type: String, schemaVersion: UInt32,
        recordedAt: Timestamp, actor: String, correlationId: String, causationId: String, commandId: String,
        payloadEncoding: PayloadEncoding, payload: [UInt8]
    ) {
        self.position = position
        self.streamId = streamId
        self.streamVersion = streamVersion
        self.type = type
        self.schemaVersion = schemaVersion
        self.recordedAt = recordedAt
        self.actor = actor
        self.correlationId = correlationId
        self.causationId = causationId
        self.commandId = commandId
        self.payloadEncoding = payloadEncoding
        self.payload = payload
    }

    /// The payload as text if it is JSON.
    public var payloadText: String? {
        payloadEncoding == .json ? String(decoding: payload, as: UTF8.self) : nil
    }
}

/// A recorded event viewed in place, without copying: its byte fields point into the record they were
/// read from and are valid only while that record is (see ``EventStore/scanViews(from:to:batchSize:_:)``).
public struct EventView: ~Copyable {
    /// Global position.
    public let position: UInt64
    /// Version within its stream.
    public let streamVersion: UInt64
    /// When the event was recorded.
    public let recordedAt: Timestamp
    /// How the payload is encoded.
    public let payloadEncoding: PayloadEncoding
    /// The stream id's UTF-8 bytes.
    public let streamId: UnsafeRawBufferPointer
    /// The event type's UTF-8 bytes.
    public let type: UnsafeRawBufferPointer
    /// The actor's UTF-8 bytes.
    public let actor: UnsafeRawBufferPointer
    /// The schema version of the payload.
    public let schemaVersion: UInt32
    /// The correlation, causation and command ids' UTF-8 bytes.
    public let correlationId: UnsafeRawBufferPointer, causationId: UnsafeRawBufferPointer, commandId: UnsafeRawBufferPointer
    /// The payload bytes.
    public let payload: UnsafeRawBufferPointer

    /// Views a format-1 envelope; nil if the bytes are not one.
    public init?(_ buffer: UnsafeRawBufferPointer) {
        guard buffer.count >= Envelope.headerSize, buffer[0] == Envelope.format,
              let position = BigEndian.read(buffer, at: 1), let version = BigEndian.read(buffer, at: 9),
              let recordedAt = BigEndian.read(buffer, at: 17)
        else { return nil }
        var r = ByteReader(buffer)
        r.offset = Envelope.headerSize
        guard let schema = r.varint(), schema <= UInt64(UInt32.max),
              let encodingByte = r.u8(), let encoding = PayloadEncoding(rawValue: encodingByte),
              let stream = r.slice(), let type = r.slice(), let actor = r.slice(),
              let correlation = r.slice(), let causation = r.slice(), let command = r.slice(),
              let payload = r.slice(), r.isAtEnd
        else { return nil }
        self.schemaVersion = UInt32(schema)
        self.correlationId = correlation
        self.causationId = causation
        self.commandId = command
        self.position = position
        self.streamVersion = version
        self.recordedAt = Timestamp(millisecondsSince1970: Int64(bitPattern: recordedAt))
        self.payloadEncoding = encoding
        self.streamId = stream
        self.type = type
        self.actor = actor
        self.payload = payload
    }

    /// Whether the type is exactly `name` (compared as bytes, without making a String).
    public func typeIs(_ name: StaticString) -> Bool {
        name.withUTF8Buffer { n in n.count == type.count && (n.isEmpty || memcmp(n.baseAddress!, type.baseAddress!, n.count) == 0) }
    }
}

/// The binary envelope in which the log stores each event, and which its Merkle leaf hashes.
///
/// Layout (format 1): a 25-byte fixed header — the format byte (`0x01`), then position, stream version
/// and recorded-at (milliseconds since 1970, two's complement) as 64-bit big-endian integers — followed
/// by a varint schema version, one payload-encoding byte, then length-prefixed (varint) UTF-8 stream id,
/// type, actor, correlation id, causation id, command id, and the length-prefixed payload bytes. Nothing
/// follows the payload. The fixed header lets appenders encode the envelope before the writer knows its
/// position; the writer fills in the header inside its transaction.
public enum Envelope {
    /// The current format byte.
    public static let format: UInt8 = 1
    /// Bytes before the variable part.
    static let headerSize = 25

    /// Encodes a recorded event.
    public static func encode(_ e: RecordedEvent) -> [UInt8] {
        var bytes = prepare(
            streamId: e.streamId, commandId: e.commandId, type: e.type, schemaVersion: e.schemaVersion,
            payloadEncoding: e.payloadEncoding, actor: e.actor, correlationId: e.correlationId,
            causationId: e.causationId, payload: e.payload)
        bytes.withUnsafeMutableBytes { patch($0, position: e.position, version: e.streamVersion, recordedAt: e.recordedAt) }
        return bytes
    }

    /// Encodes everything but the header's position, version and time (left zero).
    static func prepare(
        streamId: String, commandId: String, type: String, schemaVersion: UInt32, payloadEncoding: PayloadEncoding,
        actor: String, correlationId: String, causationId: String, payload: [UInt8]
    ) -> [UInt8] {
        var w = ByteWriter(capacity: headerSize + 16 + streamId.utf8.count + type.utf8.count + actor.utf8.count
                           + correlationId.utf8.count + causationId.utf8.count + commandId.utf8.count + payload.count)
        w.u8(format)
        w.bytes.append(contentsOf: repeatElement(0, count: headerSize - 1))
        w.varint(UInt64(schemaVersion))
        w.u8(payloadEncoding.rawValue)
        w.string(streamId)
        w.string(type)
        w.string(actor)
        w.string(correlationId)
        w.string(causationId)
        w.string(commandId)
        w.blob(payload)
        return w.bytes
    }

    /// Writes position, version and time into an envelope's header.
    static func patch(_ buffer: UnsafeMutableRawBufferPointer, position: UInt64, version: UInt64, recordedAt: Timestamp) {
        buffer.storeBytes(of: position.bigEndian, toByteOffset: 1, as: UInt64.self)
        buffer.storeBytes(of: version.bigEndian, toByteOffset: 9, as: UInt64.self)
        buffer.storeBytes(of: UInt64(bitPattern: recordedAt.millisecondsSince1970).bigEndian, toByteOffset: 17, as: UInt64.self)
    }

    /// Decodes an envelope; nil if the bytes are not a well-formed format-1 envelope.
    public static func decode(_ buffer: UnsafeRawBufferPointer) -> RecordedEvent? {
        guard let v = EventView(buffer) else { return nil }
        func text(_ bytes: UnsafeRawBufferPointer) -> String { String(decoding: bytes, as: UTF8.self) }
        return RecordedEvent(
            position: v.position, streamId: text(v.streamId), streamVersion: v.streamVersion, type: text(v.type),
            schemaVersion: v.schemaVersion, recordedAt: v.recordedAt, actor: text(v.actor), correlationId: text(v.correlationId),
            causationId: text(v.causationId), commandId: text(v.commandId), payloadEncoding: v.payloadEncoding, payload: Array(v.payload))
    }

    /// Decodes an envelope held in an array.
    public static func decode(_ bytes: [UInt8]) -> RecordedEvent? {
        bytes.withUnsafeBytes { decode($0) }
    }
}
