public import Foundation
internal import Yams

/// Reads and validates a config file (DESIGN §5).
///
/// Every section of the schema is parsed; sections whose behaviour this build does not implement are
/// rejected with "not supported yet" rather than silently ignored.
public enum ConfigLoader {
    /// Loads the config at `path`, resolving `${file:…}` relative to its folder.
    /// - Parameter providerTypes: the provider types the config may name (SwitchyardProviders has the standard set).
    public static func load(
        path: String, environment: [String: String] = ProcessInfo.processInfo.environment, providerTypes: ProviderTypeCatalog
    ) throws(ConfigError) -> GatewayConfig {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(path: "", message: "cannot read config file '\(path)'")
        }
        let directory = (path as NSString).deletingLastPathComponent
        return try parse(text, environment: environment, baseDirectory: directory.isEmpty ? "." : directory, providerTypes: providerTypes)
    }

    /// Parses config text.
    /// - Parameter providerTypes: the provider types the config may name (SwitchyardProviders has the standard set).
    public static func parse(
        _ text: String, environment: [String: String] = [:], baseDirectory: String? = nil, providerTypes: ProviderTypeCatalog
    ) throws(ConfigError) -> GatewayConfig {
        var substitution = Substitution(environment: environment, baseDirectory: baseDirectory)
        let prepared = substitution.extract(from: text)
        let root: Node?
        do {
            root = try Yams.compose(yaml: prepared, .basic)
        } catch {
            throw ConfigError(path: "", message: "invalid YAML: \(error)")
        }
        let context = ConfigReadContext(substitution: substitution)
        guard let root else { throw ConfigError(path: "", message: "the config is empty") }
        var config = readRoot(ConfigNode(node: root, path: "", context: context), providerTypes: providerTypes)
        // No storage named: a database file next to the config file (in memory for a config given as text).
        if !config.storage.isExplicit, let directory = baseDirectory { config.storage.sqlitePath = directory + "/switchyard.db" }
        ConfigValidator.validate(config, context: context)
        if !context.issues.isEmpty { throw ConfigError(issues: redacted(context.issues, hiding: substitution.resolvedValues)) }
        return config
    }

    /// Issues with every substituted value replaced: `found '<the secret>'` must not reach a terminal or log.
    private static func redacted(_ issues: [ConfigError.Issue], hiding values: [String]) -> [ConfigError.Issue] {
        let secrets = values.filter { $0.count >= 4 }.sorted { $0.count > $1.count }
        guard !secrets.isEmpty else { return issues }
        return issues.map { issue in
            var message = issue.message
            for secret in secrets { message = message.replacingOccurrences(of: secret, with: "[substituted value]") }
            return ConfigError.Issue(path: issue.path, message: message)
        }
    }

    private static let notYet = "not supported yet in this version of Switchyard; remove it"

    private static func readRoot(_ root: ConfigNode, providerTypes: ProviderTypeCatalog) -> GatewayConfig {
        var config = GatewayConfig()
        let allowed: Set = [
            "listen", "admin_key", "storage", "providers", "models", "routing", "keys", "pricing", "max_body_size", "alerts", "faults",
            "shutdown_grace", "server", "dashboard", "telemetry",
        ]
        for (key, node) in root.mapping(allowed: allowed) ?? [] {
            switch key {
            case "listen":
                if let text = node.string() {
                    if let address = parseListen(text) { config.listen = address } else { node.report("expected HOST:PORT, found '\(text)'") }
                }
            case "admin_key": config.adminKey = node.isNull ? nil : node.string().flatMap { $0.isEmpty ? nil : $0 }
            case "max_body_size": if let size = parseSize(node) { config.maxBodyBytes = size }
            case "storage": if let storage = readStorage(node) { config.storage = storage }
            case "pricing": config.pricing = readPricing(node)
            case "providers": config.providers = readProviders(node, types: providerTypes)
            case "models": config.routes = readRoutes(node)
            case "routing": config.routing = readRouting(node)
            case "keys": config.keys = readKeys(node)
            case "alerts":
                for (name, value) in node.mapping(allowed: ["webhook"]) ?? [] where name == "webhook" {
                    guard let url = value.string() else { continue }
                    if url.hasPrefix("http://") || url.hasPrefix("https://") { config.alertWebhook = url } else { value.report("expected an http(s) URL") }
                }
            case "faults": config.faults = readFaults(node)
            case "shutdown_grace": config.shutdownGrace = node.duration() ?? config.shutdownGrace
            case "server": config.server = readServer(node)
            case "dashboard": config.dashboard = readDashboard(node)
            case "telemetry": config.telemetry = readTelemetry(node)
            default: break
            }
        }
        return config
    }

    static func parseListen(_ text: String) -> ListenAddress? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return ListenAddress(host: host.isEmpty ? "0.0.0.0" : host, port: port)
    }

    private static func readServer(_ node: ConfigNode) -> ServerConfig {
        var server = ServerConfig()
        for (key, value) in node.mapping(allowed: ["idle_timeout", "max_connections"]) ?? [] {
            switch key {
            case "idle_timeout": server.idleTimeout = value.duration() ?? server.idleTimeout
            default: server.maxConnections = value.int(range: 1...1_000_000) ?? server.maxConnections
            }
        }
        return server
    }

    private static func readTelemetry(_ node: ConfigNode) -> TelemetryConfig? {
        let entries = node.mapping(allowed: ["otlp_endpoint", "protocol", "sampling", "service_name"]) ?? []
        guard let endpointNode = entries.first(where: { $0.0 == "otlp_endpoint" })?.1, let endpoint = endpointNode.string() else {
            node.report("telemetry needs otlp_endpoint (the collector's OTLP/HTTP URL, e.g. http://collector:4318)")
            return nil
        }
        let url = UpstreamURL(endpoint)
        guard url.isValid, endpoint.lowercased().hasPrefix("http") else {
            endpointNode.report("expected an http(s) URL such as http://collector:4318")
            return nil
        }
        var telemetry = TelemetryConfig(otlpEndpoint: endpoint)
        for (key, value) in entries {
            switch key {
            case "protocol":
                guard let text = value.string() else { continue }
                if let chosen = TelemetryConfig.ExportProtocol(rawValue: text) {
                    telemetry.exportProtocol = chosen
                } else if text == "grpc" {
                    value.report("grpc export is not built into this gateway (it would double its build); use http/protobuf, the collector's port 4318")
                } else {
                    value.report("expected http/protobuf or http/json")
                }
            case "sampling":
                if let ratio = value.double(range: 0...1) { telemetry.sampling = ratio }
            case "service_name":
                if let name = value.string(), !name.isEmpty, name.utf8.count <= 100 { telemetry.serviceName = name } else { value.report("expected a name") }
            default: break
            }
        }
        return telemetry
    }

    private static func readDashboard(_ node: ConfigNode) -> DashboardConfig {
        var dashboard = DashboardConfig()
        for (key, value) in node.mapping(allowed: ["secure_cookie", "session_lifetime"]) ?? [] {
            switch key {
            case "secure_cookie": dashboard.secureCookie = value.bool() ?? false
            default:
                if let lifetime = value.duration(), lifetime >= .seconds(60), lifetime <= .seconds(30 * 86_400) {
                    dashboard.sessionLifetime = lifetime
                } else {
                    value.report("expected a duration between 1m and 30d")
                }
            }
        }
        return dashboard
    }

    /// The largest size a config may name: a request body beyond this is not a chat request.
    static let maximumSizeBytes = 1 << 30

    private static func parseSize(_ node: ConfigNode) -> Int? {
        guard let text = node.string()?.lowercased() else { return nil }
        let units: [(String, Int)] = [("kib", 1024), ("mib", 1 << 20), ("kb", 1000), ("mb", 1_000_000), ("k", 1024), ("m", 1 << 20), ("b", 1), ("", 1)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            guard let value = Int(String(text.dropLast(suffix.count)).trimming([" "])), value > 0 else { continue }
            let (bytes, overflow) = value.multipliedReportingOverflow(by: factor)
            guard !overflow, bytes <= Self.maximumSizeBytes else {
                node.report("'\(text)' is too large: sizes are at most 1 GiB")
                return nil
            }
            return bytes
        }
        node.report("expected a size such as 4mb or 1048576, found '\(text)'")
        return nil
    }

    private static func readFaults(_ node: ConfigNode) -> [String: FaultInjector.Fault] {
        var faults: [String: FaultInjector.Fault] = [:]
        for (provider, value) in node.mapping() ?? [] {
            var kind: FailureKind?
            var rate = 1.0
            for (key, item) in value.mapping(allowed: ["kind", "rate"]) ?? [] {
                if key == "rate" {
                    rate = item.double(range: 0...1) ?? rate
                } else if let text = item.string() {
                    kind = FailureKind(rawValue: text)
                    if kind == nil { item.report("unknown failure kind '\(text)' (one of \(FailureKind.allCases.map(\.rawValue).joined(separator: ", ")))") }
                }
            }
            if let kind { faults[provider] = FaultInjector.Fault(kind: kind, rate: rate) } else if value.mapping() != nil { value.report("missing key 'kind'") }
        }
        return faults
    }

    // MARK: providers

    /// Keys every provider type shares; a type adds its own (``ProviderConfigSchema/optionKeys``).
    private static let sharedProviderKeys: Set = ["type", "keys", "base_url", "headers", "timeout", "max_connections", "key_selection"]

    private static func readProviders(_ node: ConfigNode, types: ProviderTypeCatalog) -> [ProviderConfig] {
        (node.mapping() ?? []).compactMap { name, node in readProvider(name: name, node, types: types) }
    }

    private static func readProvider(name: String, _ node: ConfigNode, types: ProviderTypeCatalog) -> ProviderConfig? {
        let typeNames = types.allTypeNames.joined(separator: ", ")
        guard case .mapping(let mapping) = node.node else {
            node.report("expected a mapping")
            return nil
        }
        let typeText = mapping.first { key, _ in key.string == "type" }.flatMap { node.child("type", $0.value).string() }
        guard let typeText else {
            node.report("missing key 'type' (one of \(typeNames))")
            return nil
        }
        guard let schema = types.schemas[typeText] else {
            let typePath = node.child("type", node.node)
            if types.planned.contains(typeText) {
                typePath.report("provider type '\(typeText)' is \(notYet)")
            } else {
                typePath.report("unknown provider type '\(typeText)' (one of \(typeNames))")
            }
            return nil
        }
        guard let members = node.mapping(allowed: sharedProviderKeys.union(schema.optionKeys)) else { return nil }
        var provider = ProviderConfig(name: name, type: typeText)
        var own: [String: ConfigNode] = [:]
        for (key, value) in members {
            switch key {
            case "type": break
            case "keys": provider.keys = (value.stringList() ?? []).filter { !$0.isEmpty }
            case "base_url":
                guard let url = value.string() else { continue }
                if url.hasPrefix("http://") || url.hasPrefix("https://") {
                    provider.baseURL = url.hasSuffix("/") ? String(url.dropLast()) : url
                } else {
                    value.report("expected an http:// or https:// URL, found '\(url)'")
                }
            case "headers":
                provider.headers = (value.mapping() ?? []).compactMap { header, node in node.string().map { (header, $0) } }
            case "timeout": provider.timeout = readTimeout(value)
            case "max_connections": provider.maxConnections = value.int(range: 1...1_000_000) ?? provider.maxConnections
            case "key_selection":
                guard let text = value.string() else { continue }
                if let selection = KeySelection(rawValue: text) { provider.keySelection = selection } else { value.report("expected round-robin or least-used") }
            default:
                own[key] = value
            }
        }
        provider.options = schema.readOptions(ProviderSection(provider: provider, members: own, node: node))
        return provider
    }

    private static func readTimeout(_ node: ConfigNode) -> TimeoutConfig {
        var timeout = TimeoutConfig()
        for (key, value) in node.mapping(allowed: ["connect", "first_byte", "total"]) ?? [] {
            guard let duration = value.duration() else { continue }
            switch key {
            case "connect": timeout.connect = duration
            case "first_byte": timeout.firstByte = duration
            default: timeout.total = duration
            }
        }
        return timeout
    }

    // MARK: models

    private static func readRoutes(_ node: ConfigNode) -> [RouteConfig] {
        (node.mapping() ?? []).compactMap { name, node in readRoute(name: name, node) }
    }

    private static func readRoute(name: String, _ node: ConfigNode) -> RouteConfig? {
        if case .scalar = node.node {
            guard let text = node.string() else { return nil }
            guard let target = TargetRef.parse(text) else {
                node.report("expected provider/model, found '\(text)'")
                return nil
            }
            return RouteConfig(name: name, targets: [target])
        }
        let allowed = ["strategy", "targets", "context_fallback", "max_tokens", "anthropic_betas", "drop_unsupported_fields", "log_bodies", "aliases"]
        guard let members = node.mapping(allowed: Set(allowed)) else { return nil }
        var route = RouteConfig(name: name, targets: [])
        for (key, value) in members {
            switch key {
            case "strategy":
                guard let text = value.string() else { continue }
                if let strategy = RoutingStrategy(rawValue: text) {
                    route.strategy = strategy
                } else {
                    value.report("unknown strategy '\(text)' (one of \(RoutingStrategy.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
            case "targets": route.targets = (value.sequence() ?? []).compactMap(readTarget)
            case "context_fallback": route.contextFallback = value.string()
            case "max_tokens": route.defaultMaxTokens = value.int(range: 1...10_000_000)
            case "anthropic_betas": route.allowedAnthropicBetas = value.stringList() ?? []
            case "drop_unsupported_fields": route.dropsUnsupportedFields = value.bool() ?? false
            case "log_bodies": route.logsBodies = value.bool() ?? false
            case "aliases": route.aliases = value.stringList() ?? []
            default: break
            }
        }
        if route.targets.isEmpty, members.contains(where: { $0.key == "targets" }) == false {
            node.report("missing key 'targets'")
        }
        return route
    }

    private static func readTarget(_ node: ConfigNode) -> TargetRef? {
        if case .mapping = node.node {
            var text: String?
            var weight = 1.0
            for (key, value) in node.mapping(allowed: ["target", "weight"]) ?? [] {
                if key == "target" { text = value.string() } else { weight = value.double(range: 0...1_000_000) ?? 1 }
            }
            guard let text else {
                node.report("missing key 'target'")
                return nil
            }
            guard var target = TargetRef.parse(text) else {
                node.report("expected provider/model, found '\(text)'")
                return nil
            }
            target.weight = weight
            return target
        }
        guard let text = node.string() else { return nil }
        guard let target = TargetRef.parse(text) else {
            node.report("expected provider/model, found '\(text)'")
            return nil
        }
        return target
    }

    // MARK: routing and keys

    private static func readRouting(_ node: ConfigNode) -> RoutingConfig {
        var routing = RoutingConfig()
        for (key, value) in node.mapping(allowed: ["attempts", "deadline", "backoff", "circuit_breaker"]) ?? [] {
            switch key {
            case "attempts": routing.attempts = value.int(range: 1...50) ?? routing.attempts
            case "deadline": routing.deadline = value.duration() ?? routing.deadline
            case "backoff":
                for (name, item) in value.mapping(allowed: ["base", "max"]) ?? [] {
                    guard let duration = item.duration() else { continue }
                    if name == "base" { routing.backoffBase = duration } else { routing.backoffMax = duration }
                }
            case "circuit_breaker": routing.circuitBreaker = readBreaker(value)
            default: break
            }
        }
        return routing
    }

    private static func readBreaker(_ node: ConfigNode) -> CircuitBreakerConfig {
        var breaker = CircuitBreakerConfig()
        let allowed: Set = ["failures", "cooldown", "error_rate", "window", "min_requests", "half_open_probes"]
        for (key, value) in node.mapping(allowed: allowed) ?? [] {
            switch key {
            case "failures": breaker.failures = value.int(range: 1...10_000) ?? breaker.failures
            case "cooldown": breaker.cooldown = value.duration() ?? breaker.cooldown
            case "error_rate": breaker.errorRate = value.double(range: 0.01...1)
            case "window": breaker.window = value.duration() ?? breaker.window
            case "min_requests": breaker.minimumRequests = value.int(range: 1...1_000_000) ?? breaker.minimumRequests
            default: breaker.halfOpenProbes = value.int(range: 1...1000) ?? breaker.halfOpenProbes
            }
        }
        return breaker
    }

    private static func readLimits(_ node: ConfigNode) -> KeyLimits? {
        var limits = KeyLimits()
        for (field, value) in node.mapping(allowed: ["rpm", "tpm"]) ?? [] {
            if field == "rpm" { limits.requestsPerMinute = value.int(range: 1...10_000_000) } else { limits.tokensPerMinute = value.int(range: 1...10_000_000_000) }
        }
        return limits.requestsPerMinute == nil && limits.tokensPerMinute == nil ? nil : limits
    }

    /// `budget: {usd: 200, period: month, alert_at: 80%}`; `alert_at` takes `80%` or `0.8`.
    private static func readBudget(_ node: ConfigNode) -> KeyBudget? {
        var usd: Double?
        var budget = KeyBudget(usd: 0)
        for (field, value) in node.mapping(allowed: ["usd", "period", "alert_at"]) ?? [] {
            switch field {
            case "usd": usd = value.double(range: 0...1_000_000_000)
            case "period":
                guard let text = value.string() else { continue }
                if let period = KeyBudget.Period(rawValue: text) { budget.period = period } else { value.report("expected day, week, month or total") }
            default:
                guard let text = value.string() else { continue }
                let share = text.hasSuffix("%") ? Double(text.dropLast()).map { $0 / 100 } : Double(text)
                if let share, share > 0, share <= 1 { budget.alertAt = share } else { value.report("expected a share such as 80% or 0.8") }
            }
        }
        guard let usd else {
            node.report("needs usd")
            return nil
        }
        budget.usd = usd
        return budget
    }

    /// `storage: sqlite:PATH` or `{url: sqlite:PATH, retention: 30d}`; a relative path is next to the config.
    private static func readStorage(_ node: ConfigNode) -> StorageConfig? {
        guard !node.isNull else { return nil }
        var storage = StorageConfig()
        storage.isExplicit = true
        var url: String?
        var urlNode = node
        if !node.isMapping {
            url = node.string()
        } else {
            for (key, value) in node.mapping(allowed: ["url", "retention"]) ?? [] {
                if key == "url" {
                    url = value.string()
                    urlNode = value
                } else if let retention = value.duration() {
                    storage.retention = retention
                }
            }
        }
        guard let url else {
            node.report("expected sqlite:PATH or {url: sqlite:PATH, retention: 30d}")
            return nil
        }
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            guard url.utf8.count <= 2048, let parsed = URL(string: url), parsed.host != nil else {
                urlNode.report("expected postgres://user:password@host:port/database")
                return nil
            }
            storage.postgresURL = url
            return storage
        }
        guard url.hasPrefix("sqlite:") else {
            urlNode.report("expected sqlite:PATH or postgres://user:password@host:port/database")
            return nil
        }
        var path = String(url.dropFirst("sqlite:".count))
        if path.hasPrefix("//") { path.removeFirst(2) }
        guard !path.isEmpty else {
            urlNode.report("sqlite: needs a file path")
            return nil
        }
        if path != ":memory:", !path.hasPrefix("/"), let directory = node.context.substitution.baseDirectory { path = directory + "/" + path }
        storage.sqlitePath = path
        return storage
    }

    /// `pricing: {provider/model: {input, output, cached_input, cache_write}}`, USD per million tokens.
    private static func readPricing(_ node: ConfigNode) -> [String: ModelPrice] {
        var prices: [String: ModelPrice] = [:]
        for (target, entry) in node.mapping() ?? [] {
            guard target.contains("/") else {
                entry.report("expected a provider/model target as the key")
                continue
            }
            var values: [String: Double] = [:]
            for (field, value) in entry.mapping(allowed: ["input", "output", "cached_input", "cache_write"]) ?? [] {
                if let number = value.double(range: 0...1_000_000) { values[field] = number }
            }
            guard let input = values["input"], let output = values["output"] else {
                entry.report("needs input and output (USD per million tokens)")
                continue
            }
            prices[target] = ModelPrice(input: input, output: output, cachedInput: values["cached_input"], cacheWrite: values["cache_write"])
        }
        return prices
    }

    private static func readKeys(_ node: ConfigNode) -> [VirtualKeyConfig] {
        (node.sequence() ?? []).compactMap { item in
            guard let members = item.mapping(allowed: ["name", "key", "models", "budget", "limits"]) else { return nil }
            var name: String?
            var key: String?
            var models: [String]?
            var limits: KeyLimits?
            var budget: KeyBudget?
            for (field, value) in members {
                switch field {
                case "name": name = value.string()
                case "key": key = value.string()
                case "models": models = value.stringList()
                case "limits": limits = readLimits(value)
                default: budget = readBudget(value)
                }
            }
            guard let key, !key.isEmpty else {
                item.report("missing key 'key' (or it is empty)")
                return nil
            }
            return VirtualKeyConfig(name: name ?? "key-\(item.path)", key: key, models: models, limits: limits, budget: budget)
        }
    }
}
