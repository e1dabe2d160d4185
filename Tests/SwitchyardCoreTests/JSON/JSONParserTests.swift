import SwitchyardCore
import Testing

@Suite struct JSONParserTests {
    @Test func roundTripKeepsKeyOrderAndNumberLiterals() throws {
        let text = #"{"z":1,"a":{"y":[true,false,null],"b":"x"},"big":12345678901234567890,"f":-1.5e-3}"#
        let value = try JSONParser.parse(text)
        #expect(value.jsonString == text)
        #expect(value.objectValue?.keys == ["z", "a", "big", "f"])
    }

    @Test func escapesAndUnicodeSurvive() throws {
        let text = #"{"s":"line\nbreak \"quoted\" \u00e9 \ud83d\ude00 tab\t"}"#
        let value = try JSONParser.parse(text)
        #expect(value["s"]?.stringValue == "line\nbreak \"quoted\" é 😀 tab\t")
        #expect(try JSONParser.parse(value.jsonString) == value)
    }

    /// The writer escapes exactly what JSON requires (quote, backslash, control characters), wherever they
    /// fall in the string, and copies everything else as it is, non-ASCII included.
    @Test(arguments: [
        ("", #""""#), ("plain", #""plain""#), ("\"", #""\"""#), ("a\\b", #""a\\b""#), ("\n\r\t", #""\n\r\t""#),
        ("\u{00}x\u{1f}", #""\u0000x\u001f""#), ("\u{0b}end", #""\u000bend""#), ("é😀\"", #""é😀\"""#),
        ("\u{7f}/", "\"\u{7f}/\""),
    ])
    func stringsAreEscapedExactlyAsJSONRequires(_ text: String, _ expected: String) throws {
        #expect(JSONValue.string(text).jsonString == expected)
        #expect(try JSONParser.parse(expected) == .string(text))
    }

    /// Strings with escapes: the runs between escapes are kept whole, lone surrogates become U+FFFD, and a
    /// string broken after an escape is an error.
    @Test(arguments: [
        (#""a\"b""#, "a\"b"), (#""\\""#, "\\"), (#""x\u00e9y\u20ACz""#, "xéy€z"), (#""\ud83d\ude00!""#, "😀!"),
        (#""\ud83d x""#, "\u{FFFD} x"), (#""\ude00""#, "\u{FFFD}"), (#""é\n""#, "é\n"),
        ("\"" + String(repeating: "long run ", count: 200) + "\\t" + String(repeating: "après ", count: 100) + "\"",
            String(repeating: "long run ", count: 200) + "\t" + String(repeating: "après ", count: 100)),
    ])
    func escapedStringsDecode(_ json: String, _ expected: String) throws {
        #expect(try JSONParser.parse(json) == .string(expected))
    }

    @Test(arguments: [#""a\"#, #""a\n"#, "\"a\\n\u{01}\"", #""a\x""#, #""\ud83d\u0041""#, #""\u12""#])
    func brokenEscapedStringsAreRejected(_ json: String) {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(json) }
    }

    @Test func everyControlCharacterRoundTrips() throws {
        let text = String(decoding: (0..<0x20).map { UInt8($0) } + Array("after".utf8), as: UTF8.self)
        let written = JSONValue.string(text).jsonString
        #expect(!written.utf8.dropFirst().dropLast().contains { $0 < 0x20 })
        #expect(try JSONParser.parse(written) == .string(text))
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":}", "01", "1.", "-", "tru", "\"unterminated", "{\"a\" 1}", "[1] 2", "\"\u{01}\"", "{'a':1}",
    ])
    func invalidDocumentsAreRejected(_ text: String) {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(text) }
    }

    @Test func duplicateKeysKeepTheLastValue() throws {
        let value = try JSONParser.parse(#"{"a":1,"a":2}"#)
        #expect(value["a"]?.intValue == 2)
        #expect(value.objectValue?.count == 1)
    }

    /// Past 16 members the parser indexes keys and hands that index to the object: lookups, duplicates and
    /// later edits behave exactly as for a small object.
    @Test func aLargeObjectWithDuplicatesKeepsOrderAndFindsEveryKey() throws {
        let members = (0..<30).map { #""k\#($0)":\#($0)"# } + [#""k3":"again""#, #""k25":"again""#]
        var object = try #require(try JSONParser.parse("{" + members.joined(separator: ",") + "}").objectValue)
        #expect(object.keys == (0..<30).map { "k\($0)" })
        for index in 0..<30 { #expect(object["k\(index)"] == (index == 3 || index == 25 ? "again" : .int(index))) }
        object["k10"] = nil
        #expect(object["k11"] == .int(11) && object["k10"] == nil && object.count == 29)
        object["new"] = true
        #expect(object.keys.last == "new" && object["new"] == true)
    }
}

@Suite struct JSONParserLimitTests {
    @Test func aCompleteDocumentNestedBeyondTheLimitFailsAtTheLimit() throws {
        let depth = JSONParser.maximumDepth + 1
        let text = String(repeating: "[", count: depth) + "1" + String(repeating: "]", count: depth)
        let error = #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(text) }
        #expect(error?.message == "JSON nested too deeply")
        #expect(error?.offset == JSONParser.maximumDepth)
        let allowed = String(repeating: "[", count: depth - 1) + "1" + String(repeating: "]", count: depth - 1)
        #expect(throws: Never.self) { try JSONParser.parse(allowed) }
    }

    @Test(arguments: [[0xC3, 0x28], [0xFF], [0xED, 0xA0, 0x80], [0xE2, 0x82]] as [[UInt8]])
    func invalidUTF8InAStringIsRejected(_ bad: [UInt8]) {
        let plain = Array(#"{"content":"a"#.utf8) + bad + Array(#"b"}"#.utf8)
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(plain) }
        let escaped = Array(#"{"content":"a\n"#.utf8) + bad + Array(#"b"}"#.utf8)
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(escaped) }
    }

    @Test func validMultibyteUTF8IsKept() throws {
        let value = try JSONParser.parse(Array(#"{"s":"héllo 😀 \n ü"}"#.utf8))
        #expect(value["s"]?.stringValue == "héllo 😀 \n ü")
    }

    @Test func largeObjectsKeepOrderAndLookUpEveryKey() throws {
        let members = (0..<1000).map { #""k\#($0)":\#($0)"# }.joined(separator: ",")
        var object = try #require(try JSONParser.parse("{\(members),\"k7\":-7}").objectValue)
        #expect(object.count == 1000)
        #expect(object.keys.first == "k0" && object.keys.last == "k999")
        #expect(object["k7"] == .int(-7))
        #expect(object["k999"] == .int(999))
        object["k500"] = nil
        #expect(object["k500"] == nil && object["k501"] == .int(501) && object.count == 999)
        object["k1000"] = .int(1000)
        #expect(object["k1000"] == .int(1000) && object.keys.last == "k1000" && object.count == 1000)
    }

    /// Parsing is linear in the number of keys: ten times the keys cost about ten times the time, not a
    /// hundred (a quadratic duplicate check took 12 s for 60k keys). The bound is loose so a loaded machine
    /// cannot fail it; quadratic work exceeds it by far.
    @Test func parsingManyKeysIsLinear() throws {
        func document(_ count: Int) -> [UInt8] {
            Array(("{" + (0..<count).map { #""key\#($0)":\#($0)"# }.joined(separator: ",") + "}").utf8)
        }
        func fastest(_ bytes: [UInt8]) throws -> Duration {
            var best = Duration.seconds(1000)
            for _ in 0..<3 {
                let clock = ContinuousClock()
                let elapsed = try clock.measure { _ = try JSONParser.parse(bytes) }
                best = min(best, elapsed)
            }
            return best
        }
        let small = try fastest(document(10_000))
        let large = try fastest(document(100_000))
        #expect(large / small < 40, "100k keys took \(large), 10k took \(small)")
    }
}
