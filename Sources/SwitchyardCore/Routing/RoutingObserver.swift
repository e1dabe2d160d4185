import Logging

/// Receives routing events (breaker transitions, credential revocation) for logs, metrics and alerts.
public struct RoutingObserver: Sendable {
    /// A routing event for the alert hook.
    public enum Event: Sendable {
        case credentialDisabled(provider: String, credentialIndex: Int, kind: FailureKind, message: String)
        case credentialRestored(provider: String, credentialIndex: Int)
        case circuitOpened(target: String, cooldown: Duration)
        case circuitClosed(target: String)
        case attemptFailed(target: String, credentialIndex: Int, kind: FailureKind, status: Int?)
        /// An attempt was abandoned because the client went away or the gateway is shutting down.
        case attemptCancelled(target: String)
        /// A route's target names a model its provider does not have: the config needs fixing.
        case targetMisconfigured(target: String, message: String)
    }

    private let sink: (@Sendable (Event) -> Void)?
    private let metrics: RoutingEventMetrics?

    public init(metrics: RoutingEventMetrics? = nil, sink: (@Sendable (Event) -> Void)? = nil) {
        self.sink = sink
        self.metrics = metrics
    }

    /// Passes an event to the sink (for observers that fan out to others).
    public func notify(_ event: Event) {
        sink?(event)
    }

    func attemptFailed(target: TargetState, slot: CredentialSlot, failure: UpstreamFailure, logger: Logger) {
        logger.debug(
            "Upstream attempt failed",
            metadata: [
                "target": "\(target.name)", "credential.index": "\(slot.index)", "failure.kind": "\(failure.kind.rawValue)",
                "upstream.status": "\(failure.status.map(String.init) ?? "-")", "failure.message": "\(failure.message)",
            ])
        sink?(.attemptFailed(target: target.name, credentialIndex: slot.index, kind: failure.kind, status: failure.status))
    }

    func targetMisconfigured(target: TargetState, failure: UpstreamFailure, logger: Logger) {
        logger.error(
            "Route target does not exist at its provider; fix the config",
            metadata: ["target": "\(target.name)", "upstream.status": "\(failure.status.map(String.init) ?? "-")", "failure.message": "\(failure.message)"])
        sink?(.targetMisconfigured(target: target.name, message: failure.message))
    }

    func attemptCancelled(target: TargetState, logger: Logger) {
        logger.debug("Upstream attempt cancelled", metadata: ["target": "\(target.name)"])
        sink?(.attemptCancelled(target: target.name))
    }

    func breakerChanged(target: TargetState, transition: CircuitBreaker.Transition, now: ContinuousClock.Instant, logger: Logger) {
        switch transition {
        case .opened(let until):
            let cooldown = until - now
            logger.warning("Circuit opened", metadata: ["target": "\(target.name)", "cooldown.seconds": "\(cooldown.seconds)"])
            metrics?.circuit(target.name, state: "open")
            sink?(.circuitOpened(target: target.name, cooldown: cooldown))
        case .halfOpened:
            logger.info("Circuit half-open", metadata: ["target": "\(target.name)"])
            metrics?.circuit(target.name, state: "half_open")
        case .closed:
            logger.info("Circuit closed", metadata: ["target": "\(target.name)"])
            metrics?.circuit(target.name, state: "closed")
            sink?(.circuitClosed(target: target.name))
        }
    }

    func credentialBreakerChanged(provider: ProviderRuntime, slot: CredentialSlot, transition: CircuitBreaker.Transition, logger: Logger) {
        let metadata: Logger.Metadata = ["provider": "\(provider.name)", "credential.index": "\(slot.index)"]
        switch transition {
        case .opened:
            logger.warning("Credential circuit opened", metadata: metadata)
            metrics?.credential(provider.name, event: "circuit_open")
        case .halfOpened:
            logger.info("Credential circuit half-open", metadata: metadata)
        case .closed:
            logger.info("Credential circuit closed", metadata: metadata)
            metrics?.credential(provider.name, event: "circuit_closed")
        }
    }

    func credentialDisabled(provider: ProviderRuntime, slot: CredentialSlot, failure: UpstreamFailure, logger: Logger) {
        logger.warning(
            "Credential disabled",
            metadata: ["provider": "\(provider.name)", "credential.index": "\(slot.index)", "failure.kind": "\(failure.kind.rawValue)"])
        metrics?.credential(provider.name, event: failure.kind == .authFailed ? "revoked" : "quota_exhausted")
        sink?(.credentialDisabled(provider: provider.name, credentialIndex: slot.index, kind: failure.kind, message: failure.message))
    }

    func credentialRestored(provider: ProviderRuntime, slot: CredentialSlot, logger: Logger) {
        logger.info("Credential restored", metadata: ["provider": "\(provider.name)", "credential.index": "\(slot.index)"])
        metrics?.credential(provider.name, event: "restored")
        sink?(.credentialRestored(provider: provider.name, credentialIndex: slot.index))
    }
}
