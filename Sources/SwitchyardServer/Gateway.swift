import Atomics
public import CoreMetrics
import Foundation
import Synchronization
import Tracing
public import Logging
public import Prometheus
public import SwitchyardCore

/// The running gateway: the current routing snapshot, the logger and the metrics every handler shares.
public final class Gateway: Sendable {
    private let current: ManagedAtomic<GatewaySnapshot>
    let builder: SnapshotBuilder
    /// Keys created through the admin API, swapped whole on each change (lock-free to read).
    let managedKeys = ManagedAtomic(ManagedKeysBox(ManagedKeyTable(), states: [:]))
    private let configSource: (@Sendable () throws(ConfigError) -> GatewayConfig)?
    public let logger: Logger
    /// Where the gateway's metrics go; ``metricsRegistry`` renders them for `GET /metrics`.
    public let metrics: any MetricsFactory
    public let metricsRegistry: PrometheusCollectorRegistry
    /// Graceful-shutdown progress, shared by readiness, the stream writers and the shutdown services.
    public let drain = DrainState()
    /// Where each request's record goes (nil: the gateway keeps no log).
    public let requestLog: RequestLog?
    /// Responses API conversation state: in the storage when there is one, else in memory.
    public let responses: any ResponseStore
    /// Sends an operator alert through the webhook, when one is configured.
    let alert: @Sendable (JSONValue) -> Void
    /// Routing events and alerts for the dashboard's live feed.
    public let events: DashboardEventFeed
    /// Who is logged in to the dashboard.
    let dashboardSessions = DashboardSessions()
    /// Request spans, when tracing is on; nil costs the request path nothing.
    let tracer: (any Tracer)?
    /// `switchyard_key_rejections_total{reason}`: requests refused for a key's budget or rate limit.
    let budgetRejections: CoreMetrics.Counter
    let rateLimitRejections: CoreMetrics.Counter

    init(
        snapshot: GatewaySnapshot, builder: SnapshotBuilder, configSource: (@Sendable () throws(ConfigError) -> GatewayConfig)?, logger: Logger,
        metrics: any MetricsFactory, metricsRegistry: PrometheusCollectorRegistry, requestLog: RequestLog? = nil,
        alert: @escaping @Sendable (JSONValue) -> Void = { _ in }, events: DashboardEventFeed = DashboardEventFeed(), tracer: (any Tracer)? = nil
    ) {
        self.tracer = tracer
        self.events = events
        self.requestLog = requestLog
        self.responses = (requestLog?.store as? any ResponseStore) ?? InMemoryResponseStore()
        self.alert = alert
        self.budgetRejections = CoreMetrics.Counter(label: "switchyard_key_rejections_total", dimensions: [("reason", "budget")], factory: metrics)
        self.rateLimitRejections = CoreMetrics.Counter(label: "switchyard_key_rejections_total", dimensions: [("reason", "rate_limit")], factory: metrics)
        self.current = ManagedAtomic(snapshot)
        self.builder = builder
        self.configSource = configSource
        self.logger = logger
        self.metrics = metrics
        self.metricsRegistry = metricsRegistry
    }

    /// The snapshot requests starting now use.
    public var snapshot: GatewaySnapshot { current.load(ordering: .acquiring) }
    public var table: RouteTable { snapshot.table }
    public var executor: ChatExecutor { snapshot.executor }
    public var config: GatewayConfig { snapshot.config }

    /// Re-reads the config and swaps in a new snapshot. In-flight requests finish on the old one; provider
    /// and credential health start fresh (a key revoked by mistake is usable again); drills are reset to
    /// the config's `faults`. `listen` and `alerts` take effect at the next start.
    /// - Throws: ``ConfigError`` when the new config is invalid; the running snapshot stays.
    @discardableResult
    public func reload() throws(ConfigError) -> GatewaySnapshot {
        guard let configSource else { throw ConfigError(path: "", message: "this gateway was not started from a config file") }
        let config = try configSource()
        try config.checkNotOpen(listeningOn: snapshot.config.listen)
        let next = try builder.makeSnapshot(config)
        let previous = current.exchange(next, ordering: .acquiringAndReleasing)
        for provider in Set(previous.config.faults.keys).union(config.faults.keys) { builder.faults.set(config.faults[provider], for: provider) }
        if previous.config.listen != config.listen || previous.config.alertWebhook != config.alertWebhook {
            logger.warning("Config reloaded; listen and alerts changes apply at the next start")
        }
        logger.info("Config reloaded", metadata: ["routes": "\(config.routes.count)", "providers": "\(config.providers.count)"])
        return next
    }

