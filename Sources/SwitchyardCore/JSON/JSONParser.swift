/// A strict JSON parser (RFC 8259) producing ``JSONValue`` with member order preserved.
///
/// It rejects trailing garbage and limits nesting depth so that hostile input cannot exhaust the stack.
public struct JSONParser {
    /// Why a document failed to parse, with the byte offset where it went wrong.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let message: String
        public let offset: Int
        public var description: String { "\(message) at byte \(offset)" }
    }

    /// The deepest nesting accepted.
    public static let maximumDepth = 200

    /// Parses one complete JSON document.
    public static func parse(_ bytes: some Collection<UInt8>) throws(Failure) -> JSONValue {
        // Contiguous bytes (an array, a ByteBuffer's view, a native string) are read in place.
        let result = bytes.withContiguousStorageIfAvailable { buffer in Result { () throws(Failure) in try parse(buffer: buffer) } }
        if let result { return try result.get() }
        return try Array(bytes).withUnsafeBufferPointer { buffer throws(Failure) in try parse(buffer: buffer) }
    }

    /// Parses one complete JSON document from text.
    public static func parse(_ text: String) throws(Failure) -> JSONValue {
        try parse(text.utf8)
    }

    private static func parse(buffer: UnsafeBufferPointer<UInt8>) throws(Failure) -> JSONValue {
        var parser = JSONParser(buffer: buffer)
        defer { parser.scratch?.deallocate() }
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == buffer.count else { throw parser.failure("unexpected data after the JSON value") }
        return value
    }

    private let buffer: UnsafeBufferPointer<UInt8>
    private var index = 0
    /// Members and elements of the objects and arrays being parsed, as stacks shared by the whole document:
    /// each container is then allocated once, at its exact size, instead of growing member by member.
    private var pendingKeys: [String] = []
    private var pendingValues: [JSONValue] = []
    /// Where strings with escapes are unescaped (``scratchMemory(capacity:)``); freed when the parse ends.
    private var scratch: UnsafeMutableBufferPointer<UInt8>?

    private init(buffer: UnsafeBufferPointer<UInt8>) {
        self.buffer = buffer
    }

    private func failure(_ message: String) -> Failure {
        Failure(message: message, offset: index)
    }

    private mutating func skipWhitespace() {
        while index < buffer.count {
            switch buffer[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws(Failure) -> JSONValue {
        guard index < buffer.count else { throw failure("unexpected end of JSON") }
        switch buffer[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure("unexpected character")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(Failure) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= buffer.count else { throw failure("unexpected end of JSON") }
        let bytes = UnsafeBufferPointer(start: literal.utf8Start, count: count)
        for offset in 0..<count where buffer[index + offset] != bytes[offset] {
            throw failure("invalid literal")
        }
        index += count
    }

    private mutating func parseObject(depth: Int) throws(Failure) -> JSONValue {
        guard depth <= Self.maximumDepth else { throw failure("JSON nested too deeply") }
        index += 1
        skipWhitespace()
        if index < buffer.count, buffer[index] == UInt8(ascii: "}") {
            index += 1
            return .object(JSONObject())
        }
        if pendingKeys.capacity == 0 {
            // Room for a typical document's open members at once: the stacks are allocated once, not grown.
            pendingKeys.reserveCapacity(16)
            pendingValues.reserveCapacity(16)
        }
        let keysBase = pendingKeys.count
        let valuesBase = pendingValues.count
        defer {
            pendingKeys.removeSubrange(keysBase...)
            pendingValues.removeSubrange(valuesBase...)
        }
        // Past a few members, duplicates are found through a hash index, so parsing stays linear in the key count.
        var positions: [String: Int]?
        while true {
            skipWhitespace()
            guard index < buffer.count, buffer[index] == UInt8(ascii: "\"") else { throw failure("expected a string key") }
            let key = try parseString()
            skipWhitespace()
            guard index < buffer.count, buffer[index] == UInt8(ascii: ":") else { throw failure("expected ':'") }
            index += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            // Duplicate keys: the last one wins, in the first one's place, as in most JSON parsers.
            let duplicate: Int?
            if let positions {
                duplicate = positions[key]
            } else {
                duplicate = pendingKeys[keysBase...].firstIndex(of: key).map { $0 - keysBase }
            }
            if let duplicate {
                pendingValues[valuesBase + duplicate] = value
            } else {
                pendingKeys.append(key)
                pendingValues.append(value)
                let count = pendingKeys.count - keysBase
                if positions != nil {
                    positions?[key] = count - 1
                } else if count > JSONObject.indexThreshold {
                    positions = Dictionary(uniqueKeysWithValues: zip(pendingKeys[keysBase...], 0...))
                }
            }
            skipWhitespace()
            guard index < buffer.count else { throw failure("unexpected end of JSON") }
            if buffer[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard buffer[index] == UInt8(ascii: "}") else { throw failure("expected ',' or '}'") }
            index += 1
            return .object(JSONObject(uniqueKeys: Array(pendingKeys[keysBase...]), values: Array(pendingValues[valuesBase...]), positions: positions))
        }
    }

    private mutating func parseArray(depth: Int) throws(Failure) -> JSONValue {
        guard depth <= Self.maximumDepth else { throw failure("JSON nested too deeply") }
        index += 1
        skipWhitespace()
        if index < buffer.count, buffer[index] == UInt8(ascii: "]") {
            index += 1
            return .array([])
        }
        let base = pendingValues.count
        defer { pendingValues.removeSubrange(base...) }
        while true {
            skipWhitespace()
            let element = try parseValue(depth: depth)
            pendingValues.append(element)
            skipWhitespace()
            guard index < buffer.count else { throw failure("unexpected end of JSON") }
            if buffer[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard buffer[index] == UInt8(ascii: "]") else { throw failure("expected ',' or ']'") }
            index += 1
            return .array(Array(pendingValues[base...]))
        }
    }

    private mutating func parseNumber() throws(Failure) -> JSONValue {
        guard let end = Self.endOfNumber(in: buffer, at: index) else { throw failure("invalid number") }
        defer { index = end }
        return .number(String(decoding: UnsafeBufferPointer(rebasing: buffer[index..<end]), as: UTF8.self))
    }

    /// Where the number starting at `start` ends, by RFC 8259's grammar; `nil` if none starts there.
    static func endOfNumber(in buffer: UnsafeBufferPointer<UInt8>, at start: Int) -> Int? {
        func isDigit(_ index: Int) -> Bool {
            index < buffer.count && buffer[index] >= UInt8(ascii: "0") && buffer[index] <= UInt8(ascii: "9")
        }
        var index = start
        if index < buffer.count, buffer[index] == UInt8(ascii: "-") { index += 1 }
        guard isDigit(index) else { return nil }
        if buffer[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while isDigit(index) { index += 1 }
        }
        if index < buffer.count, buffer[index] == UInt8(ascii: ".") {
            index += 1
            guard isDigit(index) else { return nil }
            while isDigit(index) { index += 1 }
        }
        if index < buffer.count, buffer[index] == UInt8(ascii: "e") || buffer[index] == UInt8(ascii: "E") {
            index += 1
            if index < buffer.count, buffer[index] == UInt8(ascii: "+") || buffer[index] == UInt8(ascii: "-") { index += 1 }
            guard isDigit(index) else { return nil }
            while isDigit(index) { index += 1 }
        }
        return index
    }

    private mutating func parseString() throws(Failure) -> String {
        index += 1
        let start = index
        // Fast path: no escapes.
        var isASCII = true
        skipPlainBytes(isASCII: &isASCII)
        guard index < buffer.count else { throw failure("unterminated string") }
        if buffer[index] == UInt8(ascii: "\"") {
            let bytes = UnsafeBufferPointer(rebasing: buffer[start..<index])
            let string = isASCII ? String(decoding: bytes, as: UTF8.self) : try validUTF8(bytes, at: start)
            index += 1
            return string
        }
        if buffer[index] < 0x20 { throw failure("control character in string") }
        // With escapes: unescaped into scratch memory shared by the document's strings (never longer than the
        // rest of the document: an escape is never shorter than what it stands for), runs between escapes
        // copied whole, then made a string in one copy.
        let output = scratchMemory(capacity: buffer.count - start)
        guard let outputBase = output.baseAddress, let inputBase = buffer.baseAddress else { throw failure("unterminated string") }
        var written = index - start
        outputBase.update(from: inputBase + start, count: written)
        func put(_ byte: UInt8) {
            outputBase[written] = byte
            written += 1
        }
        while index < buffer.count {
            let runStart = index
            skipPlainBytes(isASCII: &isASCII)
            (outputBase + written).update(from: inputBase + runStart, count: index - runStart)
            written += index - runStart
            guard index < buffer.count else { break }
            let byte = buffer[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                let bytes = UnsafeBufferPointer(rebasing: output[..<written])
                // What the escapes wrote is valid UTF-8 by construction; only the vendor's own bytes need checking.
                return isASCII ? String(decoding: bytes, as: UTF8.self) : try validUTF8(bytes, at: start)
            }
            if byte < 0x20 { throw failure("control character in string") }
            index += 1
            guard index < buffer.count else { throw failure("unexpected end of string") }
            let escape = buffer[index]
            index += 1
            switch escape {
            case UInt8(ascii: "\""): put(0x22)
            case UInt8(ascii: "\\"): put(0x5C)
            case UInt8(ascii: "/"): put(0x2F)
            case UInt8(ascii: "b"): put(0x08)
            case UInt8(ascii: "f"): put(0x0C)
            case UInt8(ascii: "n"): put(0x0A)
            case UInt8(ascii: "r"): put(0x0D)
            case UInt8(ascii: "t"): put(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    // A high surrogate must be followed by an escaped low surrogate.
                    if index + 1 < buffer.count, buffer[index] == UInt8(ascii: "\\"), buffer[index + 1] == UInt8(ascii: "u") {
                        index += 2
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw failure("invalid surrogate pair") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        scalar = 0xFFFD
                    }
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    scalar = 0xFFFD
                }
                // UTF-8 of a scalar (surrogates are replaced above, so every value here is one).
                switch scalar {
                case ..<0x80:
                    put(UInt8(scalar))
                case ..<0x800:
                    put(UInt8(0xC0 | scalar >> 6))
                    put(UInt8(0x80 | scalar & 0x3F))
                case ..<0x10000:
                    put(UInt8(0xE0 | scalar >> 12))
                    put(UInt8(0x80 | scalar >> 6 & 0x3F))
                    put(UInt8(0x80 | scalar & 0x3F))
                default:
                    put(UInt8(0xF0 | scalar >> 18))
                    put(UInt8(0x80 | scalar >> 12 & 0x3F))
                    put(UInt8(0x80 | scalar >> 6 & 0x3F))
                    put(UInt8(0x80 | scalar & 0x3F))
                }
            default:
                throw failure("invalid escape")
            }
        }
        throw failure("unterminated string")
    }

    /// Moves past the bytes a string holds as they are (anything but a quote, a backslash or a control
    /// character), eight at a time while none of the eight is one of those; clears `isASCII` at a byte of 0x80
    /// or more. Stops at the first such byte, or the end.
    private mutating func skipPlainBytes(isASCII: inout Bool) {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        guard let base = buffer.baseAddress else { return }
        var seenHighBits: UInt64 = 0
        while buffer.count - index >= 8 {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            // A byte is zero (after the XOR, equal to the searched one) or below 0x20 exactly when the borrow
            // trick sets its high bit; a byte of 0x80 or more is excluded by `& ~word`.
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            let special =
                ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((word &- ones &* 0x20) & ~word)
            if special & highBits != 0 { break }
            seenHighBits |= word
            index += 8
        }
        while index < buffer.count {
            let byte = buffer[index]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            seenHighBits |= UInt64(byte)
            index += 1
        }
        // The bytes read one at a time sit in the lowest byte, whose high bit `highBits` has too.
        if seenHighBits & highBits != 0 { isASCII = false }
    }

    /// Memory for unescaping strings, at least `capacity` bytes, kept for the rest of the document.
    private mutating func scratchMemory(capacity: Int) -> UnsafeMutableBufferPointer<UInt8> {
        if let scratch, scratch.count >= capacity { return scratch }
        scratch?.deallocate()
        let memory = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(capacity, 64))
        scratch = memory
        return memory
    }

    /// Invalid UTF-8 is an error, never silently repaired: a gateway must not forward what the client did not write.
    private func validUTF8(_ bytes: some Collection<UInt8>, at offset: Int) throws(Failure) -> String {
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw Failure(message: "invalid UTF-8 in string", offset: offset)
        }
        return string
    }

    private mutating func parseHex4() throws(Failure) -> UInt32 {
        guard index + 4 <= buffer.count else { throw failure("invalid unicode escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = buffer[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw failure("invalid unicode escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }
}
