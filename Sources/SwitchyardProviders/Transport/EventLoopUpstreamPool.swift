import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SwitchyardCore

/// One event loop's upstream connections for one connection policy: idle keep-alive connections per host,
/// reused last-in first-out (the warmest socket first), and new ones opened on this loop so a request, its
/// upstream socket and (when the handler runs on its connection's loop) its client socket share one thread.
///
/// Confined to its event loop; ``UpstreamHostLimits`` is the only state shared between loops.
final class EventLoopUpstreamPool: @unchecked Sendable {
    let eventLoop: any EventLoop
    private let shared: EventLoopTransportShared
    private var idle: [UpstreamHostKey: [UpstreamConnectionHandler]] = [:]
    private var open: [ObjectIdentifier: UpstreamConnectionHandler] = [:]
    private var sweeper: RepeatedTask?
    /// Upstream URLs parsed, by their text: adapters build the same few URLs for every request.
    private var parsedURLs: [String: UpstreamURL] = [:]

    init(eventLoop: any EventLoop, shared: EventLoopTransportShared) {
        self.eventLoop = eventLoop
        self.shared = shared
    }

    /// `text` parsed, from the cache when this loop saw it before. Call on the pool's event loop only.
    func parsedURL(_ text: String) -> UpstreamURL {
        if let url = parsedURLs[text] { return url }
        let url = UpstreamURL(text)
        // Model names are part of some vendors' URLs; the cache stays bounded whatever the config holds.
        if parsedURLs.count >= 512 { parsedURLs.removeAll(keepingCapacity: true) }
        parsedURLs[text] = url
        return url
    }

    /// Sends `exchange` on an idle connection, a new one, or once the host's connection limit allows.
    func send(_ exchange: UpstreamExchange) {
        guard !shared.isShutDown else { return exchange.fail(.cancelled) }
        let key = UpstreamHostKey(exchange.url)
        if let connection = takeIdle(key) { return connection.start(exchange) }
        if shared.limits.reserveOrWait(key, exchange: exchange, pool: self) { connect(key, for: exchange) }
    }

