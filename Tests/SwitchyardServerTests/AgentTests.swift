import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardServer
import SwitchyardSimulator
import Testing

/// What coding agents rely on: vendor model names as aliases, both Anthropic versions, the end user in the
/// log, prompt-caching marks, and long tool-calling sessions that survive flaky vendors.
@Suite("Coding agents as clients")
struct AgentTests {
    static let config = """
        listen: 127.0.0.1:0
        admin_key: admin-key-0123456789
        providers:
          claude:
            type: anthropic
            base_url: http://127.0.0.1:{{claude}}
            keys: [sk-ant-upstream]
          oai:
            type: openai
            base_url: http://127.0.0.1:{{oai}}/v1
            keys: [sk-upstream-oai]
        models:
          agent:
            targets: [claude/claude-sonnet-4-5, oai/gpt-4o]
            aliases: [claude-sonnet-4-5, claude-sonnet-4-5-20250929, opus]
          gpt: {targets: [oai/gpt-4o], aliases: [gpt-5]}
        routing:
          attempts: 4
          backoff: {base: 1ms, max: 2ms}
        keys:
          - name: app
            key: test-key
          - name: narrow
            key: narrow-key
            models: [gpt]
        """

    @Test func vendorModelNamesAreAliases() async throws {
        let vendors = [SimulatedVendor(name: "claude", format: .anthropic), SimulatedVendor(name: "oai", format: .openai)]
        try await LiveGateway.run(vendors: vendors, config: Self.config) { gateway in
            let viaAlias = try await gateway.post(
                "/v1/messages", json: ["model": "claude-sonnet-4-5-20250929", "max_tokens": 100, "messages": [["role": "user", "content": "Hi"]]],
                headers: ["anthropic-version": "2026-10-21"])
            #expect(viaAlias.status == 200 && viaAlias.headers.first(name: "x-switchyard-target") == "claude/claude-sonnet-4-5")
            #expect(vendors[0].requests.last?.body?["model"] == "claude-sonnet-4-5")

            let narrow = try await gateway.post("/v1/chat/completions", json: ["model": "gpt-5", "messages": [["role": "user", "content": "Hi"]]], key: "narrow-key")
            #expect(narrow.status == 200)
            let refused = try await gateway.post("/v1/chat/completions", json: ["model": "opus", "messages": [["role": "user", "content": "Hi"]]], key: "narrow-key")
            #expect(refused.status == 403)

            let unknown = try await gateway.post("/v1/messages", json: ["model": "claude-opus-9", "max_tokens": 10, "messages": [["role": "user", "content": "Hi"]]])
            #expect(unknown.status == 404 && unknown.json?["error"]?["type"] == "not_found_error")
            let message = unknown.json?["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains("agent") && message.contains("claude-sonnet-4-5") && message.contains("gpt-5"))

            let models = try await gateway.send(.GET, "/v1/models", headers: ["authorization": "Bearer narrow-key"])
            #expect(models.json?["data"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ["gpt", "gpt-5"])
        }
    }

    @Test func aliasesAreValidated() throws {
        let yaml = """
            providers: {oai: {type: openai, keys: [k]}}
            models:
              a: {targets: [oai/gpt-4o], aliases: [b, shared]}
              b: {targets: [oai/gpt-4o], aliases: [shared, oai/gpt-4o]}
            """
        let error = try #require(throws: ConfigError.self) { try ConfigLoader.parse(yaml) }
        let text = "\(error)"
        #expect(text.contains("models.a.aliases[0]") && text.contains("already a route name"))
        #expect(text.contains("models.b.aliases[0]") && text.contains("already an alias of route 'a'"))
        #expect(text.contains("models.b.aliases[1]") && text.contains("shadows the direct target"))
    }

    /// `metadata.user_id` reaches the log; `cache_control` marks go to Anthropic as sent and are dropped,
    /// harmlessly, for OpenAI.
    @Test func endUserLoggedAndCacheControlHonoured() async throws {
        let vendors = [SimulatedVendor(name: "claude", format: .anthropic), SimulatedVendor(name: "oai", format: .openai)]
        try await LiveGateway.run(vendors: vendors, config: Self.config) { gateway in
            let cached: JSONValue = ["type": "ephemeral"]
            func request(_ model: String) -> JSONValue {
                [
                    "model": .string(model), "max_tokens": 100, "metadata": ["user_id": "dev-42"],
                    "system": [["type": "text", "text": "You are a coding agent.", "cache_control": cached]],
                    "tools": [["name": "run", "input_schema": ["type": "object"], "cache_control": cached]],
                    "messages": [["role": "user", "content": [["type": "text", "text": "List files", "cache_control": cached]]]],
                ]
            }
            #expect(try await gateway.post("/v1/messages", json: request("agent")).status == 200)
            let toAnthropic = try #require(vendors[0].requests.last?.body)
            #expect(toAnthropic["system"]?[0]?["cache_control"] == cached && toAnthropic["tools"]?[0]?["cache_control"] == cached)
            #expect(toAnthropic["messages"]?[0]?["content"]?[0]?["cache_control"] == cached)

            #expect(try await gateway.post("/v1/messages", json: request("gpt")).status == 200)
            let toOpenAI = try #require(vendors[1].requests.last)
            #expect(!toOpenAI.rawBody.contains("cache_control"))
            #expect(toOpenAI.body?["user"] == "dev-42")

            await gateway.gateway.requestLog?.waitUntilRecorded(2)
            let log = try await gateway.send(.GET, "/admin/requests?limit=5", headers: ["authorization": "Bearer admin-key-0123456789"])
            #expect(log.json?["requests"]?.arrayValue?.map { $0["end_user"] } == ["dev-42", "dev-42"])
        }
    }

    /// Re-encoded requests keep the marks too: to Claude when the history holds another vendor's signed call
    /// (no verbatim pass-through then), and to Claude on Bedrock as Converse cache points.
    @Test func cacheMarksSurviveTranslationToClaudeVendors() async throws {
        let claude = SimulatedVendor(name: "claude", format: .anthropic)
        let aws = BedrockTests.awsVendor(SimulatedReply(text: "ok"))
        let config = """
            listen: 127.0.0.1:0
            providers:
              claude: {type: anthropic, base_url: "http://127.0.0.1:{{claude}}", keys: [sk-ant]}
              aws:
                type: bedrock
                base_url: http://127.0.0.1:{{aws}}
                region: us-east-1
                aws: {access_key_id: AKIDSIMULATOR, secret_access_key: "sim/secret+KEY"}
            models:
              claude: claude/claude-sonnet-4-5
              bedrock: aws/us.anthropic.claude-sonnet-4-5-20250929-v1:0
            """
        try await LiveGateway.run(vendors: [claude, aws], config: config) { gateway in
            let cached: JSONValue = ["type": "ephemeral"]
            func request(_ model: String) -> JSONValue {
                [
                    "model": .string(model), "max_tokens": 100,
                    "system": [["type": "text", "text": "Agent rules.", "cache_control": cached], ["type": "text", "text": "Today's notes."]],
                    "tools": [["name": "run", "input_schema": ["type": "object"], "cache_control": cached]],
                    "messages": [
                        ["role": "user", "content": "List files"],
                        ["role": "assistant", "content": [["type": "tool_use", "id": "call_1__thought__gemini~c2ln", "name": "run", "input": ["cmd": "ls"]]]],
                        ["role": "user", "content": [["type": "tool_result", "tool_use_id": "call_1__thought__gemini~c2ln", "content": "a.txt", "cache_control": cached]]],
                    ],
                ]
            }
            #expect(try await gateway.post("/v1/messages", json: request("claude"), key: nil).status == 200)
            let toClaude = try #require(claude.requests.last?.body)
            #expect(toClaude["system"] == [["type": "text", "text": "Agent rules.", "cache_control": cached], ["type": "text", "text": "Today's notes."]])
            #expect(toClaude["tools"]?[0]?["cache_control"] == cached)
            #expect(toClaude["messages"]?[2]?["content"]?[0]?["cache_control"] == cached)
            #expect(toClaude["messages"]?[1]?["content"]?[0]?["id"] == "call_1")  // re-encoded, not passed through

            #expect(try await gateway.post("/v1/messages", json: request("bedrock"), key: nil).status == 200)
            let toBedrock = try #require(aws.requests.last?.body)
            #expect(toBedrock["system"] == [["text": "Agent rules."], ["cachePoint": ["type": "default"]], ["text": "Today's notes."]])
            #expect(toBedrock["toolConfig"]?["tools"]?[1] == ["cachePoint": ["type": "default"]])
            #expect(toBedrock["messages"]?[2]?["content"]?[1] == ["cachePoint": ["type": "default"]])
        }
    }

    /// 50 agents, each a streamed tool-calling session of 20 turns over a growing conversation, against two
    /// vendors that each fail 5 % of requests: every turn answers (failover happens before the first byte),
    /// and the log's usage is exactly what the vendors reported.
    @Test func fiftyLongSessionsSurviveFlakyVendors() async throws {
        let reply = SimulatedReply(text: "Running it.", toolCalls: [("run", #"{"cmd":"ls"}"#)])
        let claude = SimulatedVendor(name: "claude", format: .anthropic, defaultReply: reply)
        let oai = SimulatedVendor(name: "oai", format: .openai, defaultReply: reply)
        claude.failRandomly(rate: 0.05, seed: 7, with: .error(status: 529, body: ["type": "error", "error": ["type": "overloaded_error", "message": "Overloaded"]]))
        oai.failRandomly(rate: 0.05, seed: 11, with: .error(status: 503, body: ["error": ["message": "down", "type": "server_error", "param": .null, "code": .null]]))
        let sessions = 50
        let turns = 20
        // Four attempts (two per vendor) all failing happened about once in 18 runs: the vendors' seeded failures
        // come in clusters and a retry arrives a millisecond after the failure it retries, so the attempts of
        // one request are not independent draws. The gateway answered that correctly ("every target is
        // overloaded"); this test is about failover, so it allows eight attempts.
        let config = Self.config.replacingOccurrences(of: "attempts: 4", with: "attempts: 8")
        try await LiveGateway.run(vendors: [claude, oai], config: config, timeout: .seconds(300)) { gateway in
            let seen = try await withThrowingTaskGroup(of: (prompt: Int, completion: Int).self) { group in
                for session in 0..<sessions {
                    group.addTask { try await Self.runSession(session, turns: turns, gateway: gateway) }
                }
                return try await group.reduce(into: (prompt: 0, completion: 0)) { total, usage in
                    total.prompt += usage.prompt
                    total.completion += usage.completion
                }
            }
            await gateway.gateway.requestLog?.waitUntilRecorded(sessions * turns)
            await gateway.gateway.requestLog?.flush()
            let store = try #require(gateway.gateway.requestLog?.store)
            let totals = try await store.usage(UsageQuery(since: Date().addingTimeInterval(-3600), until: Date().addingTimeInterval(3600), groupBy: .key))
            let row = try #require(totals.first)
            let reported = (prompt: claude.reportedUsage.prompt + oai.reportedUsage.prompt, completion: claude.reportedUsage.completion + oai.reportedUsage.completion)
            #expect(row.requests == sessions * turns && row.errors == 0)
            #expect(row.promptTokens == reported.prompt && row.completionTokens == reported.completion)
            #expect(seen.prompt == reported.prompt && seen.completion == reported.completion)
            #expect(claude.requestCount + oai.requestCount > sessions * turns)  // some requests did fail over
        }
    }

    /// One agent session; returns the usage its streams reported.
    static func runSession(_ session: Int, turns: Int, gateway: LiveGateway.Context) async throws -> (prompt: Int, completion: Int) {
        var messages: [JSONValue] = [["role": "user", "content": .string("Task \(session): tidy the repository.")]]
        var usage = (prompt: 0, completion: 0)
        for turn in 0..<turns {
            let (head, reader) = try await gateway.openStream(
                "/v1/messages", json: ["model": "agent", "max_tokens": 1000, "stream": true, "messages": .array(messages), "tools": [["name": "run", "input_schema": ["type": "object"]]]])
            guard head.status == .ok else {
                // The body's iterator belongs to the reader: read the error through it.
                throw TestFailure("session \(session) turn \(turn): status \(head.status.code) \(head.headers) \(try await reader.remainingText())")
            }
            let events = try await reader.all()
            guard events.last?.event == "message_stop" else { throw TestFailure("session \(session) turn \(turn): stream did not complete") }
            var blocks: [JSONValue] = []
            var toolInputs: [Int: String] = [:]
            var prompt = 0
            defer { usage.prompt += prompt }
            for event in events {
                guard let json = event.json else { continue }
                switch event.event {
                case "message_start": prompt = json["message"]?["usage"]?["input_tokens"]?.intValue ?? 0
                case "content_block_start": blocks.append(json["content_block"] ?? .null)
                case "content_block_delta":
                    if let fragment = json["delta"]?["partial_json"]?.stringValue { toolInputs[blocks.count - 1, default: ""] += fragment }
                case "message_delta":
                    // Cumulative totals: a vendor that reports its prompt only at the end says it here.
                    usage.completion += json["usage"]?["output_tokens"]?.intValue ?? 0
                    if let total = json["usage"]?["input_tokens"]?.intValue { prompt = total }
                default: break
                }
            }
            var content: [JSONValue] = []
            var results: [JSONValue] = []
            for (index, block) in blocks.enumerated() where block["type"] == "tool_use" {
                let input = (try? JSONParser.parse(toolInputs[index] ?? "{}")) ?? [:]
                content.append(["type": "tool_use", "id": block["id"] ?? "", "name": block["name"] ?? "", "input": input])
                results.append(["type": "tool_result", "tool_use_id": block["id"] ?? "", "content": .string("output of turn \(turn)")])
            }
            guard !content.isEmpty else { throw TestFailure("session \(session) turn \(turn): no tool call") }
            messages.append(["role": "assistant", "content": .array(content)])
            messages.append(["role": "user", "content": .array(results)])
        }
        return usage
    }
}
