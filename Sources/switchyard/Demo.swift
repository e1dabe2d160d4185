import ArgumentParser
import Foundation
import Hummingbird
import Logging
import SwitchyardCore
import SwitchyardProviders
import SwitchyardServer
import SwitchyardSimulator

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway against built-in simulated providers: no credentials, no services.")

    @Option(name: .shortAndLong, help: "Port for the gateway (0 picks a free one).")
    var port: Int = 4000

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error.")
    var logLevel: String = "warning"

    @Flag(name: .long, help: "Print the generated config and exit.")
    var printConfig = false

    func run() async throws {
        let logger = bootstrapLogging(level: logLevel)
        let vendors = DemoEnvironment.makeVendors()

        try await withThrowingTaskGroup(of: Void.self) { group in
            let (ports, portSink) = AsyncStream.makeStream(of: (String, Int).self)
            for vendor in vendors {
                group.addTask {
                    let app = SimulatorServer.makeApplication(vendor: vendor) { port in portSink.yield((vendor.name, port)) }
                    try await app.runService()
                }
            }
            var bound: [String: Int] = [:]
            for await (name, port) in ports {
                bound[name] = port
                if bound.count == vendors.count { break }
            }
            let serviceAccountPath = try DemoEnvironment.writeServiceAccountFile()
            defer { try? FileManager.default.removeItem(atPath: serviceAccountPath) }
            // The demo's request log lives in the temp directory for as long as the demo runs.
            let storagePath = NSTemporaryDirectory() + "switchyard-demo-\(ProcessInfo.processInfo.processIdentifier).db"
            defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: storagePath + suffix) } }
            let yaml = DemoEnvironment.config(port: port, serviceAccountPath: serviceAccountPath, storagePath: storagePath) { String(bound[$0] ?? 0) }
            if printConfig {
                print(yaml)
                group.cancelAll()
                return
            }
            let config = try ConfigLoader.parse(yaml)
            let observer = RoutingObserver { event in
                if case .attemptFailed(let target, _, let kind, let status) = event {
                    say("  ↳ \(target) failed (\(kind.rawValue)\(status.map { " \($0)" } ?? "")), failing over to the next target")
                }
            }
            let simulators = bound
            try await runGateway(
                config: config, logger: logger, observer: observer, onRunning: { port in Self.printBanner(port: port, simulators: simulators) })
            group.cancelAll()
        }
    }

    static func printBanner(port: Int, simulators: [String: Int]) {
        let claudeSimulatorPort = simulators["claude"] ?? 0
        let simulatorList = simulators.sorted { $0.key < $1.key }.map { "\($0.key) on 127.0.0.1:\($0.value)" }.joined(separator: ", ")
        let url = "http://127.0.0.1:\(port)"
        say(
            """

            Switchyard demo is running at \(url)
            Virtual key: \(DemoEnvironment.key)
            Routes: smart (flaky → claude → openai, fails over live), claude (Anthropic, then Claude on Vertex AI,
                    then on Bedrock), gemini (Gemini API, then Vertex AI), azure, fast, embed

            Try it:
              curl -s \(url)/v1/chat/completions -H 'Authorization: Bearer \(DemoEnvironment.key)' \\
                -H 'content-type: application/json' \\
                -d '{"model":"smart","messages":[{"role":"user","content":"Hello!"}]}'

              curl -sN \(url)/v1/chat/completions -H 'Authorization: Bearer \(DemoEnvironment.key)' \\
                -H 'content-type: application/json' \\
                -d '{"model":"smart","stream":true,"messages":[{"role":"user","content":"Hello!"}]}'

              curl -s \(url)/v1/messages -H 'x-api-key: \(DemoEnvironment.key)' -H 'anthropic-version: 2023-06-01' \\
                -H 'content-type: application/json' \\
                -d '{"model":"fast","max_tokens":256,"messages":[{"role":"user","content":"Hello!"}]}'

              curl -s \(url)/v1/responses -H 'Authorization: Bearer \(DemoEnvironment.key)' \\
                -H 'content-type: application/json' -d '{"model":"claude","input":"Hello!"}'

            Coding agents: ANTHROPIC_BASE_URL=\(url) ANTHROPIC_AUTH_TOKEN=\(DemoEnvironment.key) for Anthropic-dialect ones
            (Claude model names are aliases of the claude route), OPENAI_BASE_URL=\(url)/v1 for OpenAI-dialect ones.

            The response header x-switchyard-target names the provider that answered, x-switchyard-cost what it cost (USD).
            Spend so far: SWITCHYARD_URL=\(url) SWITCHYARD_ADMIN_KEY=\(DemoEnvironment.adminKey) switchyard usage --group-by target

            Lose Anthropic access and keep Claude: make the simulated Anthropic revoke every key (it answers 401) …
              curl -s -X POST http://127.0.0.1:\(claudeSimulatorPort)/simulator/revoke-keys
            … and ask for model "claude" again, with either SDK: Vertex AI answers (x-switchyard-target:
            vertex/claude-sonnet-4-5@20250929). Undo with /simulator/restore-keys.
            Simulated vendors: \(simulatorList).
            Health of every provider, target and key: curl -s \(url)/admin/providers -H 'Authorization: Bearer \(DemoEnvironment.adminKey)'
            Dashboard: \(url)/dashboard (log in with the admin key \(DemoEnvironment.adminKey)).
            Prometheus metrics: \(url)/metrics. Press Ctrl-C to stop.

            """)
    }
}

/// Writes a line to stdout unbuffered, so the banner and failover notes show up at once even when piped.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
