import AsyncHTTPClient
import Prometheus
public import Logging
public import ServiceLifecycle
public import UnixSignals
public import SwitchyardCore
public import SwitchyardProviders
import SwitchyardStorage
import Atomics
import Foundation

/// Everything built from one config: the gateway and the long-lived services it needs.
public struct GatewayServices: Sendable {
    public let gateway: Gateway
    /// The upstream HTTP clients (one per connection policy); the service group shuts them down last.
    public let clients: UpstreamTransportPool

    /// Builds providers, routes and the executor from `config`.
    /// - Parameter timeSource: the router's clock (tests pass one they can move).
    ///   - configSource: where ``Gateway/reload()`` reads the config again (`serve` passes the config file).
    ///   - store: where the request log is written (``openStore(for:)``); nil keeps no log.
    public init(
        config: GatewayConfig, logger: Logger, timeSource: any TimeSource = SystemTimeSource(), observer: RoutingObserver = RoutingObserver(),
        configSource: (@Sendable () throws(ConfigError) -> GatewayConfig)? = nil, store: (any AccountingStore)? = nil
    ) throws(ConfigError) {
        try config.checkNotOpen(listeningOn: config.listen)
        let clients = UpstreamTransportPool(environment: ProcessInfo.processInfo.environment)
        if clients.hasCAFile {
            do {
                try clients.checkTLS()
            } catch {
                throw ConfigError(path: "SWITCHYARD_CA_FILE", message: "the CA file could not be loaded: \(error)")
            }
        }
        // Webhook alerts go out with default connection settings; providers get their own (per snapshot).
        let transport = clients.transport(for: ConnectionPolicy())
        let metricsRegistry = PrometheusCollectorRegistry()
        let metricsFactory = PrometheusMetricsFactory(registry: metricsRegistry)
        let alerts = config.alertWebhook.map { AlertDispatcher(webhook: $0, transport: transport, logger: logger) }
        let events = DashboardEventFeed()
        let routingObserver = RoutingObserver(metrics: RoutingEventMetrics(factory: metricsFactory)) { event in
            events.publish(event)
            alerts?.enqueue(event)
            observer.notify(event)
        }
        var telemetry: Telemetry?
        if let settings = config.telemetry {
            do {
                telemetry = try Telemetry.make(settings)
            } catch {
                clients.shutdownNow()
                throw ConfigError(path: "telemetry", message: "tracing could not start: \(error)")
            }
        }
        let builder = SnapshotBuilder(
            transports: clients, metrics: metricsFactory, observer: routingObserver, timeSource: timeSource, faults: FaultInjector(faults: config.faults),
            tracing: telemetry.map { AttemptTracing(tracer: $0.tracer) })
        let snapshot: GatewaySnapshot
        do {
            snapshot = try builder.makeSnapshot(config)
        } catch {
            clients.shutdownNow()
            throw error
        }
        let requestLog = store.map { RequestLog(store: $0, logger: logger, metrics: metricsFactory) }
        self.gateway = Gateway(
            snapshot: snapshot, builder: builder, configSource: configSource, logger: logger, metrics: metricsFactory, metricsRegistry: metricsRegistry,
            requestLog: requestLog,
            alert: { payload in
                events.publishAlert(payload)
                alerts?.enqueue(payload: payload)
            }, events: events, tracer: telemetry?.tracer)
        self.clients = clients
        self.alerts = alerts
        self.telemetry = telemetry
    }

    /// The alert webhook sender, when the config names a webhook.
    public let alerts: AlertDispatcher?
    /// The span exporter, when the config turns tracing on.
    public let telemetry: Telemetry?

    /// Restores each budgeted key's spending this period from the request log, so a restart cannot reset a
    /// budget. Call before serving.
    /// Also puts the managed keys kept in storage back in force.
    public func restoreBudgets() async throws {
        guard let log = gateway.requestLog else { return }
        if let keyStore = gateway.managedKeyStore { gateway.installManagedKeys(try await keyStore.loadKeys()) }
        let table = gateway.table
        let managed = gateway.managedKeys.load(ordering: .acquiring)
        let keys = table.config.keys.map { ($0.name, $0.budget) } + managed.table.byName.values.map { ($0.name, $0.budget) }
        for (name, budget) in keys {
            guard let budget, let state = table.keyStates[name] ?? managed.states[name] else { continue }
            let since = KeyState.periodStart(budget.period, at: Date())
            state.restore(spent: try await log.store.spend(keyName: name, since: since), budget: budget)
        }
    }

