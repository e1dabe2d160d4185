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

    /// Whole events of one `data:` line are read straight from the bytes; every other shape, and every event
    /// cut across reads, by the general rules. Both must agree, whatever the cut and the mix.
    @Test func wholeDataEventsDecodeAsTheGeneralRulesDo() throws {
        let pieces = [
            "data: {\"a\":1}\n\n", "data:no-space\n\n", "data:\n\n", "data: \n\n", "data:  two spaces\n\n", "data: crlf\r\n\r\n",
            "data: bare\rcr\n\n", "event: named\ndata: x\n\n", ": comment\n\n", "data: one\ndata: two\n\n", "data: [DONE]\n\n",
            "datum: not data\n\n", "data: ünïcödé \u{1F600}\n\n", "data: tail without blank line\n",
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let text = (0..<Int.random(in: 1...8, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            var whole = SSEDecoder()
            let wholeEvents = try whole.decode(ByteBuffer(string: text)) + whole.finish()
            var byByte = SSEDecoder()
            var byteEvents: [SSEEvent] = []
            for byte in text.utf8 { byteEvents += try byByte.decode(ByteBuffer(bytes: [byte])) }
            byteEvents += try byByte.finish()
            #expect(wholeEvents == byteEvents, "\(text.debugDescription)")
            // Cut once at a random place: the first part's whole events, then the rest.
            let bytes = Array(text.utf8)
            let cut = Int.random(in: 0...bytes.count, using: &generator)
            var twoPieces = SSEDecoder()
            let cutEvents = try twoPieces.decode(ByteBuffer(bytes: bytes[..<cut])) + twoPieces.decode(ByteBuffer(bytes: bytes[cut...])) + twoPieces.finish()
            #expect(cutEvents == byteEvents, "\(text.debugDescription) cut at \(cut)")
        }
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