    /// Opens a connection to `key` with a slot already reserved for it, then sends `exchange` on it (or keeps
    /// it idle when the exchange ended while connecting).
    func connect(_ key: UpstreamHostKey, for exchange: UpstreamExchange) {
        guard !exchange.isFinished, !shared.isShutDown else {
            shared.limits.release(key)
            if !exchange.isFinished { exchange.fail(.cancelled) }
            return
        }
        let handler = UpstreamConnectionHandler(hostKey: key)
        let tlsHandler: NIOSSLClientHandler?
        do {
            tlsHandler = key.isTLS ? try NIOSSLClientHandler(context: try shared.tlsContext(), serverHostname: Self.serverName(key.host)) : nil
        } catch {
            shared.limits.release(key)
            return exchange.fail(UpstreamFailure(kind: .unavailable, message: "upstream TLS setup failed: \(error)"))
        }
        let timeout = max(TimeAmount.milliseconds(1), exchange.connectDeadline - .now())
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                do {
                    if let tlsHandler { try channel.pipeline.syncOperations.addHandler(tlsHandler) }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(leftOverBytesStrategy: .fireError)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        bootstrap.connect(host: key.host, port: key.port).assumeIsolated().whenComplete { result in
            switch result {
            case .success:
                self.register(handler)
                if exchange.isFinished {
                    self.connectionIdle(handler, reusable: true)
                } else {
                    handler.start(exchange)
                }
            case .failure(let error):
                self.shared.limits.release(key)
                exchange.fail(Self.connectFailure(error))
            }
        }
    }

    /// Closes every connection (at shutdown; their exchanges fail as cancelled).
    func closeAll() {
        sweeper?.cancel()
        sweeper = nil
        for connection in open.values { connection.close() }
    }

    // MARK: Connections

    private func takeIdle(_ key: UpstreamHostKey) -> UpstreamConnectionHandler? {
        guard var connections = idle[key], !connections.isEmpty else { return nil }
        defer { idle[key] = connections }
        let oldest = NIODeadline.now() - shared.idleTimeout
        while let connection = connections.popLast() {
            if connection.isOpen, connection.idleSince > oldest { return connection }
            connection.close()
        }
        return nil
    }

    private func register(_ handler: UpstreamConnectionHandler) {
        open[ObjectIdentifier(handler)] = handler
        // Weak: a transport dropped with connections still open (a test's) must not be kept alive by them.
        handler.onIdle = { [weak self] handler, reusable in
            guard let self else { return handler.close() }
            connectionIdle(handler, reusable: reusable)
        }
        handler.onClosed = { [weak self] handler, lost in
            guard let self else { return lost.map { $0.exchange.fail($0.failure) } ?? () }
            connectionClosed(handler, lost: lost)
        }
        if sweeper == nil {
            sweeper = eventLoop.scheduleRepeatedTask(initialDelay: shared.idleTimeout, delay: .nanoseconds(shared.idleTimeout.nanoseconds / 2)) { [weak self] _ in
                self?.sweepIdle()
            }
        }
    }

    private func connectionIdle(_ handler: UpstreamConnectionHandler, reusable: Bool) {
        // While requests wait for a slot anywhere, a freed connection closes so its slot goes to them.
        guard reusable, !shared.isShutDown, !shared.limits.hasWaiters else { return handler.close() }
        idle[handler.hostKey, default: []].append(handler)
    }

    /// A connection closed; `lost` is the exchange it carried, if any, still unanswered.
    private func connectionClosed(_ handler: UpstreamConnectionHandler, lost: (exchange: UpstreamExchange, failure: UpstreamFailure)?) {
        open[ObjectIdentifier(handler)] = nil
        if var connections = idle[handler.hostKey], let index = connections.firstIndex(where: { $0 === handler }) {
            connections.remove(at: index)
            idle[handler.hostKey] = connections.isEmpty ? nil : connections
        }
        shared.limits.release(handler.hostKey)
        guard let (exchange, failure) = lost else { return }
        // A kept-alive connection the server had already closed: the request never reached it, so it goes
        // once more on a fresh connection (what every HTTP client does for this race).
        if !exchange.hasHead, handler.exchangesCarried > 1, !exchange.wasRetried, failure.kind != .timeout, !shared.isShutDown {
            exchange.wasRetried = true
            return send(exchange)
        }
        exchange.fail(shared.isShutDown ? .cancelled : failure)
    }

    private func sweepIdle() {
        let oldest = NIODeadline.now() - shared.idleTimeout
        for connections in idle.values {
            for connection in connections where connection.idleSince <= oldest { connection.close() }
        }
    }

    // MARK: Helpers

    /// The SNI name: none for an IP address (TLS forbids it; the certificate is checked against the IP).
    static func serverName(_ host: String) -> String? {
        if host.contains(":") { return nil }
        if host.utf8.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: ".") }) { return nil }
        return host
    }

    static func connectFailure(_ error: any Error) -> UpstreamFailure {
        if let channelError = error as? ChannelError, case .connectTimeout = channelError {
            return UpstreamFailure(kind: .timeout, message: "upstream did not accept a connection in time")
        }
        if let connectError = error as? NIOConnectionError {
            if connectError.dnsAAAAError != nil || connectError.dnsAError != nil, connectError.connectionErrors.isEmpty {
                return UpstreamFailure(kind: .unavailable, message: "upstream host not found: \(connectError.host)")
            }
            if connectError.connectionErrors.contains(where: { ($0.error as? ChannelError).map { if case .connectTimeout = $0 { true } else { false } } ?? false }) {
                return UpstreamFailure(kind: .timeout, message: "upstream did not accept a connection in time")
            }
            return UpstreamFailure(kind: .unavailable, message: "upstream connection refused: \(connectError.host):\(connectError.port)")
        }
        return UpstreamConnectionHandler.classify(error)
    }
}
