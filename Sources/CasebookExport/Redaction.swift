import CasebookLog
import Foundation

/// Takes personal data out of event payloads before they leave the store.
///
/// The engine writes personal data only sealed, as `{"pii": "<subject>", "ct": "<base64>"}`; each
/// such object is replaced by the string `"[personal data]"`, so neither the ciphertext nor the subject
/// id is exported. Everything else is copied as written (a JSON payload with no `"ct"` key and no
/// `\u` escape cannot hold a sealed value and is copied without being parsed). Binary and encrypted
/// payloads, and JSON that might hold a sealed value but cannot be parsed, are not copied at all: each
/// becomes a string saying what it was.
public enum Redaction {
    /// What a sealed value becomes.
    public static let marker = "[personal data]"

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
            return JSONText.quote(marker)
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

    /// `json` with sealed values replaced by ``marker``; nil if it is not well-formed JSON.
    public static func redact(_ json: [UInt8]) -> String? {
        var r = Rewriter(bytes: json)
        guard let out = r.value(), r.skipSpace() == json.count else { return nil }
        return String(decoding: out, as: UTF8.self)
    }

    /// Whether `text` still holds something that looks like a sealed value (a `"ct"` key next to a
    /// `"pii"` key): what the export checks before it writes an event.
    public static func looksSealed(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return contains(bytes, Array(#""ct""#.utf8)) && contains(bytes, Array(#""pii""#.utf8))
    }

    /// A recursive-descent copier over JSON bytes.
    struct Rewriter {
        let bytes: [UInt8]
        var i = 0

        mutating func skipSpace() -> Int {
            while i < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 }
            return i
        }

        /// Copies one value, redacting sealed objects; nil if malformed.
        mutating func value(depth: Int = 0) -> [UInt8]? {
            guard depth < 512 else { return nil }
            _ = skipSpace()
            guard i < bytes.count else { return nil }
            switch bytes[i] {
            case UInt8(ascii: "{"): return object(depth: depth)
            case UInt8(ascii: "["):
                var out: [UInt8] = [UInt8(ascii: "[")]
                i += 1
                _ = skipSpace()
                if i < bytes.count && bytes[i] == UInt8(ascii: "]") { i += 1; return out + [UInt8(ascii: "]")] }
                while true {
                    guard let v = value(depth: depth + 1) else { return nil }
                    out += v
                    _ = skipSpace()
                    guard i < bytes.count else { return nil }
                    if bytes[i] == UInt8(ascii: ",") { out.append(UInt8(ascii: ",")); i += 1; continue }
                    if bytes[i] == UInt8(ascii: "]") { i += 1; out.append(UInt8(ascii: "]")); return out }
                    return nil
                }
            case UInt8(ascii: "\""): return string().map { Array(bytes[$0]) }
            default:
                let start = i
                while i < bytes.count, !([UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), 0x20, 0x0A, 0x0D, 0x09].contains(bytes[i])) { i += 1 }
                let token = String(decoding: bytes[start..<i], as: UTF8.self)
                guard token == "true" || token == "false" || token == "null" || Double(token) != nil else { return nil }
                return Array(bytes[start..<i])
            }
        }

        /// The range of the string starting at `i` (quotes included); nil if unterminated.
        mutating func string() -> Range<Int>? {
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
            let start = i
            i += 1
            while i < bytes.count {
                if bytes[i] == UInt8(ascii: "\\") { i += 2; continue }
                if bytes[i] == UInt8(ascii: "\"") { i += 1; return start..<i }
                i += 1
            }
            return nil
        }

        /// A key's text, escapes resolved (`"\u0063t"` is `ct`).
        func key(_ quoted: ArraySlice<UInt8>) -> String {
            let raw = String(decoding: quoted.dropFirst().dropLast(), as: UTF8.self)
            guard quoted.contains(UInt8(ascii: "\\")) else { return raw }
            return (try? JSONSerialization.jsonObject(with: Data(quoted), options: .fragmentsAllowed)) as? String ?? raw
        }

        mutating func object(depth: Int) -> [UInt8]? {
            i += 1
            var members: [(key: Range<Int>, value: [UInt8])] = []
            _ = skipSpace()
            if i < bytes.count && bytes[i] == UInt8(ascii: "}") {
                i += 1
                return Array("{}".utf8)
            }
            while true {
                _ = skipSpace()
                guard let key = string() else { return nil }
                _ = skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
                i += 1
                guard let v = value(depth: depth + 1) else { return nil }
                members.append((key, v))
                _ = skipSpace()
                guard i < bytes.count else { return nil }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; break }
                return nil
            }
            let keys = Set(members.map { key(bytes[$0.key]) })
            if keys == ["pii", "ct"] { return Array(JSONText.quote(Redaction.marker).utf8) }
            var out: [UInt8] = [UInt8(ascii: "{")]
            for (n, m) in members.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                out += bytes[m.key]
                out.append(UInt8(ascii: ":"))
                out += m.value
            }
            out.append(UInt8(ascii: "}"))
            return out
        }
    }
}
