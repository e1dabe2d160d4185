import SwitchyardCore

/// The simulated providers and config of `switchyard demo`, kept here so tests run exactly what users run.
public enum DemoEnvironment {
    /// The demo's virtual key.
    public static let key = "sk-switchyard-demo"
    /// The demo's admin key, for `GET /admin/providers`.
    public static let adminKey = "sk-switchyard-demo-admin"

    /// Three vendors: `flaky` (OpenAI format, every other request fails with 503), `claude` (Anthropic
    /// format) and `openai` (OpenAI format), each with realistic latency and token-by-token streaming.
    /// The demo runs for as long as a user likes: its vendors keep only a small window of requests.
    public static let demoRetainedRequests = 100

    public static func makeVendors(latency: Bool = true) -> [SimulatedVendor] {
        func reply(_ text: String, firstByte: Int, interval: Int) -> SimulatedReply {
            SimulatedReply(
                text: text, firstByteDelay: latency ? .milliseconds(firstByte) : .zero, chunkInterval: latency ? .milliseconds(interval) : .zero)
        }
        let flaky = SimulatedVendor(
            name: "flaky", format: .openai, defaultReply: reply("Hello from the flaky simulator, which fails every other request.", firstByte: 120, interval: 30),
            retainedRequests: demoRetainedRequests)
        flaky.failEvery(
            2, with: .error(status: 503, body: ["error": ["message": "The server is overloaded.", "type": "server_error", "param": .null, "code": .null]]))
        let claude = SimulatedVendor(
            name: "claude", format: .anthropic,
            defaultReply: reply("Hello from the simulated Anthropic provider, answering in the Messages wire format.", firstByte: 250, interval: 35),
            retainedRequests: demoRetainedRequests)
        let openai = SimulatedVendor(
            name: "openai", format: .openai, defaultReply: reply("Hello from the simulated OpenAI provider, streamed token by token.", firstByte: 180, interval: 25),
            retainedRequests: demoRetainedRequests)
        return [flaky, claude, openai]
    }

    /// The demo config; `port(of:)` gives the port text of each vendor (a number, or a test placeholder).
    public static func config(port: Int, port vendorPort: (String) -> String) -> String {
        """
        listen: 127.0.0.1:\(port)
        admin_key: \(adminKey)
        providers:
          flaky:
            type: openai
            base_url: http://127.0.0.1:\(vendorPort("flaky"))/v1
            keys: [sim-flaky-key]
          claude:
            type: anthropic
            base_url: http://127.0.0.1:\(vendorPort("claude"))
            keys: [sim-claude-key]
          openai:
            type: openai
            base_url: http://127.0.0.1:\(vendorPort("openai"))/v1
            keys: [sim-openai-key]
        models:
          smart:
            strategy: priority
            targets: [flaky/gpt-4o, claude/claude-sonnet-4-5, openai/gpt-4o]
          claude: claude/claude-sonnet-4-5
          fast: openai/gpt-4o-mini
          embed: openai/text-embedding-3-small
        routing:
          attempts: 4
          deadline: 60s
        keys:
          - name: demo
            key: \(key)
        """
    }
}
