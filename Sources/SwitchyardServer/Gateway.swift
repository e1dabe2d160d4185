public import CoreMetrics
import Foundation
public import Logging
public import Prometheus
public import SwitchyardCore

/// The running gateway: the routing snapshot, the executor and the logger every handler shares.
public final class Gateway: Sendable {
    public let table: RouteTable
    public let executor: ChatExecutor
    public let logger: Logger
    /// Where the gateway's metrics go; ``metricsRegistry`` renders them for `GET /metrics`.
    public let metrics: any MetricsFactory
    public let metricsRegistry: PrometheusCollectorRegistry

    public init(
        table: RouteTable, executor: ChatExecutor, logger: Logger, metrics: any MetricsFactory = NOOPMetricsHandler.instance,
        metricsRegistry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
    ) {
        self.table = table
        self.executor = executor
        self.logger = logger
        self.metrics = metrics
        self.metricsRegistry = metricsRegistry
    }

    public var config: GatewayConfig { table.config }

    /// The virtual key presented in `Authorization: Bearer` or `x-api-key`.
    /// - Returns: `nil` when the gateway runs without keys.
    /// - Throws: 401 for a missing or unknown key.
    func authenticate(authorization: String?, apiKey: String?) throws(GatewayError) -> VirtualKeyConfig? {
        guard table.requiresKeys else { return nil }
        let presented = apiKey.flatMap { $0.isEmpty ? nil : $0 } ?? bearerToken(authorization)
        guard let presented else {
            throw GatewayError.unauthenticated("Missing API key. Send your Switchyard virtual key as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.")
        }
        guard let key = table.virtualKey(secret: presented) else {
            throw GatewayError.unauthenticated("Invalid API key.")
        }
        return key
    }

    /// Whether `authorization` carries the admin key.
    func isAdmin(authorization: String?) -> Bool {
        guard let adminKey = config.adminKey, let token = bearerToken(authorization) else { return false }
        return constantTimeEquals(token, adminKey)
    }

    private func bearerToken(_ authorization: String?) -> String? {
        guard let authorization, authorization.count > 7, authorization.prefix(7).lowercased() == "bearer " else { return nil }
        let token = authorization.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    private func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8)
        let b = Array(rhs.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for index in 0..<min(a.count, b.count) { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}

/// Seconds since 1970.
func currentUnixTime() -> Int {
    Int(Date().timeIntervalSince1970)
}

/// A request id for requests that arrive without one.
func makeRequestID() -> String {
    "req_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
}
