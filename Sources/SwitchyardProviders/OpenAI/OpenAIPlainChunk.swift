import SwitchyardCore

/// Recognises the chunks an OpenAI stream is made of — one choice whose delta carries plain text, the
/// stream's first chunk (its id and model), the chunk that finishes the choice, the usage chunk — straight
/// from their bytes, without building their JSON tree (which cost more than everything else the gateway
/// does per streamed chunk). Anything else (tool calls, reasoning, refusals, logprobs, several choices,
/// errors, Groq's usage, a Responses event), or anything the cursor is unsure of, is left to the full
/// decode, so both always agree. A repeated key counts with its last value, as in the parser.
enum OpenAIPlainChunk: Equatable {
    case text(String, choice: Int)
    /// A chunk with no text for the client's tally: a role-only delta, empty content, no choices.
    case nothing

    /// What the full decode reads of a chunk besides its text.
    struct Reading {
        var content = OpenAIPlainChunk.nothing
        /// The top-level `id` and `model`, when they are strings.
        var id: String?
        var model: String?
        /// Whether `choices` holds a choice.
        var hasChoice = false
        /// The choice's finish reason, when it is a string.
        var finishReason: String?
        var choice = 0
        /// Whether the chunk has a `usage` member (even null), and the bytes of its value when it is an object.
        var hasUsageMember = false
        var usageBytes: Range<Int>?
    }

    /// The chunk's meaning, or `nil` when it needs the full decode.
    static func recognise(_ data: String) -> OpenAIPlainChunk? {
        read(data)?.reading.content
    }

    /// The chunk's meaning and, for text, the shape around the text (see ``PlainTextShape``).
    static func recogniseWithShape(_ data: String, makingShape: Bool = true) -> (chunk: OpenAIPlainChunk, shape: PlainTextShape?)? {
        read(data, makingShape: makingShape).map { ($0.reading.content, $0.shape) }
    }

    /// What the chunk says, the shape around its text, and its usage's value (decoded as the full decode
    /// decodes it); `nil` when it needs the full decode.
    static func read(_ data: String, makingShape: Bool = true) -> (reading: Reading, shape: PlainTextShape?, usage: JSONValue?)? {
        data.withUTF8Bytes { bytes in read(bytes, makingShape: makingShape) }
    }

    /// ``read(_:makingShape:)`` of the chunk's bytes as the vendor sent them.
    static func read(_ bytes: UnsafeBufferPointer<UInt8>, makingShape: Bool = true) -> (reading: Reading, shape: PlainTextShape?, usage: JSONValue?)? {
        var cursor = JSONCursor(bytes)
        guard let (reading, textBytes) = try? read(&cursor) else { return nil }
        var usage: JSONValue?
        if let range = reading.usageBytes {
            guard let value = try? JSONParser.parse(UnsafeBufferPointer(rebasing: bytes[range])) else { return nil }
            usage = value
        }
        // Only a chunk of text alone makes a shape: the next text chunks are compared with it.
        guard makingShape, case .text = reading.content, let textBytes, reading.finishReason == nil, !reading.hasUsageMember || usage == nil
        else { return (reading, nil, usage) }
        return (reading, PlainTextShape(around: textBytes, in: bytes), usage)
    }

    /// What the chunk says, and where the text it carries lies in the document.
    private static func read(_ cursor: inout JSONCursor) throws(JSONCursor.Unsure) -> (Reading, Range<Int>?) {
        var reading = Reading()
        var textBytes: Range<Int>?
        try cursor.beginObject()
        while let key = try cursor.nextKey() {
            switch Key(key) {
            case .choices:
                try cursor.beginArray()
                reading.content = .nothing
                reading.hasChoice = false
                reading.finishReason = nil
                reading.choice = 0
                textBytes = nil
                if try cursor.nextElement() {
                    reading.hasChoice = true
                    try choice(&cursor, into: &reading, textBytes: &textBytes)
                    // More than one choice is left to the full decode.
                    guard try !cursor.nextElement() else { throw JSONCursor.Unsure() }
                }
            case .object:
                if try cursor.peek() == UInt8(ascii: "\"") {
                    guard try cursor.string() != "error" else { throw JSONCursor.Unsure() }
                } else {
                    try cursor.skipValue()
                }
            case .id:
                reading.id = try cursor.string()
            case .model:
                reading.model = try cursor.string()
            case .usage:
                reading.hasUsageMember = true
                reading.usageBytes = nil
                if !cursor.skipNull() {
                    guard try cursor.peek() == UInt8(ascii: "{") else { throw JSONCursor.Unsure() }
                    let start = cursor.offset
                    try cursor.skipValue()
                    reading.usageBytes = start..<cursor.offset
                }
            case .error:
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
        return (reading, textBytes)
    }

    private static func choice(_ cursor: inout JSONCursor, into reading: inout Reading, textBytes: inout Range<Int>?) throws(JSONCursor.Unsure) {
        var index = 0
        var text: String?
        try cursor.beginObject()
        while let key = try cursor.nextKey() {
            switch Key(key) {
            case .index:
                index = try cursor.smallInteger()
            case .delta:
                (text, textBytes) = try delta(&cursor)
            case .logprobs:
                guard cursor.skipNull() else { throw JSONCursor.Unsure() }
            case .finishReason:
                reading.finishReason = cursor.skipNull() ? nil : try cursor.string()
            case .other:
                try cursor.skipValue()
            default:
                throw JSONCursor.Unsure()
            }
        }
        reading.choice = index
        if let text, !text.isEmpty {
            reading.content = .text(text, choice: index)
        } else {
            reading.content = .nothing
            textBytes = nil
        }
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
        case choices, object, error, usage, type, xGroq, index, delta, logprobs, finishReason, id, model
        case content, reasoningContent, reasoning, refusal, toolCalls, other

        init(_ bytes: UnsafeBufferPointer<UInt8>) {
            // Every key of every chunk comes through here: a switch on the length, then one comparison.
            func matches(_ name: StaticString) -> Bool { JSONCursor.key(bytes, is: name) }
            switch bytes.count {
            case 2: self = matches("id") ? .id : .other
            case 4: self = matches("type") ? .type : .other
            case 5:
                self = matches("error") ? .error : matches("usage") ? .usage : matches("index") ? .index : matches("delta") ? .delta
                    : matches("model") ? .model : .other
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
