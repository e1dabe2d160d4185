import NIOCore
import SwitchyardCore

/// Reads the common OpenAI chat answer — choices whose messages carry plain text, usage in plain integers —
/// straight from its bytes into the canonical response, without building its JSON tree (which allocated more
/// than anything else the gateway does for a non-streamed answer). Tool calls, reasoning, logprobs, a
/// Responses object, or anything the cursor is unsure of are left to the full decode, so both always agree.
/// A repeated key counts with its last value, as in the parser.
enum OpenAIPlainResponse {
    /// The answer, or `nil` when it needs the full decode.
    static func decode(_ body: ByteBuffer) -> ChatResponse? {
        body.withUnsafeReadableBytes { raw in
            var cursor = JSONCursor(raw.assumingMemoryBound(to: UInt8.self))
            return try? response(&cursor)
        }
    }

    private static func response(_ cursor: inout JSONCursor) throws(JSONCursor.Unsure) -> ChatResponse {
        var id: String?
        var model: String?
        var created: Int?
        var fingerprint: String?
        var choices: [ChatChoice]?
        var usage: Usage?
        try cursor.beginObject()
        while let key = try cursor.nextKey() {
            switch Key(key) {
            case .id: id = try optionalString(&cursor)
            case .model: model = try optionalString(&cursor)
            case .created: created = cursor.skipNull() ? nil : try cursor.integer()
            case .systemFingerprint: fingerprint = try optionalString(&cursor)
            case .object:
                // A Responses API object is the Responses decoder's.
                guard try optionalString(&cursor) != "response" else { throw JSONCursor.Unsure() }
            case .choices: choices = try self.choices(&cursor)
            case .usage: usage = cursor.skipNull() ? nil : try self.usage(&cursor)
            case .other: try cursor.skipValue()
            default: throw JSONCursor.Unsure()
            }
        }
        try cursor.end()
        // Without choices the full decode reports the failure.
        guard let choices else { throw JSONCursor.Unsure() }
        return ChatResponse(
            id: id ?? "chatcmpl-switchyard", model: model ?? "", created: created ?? currentUnixTime(), choices: choices, usage: usage,
            systemFingerprint: fingerprint)
    }

    private static func choices(_ cursor: inout JSONCursor) throws(JSONCursor.Unsure) -> [ChatChoice] {
        var choices: [ChatChoice] = []
        try cursor.beginArray()
        while try cursor.nextElement() {
            choices.append(try choice(&cursor, offset: choices.count))
        }
        return choices
    }

    private static func choice(_ cursor: inout JSONCursor, offset: Int) throws(JSONCursor.Unsure) -> ChatChoice {
        var index: Int?
        var message: (text: String?, refusal: String?)?
        var finish: String?
        try cursor.beginObject()
        while let key = try cursor.nextKey() {
            switch Key(key) {
            case .index: index = cursor.skipNull() ? nil : try cursor.integer()
            case .message: message = cursor.skipNull() ? nil : try self.message(&cursor)
            case .finishReason: finish = try optionalString(&cursor)
            case .logprobs:
                // Log-probabilities are kept as JSON: the full decode's.
                guard cursor.skipNull() else { throw JSONCursor.Unsure() }
            case .other: try cursor.skipValue()
            default: throw JSONCursor.Unsure()
            }
        }
        var parts: [ContentPart] = []
        if let text = message?.text, !text.isEmpty { parts.append(.text(text)) }
        return ChatChoice(
            index: index ?? offset, message: ChatMessage(role: .assistant, parts: parts), finishReason: OpenAIResponseDecoder.finishReason(finish),
            logprobs: nil, refusal: message?.refusal)
    }

    /// The message's text and refusal; every other member the full decode reads must be null.
    private static func message(_ cursor: inout JSONCursor) throws(JSONCursor.Unsure) -> (text: String?, refusal: String?) {
        var text: String?
        var refusal: String?
        try cursor.beginObject()
        while let key = try cursor.nextKey() {
            switch Key(key) {
            case .content: text = try optionalString(&cursor)
            case .refusal: refusal = try optionalString(&cursor)
            case .reasoningContent, .reasoning, .toolCalls:
                guard cursor.skipNull() else { throw JSONCursor.Unsure() }
            case .other: try cursor.skipValue()
            default: throw JSONCursor.Unsure()
            }
        }
        return (text, refusal)
    }

