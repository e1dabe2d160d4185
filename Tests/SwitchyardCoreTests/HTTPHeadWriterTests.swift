import NIOCore
import SwitchyardCore
import Testing

@Suite struct HTTPHeadWriterTests {
    @Test func aHeadIsWrittenWholeWhateverLengthWasGiven() {
        let value = String(repeating: "v", count: 300)
        for length in [0, 10, 64, 200, 400, 10_000] {
            var buffer = ByteBuffer(string: "before|")
            buffer.writeHTTPHead(length: length) { head in
                head.append("GET ")
                head.append(text: "/path")
                head.append(" HTTP/1.1\r\n")
                head.appendField(name: "x-long", value: value)
                head.appendField(name: "x-é", value: "ünïcode")
                head.append("\r\n")
            }
            #expect(String(buffer: buffer) == "before|GET /path HTTP/1.1\r\nx-long: \(value)\r\nx-é: ünïcode\r\n\r\n", "length \(length)")
        }
        #expect(HTTPHeadWriter.fieldLength(name: "x-é", value: "ünïcode") == "x-é: ünïcode\r\n".utf8.count)
    }

    @Test func caseInsensitiveEqualityIsASCIIOnly() {
        #expect("Content-Length".caseInsensitiveEquals("content-length"))
        #expect(!"content-length".caseInsensitiveEquals("content-lengths"))
        #expect(!"É".caseInsensitiveEquals("é"))
        #expect("".caseInsensitiveEquals(""))
        #expect(!"[".caseInsensitiveEquals("{"))
    }
}
