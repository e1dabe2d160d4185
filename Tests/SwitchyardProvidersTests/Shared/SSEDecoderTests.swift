import NIOCore
import SwitchyardProviders
import Testing

@Suite struct SSEDecoderTests {
    @Test(arguments: ["\n", "\r\n", "\r"])
    func splitsEventsOnAnyLineEnding(_ newline: String) throws {
        var decoder = SSEDecoder()
        let text = ": comment\(newline)event: a\(newline)data: one\(newline)data:two\(newline)\(newline)data: [DONE]\(newline)\(newline)"
        var events: [SSEEvent] = []
        for byte in text.utf8 { events += try decoder.decode(ByteBuffer(bytes: [byte])) }
        #expect(events == [SSEEvent(event: "a", data: "one\ntwo"), SSEEvent(event: nil, data: "[DONE]")])
    }

    @Test func flushesAnUnterminatedFinalEvent() throws {
        var decoder = SSEDecoder()
        _ = try decoder.decode(ByteBuffer(string: "data: tail"))
        #expect(decoder.finish() == [SSEEvent(event: nil, data: "tail")])
    }
}
