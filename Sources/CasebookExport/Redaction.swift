import CasebookLog
import CasebookWorkflow
import Foundation

/// Takes personal data out of event payloads before they leave the store.
///
/// The engine writes personal data only sealed, as `{"pii": "<subject>", "ct": "<base64>"}`; each
/// such object is replaced by the string `"[personal data]"`, so neither the ciphertext nor the subject
/// id is exported. A JSON payload with no `"ct"` key and no `\u` escape cannot hold a sealed value and
/// is copied as written, without being parsed; others are parsed, redacted and written back. Binary and encrypted
/// payloads, and JSON that might hold a sealed value but cannot be parsed, are not copied at all: each
/// becomes a string saying what it was.
public enum Redaction {
    /// The payload of `event` as JSON text with every sealed value redacted.
    public static func payloadJSON(_ event: RecordedEvent) -> String {
        switch event.payloadEncoding {
        case .json:
            // Most payloads hold no sealed value: without a `"ct"` key (and no \u escape that could spell
            // one) they are copied as they stand.
            if !contains(event.payload, Array(#""ct""#.utf8)) && !contains(event.payload, Array(#"\u"#.utf8)) {
                return String(decoding: event.payload, as: UTF8.self)
            }
            return redact(event.payload) ?? JSONText.quote("[unreadable JSON payload, \(event.payload.count) bytes]")
        case .encrypted:
            return JSONText.quote(PersonalData.placeholder)
        case .binary:
            return JSONText.quote("[binary payload, \(event.payload.count) bytes]")
        }
    }

    /// Whether `needle` occurs in `haystack`.
    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, haystack.count >= needle.count else { return false }
        var i = 0
        let last = haystack.count - needle.count
        while i <= last {
            if haystack[i] == first {
                var j = 1
                while j < needle.count && haystack[i + j] == needle[j] { j += 1 }
                if j == needle.count { return true }
            }
            i += 1
        }
        return false
    }

    /// `json` with sealed values replaced by ``PersonalData/placeholder`` (through the engine's own
    /// parser and redactor, written back compactly with sorted keys); nil if it is not well-formed JSON.
    public static func redact(_ json: [UInt8]) -> String? {
        guard let value = try? json.withUnsafeBytes({ try JSONValue.parse($0) }) else { return nil }
        return PersonalData.redacting(value).json
    }
}