    /// Opens (creating and migrating) the request log's database the config names.
    public static func openStore(for config: GatewayConfig) async throws -> any AccountingStore {
        if let url = config.storage.postgresURL { return try await PostgresAccountingStore.open(url: url) }
        return try await SQLiteAccountingStore.open(path: config.storage.sqlitePath)
    }

    /// The service group that runs `app` with everything the gateway needs, in shutdown order: on SIGTERM
    /// (or ``ServiceGroup/triggerGracefulShutdown()``) readiness turns 503 first, then the HTTP server stops
    /// accepting and lets in-flight requests and streams finish, then alerts flush, and the upstream clients
    /// close last. If work is still running when `shutdown_grace` ends, the upstream clients close early,
    /// so every remaining stream ends with an error event in its dialect.
    /// - Parameters:
    ///   - reloadOnHangup: re-read the config on SIGHUP.
    ///   - signals: the signals that start a graceful shutdown (none in tests, which trigger it themselves).
    public func makeServiceGroup(
        running app: some Service, reloadOnHangup: Bool, signals: [UnixSignal] = [.sigterm, .sigint], logger: Logger
    ) -> ServiceGroup {
        let grace = gateway.config.shutdownGrace
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: UpstreamShutdownService(clients: clients, drain: gateway.drain, grace: grace, logger: logger))
        ]
        // The request log stops after the HTTP server: the last requests' records are written before it closes.
        if let log = gateway.requestLog { services.append(.init(service: RequestLogService(log: log, retention: gateway.config.storage.retention, logger: logger))) }
        if let alerts { services.append(.init(service: alerts)) }
        // Spans are exported until after the HTTP server stopped, so the last requests' spans are sent.
        if let telemetry { services.append(.init(service: telemetry.service)) }
        services.append(.init(service: EventLoopAffineService(app)))
        if reloadOnHangup { services.append(.init(service: ReloadOnHangupService(gateway: gateway))) }
        services.append(.init(service: DrainStartService(drain: gateway.drain, logger: logger)))
        var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: signals, logger: logger)
        // A backstop only: the grace itself is enforced by closing the upstream clients.
        configuration.maximumGracefulShutdownDuration = grace + .seconds(10)
        return ServiceGroup(configuration: configuration)
    }
}

/// Writes the request log in the background, prunes it past its retention, and flushes it on shutdown.
struct RequestLogService: Service {
    let log: RequestLog
    let retention: Duration
    let logger: Logger
    /// How often queued records are written: the most a crash can lose.
    static let flushInterval: Duration = .milliseconds(250)
    /// The wait between flushes (tests stand in for the clock).
    var pause: @Sendable (Duration) async -> Void = { try? await Task.sleep(for: $0) }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var lastPrune = ContinuousClock.now - .seconds(3600)
            while !Task.isCancelled {
                // A batch being written is never interrupted: the shutdown cancels this loop, and a database
                // driver that honours cancellation (PostgreSQL's) would fail the insert and shed its entries.
                await Task { await log.flush() }.value
                if ContinuousClock.now - lastPrune >= .seconds(3600) {
                    lastPrune = .now
                    let horizon = Date().addingTimeInterval(-retention.seconds)
                    try? await log.store.prune(before: horizon)
                    try? await (log.store as? any ResponseStore)?.pruneResponses(before: horizon)
                }
                // A full batch that queued up while writing goes at once: pausing with a backlog would
                // cap the log's rate below the store's and shed records under a load the store could take.
                if !log.hasFullBatchWaiting { await pause(Self.flushInterval) }
            }
        }
        await log.flush()
        await log.store.close()
        logger.info("Request log flushed and closed", metadata: ["shed": "\(log.shedCount)"])
    }
}

/// The first service to hear of a shutdown: marks the gateway draining (readiness answers 503).
struct DrainStartService: Service {
    let drain: DrainState
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        drain.begin()
        logger.info("Shutting down: draining in-flight requests")
    }
}

/// Closes the upstream clients last, once the HTTP server drained; or when the shutdown grace runs out
/// first, closes them then, which ends every upstream request still running.
struct UpstreamShutdownService: Service {
    let clients: UpstreamTransportPool
    let drain: DrainState
    let grace: Duration
    let logger: Logger

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await drain.waitUntilDraining()
                guard (try? await Task.sleep(for: grace)) != nil else { return }
                drain.endGrace()
                logger.warning("Shutdown grace is over: ending the requests still in flight", metadata: ["grace.seconds": "\(grace.seconds)"])
                await clients.shutdown()
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        await clients.shutdown()
    }
}

/// Reloads the config whenever the process receives SIGHUP.
struct ReloadOnHangupService: Service {
    let gateway: Gateway

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
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
