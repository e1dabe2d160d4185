public import CoreMetrics

/// The read-only routing snapshot of one config: providers, routes, targets and virtual keys.
/// A request reads it once; a reload builds a new one and swaps it whole.
public final class RouteTable: Sendable {
    public let config: GatewayConfig
    public let providers: [String: ProviderRuntime]
    /// Routes in config order.
    public let routes: [ResolvedRoute]
    private let routesByName: [String: ResolvedRoute]
    /// Virtual keys by the SHA-256 of their secret: never looked up by the secret itself.
    private let keysByDigest: [SecretDigest: VirtualKeyConfig]
    /// Every target some route lists, by `provider/model`: a client naming one directly shares its health.
    private let routeTargets: [String: TargetState]
    /// Targets named directly by clients that no route lists: created on first use, bounded.
    private let directTargets: DirectTargets

    /// Usage state per virtual key name (kept across reloads by whoever builds the tables).
    public let keyStates: [String: KeyState]

    public init(
        config: GatewayConfig, providers: [ProviderRuntime], metrics: any MetricsFactory = NOOPMetricsHandler.instance, keyStates: [String: KeyState] = [:]
    ) {
        self.config = config
        self.keyStates = keyStates
        let providersByName = Dictionary(providers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.providers = providersByName
        var targetStates: [String: TargetState] = [:]
        var routes: [ResolvedRoute] = []
        for route in config.routes {
            let targets = route.targets.compactMap { ref -> TargetState? in
                guard let provider = providersByName[ref.provider] else { return nil }
                let key = ref.description
                if let existing = targetStates[key] { return existing }
                let state = TargetState(
                    ref: TargetRef(provider: ref.provider, model: ref.model), provider: provider, breaker: config.routing.circuitBreaker, metrics: metrics)
                targetStates[key] = state
                return state
            }
            let weights = route.targets.filter { providersByName[$0.provider] != nil }.map(\.weight)
            var resolved = ResolvedRoute(
                name: route.name, strategy: route.strategy, targets: targets, weights: weights,
                contextFallback: route.contextFallback, defaultMaxTokens: route.defaultMaxTokens)
            resolved.prices = targets.map { config.priceBook.price(target: $0.name) }
            resolved.metrics = RouteMetrics(route: route.name, factory: metrics)
            resolved.allowedAnthropicBetas = route.allowedAnthropicBetas
            resolved.dropsUnsupportedFields = route.dropsUnsupportedFields
            resolved.logsBodies = route.logsBodies
            routes.append(resolved)
        }
        self.routes = routes
        var routesByName = Dictionary(routes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for (route, config) in zip(routes, config.routes) {
            for alias in config.aliases where routesByName[alias] == nil { routesByName[alias] = route }
        }
        self.routesByName = routesByName
        self.keysByDigest = Dictionary(config.keys.map { (SecretDigest($0.key), $0) }, uniquingKeysWith: { first, _ in first })
        self.routeTargets = targetStates
        self.directTargets = DirectTargets(breaker: config.routing.circuitBreaker, metrics: metrics)
    }

    /// Longer model names are refused before they reach routing state, logs or metric labels.
    public static let maximumModelNameLength = 256

    /// Whether clients must present a virtual key.
    public var requiresKeys: Bool { !config.keys.isEmpty }

    /// The virtual key with this secret, found by its digest.
    public func virtualKey(secret: String) -> VirtualKeyConfig? {
        keysByDigest[SecretDigest(secret)]
    }

    /// Every target state known so far (route targets and direct targets already used).
    public var allTargets: [TargetState] {
        (Array(routeTargets.values) + directTargets.all).sorted { $0.name < $1.name }
    }

    /// The route (or direct target) a request for `model` goes to, if `key` may use it.
    /// - Throws: ``GatewayError`` 404 for an unknown model, 403 when the key may not use it.
    public func resolve(model: String, key: VirtualKeyConfig?) throws(GatewayError) -> ResolvedRoute {
        guard model.utf8.count <= Self.maximumModelNameLength else {
            throw GatewayError.invalidRequest("The model name is longer than \(Self.maximumModelNameLength) bytes.", parameter: "model")
        }
        if let route = routesByName[model] {
            // An alias is the route under another name: a key that may use either may use both.
            if model != route.name, let allowed = key?.models, allowed.contains(route.name) { return route }
            try authorize(model: model, key: key)
            return route
        }
        if let ref = TargetRef.parse(model), let provider = providers[ref.provider] {
            try authorize(model: model, key: key)
            let state = routeTargets[model] ?? directTargets.state(for: ref, provider: provider)
            var direct = ResolvedRoute(name: model, strategy: .priority, targets: [state], weights: [1], contextFallback: nil, defaultMaxTokens: nil)
            direct.isDirect = true
            direct.prices = [config.priceBook.price(target: model)]
            return direct
        }
        let valid = visibleModels(for: key)
        let listed = valid.prefix(20).joined(separator: ", ") + (valid.count > 20 ? ", … (GET /v1/models lists all)" : "")
        throw GatewayError.notFound("The model '\(model.prefix(128))' does not exist. Models your key can use: \(listed).")
    }

    /// The route named `name`, without a key check (for context fallbacks the operator configured).
    public func route(named name: String) -> ResolvedRoute? {
        routesByName[name]
    }

    /// Model names `key` may use: its routes, and the direct targets those routes list.
    public func visibleModels(for key: VirtualKeyConfig?) -> [String] {
        if let allowed = key?.models {
            // With the aliases of the routes the key may use.
            var names = allowed
            var seen = Set(names)
            for route in config.routes where seen.contains(route.name) {
                for alias in route.aliases where seen.insert(alias).inserted { names.append(alias) }
            }
            return names
        }
        var names = routes.map(\.name)
        for route in config.routes { names.append(contentsOf: route.aliases) }
        var seen = Set(names)
        for route in routes {
            for target in route.targets where seen.insert(target.name).inserted { names.append(target.name) }
        }
        return names
    }

    private func authorize(model: String, key: VirtualKeyConfig?) throws(GatewayError) {
        guard let allowed = key?.models else { return }
        guard allowed.contains(model) else {
            throw GatewayError.forbidden("This key may not use the model '\(model)'.")
        }
    }
}

/// A route ready to plan: its targets in config order and how to order them per request.
public struct ResolvedRoute: Sendable {
    public var name: String
    public var strategy: RoutingStrategy
    public var targets: [TargetState]
    /// Weights parallel to `targets`, for the weighted strategy.
    public var weights: [Double]
    public var contextFallback: String?
    public var defaultMaxTokens: Int?
    /// Anthropic beta flags that may pass through; `nil` allows all.
    public var allowedAnthropicBetas: [String]?
    /// Whether dialect-only fields are dropped for other vendors instead of refused.
    public var dropsUnsupportedFields = false
    /// Whether the request log keeps the bodies of this route's requests and answers.
    public var logsBodies = false
    /// Whether the client named a `provider/model` target directly rather than a configured route: then an
    /// unknown model is the client's mistake, not the target's.
    public var isDirect = false
    /// The route's token and cost counters (configured routes only; direct targets count per target).
    public var metrics: RouteMetrics?
    /// Prices parallel to `targets` (`nil`: unknown), for the cost strategy.
    public var prices: [ModelPrice?] = []
    /// The price of one of this route's targets, from ``prices`` (no catalog search per request); `nil`
    /// when unknown or not a target of this route.
    public func price(target name: String) -> ModelPrice?? {
        guard let index = targets.firstIndex(where: { $0.name == name }), index < prices.count else { return nil }
        return .some(prices[index])
    }

    /// The request's estimated size, set by ``prepare(_:)``: prompt tokens from its text, output tokens from its cap.
    public var estimatedTokens: (input: Int, output: Int) = (0, 0)

    /// Applies the route's defaults and limits to a request: the output cap, and the beta flags it allows.
    public mutating func prepare(_ request: inout ChatRequest) {
        if request.maxTokens == nil { request.maxTokens = defaultMaxTokens }
        estimatedTokens = (TokenEstimate.prompt(of: request), request.maxTokens ?? TokenEstimate.defaultOutputTokens)
        if dropsUnsupportedFields { request.dialectOnlyFields = [] }
        guard let allowed = allowedAnthropicBetas, var passThrough = request.passThrough else { return }
        passThrough.headers = passThrough.headers.compactMap { header in
            guard header.name.caseInsensitiveEquals("anthropic-beta") else { return header }
            let kept = header.value.split(separator: ",").map { String($0).trimming([" "]) }.filter { allowed.contains($0) }
            return kept.isEmpty ? nil : (header.name, kept.joined(separator: ","))
        }
        request.passThrough = passThrough
    }

    public init(
        name: String, strategy: RoutingStrategy, targets: [TargetState], weights: [Double], contextFallback: String?, defaultMaxTokens: Int?
    ) {
        self.name = name
        self.strategy = strategy
        self.targets = targets
        self.weights = weights
        self.contextFallback = contextFallback
        self.defaultMaxTokens = defaultMaxTokens
    }
}
