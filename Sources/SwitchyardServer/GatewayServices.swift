public import AsyncHTTPClient
public import Prometheus
public import Logging
public import ServiceLifecycle
import UnixSignals
public import SwitchyardCore
import SwitchyardProviders

/// Everything built from one config: the gateway and the long-lived services it needs.
public struct GatewayServices: Sendable {
    public let gateway: Gateway
    /// The shared upstream HTTP client; ``backgroundServices`` shuts it down with the process.
    public let httpClient: HTTPClient

    /// Builds providers, routes and the executor from `config`.
    /// - Parameter timeSource: the router's clock (tests pass one they can move).
    ///   - configSource: where ``Gateway/reload()`` reads the config again (`serve` passes the config file).
    public init(
        config: GatewayConfig, logger: Logger, timeSource: any TimeSource = SystemTimeSource(), observer: RoutingObserver = RoutingObserver(),
        configSource: (@Sendable () throws(ConfigError) -> GatewayConfig)? = nil
    ) throws(ConfigError) {
        try config.checkNotOpen(listeningOn: config.listen)
        let connectTimeout = config.providers.map(\.timeout.connect).min() ?? .seconds(5)
        // A stream silent for longer than the most patient provider's first-byte timeout is considered dead.
        let idleRead = config.providers.map(\.timeout.firstByte).max() ?? .seconds(60)
        let client = HTTPClientTransport.makeClient(connectTimeout: connectTimeout, idleReadTimeout: idleRead)
        let transport = HTTPClientTransport(client: client)
        let metricsRegistry = PrometheusCollectorRegistry()
        let metricsFactory = PrometheusMetricsFactory(registry: metricsRegistry)
        let alerts = config.alertWebhook.map { AlertDispatcher(webhook: $0, transport: transport, logger: logger) }
        let routingObserver = RoutingObserver(metrics: RoutingEventMetrics(factory: metricsFactory)) { event in
            alerts?.enqueue(event)
            observer.notify(event)
        }
        let builder = SnapshotBuilder(
            transport: transport, metrics: metricsFactory, observer: routingObserver, timeSource: timeSource, faults: FaultInjector(faults: config.faults))
        let snapshot: GatewaySnapshot
        do {
            snapshot = try builder.makeSnapshot(config)
        } catch {
            try? client.syncShutdown()
            throw error
        }
        self.gateway = Gateway(
            snapshot: snapshot, builder: builder, configSource: configSource, logger: logger, metrics: metricsFactory, metricsRegistry: metricsRegistry)
        self.httpClient = client
        self.alerts = alerts
    }

    /// The alert webhook sender, when the config names a webhook.
    public let alerts: AlertDispatcher?

    /// Every long-lived service besides the HTTP server: run them in the same service group.
    public var backgroundServices: [any Service] {
        var services: [any Service] = [HTTPClientService(client: httpClient)]
        if let alerts { services.append(alerts) }
        return services
    }

    /// A service that reloads the config on SIGHUP.
    public var reloadOnHangup: some Service { ReloadOnHangupService(gateway: gateway) }
}

struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}

/// Reloads the config whenever the process receives SIGHUP.
struct ReloadOnHangupService: Service {
    let gateway: Gateway

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        try await cancelWhenGracefulShutdown {
            for await _ in signals {
                do {
                    try gateway.reload()
                } catch {
                    gateway.logger.error("Config reload failed; keeping the running config", metadata: ["config.error": "\(error)"])
                }
            }
        }
    }
}