    /// The usage object, counted as ``OpenAIResponseDecoder/usage(_:)`` counts it.
    private static func usage(_ cursor: inout JSONCursor) throws(JSONCursor.Unsure) -> Usage {
        var prompt: Int?
        var completion: Int?
        var total: Int?
        var cacheHit: Int?
        var promptDetails: (cached: Int?, cacheWrite: Int?)?
        var reasoning: Int?
        try cursor.beginObject()
        while let key = try cursor.nextKey() {
            switch Key(key) {
            case .promptTokens: prompt = try optionalInteger(&cursor)
            case .completionTokens: completion = try optionalInteger(&cursor)
            case .totalTokens: total = try optionalInteger(&cursor)
            case .promptCacheHitTokens: cacheHit = try optionalInteger(&cursor)
            case .promptTokensDetails: promptDetails = cursor.skipNull() ? nil : try promptTokensDetails(&cursor)
            case .completionTokensDetails: reasoning = cursor.skipNull() ? nil : try reasoningTokens(&cursor)
            case .other: try cursor.skipValue()
            default: throw JSONCursor.Unsure()
            }
        }
        let promptTokens = prompt ?? 0
        return Usage(
            promptTokens: promptTokens, completionTokens: completion ?? max(0, (total ?? promptTokens) - promptTokens),
            cachedPromptTokens: promptDetails?.cached ?? cacheHit ?? 0, cacheWritePromptTokens: promptDetails?.cacheWrite ?? 0,
            reasoningTokens: reasoning ?? 0)
    }

    /// `prompt_tokens_details`: its cached and cache-write counts.
    private static func promptTokensDetails(_ cursor: inout JSONCursor) throws(JSONCursor.Unsure) -> (cached: Int?, cacheWrite: Int?) {
        var details: (cached: Int?, cacheWrite: Int?) = (nil, nil)
        try cursor.beginObject()
        while let key = try cursor.nextKey() {
            switch Key(key) {
            case .cachedTokens: details.cached = try optionalInteger(&cursor)
            case .cacheWriteTokens: details.cacheWrite = try optionalInteger(&cursor)
            case .other: try cursor.skipValue()
            default: throw JSONCursor.Unsure()
            }
        }
        return details
    }

    /// `completion_tokens_details`: its reasoning count.
    private static func reasoningTokens(_ cursor: inout JSONCursor) throws(JSONCursor.Unsure) -> Int? {
        var reasoning: Int?
        try cursor.beginObject()
        while let key = try cursor.nextKey() {
            switch Key(key) {
            case .reasoningTokens: reasoning = try optionalInteger(&cursor)
            case .other: try cursor.skipValue()
            default: throw JSONCursor.Unsure()
            }
        }
        return reasoning
    }

    /// A string or null; any other value is left to the full decode.
    private static func optionalString(_ cursor: inout JSONCursor) throws(JSONCursor.Unsure) -> String? {
        cursor.skipNull() ? nil : try cursor.string()
    }

    /// An integer or null; any other value (a fraction, say) is left to the full decode.
    private static func optionalInteger(_ cursor: inout JSONCursor) throws(JSONCursor.Unsure) -> Int? {
        cursor.skipNull() ? nil : try cursor.integer()
    }

    /// The keys the full decode reads, at any level (a known key at the wrong level is left to it).
    private enum Key {
        case id, model, created, systemFingerprint, object, choices, usage
        case index, message, finishReason, logprobs, content, refusal, reasoningContent, reasoning, toolCalls
        case promptTokens, completionTokens, totalTokens, promptCacheHitTokens, promptTokensDetails, completionTokensDetails
        case cachedTokens, cacheWriteTokens, reasoningTokens, other

        init(_ bytes: UnsafeBufferPointer<UInt8>) {
            func matches(_ name: StaticString) -> Bool { JSONCursor.key(bytes, is: name) }
            switch bytes.count {
            case 2: self = matches("id") ? .id : .other
            case 5: self = matches("model") ? .model : matches("usage") ? .usage : matches("index") ? .index : .other
            case 6: self = matches("object") ? .object : .other
            case 7:
                self = matches("created") ? .created : matches("choices") ? .choices : matches("message") ? .message
                    : matches("content") ? .content : matches("refusal") ? .refusal : .other
            case 8: self = matches("logprobs") ? .logprobs : .other
            case 9: self = matches("reasoning") ? .reasoning : .other
            case 10: self = matches("tool_calls") ? .toolCalls : .other
            case 12: self = matches("total_tokens") ? .totalTokens : .other
            case 13:
                self = matches("finish_reason") ? .finishReason : matches("prompt_tokens") ? .promptTokens : matches("cached_tokens") ? .cachedTokens : .other
            case 16: self = matches("reasoning_tokens") ? .reasoningTokens : .other
            case 17:
                self = matches("reasoning_content") ? .reasoningContent : matches("completion_tokens") ? .completionTokens : .other
            case 18:
                self = matches("system_fingerprint") ? .systemFingerprint : matches("cache_write_tokens") ? .cacheWriteTokens : .other
            case 21: self = matches("prompt_tokens_details") ? .promptTokensDetails : .other
            case 23: self = matches("prompt_cache_hit_tokens") ? .promptCacheHitTokens : .other
            case 25: self = matches("completion_tokens_details") ? .completionTokensDetails : .other
            default: self = .other
            }
        }
    }
}
