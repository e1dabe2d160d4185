import AsyncHTTPClient
import Foundation
import InMemoryLogging
import Logging
import NIOHTTP1
import SwitchyardCore
import SwitchyardProviders
import SwitchyardServer
import SwitchyardSimulator
import Testing

@Suite("No secret reaches a client, a log line, /metrics or /admin")
struct RedactionTests {
    // Secrets the word heuristics would miss (no sk- prefix, shorter than 32): only knowing the values catches them.
    static let providerKey = "plainsecretvalue42"
    static let otherProviderKey = "anotherkeyvalue77"
    static let virtualKey = "vk-app-secret-9876"
    static let adminKey = "admin-secret-5555"
    static var secrets: [String] { [providerKey, otherProviderKey, virtualKey, adminKey] }

    static let config = """
        listen: 127.0.0.1:0
        admin_key: \(adminKey)
        providers:
          a: {type: openai, base_url: "http://127.0.0.1:{{a}}/v1", keys: [\(providerKey)]}
          c: {type: anthropic, base_url: "http://127.0.0.1:{{c}}", keys: [\(otherProviderKey)]}
        models:
          smart: a/gpt-4o
          claude: c/claude-sonnet-4-5
          both: {targets: [a/gpt-4o, c/claude-sonnet-4-5]}
        keys:
          - {name: app, key: \(virtualKey)}
        """

    static func echo(_ text: String) -> String {
        "Incorrect API key provided: api_key=\"\(providerKey)\".\ntoken: \(providerKey)\r\nAuthorization: Bearer \(otherProviderKey) (\(text))"
    }

    @Test func upstreamMessagesEchoingSecretsAreScrubbedEverywhere() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let c = SimulatedVendor(name: "c", format: .anthropic)
        let logs = InMemoryLogHandler()
        var logger = Logger(label: "switchyard.test") { _ in logs }
        logger.logLevel = .trace
        a.enqueue(
            .error(status: 400, body: ["error": ["message": .string(Self.echo("invalid")), "type": "invalid_request_error", "param": .null, "code": .null]]),
            .failMidStream(afterChunks: 1, error: ["error": ["message": .string(Self.echo("mid")), "type": "server_error", "param": .null, "code": .null]]),
            .error(status: 401, body: ["error": ["message": .string(Self.echo("auth")), "type": "invalid_request_error", "param": .null, "code": "invalid_api_key"]]))
        c.enqueue(.error(status: 429, body: ["type": "error", "error": ["type": "rate_limit_error", "message": .string(Self.echo("claude"))]]))
        try await LiveGateway.run(vendors: [a, c], config: Self.config, logger: logger) { gateway in
            var seen: [String] = []
            let invalid = try await gateway.post("/v1/chat/completions", json: hello, key: Self.virtualKey)
            #expect(invalid.status == 400)
            #expect(invalid.body.contains("[redacted]"))
            seen.append(invalid.body)
            let (_, stream) = try await gateway.openStream("/v1/chat/completions", json: ["model": "smart", "stream": true, "messages": [["role": "user", "content": "x"]]], key: Self.virtualKey)
            let events = try await stream.all()
            #expect(events.last?.json?["error"] != nil)
            seen += events.map(\.data)
            let revoked = try await gateway.post("/v1/messages", json: ["model": "smart", "max_tokens": 5, "messages": [["role": "user", "content": "x"]]], key: Self.virtualKey)
            seen.append(revoked.body)
            // `a`'s key is revoked now; `both` falls to `c`, which is rate limited with an echoing message.
            let limited = try await gateway.post("/v1/chat/completions", json: hello.with(model: "both"), key: Self.virtualKey)
            #expect(limited.status == 429)
            seen.append(limited.body)
            seen.append(try await gateway.send(.GET, "/metrics").body)
            seen.append(try await gateway.send(.GET, "/admin/providers", headers: ["authorization": "Bearer \(Self.adminKey)"]).body)
            seen.append(try await gateway.send(.GET, "/admin/faults", headers: ["authorization": "Bearer \(Self.adminKey)"]).body)
            for text in seen {
                for secret in Self.secrets { #expect(!text.contains(secret), "\(secret) leaked: \(text)") }
                #expect(!text.contains("\\n") && !text.contains("\\r"), "an upstream line break reached a client: \(text)")
            }
        }
        #expect(!logs.entries.isEmpty)
        for entry in logs.entries {
            let line = "\(entry.message) \(entry.metadata)"
            for secret in Self.secrets { #expect(!line.contains(secret), "\(secret) in a \(entry.level) log line: \(line)") }
            #expect(!line.contains("\n") && !line.contains("\r"), "multi-line log entry: \(line)")
        }
    }

    @Test func aRedactorKnowsConfiguredAndMintedSecrets() throws {
        let config = try ConfigLoader.parse(Self.config.replacingOccurrences(of: "{{a}}", with: "1").replacingOccurrences(of: "{{c}}", with: "2"))
        let redactor = SecretRedactor(config: config)
        redactor.register(minted: "ya29.minted-access-token")
        let text = "key=\(Self.providerKey);admin \(Self.adminKey)\nvk:\(Self.virtualKey) bearer ya29.minted-access-token"
        let clean = redactor.redact(text)
        for secret in Self.secrets + ["ya29.minted-access-token"] { #expect(!clean.contains(secret)) }
        #expect(!clean.contains("\n"))
        #expect(clean.hasPrefix("key=[redacted];admin [redacted]"))
    }

    @Test func aFailedReloadDoesNotEchoSubstitutedSecrets() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let c = SimulatedVendor(name: "c", format: .anthropic)
        try await LiveGateway.run(vendors: [a, c], config: Self.config, reloadable: true) { gateway in
            let directory = try #require(gateway.configPath.map { ($0 as NSString).deletingLastPathComponent })
            let secretFile = "switchyard-secret-\(UUID().uuidString).txt"
            try "s3cr3t-from-a-file-0987\n".write(toFile: directory + "/" + secretFile, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: directory + "/" + secretFile) }
            try gateway.rewriteConfig(Self.config + "\nrouting: {attempts: ${file:\(secretFile)}}\n")
            let refused = try await gateway.send(.POST, "/admin/reload", headers: ["authorization": "Bearer \(Self.adminKey)"])
            #expect(refused.status == 400)
            #expect(refused.body.contains("routing.attempts"))
            #expect(!refused.body.contains("s3cr3t-from-a-file-0987"))
        }
    }
}
