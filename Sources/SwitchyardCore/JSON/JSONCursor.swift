#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Walks a JSON document in place, without building values, for recognisers of common shapes on the hot
/// path (a stream chunk that carries only text, say). It accepts a strict subset of what ``JSONParser``
/// accepts: whatever it is unsure of — escapes or non-ASCII bytes outside the strings it reads, deep
/// nesting, malformed input — throws ``Unsure``, and the caller parses the document in full instead. So a
/// recogniser built on it never has to reproduce the parser's rarer rules to agree with it.
public struct JSONCursor {
    /// The document is outside the subset the cursor reads; parse it in full.
    public struct Unsure: Error {
        public init() {}
    }

    /// Nesting the cursor skips at most (the parser accepts more).
    static let maximumSkipDepth = 32

    private let buffer: UnsafeBufferPointer<UInt8>
    private var index = 0
    /// Set by `beginObject`/`beginArray` until their first member or element is read: no comma before it.
    private var atFirstItem = false

    public init(_ buffer: UnsafeBufferPointer<UInt8>) {
        self.buffer = buffer
    }

    /// How many bytes of the document have been read.
    public var offset: Int { index }

    public mutating func beginObject() throws(Unsure) {
        try expect(UInt8(ascii: "{"))
        atFirstItem = true
    }

    /// The next member's key (ASCII, no escapes), the cursor then at its value; `nil` at the object's end.
    public mutating func nextKey() throws(Unsure) -> UnsafeBufferPointer<UInt8>? {
        guard try nextItem(closedBy: UInt8(ascii: "}")) else { return nil }
        let (key, isASCII) = try stringBytes()
        guard isASCII else { throw Unsure() }
        try expect(UInt8(ascii: ":"))
        return key
    }

    /// Whether `key`, as `nextKey()` returned it, is `name` (recognisers compare every key of every chunk).
    public static func key(_ key: UnsafeBufferPointer<UInt8>, is name: StaticString) -> Bool {
        guard let start = key.baseAddress, key.count == name.utf8CodeUnitCount else { return key.isEmpty && name.utf8CodeUnitCount == 0 }
        return memcmp(start, name.utf8Start, key.count) == 0
    }

    public mutating func beginArray() throws(Unsure) {
        try expect(UInt8(ascii: "["))
        atFirstItem = true
    }

    /// Whether another element follows (the cursor then at it); false at the array's end.
    public mutating func nextElement() throws(Unsure) -> Bool {
        try nextItem(closedBy: UInt8(ascii: "]"))
    }

    /// Consumes a `null` and returns true, or returns false with the cursor unmoved.
    public mutating func skipNull() -> Bool {
        skipWhitespace()
        guard literal("null") else { return false }
        index += 4
        return true
    }

    /// What the next value is, by its first byte.
    public mutating func peek() throws(Unsure) -> UInt8 {
        skipWhitespace()
        guard index < buffer.count else { throw Unsure() }
        return buffer[index]
    }

