#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import NIOCore

/// Replaces one top-level member's value in a JSON object's bytes, leaving every other byte as the client
/// sent it: what same-dialect pass-through sends upstream when the model is all that changes, instead of
/// writing the parsed body out again (work in proportion to the whole conversation, on every request).
///
/// The bytes must already have been parsed as JSON (the scan trusts their grammar). Anything it is unsure
/// of gives nil, and the caller writes the body out from its parsed form: a member named more than once or
/// not at all, a top-level key written with escapes (which could spell the name), or an unexpected byte.
public enum JSONMemberSplice {
    /// `bytes` with the value of the top-level member `name` replaced by the JSON string `value`.
    public static func replacingString(member name: String, with value: String, in bytes: ByteBuffer) -> ByteBuffer? {
        let found: Range<Int>? = bytes.withUnsafeReadableBytes { raw in
            name.withUTF8Bytes { name in valueRange(of: name, in: raw.bindMemory(to: UInt8.self)) }
        }
        guard let range = found else { return nil }
        var replacement: [UInt8] = []
        JSONValue.writeString(value, to: &replacement)
        var output = ByteBufferAllocator().buffer(capacity: bytes.readableBytes - range.count + replacement.count)
        output.writeImmutableBuffer(bytes.getSlice(at: bytes.readerIndex, length: range.lowerBound)!)
        output.writeBytes(replacement)
        output.writeImmutableBuffer(bytes.getSlice(at: bytes.readerIndex + range.upperBound, length: bytes.readableBytes - range.upperBound)!)
        return output
    }

    /// Where the value of the one top-level member `name` lies; nil when unsure.
    static func valueRange(of name: UnsafeBufferPointer<UInt8>, in bytes: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        var index = 0
        func skipWhitespace() {
            while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 { index += 1 }
        }
        /// Past a string whose opening quote is at `index`; false if it never closes. Its closing quote is
        /// found with `memchr` (a conversation is mostly string bytes): a quote preceded by an odd number
        /// of backslashes is escaped, and the search goes on after it.
        func skipString() -> Bool {
            guard let base = bytes.baseAddress else { return false }
            var position = index + 1
            while position < bytes.count {
                guard let found = memchr(base + position, Int32(UInt8(ascii: "\"")), bytes.count - position) else { return false }
                let quote = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
                var backslashes = 0
                while quote - backslashes - 1 > index, bytes[quote - backslashes - 1] == UInt8(ascii: "\\") { backslashes += 1 }
                if backslashes % 2 == 0 {
                    index = quote + 1
                    return true
                }
                position = quote + 1
            }
            return false
        }
        /// Past one value of any kind.
        func skipValue() -> Bool {
            var depth = 0
            repeat {
                guard index < bytes.count else { return false }
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    guard skipString() else { return false }
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                    index += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    guard depth > 0 else { return false }
                    depth -= 1
                    index += 1
                default:
                    // A literal or a number, or what separates a container's members.
                    if depth == 0 {
                        while index < bytes.count, !(bytes[index] == UInt8(ascii: ",") || bytes[index] == UInt8(ascii: "}")
                            || bytes[index] == UInt8(ascii: "]") || bytes[index] <= 0x20)
                        {
                            index += 1
                        }
                    } else {
                        index += 1
                    }
                }
            } while depth > 0
            return true
        }

        skipWhitespace()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else { return nil }
        index += 1
        var found: Range<Int>?
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") { return nil }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            let keyStart = index + 1
            guard skipString() else { return nil }
            let key = UnsafeBufferPointer(rebasing: bytes[keyStart..<(index - 1)])
            if key.contains(UInt8(ascii: "\\")) { return nil }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return nil }
            index += 1
            skipWhitespace()
            let valueStart = index
            guard skipValue() else { return nil }
            if key.elementsEqual(name) {
                guard found == nil else { return nil }
                found = valueStart..<index
            }
            skipWhitespace()
            guard index < bytes.count else { return nil }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "}") else { return nil }
            index += 1
            break
        }
        skipWhitespace()
        guard index == bytes.count, let found else { return nil }
        return found
    }
}
