/// One event of a canonical chat stream.
///
/// Provider stream decoders produce these and dialect encoders consume them. Tool calls are indexed by
/// their position among the message's tool calls (OpenAI's `index`), not by content-block index.
public enum ChatEvent: Sendable, Hashable {
    /// The stream has started; `id` and `model` are the provider's.
    case start(id: String, model: String)
    case textDelta(String, choice: Int = 0)
    /// A fragment of the model's refusal (OpenAI `delta.refusal`): kept apart from text, so a client that
    /// tells refusals from answers still can.
    case refusalDelta(String, choice: Int = 0)
    /// A fragment of the model's reasoning. It commits a stream like text does: long thinking is progress.
    case reasoningDelta(String, choice: Int = 0)
    /// Closes the reasoning streamed so far with its vendor's signature (Anthropic `signature_delta`,
    /// Gemini `thoughtSignature` on a text part).
    case reasoningSignature(ReasoningSignature, choice: Int = 0)
    /// A whole block of encrypted reasoning (Anthropic `redacted_thinking`); the value is its data.
    case redactedReasoning(ReasoningSignature, choice: Int = 0)
    /// A new tool call begins; `signature` is opaque data its vendor needs back with it (see ``ToolCall/clientID``).
    case toolCallStart(index: Int, id: String, name: String, signature: ReasoningSignature? = nil, choice: Int = 0)
    /// A fragment of a tool call's JSON arguments.
    case toolCallArguments(index: Int, fragment: String, choice: Int = 0)
    case finish(FinishReason, choice: Int = 0)
    /// Usage so far; a later usage event replaces an earlier one.
    case usage(Usage)
    /// Token log-probabilities (OpenAI's `logprobs` object) for the text delta that follows.
    case logprobs(JSONValue, choice: Int = 0)
}
