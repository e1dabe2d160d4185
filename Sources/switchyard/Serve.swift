import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals
import SwitchyardCore
import SwitchyardProviders
import SwitchyardServer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway.")

    @Option(name: .shortAndLong, help: "Config file (default ./switchyard.yaml).")
    var config: String = "switchyard.yaml"

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "info"

    func run() async throws {
        let logger = bootstrapLogging(level: logLevel)
        let gatewayConfig: GatewayConfig
        do {
            gatewayConfig = try ConfigLoader.load(path: config)
        } catch {
            printError("\(config): invalid config\n\(error.description)")
            throw ExitCode(2)
        }
        let path = config
        try await runGateway(config: gatewayConfig, logger: logger, configSource: { () throws(ConfigError) in try ConfigLoader.load(path: path) })
    }
}

/// Runs the gateway until SIGINT/SIGTERM; with a `configSource`, SIGHUP and `POST /admin/reload` re-read it.
func runGateway(
    config: GatewayConfig, logger: Logger, observer: RoutingObserver = RoutingObserver(),
    configSource: (@Sendable () throws(ConfigError) -> GatewayConfig)? = nil,
    onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) async throws {
    limitMallocArenasToAllocatingThreads()
    if config.keys.isEmpty, config.listen.isLoopback {
        logger.warning("No virtual keys configured: the gateway is open to every local process", metadata: ["listen": "\(config.listen)"])
    }
    let store: any AccountingStore
    do {
        store = try await GatewayServices.openStore(for: config)
    } catch {
        printError("Refusing to start: the request log at \(config.storage.postgresURL.map { _ in "the PostgreSQL database" } ?? config.storage.sqlitePath) cannot be opened: \(error)")
        throw ExitCode(2)
    }
    let services: GatewayServices
    do {
        services = try GatewayServices(config: config, logger: logger, observer: observer, configSource: configSource, store: store)
    } catch {
        await store.close()
        printError("Refusing to start: \(error.description)")
        throw ExitCode(2)
    }
    do {
        try await services.restoreBudgets()
    } catch {
        printError("Refusing to start: budgets could not be read from the request log: \(error)")
        throw ExitCode(2)
    }
    raiseOpenFileLimit(logger: logger)
    let app = buildApplication(gateway: services.gateway, onServerRunning: onRunning)
    do {
        try await services.makeServiceGroup(running: app, reloadOnHangup: configSource != nil, logger: logger).run()
    } catch {
        guard let line = StartupFailure.describe(error, listen: config.listen) else { throw error }
        printError("switchyard: \(line)")
        throw ExitCode(1)
    }
}

func bootstrapLogging(level: String) -> Logger {
    LoggingSystem.bootstrap(
        { label, metadataProvider in
            var handler = StandardErrorLogHandler(label: label, metadataProvider: metadataProvider)
            handler.logLevel = Logger.Level(rawValue: level) ?? .info
            return handler
        }, metadataProvider: Telemetry.loggingMetadataProvider)
    var logger = Logger(label: "switchyard")
    logger.logLevel = Logger.Level(rawValue: level) ?? .info
    return logger
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Every client connection and every upstream stream is a descriptor: thousands of concurrent streams
/// need more than the usual soft limit of 1024, so take what the hard limit allows.
func raiseOpenFileLimit(logger: Logger) {
    var limit = rlimit()
    guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    let previous = limit.rlim_cur
    limit.rlim_cur = limit.rlim_max
    if setrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 {
        logger.debug("Raised the open-file limit", metadata: ["from": "\(previous)", "to": "\(limit.rlim_max)"])
    }
}

#if canImport(Glibc)
private let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#else
private let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE
#endif
