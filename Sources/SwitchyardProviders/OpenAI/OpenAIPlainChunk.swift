#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SwitchyardCore

/// Recognises the chunk most of an OpenAI stream is made of — one choice whose delta carries plain text,
/// nothing finished, no usage, no error — straight from its bytes, without building its JSON tree (which
/// cost more than everything else the gateway does per streamed chunk). Anything else, or anything the
/// cursor is unsure of, is left to the full decode, so both always agree. A repeated key counts with its
/// last value, as in the parser.
enum OpenAIPlainChunk {
    case text(String, choice: Int)
    /// A chunk with nothing for the client's tally: a role-only delta, empty content, no choices.
    case nothing

    /// The chunk's meaning, or `nil` when it needs the full decode.
    static func recognise(_ data: String) -> OpenAIPlainChunk? {
        recogniseWithShape(data)?.chunk
    }

    /// The chunk's meaning and, for text, the shape around the text (see ``OpenAIPlainChunkShape``).
    static func recogniseWithShape(_ data: String) -> (chunk: OpenAIPlainChunk, shape: OpenAIPlainChunkShape?)? {
        var data = data
        return data.withUTF8 { bytes in
            var cursor = JSONCursor(bytes)
            guard let (chunk, textBytes) = try? recognise(&cursor) else { return nil }
            guard case .text(_, let choice) = chunk, let textBytes else { return (chunk, nil) }
            return (chunk, OpenAIPlainChunkShape(around: textBytes, in: bytes, choice: choice))
        }
    }

    /// The chunk's meaning, and where the text it carries lies in the document.
    private static func recognise(_ cursor: inout JSONCursor) throws(JSONCursor.Unsure) -> (OpenAIPlainChunk, Range<Int>?) {
        var result = OpenAIPlainChunk.nothing
        var textBytes: Range<Int>?
        try cursor.beginObject()
        while let key = try cursor.nextKey() {
            switch Key(key) {
            case .choices:
                try cursor.beginArray()
                result = .nothing
                textBytes = nil
                if try cursor.nextElement() {
                    (result, textBytes) = try choice(&cursor)
                    // More than one choice is left to the full decode.
                    guard try !cursor.nextElement() else { throw JSONCursor.Unsure() }
                }
            case .object:
                if try cursor.peek() == UInt8(ascii: "\"") {
                    guard try cursor.string() != "error" else { throw JSONCursor.Unsure() }
                } else {
                    try cursor.skipValue()
                }
            case .error, .usage:
                // Present but null: nothing to report.
                guard cursor.skipNull() else { throw JSONCursor.Unsure() }
            case .other:
                try cursor.skipValue()
            default:
                // A Responses event, Groq's usage, or a key that belongs further in: the full decode's.
                throw JSONCursor.Unsure()
            }
        }
        try cursor.end()
        return (result, textBytes)
    }

    private static func choice(_ cursor: inout JSONCursor) throws(JSONCursor.Unsure) -> (OpenAIPlainChunk, Range<Int>?) {
        var index = 0
        var text: String?
        var textBytes: Range<Int>?
        try cursor.beginObject()
        while let key = try cursor.nextKey() {
            switch Key(key) {
            case .index:
                index = try cursor.smallInteger()
            case .delta:
                (text, textBytes) = try delta(&cursor)
            case .logprobs, .finishReason:
                guard cursor.skipNull() else { throw JSONCursor.Unsure() }
            case .other:
                try cursor.skipValue()
            default:
                throw JSONCursor.Unsure()
            }
        }
        guard let text, !text.isEmpty else { return (.nothing, nil) }
        return (.text(text, choice: index), textBytes)
    }

