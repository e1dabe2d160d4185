import Foundation
import SwitchyardCore
import SwitchyardProviders
import Testing

@Suite struct ConfigLoaderTests {
    let minimal = """
        providers:
          oai:
            type: openai
            keys: [${OPENAI_API_KEY}, ${OPENAI_API_KEY_2:-}]
        models:
          smart:
            targets: [oai/gpt-4o]
          fast: oai/gpt-4o-mini
        """

    @Test func substitutesVariablesInsideValues() throws {
        let config = try ConfigLoader.parse(minimal, environment: ["OPENAI_API_KEY": "sk-a #not: yaml {x}"])
        #expect(config.providers.first?.keys == ["sk-a #not: yaml {x}"])
        #expect(config.routes.map(\.name) == ["smart", "fast"])
        #expect(config.route(named: "fast")?.targets.first?.description == "oai/gpt-4o-mini")
        #expect(config.listen == ListenAddress(host: "127.0.0.1", port: 4000))
    }

    @Test func missingVariableIsNamedWithItsKeyPath() {
        #expect {
            try ConfigLoader.parse(minimal, environment: [:])
        } throws: { error in
            let issues = (error as? ConfigError)?.issues ?? []
            return issues.contains { $0.path == "providers.oai.keys[0]" && $0.message.contains("OPENAI_API_KEY") }
        }
    }

    @Test func fileReferencesAreRead() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try "sk-from-file\n".write(to: directory.appendingPathComponent("key.txt"), atomically: true, encoding: .utf8)
        let yaml = "providers:\n  oai:\n    type: openai\n    keys: [${file:key.txt}]\n"
        try yaml.write(to: directory.appendingPathComponent("switchyard.yaml"), atomically: true, encoding: .utf8)
        let config = try ConfigLoader.load(path: directory.appendingPathComponent("switchyard.yaml").path, environment: [:])
        #expect(config.providers.first?.keys == ["sk-from-file"])
    }

    @Test func durationsAndRoutingAreParsed() throws {
        let yaml = minimal.replacingOccurrences(of: "${OPENAI_API_KEY}", with: "k") + """

            routing:
              attempts: 3
              deadline: 90s
              backoff: {base: 250ms, max: 2s}
              circuit_breaker: {failures: 2, cooldown: 5m, error_rate: 0.5, window: 30s}
            """
        let config = try ConfigLoader.parse(yaml)
        #expect(config.routing.attempts == 3)
        #expect(config.routing.deadline == .seconds(90))
        #expect(config.routing.backoffBase == .milliseconds(250))
        #expect(config.routing.circuitBreaker.cooldown == .seconds(300))
        #expect(config.routing.circuitBreaker.errorRate == 0.5)
    }

    @Test(arguments: [
        ("providers:\n  oai:\n    type: openai\n    kyes: [a]\n", "providers.oai.kyes", "unknown key (did you mean 'keys'?)"),
        ("providers:\n  oai:\n    type: openai\n    keys: [a]\nmodels:\n  smart:\n    targets: [oai/x, oia/y]\n", "models.smart.targets[1]", "unknown provider 'oia'"),
        ("providers:\n  x:\n    type: bedrock\n    region: us-east-1\n    aws: {access_key_id: AKID}\n", "providers.x.aws", "needs access_key_id and secret_access_key"),
        ("storage: 'postgres://'\n", "storage", "expected postgres://user:password@host:port/database"),
        ("storage: {url: mysql://x, retention: 7d}\n", "storage.url", "expected sqlite:PATH or postgres://"),
        ("storage: {url: 'sqlite:a.db', retention: 7 days}\n", "storage.retention", "duration"),
        ("pricing:\n  oai/gpt-4o: {input: 1}\n", "pricing.oai/gpt-4o", "needs input and output"),
        ("pricing:\n  gpt-4o: {input: 1, output: 2}\n", "pricing.gpt-4o", "expected a provider/model target"),
        ("pricing:\n  oai/gpt-4o: {input: -1, output: 2}\n", "pricing.oai/gpt-4o.input", "between 0"),
        ("keys:\n  - key: abc\n    budget: {period: month}\n", "keys[0].budget", "needs usd"),
        ("keys:\n  - key: abc\n    budget: {usd: 5, period: fortnight}\n", "keys[0].budget.period", "expected day, week, month or total"),
        ("keys:\n  - key: abc\n    budget: {usd: 5, alert_at: 180%}\n", "keys[0].budget.alert_at", "expected a share"),
        ("keys:\n  - key: abc\n    limits: {rpm: 0}\n", "keys[0].limits.rpm", "between 1"),
        ("routing:\n  deadline: soon\n", "routing.deadline", "expected a duration"),
        ("listen: nowhere\n", "listen", "expected HOST:PORT"),
        ("providers:\n  oai:\n    type: openai\n", "providers.oai.keys", "needs at least one key"),
        ("providers:\n  oai:\n    type: foo\n", "providers.oai.type", "unknown provider type 'foo'"),
        ("models:\n  smart:\n    strategy: random\n    targets: []\n", "models.smart.strategy", "unknown strategy"),
        ("keys:\n  - key: a\n    models: [ghost]\n", "keys[0].models[0]", "unknown route or target 'ghost'"),
        ("admin_key: short\n", "admin_key", "at least 16"),
    ])
    func invalidConfigsNameTheKeyPath(yaml: String, path: String, message: String) {
        #expect {
            try ConfigLoader.parse(yaml)
        } throws: { error in
            let issues = (error as? ConfigError)?.issues ?? []
            return issues.contains { $0.path == path && $0.message.contains(message) }
        }
    }

    @Test func invalidYAMLIsReported() {
        #expect(throws: ConfigError.self) { try ConfigLoader.parse("providers: [unclosed") }
    }
}

