import Benchmark
import Foundation
import NIOCore
import SwitchyardCore
@_spi(Benchmarks) import SwitchyardProviders
@_spi(Benchmarks) import SwitchyardServer

// Each benchmark measures one pure step of a request's way through the gateway, on inputs shaped like
// real traffic; wall clock, CPU and mallocs per iteration are reported (the interposer counts them).

let openAIRequest = ByteBuffer(
    string: #"""
        {"model":"smart","messages":[{"role":"system","content":"You are a helpful assistant that answers briefly."},{"role":"user","content":"What is the weather in Paris today, and should I take an umbrella?"}],"temperature":0.2,"max_tokens":256,"tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather for a city","parameters":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["c","f"]}},"required":["city"]}}}],"tool_choice":"auto"}
        """#)
let anthropicRequest = ByteBuffer(
    string: #"""
        {"model":"smart","max_tokens":256,"system":"You are a helpful assistant that answers briefly.","messages":[{"role":"user","content":"What is the weather in Paris today, and should I take an umbrella?"}],"temperature":0.2,"tools":[{"name":"get_weather","description":"Current weather for a city","input_schema":{"type":"object","properties":{"city":{"type":"string"},"unit":{"type":"string","enum":["c","f"]}},"required":["city"]}}]}
        """#)
let upstreamAnswer = ByteBuffer(
    string: #"""
        {"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"Light rain in Paris, 14 C. Take an umbrella."},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":52,"completion_tokens":12,"total_tokens":64}}
        """#)

func sseStream(chunks: Int) -> ByteBuffer {
    var text = #"data: {"id":"c","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"# + "\n\n"
    for index in 0..<chunks {
        text += #"data: {"id":"c","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Tok\#(index) "},"finish_reason":null}]}"# + "\n\n"
    }
    text += #"data: {"id":"c","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"# + "\n\n"
    text += #"data: {"id":"c","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":50,"total_tokens":62}}"# + "\n\ndata: [DONE]\n\n"
    return ByteBuffer(string: text)
}

let okHead = UpstreamHead(status: 200, headers: ["content-type": "application/json"])
let openAIProvider = OpenAIProvider(config: ProviderConfig(name: "openai", type: "openai", keys: ["sk-upstream"]))
let anthropicProvider = AnthropicProvider(config: ProviderConfig(name: "claude", type: "anthropic", keys: ["sk-ant"]))

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput], maxDuration: .seconds(2))

    let chat = try! HotPathProbes.decodeRequest(openAIRequest, dialect: .openai)
    let answer = try! openAIProvider.decodeChatResponse(upstreamAnswer, head: okHead)
    let stream = sseStream(chunks: 50)
    let events = try! UpstreamHotPathProbes.decodeOpenAIStream(stream)

    var clientRequest = ByteBuffer(
        string: "POST /v1/chat/completions HTTP/1.1\r\nHost: gateway.internal:4000\r\nAuthorization: Bearer sk-switchyard-0123456789abcdef\r\n"
            + "Content-Type: application/json\r\nUser-Agent: OpenAI/Python 1.99.0\r\nAccept: application/json\r\nContent-Length: \(openAIRequest.readableBytes)\r\n\r\n")
    clientRequest.writeImmutableBuffer(openAIRequest)
    Benchmark("HTTP/1 request read: head and body (6 fields)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try HotPathProbes.readRequest(clientRequest)) }
    }
    var vendorAnswer = ByteBuffer(
        string: "HTTP/1.1 200 OK\r\nDate: Wed, 02 Dec 2026 05:00:00 GMT\r\nContent-Type: application/json\r\nContent-Length: \(upstreamAnswer.readableBytes)\r\n"
            + "Connection: keep-alive\r\nx-request-id: req_0123456789abcdef\r\nopenai-processing-ms: 412\r\n\r\n")
    vendorAnswer.writeImmutableBuffer(upstreamAnswer)
    Benchmark("HTTP/1 upstream answer read: head and body (6 fields)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try UpstreamHotPathProbes.readAnswer(vendorAnswer)) }
    }
    Benchmark("Request decode: OpenAI Chat Completions") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try HotPathProbes.decodeRequest(openAIRequest, dialect: .openai)) }
    }
    Benchmark("Request decode: Anthropic Messages") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try HotPathProbes.decodeRequest(anthropicRequest, dialect: .anthropic)) }
    }
    Benchmark("Upstream request encode: openai") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try openAIProvider.makeChatRequest(chat, model: "gpt-4o")) }
    }
    Benchmark("Upstream request encode: anthropic (translation)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try anthropicProvider.makeChatRequest(chat, model: "claude-sonnet-4-5")) }
    }
    Benchmark("Upstream answer decode: openai") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try openAIProvider.decodeChatResponse(upstreamAnswer, head: okHead)) }
    }
    Benchmark("Answer encode: OpenAI dialect") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(HotPathProbes.encodeResponse(answer, for: chat, dialect: .openai)) }
    }
    Benchmark("Answer encode: Anthropic dialect") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(HotPathProbes.encodeResponse(answer, for: chat, dialect: .anthropic)) }
    }
    Benchmark("Stream decode: 50-chunk OpenAI SSE") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try UpstreamHotPathProbes.decodeOpenAIStream(stream)) }
    }
    Benchmark("Stream encode: 50 chunks to OpenAI dialect") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(HotPathProbes.encodeStream(events, for: chat, dialect: .openai)) }
    }
    Benchmark("Stream encode: 50 chunks to Anthropic dialect (translation)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(HotPathProbes.encodeStream(events, for: chat, dialect: .anthropic)) }
    }
    let signer = SigV4Signer(
        credentials: .init(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"), region: "us-east-1")
    let bedrockRequest = UpstreamRequest.json(
        url: "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse",
        body: try! JSONParser.parse(anthropicRequest.readableBytesView))
    let date = Date(timeIntervalSince1970: 1_764_500_000)
    Benchmark("SigV4 signing (Bedrock Converse)") { benchmark in
        for _ in benchmark.scaledIterations {
            var request = bedrockRequest
            signer.sign(&request, date: date)
            blackHole(request)
        }
    }
    let config = try! ConfigLoader.parse(
        """
        listen: 127.0.0.1:0
        providers:
          openai: {type: openai, keys: [sk-upstream]}
          claude: {type: anthropic, keys: [sk-ant]}
        models:
          smart: {targets: [openai/gpt-4o, claude/claude-sonnet-4-5]}
        keys:
          - {name: app, key: sk-switchyard-0123456789abcdef}
        """, providerTypes: ProviderRegistry.catalog)
    let table = RouteTable(
        config: config,
        providers: [
            ProviderRuntime(config: config.providers[0], adapter: openAIProvider, credentials: [], transport: RefusingTransport()),
            ProviderRuntime(config: config.providers[1], adapter: anthropicProvider, credentials: [], transport: RefusingTransport()),
        ])
    Benchmark("Snapshot lookup: virtual key and route") { benchmark in
        for _ in benchmark.scaledIterations {
            let key = table.virtualKey(secret: "sk-switchyard-0123456789abcdef")
            blackHole(try table.resolve(model: "smart", key: key))
        }
    }
}

/// The lookup never sends; a transport is required to build a provider.
struct RefusingTransport: UpstreamTransport {
    func execute(_ request: UpstreamRequest, headDeadline: ContinuousClock.Instant) async throws(UpstreamFailure) -> UpstreamResponse {
        throw UpstreamFailure(kind: .unavailable, message: "benchmarks send nothing")
    }
}