    /// The delta's text, if any, and where its bytes lie; every other member the full decode reads must be null.
    private static func delta(_ cursor: inout JSONCursor) throws(JSONCursor.Unsure) -> (String?, Range<Int>?) {
        var text: String?
        var textBytes: Range<Int>?
        try cursor.beginObject()
        while let key = try cursor.nextKey() {
            switch Key(key) {
            case .content:
                text = cursor.skipNull() ? nil : try cursor.string()
                // Between the quotes: the string has no escapes, so its bytes are its text's.
                textBytes = text.map { (cursor.offset - 1 - $0.utf8.count)..<(cursor.offset - 1) }
            case .reasoningContent, .reasoning, .refusal, .toolCalls:
                guard cursor.skipNull() else { throw JSONCursor.Unsure() }
            case .other:
                try cursor.skipValue()
            default:
                throw JSONCursor.Unsure()
            }
        }
        return (text, textBytes)
    }

    /// The keys the full decode reads, at any level (a known key at the wrong level is left to it).
    private enum Key {
        case choices, object, error, usage, type, xGroq, index, delta, logprobs, finishReason
        case content, reasoningContent, reasoning, refusal, toolCalls, other

        init(_ bytes: UnsafeBufferPointer<UInt8>) {
            // Every key of every chunk comes through here: a switch on the length, then one comparison.
            func matches(_ name: StaticString) -> Bool { JSONCursor.key(bytes, is: name) }
            switch bytes.count {
            case 4: self = matches("type") ? .type : .other
            case 5: self = matches("error") ? .error : matches("usage") ? .usage : matches("index") ? .index : matches("delta") ? .delta : .other
            case 6: self = matches("object") ? .object : matches("x_groq") ? .xGroq : .other
            case 7: self = matches("choices") ? .choices : matches("content") ? .content : matches("refusal") ? .refusal : .other
            case 8: self = matches("logprobs") ? .logprobs : .other
            case 9: self = matches("reasoning") ? .reasoning : .other
            case 10: self = matches("tool_calls") ? .toolCalls : .other
            case 13: self = matches("finish_reason") ? .finishReason : .other
            case 17: self = matches("reasoning_content") ? .reasoningContent : .other
            default: self = .other
            }
        }
    }
}

/// The bytes around the text of a chunk read as plain text. A stream's text chunks differ only in their text
/// (the same id, created, model, choice and layout), so a chunk made of the same bytes around a text without
/// quotes, backslashes or control characters, in valid UTF-8, has the same structure and means the same with
/// its own text: it is read by two comparisons instead of walking its JSON again. Anything else (another
/// field changed, an escape in the text) is not matched and goes the usual way.
struct OpenAIPlainChunkShape {
    let prefix: [UInt8]
    let suffix: [UInt8]
    private let choice: Int

    init(around text: Range<Int>, in document: UnsafeBufferPointer<UInt8>, choice: Int) {
        prefix = Array(document[..<text.lowerBound])
        suffix = Array(document[text.upperBound...])
        self.choice = choice
    }

    /// The meaning of `data` when it has this shape; nil when it does not.
    func match(_ data: String) -> OpenAIPlainChunk? {
        var data = data
        return data.withUTF8 { bytes -> OpenAIPlainChunk? in
            guard bytes.count >= prefix.count + suffix.count, let base = bytes.baseAddress else { return nil }
            let matches = prefix.withUnsafeBytes { $0.baseAddress.map { memcmp(base, $0, prefix.count) == 0 } ?? true }
                && suffix.withUnsafeBytes { $0.baseAddress.map { memcmp(base + (bytes.count - suffix.count), $0, suffix.count) == 0 } ?? true }
            guard matches else { return nil }
            let text = UnsafeBufferPointer(rebasing: bytes[prefix.count..<(bytes.count - suffix.count)])
            var isASCII = true
            for byte in text {
                if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return nil }
                if byte >= 0x80 { isASCII = false }
            }
            if text.isEmpty { return .nothing }
            if isASCII { return .text(String(decoding: text, as: UTF8.self), choice: choice) }
            guard let valid = String(validating: text, as: UTF8.self) else { return nil }
            return .text(valid, choice: choice)
        }
    }
}
