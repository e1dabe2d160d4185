public import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import NIOPosix
public import SwitchyardCore

/// The upstream transport over one shared, pooled AsyncHTTPClient.
public struct HTTPClientTransport: UpstreamTransport {
    public let client: HTTPClient

    public init(client: HTTPClient) {
        self.client = client
    }

    /// A client configured for upstream calls: pooled, no redirects (they would carry credentials
    /// elsewhere), no decompression, `connectTimeout` per connection attempt, no connect retries.
    /// - Parameter idleReadTimeout: how long an upstream may stay silent mid-response before the attempt fails.
    public static func makeClient(connectTimeout: Duration, idleReadTimeout: Duration) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.read = .nanoseconds(idleReadTimeout.nanoseconds)
        configuration.redirectConfiguration = .disallow
        configuration.timeout.connect = .nanoseconds(connectTimeout.nanoseconds)
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        // A refused connection is a failed attempt: the router fails over at once instead of the pool
        // retrying the same dead host until the connect timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.decompression = .disabled
        // No distributed tracing is bootstrapped; skip the per-request no-op spans.
        configuration.tracing.tracer = nil
        return HTTPClient(eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton), configuration: configuration)
    }

    public func execute(_ request: UpstreamRequest, headDeadline: ContinuousClock.Instant) async throws(UpstreamFailure) -> UpstreamResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let body = request.body { outgoing.body = .bytes(body) }
        let remaining = headDeadline - .now
        let deadline = NIODeadline.now() + .nanoseconds(max(0, remaining.nanoseconds))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(outgoing, deadline: deadline)
        } catch {
            throw Self.classify(error)
        }
        var headers = HeaderFields()
        for header in response.headers { headers.add(header.name, header.value) }
        let body = response.body
        return UpstreamResponse(
            head: UpstreamHead(status: Int(response.status.code), headers: headers),
            body: UpstreamBody {
                var iterator = body.makeAsyncIterator()
                return UpstreamBody.AsyncIterator {
                    do {
                        return try await iterator.next()
                    } catch {
                        throw Self.classify(error)
                    }
                }
            })
    }

    /// Transport errors → canonical failures; the message never includes the URL's query or credentials.
    static func classify(_ error: any Error) -> UpstreamFailure {
        if let failure = error as? UpstreamFailure { return failure }
        if error is CancellationError { return UpstreamFailure(kind: .timeout, message: "the request was cancelled") }
        if let clientError = error as? HTTPClientError {
            switch clientError {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout:
                return UpstreamFailure(kind: .timeout, message: "upstream did not respond in time")
            case .cancelled:
                return UpstreamFailure(kind: .timeout, message: "the request was cancelled")
            case .remoteConnectionClosed:
                return UpstreamFailure(kind: .unavailable, message: "upstream closed the connection")
            default:
                return UpstreamFailure(kind: .unavailable, message: "upstream connection failed: \(clientError.shortDescription)")
            }
        }
        if error is ChannelError { return UpstreamFailure(kind: .unavailable, message: "upstream connection failed") }
        return UpstreamFailure(kind: .unavailable, message: "upstream connection failed: \(String(describing: type(of: error)))")
    }
}

extension HTTPClientError {
    fileprivate var shortDescription: String {
        let text = String(describing: self)
        return text.count > 120 ? String(text.prefix(120)) : text
    }
}
