extension GatewayConfig {
    /// What `switchyard check` prints: providers, each route with its targets in order, keys and limits.
    public var routeSummary: String {
        let config = self
        var lines = ["listen \(config.listen)", "providers:"]
        for provider in config.providers {
            let keys = provider.keys.isEmpty ? nil : "\(provider.keys.count) key(s)"
            let auth = [keys, provider.options.authSummary].compactMap { $0 }.joined(separator: " + ")
            lines.append("  \(provider.name) (\(provider.type), \(auth.isEmpty ? "no key" : auth))\(provider.baseURL.map { " \($0)" } ?? "")")
        }
        lines.append("routes:")
        for route in config.routes {
            let targets = route.targets.enumerated().map { offset, target in
                route.strategy == .weighted ? "\(target) (weight \(target.weight))" : "\(offset + 1). \(target)"
            }
            lines.append("  \(route.name) [\(route.strategy.rawValue)] → \(targets.joined(separator: ", "))")
            if let fallback = route.contextFallback { lines.append("    context fallback → \(fallback)") }
        }
        let prices = config.priceBook
        let unpriced = Set(config.routes.flatMap(\.targets).map(\.description).filter { prices.price(target: $0) == nil }).sorted()
        if !unpriced.isEmpty {
            // Their cost is recorded as unknown, and the cost strategy tries them last.
            lines.append("warning: no price for \(unpriced.joined(separator: ", ")): add them under pricing: (USD per 1M tokens)")
        }
        lines.append("keys: \(config.keys.isEmpty ? "none (open on loopback only)" : config.keys.map(\.name).joined(separator: ", "))")
        lines.append("routing: \(config.routing.attempts) attempts, deadline \(config.routing.deadline)")
        return lines.joined(separator: "\n")
    }
}
