import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import SwitchyardCore
import SwitchyardProviders
import SwitchyardServer
import SwitchyardSimulator
import Testing

/// Runs simulated vendors and the real gateway on loopback ports, then a test against them over HTTP.
///
/// Shaped like Hummingbird's live test framework: services run in a task group, the test awaits the
/// bound ports (never sleeps), and everything is cancelled when the test body returns.
enum LiveGateway {
    struct Context: Sendable {
        let port: Int
        let client: HTTPClient
        let services: GatewayServices
        /// Everything the gateway runs; ``shutDown()`` stops it the way SIGTERM does.
        let serviceGroup: ServiceGroup
        /// Opens when the gateway's service group has returned.
        let exited: SimulatorGate

        /// Starts a graceful shutdown, as SIGTERM does.
        func shutDown() async { await serviceGroup.triggerGracefulShutdown() }

        /// Returns once the gateway has exited.
        func gatewayExited() async { await exited.wait() }
        let vendorPorts: [String: Int]
        /// The config file a reload reads (substituted YAML), when the gateway was started reloadable.
        let configPath: String?

        /// Writes `yaml` (with `{{name}}` ports substituted) where a reload will read it.
        func rewriteConfig(_ yaml: String) throws {
            guard let configPath else { throw TestFailure("the gateway was not started reloadable") }
            try substitute(yaml, ports: vendorPorts).write(toFile: configPath, atomically: true, encoding: .utf8)
        }

        var baseURL: String { "http://127.0.0.1:\(port)" }
        var gateway: Gateway { services.gateway }
    }

    /// - Parameters:
    ///   - vendors: simulated vendors to start; their ports are substituted for `{{name}}` in `config`.
    ///   - config: YAML; `{{name}}` becomes the port of the vendor called `name`.
    static func run(
        vendors: [SimulatedVendor],
        config: String,
        timeSource: any TimeSource = SystemTimeSource(),
        observer: RoutingObserver = RoutingObserver(),
        timeout: Duration = .seconds(120),
        reloadable: Bool = false,
        logger testLogger: Logger? = nil,
        _ test: @escaping @Sendable (Context) async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            let (ports, portSink) = AsyncStream.makeStream(of: (String, Int).self)
            for vendor in vendors {
                group.addTask {
                    try await SimulatorServer.makeApplication(vendor: vendor) { portSink.yield((vendor.name, $0)) }.runService()
                }
            }
            var vendorPorts: [String: Int] = [:]
            if !vendors.isEmpty {
                for await (name, port) in ports {
                    vendorPorts[name] = port
                    if vendorPorts.count == vendors.count { break }
                }
            }
            let yaml = substitute(config, ports: vendorPorts)
            let parsed = try ConfigLoader.parse(yaml)
            var logger = testLogger ?? Logger(label: "switchyard.test")
            if testLogger == nil { logger.logLevel = .critical }
            var configPath: String?
            if reloadable {
                let path = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-\(UUID().uuidString).yaml").path
                try yaml.write(toFile: path, atomically: true, encoding: .utf8)
                configPath = path
            }
            var source: (@Sendable () throws(ConfigError) -> GatewayConfig)?
            if let path = configPath {
                source = { () throws(ConfigError) -> GatewayConfig in try ConfigLoader.load(path: path, environment: [:]) }
            }
            let store = try await GatewayServices.openStore(for: parsed)
            let services = try GatewayServices(config: parsed, logger: logger, timeSource: timeSource, observer: observer, configSource: source, store: store)
            try await services.restoreBudgets()
            let (gatewayPorts, gatewayPortSink) = AsyncStream.makeStream(of: Int.self)
            let app = buildApplication(gateway: services.gateway) { gatewayPortSink.yield($0) }
            let serviceGroup = services.makeServiceGroup(running: app, reloadOnHangup: false, signals: [], logger: logger)
            let exited = SimulatorGate()
            group.addTask {
                defer { exited.open() }
                try await serviceGroup.run()
            }
            var iterator = gatewayPorts.makeAsyncIterator()
            guard let port = await iterator.next() else { throw TestFailure("gateway did not start") }
            // Enough connections for the busiest test's clients, and patience for a loaded box: a request must
            // never fail because the test's own pool queued it past a timeout.
            var clientConfiguration = HTTPClient.Configuration(redirectConfiguration: .disallow)
            clientConfiguration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 128)
            clientConfiguration.timeout.connect = .seconds(60)
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: clientConfiguration)
            let context = Context(
                port: port, client: client, services: services, serviceGroup: serviceGroup, exited: exited, vendorPorts: vendorPorts, configPath: configPath)
            defer { if let configPath { try? FileManager.default.removeItem(atPath: configPath) } }
            do {
                try await withTestTimeout(timeout) { try await test(context) }
            } catch {
                // A failed test still stops the gateway the way users do, so its storage closes cleanly
                // (an SQLite connection dropped unclosed traps, which would hide the failure behind a crash).
                await serviceGroup.triggerGracefulShutdown()
                try? await withTestTimeout(.seconds(30)) { await context.gatewayExited() }
                try? await client.shutdown()
                group.cancelAll()
                throw error
            }
            // Stop the gateway as users do (a graceful shutdown, like SIGTERM) and wait for it to exit;
            // only the simulated vendors are cancelled.
            await serviceGroup.triggerGracefulShutdown()
            try await withTestTimeout(timeout) { await context.gatewayExited() }
            try await client.shutdown()
            group.cancelAll()
        }
    }
}

/// `yaml` with each `{{name}}` replaced by that vendor's port.
func substitute(_ yaml: String, ports: [String: Int]) -> String {
    ports.reduce(yaml) { $0.replacingOccurrences(of: "{{\($1.key)}}", with: String($1.value)) }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Fails (instead of hanging) when `body` takes longer than `timeout`.
func withTestTimeout<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw TestFailure("test timed out after \(timeout)") }
        return value
    }
}

/// A response read whole.
struct HTTPResult: Sendable {
    let status: Int
    let headers: HTTPHeaders
    let body: String

    var json: JSONValue? { try? JSONParser.parse(body) }
}

extension LiveGateway.Context {
    func send(
        _ method: HTTPMethod = .POST, _ path: String, body: String? = nil, headers: [String: String] = [:]
    ) async throws -> HTTPResult {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return HTTPResult(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }

    func post(_ path: String, json: JSONValue, key: String? = "test-key", headers: [String: String] = [:]) async throws -> HTTPResult {
        var all = headers
        if let key { all["authorization"] = "Bearer \(key)" }
        return try await send(.POST, path, body: json.jsonString, headers: all)
    }

    /// Opens a streamed response and returns its head and an iterator over SSE events.
    func openStream(
        _ path: String, json: JSONValue, key: String? = "test-key", headers: [String: String] = [:], client: HTTPClient? = nil
    ) async throws -> (HTTPClientResponse, SSEReader) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        if let key { request.headers.add(name: "authorization", value: "Bearer \(key)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: json.jsonString))
        let response = try await (client ?? self.client).execute(request, timeout: .seconds(60))
        return (response, SSEReader(body: response.body))
    }
}
