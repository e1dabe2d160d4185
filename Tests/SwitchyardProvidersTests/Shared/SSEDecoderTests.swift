import NIOCore
import SwitchyardCore
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
        #expect(try decoder.finish() == [SSEEvent(event: nil, data: "tail")])
    }
}

@Suite struct SSEDecoderLimitTests {
    @Test func refusesALineLongerThanTheLimit() {
        var decoder = SSEDecoder(maximumLineBytes: 64, maximumEventBytes: 1024)
        #expect(throws: UpstreamFailure.self) { _ = try decoder.decode(ByteBuffer(string: "data: " + String(repeating: "x", count: 100))) }
    }

    @Test func refusesAnEventWhoseJoinedDataExceedsTheLimitThoughEveryLineIsShort() throws {
        var decoder = SSEDecoder(maximumLineBytes: 64, maximumEventBytes: 1024)
        let line = "data: " + String(repeating: "x", count: 50) + "\n"
        _ = try decoder.decode(ByteBuffer(string: String(repeating: line, count: 19)))
        #expect(throws: UpstreamFailure.self) { _ = try decoder.decode(ByteBuffer(string: String(repeating: line, count: 2))) }
    }

    @Test func acceptsManyShortEventsWhoseTotalExceedsTheEventLimit() throws {
        var decoder = SSEDecoder(maximumLineBytes: 64, maximumEventBytes: 1024)
        let event = "data: " + String(repeating: "x", count: 50) + "\n\n"
        let events = try decoder.decode(ByteBuffer(string: String(repeating: event, count: 100)))
        #expect(events.count == 100)
    }
}

extension SSEDecoderTests {
    /// Lines are copied in runs between line ends: any cut of the bytes, even between a CR and its LF,
    /// gives the events of the whole.
    @Test(arguments: ["\n", "\r\n", "\r"])
    func cutsAnywhereGiveTheSameEvents(_ newline: String) throws {
        let text = ["event: a", "data: one", "data:two", "", ": comment", "data: {\"k\":\"v\"}", "", "data: [DONE]", "", ""].joined(separator: newline)
        var whole = SSEDecoder()
        let expected = try whole.decode(ByteBuffer(string: text)) + whole.finish()
        #expect(expected.count == 3)
        let bytes = Array(text.utf8)
        for cut in 1..<bytes.count {
            var decoder = SSEDecoder()
            let events = try decoder.decode(ByteBuffer(bytes: bytes[..<cut])) + decoder.decode(ByteBuffer(bytes: bytes[cut...])) + decoder.finish()
            #expect(events == expected, "cut at \(cut)")
        }
        var byteByByte = SSEDecoder()
        var events: [SSEEvent] = []
        for byte in bytes { events += try byteByByte.decode(ByteBuffer(bytes: [byte])) }
        #expect(events + (try byteByByte.finish()) == expected)
    }
}
