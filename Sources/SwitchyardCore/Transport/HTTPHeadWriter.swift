public import NIOCore

/// Writes an HTTP/1 head (start line, fields, blank line) into a buffer in one copy.
///
/// NIO's encoders write a head piece by piece (`writeString`, `writeStaticString`: four writes per field),
/// and each write checks the buffer's capacity, uniqueness and exclusive access: ~270 instructions a piece,
/// 15 K for a request's two heads. Here the head's length is added up first, the buffer grows once, and the
/// pieces are copied into its memory.
public struct HTTPHeadWriter {
    /// What is written, in order: literals and strings.
    private var pieces: [Piece] = []
    private var length = 0

    private enum Piece {
        case literal(StaticString)
        case text(String)
    }

    public init(expectedPieces: Int = 32) {
        pieces.reserveCapacity(expectedPieces)
    }

    public mutating func append(_ literal: StaticString) {
        pieces.append(.literal(literal))
        length += literal.utf8CodeUnitCount
    }

    public mutating func append(text: String) {
        pieces.append(.text(text))
        length += text.utf8.count
    }

    /// Appends `name: value` and its line end.
    public mutating func appendField(name: String, value: String) {
        append(text: name)
        append(": ")
        append(text: value)
        append("\r\n")
    }

    /// Writes everything appended into `buffer`.
    public func write(into buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { memory in
            var offset = 0
            for piece in pieces {
                switch piece {
                case .literal(let literal):
                    let count = literal.utf8CodeUnitCount
                    memory.baseAddress!.advanced(by: offset).copyMemory(from: literal.utf8Start, byteCount: count)
                    offset += count
                case .text(let text):
                    offset += Self.copy(text, to: memory.baseAddress!.advanced(by: offset))
                }
            }
            return offset
        }
    }

    /// A buffer holding everything appended.
    public func buffer(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: length)
        write(into: &buffer)
        return buffer
    }

    private static func copy(_ text: String, to destination: UnsafeMutableRawPointer) -> Int {
        if let count = text.utf8.withContiguousStorageIfAvailable({ bytes in
            if let source = bytes.baseAddress { destination.copyMemory(from: source, byteCount: bytes.count) }
            return bytes.count
        }) {
            return count
        }
        var count = 0
        for byte in text.utf8 {
            destination.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
            count += 1
        }
        return count
    }
}
