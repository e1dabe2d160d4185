public import NIOCore

/// HTTP header fields as an ordered list; names compare case-insensitively.
public struct HeaderFields: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var fields: [(name: String, value: String)]

    public init(_ fields: [(name: String, value: String)] = []) {
        self.fields = fields
    }

    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { (name: $0.0, value: $0.1) }
    }

    /// The first value of the header `name`.
    public subscript(name: String) -> String? {
        fields.first { $0.name.caseInsensitiveEquals(name) }?.value
    }

    public mutating func reserveCapacity(_ count: Int) {
        fields.reserveCapacity(count)
    }

    public mutating func add(_ name: String, _ value: String) {
        growIfFull()
        fields.append((name, value))
    }

    /// Replaces every value of `name` with `value`.
    public mutating func replace(_ name: String, _ value: String) {
        // Usually the field is new: a scan, not a removal pass that rebuilds the array.
        if fields.contains(where: { $0.name.caseInsensitiveEquals(name) }) {
            fields.removeAll { $0.name.caseInsensitiveEquals(name) }
        }
        growIfFull()
        fields.append((name, value))
    }

    /// A head has a handful of fields: room for eight at the first growth, where doubling from one grew the
    /// array three times per head.
    private mutating func growIfFull() {
        if fields.count == fields.capacity, fields.count < 8 { fields.reserveCapacity(8) }
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        fields.makeIterator()
    }
}

extension String {
    /// ASCII case-insensitive comparison, for header names.
    public func caseInsensitiveEquals(_ other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        return withUTF8Bytes { lhs in
            other.withUTF8Bytes { rhs in
                for index in lhs.indices where lhs[index] != rhs[index] {
                    let a = lhs[index]
                    let b = rhs[index]
                    let la = (a >= 65 && a <= 90) ? a + 32 : a
                    let lb = (b >= 65 && b <= 90) ? b + 32 : b
                    if la != lb { return false }
                }
                return true
            }
        }
    }

    /// `body` over the string's UTF-8 bytes in contiguous memory: a native string's own (a copy only for
    /// one that is not). Byte loops through `String.UTF8View`'s iterator cost several times more per byte.
    @inlinable
    public func withUTF8Bytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) throws -> Result) rethrows -> Result {
        if let result = try utf8.withContiguousStorageIfAvailable(body) { return result }
        return try Array(utf8).withUnsafeBufferPointer(body)
    }
}

/// A request an adapter wants sent upstream: fully formed, authenticated, ready for any transport.
public struct UpstreamRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: HeaderFields
    public var body: ByteBuffer?

    public init(method: String = "POST", url: String, headers: HeaderFields = [:], body: ByteBuffer? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    /// A POST of a JSON body.
    public static func json(url: String, body: JSONValue, headers: HeaderFields = [:]) -> UpstreamRequest {
        json(url: url, bytes: ByteBuffer(bytes: body.jsonBytes), headers: headers)
    }

    /// A POST of a JSON document already written.
    public static func json(url: String, bytes: ByteBuffer, headers: HeaderFields = [:]) -> UpstreamRequest {
        var headers = headers
        headers.replace("content-type", "application/json")
        return UpstreamRequest(method: "POST", url: url, headers: headers, body: bytes)
    }
}

/// The head of an upstream response.
public struct UpstreamHead: Sendable {
    public var status: Int
    public var headers: HeaderFields

    public init(status: Int, headers: HeaderFields) {
        self.status = status
        self.headers = headers
    }

    public var isSuccess: Bool { (200..<300).contains(status) }
}

/// A response body as a one-pass sequence of byte buffers, as they arrive from the network.
public struct UpstreamBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    public struct AsyncIterator: AsyncIteratorProtocol {
        private let nextChunk: () async throws -> ByteBuffer?

        public init(_ nextChunk: @escaping () async throws -> ByteBuffer?) {
            self.nextChunk = nextChunk
        }

        public mutating func next() async throws -> ByteBuffer? {
            try await nextChunk()
        }
    }

    private let makeIteratorClosure: @Sendable () -> AsyncIterator

    public init(makeIterator: @escaping @Sendable () -> AsyncIterator) {
        self.makeIteratorClosure = makeIterator
    }

    public func makeAsyncIterator() -> AsyncIterator {
        makeIteratorClosure()
    }

    /// Reads the whole body, up to `limit` bytes; a larger body is cut at the limit.
    public func collect(upTo limit: Int) async throws -> ByteBuffer {
        var result = ByteBuffer()
        for try await var chunk in self {
            let room = limit - result.readableBytes
            if room <= 0 { break }
            if chunk.readableBytes > room { chunk = chunk.getSlice(at: chunk.readerIndex, length: room) ?? chunk }
            result.writeBuffer(&chunk)
        }
        return result
    }
}

/// An upstream response: head and a streaming body.
public struct UpstreamResponse: Sendable {
    public var head: UpstreamHead
    public var body: UpstreamBody

    public init(head: UpstreamHead, body: UpstreamBody) {
        self.head = head
        self.body = body
    }
}

/// How connections to one provider behave: set per provider from its config, so one provider's
/// timeouts and connection limit never apply to another.
public struct ConnectionPolicy: Sendable, Hashable {
    /// How long one connection attempt may take (`timeout.connect`).
    public var connectTimeout: Duration
    /// How long an upstream may stay silent mid-response before the attempt fails (`timeout.first_byte`).
    public var idleReadTimeout: Duration
    /// Most concurrent connections to one host (`max_connections`).
    public var maxConnections: Int

    public init(connectTimeout: Duration = .seconds(5), idleReadTimeout: Duration = .seconds(60), maxConnections: Int = 8192) {
        self.connectTimeout = connectTimeout
        self.idleReadTimeout = idleReadTimeout
        self.maxConnections = maxConnections
    }

    /// The policy of a configured provider.
    public init(provider: ProviderConfig) {
        self.init(connectTimeout: provider.timeout.connect, idleReadTimeout: provider.timeout.firstByte, maxConnections: provider.maxConnections)
    }
}

/// Hands out a transport per connection policy; snapshots ask once per provider when they are built,
/// so requests never look anything up.
public protocol UpstreamTransportFactory: Sendable {
    func transport(for policy: ConnectionPolicy) -> any UpstreamTransport
}

/// Carries adapter requests to the network. Adapters never own sockets; the transport does.
public protocol UpstreamTransport: Sendable {
    /// Sends `request` and returns once the response head has arrived.
    ///
    /// - Parameter headDeadline: the instant by which the response head must have arrived.
    /// - Throws: ``UpstreamFailure`` of kind `timeout` or `unavailable` for transport failures.
    func execute(_ request: UpstreamRequest, headDeadline: ContinuousClock.Instant) async throws(UpstreamFailure) -> UpstreamResponse
}
