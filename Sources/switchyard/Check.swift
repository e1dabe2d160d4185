import ArgumentParser
import SwitchyardCore

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate a config file and print what would be routed where.")

    @Option(name: .shortAndLong, help: "Config file (default ./switchyard.yaml).")
    var config: String = "switchyard.yaml"

    func run() throws {
        let gatewayConfig: GatewayConfig
        do {
            gatewayConfig = try ConfigLoader.load(path: config)
        } catch {
            printError("\(config): \(error.issues.count) error(s)")
            for issue in error.issues { printError("  \(issue)") }
            throw ExitCode(1)
        }
        print(RoutePrinter.describe(gatewayConfig))
    }
}

/// A human-readable summary of a config's routes.
enum RoutePrinter {
    static func describe(_ config: GatewayConfig) -> String {
        var lines = ["listen \(config.listen)", "providers:"]
        for provider in config.providers {
            let auth = provider.oauth != nil ? "oauth2" : (provider.keys.isEmpty ? "no key" : "\(provider.keys.count) key(s)")
            lines.append("  \(provider.name) (\(provider.type.rawValue), \(auth))\(provider.baseURL.map { " \($0)" } ?? "")")
        }
        lines.append("routes:")
        for route in config.routes {
            let targets = route.targets.enumerated().map { offset, target in
                route.strategy == .weighted ? "\(target) (weight \(target.weight))" : "\(offset + 1). \(target)"
            }
            lines.append("  \(route.name) [\(route.strategy.rawValue)] → \(targets.joined(separator: ", "))")
            if let fallback = route.contextFallback { lines.append("    context fallback → \(fallback)") }
        }
        lines.append("keys: \(config.keys.isEmpty ? "none (open on loopback only)" : config.keys.map(\.name).joined(separator: ", "))")
        lines.append("routing: \(config.routing.attempts) attempts, deadline \(config.routing.deadline)")
        return lines.joined(separator: "\n")
    }
}
