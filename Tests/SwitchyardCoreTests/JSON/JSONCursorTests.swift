import SwitchyardCore
import SwitchyardSimulator
import Testing

@Suite struct JSONCursorTests {
    /// Skips one whole document with the cursor; false when it was unsure.
    static func cursorAccepts(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            var cursor = JSONCursor(bytes)
            do {
                try cursor.skipValue()
                try cursor.end()
                return true
            } catch {
                return false
            }
        }
    }

    @Test(arguments: [
        #"{}"#, #"[]"#, #"0"#, #"-12.5e+3"#, #""text""#, #"true"#, #"false"#, #"null"#, #" { "a" : [ 1 , { } , [ ] , "x" ] , "b" : null } "#,
        #"[[[["deep"]]]]"#, #"{"a":{"b":{"c":[1,2,{"d":false}]}}}"#, #"["a","b",{"c":"d"}]"#,
    ])
    func documentsInItsSubsetAreSkipped(_ text: String) {
        #expect(Self.cursorAccepts(text))
        #expect((try? JSONParser.parse(text)) != nil)
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":}", "01", "1.", "-", "tru", "\"unterminated", "{\"a\" 1}", "[1] 2", "\"\u{01}\"", "{'a':1}",
        #"["a":1]"#, #"{"a":1,}"#, #"[1 2]"#, #"{"a":1}}"#, #"{"a",1}"#, #"[,1]"#, #"{,"a":1}"#, #"{"a":1 "b":2}"#, "nul", "[nulll]",
    ])
    func documentsTheParserRejectsAreNeverAccepted(_ text: String) {
        #expect(!Self.cursorAccepts(text))
    }

    /// Outside its subset it is unsure, even where the document is valid: the caller then parses in full.
    @Test(arguments: [#""esc\"aped""#, #"{"k\u0065y":1}"#, #""é""#, #"{"é":1}"#])
    func escapesAndNonASCIIAreLeftToTheParser(_ text: String) {
        #expect((try? JSONParser.parse(text)) != nil)
        #expect(!Self.cursorAccepts(text))
    }

    /// Integers are read up to their digit limit; fractions, exponents and longer numbers are left to the parser.
    @Test(arguments: [
        ("0", 15, 0), ("-7", 15, -7), ("1741569952", 15, 1_741_569_952), ("999999999999999", 15, 999_999_999_999_999),
        ("-999999999", 9, -999_999_999), ("1000000000", 9, nil), ("1234567890123456", 15, nil), ("1.0", 15, nil), ("1e3", 15, nil),
        ("-", 15, nil), ("+1", 15, nil), ("\"1\"", 15, nil), ("-0", 15, 0), ("123456789012345678", 18, 123_456_789_012_345_678),
        ("1234567890123456789", 19, nil), ("12E2", 15, nil),
    ] as [(String, Int, Int?)])
    func integersAreReadWithinTheirDigitLimit(_ text: String, _ digits: Int, _ expected: Int?) {
        var text = text
        let read: Int? = text.withUTF8 { bytes in
            var cursor = JSONCursor(bytes)
            return try? cursor.integer(digits: digits)
        }
        #expect(read == expected)
    }

    @Test func nestingBeyondItsLimitIsLeftToTheParser() {
        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        #expect((try? JSONParser.parse(deep)) != nil)
        #expect(!Self.cursorAccepts(deep))
        let shallow = String(repeating: "[", count: 20) + String(repeating: "]", count: 20)
        #expect(Self.cursorAccepts(shallow))
    }

    /// Generated documents, and every one of them damaged by a deleted, inserted or replaced byte: the cursor
    /// accepts every intact one and never accepts one the parser rejects.
    @Test func neverAcceptsWhatTheParserRejects() {
        var generator = SplitMix64(seed: 7)
        let damage: [UInt8] = Array(#"{}[]":,0-.e1 tnx\"#.utf8)
        var acceptedDamaged = 0
        for _ in 0..<2_000 {
            let document = Array(Self.document(depth: 0, using: &generator).utf8)
            #expect(Self.cursorAccepts(String(decoding: document, as: UTF8.self)), "\(String(decoding: document, as: UTF8.self))")
            var damaged = document
            let position = Int.random(in: 0..<damaged.count, using: &generator)
            switch Int.random(in: 0..<3, using: &generator) {
            case 0: damaged.remove(at: position)
            case 1: damaged.insert(damage.randomElement(using: &generator)!, at: position)
            default: damaged[position] = damage.randomElement(using: &generator)!
            }
            let text = String(decoding: damaged, as: UTF8.self)
            if Self.cursorAccepts(text) {
                acceptedDamaged += 1
                #expect((try? JSONParser.parse(text)) != nil, "cursor accepted invalid \(text)")
            }
        }
        // Some damage leaves valid JSON (a digit for a digit); the check above must have seen such cases.
        #expect(acceptedDamaged > 100)
    }

    static func document(depth: Int, using generator: inout SplitMix64) -> String {
        let space = [" ", "", "", "\n"].randomElement(using: &generator)!
        switch Int.random(in: 0..<(depth > 4 ? 4 : 6), using: &generator) {
        case 0: return ["0", "-1", "12.5", "3e-2", "1E+9", "-0.0"].randomElement(using: &generator)!
        case 1: return "\"" + ["", "a", "hello world", "chat.completion.chunk", "{[,:]}"].randomElement(using: &generator)! + "\""
        case 2: return ["true", "false", "null"].randomElement(using: &generator)!
        case 3: return space + "\"k\(Int.random(in: 0..<9, using: &generator))\""
        case 4:
            let members = (0..<Int.random(in: 0..<4, using: &generator)).map { index in
                "\"m\(index)\"" + space + ":" + document(depth: depth + 1, using: &generator)
            }
            return "{" + space + members.joined(separator: "," + space) + "}"
        default:
            let elements = (0..<Int.random(in: 0..<4, using: &generator)).map { _ in document(depth: depth + 1, using: &generator) }
            return "[" + elements.joined(separator: space + ",") + space + "]"
        }
    }
}