@Suite struct RouteSummaryTests {
    @Test func summaryListsEachRouteWithItsTargetsInOrder() throws {
        let config = try ConfigLoader.parse(
            """
            providers:
              oai: {type: openai, keys: [a, b]}
              claude: {type: anthropic, keys: [c]}
            models:
              smart: {strategy: priority, targets: [claude/claude-sonnet-4-5, oai/gpt-4o], context_fallback: big}
              big: oai/gpt-4.1
            keys:
              - {name: web, key: k}
            """)
        let summary = config.routeSummary
        #expect(summary.contains("smart [priority] → 1. claude/claude-sonnet-4-5, 2. oai/gpt-4o"))
        #expect(summary.contains("context fallback → big"))
        #expect(summary.contains("oai (openai, 2 key(s))"))
        #expect(summary.contains("keys: web"))
        #expect(!summary.contains(" a,") && !summary.contains("[a"))
    }
}

@Suite struct ExampleConfigTests {
    @Test func theShippedExampleConfigIsValid() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let config = try ConfigLoader.load(path: repository.appendingPathComponent("examples/switchyard.yaml").path, environment: [:])
        #expect(config.routes.map(\.name) == ["smart", "fast", "gpt-4o"])
        #expect(config.provider(named: "oai")?.keys == ["sk-missing"])
    }
}

@Suite struct ConfigOverflowTests {
    @Test(arguments: [
        ("routing:\n  deadline: 1e300s\n", "routing.deadline"),
        ("routing:\n  deadline: 99999999999999999h\n", "routing.deadline"),
        ("routing:\n  circuit_breaker: {cooldown: 1e20ms}\n", "routing.circuit_breaker.cooldown"),
        ("shutdown_grace: 100000d\n", "shutdown_grace"),
        ("max_body_size: 9223372036854775807mb\n", "max_body_size"),
        ("max_body_size: 99999999999kib\n", "max_body_size"),
        ("server: {idle_timeout: 1e19s}\n", "server.idle_timeout"),
    ])
    func hugeValuesAreErrorsNamingTheKey(_ yaml: String, _ path: String) {
        #expect {
            try ConfigLoader.parse(yaml)
        } throws: { error in
            (error as? ConfigError)?.issues.contains { $0.path == path } ?? false
        }
    }

    @Test func newKeysAreRead() throws {
        let config = try ConfigLoader.parse(
            "shutdown_grace: 5s\nserver: {idle_timeout: 2s, max_connections: 50}\nproviders:\n  oai: {type: openai, keys: [k], max_connections: 3}\n")
        #expect(config.shutdownGrace == .seconds(5))
        #expect(config.server.idleTimeout == .seconds(2))
        #expect(config.server.maxConnections == 50)
        #expect(config.providers.first?.maxConnections == 3)
    }
}
