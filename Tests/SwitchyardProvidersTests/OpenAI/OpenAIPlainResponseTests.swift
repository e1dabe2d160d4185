import NIOCore
import SwitchyardCore
@testable import SwitchyardProviders
import SwitchyardSimulator
import Testing

/// The plain-answer reader must never change what an answer means: whatever it reads, the full decode reads
/// the same way, and it must actually read the common answers.
@Suite struct OpenAIPlainResponseTests {
    /// The answer as the provider decodes it, with or without the plain-answer reader.
    static func decode(_ body: String, plainReader: Bool = false) -> Result<ChatResponse, UpstreamFailure> {
        var provider = OpenAIProvider(config: ProviderConfig(name: "openai", type: "openai"))
        provider.usesPlainResponseReader = plainReader
        return Result { () throws(UpstreamFailure) in try provider.decodeChatResponse(ByteBuffer(string: body), head: UpstreamHead(status: 200, headers: [:])) }
    }

    /// A comparable rendering: every field, with a `created` the decoders made up from the clock (absent or
    /// unreadable in the body; the two decodes may see different seconds) zeroed.
    static func describe(_ result: Result<ChatResponse, UpstreamFailure>) -> String {
        switch result {
        case .success(var response):
            if abs(response.created - currentUnixTime()) < 600 { response.created = 0 }
            return String(describing: response)
        case .failure(let failure):
            return "failure \(failure.kind) \(failure.message)"
        }
    }

