import SwitchyardCore

/// A client-facing wire format: how requests are read and answers, streams and errors are written.
/// One dialect, one conformance; the chat handler is shared.
protocol ClientDialect: Sendable {
    associatedtype StreamEncoder: DialectStreamEncoder

    /// Reads a chat request body.
    func decodeChat(_ body: JSONValue, headers: [(name: String, value: String)]) throws(GatewayError) -> ChatRequest
    /// Writes a complete answer.
    func encodeResponse(_ response: ChatResponse, for request: ChatRequest) -> JSONValue
    /// A fresh encoder for one streamed answer.
    func makeStreamEncoder(for request: ChatRequest) -> StreamEncoder
    /// Writes an error body.
    func encodeError(_ error: GatewayError) -> JSONValue
    /// The HTTP status of an error, as this dialect's SDKs expect it with the error's type.
    func status(for error: GatewayError) -> Int
}

extension ClientDialect {
    func status(for error: GatewayError) -> Int { error.status }
}

/// Writes one streamed answer in a dialect's SSE form.
protocol DialectStreamEncoder: Sendable {
    mutating func encode(_ event: ChatEvent, into output: inout [UInt8])
    /// The bytes that close a completed stream.
    mutating func encodeEnd(into output: inout [UInt8])
    /// The last event of a stream that failed after it started.
    mutating func encodeError(_ error: GatewayError, into output: inout [UInt8])
}

/// The OpenAI Chat Completions dialect.
struct OpenAIDialect: ClientDialect {
    func decodeChat(_ body: JSONValue, headers: [(name: String, value: String)]) throws(GatewayError) -> ChatRequest {
        try OpenAIRequestDecoder.decodeChat(body, headers: headers)
    }

    func encodeResponse(_ response: ChatResponse, for request: ChatRequest) -> JSONValue {
        OpenAIResponseEncoder.encode(response)
    }

    func makeStreamEncoder(for request: ChatRequest) -> OpenAIStreamEncoder {
        OpenAIStreamEncoder(includeUsage: request.includeUsage, created: currentUnixTime())
    }

    func encodeError(_ error: GatewayError) -> JSONValue {
        OpenAIResponseEncoder.encodeError(error)
    }
}

