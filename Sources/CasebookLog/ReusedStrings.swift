import Foundation

/// Strings made from bytes read in place (an event's type, actor, payload values), kept so that the same bytes give
/// the same `String` again without allocating. Strings of up to 15 UTF-8 bytes are stored inline and never allocate;
/// only longer ones are kept, at most ``limit`` of them.
public struct ReusedStrings {
    /// The most strings kept.
    public static let limit = 65_536
    private var table: [UInt64: String] = [:]

    /// A table that has kept nothing yet.
    public init() {}

    /// The bytes (UTF-8) as a string: the one made before from the same bytes, if there was one.
    public mutating func string(_ bytes: UnsafeRawBufferPointer) -> String {
        guard bytes.count > 15 else { return String(decoding: bytes, as: UTF8.self) }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        if let known = table[h] {
            let same = known.utf8.count == bytes.count
                && known.utf8.withContiguousStorageIfAvailable { memcmp($0.baseAddress!, bytes.baseAddress!, bytes.count) == 0 } == true
            if same { return known }
            return String(decoding: bytes, as: UTF8.self)  // another string with the same hash
        }
        let s = String(decoding: bytes, as: UTF8.self)
        if table.count < Self.limit { table[h] = s }
        return s
    }
}
