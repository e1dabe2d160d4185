import NIOCore
import NIOPosix
@testable import SwitchyardServer
import Testing

/// The HTTP server's tasks prefer the event loop whose thread makes them runnable: a connection's task,
/// started or woken by its channel, runs on an event loop thread instead of waking a thread of the pool.
@Suite struct EventLoopExecutorTests {
    @Test func aTaskStartedOnAnEventLoopRunsOnIt() async throws {
        for loop in MultiThreadedEventLoopGroup.singleton.makeIterator() {
            let task = try await loop.submit {
                Task(executorPreference: CurrentEventLoopTaskExecutor()) { loop.inEventLoop }
            }.get()
            #expect(await task.value)
        }
    }

    @Test func aTaskStartedOffAnyLoopStillRuns() async throws {
        let value = await Task.detached(executorPreference: CurrentEventLoopTaskExecutor()) { 42 }.value
        #expect(value == 42)
    }
}
