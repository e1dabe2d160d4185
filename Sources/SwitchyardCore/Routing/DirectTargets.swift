import CoreMetrics
import Synchronization

/// Targets that clients name directly (`provider/model`) without a route listing them.
///
/// Clients choose these names, so what they cost is bounded: each provider tracks at most
/// ``maximumTracked`` of them (least recently used ones are dropped, health and all), and at most
/// ``maximumLabelled`` ever get a metrics label of their own; the rest share `<provider>/other`.
public final class DirectTargets: Sendable {
    public static let maximumTracked = 64
    public static let maximumLabelled = 32

    private struct Entry {
        var state: TargetState
        var lastUsed: UInt64
    }

    private struct Table {
        var entries: [String: Entry] = [:]
        var countByProvider: [String: Int] = [:]
        var labelled: [String: Set<String>] = [:]
        var clock: UInt64 = 0
    }

    private let table = Mutex(Table())
    private let breaker: CircuitBreakerConfig
    private let metrics: any MetricsFactory

    init(breaker: CircuitBreakerConfig, metrics: any MetricsFactory) {
        self.breaker = breaker
        self.metrics = metrics
    }

    /// The state of `ref` at `provider`, created (and the least recently used one of the provider dropped) on first use.
    func state(for ref: TargetRef, provider: ProviderRuntime) -> TargetState {
        let name = ref.description
        return table.withLock { table in
            table.clock &+= 1
            if let entry = table.entries[name] {
                table.entries[name]?.lastUsed = table.clock
                return entry.state
            }
            if table.countByProvider[ref.provider, default: 0] >= Self.maximumTracked { evictOldest(of: ref.provider, in: &table) }
            var labels = table.labelled[ref.provider, default: []]
            if labels.count < Self.maximumLabelled { labels.insert(name) }
            table.labelled[ref.provider] = labels
            let label = labels.contains(name) ? name : "\(ref.provider)/other"
            let state = TargetState(ref: ref, provider: provider, breaker: breaker, metrics: metrics, metricsLabel: label)
            table.entries[name] = Entry(state: state, lastUsed: table.clock)
            table.countByProvider[ref.provider, default: 0] += 1
            return state
        }
    }

    /// Every direct target tracked now.
    var all: [TargetState] {
        table.withLock { $0.entries.values.map(\.state) }
    }

    private func evictOldest(of provider: String, in table: inout Table) {
        let oldest = table.entries.filter { $0.value.state.ref.provider == provider }.min { $0.value.lastUsed < $1.value.lastUsed }
        guard let oldest else { return }
        table.entries[oldest.key] = nil
        table.countByProvider[provider, default: 1] -= 1
    }
}
