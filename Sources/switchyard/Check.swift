import ArgumentParser
import SwitchyardCore
import SwitchyardProviders

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
        print(gatewayConfig.routeSummary)
    }
}

