import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

/// A client that stops reading a stream must stop the gateway reading its upstream: the stream waits for
/// the client instead of the gateway holding what the vendor keeps sending.
@Suite("Slow clients hold their upstream back")
struct SlowClientTests {
    /// More than every buffer on the way can hold (the kernel's on both connections, the gateway's own), so
    /// the vendor can only finish while the client reads.
    static let streamBytes = 64 << 20

    @Test func aClientThatStopsReadingStopsItsUpstreamAndLosesNothing() async throws {
        let upstream = try await EndlessStreamUpstream.start(totalBytes: Self.streamBytes)
        let config = TestConfigs.openAI().replacingOccurrences(of: "{{oai}}", with: String(upstream.port))
        try await LiveGateway.run(vendors: [], config: config) { gateway in
            let client = try await PausableClient.connect(port: gateway.port)
            let body = #"{"model":"smart","stream":true,"messages":[{"role":"user","content":"x"}]}"#
            try await client.send(
                "POST /v1/chat/completions HTTP/1.1\r\nhost: gateway\r\nauthorization: Bearer test-key\r\ncontent-type: application/json\r\n"
                    + "content-length: \(body.utf8.count)\r\n\r\n" + body)
            // The answer has started; from here the client reads nothing.
            try await client.readUntilContent()
            // With the client's buffers full, the gateway must stop reading the vendor, so the vendor stalls
            // short of its end; a gateway that read on would take all of it into memory and let it finish.
            let outcome = try await withTestTimeout(.seconds(120)) { await upstream.outcome() }
            guard case .stalled(let sent) = outcome else {
                Issue.record("the vendor sent its whole stream while the client read nothing")
                return
            }
            #expect(sent < Self.streamBytes)
            // Reading again, the client gets every byte the vendor sent (it ends its stream once stalled),
            // through to the end.
            let received = try await withTestTimeout(.seconds(120)) { try await client.readToEnd() }
            #expect(received.sawDone)
            #expect(received.bytes >= sent)
        }
        try await upstream.stop()
    }
}

/// An OpenAI-format upstream that answers one streamed request with up to `totalBytes` of chunks, as fast as
/// its connection takes them, and reports whether it finished or stalled (unwritable for two seconds); once
/// stalled, it ends the stream as soon as it can write again.
final class EndlessStreamUpstream: Sendable {
    enum Outcome: Sendable, Equatable {
        case finished
        case stalled(bytesSent: Int)
    }

    let port: Int
    private let channel: any Channel
    private let outcomes: AsyncStream<Outcome>

    private init(port: Int, channel: any Channel, outcomes: AsyncStream<Outcome>) {
        self.port = port
        self.channel = channel
        self.outcomes = outcomes
    }

    static func start(totalBytes: Int) async throws -> EndlessStreamUpstream {
        let (outcomes, sink) = AsyncStream.makeStream(of: Outcome.self)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
                    try channel.pipeline.syncOperations.addHandler(Writer(totalBytes: totalBytes, report: sink))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return EndlessStreamUpstream(port: channel.localAddress!.port!, channel: channel, outcomes: outcomes)
    }

    /// The first outcome reported.
    func outcome() async -> Outcome? {
        var iterator = outcomes.makeAsyncIterator()
        return await iterator.next()
    }

    func stop() async throws {
        try await channel.close()
    }

    private final class Writer: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        private var totalBytes: Int
        private let report: AsyncStream<Outcome>.Continuation
        private let event: ByteBuffer
        private var sent = 0
        private var started = false
        private var sentWhenBlocked = -1
        private var isWriting = false

