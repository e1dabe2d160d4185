public import AsyncHTTPClient
public import Logging
public import ServiceLifecycle
public import SwitchyardCore
import SwitchyardProviders

/// Everything built from one config: the gateway and the long-lived services it needs.
public struct GatewayServices: Sendable {
    public let gateway: Gateway
    /// The shared upstream HTTP client; run ``httpClientService`` so it shuts down with the process.
    public let httpClient: HTTPClient

    /// Builds providers, routes and the executor from `config`.
    /// - Parameter timeSource: the router's clock (tests pass one they can move).
    public init(
        config: GatewayConfig, logger: Logger, timeSource: any TimeSource = SystemTimeSource(), observer: RoutingObserver = RoutingObserver()
    ) throws(ConfigError) {
        let connectTimeout = config.providers.map(\.timeout.connect).min() ?? .seconds(5)
        let client = HTTPClientTransport.makeClient(connectTimeout: connectTimeout)
        let transport = HTTPClientTransport(client: client)
        let registry = ProviderRegistry(transport: transport)
        var providers: [ProviderRuntime] = []
        do {
            for provider in config.providers { providers.append(try registry.makeRuntime(for: provider)) }
        } catch {
            try? client.syncShutdown()
            throw error
        }
        let loop = AttemptLoop(routing: config.routing, timeSource: timeSource, observer: observer)
        self.gateway = Gateway(table: RouteTable(config: config, providers: providers), executor: ChatExecutor(transport: transport, loop: loop), logger: logger)
        self.httpClient = client
    }

    /// A service that shuts the HTTP client down on graceful shutdown.
    public var httpClientService: some Service { HTTPClientService(client: httpClient) }
}

struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
