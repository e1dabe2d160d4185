import AsyncHTTPClient
import NIOCore
import SwitchyardCore
import SwitchyardProviders

/// Reads server-sent events from a streamed response as they arrive.
final class SSEReader: @unchecked Sendable {
    // Used by one test task only.
    private var iterator: HTTPClientResponse.Body.AsyncIterator
    private var decoder = SSEDecoder()
    private var pending: [SSEEvent] = []

    init(body: HTTPClientResponse.Body) {
        iterator = body.makeAsyncIterator()
    }

    /// The next event, or `nil` at the end of the stream.
    func next() async throws -> SSEEvent? {
        while pending.isEmpty {
            guard let chunk = try await iterator.next() else {
                pending.append(contentsOf: try decoder.finish())
                break
            }
            pending.append(contentsOf: try decoder.decode(chunk))
        }
        return pending.isEmpty ? nil : pending.removeFirst()
    }

    /// The rest of the body as text (an error answer is JSON, not events).
    func remainingText(upTo limit: Int = 1 << 20) async throws -> String {
        var bytes = ByteBuffer()
        while bytes.readableBytes < limit, var chunk = try await iterator.next() { bytes.writeBuffer(&chunk) }
        return String(buffer: bytes)
    }

    /// Every remaining event.
    func all() async throws -> [SSEEvent] {
        var events: [SSEEvent] = []
        while let event = try await next() { events.append(event) }
        return events
    }
}

extension SSEEvent {
    var json: JSONValue? { try? JSONParser.parse(data) }
}
