public import NIOCore
/// A chat request in the canonical model: what every dialect decodes into and every provider encodes from.
public struct ChatRequest: Sendable {
    /// The model name the client asked for: a route or a `provider/model` target.
    public var model: String {
        get { storage.fields.model }
        _modify {
            makeFieldsUnique()
            yield &storage.fields.model
        }
    }
    public var messages: [ChatMessage] {
        get { storage.fields.messages }
        _modify {
            makeFieldsUnique()
            yield &storage.fields.messages
        }
    }
    public var tools: [ToolDefinition] {
        get { storage.fields.tools }
        _modify {
            makeFieldsUnique()
            yield &storage.fields.tools
        }
    }
    public var toolChoice: ToolChoice? {
        get { storage.fields.toolChoice }
        _modify {
            makeFieldsUnique()
            yield &storage.fields.toolChoice
        }
    }
    public var parallelToolCalls: Bool? {
        get { storage.fields.parallelToolCalls }
        _modify {
            makeFieldsUnique()
            yield &storage.fields.parallelToolCalls
        }
    }
    public var responseFormat: ResponseFormat? {
        get { storage.fields.responseFormat }
        _modify {
            makeFieldsUnique()
            yield &storage.fields.responseFormat
        }
    }
    public var sampling: SamplingParameters {
        get { storage.fields.sampling }
        // A plain setter: the decoder sets the knobs one by one, and a `_modify` here heap-allocated its
        // coroutine frame for each (the struct is small and holds no references, so the copy costs nothing).
        set {
            makeFieldsUnique()
            storage.fields.sampling = newValue
        }
    }
    /// The output cap in tokens, when the client gave one.
    public var maxTokens: Int? {
        get { storage.fields.maxTokens }
        _modify {
            makeFieldsUnique()
            yield &storage.fields.maxTokens
        }
    }
    public var stop: [String] {
        get { storage.fields.stop }
        _modify {
            makeFieldsUnique()
            yield &storage.fields.stop
        }
    }
    /// Number of choices to generate.
    public var n: Int? {
        get { storage.fields.n }
        _modify {
            makeFieldsUnique()
            yield &storage.fields.n
        }
    }
    public var logprobs: Bool? {
        get { storage.fields.logprobs }
        _modify {
            makeFieldsUnique()
            yield &storage.fields.logprobs
        }
    }
    public var topLogprobs: Int? {
        get { storage.fields.topLogprobs }
        _modify {
            makeFieldsUnique()
            yield &storage.fields.topLogprobs
        }
    }
    /// How much the model should reason before answering, when the client said.
    public var reasoning: ReasoningRequest? {
        get { storage.fields.reasoning }
        _modify {
            makeFieldsUnique()
            yield &storage.fields.reasoning
        }
    }
    /// An end-user identifier for abuse tracking.
    public var user: String? {
        get { storage.fields.user }
        _modify {
            makeFieldsUnique()
            yield &storage.fields.user
        }
    }
    public var stream: Bool {
        get { storage.fields.stream }
        _modify {
            makeFieldsUnique()
            yield &storage.fields.stream
        }
    }
    /// Whether the client asked for usage at the end of a stream.
    public var includeUsage: Bool {
        get { storage.fields.includeUsage }
        _modify {
            makeFieldsUnique()
            yield &storage.fields.includeUsage
        }
    }
    /// The client's original body and dialect, kept so that a provider speaking the same dialect can
    /// forward fields the canonical model does not know (see ``PassThrough``).
    public var passThrough: PassThrough? {
        get { storage.fields.passThrough }
        _modify {
            makeFieldsUnique()
            yield &storage.fields.passThrough
        }
    }
    /// Top-level fields of the client's body that the canonical model does not carry. A provider of the
    /// same dialect receives them through ``passThrough``; any other provider must refuse the request
    /// rather than drop them silently (DESIGN §2).
    public var dialectOnlyFields: [String] {
        get { storage.fields.dialectOnlyFields }
        _modify {
            makeFieldsUnique()
            yield &storage.fields.dialectOnlyFields
        }
    }

    /// The fields live in one heap box that copies share until one of them changes (copy on write): a request
    /// travels by value through many async functions, and each frame would otherwise hold all of it (and each
    /// copy retain every reference in it).
    private var storage: Storage

    private final class Storage: @unchecked Sendable {
        // Mutated only after `makeFieldsUnique()`, when this box has one owner: the `ChatRequest` being
        // mutated, whose own exclusivity the compiler enforces. The runtime check would add an access record to
        // every accessor's coroutine frame, which then no longer fits the caller's buffer and is allocated.
        @exclusivity(unchecked) var fields: Fields

        init(_ fields: Fields) {
            self.fields = fields
        }
    }

    private struct Fields {
        var model: String
        var messages: [ChatMessage]
        var tools: [ToolDefinition]
        var toolChoice: ToolChoice?
        var parallelToolCalls: Bool?
        var responseFormat: ResponseFormat?
        var sampling: SamplingParameters
        var maxTokens: Int?
        var stop: [String]
        var n: Int?
        var logprobs: Bool?
        var topLogprobs: Int?
        var reasoning: ReasoningRequest? = nil
        var user: String?
        var stream: Bool
        var includeUsage: Bool
        var passThrough: PassThrough?
        var dialectOnlyFields: [String] = []
    }

