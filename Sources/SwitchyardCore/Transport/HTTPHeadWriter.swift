public import NIOCore

/// Appends an HTTP/1 head (start line, fields, blank line) to memory reserved for it beforehand.
///
/// NIO's encoders write a head piece by piece (`writeString`, `writeStaticString`: four writes per field),
/// and each write checks the buffer's capacity, uniqueness and exclusive access: ~270 instructions a piece,
/// 15 K for a request's two heads. Here the buffer grows once, by the head's length added up first, and
/// the pieces are copied into its memory. See ``NIOCore/ByteBuffer/writeHTTPHead(length:_:)``.
public struct HTTPHeadWriter {
    private let memory: UnsafeMutableRawBufferPointer
    public private(set) var count = 0
    /// Set when a piece did not fit (the length given was short): nothing more is written.
    public private(set) var overflowed = false

    init(memory: UnsafeMutableRawBufferPointer) {
        self.memory = memory
    }

    /// The bytes `name: value\r\n` takes.
    public static func fieldLength(name: String, value: String) -> Int {
        name.utf8.count + value.utf8.count + 4
    }

    public mutating func append(_ literal: StaticString) {
        copy(UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    public mutating func append(text: String) {
        text.withUTF8Bytes { copy(UnsafeRawBufferPointer($0)) }
    }

    /// Appends `name: value` and its line end.
    public mutating func appendField(name: String, value: String) {
        append(text: name)
        append(": ")
        append(text: value)
        append("\r\n")
    }

    private mutating func copy(_ bytes: UnsafeRawBufferPointer) {
        guard !overflowed, bytes.count <= memory.count - count else {
            overflowed = true
            return
        }
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        (memory.baseAddress! + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }
}

extension ByteBuffer {
    /// Writes a head of about `length` bytes, appended by `body` (which may run twice: if what it appends
    /// turns out longer than `length`, it runs again with room for twice as much).
    public mutating func writeHTTPHead(length: Int, _ body: (inout HTTPHeadWriter) -> Void) {
        var room = max(length, 64)
        var overflowed = true
        while overflowed {
            writeWithUnsafeMutableBytes(minimumWritableBytes: room) { memory in
                var writer = HTTPHeadWriter(memory: UnsafeMutableRawBufferPointer(rebasing: memory[..<room]))
                body(&writer)
                overflowed = writer.overflowed
                return overflowed ? 0 : writer.count
            }
            room *= 2
        }
    }
}
