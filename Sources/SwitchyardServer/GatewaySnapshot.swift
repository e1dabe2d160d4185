import Synchronization
public import Atomics
import CoreMetrics
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
    /// Attempt spans, when the config turns tracing on (fixed for the process: `telemetry` is read at start).
    var tracing: AttemptTracing? = nil
    /// Each virtual key's usage state, by name, for as long as the process runs: a reload keeps the counts.
    let keyStates = KeyStateRegistry()

    func makeSnapshot(_ config: GatewayConfig) throws(ConfigError) -> GatewaySnapshot {
        let redactor = SecretRedactor(config: config)
        let registry = ProviderRegistry(transports: transports, redactor: redactor, timeSource: timeSource)
        var providers: [ProviderRuntime] = []
        for provider in config.providers {
            providers.append(try registry.makeRuntime(for: provider, breaker: config.routing.circuitBreaker))
        }
        let loop = AttemptLoop(routing: config.routing, timeSource: timeSource, observer: observer, redactor: redactor, tracing: tracing)
        return GatewaySnapshot(
            table: RouteTable(config: config, providers: providers, metrics: metrics, keyStates: keyStates.states(for: config.keys.map(\.name))),
            executor: ChatExecutor(loop: loop, faults: faults))
    }
}

/// Key usage states that outlive snapshots; looked up when a snapshot is built, never per request.
final class KeyStateRegistry: Sendable {
    private let states = Mutex<[String: KeyState]>([:])

    func states(for names: [String]) -> [String: KeyState] {
        states.withLock { states in
            var result: [String: KeyState] = [:]
            for name in names {
                let state = states[name] ?? KeyState(name: name)
                states[name] = state
                result[name] = state
            }
            return result
        }
    }
}
