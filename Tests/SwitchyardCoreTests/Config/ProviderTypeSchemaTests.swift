import SwitchyardCore
import SwitchyardProviders
import Testing

/// A provider type defined outside Core: its keys, defaults and checks come with it.
private struct EchoSchema: ProviderConfigSchema {
    struct Options: ProviderOptions {
        var flavor = "plain"
        var token: String?
        var secrets: [String] { token.map { [$0] } ?? [] }
        var authSummary: String? { token == nil ? nil : "echo token" }
    }

    var typeName: String { "echo" }
    var optionKeys: Set<String> { ["flavor", "token"] }

    func readOptions(_ section: ProviderSection) -> any ProviderOptions {
        var options = Options()
        if let flavor = section.value("flavor")?.string() {
            if ["plain", "loud"].contains(flavor) { options.flavor = flavor } else { section.value("flavor")?.report("expected plain or loud") }
        }
        options.token = section.value("token")?.string()
        if options.token == nil, section.provider.keys.isEmpty { section.report("token", "an echo provider needs a token or keys") }
        return options
    }
}

@Suite struct ProviderTypeSchemaTests {
    let catalog = ProviderTypeCatalog([EchoSchema()], planned: ["teleport"])

    @Test func aTypeDefinedOutsideCoreReadsItsOwnKeys() throws {
        let config = try ConfigLoader.parse(
            "providers:\n  e: {type: echo, flavor: loud, token: echo-secret-123, timeout: {connect: 1s}}\n", providerTypes: catalog)
        let provider = try #require(config.providers.first)
        #expect(provider.type == "echo")
        #expect(provider.timeout.connect == .seconds(1))
        #expect((provider.options as? EchoSchema.Options)?.flavor == "loud")
        #expect(SecretRedactor(config: config).redact("got echo-secret-123") == "got [redacted]")
        #expect(config.routeSummary.contains("e (echo, echo token)"))
    }

    @Test(arguments: [
        ("providers:\n  e: {type: echo, flavr: loud, token: t}\n", "providers.e.flavr", "did you mean 'flavor'"),
        ("providers:\n  e: {type: echo, flavor: quiet, token: t}\n", "providers.e.flavor", "expected plain or loud"),
        ("providers:\n  e: {type: echo}\n", "providers.e.token", "needs a token"),
        ("providers:\n  e: {type: teleport}\n", "providers.e.type", "not supported yet"),
        ("providers:\n  e: {type: openai, keys: [k]}\n", "providers.e.type", "unknown provider type 'openai'"),
    ])
    func itsErrorsNameTheKeyPath(_ yaml: String, _ path: String, _ message: String) {
        expectIssue(at: path, containing: message) { () throws(ConfigError) in _ = try ConfigLoader.parse(yaml, providerTypes: catalog) }
    }

    @Test(arguments: [
        ("providers:\n  o: {type: openai, keys: [k], anthropic_version: '2023-06-01'}\n", "providers.o.anthropic_version", "unknown key"),
        ("providers:\n  o: {type: openai}\n", "providers.o.keys", "at least one key"),
        ("providers:\n  l: {type: openai-compatible}\n", "providers.l.base_url", "needs base_url"),
        ("providers:\n  c: {type: anthropic}\n", "providers.c.keys", "or an oauth section"),
        ("providers:\n  c: {type: anthropic, keys: [k], max_tokens: 0}\n", "providers.c.max_tokens", "between 1 and"),
        ("providers:\n  b: {type: bedrock, keys: [k]}\n", "providers.b.region", "needs region"),
        ("providers:\n  b: {type: bedrock, region: 'US East', keys: [k]}\n", "providers.b.region", "expected an AWS region"),
        ("providers:\n  a: {type: azure, keys: [k]}\n", "providers.a.base_url", "needs base_url"),
        ("providers:\n  a: {type: azure, base_url: 'https://r.openai.azure.com', entra: {tenant_id: t, client_id: c}}\n", "providers.a.entra", "missing key 'client_secret'"),
        ("providers:\n  g: {type: gemini}\n", "providers.g.keys", "at least one key"),
        ("providers:\n  g: {type: gemini, keys: [k], api_version: v2}\n", "providers.g.api_version", "expected v1beta or v1"),
        ("providers:\n  v: {type: vertex, service_account: '{}'}\n", "providers.v.project", "needs project"),
        ("providers:\n  v: {type: vertex, project: p, service_account: 'not json'}\n", "providers.v.service_account", "is not a JSON object"),
        ("providers:\n  v: {type: vertex, project: p, keys: [k], publishers: {m: openai}}\n", "providers.v.publishers.m", "expected google or anthropic"),
        ("providers:\n  v: {type: vertex, project: p, location: 'us central'}\n", "providers.v.location", "expected a location"),
        ("providers:\n  v: {type: vertex, project: p, keys: [k], servce_account: x}\n", "providers.v.servce_account", "did you mean 'service_account'"),
        ("providers:\n  c: {type: anthropic, oauth: {token_url: 'http://x', grant: magic}}\n", "providers.c.oauth.grant", "unknown grant"),
    ])
    func theStandardTypesCheckTheirOwnSections(_ yaml: String, _ path: String, _ message: String) {
        expectIssue(at: path, containing: message) { () throws(ConfigError) in _ = try ConfigLoader.parse(yaml) }
    }

    /// Expects `parse` to fail with an issue at `path` whose message contains `message`.
    private func expectIssue(
        at path: String, containing message: String, sourceLocation: SourceLocation = #_sourceLocation, _ parse: () throws(ConfigError) -> Void
    ) {
        do {
            try parse()
            Issue.record("the config was accepted", sourceLocation: sourceLocation)
        } catch {
            #expect(error.issues.contains { $0.path == path && $0.message.contains(message) }, "\(error.issues)", sourceLocation: sourceLocation)
        }
    }
}
