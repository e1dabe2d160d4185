import Foundation

/// What one model costs, in USD per million tokens.
public struct ModelPrice: Sendable, Hashable {
    public var input: Double
    public var output: Double
    /// Prompt tokens read from a cache; `nil` means the vendor bills them as input.
    public var cachedInput: Double?
    /// Prompt tokens written to a cache; `nil` means the vendor bills them as input.
    public var cacheWrite: Double?

    public init(input: Double, output: Double, cachedInput: Double? = nil, cacheWrite: Double? = nil) {
        self.input = input
        self.output = output
        self.cachedInput = cachedInput
        self.cacheWrite = cacheWrite
    }

    /// The cost of `usage`: cached reads and cache writes at their own prices, the rest of the prompt as
    /// input, the completion (reasoning included) as output.
    public func cost(of usage: Usage) -> Double {
        let cached = max(0, usage.cachedPromptTokens)
        let written = max(0, usage.cacheWritePromptTokens)
        let plain = max(0, usage.promptTokens - cached - written)
        let total = Double(plain) * input + Double(cached) * (cachedInput ?? input) + Double(written) * (cacheWrite ?? input)
            + Double(max(0, usage.completionTokens)) * output
        return total / 1_000_000
    }

    /// The cost of a request of this size before it runs (no cache assumed).
    public func estimate(inputTokens: Int, outputTokens: Int) -> Double {
        (Double(inputTokens) * input + Double(outputTokens) * output) / 1_000_000
    }
}

/// Built-in list prices of common models, matched by model id; the config's `pricing:` overrides them.
///
/// Prices are the vendors' published standard (non-batch, short-context) rates as of ``asOf``; they change,
/// so operators override what they pay. Ids are matched after dropping what only addresses the model
/// (Bedrock region and vendor prefixes, `-v1:0` suffixes, Vertex `@` versions, date stamps), by the longest
/// catalog name that begins the id (`gpt-4o-mini-2024-07-18` → `gpt-4o-mini`; an Azure deployment named
/// `gpt-4o-prod` → `gpt-4o`).
public enum PriceCatalog {
    public static let asOf = "2025-10"

    static let entries: [String: ModelPrice] = [
        // OpenAI (cache reads discounted, writes free)
        "gpt-5": ModelPrice(input: 1.25, output: 10, cachedInput: 0.125),
        "gpt-5-mini": ModelPrice(input: 0.25, output: 2, cachedInput: 0.025),
        "gpt-5-nano": ModelPrice(input: 0.05, output: 0.40, cachedInput: 0.005),
        "gpt-4.1": ModelPrice(input: 2, output: 8, cachedInput: 0.50),
        "gpt-4.1-mini": ModelPrice(input: 0.40, output: 1.60, cachedInput: 0.10),
        "gpt-4.1-nano": ModelPrice(input: 0.10, output: 0.40, cachedInput: 0.025),
        "gpt-4o": ModelPrice(input: 2.50, output: 10, cachedInput: 1.25),
        "gpt-4o-mini": ModelPrice(input: 0.15, output: 0.60, cachedInput: 0.075),
        "o3": ModelPrice(input: 2, output: 8, cachedInput: 0.50),
        "o3-mini": ModelPrice(input: 1.10, output: 4.40, cachedInput: 0.55),
        "o4-mini": ModelPrice(input: 1.10, output: 4.40, cachedInput: 0.275),
        "text-embedding-3-small": ModelPrice(input: 0.02, output: 0),
        "text-embedding-3-large": ModelPrice(input: 0.13, output: 0),
        // Anthropic, also on Vertex and Bedrock (reads 0.1×, 5-minute writes 1.25× input)
        "claude-opus-4-1": ModelPrice(input: 15, output: 75, cachedInput: 1.50, cacheWrite: 18.75),
        "claude-opus-4": ModelPrice(input: 15, output: 75, cachedInput: 1.50, cacheWrite: 18.75),
        "claude-sonnet-4-5": ModelPrice(input: 3, output: 15, cachedInput: 0.30, cacheWrite: 3.75),
        "claude-sonnet-4": ModelPrice(input: 3, output: 15, cachedInput: 0.30, cacheWrite: 3.75),
        "claude-3-7-sonnet": ModelPrice(input: 3, output: 15, cachedInput: 0.30, cacheWrite: 3.75),
        "claude-haiku-4-5": ModelPrice(input: 1, output: 5, cachedInput: 0.10, cacheWrite: 1.25),
        "claude-3-5-haiku": ModelPrice(input: 0.80, output: 4, cachedInput: 0.08, cacheWrite: 1),
        "claude-3-haiku": ModelPrice(input: 0.25, output: 1.25, cachedInput: 0.03, cacheWrite: 0.30),
        // Google Gemini (≤200k-token prompts)
        "gemini-2.5-pro": ModelPrice(input: 1.25, output: 10, cachedInput: 0.125),
        "gemini-2.5-flash": ModelPrice(input: 0.30, output: 2.50, cachedInput: 0.03),
        "gemini-2.5-flash-lite": ModelPrice(input: 0.10, output: 0.40, cachedInput: 0.01),
        "gemini-2.0-flash": ModelPrice(input: 0.10, output: 0.40, cachedInput: 0.025),
        "text-embedding-004": ModelPrice(input: 0, output: 0),
        // Amazon Nova on Bedrock
        "nova-pro": ModelPrice(input: 0.80, output: 3.20, cachedInput: 0.20),
        "nova-lite": ModelPrice(input: 0.06, output: 0.24, cachedInput: 0.015),
        "nova-micro": ModelPrice(input: 0.035, output: 0.14, cachedInput: 0.00875),
    ]

