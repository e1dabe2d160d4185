import Foundation
import Synchronization
public import Logging
public import ServiceLifecycle
public import SwitchyardCore

/// Posts routing alerts (a credential disabled, a circuit opened) as JSON to the configured webhook.
///
/// Events are queued without blocking the request path; a full queue drops the oldest. Delivery runs in
/// ``run()`` as a service and stops on graceful shutdown.
public final class AlertDispatcher: Service, Sendable {
    private let webhook: String
    private let transport: any UpstreamTransport
    private let logger: Logger
    private let events: AsyncStream<JSONValue>
    private let sink: AsyncStream<JSONValue>.Continuation

    public init(webhook: String, transport: any UpstreamTransport, logger: Logger) {
        self.webhook = webhook
        self.transport = transport
        self.logger = logger
        (events, sink) = AsyncStream.makeStream(of: JSONValue.self, bufferingPolicy: .bufferingNewest(1000))
    }

    /// Queues the alert for an event, if the event is one operators are alerted about.
    public func enqueue(_ event: RoutingObserver.Event) {
        guard let payload = Self.payload(for: event) else { return }
        if case .targetMisconfigured(let target, _) = event, !misconfigurationAlerts.shouldAlert(target) { return }
        sink.yield(payload)
    }

    /// Queues an alert that is not a routing event (a budget's alert share crossed).
    public func enqueue(payload: JSONValue) {
        sink.yield(payload)
    }

    /// A misconfigured target fails every request sent to it; one alert per target per quarter hour is enough.
    private let misconfigurationAlerts = AlertThrottle(interval: .seconds(900))

    public func run() async throws {
        await withGracefulShutdownHandler {
            for await payload in events {
                await deliver(payload)
            }
        } onGracefulShutdown: { [sink] in
            sink.finish()
        }
    }

    private func deliver(_ payload: JSONValue) async {
        let request = UpstreamRequest.json(url: webhook, body: payload)
        do {
            let response = try await transport.execute(request, headDeadline: .now + .seconds(10))
            _ = try? await response.body.collect(upTo: 64 << 10)
            if !response.head.isSuccess {
                logger.warning("Alert webhook refused an alert", metadata: ["upstream.status": "\(response.head.status)"])
            }
        } catch {
            logger.warning("Alert webhook unreachable", metadata: ["failure.kind": "\(error.kind.rawValue)"])
        }
    }

    static func payload(for event: RoutingObserver.Event) -> JSONValue? {
        let at = JSONValue.string(ISO8601DateFormatter().string(from: Date()))
        switch event {
        case .credentialDisabled(let provider, let index, let kind, let message):
            return [
                "type": kind == .authFailed ? "credential_revoked" : "credential_quota_exhausted", "provider": .string(provider),
                "credential_index": .int(index), "failure_kind": .string(kind.rawValue), "message": .string(message), "at": at,
            ]
        case .circuitOpened(let target, let cooldown):
            return ["type": "circuit_opened", "target": .string(target), "cooldown_seconds": .double(cooldown.seconds), "at": at]
        case .credentialRestored(let provider, let index):
            return ["type": "credential_restored", "provider": .string(provider), "credential_index": .int(index), "at": at]
        case .targetMisconfigured(let target, let message):
            return ["type": "target_misconfigured", "target": .string(target), "message": .string(message), "at": at]
        case .circuitClosed, .attemptFailed, .attemptCancelled:
            return nil
        }
    }
}

/// Remembers when each subject was last alerted about. Subjects are route targets from the config, so the
/// table stays as small as the config.
final class AlertThrottle: Sendable {
    private let lastAlerted = Mutex<[String: ContinuousClock.Instant]>([:])
    private let interval: Duration

    init(interval: Duration) {
        self.interval = interval
    }

    func shouldAlert(_ subject: String, now: ContinuousClock.Instant = .now) -> Bool {
        lastAlerted.withLock { table in
            if let last = table[subject], now - last < interval { return false }
            table[subject] = now
            return true
        }
    }
}