    /// The virtual key presented in `Authorization: Bearer` or `x-api-key`.
    /// - Returns: `nil` when the gateway runs without keys.
    /// - Throws: 401 for a missing or unknown key.
    func authenticate(authorization: String?, apiKey: String?, in table: RouteTable) throws(GatewayError) -> VirtualKeyConfig? {
        let managed = managedKeys.load(ordering: .acquiring)
        guard table.requiresKeys || !managed.table.isEmpty else { return nil }
        let presented = apiKey.flatMap { $0.isEmpty ? nil : $0 } ?? bearerToken(authorization)
        guard let presented else {
            throw GatewayError.unauthenticated("Missing API key. Send your Switchyard virtual key as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.")
        }
        if let key = table.virtualKey(secret: presented) { return key }
        if let key = managed.table.byDigest[SecretDigest(presented)] {
            guard !key.disabled else { throw GatewayError.unauthenticated("This API key is disabled.") }
            return key.virtualKey
        }
        throw GatewayError.unauthenticated("Invalid API key.")
    }

    /// The usage state of `key` (a config key's, or a managed key's).
    func keyState(for key: VirtualKeyConfig, in table: RouteTable) -> KeyState? {
        table.keyStates[key.name] ?? managedKeys.load(ordering: .acquiring).states[key.name]
    }

    /// Whether `authorization` carries the admin key.
    func isAdmin(authorization: String?) -> Bool {
        guard let adminKey = config.adminKey, let token = bearerToken(authorization) else { return false }
        return SecretDigest.matches(token, adminKey)
    }

    /// The token of `Bearer <token>` (scheme case-insensitive, surrounding blanks ignored), read on the bytes.
    private func bearerToken(_ authorization: String?) -> String? {
        guard var utf8 = authorization?.utf8[...], utf8.count > 7 else { return nil }
        for expected in "bearer ".utf8 {
            guard let byte = utf8.popFirst(), byte | 0x20 == expected | 0x20 || (expected == 0x20 && byte == 0x20) else { return nil }
        }
        while let first = utf8.first, first == 0x20 || first == 0x09 { utf8.removeFirst() }
        while let last = utf8.last, last == 0x20 || last == 0x09 { utf8.removeLast() }
        return utf8.isEmpty ? nil : String(Substring(utf8))
    }
}

/// A request id for requests that arrive without one: the time in milliseconds (12 hex digits), then
/// 64 bits that look random. Ids made later sort later, so the request log's primary-key index grows at its
/// end instead of dirtying a random page per insert (with 128 random bits, SQLite rewrote about three pages
/// per logged request).
func makeRequestID(millisecondsSinceEpoch: UInt64 = UInt64(max(0, Date().timeIntervalSince1970 * 1000))) -> String {
    let random = RequestIDBits.next()
    let prefix = "req_".utf8
    return String(unsafeUninitializedCapacity: prefix.count + 12 + 16) { text in
        var end = 0
        for byte in prefix {
            text[end] = byte
            end += 1
        }
        end = writeHex(millisecondsSinceEpoch & 0xFFFF_FFFF_FFFF, digits: 12, into: text, at: end)
        return writeHex(random, digits: 16, into: text, at: end)
    }
}

/// `words` × 64 random bits from the system's generator, as lowercase hex (16 digits per word).
func randomHex(words: Int) -> String {
    var generator = SystemRandomNumberGenerator()
    return String(unsafeUninitializedCapacity: words * 16) { text in
        var end = 0
        for _ in 0..<words { end = writeHex(generator.next(), digits: 16, into: text, at: end) }
        return end
    }
}

/// Writes the low `digits` hex digits of `value` (lowercase, zero-padded) at `start`; returns the end.
private func writeHex(_ value: UInt64, digits: Int, into text: UnsafeMutableBufferPointer<UInt8>, at start: Int) -> Int {
    let alphabet: StaticString = "0123456789abcdef"
    var remaining = value
    for index in stride(from: start + digits - 1, through: start, by: -1) {
        text[index] = alphabet.utf8Start[Int(remaining & 0xF)]
        remaining >>= 4
    }
    return start + digits
}

/// The managed keys in force and their usage states, as one immutable value.
final class ManagedKeysBox: AtomicReference, Sendable {
    let table: ManagedKeyTable
    let states: [String: KeyState]

    init(_ table: ManagedKeyTable, states: [String: KeyState]) {
        self.table = table
        self.states = states
    }
}

/// The 64 bits after a request id's time: a process-wide counter, started at a random value and passed
/// through a bijective mix keyed by a random secret, so no two ids of one process share them (a random draw
/// per request cost a `getrandom` call each) while they still look random and differ across processes.
enum RequestIDBits {
    private static let key: UInt64 = { var generator = SystemRandomNumberGenerator(); return generator.next() }()
    private static let counter = Atomic<UInt64>({ var generator = SystemRandomNumberGenerator(); return generator.next() }())

    static func next() -> UInt64 {
        mix(counter.add(1, ordering: .relaxed).oldValue ^ key)
    }

    /// SplitMix64's finaliser: a bijection of 64-bit values that spreads every input bit over the output.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
