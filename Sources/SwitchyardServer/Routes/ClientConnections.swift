import Logging
import NIOCore
import Synchronization

/// The gateway's client connections: how many are open (refusing those beyond `server.max_connections`)
/// and, for each, a ``ConnectionWatch`` that cancels the request in progress when its client goes away,
/// so an abandoned request stops costing upstream tokens.
final class ClientConnections: Sendable {
    private let watches = Mutex<[ObjectIdentifier: ConnectionWatch]>([:])
    private let open = Atomic<Int>(0)
    /// Whether the limit was hit since it last had room: the refusal is logged once per episode, not per connection.
    private let isSaturated = Atomic<Bool>(false)
    let maximum: Int
    let logger: Logger

    init(maximum: Int, logger: Logger) {
        self.maximum = maximum
        self.logger = logger
    }

    /// Connections open right now.
    var count: Int { open.load(ordering: .relaxed) }

    /// A handler for one new connection's pipeline.
    func makeHandler() -> ClientConnectionHandler {
        ClientConnectionHandler(connections: self)
    }

    /// The watch of the connection `channel`, if it is still open.
    func watch(for channel: any Channel) -> ConnectionWatch? {
        watches.withLock { $0[ObjectIdentifier(channel)] }
    }

    /// Registers a new connection; `false` when it is one too many.
    fileprivate func admit(_ channel: any Channel, watch: ConnectionWatch) -> Bool {
        let now = open.wrappingAdd(1, ordering: .relaxed).newValue
        guard now <= maximum else {
            open.wrappingSubtract(1, ordering: .relaxed)
            if !isSaturated.exchange(true, ordering: .relaxed) {
                logger.warning(
                    "Refusing client connections: server.max_connections reached", metadata: ["server.max_connections": "\(maximum)"])
            }
            return false
        }
        if now < maximum, isSaturated.load(ordering: .relaxed) { isSaturated.store(false, ordering: .relaxed) }
        watches.withLock { $0[ObjectIdentifier(channel)] = watch }
        return true
    }

    fileprivate func remove(_ channel: any Channel) {
        let removed = watches.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
        if removed != nil { open.wrappingSubtract(1, ordering: .relaxed) }
    }
}

/// One client connection's current request, cancelled if the client goes away before it is answered.
final class ConnectionWatch: Sendable {
    private struct State {
        var isGone = false
        var cancelCurrent: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    /// Runs `work` (one request) so that it is cancelled when the client disconnects; the answer is
    /// still returned (and goes nowhere). A task, rather than a child of the connection's task, because
    /// only a task handle can be cancelled from the connection's event loop; it starts on `executor` (the
    /// connection's event loop) rather than hopping through the global pool first.
    func cancellingOnDisconnect<T: Sendable>(on executor: (any TaskExecutor)?, _ work: @escaping @Sendable () async -> T) async -> T {
        let task = Task(executorPreference: executor) { await work() }
        let isGone = state.withLock { state in
            state.cancelCurrent = { task.cancel() }
            return state.isGone
        }
        if isGone { task.cancel() }
        let value = await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
        state.withLock { $0.cancelCurrent = nil }
        return value
    }

    fileprivate func clientWentAway() {
        let cancel = state.withLock { state -> (@Sendable () -> Void)? in
            state.isGone = true
            defer { state.cancelCurrent = nil }
            return state.cancelCurrent
        }
        cancel?()
    }
}

/// Counts the connection, refuses it beyond the limit, and tells its watch when the client leaves
/// (the connection closes, fails, or the client closes its sending side).
final class ClientConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let connections: ClientConnections
    private let watch = ConnectionWatch()
    private var isRegistered = false
    private var isRefused = false

    init(connections: ClientConnections) {
        self.connections = connections
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard connections.admit(context.channel, watch: watch) else {
            // The handler may be added before the channel is active; a refused connection closes as soon as it can.
            isRefused = true
            if context.channel.isActive { context.close(promise: nil) }
            return
        }
        isRegistered = true
    }

    func channelActive(context: ChannelHandlerContext) {
        guard !isRefused else {
            context.close(promise: nil)
            return
        }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isRefused else { return }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        leave(context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        leave(context)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed? = event as? ChannelEvent { watch.clientWentAway() }
        context.fireUserInboundEventTriggered(event)
    }

    private func leave(_ context: ChannelHandlerContext) {
        watch.clientWentAway()
        guard isRegistered else { return }
        isRegistered = false
        connections.remove(context.channel)
    }
}
