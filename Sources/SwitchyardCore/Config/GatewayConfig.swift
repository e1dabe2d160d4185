/// The validated gateway configuration (DESIGN §5). Immutable once loaded; a reload builds a new one.
public struct GatewayConfig: Sendable {
    public var listen: ListenAddress
    public var adminKey: String?
    /// Largest accepted request body, in bytes (`max_body_size`, default 10 MiB).
    public var maxBodyBytes: Int
    /// Providers in config order.
    public var providers: [ProviderConfig]
    /// Routes in config order.
    public var routes: [RouteConfig]
    public var routing: RoutingConfig
    public var keys: [VirtualKeyConfig]
    /// URL that receives a JSON POST when a credential is disabled or a circuit opens.
    public var alertWebhook: String?
    /// Injected provider failures for drills, by provider name.
    public var faults: [String: FaultInjector.Fault] = [:]
    /// How long a SIGTERM waits for in-flight requests and streams before ending them (`shutdown_grace`, default 30s).
    public var shutdownGrace: Duration = .seconds(30)
    /// Client-side connection limits (`server`).
    public var server = ServerConfig()
    /// The web dashboard's session settings.
    public var dashboard = DashboardConfig()
    /// OpenTelemetry tracing (`telemetry:`); nil: tracing off, and the request path pays nothing for it.
    public var telemetry: TelemetryConfig?
    /// Where the request log lives.
    public var storage = StorageConfig()
    /// Prices by `provider/model`, over the built-in catalog (``PriceCatalog``).
    public var pricing: [String: ModelPrice] = [:]

    /// The prices this config's targets are charged at.
    public var priceBook: PriceBook { PriceBook(overrides: pricing) }

    public init(
        listen: ListenAddress = ListenAddress(host: "127.0.0.1", port: 4000),
        adminKey: String? = nil,
        maxBodyBytes: Int = 10 * 1024 * 1024,
        providers: [ProviderConfig] = [],
        routes: [RouteConfig] = [],
        routing: RoutingConfig = RoutingConfig(),
        keys: [VirtualKeyConfig] = []
    ) {
        self.listen = listen
        self.adminKey = adminKey
        self.maxBodyBytes = maxBodyBytes
        self.providers = providers
        self.routes = routes
        self.routing = routing
        self.keys = keys
    }

    /// Refuses a config that would leave the gateway open to the network: without virtual keys, only a
    /// loopback address is allowed. Checked at start and on every reload (against the address bound then).
    /// - Parameter listening: the address the gateway is bound to (at start: ``listen``).
    public func checkNotOpen(listeningOn listening: ListenAddress) throws(ConfigError) {
        guard keys.isEmpty else { return }
        for address in [listening, listen] where !address.isLoopback {
            throw ConfigError(
                path: "keys", message: "no virtual keys are configured, so the gateway may only listen on loopback (it would listen on \(address))")
        }
    }

    public func provider(named name: String) -> ProviderConfig? {
        providers.first { $0.name == name }
    }

    public func route(named name: String) -> RouteConfig? {
        routes.first { $0.name == name }
    }
}

/// Limits on client connections (`server: {idle_timeout, max_connections}`).
/// Where and how spans are exported (`telemetry:`).
public struct TelemetryConfig: Sendable, Hashable {
    public enum ExportProtocol: String, Sendable, Hashable {
        case httpProtobuf = "http/protobuf"
        case httpJSON = "http/json"
    }

    /// The OTLP/HTTP collector's base URL (`otlp_endpoint`, e.g. `http://collector:4318`); traces go to `/v1/traces`.
    public var otlpEndpoint: String
    public var exportProtocol: ExportProtocol = .httpProtobuf
    /// The share of requests traced (`sampling`, 0…1); a caller's sampled trace context is followed.
    public var sampling: Double = 1
    public var serviceName = "switchyard"

    public init(otlpEndpoint: String) {
        self.otlpEndpoint = otlpEndpoint
    }
}

/// The web dashboard's sessions (`dashboard:`).
public struct DashboardConfig: Sendable, Hashable {
    /// Marks the session cookie `Secure` (`secure_cookie`, for a gateway behind a TLS terminator).
    public var secureCookie = false
    /// How long a login lasts (`session_lifetime`, default 8h).
    public var sessionLifetime: Duration = .seconds(8 * 3600)

