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
    /// elsewhere), no decompression, the policy's connect and idle-read timeouts, no connect retries, and
    /// as many connections per host as the policy allows (the pool's default of 8 would queue streams).
    public static func makeClient(policy: ConnectionPolicy) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.read = .nanoseconds(policy.idleReadTimeout.nanoseconds)
        configuration.redirectConfiguration = .disallow
        configuration.timeout.connect = .nanoseconds(policy.connectTimeout.nanoseconds)
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: policy.maxConnections)
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
                        return try await iterator.next(isolation: #isolation)
                    } catch {
                        throw Self.classify(error)
                    }
                }
            })
    }

    /// Transport errors → canonical failures; the message never includes the URL's query or credentials.
    ///
    /// Cancellation (the client went away, the gateway is shutting down, the client was shut down) and the
    /// gateway's own saturation are not the provider's fault and are marked so.
    static func classify(_ error: any Error) -> UpstreamFailure {
        if let failure = error as? UpstreamFailure { return failure }
        if error is CancellationError || Task.isCancelled { return .cancelled }
        if let clientError = error as? HTTPClientError {
            switch clientError {
            case .getConnectionFromPoolTimeout:
                return UpstreamFailure(
                    kind: .unavailable, origin: .gatewaySaturated, message: "the gateway's connection limit for this provider is reached")
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout:
                return UpstreamFailure(kind: .timeout, message: "upstream did not respond in time")
            case .cancelled, .alreadyShutdown:
                return .cancelled
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
