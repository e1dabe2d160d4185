import Foundation
import SwitchyardCore
import SwitchyardProviders
import Testing

@Suite struct PricingTests {
    @Test(arguments: [
        ("gpt-4o-2024-08-06", "gpt-4o"), ("gpt-4o-mini", "gpt-4o-mini"), ("gpt-4o-prod", "gpt-4o"), ("o3-mini", "o3-mini"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"), ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"), ("anthropic.claude-3-haiku-20240307-v1:0", "claude-3-haiku"),
        ("models/gemini-2.5-flash-lite", "gemini-2.5-flash-lite"), ("gemini-2.5-flash", "gemini-2.5-flash"), ("amazon.nova-pro-v1:0", "nova-pro"),
    ])
    func catalogMatchesModelIdsByTheirName(model: String, expected: String) throws {
        #expect(PriceCatalog.price(forModel: model) == PriceCatalog.price(forModel: expected))
        #expect(PriceCatalog.price(forModel: model) != nil)
    }

    @Test func unknownModelsHaveNoPriceNotAZeroOne() {
        #expect(PriceCatalog.price(forModel: "llama-3.3-70b") == nil)
        #expect(PriceBook().price(target: "local/my-finetune") == nil)
        let book = PriceBook(overrides: ["local/my-finetune": ModelPrice(input: 0.1, output: 0.2)])
        #expect(book.price(target: "local/my-finetune") == ModelPrice(input: 0.1, output: 0.2))
        #expect(book.price(target: "oai/gpt-4o") == PriceCatalog.price(forModel: "gpt-4o"))
    }

    /// Each provider family's usage shape, priced by hand: cached reads and cache writes at their own rates.
    @Test func costsMatchHandComputedFigures() throws {
        func cost(_ model: String, _ usage: Usage) throws -> Double { try #require(PriceCatalog.price(forModel: model)).cost(of: usage) }
        // OpenAI: 1,000 prompt tokens of which 400 cached, 100 out: 600×2.50 + 400×1.25 + 100×10 = 3,000 µ$.
        #expect(abs(try cost("gpt-4o", Usage(promptTokens: 1000, completionTokens: 100, cachedPromptTokens: 400)) - 0.003) < 1e-12)
        // Anthropic: input 2,095 + cache write 1,024, 503 out: 2,095×3 + 1,024×3.75 + 503×15 = 17,670 µ$.
        let anthropic = Usage(promptTokens: 2095 + 1024, completionTokens: 503, cacheWritePromptTokens: 1024)
        #expect(abs(try cost("claude-sonnet-4-5-20250929", anthropic) - 0.01767) < 1e-12)
        // Gemini: 88 prompt, 21 candidates + 35 thoughts: 88×0.30 + 56×2.50 = 166.4 µ$.
        #expect(abs(try cost("gemini-2.5-flash", Usage(promptTokens: 88, completionTokens: 56, reasoningTokens: 35)) - 0.0001664) < 1e-12)
        // Bedrock Claude: input 412 + read 100 + write 50, 58 out: 412×3 + 100×0.30 + 50×3.75 + 58×15 = 2,323.5 µ$.
        let bedrock = Usage(promptTokens: 562, completionTokens: 58, cachedPromptTokens: 100, cacheWritePromptTokens: 50)
        #expect(abs(try cost("us.anthropic.claude-sonnet-4-5-20250929-v1:0", bedrock) - 0.0023235) < 1e-12)
        #expect(0.0023235.usdDecimal == "0.0023235")
        #expect(0.0.usdDecimal == "0")
    }

    /// The integer formatter writes what `%.10f` with trailing zeros dropped writes.
    @Test func costDecimalsMatchTheReferenceFormat() {
        func reference(_ value: Double) -> String {
            var text = String(format: "%.10f", value)
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
            return text
        }
        var generator = SystemRandomNumberGenerator()
        var values: [Double] = [0.00000795, 1.5, 12.0000000001, 123.456, 0.99999999999, 9.99999999995, 1e-11, 42, 0.1 + 0.2, 99999.9999999999, -2.5, -0.0001175, 1e5, -1e5, 0.9999999999]
        for _ in 0..<2000 { values.append(Double(generator.next() % 100_000_000) / Double(1 << (generator.next() % 40))) }
        for value in values { #expect(value.usdDecimal == reference(value), "\(value)") }
    }

    @Test func checkWarnsAboutRoutesWithUnpricedTargets() throws {
        let yaml = """
            providers:
              oai: {type: openai, keys: [k]}
              local: {type: openai-compatible, base_url: "http://127.0.0.1:1/v1"}
            models:
              smart: {targets: [oai/gpt-4o, local/llama3.1]}
            """
        #expect(try ConfigLoader.parse(yaml).routeSummary.contains("warning: no price for local/llama3.1"))
        let priced = yaml + "\npricing:\n  local/llama3.1: {input: 0, output: 0}\n"
        #expect(!(try ConfigLoader.parse(priced).routeSummary.contains("warning")))
    }
}
