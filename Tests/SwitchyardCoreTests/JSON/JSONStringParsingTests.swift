import SwitchyardCore
import Testing

/// The parser reads a string's plain bytes eight at a time and unescapes into memory shared by the document;
/// every string must decode (or fail, at the same offset) as a byte-by-byte reading of JSON's rules does,
/// wherever in an eight-byte word its quotes, escapes, control characters and non-ASCII bytes fall.
@Suite("JSON parser: strings read word by word mean what JSON's rules say")
struct JSONStringParsingTests {
    enum Outcome: Equatable {
        case text(String)
        /// The offset the error was found at.
        case failure(Int)
    }

    /// JSON's string rules, one byte at a time: the string's text, or the offset of the first error.
    static func reference(_ document: [UInt8]) -> Outcome {
        guard document.first == UInt8(ascii: "\"") else { return .failure(0) }
        var bytes: [UInt8] = []
        var index = 1
        /// Four hex digits at `at`, or where reading them failed (their start when fewer than four remain).
        func hex4(_ at: Int) -> (value: UInt32?, failedAt: Int) {
            guard at + 4 <= document.count else { return (nil, at) }
            var value: UInt32 = 0
            for offset in at..<(at + 4) {
                guard let digit = UInt32(String(UnicodeScalar(document[offset])), radix: 16) else { return (nil, offset) }
                value = value << 4 | digit
            }
            return (value, at + 4)
        }
        while index < document.count {
            let byte = document[index]
            if byte == UInt8(ascii: "\"") {
                // The string is checked as it ends (an error names its start); then only whitespace may follow.
                guard let text = String(validating: bytes, as: UTF8.self) else { return .failure(1) }
                var after = index + 1
                while after < document.count, [0x20, 0x0A, 0x0D, 0x09].contains(document[after]) { after += 1 }
                return after == document.count ? .text(text) : .failure(after)
            }
            if byte < 0x20 { return .failure(index) }
            guard byte == UInt8(ascii: "\\") else {
                bytes.append(byte)
                index += 1
                continue
            }
            guard index + 1 < document.count else { return .failure(index + 1) }
            let escape = document[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "\""): bytes.append(0x22)
            case UInt8(ascii: "\\"): bytes.append(0x5C)
            case UInt8(ascii: "/"): bytes.append(0x2F)
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "u"):
                let high = hex4(index)
                guard var scalar = high.value else { return .failure(high.failedAt) }
                index += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    if index + 1 < document.count, document[index] == UInt8(ascii: "\\"), document[index + 1] == UInt8(ascii: "u") {
                        let read = hex4(index + 2)
                        guard let low = read.value else { return .failure(read.failedAt) }
                        index += 6
                        guard (0xDC00...0xDFFF).contains(low) else { return .failure(index) }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        scalar = 0xFFFD
                    }
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    scalar = 0xFFFD
                }
                bytes.append(contentsOf: Array(String(Unicode.Scalar(scalar)!).utf8))
            default:
                return .failure(index)
            }
        }
        return .failure(index)
    }

    static func parsed(_ document: [UInt8]) -> Outcome {
        do {
            guard case .string(let text) = try JSONParser.parse(document) else { return .failure(-1) }
            return .text(text)
        } catch {
            return .failure(error.offset)
        }
    }

    static let pieces: [[UInt8]] = [
        Array("plain text ".utf8), Array("ab".utf8), Array("x".utf8), Array("é".utf8), Array("😀".utf8), Array("€uro".utf8),
        Array(#"\""#.utf8), Array(#"\\"#.utf8), Array(#"\/"#.utf8), Array(#"\n"#.utf8), Array(#"\t"#.utf8), Array(#"\u00e9"#.utf8),
        Array(#"\ud83d\ude00"#.utf8), Array(#"\ud83d"#.utf8), Array(#"\ude00"#.utf8), Array(#"\u0041"#.utf8), Array(#"\u20ac"#.utf8), Array(#"\u07FF\u0800\uFFFF"#.utf8), [0x7F], [0x20], [0x1F],
        [0x00], [0xC3], [0xFF], [0xE2, 0x82], Array(#"\x"#.utf8), Array(#"\u12g4"#.utf8), [0x22], Array(String(repeating: "long ", count: 5).utf8),
    ]

    @Test func generatedStringsDecodeAsTheRulesSay() async {
        var random = SplitMix(seed: 7)
        var compared = 0
        for round in 0..<8_000 {
            // Other tests' timed clients share the test process's few threads: this loop lets them run.
            if round % 20 == 0 { await Task.yield() }
            var document: [UInt8] = [0x22]
            // Shift the content within an eight-byte word.
            document += Array(repeating: UInt8(ascii: "p"), count: Int(random.next() % 9))
            for _ in 0..<Int(random.next() % 6) {
                // Mostly valid pieces; now and then one that breaks the string.
                let piece = Self.pieces[Int(random.next() % UInt64(Self.pieces.count))]
                let breaks = piece == [0x00] || piece == [0x1F] || piece == [0xC3] || piece == [0xFF] || piece == [0xE2, 0x82]
                    || piece == Array(#"\x"#.utf8) || piece == Array(#"\u12g4"#.utf8) || piece == [0x22]
                if breaks, random.next() % 4 != 0 { continue }
                document += piece
            }
            if random.next() % 16 != 0 { document.append(0x22) }
            #expect(Self.parsed(document) == Self.reference(document), "\(String(decoding: document, as: UTF8.self))")
            compared += 1
        }
        #expect(compared == 8_000)
    }

    @Test func aStringInsideADocumentStopsAtItsQuote() throws {
        let value = try JSONParser.parse(#"{"a":"12345678\"9","b":"\u00e9\u00e9\u00e9\u00e9","c":"plainplainplain"}"#)
        #expect(value["a"]?.stringValue == "12345678\"9")
        #expect(value["b"]?.stringValue == "éééé")
        #expect(value["c"]?.stringValue == "plainplainplain")
    }
}

private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
