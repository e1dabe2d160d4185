public import NIOCore
public import SwitchyardCore

/// One message of an `application/vnd.amazon.eventstream` body (providers.md §5.5).
public struct AWSEventStreamMessage: Sendable, Equatable {
    /// String-valued headers (`:event-type`, `:message-type`, …); headers of other types are skipped.
    public var headers: [String: String]
    public var payload: [UInt8]

    public init(headers: [String: String], payload: [UInt8]) {
        self.headers = headers
        self.payload = payload
    }

    /// The framed bytes: prelude, prelude CRC, string headers, payload, message CRC.
    public func encoded() -> [UInt8] {
        var headerBytes: [UInt8] = []
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            headerBytes.append(UInt8(name.utf8.count))
            headerBytes.append(contentsOf: name.utf8)
            headerBytes.append(7)
            let length = UInt16(value.utf8.count)
            headerBytes.append(contentsOf: [UInt8(length >> 8), UInt8(length & 0xFF)])
            headerBytes.append(contentsOf: value.utf8)
        }
        let total = UInt32(16 + headerBytes.count + payload.count)
        var frame = AWSEventStreamDecoder.bigEndian(total) + AWSEventStreamDecoder.bigEndian(UInt32(headerBytes.count))
        frame += AWSEventStreamDecoder.bigEndian(CRC32.checksum(frame))
        frame += headerBytes + payload
        frame += AWSEventStreamDecoder.bigEndian(CRC32.checksum(frame))
        return frame
    }
}

/// Cuts an event-stream body into messages as bytes arrive, however the network splits or joins frames.
/// Both CRCs are checked; lengths are bounded before anything is buffered for them.
public struct AWSEventStreamDecoder: Sendable {
    /// AWS's limits: 128 KiB of headers, 24 MiB of payload.
    public static let maximumHeadersLength = 128 << 10
    public static let maximumMessageLength = (24 << 20) + (128 << 10) + 16

    private var buffer: [UInt8] = []
    private var start = 0

    public init() {}

    /// The messages completed by `bytes`.
    /// - Throws: ``UpstreamFailure`` (`unavailable`) for a bad CRC, an impossible length or a malformed header.
    public mutating func decode(_ bytes: ByteBuffer) throws(UpstreamFailure) -> [AWSEventStreamMessage] {
        buffer.append(contentsOf: bytes.readableBytesView)
        var messages: [AWSEventStreamMessage] = []
        while buffer.count - start >= 12 {
            let total = Int(Self.readUInt32(buffer, at: start))
            let headersLength = Int(Self.readUInt32(buffer, at: start + 4))
            guard total >= 16, total <= Self.maximumMessageLength, headersLength <= Self.maximumHeadersLength, headersLength <= total - 16 else {
                throw Self.failure("an impossible frame length (\(total) bytes, \(headersLength) of headers)")
            }
            guard CRC32.checksum(buffer[start..<(start + 8)]) == Self.readUInt32(buffer, at: start + 8) else {
                throw Self.failure("a frame whose prelude checksum does not match")
            }
            guard buffer.count - start >= total else { break }
            let end = start + total
            guard CRC32.checksum(buffer[start..<(end - 4)]) == Self.readUInt32(buffer, at: end - 4) else {
                throw Self.failure("a frame whose message checksum does not match")
            }
            let headers = try Self.parseHeaders(buffer[(start + 12)..<(start + 12 + headersLength)])
            messages.append(AWSEventStreamMessage(headers: headers, payload: Array(buffer[(start + 12 + headersLength)..<(end - 4)])))
            start = end
        }
        if start > 0, start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        return messages
    }

    /// Whether bytes of an unfinished frame are left (a stream cut off mid-frame).
    public var hasPartialFrame: Bool { buffer.count > start }

    private static func parseHeaders(_ bytes: ArraySlice<UInt8>) throws(UpstreamFailure) -> [String: String] {
        var headers: [String: String] = [:]
        var index = bytes.startIndex
        func need(_ count: Int) throws(UpstreamFailure) {
            guard bytes.endIndex - index >= count else { throw failure("a truncated header") }
        }
        while index < bytes.endIndex {
            try need(1)
            let nameLength = Int(bytes[index])
            index += 1
            try need(nameLength + 1)
            let name = String(decoding: bytes[index..<(index + nameLength)], as: UTF8.self)
            index += nameLength
            let type = bytes[index]
            index += 1
            switch type {
            case 0, 1: continue
            case 2: try need(1); index += 1
            case 3: try need(2); index += 2
            case 4: try need(4); index += 4
            case 5, 8: try need(8); index += 8
            case 9: try need(16); index += 16
            case 6, 7:
                try need(2)
                let length = Int(bytes[index]) << 8 | Int(bytes[index + 1])
                index += 2
                try need(length)
                if type == 7 { headers[name] = String(decoding: bytes[index..<(index + length)], as: UTF8.self) }
                index += length
            default:
                throw failure("an unknown header type \(type)")
            }
        }
        return headers
    }

    static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8 | UInt32(bytes[offset + 3])
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    private static func failure(_ what: String) -> UpstreamFailure {
        UpstreamFailure(kind: .unavailable, message: "Bedrock sent \(what) in its event stream")
    }
}

/// CRC-32 (IEEE 802.3, as zlib computes it).
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
