public import Atomics
public import CoreMetrics
public import SwitchyardCore
import SwitchyardProviders

/// Everything one config produces for the request path: routes, providers and their health, and the
/// executor with the routing limits. A request reads the current snapshot once and keeps it; a reload
/// builds a new one and swaps it whole.
public final class GatewaySnapshot: AtomicReference, Sendable {
    public let table: RouteTable
    public let executor: ChatExecutor

    public init(table: RouteTable, executor: ChatExecutor) {
        self.table = table
        self.executor = executor
    }

    public var config: GatewayConfig { table.config }
}

/// Builds snapshots from configs. It lives as long as the process so that every snapshot shares the
/// upstream transport, the metrics, the alert hook and the drill switches.
struct SnapshotBuilder: Sendable {
    let transports: any UpstreamTransportFactory
    let metrics: any MetricsFactory
    let observer: RoutingObserver
    let timeSource: any TimeSource
    let faults: FaultInjector

    func makeSnapshot(_ config: GatewayConfig) throws(ConfigError) -> GatewaySnapshot {
        let redactor = SecretRedactor(config: config)
        let registry = ProviderRegistry(transports: transports, redactor: redactor, timeSource: timeSource)
        var providers: [ProviderRuntime] = []
        for provider in config.providers {
            providers.append(try registry.makeRuntime(for: provider, breaker: config.routing.circuitBreaker))
        }
        let loop = AttemptLoop(routing: config.routing, timeSource: timeSource, observer: observer, redactor: redactor)
        return GatewaySnapshot(
            table: RouteTable(config: config, providers: providers, metrics: metrics),
            executor: ChatExecutor(loop: loop, faults: faults))
    }
}
