import Logging
import ServiceLifecycle
import SwitchyardCore
import SwitchyardProviders
import SwitchyardServer
import SwitchyardSimulator
import Testing

@Suite struct StartupFailureTests {
    @Test func aPortInUseIsOneClearLine() async throws {
        let a = SimulatedVendor(name: "a", format: .openai)
        let config = "listen: 127.0.0.1:0\nproviders:\n  a: {type: openai, base_url: \"http://127.0.0.1:{{a}}/v1\", keys: [k]}\n"
        try await LiveGateway.run(vendors: [a], config: config) { gateway in
            let taken = try ConfigLoader.parse("listen: 127.0.0.1:\(gateway.port)\nproviders:\n  a: {type: openai, keys: [k]}\n")
            var logger = Logger(label: "test")
            logger.logLevel = .critical
            let services = try GatewayServices(config: taken, logger: logger)
            let group = services.makeServiceGroup(running: buildApplication(gateway: services.gateway), reloadOnHangup: false, signals: [], logger: logger)
            let error = await #expect(throws: (any Error).self) { try await group.run() }
            let line = try #require(error.flatMap { StartupFailure.describe($0, listen: taken.listen) })
            #expect(line == "cannot listen on 127.0.0.1:\(gateway.port): the address is already in use (is another gateway running?)")
        }
    }
}
