import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import NIOCore
import NIOHTTP1
import NIOPosix
import SwitchyardCore
import SwitchyardSimulator
import SwitchyardStorage
import Synchronization
import Testing

/// `kill -9` under load: the database opens cleanly afterwards, and every entry the gateway had written
/// (everything acknowledged before the last flush, which the admin API forces) is there.
@Suite("Request log across a crash")
struct CrashTests {
    /// The `switchyard` binary built beside the tests.
    static var binary: String? {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [directory, directory.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("switchyard").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    static func freePort() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
        defer { try? channel.close().wait() }
        return channel.localAddress?.port ?? 0
    }

    @Test func killedUnderLoadTheLogKeepsWhatWasWritten() async throws {
        let binary = try #require(Self.binary, "the switchyard executable is built with the tests")
        let vendor = SimulatedVendor(name: "oai", format: .openai, defaultReply: SimulatedReply(text: "ok"), retainedRequests: 100)
        try await withThrowingTaskGroup(of: Void.self) { group in
            let (ports, sink) = AsyncStream.makeStream(of: Int.self)
            // The vendor stops gracefully at the end: it may still be accepting connections the killed gateway opened.
            let simulator = ServiceGroup(
                configuration: .init(services: [SimulatorServer.makeApplication(vendor: vendor) { sink.yield($0) }], logger: Logger(label: "test.simulator")))
            group.addTask { try await simulator.run() }
            var iterator = ports.makeAsyncIterator()
            let vendorPort = try #require(await iterator.next())
            let directory = NSTemporaryDirectory() + "switchyard-crash-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let port = try Self.freePort()
            let config = """
                listen: 127.0.0.1:\(port)
                admin_key: admin-key-0123456789
                storage: sqlite:log.db
                providers:
                  oai: {type: openai, base_url: "http://127.0.0.1:\(vendorPort)/v1", keys: [k]}
                models:
                  gpt: oai/gpt-4o
                """
            try config.write(toFile: directory + "/switchyard.yaml", atomically: true, encoding: .utf8)

            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["serve", "--config", directory + "/switchyard.yaml", "--log-level", "info"]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            let started = Started()
            // Output arrives in pieces of any size: the word is looked for in everything read so far.
            let printed = Mutex("")
            output.fileHandleForReading.readabilityHandler = { handle in
                let chunk = String(decoding: handle.availableData, as: UTF8.self)
                if printed.withLock({ $0 += chunk; return $0.contains("listening") }) { started.signal() }
            }
            // Awaited, not waited for: `waitUntilExit()` would block a thread of the shared pool the other tests run on.
            let exited = Started()
            process.terminationHandler = { _ in exited.signal() }
            try process.run()
            defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
            await started.wait()

            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            func ask(_ index: Int) async throws -> String? {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/chat/completions")
                request.method = .POST
                request.headers.add(name: "content-type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: #"{"model":"gpt","messages":[{"role":"user","content":"n\#(index)"}]}"#))
                let response = try await client.execute(request, timeout: .seconds(30))
                _ = try await response.body.collect(upTo: 1 << 20)
                return response.status == .ok ? response.headers.first(name: "x-request-id") : nil
            }
            // A first wave, acknowledged; the admin API flushes it, so it is written.
            let acknowledged = try await withThrowingTaskGroup(of: String?.self) { wave in
                for index in 0..<60 { wave.addTask { try await ask(index) } }
                return try await wave.reduce(into: [String]()) { if let id = $1 { $0.append(id) } }
            }
            var admin = HTTPClientRequest(url: "http://127.0.0.1:\(port)/admin/requests?limit=1000")
            admin.headers.add(name: "authorization", value: "Bearer admin-key-0123456789")
            let listed = try await client.execute(admin, timeout: .seconds(30))
            let page = try JSONParser.parse(try await listed.body.collect(upTo: 16 << 20).readableBytesView)
            let flushed = Set(page["requests"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? [])
            #expect(flushed.isSuperset(of: acknowledged))

            // Then load keeps coming while the process is killed outright.
            let load = Task {
                try await withThrowingTaskGroup(of: Void.self) { more in
                    for index in 60..<400 { more.addTask { _ = try? await ask(index) } }
                    try await more.waitForAll()
                }
            }
            kill(process.processIdentifier, SIGKILL)
            await exited.wait()
            // Whatever was in flight is lost with the process; cancelled rather than left to notice the reset
            // (a body that never ends kept this test, and the suite with it, waiting after the kill).
            load.cancel()
            _ = await load.result
            try await client.shutdown()
            output.fileHandleForReading.readabilityHandler = nil

            // The database opens cleanly (WAL recovery) and holds every entry written before the kill.
            let store = try await SQLiteAccountingStore.open(path: directory + "/log.db")
            let logged = Set(try await store.requests(RequestQuery(limit: 1000)).map(\.id))
            await store.close()
            #expect(acknowledged.count == 60)
            #expect(logged.isSuperset(of: acknowledged))
            await simulator.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }
}

/// Signalled once, awaited by one test.
final class Started: Sendable {
    private let state = Mutex<(done: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.done else { return nil }
            state.done = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state in
                if state.done { return true }
                state.waiter = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }
}
