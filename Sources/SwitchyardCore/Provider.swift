public import NIOCore

/// Static facts about one configured provider.
public struct ProviderDescriptor: Sendable {
    /// The provider's name in the config (`oai`, `claude`).
    public var name: String
    /// The provider type (`openai`, `anthropic`, …).
    public var type: String
    /// The endpoint root.
    public var baseURL: String
    /// The client dialect this vendor speaks natively, if any: requests in it may pass through.
    public var nativeDialect: PassThrough.Dialect?

    public init(name: String, type: String, baseURL: String, nativeDialect: PassThrough.Dialect? = nil) {
        self.name = name
        self.type = type
        self.baseURL = baseURL
        self.nativeDialect = nativeDialect
    }
}

/// Turns canonical chat requests into one vendor's native HTTP requests and its responses back into
/// canonical results. One vendor, one adapter; the router sees only this protocol.
public protocol ChatProvider: Sendable {
    var descriptor: ProviderDescriptor { get }

    /// The native HTTP request for `request` sent to `model`, without credentials applied.
    /// - Throws: ``GatewayError`` when the request uses a feature this vendor cannot honour.
    func makeChatRequest(_ request: ChatRequest, model: String) throws(GatewayError) -> UpstreamRequest

    /// Decodes a successful, complete response body.
    func decodeChatResponse(_ body: ByteBuffer, head: UpstreamHead) throws(UpstreamFailure) -> ChatResponse

    /// A fresh decoder for one streamed response.
    func makeStreamDecoder() -> any ChatStreamDecoder

    /// Classifies a non-success response into a canonical failure.
    func classifyFailure(head: UpstreamHead, body: ByteBuffer) -> UpstreamFailure

    // A provider whose models speak different wire formats (Vertex serves Gemini and Claude) answers
    // these per model; the defaults ignore the model.

    /// Decodes a complete response to a request for `model`.
    func decodeChatResponse(_ body: ByteBuffer, head: UpstreamHead, model: String) throws(UpstreamFailure) -> ChatResponse
    /// A stream decoder for a response from `model`.
    func makeStreamDecoder(model: String) -> any ChatStreamDecoder
    /// Classifies a failed response to a request for `model`.
    func classifyFailure(head: UpstreamHead, body: ByteBuffer, model: String) -> UpstreamFailure
    /// The client dialect `model` speaks natively, whose requests may pass through with fields the
    /// canonical model does not carry.
    func nativeDialect(model: String) -> PassThrough.Dialect?
    /// The client dialect `model`'s answers are already in, so that they go back to such a client as the
    /// vendor sent them (complete, streamed and errors), byte for byte.
    func answerDialect(model: String) -> PassThrough.Dialect?
    /// Whether `model` takes requests in `dialect` as they are (fields the canonical model lacks included).
    func servesNatively(_ dialect: PassThrough.Dialect, model: String) -> Bool
    /// Whether `model`'s answers to such requests are already in `dialect`, to go back byte for byte.
    func answersNatively(_ dialect: PassThrough.Dialect, model: String) -> Bool
}

extension ChatProvider {
    public func decodeChatResponse(_ body: ByteBuffer, head: UpstreamHead, model: String) throws(UpstreamFailure) -> ChatResponse {
        try decodeChatResponse(body, head: head)
    }

    public func makeStreamDecoder(model: String) -> any ChatStreamDecoder {
        makeStreamDecoder()
    }

    public func classifyFailure(head: UpstreamHead, body: ByteBuffer, model: String) -> UpstreamFailure {
        classifyFailure(head: head, body: body)
    }

    public func nativeDialect(model: String) -> PassThrough.Dialect? {
        descriptor.nativeDialect
    }

    public func answerDialect(model: String) -> PassThrough.Dialect? {
        nativeDialect(model: model)
    }

    public func servesNatively(_ dialect: PassThrough.Dialect, model: String) -> Bool {
        nativeDialect(model: model) == dialect
    }

    public func answersNatively(_ dialect: PassThrough.Dialect, model: String) -> Bool {
        answerDialect(model: model) == dialect
    }
}

/// Incrementally decodes one upstream stream into canonical events.
public protocol ChatStreamDecoder: Sendable {
    /// Feeds the next bytes from the network; returns the events completed by them.
    /// - Throws: ``UpstreamFailure`` for an in-band error event or undecodable data.
    mutating func decode(_ bytes: ByteBuffer) throws(UpstreamFailure) -> [ChatEvent]

    /// Feeds the next bytes and appends the events completed by them to `events` (what a pass-through
    /// stream calls once per event: no array of its own per event).
    mutating func decode(_ bytes: ByteBuffer, into events: inout [ChatEvent]) throws(UpstreamFailure)

    /// Called once the upstream closed the stream; returns the remaining events.
    /// - Throws: ``UpstreamFailure`` when the stream ended before it was complete.
    mutating func finish() throws(UpstreamFailure) -> [ChatEvent]
}

extension ChatStreamDecoder {
    public mutating func decode(_ bytes: ByteBuffer, into events: inout [ChatEvent]) throws(UpstreamFailure) {
        events.append(contentsOf: try decode(bytes))
    }
}

/// A provider that can compute embeddings.
public protocol EmbeddingsProvider: ChatProvider {
    func makeEmbeddingsRequest(_ request: EmbeddingsRequest, model: String) throws(GatewayError) -> UpstreamRequest
    func decodeEmbeddingsResponse(_ body: ByteBuffer, head: UpstreamHead) throws(UpstreamFailure) -> EmbeddingsResponse
}

/// Applies one secret to outgoing requests.
public protocol Credential: Sendable {
    /// Adds authentication to `request`; may fetch or refresh a token.
    /// - Throws: ``UpstreamFailure`` (`auth_failed` when the credential is unusable).
    func authorize(_ request: inout UpstreamRequest) async throws(UpstreamFailure)

    /// Forgets any cached token, so that the next ``authorize(_:)`` obtains a fresh one.
    func invalidate() async

    /// Whether the credential sends tokens it obtains itself (OAuth2, service accounts): a 401 may only
    /// mean the token went stale, so it is refreshed and the request sent once more before anything else.
    var mintsTokens: Bool { get }
}

extension Credential {
    public func invalidate() async {}
    public var mintsTokens: Bool { false }
}

/// A provider whose vendor counts a request's input tokens (Anthropic `count_tokens`, Gemini
/// `countTokens`, Bedrock `CountTokens`).
public protocol TokenCountingProvider: ChatProvider {
    /// The vendor's count request for `request` as `model` would see it, or `nil` when that model has none.
    func makeCountTokensRequest(_ request: ChatRequest, model: String) throws(GatewayError) -> UpstreamRequest?
    /// The input tokens of a successful count answer.
    func decodeTokenCount(_ body: ByteBuffer, model: String) throws(UpstreamFailure) -> Int
}

extension JSONValue {
    /// The object's members named in `keys`, in their order (anything else gives an empty object).
    public func keeping(_ keys: Set<String>) -> JSONObject {
        var kept = JSONObject()
        for (key, value) in objectValue ?? JSONObject() where keys.contains(key) { kept.append(key, value) }
        return kept
    }

    /// A non-negative token count at `key` of a vendor's count answer.
    public func tokenCount(at key: String, vendor: String) throws(UpstreamFailure) -> Int {
        guard let count = self[key]?.intValue, count >= 0 else {
            throw UpstreamFailure(kind: .unavailable, message: "\(vendor) answered a token count without '\(key)'")
        }
        return count
    }
}
