import NIOCore
import SwitchyardCore
@testable import SwitchyardProviders
import SwitchyardSimulator
import Testing

/// The plain-delta reader must never change what a stream means: every event decodes to the same events
/// (or the same failure) with it and without it, and it must actually read the common text delta.
@Suite struct AnthropicPlainDeltaTests {
    static let opening = """
        event: message_start
        data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[],"usage":{"input_tokens":3,"output_tokens":1}}}

        event: content_block_start
        data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}


        """

    static func decode(_ data: String, plainReader: Bool) -> Result<[ChatEvent], UpstreamFailure> {
        var decoder = AnthropicStreamDecoder()
        decoder.usesPlainDeltaReader = plainReader
        return Result { () throws(UpstreamFailure) in
            _ = try decoder.decode(ByteBuffer(string: opening))
            return try decoder.decode(ByteBuffer(string: "event: content_block_delta\ndata: " + data + "\n\n"))
        }
    }

    @Test func theFixtureStreamsTextDeltasAreReadPlainly() throws {
        var plain = 0
        for line in try Fixtures.text("anthropic/stream_text_tool_use.sse").split(separator: "\n") where line.hasPrefix("data: {") {
            let data = String(line.dropFirst(6))
            if case .some(.some) = AnthropicPlainDelta.recognise(data) { plain += 1 }
            #expect(Self.decode(data, plainReader: true) == Self.decode(data, plainReader: false), "\(data)")
        }
        #expect(plain >= 2)
    }

    @Test(arguments: [
        (#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#, [ChatEvent.textDelta("Hello")]),
        (#"{"type":"content_block_delta","delta":{"type":"text_delta","text":"a"},"delta":{"type":"text_delta","text":"b"}}"#, [.textDelta("b")]),
        (#"{"type":"content_block_delta","delta":{"type":"text_delta","text":"a","text":null}}"#, []),
        (#"{"type":"ping","type":"content_block_delta","delta":{"type":"text_delta","text":"x"}}"#, [.textDelta("x")]),
    ])
    func commonAndRepeatedKeysAreReadPlainly(_ data: String, _ expected: [ChatEvent]) {
        #expect(AnthropicPlainDelta.recognise(data) != nil)
        #expect(Self.decode(data, plainReader: true) == .success(expected))
        #expect(Self.decode(data, plainReader: false) == .success(expected))
    }

    @Test func generatedEventsMeanTheSameWithAndWithoutIt() {
        var generator = ChunkGenerator(seed: 5)
        var recognisedWithText = 0
        for round in 0..<4_000 {
            let data = generator.damaged(Self.event(using: &generator), every: 3, round: round)
            if case .some(.some) = AnthropicPlainDelta.recognise(data) { recognisedWithText += 1 }
            #expect(Self.decode(data, plainReader: true) == Self.decode(data, plainReader: false), "\(data)")
        }
        #expect(recognisedWithText > 200, "recognised with text \(recognisedWithText)")
    }

    /// The stream's next events are first compared with the last text delta's shape: an event with the same
    /// bytes around a new text must mean what its full decode says, whatever the text, and one changed
    /// anywhere else too.
    @Test func eventsComparedWithTheLastTextDeltasShapeMeanTheSameWithAndWithoutIt() {
        let texts = ["Hi", "", " world", "café 😀", #"say \"hi\""#, #"line\nbreak"#, #"\u00e9"#, #"a","type":"x"#, "tab\there", "\\", "€"]
        let check = PlainTextShapeCheck(shapeOf: { AnthropicPlainDelta.recogniseWithShape($0)?.shape }, decode: Self.decode)
        let (compared, matched) = check.run(seed: 6, rounds: 4_000, texts: texts) { Self.event(using: &$0) }
        #expect(compared > 300 && matched > 100, "compared \(compared), matched \(matched)")
    }

    /// The events of the last of `data`, each decoded in turn after the opening.
    static func decode(_ data: [String], plainReader: Bool) -> Result<[ChatEvent], UpstreamFailure> {
        var decoder = AnthropicStreamDecoder()
        decoder.usesPlainDeltaReader = plainReader
        return Result { () throws(UpstreamFailure) in
            _ = try decoder.decode(ByteBuffer(string: opening))
            var events: [ChatEvent] = []
            for item in data { events = try decoder.decode(ByteBuffer(string: "event: content_block_delta\ndata: " + item + "\n\n")) }
            return events
        }
    }

    static func event(using generator: inout ChunkGenerator) -> String {
        generator.newChunk()
        let text = generator.pick([#""Hello""#, "\"café 😀\"", #""""#, "null", #""line\nbreak""#, #""\u00e9""#, "7"])
        let delta = generator.object([
            ("type", generator.mostly(#""text_delta""#, else: [#""input_json_delta""#, #""thinking_delta""#, "null", nil])),
            ("text", generator.mostly(text, else: [nil])),
            ("partial_json", generator.mostly(nil, else: [#""{\"a\""#])),
            ("thinking", generator.mostly(nil, else: [#""hmm""#])),
        ])
        return generator.object([
            ("type", generator.mostly(#""content_block_delta""#, else: [#""message_delta""#, #""error""#, #""ping""#, "null", nil])),
            ("index", generator.mostly("0", else: ["1", #""0""#, "null", nil])),
            ("delta", generator.mostly(delta, else: ["null", #"{"stop_reason":"end_turn"}"#, nil])),
            ("error", generator.mostly(nil, else: [#"{"type":"overloaded_error","message":"Overloaded"}"#])),
            ("usage", generator.mostly(nil, else: [#"{"output_tokens":9}"#])),
        ])
    }
}
