import SwitchyardCore
import SwitchyardProviders

/// A client-facing wire format: how requests are read and answers, streams and errors are written.
/// One dialect, one conformance; the chat handler is shared.
protocol ClientDialect: Sendable {
    associatedtype StreamEncoder: DialectStreamEncoder
    /// What a dialect keeps from reading a request to writing its answer (the Responses API: the answer's
    /// id, the echoed fields and the conversation).
    associatedtype Context: Sendable = Void

    /// Reads a chat request body (a dialect with conversation state may look it up for `key`).
    func decodeChat(_ body: JSONValue, headers: [(name: String, value: String)], key: VirtualKeyConfig?) async throws(GatewayError) -> (ChatRequest, Context)
    /// Writes a complete answer.
    func encodeResponse(_ response: ChatResponse, for request: ChatRequest, context: Context) -> JSONValue
    /// A fresh encoder for one streamed answer.
    func makeStreamEncoder(for request: ChatRequest, context: Context) -> StreamEncoder
    /// Writes an error body.
    func encodeError(_ error: GatewayError) -> JSONValue
    /// The HTTP status of an error, as this dialect's SDKs expect it with the error's type.
    func status(for error: GatewayError) -> Int
    /// Hears of a finished answer (complete, or a stream's assembled one) before its last bytes leave, so
    /// that state the dialect keeps is in place when the client sees the end.
    func answered(_ answer: JSONValue, context: Context) async
    /// Whether ``answered(_:context:)`` wants answers that went back as the vendor sent them too (read
    /// from their bytes; otherwise those are never parsed).
    var keepsAnswers: Bool { get }
    /// The whole answer in one forwarded stream event, if the event carries it (the Responses API's
    /// `response.completed`).
    func answer(inForwarded event: SSEEvent) -> JSONValue?
}

extension ClientDialect {
    func status(for error: GatewayError) -> Int { error.status }
    func answered(_ answer: JSONValue, context: Context) async {}
    var keepsAnswers: Bool { false }
    func answer(inForwarded event: SSEEvent) -> JSONValue? { nil }
}

/// Writes one streamed answer in a dialect's SSE form.
protocol DialectStreamEncoder: Sendable {
    mutating func encode(_ event: ChatEvent, into output: inout [UInt8])
    /// The bytes that close a completed stream.
    mutating func encodeEnd(into output: inout [UInt8])
    /// The last event of a stream that failed after it started.
    mutating func encodeError(_ error: GatewayError, into output: inout [UInt8])
    /// The whole answer once ``encodeEnd(into:)`` wrote it, for dialects that keep answers.
    var answer: JSONValue? { get }
}

extension DialectStreamEncoder {
    var answer: JSONValue? { nil }
}

/// The OpenAI Chat Completions dialect.
struct OpenAIDialect: ClientDialect {
    func decodeChat(_ body: JSONValue, headers: [(name: String, value: String)], key: VirtualKeyConfig?) throws(GatewayError) -> (ChatRequest, Void) {
        (try OpenAIRequestDecoder.decodeChat(body, headers: headers), ())
    }

    func encodeResponse(_ response: ChatResponse, for request: ChatRequest, context: Void) -> JSONValue {
        OpenAIResponseEncoder.encode(response)
    }

    func makeStreamEncoder(for request: ChatRequest, context: Void) -> OpenAIStreamEncoder {
        OpenAIStreamEncoder(includeUsage: request.includeUsage, created: currentUnixTime())
    }

    func encodeError(_ error: GatewayError) -> JSONValue {
        OpenAIResponseEncoder.encodeError(error)
    }
}

