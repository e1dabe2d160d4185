import NIOCore
import NIOPosix
import ServiceLifecycle

/// Runs a task's jobs on one NIO event loop: a handler that prefers its connection's event loop stays on
/// the thread that reads and writes that connection, instead of hopping to the concurrency pool and back
/// for every await (the hops, and the futex wake-ups behind them, cost more than the gateway's own work).
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// One executor per event loop of the server's group, made once: looking one up takes no lock.
struct EventLoopExecutors: Sendable {
    private let executors: [ObjectIdentifier: EventLoopTaskExecutor]

    init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        var executors: [ObjectIdentifier: EventLoopTaskExecutor] = [:]
        for eventLoop in group.makeIterator() { executors[ObjectIdentifier(eventLoop)] = EventLoopTaskExecutor(eventLoop: eventLoop) }
        self.executors = executors
    }

    /// The executor of `eventLoop`, when it is one of the group's.
    func executor(for eventLoop: any EventLoop) -> (any TaskExecutor)? {
        executors[ObjectIdentifier(eventLoop)]
    }
}

extension EventLoopTaskExecutor: @unchecked Sendable {}

/// Runs each job on the event loop whose thread made it runnable (else on the global pool). Preferred by
/// the HTTP server's task tree: a connection's task, started or woken by its channel on its event loop,
/// mostly runs there instead of waking a pool thread (a futex wake-up and a thread hop per connection event).
/// A preference, not a guarantee: under load the runtime sometimes resumes a job elsewhere.
final class CurrentEventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    func enqueue(_ job: consuming ExecutorJob) {
        guard let eventLoop = MultiThreadedEventLoopGroup.currentEventLoop else {
            return globalConcurrentExecutor.enqueue(job)
        }
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

/// A service run with ``CurrentEventLoopTaskExecutor`` preferred, for itself and every task it starts.
struct EventLoopAffineService<Wrapped: Service>: Service {
    let wrapped: Wrapped
    private let executor = CurrentEventLoopTaskExecutor()

    init(_ wrapped: Wrapped) {
        self.wrapped = wrapped
    }

    func run() async throws {
        try await withTaskExecutorPreference(executor) { try await wrapped.run() }
    }
}
