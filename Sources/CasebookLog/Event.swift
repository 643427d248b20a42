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

/// The binary envelope in which the log stores each event, and which its Merkle leaf hashes.
///
/// Layout (format 1): one format byte (`0x01`); varints position, stream version, recorded-at
/// (milliseconds since 1970, as a two's-complement 64-bit pattern), schema version; one payload-encoding
/// byte; then length-prefixed (varint) UTF-8 stream id, type, actor, correlation id, causation id,
/// command id, and the length-prefixed payload bytes. Nothing follows the payload.
public enum Envelope {
    /// The current format byte.
    public static let format: UInt8 = 1

    /// Encodes a recorded event.
    public static func encode(_ e: RecordedEvent) -> [UInt8] {
        var w = ByteWriter(capacity: 48 + e.streamId.utf8.count + e.type.utf8.count + e.actor.utf8.count + e.payload.count)
        w.u8(format)
        w.varint(e.position)
        w.varint(e.streamVersion)
        w.varint(UInt64(bitPattern: e.recordedAt.millisecondsSince1970))
        w.varint(UInt64(e.schemaVersion))
        w.u8(e.payloadEncoding.rawValue)
        w.string(e.streamId)
        w.string(e.type)
        w.string(e.actor)
        w.string(e.correlationId)
        w.string(e.causationId)
        w.string(e.commandId)
        w.blob(e.payload)
        return w.bytes
    }

    /// Decodes an envelope; nil if the bytes are not a well-formed format-1 envelope.
    public static func decode(_ buffer: UnsafeRawBufferPointer) -> RecordedEvent? {
        var r = ByteReader(buffer)
        guard r.u8() == format,
              let position = r.varint(),
              let version = r.varint(),
              let recordedAt = r.varint(),
              let schema = r.varint(), schema <= UInt64(UInt32.max),
              let encodingByte = r.u8(), let encoding = PayloadEncoding(rawValue: encodingByte),
              let stream = r.string(),
              let type = r.string(),
              let actor = r.string(),
              let correlation = r.string(),
              let causation = r.string(),
              let command = r.string(),
              let payload = r.blob(),
              r.isAtEnd
        else { return nil }
        return RecordedEvent(
            position: position, streamId: stream, streamVersion: version, type: type, schemaVersion: UInt32(schema),
            recordedAt: Timestamp(millisecondsSince1970: Int64(bitPattern: recordedAt)), actor: actor,
            correlationId: correlation, causationId: causation, commandId: command,
            payloadEncoding: encoding, payload: payload)
    }

    /// Decodes an envelope held in an array.
    public static func decode(_ bytes: [UInt8]) -> RecordedEvent? {
        bytes.withUnsafeBytes { decode($0) }
    }
}
