import NIOCore
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator
import Testing

@Suite struct AzureProviderTests {
    static func provider(apiVersion: String = "2024-10-21") -> AzureProvider {
        var options = AzureOptions()
        options.apiVersion = apiVersion
        return AzureProvider(config: ProviderConfig(name: "az", type: "azure", keys: ["k"], baseURL: "https://res.openai.azure.com/", options: options))
    }

    static let hello = ChatRequest(model: "m", messages: [.text(.user, "hi")])

    @Test func datedAndV1URLs() throws {
        #expect(try Self.provider().makeChatRequest(Self.hello, model: "gpt-4o-prod").url
            == "https://res.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21")
        let v1 = try Self.provider(apiVersion: "v1").makeChatRequest(Self.hello, model: "gpt-4o-prod")
        #expect(v1.url == "https://res.openai.azure.com/openai/v1/chat/completions")
        #expect(try JSONParser.parse(Array(try #require(v1.body).readableBytesView))["model"] == "gpt-4o-prod")
        let embeddings = try Self.provider().makeEmbeddingsRequest(EmbeddingsRequest(model: "e", input: .text("x")), model: "emb")
        #expect(embeddings.url == "https://res.openai.azure.com/openai/deployments/emb/embeddings?api-version=2024-10-21")
    }

    /// The filter preamble (no id, no choices) is not the stream's start; filter results are tolerated.
    @Test func streamFixtureWithFilterAnnotations() throws {
        let events = try decodeStream(try Fixtures.text("azure/chat_stream_with_content_filter.sse"), with: Self.provider().makeStreamDecoder())
        #expect(events.first == .start(id: "chatcmpl-AzureExample01", model: "gpt-4o-2024-08-06"))
        let result = Reassembled(events)
        #expect(result.text == "Hi")
        #expect(result.finish == .stop)
    }

    @Test func errorFixturesClassify() throws {
        let filtered = Self.provider().classifyFailure(head: head(400), body: buffer(try Fixtures.json("azure/error_content_filter_400.json")))
        #expect(filtered.kind == .contentFiltered)
        let limited = Self.provider().classifyFailure(head: head(429), body: buffer(try Fixtures.json("azure/error_rate_limit_429.json")))
        #expect(limited.kind == .rateLimited)
        #expect(limited.retryAfter == .seconds(6))  // from "Please retry after 6 seconds", no header given
        let headerWins = Self.provider().classifyFailure(head: head(429, ["retry-after-ms": "1500"]), body: buffer(try Fixtures.json("azure/error_rate_limit_429.json")))
        #expect(headerWins.retryAfter == .milliseconds(1500))
        let missing = Self.provider().classifyFailure(head: head(404), body: buffer(["error": ["code": "DeploymentNotFound", "message": "no such deployment"]]))
        #expect(missing.kind == .modelNotFound)
    }
}
