import NIOCore
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Testing

@Suite struct VertexProviderTests {
    static func provider(location: String, baseURL: String? = nil, publishers: [String: VertexPublisher] = [:]) -> VertexProvider {
        var options = VertexOptions()
        options.project = "my-project"
        options.location = location
        options.publishers = publishers
        return VertexProvider(config: ProviderConfig(name: "gcp", type: "vertex", keys: [], baseURL: baseURL, options: options))
    }

    static let hello = ChatRequest(model: "m", messages: [.text(.user, "hi")])

    @Test(arguments: [
        ("us-central1", "https://us-central1-aiplatform.googleapis.com/v1/projects/my-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent"),
        ("global", "https://aiplatform.googleapis.com/v1/projects/my-project/locations/global/publishers/google/models/gemini-2.5-flash:generateContent"),
        ("eu", "https://aiplatform.eu.rep.googleapis.com/v1/projects/my-project/locations/eu/publishers/google/models/gemini-2.5-flash:generateContent"),
    ])
    func geminiURLsFollowTheLocation(location: String, url: String) throws {
        #expect(try Self.provider(location: location).makeChatRequest(Self.hello, model: "gemini-2.5-flash").url == url)
    }

    @Test func claudeGoesThroughRawPredictWithTheMessagesBody() throws {
        let provider = Self.provider(location: "us-east5", baseURL: "http://127.0.0.1:9")
        var request = Self.hello
        request.stream = true
        let upstream = try provider.makeChatRequest(request, model: "claude-sonnet-4-5@20250929")
        #expect(upstream.url == "http://127.0.0.1:9/v1/projects/my-project/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict")
        let body = try JSONParser.parse(Array(try #require(upstream.body).readableBytesView))
        #expect(body["model"] == nil)
        #expect(body["anthropic_version"] == "vertex-2023-10-16")
        #expect(body["stream"] == true && body["max_tokens"] == 4096)
        #expect(provider.nativeDialect(model: "claude-sonnet-4-5@20250929") == .anthropic)
        #expect(provider.nativeDialect(model: "gemini-2.5-flash") == nil)
    }

    @Test func aPublisherCanBeNamedPerModel() throws {
        let provider = Self.provider(location: "us-east5", publishers: ["my-claude-alias": .anthropic, "claude-lookalike": .google])
        #expect(try provider.makeChatRequest(Self.hello, model: "my-claude-alias").url.contains("/publishers/anthropic/models/my-claude-alias:rawPredict"))
        #expect(try provider.makeChatRequest(Self.hello, model: "claude-lookalike").url.contains("/publishers/google/models/claude-lookalike:generateContent"))
    }

    /// Vertex's own failures come in Google's shape, Claude's in Anthropic's: both are read.
    @Test func errorsInEitherShapeClassify() throws {
        let provider = Self.provider(location: "us-east5")
        let quota = provider.classifyFailure(head: head(429), body: buffer(try Fixtures.json("vertex/error_resource_exhausted_429.json")), model: "claude-sonnet-4-5@20250929")
        #expect(quota.kind == .rateLimited)
        let overloaded = provider.classifyFailure(
            head: head(529), body: buffer(try Fixtures.json("anthropic/error_overloaded_529.json")), model: "claude-sonnet-4-5@20250929")
        #expect(overloaded.kind == .overloaded)
        let context = provider.classifyFailure(head: head(400), body: buffer(try Fixtures.json("gemini/error_context_length_400.json")), model: "gemini-2.5-flash")
        #expect(context.kind == .contextLengthExceeded)
    }

    @Test func claudeResponsesAndStreamsDecodeWithTheAnthropicDecoders() throws {
        let provider = Self.provider(location: "us-east5")
        let response = try provider.decodeChatResponse(
            buffer(try Fixtures.json("anthropic/messages_response_tool_use.json")), head: head(200), model: "claude-sonnet-4-5@20250929")
        #expect(response.choices.first?.finishReason == .toolCalls)
        let events = try decodeStream(try Fixtures.text("anthropic/stream_text_tool_use.sse"), with: provider.makeStreamDecoder(model: "claude-sonnet-4-5@20250929"))
        #expect(Reassembled(events).text == "Let me check the weather.")
        let gemini = try decodeStream(try Fixtures.text("gemini/stream_generate_content.sse"), with: provider.makeStreamDecoder(model: "gemini-2.5-flash"))
        #expect(Reassembled(gemini).calls[0]?.name == "get_weather")
    }
}
