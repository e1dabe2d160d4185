import Synchronization

/// Keeps a target and a credential counted as in flight until released (once), or until the lease is
/// dropped. Streams hold one for their whole life, so least-busy routing and least-used keys see them.
public final class InFlightLease: Sendable {
    private let target: TargetState
    private let credential: CredentialSlot
    private let released = Atomic<Bool>(false)

    init(target: TargetState, credential: CredentialSlot) {
        self.target = target
        self.credential = credential
    }

    public func release() {
        guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
        credential.release()
        target.release()
    }

    deinit {
        release()
    }
}

/// A result that stays in use after the attempt returns (a stream) and so holds the in-flight lease.
protocol InFlightHolder: AnyObject {
    func hold(_ lease: InFlightLease)
}
