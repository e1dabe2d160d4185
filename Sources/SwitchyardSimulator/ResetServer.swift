public import NIOCore
import NIOPosix

/// A TCP server on loopback that accepts connections and closes them at once: an upstream whose
/// connections are reset.
public enum ResetServer {
    /// Starts the server; close the returned channel to stop it.
    public static func start() async throws -> (port: Int, channel: any Channel) {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in channel.pipeline.addHandler(CloseOnRead()) }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return (channel.localAddress?.port ?? 0, channel)
    }

    private final class CloseOnRead: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.close(promise: nil)
        }
    }
}