        init(totalBytes: Int, report: AsyncStream<Outcome>.Continuation) {
            self.totalBytes = totalBytes
            self.report = report
            let text = String(repeating: "x", count: 16_000)
            event = ByteBuffer(
                string: #"data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":""#
                    + text + #""},"finish_reason":null}]}"# + "\n\n")
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard case .end = unwrapInboundIn(data), !started else { return }
            started = true
            var head = HTTPResponseHead(version: .http1_1, status: .ok)
            head.headers.add(name: "content-type", value: "text/event-stream")
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            writeWhileWritable(context: context)
        }

        func channelWritabilityChanged(context: ChannelHandlerContext) {
            // Not from within a write of ours (NIO reports writability as it changes, during a write or flush):
            // the encoder writes each chunk's framing in pieces, and a chunk written in between would cut one.
            if started, !isWriting, context.channel.isWritable { writeWhileWritable(context: context) }
            context.fireChannelWritabilityChanged()
        }

        private func writeWhileWritable(context: ChannelHandlerContext) {
            isWriting = true
            defer { isWriting = false }
            // A flush may make the channel writable again without a call here (it happens inside the flush).
            repeat {
                while context.channel.isWritable, sent < totalBytes {
                    context.write(wrapOutboundOut(.body(.byteBuffer(event))), promise: nil)
                    sent += event.readableBytes
                }
                if sent >= totalBytes {
                    context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "data: [DONE]\n\n")))), promise: nil)
                    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                    report.yield(.finished)
                    return
                }
                context.flush()
            } while context.channel.isWritable
            // Blocked: if nothing more could be sent two seconds later, the reader has stopped (a gateway that reads
            // on, even one built for debugging, takes more than that in two seconds).
            let blockedAt = sent
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: .seconds(2)) {
                let (writer, context) = loopBound.value
                if writer.sent == blockedAt, !context.channel.isWritable, writer.sentWhenBlocked != blockedAt {
                    writer.sentWhenBlocked = blockedAt
                    writer.totalBytes = blockedAt
                    writer.report.yield(.stalled(bytesSent: blockedAt))
                }
            }
        }
    }
}

/// A raw client connection that reads only when asked: the kernel's receive buffer (kept small) fills and
/// the gateway's writes stop being taken.
final class PausableClient: Sendable {
    struct Received: Sendable {
        var bytes = 0
        var tail = ""
        var sawDone: Bool { tail.contains("data: [DONE]") }
    }

    private let channel: any Channel
    private let collector: Collector

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    static func connect(port: Int) async throws -> PausableClient {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.autoRead, value: false)
            .channelOption(.socketOption(.so_rcvbuf), value: 16 * 1024)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) } }
            .connect(host: "127.0.0.1", port: port).get()
        return PausableClient(channel: channel, collector: collector)
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    /// Reads until the stream's first content has arrived, then reads no more.
    func readUntilContent() async throws {
        while !collector.state.withLock({ $0.received.tail.contains("xxxx") }) {
            try await readOnce()
        }
    }

    /// Reads on until the response's chunked body ends.
    func readToEnd() async throws -> Received {
        while !collector.state.withLock({ $0.received.tail.hasSuffix("0\r\n\r\n") }) {
            try await readOnce()
        }
        return collector.state.withLock { $0.received }
    }

    private func readOnce() async throws {
        let (arrived, signal) = AsyncStream.makeStream(of: Bool.self)
        collector.state.withLock { $0.waiter = signal }
        channel.read()
        var iterator = arrived.makeAsyncIterator()
        guard await iterator.next() == true else { throw TestFailure("the gateway closed the connection") }
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer

        struct State {
            var received = Received()
            var waiter: AsyncStream<Bool>.Continuation?
        }

        let state = Mutex(State())

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            state.withLock { state in
                state.received.bytes += buffer.readableBytes
                // Only the end is kept: enough to find the markers, however much arrives.
                let kept = min(buffer.readableBytes, 64)
                let end = buffer.getString(at: buffer.writerIndex - kept, length: kept) ?? ""
                state.received.tail = String((state.received.tail + end).suffix(64))
            }
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            state.withLock { state in
                state.waiter?.yield(true)
                state.waiter = nil
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            state.withLock { state in
                state.waiter?.yield(false)
                state.waiter = nil
            }
        }
    }
}

