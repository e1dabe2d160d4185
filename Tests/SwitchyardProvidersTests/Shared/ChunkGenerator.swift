import SwitchyardSimulator

/// Builds varied JSON stream chunks for tests that compare a fast reader with the full decode: members in
/// any order, optional whitespace, and now and then a key given twice with another member's value.
struct ChunkGenerator {
    private var random: SplitMix64
    private var space = ""

    init(seed: UInt64) {
        random = SplitMix64(seed: seed)
    }

    mutating func pick<T>(_ options: [T]) -> T { options.randomElement(using: &random)! }

    /// `usual` most of the time, else one of `unusual`: each chunk departs from the common shape in a few places.
    mutating func mostly<T>(_ usual: T, else unusual: [T]) -> T { Int.random(in: 0..<8, using: &random) == 0 ? pick(unusual) : usual }

    /// Starts a chunk: picks the whitespace its objects use.
    mutating func newChunk() {
        space = pick(["", "", " ", "\n "])
    }

    /// An object of the members whose value is not `nil`.
    mutating func object(_ members: [(String, String?)]) -> String {
        var present = members.compactMap { key, value in value.map { (key, $0) } }
        if Int.random(in: 0..<8, using: &random) == 0, let repeated = present.randomElement(using: &random), let other = present.randomElement(using: &random) {
            present.append((repeated.0, other.1))
        }
        present.shuffle(using: &random)
        return "{" + present.map { "\"\($0.0)\"" + space + ":" + space + $0.1 }.joined(separator: "," + space) + "}"
    }

    /// `text` with one byte replaced by a JSON-significant one, every `period`-th call.
    mutating func damaged(_ text: String, every period: Int, round: Int) -> String {
        guard round % period == period - 1 else { return text }
        var bytes = Array(text.utf8)
        bytes[Int.random(in: 0..<bytes.count, using: &random)] = pick(Array(##"{}[]":,0 n"\"##.utf8))
        return String(decoding: bytes, as: UTF8.self)
    }
}
