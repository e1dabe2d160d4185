import Foundation
import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import NIOSSL
import NIOTLS
import Synchronization

/// A small HTTP/1.1 server on 127.0.0.1 for the transport tests: each request gets what `behavior` says,
/// given its index on its connection; it counts connections and records the SNI name clients send.
final class TestUpstreamServer: Sendable {
    enum Behavior: Sendable {
        /// A response; `chunks` are written one by one; `close` closes the connection after it.
        case respond(status: Int = 200, headers: [(String, String)] = [], chunks: [String], close: Bool = false)
        /// The head and the first chunk, then silence.
        case headThenSilence(firstChunk: String)
        /// The head and then `count` chunks of `size` bytes as fast as the socket takes them.
        case bulk(chunkSize: Int, count: Int)
        /// Nothing at all.
        case silence
        /// The connection closes without a byte of response.
        case closeAtOnce
        /// (HTTP/2 only) GOAWAY on its connection naming this stream the last it processes, then the head
        /// and the first chunk, then silence: the client learns of the GOAWAY while this stream is open.
        case goAwayThenHold(firstChunk: String)
        /// (HTTP/2 only) The stream is reset with REFUSED_STREAM: the request was not processed.
        case refuseStream
    }

    struct Request: Sendable {
        let method: String
        let uri: String
        let headers: [(String, String)]
        let body: String
        let indexOnConnection: Int
        /// `HTTP/1.1`, or `HTTP/2.0` for a request that came on an HTTP/2 stream.
        let version: String
    }

    let port: Int
    private let channel: any Channel
    private let state: ServerRecord

    static func tlsFile(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tls/\(name)").path
    }

    /// - Parameters:
    ///   - certificate: `server` or `other` to serve TLS with that fixture; nil for plain HTTP.
    ///   - http2: with TLS, offer HTTP/2 (and HTTP/1.1) by ALPN; otherwise the server names no protocol.
    init(certificate: String? = nil, http2: Bool = false, behavior: @escaping @Sendable (Request) -> Behavior) async throws {
        let state = ServerRecord()
        self.state = state
        let tls: NIOSSLContext? = try certificate.map { name in
            let configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(Self.tlsFile("\(name).pem")).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: Self.tlsFile("\(name).key"), format: .pem)))
            var tlsConfiguration = configuration
            if http2 { tlsConfiguration.applicationProtocols = ["h2", "http/1.1"] }
            return try NIOSSLContext(configuration: tlsConfiguration)
        }
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                state.lock.withLock { $0.connections += 1 }
                do {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(
                                SNIHandler { result in
                                    if case .hostname(let name) = result { state.lock.withLock { $0.sniNames.append(name) } }
                                    return channel.eventLoop.makeSucceededVoidFuture()
                                }))
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                        if http2 {
                            return channel.configureHTTP2SecureUpgrade(
                                h2ChannelConfigurator: { channel in
                                    channel.configureHTTP2Pipeline(mode: .server) { stream in
                                        stream.eventLoop.makeCompletedFuture {
                                            try stream.pipeline.syncOperations.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                                            try stream.pipeline.syncOperations.addHandler(ResponderHandler(state: state, behavior: behavior))
                                        }
                                    }.map { _ in }
                                },
                                http1ChannelConfigurator: { channel in
                                    channel.eventLoop.makeCompletedFuture {
                                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
                                        try channel.pipeline.syncOperations.addHandler(ResponderHandler(state: state, behavior: behavior))
                                    }
                                })
                        }
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
                    try channel.pipeline.syncOperations.addHandler(ResponderHandler(state: state, behavior: behavior))
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        port = channel.localAddress!.port!
    }

    var connectionCount: Int { state.lock.withLock { $0.connections } }
    var sniNames: [String] { state.lock.withLock { $0.sniNames } }
    var requests: [Request] { state.lock.withLock { $0.requests } }

    func url(_ path: String = "/v1/chat/completions", scheme: String = "http", host: String = "127.0.0.1") -> String {
        "\(scheme)://\(host):\(port)\(path)"
    }

    func stop() async {
        try? await channel.close()
    }
}

private final class ResponderHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let state: ServerRecord
    let behavior: @Sendable (TestUpstreamServer.Request) -> TestUpstreamServer.Behavior
    var head: HTTPRequestHead?
    var body = ""
    var index = 0

    init(
        state: ServerRecord,
        behavior: @escaping @Sendable (TestUpstreamServer.Request) -> TestUpstreamServer.Behavior
    ) {
        self.state = state
        self.behavior = behavior
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = ""
        case .body(let bytes):
            body += String(buffer: bytes)
        case .end:
            guard let head else { return }
            let request = TestUpstreamServer.Request(
                method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) }, body: body, indexOnConnection: index,
                version: "\(head.version)")
            index += 1
            state.lock.withLock { $0.requests.append(request) }
            respond(context: context, behavior(request))
        }
    }

    private func respond(context: ChannelHandlerContext, _ behavior: TestUpstreamServer.Behavior) {
        switch behavior {
        case .respond(let status, let headers, let chunks, let close):
            var responseHeaders = HTTPHeaders(headers)
            if close { responseHeaders.replaceOrAdd(name: "connection", value: "close") }
            if !responseHeaders.contains(name: "content-length") { responseHeaders.add(name: "transfer-encoding", value: "chunked") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: responseHeaders))), promise: nil)
            for chunk in chunks { context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: chunk)))), promise: nil) }
            let done = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
            if close { done.futureResult.whenComplete { _ in context.close(promise: nil) } }
        case .headThenSilence(let firstChunk):
            let headers = HTTPHeaders([("transfer-encoding", "chunked")])
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: firstChunk)))), promise: nil)
        case .bulk(let size, let count):
            let headers = HTTPHeaders([("content-length", "\(size * count)")])
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
            let chunk = ByteBuffer(repeating: UInt8(ascii: "x"), count: size)
            for _ in 0..<count { context.write(wrapOutboundOut(.body(.byteBuffer(chunk))), promise: nil) }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        case .silence:
            break
        case .closeAtOnce:
            context.close(promise: nil)
        case .goAwayThenHold(let firstChunk):
            if let connection = context.channel.parent, let streamID = try? context.channel.syncOptions?.getOption(HTTP2StreamChannelOptions.streamID) {
                // Nothing after this stream will be processed, as a server going down says.
                let goAway = HTTP2Frame(streamID: .rootStream, payload: .goAway(lastStreamID: streamID, errorCode: .noError, opaqueData: nil))
                connection.writeAndFlush(goAway, promise: nil)
            }
            respond(context: context, .headThenSilence(firstChunk: firstChunk))
        case .refuseStream:
            // Written below the HTTP/1 codec, which only takes HTTP/1 parts.
            guard let codec = try? context.pipeline.syncOperations.context(handlerType: HTTP2FramePayloadToHTTP1ServerCodec.self) else { return }
            codec.writeAndFlush(NIOAny(HTTP2Frame.FramePayload.rstStream(.refusedStream)), promise: nil)
        }
    }
}

final class ServerRecord: Sendable {
    let lock = Mutex<(connections: Int, sniNames: [String], requests: [TestUpstreamServer.Request])>((0, [], []))
}
