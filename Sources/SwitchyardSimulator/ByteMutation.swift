/// Damages well-formed protocol bytes the way the HTTP/1 readers' fuzz tests do: one to three bytes flipped,
/// inserted or dropped, the new ones drawn from the bytes that change how a line or a field is framed.
public enum ByteMutation {
    /// CR, LF, NUL, space, tab, colon, semicolon, a digit, DEL, a high byte, a letter.
    public static let framingBytes: [UInt8] = [
        0x0D, 0x0A, 0x00, 0x20, 0x09, UInt8(ascii: ":"), UInt8(ascii: ";"), UInt8(ascii: "0"), 0x7F, 0xFF, UInt8(ascii: "a"),
    ]

    /// `bytes` with one to three random changes; never empty (a lone LF is left where all was dropped).
    public static func mutate(_ bytes: inout [UInt8], using random: inout SplitMix64) {
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let position = Int.random(in: 0..<bytes.count, using: &random)
            let byte = { (random: inout SplitMix64) in framingBytes[Int.random(in: 0..<framingBytes.count, using: &random)] }
            switch Int.random(in: 0..<3, using: &random) {
            case 0: bytes[position] = byte(&random)
            case 1: bytes.insert(byte(&random), at: position)
            default: bytes.remove(at: position)
            }
            if bytes.isEmpty { bytes = [0x0A] }
        }
    }
}

extension Array where Element == UInt8 {
    /// The bytes cut into consecutive pieces ending at `cuts` (those inside, in order; a repeated cut makes an
    /// empty piece), the last ending at the end: a message as a connection may read it.
    public func pieces(endingAt cuts: [Int]) -> [ArraySlice<UInt8>] {
        var start = 0
        return (cuts.filter { $0 > 0 && $0 < count }.sorted() + [count]).map { end in
            defer { start = end }
            return self[start..<end]
        }
    }
}
