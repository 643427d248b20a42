import CasebookLog
import Foundation

/// Records who looked at what: every query or export that could expose personal data appends an
/// `audit.access` event to the `audit-access` stream before it answers.
///
/// Payload: `{"who": "role:id", "command": "<the command line>", "filters": ["community=…", …],
/// "rows": n, "at": "<ISO 8601>"}`; the event's actor is `who`. `at` is the wall clock of the machine
/// (an operational record, not workflow logic).
public enum AccessLog {
    /// The stream access records go to.
    public static let stream = "audit-access"
    /// Their event type.
    public static let type = "audit.access"

    /// One access.
    public struct Record: Sendable, Hashable, Codable {
        /// Who, as `role:id`.
        public var who: String
        /// The command line (or the operation, e.g. `export sqlite out.db`).
        public var command: String
        /// The filters applied, in readable form.
        public var filters: [String]
        /// How many rows were handed over (events too, for an export).
        public var rows: Int
        /// When (ISO 8601).
        public var at: String

        /// A record stamped now.
        public init(who: String, command: String, filters: [String], rows: Int, at: Timestamp = .now()) {
            self.who = who
            self.command = command
            self.filters = filters
            self.rows = rows
            self.at = at.iso8601
        }
    }

    /// Appends `record` to the log; returns its position once durable.
    @discardableResult
    public static func record(_ record: Record, in store: EventStore) async throws -> UInt64 {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let payload = Array(try encoder.encode(record))
        let result = try await store.append(
            to: stream, expectedVersion: .any,
            events: [ProposedEvent(type: type, payload: payload, payloadEncoding: .json, actor: record.who)])
        return result.lastPosition
    }

    /// The access records in the log, oldest first.
    public static func records(in store: EventStore) throws -> [Record] {
        try store.readStream(stream, limit: Int.max).compactMap { e in
            try? JSONDecoder().decode(Record.self, from: Data(e.payload))
        }
    }
}