    /// The list price of `model`, if the catalog knows it.
    public static func price(forModel model: String) -> ModelPrice? {
        let id = normalized(model)
        var best: (name: String, price: ModelPrice)?
        for (name, price) in entries where id == name || id.hasPrefix(name + "-") || id.hasPrefix(name + ".") {
            if name.count > best?.name.count ?? 0 { best = (name, price) }
        }
        return best?.price
    }

    /// `us.anthropic.claude-sonnet-4-5-20250929-v1:0` → `claude-sonnet-4-5-20250929`;
    /// `claude-sonnet-4-5@20250929` → `claude-sonnet-4-5`; `models/gemini-2.5-flash` → `gemini-2.5-flash`.
    static func normalized(_ model: String) -> String {
        var id = Substring(model.lowercased())
        if let slash = id.lastIndex(of: "/") { id = id[id.index(after: slash)...] }  // ARNs and `models/`
        if let at = id.firstIndex(of: "@") { id = id[..<at] }
        for prefix in ["us.", "eu.", "apac.", "global.", "jp.", "au.", "ca."] where id.hasPrefix(prefix) { id = id.dropFirst(prefix.count) }
        for vendor in ["anthropic.", "amazon.", "meta.", "mistral.", "openai."] where id.hasPrefix(vendor) { id = id.dropFirst(vendor.count) }
        if let colon = id.lastIndex(of: ":") { id = id[..<colon] }
        if id.hasSuffix("-v1") || id.hasSuffix("-v2") { id = id.dropLast(3) }
        return String(id)
    }
}

/// Prices for a config's targets: the config's `pricing:` (by `provider/model`) over the built-in catalog.
public struct PriceBook: Sendable {
    public let overrides: [String: ModelPrice]

    public init(overrides: [String: ModelPrice] = [:]) {
        self.overrides = overrides
    }

    /// The price of target `provider/model`, or nil when it is unknown (never assumed free).
    public func price(target: String) -> ModelPrice? {
        if let price = overrides[target] { return price }
        guard let slash = target.firstIndex(of: "/") else { return PriceCatalog.price(forModel: target) }
        return PriceCatalog.price(forModel: String(target[target.index(after: slash)...]))
    }
}

extension Double {
    /// A USD amount as a plain decimal (no exponent), at most ten places, trailing zeros dropped.
    public var usdDecimal: String {
        // Fixed point in integers: Foundation's formatter costs more than the rest of the accounting.
        guard isFinite, abs(self) < 1e5 else {
            var text = String(format: "%.10f", self)
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
            return text
        }
        let scaled = (abs(self) * 1e10).rounded(.toNearestOrEven)
        var whole = UInt64(scaled / 1e10)
        var fraction = UInt64(scaled) - whole * 10_000_000_000
        if fraction >= 10_000_000_000 {
            whole += 1
            fraction -= 10_000_000_000
        }
        let sign = self < 0 && scaled > 0 ? 1 : 0
        var wholeDigits = 1
        var rest = whole / 10
        while rest > 0 {
            wholeDigits += 1
            rest /= 10
        }
        var fractionDigits = fraction > 0 ? 10 : 0
        while fraction > 0, fraction % 10 == 0 {
            fraction /= 10
            fractionDigits -= 1
        }
        let length = sign + wholeDigits + (fractionDigits > 0 ? 1 + fractionDigits : 0)
        // Written in place at its exact length: a typical cost ("0.0001175") fits a small string (up to 15
        // bytes), which needs no allocation; the former concatenations made five strings per answer.
        return String(unsafeUninitializedCapacity: length) { out in
            if sign == 1 { out[0] = UInt8(ascii: "-") }
            rest = whole
            for position in stride(from: sign + wholeDigits - 1, through: sign, by: -1) {
                out[position] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
            guard fractionDigits > 0 else { return length }
            out[sign + wholeDigits] = UInt8(ascii: ".")
            for position in stride(from: length - 1, through: sign + wholeDigits + 1, by: -1) {
                out[position] = UInt8(ascii: "0") + UInt8(fraction % 10)
                fraction /= 10
            }
            return length
        }
    }
}
