import NIOCore
import NIOPosix
@testable import SwitchyardServer
import Testing

/// The HTTP server's tasks prefer the event loop that resumes them: a connection's task, woken by its
/// channel, continues on the channel's thread instead of waking a thread of the global pool.
@Suite struct EventLoopExecutorTests {
    @Test func aTaskResumedByAnEventLoopContinuesOnIt() async throws {
        let loops = MultiThreadedEventLoopGroup.singleton
        try await withTaskExecutorPreference(CurrentEventLoopTaskExecutor()) {
            for _ in 0..<20 {
                let loop = loops.next()
                try await loop.submit {}.get()
                #expect(loop.inEventLoop)
            }
        }
    }

    @Test func aTaskStartedOffAnyLoopStillRuns() async throws {
        let value = await Task.detached(executorPreference: CurrentEventLoopTaskExecutor()) { 42 }.value
        #expect(value == 42)
    }
}
