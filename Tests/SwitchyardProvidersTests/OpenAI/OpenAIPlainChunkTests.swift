import NIOCore
import SwitchyardCore
@testable import SwitchyardProviders
import SwitchyardSimulator
import Testing

/// The plain-chunk reader must never change what a stream means: every chunk decodes to the same events
/// (or the same failure) with it and without it, and it must actually read the common chunks.
@Suite struct OpenAIPlainChunkTests {
    static let opening =
        #"data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}],"usage":null}"#
        + "\n\n"

    /// The chunk's events after an opening chunk (or as the first), with or without the plain-chunk reader.
    static func decode(_ data: String, plainReader: Bool, first: Bool = false) -> Result<[ChatEvent], UpstreamFailure> {
        var decoder = OpenAIStreamDecoder()
        decoder.usesPlainChunkReader = plainReader
        return Result { () throws(UpstreamFailure) in
            if !first { _ = try decoder.decode(ByteBuffer(string: opening)) }
            return try decoder.decode(ByteBuffer(string: "data: " + data + "\n\n"))
        }
    }

    @Test func theFixtureStreamsContentChunksAreReadPlainly() throws {
        let text = try Fixtures.text("openai/chat_stream_text_tool_call.sse") + Fixtures.text("azure/chat_stream_with_content_filter.sse")
        var plain = 0
        for line in text.split(separator: "\n") where line.hasPrefix("data: {") {
            let data = String(line.dropFirst(6))
            if case .text = OpenAIPlainChunk.recognise(data) { plain += 1 }
            #expect(Self.decode(data, plainReader: true) == Self.decode(data, plainReader: false), "\(data)")
        }
        #expect(plain >= 3)
    }

