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
    /// HTTP/2 connections that take new streams, per host; the newest is tried first.
    private var http2: [UpstreamHostKey: [UpstreamHTTP2Connection]] = [:]
    private var openHTTP2: [ObjectIdentifier: UpstreamHTTP2Connection] = [:]
    /// TLS connections being opened, per host, and the exchanges waiting to learn whether one speaks HTTP/2.
    private var connecting: [UpstreamHostKey: Int] = [:]
    private var waitingForConnection: [UpstreamHostKey: [UpstreamExchange]] = [:]
    /// Hosts whose last TLS connection chose HTTP/1.1: their requests do not wait for each other's connections.
    private var hostsOnHTTP1: Set<UpstreamHostKey> = []
    /// Connections being opened (connecting, or in their TLS handshake), so that shutdown can end them too.
    private var opening: [UInt64: EventLoopPromise<UpstreamProtocolSelector.Selected>] = [:]
    private var nextOpeningID: UInt64 = 0
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
        // Only TLS connections can speak HTTP/2: plain requests skip the lookup.
        if key.isTLS, let connection = http2[key]?.last(where: \.hasCapacity) { return start(exchange, on: connection) }
        if let connection = takeIdle(key) { return connection.start(exchange) }
        // A TLS connection to this host is being opened and may turn out HTTP/2: wait for it rather than open
        // another (a burst of requests to a new host would otherwise open one connection each).
        if key.isTLS, shared.offersHTTP2, !hostsOnHTTP1.contains(key), connecting[key, default: 0] > 0 {
            return waitingForConnection[key, default: []].append(exchange)
        }
        if shared.limits.reserveOrWait(key, exchange: exchange, pool: self) { connect(key, for: exchange) }
    }

    /// Opens a connection to `key` with a slot already reserved for it, then sends `exchange` on it (or keeps
    /// it idle when the exchange ended while connecting). A TLS connection speaks what ALPN chose: HTTP/2
    /// when the server offers it (and the pool may), HTTP/1.1 otherwise.
    func connect(_ key: UpstreamHostKey, for exchange: UpstreamExchange) {
        guard !exchange.isFinished, !shared.isShutDown else {
            shared.limits.release(key)
            if !exchange.isFinished { exchange.fail(.cancelled) }
            return
        }
        let tlsHandler: NIOSSLClientHandler?
        do {
            tlsHandler = key.isTLS ? try NIOSSLClientHandler(context: try shared.tlsContext(), serverHostname: Self.serverName(key.host)) : nil
        } catch {
            shared.limits.release(key)
            return exchange.fail(UpstreamFailure(kind: .unavailable, message: "upstream TLS setup failed: \(error)"))
        }
        let selected = eventLoop.makePromise(of: UpstreamProtocolSelector.Selected.self)
        // The connected channel, or true once the connection was given up (a channel connecting after that closes).
        let connection = NIOLoopBoundBox<(channel: (any Channel)?, isGivenUp: Bool)>((nil, false), eventLoop: eventLoop)
        // Plain HTTP has nothing to negotiate: HTTP/1.1 from the start.
        let plainHandler = tlsHandler == nil ? UpstreamHTTP1ConnectionHandler(hostKey: key) : nil
        var handshakeTimer: Scheduled<Void>?
        if tlsHandler != nil {
            connecting[key, default: 0] += 1
            // The handshake is part of waiting for the answer's head: it gets no longer than that.
            handshakeTimer = eventLoop.scheduleTask(deadline: exchange.headDeadline) {
                selected.fail(UpstreamFailure(kind: .timeout, message: "upstream did not complete the TLS handshake in time"))
            }
        }
        let openingID = nextOpeningID
        nextOpeningID &+= 1
        opening[openingID] = selected
        selected.futureResult.assumeIsolated().whenComplete { [handshakeTimer] result in
            self.opening[openingID] = nil
            handshakeTimer?.cancel()
            guard case .failure = result else { return }
            connection.value.isGivenUp = true
            connection.value.channel?.close(promise: nil)
        }
        let timeout = max(TimeAmount.milliseconds(1), exchange.connectDeadline - .now())
        // The channel is initialised on `eventLoop` (the bootstrap's only loop), where the handler was made.
        let tlsHandlerOnLoop = NIOLoopBound(tlsHandler, eventLoop: eventLoop)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                do {
                    let pipeline = channel.pipeline.syncOperations
                    if let tlsHandler = tlsHandlerOnLoop.value {
                        try pipeline.addHandler(tlsHandler)
                        try pipeline.addHandler(UpstreamProtocolSelector(hostKey: key, selected: selected))
                    } else if let plainHandler {
                        try pipeline.addHandler(plainHandler)
                    }
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
        bootstrap.connect(host: key.host, port: key.port).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let channel):
                if connection.value.isGivenUp { return channel.close(promise: nil) }
                connection.value.channel = channel
                if let plainHandler { selected.succeed(.http1(plainHandler)) }
            case .failure(let error): selected.fail(Self.connectFailure(error))
            }
        }
        selected.futureResult.assumeIsolated().whenComplete { result in
            defer { if tlsHandler != nil { self.settleWaiters(for: key, with: result) } }
            switch result {
            case .success(.http1(let handler)):
                self.register(handler)
                if exchange.isFinished {
                    self.connectionIdle(handler, reusable: true)
                } else {
                    handler.start(exchange)
                }
            case .success(.http2(let connection)):
                self.register(connection)
                if exchange.isFinished {
                    self.http2ConnectionIdle(connection)
                } else {
                    self.start(exchange, on: connection)
                }
            case .failure(let error):
                self.shared.limits.release(key)
                exchange.fail(self.shared.isShutDown ? .cancelled : error as? UpstreamFailure ?? Self.connectFailure(error))
            }
        }
    }

    /// Closes every connection (at shutdown; their exchanges fail as cancelled).
    func closeAll() {
        sweeper?.cancel()
        sweeper = nil
        for connection in open.values { connection.close() }
        for connection in openHTTP2.values { connection.close() }
        for selection in opening.values { selection.fail(UpstreamFailure.cancelled) }
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
        startSweeper()
    }

    private func startSweeper() {
        if sweeper == nil {
            sweeper = eventLoop.scheduleRepeatedTask(initialDelay: shared.idleTimeout, delay: .nanoseconds(shared.idleTimeout.nanoseconds / 2)) { [weak self] _ in
                self?.sweepIdle()
            }
        }
    }

    private func register(_ connection: UpstreamHTTP2Connection) {
        openHTTP2[ObjectIdentifier(connection)] = connection
        http2[connection.hostKey, default: []].append(connection)
        connection.onUnusable = { [weak self] connection in self?.removeFromUsable(connection) }
        connection.onIdle = { [weak self] connection in
            guard let self else { return connection.close() }
            http2ConnectionIdle(connection)
        }
        connection.onClosed = { [weak self] connection in
            guard let self else { return }
            openHTTP2[ObjectIdentifier(connection)] = nil
            shared.limits.release(connection.hostKey)
        }
        startSweeper()
    }

    /// Sends `exchange` on a stream of `connection`; an exchange the server refused unprocessed (or that found
    /// the connection gone before its stream opened) is sent once more, like a request on a stale HTTP/1.1
    /// connection.
    private func start(_ exchange: UpstreamExchange, on connection: UpstreamHTTP2Connection) {
        connection.start(exchange) { [weak self] exchange, failure, unprocessed in
            guard let self else { return exchange.fail(failure) }
            if shared.isShutDown { return exchange.fail(.cancelled) }
            guard unprocessed, !exchange.wasRetried else { return exchange.fail(failure) }
            exchange.wasRetried = true
            send(exchange)
        }
    }

    /// A TLS connection to `key` was set up (or failed): the exchanges that waited for it go on its streams
    /// when it speaks HTTP/2, fail with it when it failed, and otherwise find connections of their own.
    private func settleWaiters(for key: UpstreamHostKey, with result: Result<UpstreamProtocolSelector.Selected, any Error>) {
        connecting[key, default: 1] -= 1
        if connecting[key] == 0 { connecting[key] = nil }
        switch result {
        case .success(.http1): hostsOnHTTP1.insert(key)
        case .success(.http2): hostsOnHTTP1.remove(key)
        case .failure: break
        }
        guard let waiting = waitingForConnection.removeValue(forKey: key) else { return }
        for exchange in waiting where !exchange.isFinished {
            if case .failure(let error) = result {
                exchange.fail(shared.isShutDown ? .cancelled : error as? UpstreamFailure ?? Self.connectFailure(error))
            } else {
                send(exchange)
            }
        }
    }

    private func removeFromUsable(_ connection: UpstreamHTTP2Connection) {
        guard var connections = http2[connection.hostKey], let index = connections.firstIndex(where: { $0 === connection }) else { return }
        connections.remove(at: index)
        http2[connection.hostKey] = connections.isEmpty ? nil : connections
    }

    private func http2ConnectionIdle(_ connection: UpstreamHTTP2Connection) {
        // As for HTTP/1.1: while requests wait for a slot anywhere, an idle connection gives its slot up.
        if shared.isShutDown || shared.limits.hasWaiters { connection.close() }
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
        // once more (what every HTTP client does for this race). Not when any of an answer came back (one too
        // malformed to read, or cut short): the upstream had the request, and may have acted on it.
        if !exchange.hasHead, !handler.hasReadSinceSending, handler.exchangesCarried > 1, !exchange.wasRetried, failure.kind != .timeout, !shared.isShutDown {
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
        for connection in openHTTP2.values where connection.openStreams == 0 && connection.idleSince <= oldest { connection.close() }
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
