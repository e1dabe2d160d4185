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

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\":}", "01", "1.", "-", "tru", "\"unterminated", "{\"a\" 1}", "[1] 2", "\"\u{01}\"", "{'a':1}",
        String(repeating: "[", count: 500),
    ])
    func invalidDocumentsAreRejected(_ text: String) {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(text) }
    }

    @Test func duplicateKeysKeepTheLastValue() throws {
        let value = try JSONParser.parse(#"{"a":1,"a":2}"#)
        #expect(value["a"]?.intValue == 2)
        #expect(value.objectValue?.count == 1)
    }
}