    /// A whole ordinary stream — the opening chunk, text, the finishing chunk, the usage chunk — is read
    /// without one full decode, and means what the full decode says.
    @Test func everyChunkOfAnOrdinaryStreamIsReadPlainly() throws {
        let chunks = [
            #"{"id":"c9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}"#,
            #"{"id":"c9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}]}"#,
            #"{"id":"c9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"length"}]}"#,
            #"{"id":"c9","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14,"prompt_tokens_details":{"cached_tokens":4}}}"#,
        ]
        for chunk in chunks { #expect(OpenAIPlainChunk.read(chunk) != nil, "\(chunk)") }
        func events(plainReader: Bool) throws -> [ChatEvent] {
            var decoder = OpenAIStreamDecoder()
            decoder.usesPlainChunkReader = plainReader
            return try chunks.flatMap { try decoder.decode(ByteBuffer(string: "data: " + $0 + "\n\n")) }
        }
        let plain = try events(plainReader: true)
        #expect(plain == (try events(plainReader: false)))
        #expect(plain.first == .start(id: "c9", model: "gpt-4o"))
        #expect(plain.contains(.finish(.length, choice: 0)))
        #expect(plain.last.map { if case .usage(let usage) = $0 { usage.cachedPromptTokens == 4 && usage.completionTokens == 2 } else { false } } == true)
    }

    @Test func aTypicalChunkIsReadWithoutTheFullDecode() {
        let chunk =
            #"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}"#
        guard case .text(let text, let choice) = OpenAIPlainChunk.recognise(chunk) else {
            Issue.record("the typical chunk was left to the full decode")
            return
        }
        #expect(text == "Hello" && choice == 0)
        #expect(Self.decode(chunk, plainReader: true) == .success([.textDelta("Hello", choice: 0)]))
    }

    /// A repeated key counts with its last value, as in the parser the full decode uses.
    @Test(arguments: [
        (#"{"choices":[{"index":0,"delta":{"content":"Hello","content":null}}]}"#, [ChatEvent]()),
        (#"{"choices":[{"index":0,"delta":{"content":"Hello"}}],"choices":[]}"#, []),
        (#"{"choices":[{"delta":{"content":"a"},"delta":{"content":"b"}}]}"#, [.textDelta("b", choice: 0)]),
        (#"{"choices":[{"index":0,"index":2,"delta":{"content":"a"}}]}"#, [.textDelta("a", choice: 2)]),
    ])
    func repeatedKeysCountWithTheirLastValue(_ data: String, _ expected: [ChatEvent]) {
        #expect(OpenAIPlainChunk.recognise(data) != nil)
        #expect(Self.decode(data, plainReader: true) == .success(expected))
        #expect(Self.decode(data, plainReader: false) == .success(expected))
    }

    /// Thousands of generated chunks — every key the full decode reads, in and out of place, null or not,
    /// repeated, with escapes, non-ASCII text, odd numbers and whitespace — a third of them damaged by one byte.
    @Test func generatedChunksMeanTheSameWithAndWithoutIt() {
        var generator = ChunkGenerator(seed: 11)
        var recognised = 0
        var recognisedWithText = 0
        for round in 0..<6_000 {
            let data = generator.damaged(Self.chunk(using: &generator), every: 3, round: round)
            let plain = OpenAIPlainChunk.recognise(data)
            if plain != nil { recognised += 1 }
            if case .text = plain { recognisedWithText += 1 }
            #expect(Self.decode(data, plainReader: true) == Self.decode(data, plainReader: false), "\(data)")
            // As the stream's first chunk too: its id and model start the stream, unless it is a preamble.
            #expect(Self.decode(data, plainReader: true, first: true) == Self.decode(data, plainReader: false, first: true), "first: \(data)")
        }
        #expect(recognised > 300 && recognisedWithText > 100, "recognised \(recognised), with text \(recognisedWithText)")
    }

    /// The stream's next chunks are first compared with the last text chunk's shape: a chunk with the same
    /// bytes around a new text must mean what its full decode says, whatever the text (quotes, escapes,
    /// control characters, non-ASCII), and a chunk changed anywhere else too.
    @Test func chunksComparedWithTheLastTextChunksShapeMeanTheSameWithAndWithoutIt() {
        let texts = [
            "Hi", "", " world", "café 😀", #"say \"hi\""#, #"line\nbreak"#, #"caf\u00e9"#, #"a","x":"y"#, "tab\there", "\\", "7", "€",
        ]
        let check = PlainTextShapeCheck(shapeOf: { OpenAIPlainChunk.recogniseWithShape($0)?.shape }, decode: Self.decode)
        let (compared, matched) = check.run(seed: 12, rounds: 6_000, texts: texts) { Self.chunk(using: &$0) }
        #expect(compared > 300 && matched > 100, "compared \(compared), matched \(matched)")
    }

    /// OpenAI's own chunks carry a random `obfuscation` field, so no chunk has the last one's shape: the
    /// decoder stops making shapes after a few in a row went unused, and the stream still means the same.
    @Test func aStreamWhoseChunksNeverShareAShapeStopsMakingThem() throws {
        var chunks: [String] = []
        for index in 0..<20 {
            let padding = "p\(index * 7919 % 1000)"
            chunks.append(
                #"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"w\#(index) "},"logprobs":null,"finish_reason":null}],"obfuscation":"\#(padding)"}"#)
        }
        for count in 1...chunks.count {
            let prefix = Array(chunks.prefix(count))
            #expect(Self.decode(prefix, plainReader: true) == Self.decode(prefix, plainReader: false))
        }
        var cache = PlainTextShapeCache<Int>()
        var learned = 0
        for chunk in chunks where cache.text(of: chunk) == nil {
            guard let (_, shape) = OpenAIPlainChunk.recogniseWithShape(chunk, makingShape: cache.wantsShapes) else { continue }
            if let shape {
                cache.learn(shape, context: 0)
                learned += 1
            }
        }
        #expect(learned == PlainTextShapeCache<Int>.fruitlessLearningLimit)
        // One chunk that has the last shape makes learning worth it again.
        let plain = #"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"a"},"logprobs":null,"finish_reason":null}]}"#
        var fresh = PlainTextShapeCache<Int>()
        for _ in 0..<PlainTextShapeCache<Int>.fruitlessLearningLimit - 1 {
            fresh.learn(try #require(OpenAIPlainChunk.recogniseWithShape(plain)?.shape), context: 0)
        }
        let next = #"{"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"b"},"logprobs":null,"finish_reason":null}]}"#
        #expect(fresh.text(of: next)?.text == "b")
        fresh.learn(try #require(OpenAIPlainChunk.recogniseWithShape(plain)?.shape), context: 0)
        #expect(fresh.wantsShapes)
    }

    /// The events of the last of `chunks`, decoded in turn after an opening chunk.
    static func decode(_ chunks: [String], plainReader: Bool) -> Result<[ChatEvent], UpstreamFailure> {
        var decoder = OpenAIStreamDecoder()
        decoder.usesPlainChunkReader = plainReader
        return Result { () throws(UpstreamFailure) in
            _ = try decoder.decode(ByteBuffer(string: opening))
            var events: [ChatEvent] = []
            for chunk in chunks { events = try decoder.decode(ByteBuffer(string: "data: " + chunk + "\n\n")) }
            return events
        }
    }

    static func chunk(using generator: inout ChunkGenerator) -> String {
        generator.newChunk()
        let text = generator.pick([#""Hello""#, #"" world""#, "\"café 😀\"", #""""#, "null", #""line\nbreak""#, #""caf\u00e9""#, #""say \"hi\"""#, "7"])
        let delta = generator.object([
            ("content", generator.mostly(text, else: [nil])),
            ("role", generator.pick([nil, nil, #""assistant""#])),
            ("refusal", generator.mostly(nil, else: ["null", #""no""#])),
            ("reasoning_content", generator.mostly(nil, else: ["null", #""thinking""#])),
            ("reasoning", generator.mostly(nil, else: ["null", #""hmm""#])),
            ("tool_calls", generator.mostly(nil, else: ["null", #"[{"index":0,"id":"call_1","function":{"name":"f","arguments":""}}]"#])),
            ("index", generator.mostly(nil, else: ["0"])),
        ])
        func choice() -> String {
            generator.object([
                ("index", generator.mostly("0", else: ["1", "2", "-1", "1.0", "1e0", #""0""#, "12345678901", nil])),
                ("delta", generator.mostly(delta, else: ["null", #""text""#, nil])),
                ("logprobs", generator.mostly("null", else: [nil, #"{"content":[]}"#])),
                ("finish_reason", generator.mostly("null", else: [nil, #""stop""#, #""length""#, "3"])),
                ("content_filter_results", generator.pick([nil, nil, #"{"hate":{"filtered":false,"severity":"safe"}}"#])),
            ])
        }
        let choices = generator.mostly("[" + choice() + "]", else: ["[]", "[" + choice() + "," + choice() + "]", "null", nil])
        return generator.object([
            ("id", generator.mostly(#""chatcmpl-1""#, else: [#""""#, nil, "7", #""c\u00e9""#])),
            ("object", generator.mostly(#""chat.completion.chunk""#, else: [#""error""#, "null", nil])),
            ("created", generator.mostly("1741569952", else: ["1.5", nil])),
            ("model", generator.mostly(#""gpt-4o""#, else: [#""gpt-ö""#, nil])),
            ("system_fingerprint", generator.pick([nil, #""fp_1""#, "null"])),
            ("choices", choices),
            ("usage", generator.mostly("null", else: [
                nil, #"{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}"#, #"{"total_tokens":8,"prompt_tokens":3}"#,
                #"{"prompt_tokens":3,"prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":{"reasoning_tokens":1}}"#, "{}", "3",
                #"{"prompt_tokens":"x"}"#,
            ])),
            ("error", generator.mostly(nil, else: ["null", #"{"message":"boom","type":"server_error"}"#])),
            ("type", generator.mostly(nil, else: [#""response.output_text.delta""#, #""chunk""#])),
            ("x_groq", generator.mostly(nil, else: [#"{"usage":{"prompt_tokens":1,"completion_tokens":2}}"#])),
            ("content", generator.mostly(nil, else: [#""top-level""#])),
        ])
    }
}
