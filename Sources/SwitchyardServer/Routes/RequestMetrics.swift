import CoreMetrics
import SwitchyardCore

/// Client-facing request metrics of one dialect, created once:
/// `switchyard_requests_total{dialect, status_class}` and `switchyard_request_duration_seconds{dialect}`.
struct RequestMetrics: Sendable {
    let dialect: String
    private let byClass: [Counter]
    private let duration: Timer

    init(dialect: String, factory: any MetricsFactory) {
        self.dialect = dialect
        byClass = ["1xx", "2xx", "3xx", "4xx", "5xx"].map { statusClass in
            Counter(label: "switchyard_requests_total", dimensions: [("dialect", dialect), ("status_class", statusClass)], factory: factory)
        }
        duration = Timer(label: "switchyard_request_duration_seconds", dimensions: [("dialect", dialect)], preferredDisplayUnit: .seconds, factory: factory)
    }

    /// Records a finished request (for a stream: when its response head was ready).
    func record(status: Int, since start: ContinuousClock.Instant) {
        byClass[min(max(status / 100, 1), 5) - 1].increment()
        duration.recordInterval(since: start)
    }
}

extension Timer {
    fileprivate func recordInterval(since start: ContinuousClock.Instant) {
        recordNanoseconds((ContinuousClock.now - start).nanoseconds)
    }
}
