public import AsyncHTTPClient
public import Prometheus
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
        if config.keys.isEmpty, !config.listen.isLoopback {
            throw ConfigError(
                path: "keys", message: "no virtual keys are configured, so the gateway may only listen on loopback (it would listen on \(config.listen))")
        }
        let connectTimeout = config.providers.map(\.timeout.connect).min() ?? .seconds(5)
        // A stream silent for longer than the most patient provider's first-byte timeout is considered dead.
        let idleRead = config.providers.map(\.timeout.firstByte).max() ?? .seconds(60)
        let client = HTTPClientTransport.makeClient(connectTimeout: connectTimeout, idleReadTimeout: idleRead)
        let transport = HTTPClientTransport(client: client)
        let registry = ProviderRegistry(transport: transport)
        var providers: [ProviderRuntime] = []
        do {
            for provider in config.providers { providers.append(try registry.makeRuntime(for: provider, breaker: config.routing.circuitBreaker)) }
        } catch {
            try? client.syncShutdown()
            throw error
        }
        let metricsRegistry = PrometheusCollectorRegistry()
        let metricsFactory = PrometheusMetricsFactory(registry: metricsRegistry)
        let alerts = config.alertWebhook.map { AlertDispatcher(webhook: $0, transport: transport, logger: logger) }
        let routingObserver = RoutingObserver(metrics: RoutingEventMetrics(factory: metricsFactory)) { event in
            alerts?.enqueue(event)
            observer.notify(event)
        }
        let loop = AttemptLoop(routing: config.routing, timeSource: timeSource, observer: routingObserver)
        let executor = ChatExecutor(transport: transport, loop: loop, faults: FaultInjector(faults: config.faults))
        self.gateway = Gateway(
            table: RouteTable(config: config, providers: providers, metrics: metricsFactory), executor: executor, logger: logger,
            metrics: metricsFactory, metricsRegistry: metricsRegistry)
        self.httpClient = client
        self.alerts = alerts
    }

    /// The alert webhook sender, when the config names a webhook.
    public let alerts: AlertDispatcher?

    /// A service that shuts the HTTP client down on graceful shutdown.
    public var httpClientService: some Service { HTTPClientService(client: httpClient) }

    /// Every long-lived service besides the HTTP server: run them in the same service group.
    public var backgroundServices: [any Service] {
        var services: [any Service] = [HTTPClientService(client: httpClient)]
        if let alerts { services.append(alerts) }
        return services
    }
}

struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
