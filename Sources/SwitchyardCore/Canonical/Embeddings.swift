/// An embeddings request in the canonical model.
public struct EmbeddingsRequest: Sendable {
    public enum Input: Sendable, Hashable {
        case text(String)
        case texts([String])
        case tokens([Int])
        case tokenBatches([[Int]])
    }

    public var model: String
    public var input: Input
    public var encodingFormat: String?
    public var dimensions: Int?
    public var user: String?

    public init(model: String, input: Input, encodingFormat: String? = nil, dimensions: Int? = nil, user: String? = nil) {
        self.model = model
        self.input = input
        self.encodingFormat = encodingFormat
        self.dimensions = dimensions
        self.user = user
    }
}

/// Embedding vectors for each input.
public struct EmbeddingsResponse: Sendable {
    /// One embedding per input: a float array, or a base64 string when the client asked for it.
    public var embeddings: [JSONValue]
    public var model: String
    public var promptTokens: Int

    public init(embeddings: [JSONValue], model: String, promptTokens: Int) {
        self.embeddings = embeddings
        self.model = model
        self.promptTokens = promptTokens
    }
}
