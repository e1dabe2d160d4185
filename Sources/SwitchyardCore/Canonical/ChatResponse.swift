import struct Foundation.Date
public import NIOCore

/// Seconds since 1970, for `created` fields.
public func currentUnixTime() -> Int {
    Int(Date().timeIntervalSince1970)
}

/// A complete (non-streamed) chat answer in the canonical model.
public struct ChatResponse: Sendable {
    public var id: String
    /// The model name reported by the provider.
    public var model: String
    /// Seconds since 1970.
    public var created: Int
    public var choices: [ChatChoice]
    public var usage: Usage?
    public var systemFingerprint: String?
    /// The vendor's own body, when it is already in the client's dialect: it goes back byte for byte, and
    /// the fields above are read from it for routing, accounting and metrics.
    public var passThroughBody: ByteBuffer?

    public init(id: String, model: String, created: Int, choices: [ChatChoice], usage: Usage?, systemFingerprint: String? = nil) {
        self.id = id
        self.model = model
        self.created = created
        self.choices = choices
        self.usage = usage
        self.systemFingerprint = systemFingerprint
    }
}

/// One generated alternative.
public struct ChatChoice: Sendable {
    public var index: Int
    /// The assistant message: text parts and tool calls.
    public var message: ChatMessage
    public var finishReason: FinishReason
    /// Token log-probabilities in OpenAI's shape, when the provider returned them.
    public var logprobs: JSONValue?
    /// The model's refusal text (OpenAI `refusal`).
    public var refusal: String?

    public init(index: Int, message: ChatMessage, finishReason: FinishReason, logprobs: JSONValue? = nil, refusal: String? = nil) {
        self.index = index
        self.message = message
        self.finishReason = finishReason
        self.logprobs = logprobs
        self.refusal = refusal
    }
}

/// Why the model stopped, in neutral terms: each provider decodes its own vocabulary into these and each
/// dialect writes them in its own (OpenAI `finish_reason`, Anthropic `stop_reason`). Distinctions one
/// dialect can express survive to it even when another folds them (OpenAI says `stop` for a stop sequence).
public enum FinishReason: Sendable, Hashable {
    /// A natural end.
    case stop
    /// A stop sequence matched; which one, when the vendor says.
    case stopSequence(String?)
    /// The output cap was reached.
    case length
    /// The model's context window filled up (Anthropic `model_context_window_exceeded`).
    case contextWindowExceeded
    /// The model called tools and waits for their results.
    case toolCalls
    /// A safety system withheld or cut the answer, or the model refused.
    case contentFilter
    /// A long-running turn paused for the client to continue it (Anthropic `pause_turn`).
    case pauseTurn
}

/// Token counts of one request.
///
/// `promptTokens` includes cached prompt tokens (read and written) and `completionTokens` includes
/// reasoning tokens, as in OpenAI's usage; providers that count otherwise convert on decode.
public struct Usage: Sendable, Hashable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var cachedPromptTokens: Int
    public var cacheWritePromptTokens: Int
    public var reasoningTokens: Int

    public init(promptTokens: Int = 0, completionTokens: Int = 0, cachedPromptTokens: Int = 0, cacheWritePromptTokens: Int = 0, reasoningTokens: Int = 0) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedPromptTokens = cachedPromptTokens
        self.cacheWritePromptTokens = cacheWritePromptTokens
        self.reasoningTokens = reasoningTokens
    }

    public var totalTokens: Int { promptTokens + completionTokens }
}