    static let typical = #"""
        {
          "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
          "object": "chat.completion",
          "created": 1741569952,
          "model": "gpt-4o-2024-08-06",
          "choices": [
            {
              "index": 0,
              "message": { "role": "assistant", "content": "Hello! How can I assist you today?", "refusal": null, "annotations": [] },
              "logprobs": null,
              "finish_reason": "stop"
            }
          ],
          "usage": {
            "prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
            "prompt_tokens_details": { "cached_tokens": 3, "audio_tokens": 0 },
            "completion_tokens_details": { "reasoning_tokens": 2, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0 }
          },
          "service_tier": "default",
          "system_fingerprint": "fp_fc9f1d7035"
        }
        """#

    @Test func aTypicalAnswerIsReadWithoutTheFullDecode() throws {
        let response = try #require(OpenAIPlainResponse.decode(ByteBuffer(string: Self.typical)))
        #expect(response.id == "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT" && response.model == "gpt-4o-2024-08-06" && response.created == 1_741_569_952)
        #expect(response.choices.count == 1 && response.choices[0].finishReason == .stop && response.choices[0].refusal == nil)
        #expect(response.choices[0].message.parts == [.text("Hello! How can I assist you today?")])
        #expect(response.usage == Usage(promptTokens: 19, completionTokens: 10, cachedPromptTokens: 3, reasoningTokens: 2))
        #expect(response.systemFingerprint == "fp_fc9f1d7035")
        #expect(Self.describe(.success(response)) == Self.describe(Self.decode(Self.typical)))
    }

    /// Tool calls, a Responses object, logprobs: the full decode's, and the provider still decodes them.
    @Test func answersOutsideThePlainShapeAreLeftToTheFullDecode() throws {
        let toolCalls = try Fixtures.text("openai/chat_response_tool_calls.json")
        let responses = #"{"id":"resp_1","object":"response","status":"completed","model":"gpt-4o","output":[],"usage":null}"#
        let logprobs = #"{"choices":[{"index":0,"message":{"content":"Hi"},"logprobs":{"content":[]},"finish_reason":"stop"}]}"#
        for body in [toolCalls, responses, logprobs] {
            #expect(OpenAIPlainResponse.decode(ByteBuffer(string: body)) == nil, "\(body)")
        }
        #expect(Self.describe(Self.decode(toolCalls, plainReader: true)) == Self.describe(Self.decode(toolCalls)))
    }

    /// A repeated key counts with its last value, as in the parser the full decode uses.
    @Test(arguments: [
        #"{"choices":[{"message":{"content":"a","content":"b"}}]}"#,
        #"{"choices":[{"message":{"content":"a"}}],"choices":[]}"#,
        #"{"choices":[],"usage":{"prompt_tokens":1,"prompt_tokens":2},"usage":{"completion_tokens":3}}"#,
        #"{"choices":[],"usage":{"prompt_tokens_details":{"cached_tokens":4},"prompt_tokens_details":{"cache_write_tokens":1},"prompt_cache_hit_tokens":2}}"#,
        #"{"choices":[{"index":0,"index":2,"message":{"content":"a"},"message":null}]}"#,
    ])
    func repeatedKeysCountWithTheirLastValue(_ body: String) {
        let plain = OpenAIPlainResponse.decode(ByteBuffer(string: body))
        #expect(plain != nil)
        #expect(Self.describe(plain.map { .success($0) } ?? .failure(UpstreamFailure(kind: .unavailable, message: "")))
            == Self.describe(Self.decode(body)))
    }

    /// Thousands of generated answers — every key the full decode reads, in and out of place, null or not,
    /// repeated, with escapes, non-ASCII text, odd numbers and whitespace — a third of them damaged by one byte.
    @Test func generatedAnswersMeanTheSameWithAndWithoutIt() {
        var generator = ChunkGenerator(seed: 23)
        var recognised = 0
        for round in 0..<5_000 {
            let body = generator.damaged(Self.answer(using: &generator), every: 3, round: round)
            let full = Self.describe(Self.decode(body))
            if let plain = OpenAIPlainResponse.decode(ByteBuffer(string: body)) {
                recognised += 1
                #expect(Self.describe(.success(plain)) == full, "\(body)")
            }
            #expect(Self.describe(Self.decode(body, plainReader: true)) == full, "\(body)")
        }
        #expect(recognised > 800, "recognised \(recognised)")
    }

    static func answer(using generator: inout ChunkGenerator) -> String {
        generator.newChunk()
        let text = generator.pick([#""Hello""#, #"" world""#, "\"café 😀\"", #""""#, "null", #""line\nbreak""#, #""caf\u00e9""#, #""say \"hi\"""#, "7"])
        let message = generator.object([
            ("content", generator.mostly(text, else: [nil])),
            ("role", generator.pick([nil, #""assistant""#, #""assistant""#])),
            ("refusal", generator.mostly("null", else: [nil, #""no""#, "1"])),
            ("reasoning_content", generator.mostly(nil, else: ["null", #""thinking""#, #""""#])),
            ("reasoning", generator.mostly(nil, else: ["null", #""hmm""#])),
            ("tool_calls", generator.mostly(nil, else: ["null", "[]", #"[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]"#])),
            ("annotations", generator.mostly(nil, else: ["[]", #"[{"type":"url_citation"}]"#])),
        ])
        func choice() -> String {
            generator.object([
                ("index", generator.mostly("0", else: ["1", "2", "-1", "1.0", "1e0", #""0""#, "12345678901", "null", nil])),
                ("message", generator.mostly(message, else: ["null", #""text""#, nil])),
                ("logprobs", generator.mostly("null", else: [nil, #"{"content":[]}"#])),
                ("finish_reason", generator.mostly(#""stop""#, else: [nil, "null", #""length""#, #""tool_calls""#, #""content_filter""#, "3"])),
                ("content_filter_results", generator.pick([nil, nil, #"{"hate":{"filtered":false,"severity":"safe"}}"#])),
            ])
        }
        let details = generator.object([
            ("cached_tokens", generator.mostly("3", else: ["null", "1.5", nil])),
            ("cache_write_tokens", generator.mostly(nil, else: ["2", "null"])),
            ("audio_tokens", generator.pick([nil, "0"])),
        ])
        let completionDetails = generator.object([
            ("reasoning_tokens", generator.mostly("4", else: ["null", "4.0", nil])),
            ("accepted_prediction_tokens", generator.pick([nil, "0"])),
        ])
        let usage = generator.object([
            ("prompt_tokens", generator.mostly("19", else: ["null", "-1", "1e2", "123456789012345", "1234567890123456789", nil])),
            ("completion_tokens", generator.mostly("10", else: ["null", "10.5", nil])),
            ("total_tokens", generator.mostly("29", else: ["null", "5", nil])),
            ("prompt_tokens_details", generator.mostly(details, else: ["null", "[]", nil])),
            ("completion_tokens_details", generator.mostly(completionDetails, else: ["null", #""x""#, nil])),
            ("prompt_cache_hit_tokens", generator.mostly(nil, else: ["6", "null"])),
        ])
        let choices = generator.mostly("[" + choice() + "]", else: ["[]", "[" + choice() + "," + choice() + "]", "null", #"["x"]"#, nil])
        return generator.object([
            ("id", generator.mostly(#""chatcmpl-1""#, else: [#""""#, "null", "5", nil])),
            ("object", generator.mostly(#""chat.completion""#, else: [#""response""#, "null", "1", nil])),
            ("created", generator.mostly("1741569952", else: ["1.5", "null", "-3", nil])),
            ("model", generator.mostly(#""gpt-4o""#, else: [#""gpt-ö""#, "null", nil])),
            ("system_fingerprint", generator.pick([nil, #""fp_1""#, "null"])),
            ("service_tier", generator.pick([nil, #""default""#])),
            ("choices", choices),
            ("usage", generator.mostly(usage, else: ["null", "3", nil])),
            ("message", generator.mostly(nil, else: [#"{"content":"top-level"}"#])),
        ])
    }
}
