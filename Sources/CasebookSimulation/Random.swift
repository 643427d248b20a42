/// SplitMix64 (Steele, Lea and Flood, 2014): a small, fast, well-mixed 64-bit generator. The simulation
/// never uses the system generator, and never Swift's `random(in:using:)` either (whose algorithm is not
/// promised to stay the same across toolchains): every draw goes through the helpers below, so a seed
/// gives the same city on every machine and every Swift version.
struct SplitMix64: Sendable {
    private var state: UInt64

    /// A generator for one thing of the city (a case, a community, …): derived from the run's seed and
    /// the thing's name, so what it draws does not depend on what else was drawn or in which order.
    init(seed: UInt64, name: String) {
        // FNV-1a over the name, mixed with the seed.
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in name.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        state = seed ^ (h &* 0x9E37_79B9_7F4A_7C15)
        _ = next()
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<n` (multiply-shift; the bias for n < 2^32 is below 2^-32).
    mutating func below(_ n: Int) -> Int {
        precondition(n > 0)
        return Int((UInt64(n).multipliedFullWidth(by: next())).high)
    }

    /// Uniform in the closed range.
    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + below(range.count) }

    /// True with probability `p` (0…1), decided on a 1/1,000,000 grid.
    mutating func chance(_ p: Double) -> Bool { below(1_000_000) < Int(p * 1_000_000) }

    /// One element.
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// One element, by integer weights.
    mutating func weighted<T>(_ items: [(T, Int)]) -> T {
        var r = below(items.reduce(0) { $0 + $1.1 })
        for (item, w) in items {
            if r < w { return item }
            r -= w
        }
        return items[items.count - 1].0
    }

    /// `k` distinct elements, in a random order (partial Fisher–Yates).
    mutating func sample<T>(_ items: [T], _ k: Int) -> [T] {
        var a = items
        let k = min(k, a.count)
        for i in 0..<k { a.swapAt(i, i + below(a.count - i)) }
        return Array(a.prefix(k))
    }
}