    /// A string value without escapes, as text; throws for anything else, or for invalid UTF-8.
    public mutating func string() throws(Unsure) -> String {
        let (bytes, isASCII) = try stringBytes()
        if isASCII { return String(decoding: bytes, as: UTF8.self) }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw Unsure() }
        return text
    }

    /// An integer value written without fraction or exponent, of at most nine digits.
    public mutating func smallInteger() throws(Unsure) -> Int {
        try integer(digits: 9)
    }

    /// An integer value written without fraction or exponent, of at most `maximumDigits` digits (up to 18).
    public mutating func integer(digits maximumDigits: Int = 15) throws(Unsure) -> Int {
        skipWhitespace()
        guard let end = JSONParser.endOfNumber(in: buffer, at: index) else { throw Unsure() }
        // Read digit by digit (a number's grammar is already checked): at most 18 digits cannot overflow.
        let negative = buffer[index] == UInt8(ascii: "-")
        let firstDigit = negative ? index + 1 : index
        guard end - firstDigit <= min(maximumDigits, 18) else { throw Unsure() }
        var number = 0
        for position in firstDigit..<end {
            let digit = buffer[position] &- UInt8(ascii: "0")
            // A fraction or an exponent: not an integer as written.
            guard digit < 10 else { throw Unsure() }
            number = number &* 10 &+ Int(digit)
        }
        index = end
        return negative ? -number : number
    }

    /// Skips one value of any kind, checking it as it goes (strings in it must be ASCII).
    public mutating func skipValue() throws(Unsure) {
        // Bit d is set while the container open at depth d is an object (members) rather than an array.
        var objects: UInt64 = 0
        var depth = 0
        while true {
            switch try peek() {
            case UInt8(ascii: "{"):
                guard depth < Self.maximumSkipDepth else { throw Unsure() }
                try beginObject()
                if try nextKey() != nil {
                    objects |= 1 << depth
                    depth += 1
                    continue
                }
            case UInt8(ascii: "["):
                guard depth < Self.maximumSkipDepth else { throw Unsure() }
                try beginArray()
                if try nextElement() {
                    objects &= ~(1 << depth)
                    depth += 1
                    continue
                }
            case UInt8(ascii: "\""):
                guard try stringBytes().isASCII else { throw Unsure() }
            case UInt8(ascii: "t"): try skipLiteral("true")
            case UInt8(ascii: "f"): try skipLiteral("false")
            case UInt8(ascii: "n"): try skipLiteral("null")
            default:
                guard let end = JSONParser.endOfNumber(in: buffer, at: index) else { throw Unsure() }
                index = end
            }
            // After a value: on to the next member or element of the innermost open container, closing
            // those that end here.
            while true {
                guard depth > 0 else { return }
                let hasNext = objects & (1 << (depth - 1)) != 0 ? try nextKey() != nil : try nextElement()
                if hasNext { break }
                depth -= 1
            }
        }
    }

    /// Checks that only whitespace remains.
    public mutating func end() throws(Unsure) {
        skipWhitespace()
        guard index == buffer.count else { throw Unsure() }
    }

    // MARK: Pieces

    private mutating func nextItem(closedBy closing: UInt8) throws(Unsure) -> Bool {
        skipWhitespace()
        guard index < buffer.count else { throw Unsure() }
        if buffer[index] == closing {
            index += 1
            atFirstItem = false
            return false
        }
        if atFirstItem {
            atFirstItem = false
        } else {
            try expect(UInt8(ascii: ","))
        }
        return true
    }

    /// A string's bytes between its quotes, and whether they are all ASCII (found in the same pass);
    /// throws for escapes and control characters.
    private mutating func stringBytes() throws(Unsure) -> (bytes: UnsafeBufferPointer<UInt8>, isASCII: Bool) {
        try expect(UInt8(ascii: "\""))
        let start = index
        var highBits: UInt8 = 0
        while index < buffer.count {
            let byte = buffer[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return (UnsafeBufferPointer(rebasing: buffer[start..<(index - 1)]), highBits < 0x80)
            }
            guard byte >= 0x20, byte != UInt8(ascii: "\\") else { throw Unsure() }
            highBits |= byte
            index += 1
        }
        throw Unsure()
    }

    private mutating func expect(_ byte: UInt8) throws(Unsure) {
        skipWhitespace()
        guard index < buffer.count, buffer[index] == byte else { throw Unsure() }
        index += 1
    }

    private mutating func skipLiteral(_ word: StaticString) throws(Unsure) {
        guard literal(word) else { throw Unsure() }
        index += word.utf8CodeUnitCount
    }

    private func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard index + count <= buffer.count else { return false }
        return UnsafeBufferPointer(start: word.utf8Start, count: count).elementsEqual(buffer[index..<(index + count)])
    }

    private mutating func skipWhitespace() {
        while index < buffer.count {
            switch buffer[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }
}
