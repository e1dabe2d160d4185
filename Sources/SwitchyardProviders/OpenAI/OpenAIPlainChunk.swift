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

    /// The chunk's meaning and, for text, the shape around the text (see ``PlainTextShape``).
    static func recogniseWithShape(_ data: String, makingShape: Bool = true) -> (chunk: OpenAIPlainChunk, shape: PlainTextShape?)? {
        var data = data
        return data.withUTF8 { bytes in
            var cursor = JSONCursor(bytes)
            guard let (chunk, textBytes) = try? recognise(&cursor) else { return nil }
            guard makingShape, case .text = chunk, let textBytes else { return (chunk, nil) }
            return (chunk, PlainTextShape(around: textBytes, in: bytes))
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
                textBytes = text.map(cursor.bytesOfStringJustRead)
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
