import ArgumentParser

@main
struct Switchyard: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard",
        abstract: "An LLM gateway: one API for every provider, with failover, credentials and cost in one place.",
        subcommands: [Serve.self, Check.self, Demo.self, Keys.self, UsageReport.self],
        defaultSubcommand: Serve.self)
}
