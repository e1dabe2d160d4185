public import NIOCore
public import SwitchyardCore

/// The gateway's pure hot-path steps, reachable from the micro-benchmarks (`Benchmarks/`) without making
/// the dialects public: `@_spi(Benchmarks) import SwitchyardServer`.
@_spi(Benchmarks) public enum HotPathProbes {
    public enum ClientDialectName: Sendable {
        case openai
        case anthropic
    }

    /// Reads an HTTP/1 request (head and body) as the listener does, up to the HTTPTypes request; returns
    /// the number of body bytes read.
    public static func readRequest(_ bytes: ByteBuffer) throws -> Int {
        var parser = HTTP1RequestParser()
        var unread = bytes
        var bodyBytes = 0
        while let part = try parser.next(&unread) ?? parser.endOfCompleteBody() {
            switch part {
            case .head(let head): _ = try HTTP1RequestConversion.request(head)
            case .body(let body): bodyBytes += body.readableBytes
            case .end: return bodyBytes
            }
        }
        return bodyBytes
    }

    /// Reads a client's request body as the gateway does: JSON parse, then the dialect's decoder.
    public static func decodeRequest(_ body: ByteBuffer, dialect: ClientDialectName) throws -> ChatRequest {
        let json = try parseRequestObject(body.readableBytesView)
        switch dialect {
        case .openai: return try OpenAIDialect().decodeChat(json, headers: [], key: nil).0
        case .anthropic: return try AnthropicDialect().decodeChat(json, headers: [], key: nil).0
        }
    }

    /// Writes a complete answer in the client's dialect, as bytes.
    public static func encodeResponse(_ response: ChatResponse, for request: ChatRequest, dialect: ClientDialectName) -> [UInt8] {
        switch dialect {
        case .openai: return OpenAIDialect().encodeResponse(response, for: request, context: ()).jsonBytes
        case .anthropic: return AnthropicDialect().encodeResponse(response, for: request, context: ()).jsonBytes
        }
    }

    /// Writes canonical stream events in the client's dialect; returns the bytes written.
    public static func encodeStream(_ events: [ChatEvent], for request: ChatRequest, dialect: ClientDialectName) -> Int {
        var output: [UInt8] = []
        output.reserveCapacity(4096)
        switch dialect {
        case .openai:
            var encoder = OpenAIDialect().makeStreamEncoder(for: request, context: ())
            for event in events { encoder.encode(event, into: &output) }
            encoder.encodeEnd(into: &output)
        case .anthropic:
            var encoder = AnthropicDialect().makeStreamEncoder(for: request, context: ())
            for event in events { encoder.encode(event, into: &output) }
            encoder.encodeEnd(into: &output)
        }
        return output.count
    }
}
