import Logging
import NIOCore
import Synchronization

/// The gateway's client connections: how many are open, refusing those beyond `server.max_connections`,
/// and which, so that a shutdown past its backstop can close them all.
final class ClientConnections: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])
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

    /// Closes every open connection (requests in flight are cancelled by their connection's handler).
    func closeAll() {
        for channel in channels.withLock({ Array($0.values) }) { channel.close(promise: nil) }
    }

    /// Registers a new connection; `false` when it is one too many.
    fileprivate func admit(_ channel: any Channel) -> Bool {
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
        channels.withLock { $0[ObjectIdentifier(channel)] = channel }
        return true
    }

    fileprivate func remove(_ channel: any Channel) {
        let removed = channels.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
        if removed != nil { open.wrappingSubtract(1, ordering: .relaxed) }
    }
}

/// Counts the connection and refuses it beyond the limit.
final class ClientConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let connections: ClientConnections
    private var isRegistered = false
    private var isRefused = false

    init(connections: ClientConnections) {
        self.connections = connections
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard connections.admit(context.channel) else {
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

    private func leave(_ context: ChannelHandlerContext) {
        guard isRegistered else { return }
        isRegistered = false
        connections.remove(context.channel)
    }
}
