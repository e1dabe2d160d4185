import ArgumentParser
import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import SwitchyardCore
import SwitchyardProviders
import SwitchyardServer
import SwitchyardSimulator

/// Measures what the gateway adds: the same requests sent straight to a simulated vendor and through
/// Switchyard, at a fixed concurrency, non-streamed and streamed. Run it in release:
/// `swift run -c release switchyard-bench`.
@main
struct Bench: AsyncParsableCommand {
    @Option(help: "Requests per scenario.") var requests = 20_000
    @Option(help: "Requests in flight.") var concurrency = 32
    @Flag(help: "Instead: time parsing JSON objects with many keys (parsing must stay linear in the key count).") var json = false

    func run() async throws {
        if json { return try JSONScaling.printTable() }
        var logger = Logger(label: "bench")
        logger.logLevel = .critical
        let vendor = SimulatedVendor(name: "oai", format: .openai, defaultReply: SimulatedReply(text: "The quick brown fox jumps over the lazy dog."))
        try await withThrowingTaskGroup(of: Void.self) { group in
            let (ports, sink) = AsyncStream.makeStream(of: Int.self)
            group.addTask { try await SimulatorServer.makeApplication(vendor: vendor) { sink.yield($0) }.runService() }
            var portIterator = ports.makeAsyncIterator()
            guard let vendorPort = await portIterator.next() else { return }
            let config = try ConfigLoader.parse(
                """
                listen: 127.0.0.1:0
                providers:
                  oai: {type: openai, base_url: "http://127.0.0.1:\(vendorPort)/v1", keys: [k1, k2]}
                models:
                  smart: oai/gpt-4o
                keys:
                  - {name: bench, key: bench-key}
                """)
            // Accounting on, as users run it: the request log is written (in memory here).
            let services = try GatewayServices(config: config, logger: logger, store: try await GatewayServices.openStore(for: config))
            let (gatewayPorts, gatewaySink) = AsyncStream.makeStream(of: Int.self)
            let app = buildApplication(gateway: services.gateway) { gatewaySink.yield($0) }
            let serviceGroup = services.makeServiceGroup(running: app, reloadOnHangup: false, signals: [], logger: logger)
            group.addTask { try await serviceGroup.run() }
            var gatewayIterator = gatewayPorts.makeAsyncIterator()
            guard let gatewayPort = await gatewayIterator.next() else { return }
            let client = HTTPClient(
                eventLoopGroupProvider: .singleton,
                configuration: .init(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)))
            print("| scenario | requests | concurrency | req/s | p50 ms | p99 ms |")
            print("| --- | --- | --- | --- | --- | --- |")
            for stream in [false, true] {
                for (name, port, key) in [("direct to simulator", vendorPort, "k1"), ("through Switchyard", gatewayPort, "bench-key")] {
                    let result = try await measure(client: client, port: port, key: key, stream: stream)
                    print("| \(name)\(stream ? ", streamed" : "") | \(requests) | \(concurrency) | \(Int(result.rate)) | \(format(result.p50)) | \(format(result.p99)) |")
                }
            }
            try await client.shutdown()
            await serviceGroup.triggerGracefulShutdown()
            group.cancelAll()
        }
    }

    private func format(_ seconds: Double) -> String { String(format: "%.2f", seconds * 1000) }

    private func measure(client: HTTPClient, port: Int, key: String, stream: Bool) async throws -> (rate: Double, p50: Double, p99: Double) {
        let body = #"{"model":"\#(key == "k1" ? "gpt-4o" : "smart")","stream":\#(stream),"messages":[{"role":"user","content":"Say something short."}]}"#
        let counter = Counter()
        let started = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var samples: [Double] = []
                    while counter.next() < requests {
                        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
                        request.method = .POST
                        request.headers.add(name: "authorization", value: "Bearer \(key)")
                        request.headers.add(name: "content-type", value: "application/json")
                        request.body = .bytes(ByteBuffer(string: body))
                        let begin = ContinuousClock.now
                        let response = try await client.execute(request, timeout: .seconds(30))
                        _ = try await response.body.collect(upTo: 1 << 20)
                        guard response.status == .ok else { throw BenchError(status: Int(response.status.code)) }
                        let elapsed = ContinuousClock.now - begin
                        samples.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
                    }
                    return samples
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }.sorted()
        }
        let total = ContinuousClock.now - started
        let seconds = Double(total.components.seconds) + Double(total.components.attoseconds) / 1e18
        return (Double(latencies.count) / seconds, latencies[latencies.count / 2], latencies[latencies.count * 99 / 100])
    }
}

struct BenchError: Error {
    let status: Int
}

final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func next() -> Int { value.wrappingAdd(1, ordering: .relaxed).oldValue }
}

/// Parse time of one JSON object by key count: hostile bodies with many keys must cost linear time.
enum JSONScaling {
    static func printTable() throws {
        print("| keys | body bytes | parse ms (best of 5) | per key µs |")
        print("| --- | --- | --- | --- |")
        for count in [1_000, 10_000, 100_000] {
            let body = Array(("{" + (0..<count).map { #""key\#($0)":\#($0)"# }.joined(separator: ",") + "}").utf8)
            var best = Duration.seconds(1000)
            for _ in 0..<5 {
                let elapsed = try ContinuousClock().measure { _ = try JSONParser.parse(body) }
                best = min(best, elapsed)
            }
            let millis = best.seconds * 1000
            print("| \(count) | \(body.count) | \(String(format: "%.2f", millis)) | \(String(format: "%.3f", millis * 1000 / Double(count))) |")
        }
    }
}
