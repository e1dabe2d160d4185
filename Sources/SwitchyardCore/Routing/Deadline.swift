/// Runs `operation`, cancelling it and throwing ``UpstreamFailure`` of kind `timeout` once `deadline` passes.
public func withDeadline<T: Sendable>(
    _ deadline: ContinuousClock.Instant,
    what: String,
    operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(until: deadline, clock: .continuous)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw CancellationError() }
        guard let value = first else {
            throw UpstreamFailure(kind: .timeout, message: "\(what) did not arrive in time")
        }
        return value
    }
}