    public init() {}
}

public struct ServerConfig: Sendable, Hashable {
    /// A connection with no request in progress, or whose request head has not arrived, is closed after this
    /// (`idle_timeout`, default 60s).
    public var idleTimeout: Duration = .seconds(60)
    /// Connections beyond this are refused (`max_connections`, default 10000).
    public var maxConnections = 10_000

    public init() {}
}

/// Host and port the gateway listens on.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Whether only this machine can reach the address.
    public var isLoopback: Bool {
        host == "127.0.0.1" || host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// One configured provider account: what every provider type shares, plus its type's own options.
public struct ProviderConfig: Sendable {
    public var name: String
    /// The provider type (`openai`, `anthropic`, …); its schema and adapter live in SwitchyardProviders.
    public var type: String
    /// API keys; several are spread over and rotated.
    public var keys: [String]
    /// Endpoint root; `nil` means the vendor's default.
    public var baseURL: String?
    /// Extra headers sent with every upstream request.
    public var headers: [(name: String, value: String)]
    public var timeout: TimeoutConfig
    /// How requests spread over several keys.
    public var keySelection: KeySelection = .roundRobin
    /// Most concurrent upstream connections to this provider (`max_connections`, default 8192); requests
    /// beyond it wait for a free connection until their connect timeout, then try another target.
    public var maxConnections = 8192
    /// What only this provider's type understands, as its schema read it.
    public var options: any ProviderOptions

    public init(
        name: String, type: String, keys: [String] = [], baseURL: String? = nil,
        headers: [(name: String, value: String)] = [], timeout: TimeoutConfig = TimeoutConfig(),
        options: any ProviderOptions = NoProviderOptions()
    ) {
        self.name = name
        self.type = type
        self.keys = keys
        self.baseURL = baseURL
        self.headers = headers
        self.timeout = timeout
        self.options = options
    }
}

/// How a provider's requests spread over its keys.
public enum KeySelection: String, Sendable, Hashable, CaseIterable {
    case roundRobin = "round-robin"
    case leastUsed = "least-used"
}

/// Per-attempt time limits of one provider.
public struct TimeoutConfig: Sendable, Hashable {
    public var connect: Duration
    /// Time to the response head, or to the first event of a stream.
    public var firstByte: Duration
    public var total: Duration

    public init(connect: Duration = .seconds(5), firstByte: Duration = .seconds(60), total: Duration = .seconds(600)) {
        self.connect = connect
        self.firstByte = firstByte
        self.total = total
    }
}

/// A model name clients use, mapped to targets.
public struct RouteConfig: Sendable {
    public var name: String
    public var strategy: RoutingStrategy
    public var targets: [TargetRef]
    /// A route to use when a request is too long for this one.
    public var contextFallback: String?
    /// Output cap used when the client sends none.
    public var defaultMaxTokens: Int?
    /// Anthropic beta flags clients may pass through this route (`anthropic_betas`); `nil` allows all.
    public var allowedAnthropicBetas: [String]?
    /// Whether fields only the client's own dialect knows are dropped for other vendors
    /// (`drop_unsupported_fields`) instead of refused with a 400.
    public var dropsUnsupportedFields = false
    /// Whether the request log keeps this route's request and response bodies (`log_bodies`; off by default).
    public var logsBodies = false
    /// Other names clients may use for this route (`aliases`), such as the vendor model names agents ask for.
    public var aliases: [String] = []

    public init(name: String, strategy: RoutingStrategy = .priority, targets: [TargetRef], contextFallback: String? = nil, defaultMaxTokens: Int? = nil) {
        self.name = name
        self.strategy = strategy
        self.targets = targets
        self.contextFallback = contextFallback
        self.defaultMaxTokens = defaultMaxTokens
    }
}

/// How a route orders its targets.
public enum RoutingStrategy: String, Sendable, Hashable, CaseIterable {
    case priority
    case weighted
    case latency
    case leastBusy = "least-busy"
    case cost
}

/// `provider/model`, with an optional weight for the weighted strategy.
public struct TargetRef: Sendable, Hashable, CustomStringConvertible {
    public var provider: String
    public var model: String
    public var weight: Double

    public init(provider: String, model: String, weight: Double = 1) {
        self.provider = provider
        self.model = model
        self.weight = weight
    }

    public var description: String { "\(provider)/\(model)" }

    /// Splits `provider/model` at the first slash; the model part may itself contain slashes.
    public static func parse(_ text: String) -> TargetRef? {
        guard let slash = text.firstIndex(of: "/") else { return nil }
        let provider = String(text[..<slash])
        let model = String(text[text.index(after: slash)...])
        guard !provider.isEmpty, !model.isEmpty else { return nil }
        return TargetRef(provider: provider, model: model)
    }
}

/// Request-level retry and failover limits.
public struct RoutingConfig: Sendable, Hashable {
    /// Most upstream attempts per request.
    public var attempts: Int
    /// Total time a request may take, all attempts included.
    public var deadline: Duration
    public var backoffBase: Duration
    public var backoffMax: Duration
    public var circuitBreaker: CircuitBreakerConfig

    public init(
        attempts: Int = 4, deadline: Duration = .seconds(120), backoffBase: Duration = .milliseconds(100), backoffMax: Duration = .seconds(5),
        circuitBreaker: CircuitBreakerConfig = CircuitBreakerConfig()
    ) {
        self.attempts = attempts
        self.deadline = deadline
        self.backoffBase = backoffBase
        self.backoffMax = backoffMax
        self.circuitBreaker = circuitBreaker
    }
}

/// When a target's (or credential's) circuit opens and how it recovers.
public struct CircuitBreakerConfig: Sendable, Hashable {
    /// Consecutive failures that open the circuit.
    public var failures: Int
    public var cooldown: Duration
    /// Error rate (0–1) over `window` that also opens the circuit; `nil` disables the rate rule.
    public var errorRate: Double?
    public var window: Duration
    /// Fewest requests in the window before the error rate is judged.
    public var minimumRequests: Int
    /// Concurrent probe requests allowed while half-open.
    public var halfOpenProbes: Int

    public init(
        failures: Int = 5, cooldown: Duration = .seconds(30), errorRate: Double? = nil, window: Duration = .seconds(60),
        minimumRequests: Int = 20, halfOpenProbes: Int = 1
    ) {
        self.failures = failures
        self.cooldown = cooldown
        self.errorRate = errorRate
        self.window = window
        self.minimumRequests = minimumRequests
        self.halfOpenProbes = halfOpenProbes
    }
}

/// A static virtual key from the config.
public struct VirtualKeyConfig: Sendable, Hashable {
    public var name: String
    public var key: String
    /// Routes and targets this key may use; `nil` means all.
    public var models: [String]?
    /// Requests and tokens per minute.
    public var limits: KeyLimits?
    public var budget: KeyBudget?

    public init(name: String, key: String, models: [String]? = nil, limits: KeyLimits? = nil, budget: KeyBudget? = nil) {
        self.name = name
        self.key = key
        self.models = models
        self.limits = limits
        self.budget = budget
    }
}

/// `limits: {rpm, tpm}`.
public struct KeyLimits: Sendable, Hashable {
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?

    public init(requestsPerMinute: Int? = nil, tokensPerMinute: Int? = nil) {
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
    }
}

/// `budget: {usd, period, alert_at}`: a hard spending limit per UTC period.
public struct KeyBudget: Sendable, Hashable {
    public enum Period: String, Sendable, Hashable, CaseIterable {
        case day
        case week
        case month
        case total
    }

    public var usd: Double
    public var period: Period
    /// Share of the budget (0–1) at which an alert is sent.
    public var alertAt: Double?

    public init(usd: Double, period: Period = .month, alertAt: Double? = nil) {
        self.usd = usd
        self.period = period
        self.alertAt = alertAt
    }
}

/// `storage:` — the request log's database and how long its entries are kept.
public struct StorageConfig: Sendable, Hashable {
    /// A SQLite file path, or `:memory:` (a config given as text with no file beside it, and tests).
    public var sqlitePath = ":memory:"
    /// `postgres://user:password@host:port/database`: PostgreSQL instead of SQLite.
    public var postgresURL: String?
    /// Log entries older than this are pruned; daily totals are kept.
    public var retention: Duration = .seconds(30 * 86_400)
    /// Whether the config named it (else the default location applies).
    public var isExplicit = false

    public init(sqlitePath: String = ":memory:", retention: Duration = .seconds(30 * 86_400)) {
        self.sqlitePath = sqlitePath
        self.retention = retention
    }
}
