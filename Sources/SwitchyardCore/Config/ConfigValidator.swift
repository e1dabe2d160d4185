/// Cross-reference checks that need the whole config: targets name real providers, fallbacks name real routes.
/// What a provider type requires of its own section is checked by its schema.
enum ConfigValidator {
    static func validate(_ config: GatewayConfig, context: ConfigReadContext) {
        func report(_ path: String, _ message: String) {
            context.issues.append(ConfigError.Issue(path: path, message: message))
        }
        let providerNames = Set(config.providers.map(\.name))
        for provider in config.providers {
            if provider.name.contains("/") { report("providers.\(provider.name)", "provider names cannot contain '/'") }
        }
        let routeNames = Set(config.routes.map(\.name))
        var aliasOwners: [String: String] = [:]
        for route in config.routes {
            let path = "models.\(route.name)"
            for (index, alias) in route.aliases.enumerated() {
                if alias.isEmpty || alias.utf8.count > RouteTable.maximumModelNameLength {
                    report("\(path).aliases[\(index)]", "must be 1 to \(RouteTable.maximumModelNameLength) bytes")
                } else if routeNames.contains(alias) {
                    report("\(path).aliases[\(index)]", "'\(alias)' is already a route name")
                } else if let owner = aliasOwners.updateValue(route.name, forKey: alias) {
                    report("\(path).aliases[\(index)]", "'\(alias)' is already an alias of route '\(owner)'")
                } else if let target = TargetRef.parse(alias), providerNames.contains(target.provider) {
                    report("\(path).aliases[\(index)]", "alias shadows the direct target '\(alias)'")
                }
            }
            for (index, target) in route.targets.enumerated() where !providerNames.contains(target.provider) {
                report("\(path).targets[\(index)]", "unknown provider '\(target.provider)'")
            }
            if let fallback = route.contextFallback {
                if !routeNames.contains(fallback) { report("\(path).context_fallback", "unknown route '\(fallback)'") }
                if fallback == route.name { report("\(path).context_fallback", "a route cannot fall back to itself") }
            }
            if route.targets.contains(where: { $0.weight <= 0 }), route.strategy == .weighted, route.targets.allSatisfy({ $0.weight <= 0 }) {
                report("\(path).targets", "at least one target needs a positive weight")
            }
            if route.name.contains("/"), let target = TargetRef.parse(route.name), providerNames.contains(target.provider) {
                report(path, "route name shadows the direct target '\(route.name)'")
            }
        }
        for provider in config.faults.keys where !providerNames.contains(provider) {
            report("faults.\(provider)", "unknown provider '\(provider)'")
        }
        var seenKeys: Set<String> = []
        for (index, key) in config.keys.enumerated() {
            if !seenKeys.insert(key.key).inserted { report("keys[\(index)].key", "the same key is configured twice") }
            for (modelIndex, model) in (key.models ?? []).enumerated() {
                let known = routeNames.contains(model) || aliasOwners[model] != nil || TargetRef.parse(model).map { providerNames.contains($0.provider) } == true
                if !known { report("keys[\(index)].models[\(modelIndex)]", "unknown route or target '\(model)'") }
            }
        }
        if let adminKey = config.adminKey, adminKey.count < 16 {
            report("admin_key", "must be at least 16 characters")
        }
    }
}