    // Each accessor checks and yields the box's field itself, and its coroutine frame must stay small enough
    // for the caller's buffer, else it is allocated at every field write: no second `_modify` to yield
    // through, and this function out of line (inlined, its copy of the fields made the frame 792 bytes).
    @inline(never)
    private mutating func makeFieldsUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = Storage(storage.fields) }
    }

    public init(
        model: String,
        messages: [ChatMessage],
        tools: [ToolDefinition] = [],
        toolChoice: ToolChoice? = nil,
        parallelToolCalls: Bool? = nil,
        responseFormat: ResponseFormat? = nil,
        sampling: SamplingParameters = SamplingParameters(),
        maxTokens: Int? = nil,
        stop: [String] = [],
        n: Int? = nil,
        logprobs: Bool? = nil,
        topLogprobs: Int? = nil,
        user: String? = nil,
        stream: Bool = false,
        includeUsage: Bool = false,
        passThrough: PassThrough? = nil
    ) {
        storage = Storage(
            Fields(
                model: model, messages: messages, tools: tools, toolChoice: toolChoice, parallelToolCalls: parallelToolCalls,
                responseFormat: responseFormat, sampling: sampling, maxTokens: maxTokens, stop: stop, n: n, logprobs: logprobs,
                topLogprobs: topLogprobs, user: user, stream: stream, includeUsage: includeUsage, passThrough: passThrough))
    }
}

/// Sampling knobs; `nil` means "provider default".
public struct SamplingParameters: Sendable, Hashable {
    public var temperature: Double?
    public var topP: Double?
    public var topK: Int?
    public var frequencyPenalty: Double?
    public var presencePenalty: Double?
    public var seed: Int?

    public init(
        temperature: Double? = nil, topP: Double? = nil, topK: Int? = nil,
        frequencyPenalty: Double? = nil, presencePenalty: Double? = nil, seed: Int? = nil
    ) {
        self.temperature = temperature
        self.topP = topP
        self.topK = topK
        self.frequencyPenalty = frequencyPenalty
        self.presencePenalty = presencePenalty
        self.seed = seed
    }
}

/// A function the model may call.
public struct ToolDefinition: Sendable, Hashable {
    public var name: String
    public var description: String?
    /// JSON Schema of the arguments object.
    public var parameters: JSONValue?
    public var strict: Bool?
    /// A prompt-caching breakpoint after this tool (Anthropic `cache_control`), see ``ChatMessage/cacheMarks``.
    public var cacheControl: JSONValue?

    public init(name: String, description: String? = nil, parameters: JSONValue? = nil, strict: Bool? = nil) {
        self.name = name
        self.description = description
        self.parameters = parameters
        self.strict = strict
    }
}

/// How the model may use tools.
public enum ToolChoice: Sendable, Hashable {
    case auto
    case none
    /// The model must call some tool.
    case required
    /// The model must call this tool.
    case function(String)
}

/// The client's wish for reasoning: OpenAI `reasoning_effort`, Anthropic `thinking`, Gemini `thinkingConfig`.
public enum ReasoningRequest: Sendable, Hashable {
    case disabled
    case effort(ReasoningEffort)
    /// A token budget for thinking (Anthropic `budget_tokens`, Gemini `thinkingBudget`).
    case budget(tokens: Int)

    /// The token budget for vendors that take one; efforts map to fixed budgets.
    public var budgetTokens: Int? {
        switch self {
        case .disabled: nil
        case .budget(let tokens): tokens
        case .effort(let effort): effort.budgetTokens
        }
    }

    /// The effort for vendors that take one; budgets map to the nearest effort.
    public var effort: ReasoningEffort? {
        switch self {
        case .disabled: nil
        case .effort(let effort): effort
        case .budget(let tokens): ReasoningEffort.allCases.first { tokens <= $0.budgetTokens } ?? .high
        }
    }
}

/// OpenAI's reasoning efforts, ordered from least to most.
public enum ReasoningEffort: String, Sendable, Hashable, CaseIterable {
    case minimal
    case low
    case medium
    case high

    /// Thinking budget in tokens; 1,024 is Anthropic's minimum.
    public var budgetTokens: Int {
        switch self {
        case .minimal: 1024
        case .low: 2048
        case .medium: 8192
        case .high: 24576
        }
    }
}

/// The shape the client wants the answer in.
public enum ResponseFormat: Sendable, Hashable {
    case text
    case jsonObject
    case jsonSchema(name: String, description: String?, schema: JSONValue, strict: Bool?)
}

/// The client's own body, for same-dialect pass-through of fields the canonical model does not carry.
public struct PassThrough: Sendable {
    public enum Dialect: String, Sendable {
        case openai
        case anthropic
        /// The OpenAI Responses API.
        case openaiResponses

        /// Whether `body` is an error in this dialect's shape (a vendor serving several formats, like
        /// Vertex, may answer some errors in its own).
        public func isErrorBody(_ body: JSONValue) -> Bool {
            switch self {
            case .openai, .openaiResponses: body["error"]?["type"]?.stringValue != nil && body["error"]?["message"]?.stringValue != nil
            case .anthropic: body["type"]?.stringValue == "error" && body["error"]?["type"]?.stringValue != nil
            }
        }
    }

    public var dialect: Dialect
    public var body: JSONObject
    /// Request headers a same-dialect provider may forward (for example `anthropic-beta`).
    public var headers: [(name: String, value: String)]
    /// The body's bytes as the client sent them (the same document as `body`), for a pass-through that
    /// changes only the model.
    public var originalBody: ByteBuffer?

    public init(dialect: Dialect, body: JSONObject, headers: [(name: String, value: String)] = []) {
        self.dialect = dialect
        self.body = body
        self.headers = headers
    }
}
