import SwitchyardCore

/// Recognises the event most of an Anthropic stream is made of — a `content_block_delta` whose delta is a
/// `text_delta` — straight from its bytes, without building its JSON tree. Anything else, or anything the
/// cursor is unsure of, is left to the full decode, so both always agree. A repeated key counts with its
/// last value, as in the parser.
enum AnthropicPlainDelta {
    /// The delta's text (`nil` for none or empty, which the full decode also reports as nothing); `nil`
    /// when the event needs the full decode.
    static func recognise(_ data: String) -> String?? {
        recogniseWithShape(data)?.text
    }

    /// The delta's text as ``recognise(_:)`` reads it and, for text, the shape around it (see ``PlainTextShape``).
    static func recogniseWithShape(_ data: String, makingShape: Bool = true) -> (text: String?, shape: PlainTextShape?)? {
        var data = data
        return data.withUTF8 { bytes in
            var cursor = JSONCursor(bytes)
            guard let (text, textBytes) = try? recognise(&cursor) else { return nil }
            return (text, !makingShape || text == nil ? nil : textBytes.map { PlainTextShape(around: $0, in: bytes) })
        }
    }

    private static func recognise(_ cursor: inout JSONCursor) throws(JSONCursor.Unsure) -> (String?, Range<Int>?) {
        var type: String?
        var text: String??
        var textBytes: Range<Int>?
        try cursor.beginObject()
        while let key = try cursor.nextKey() {
            if JSONCursor.key(key, is: "type") {
                type = try cursor.string()
            } else if JSONCursor.key(key, is: "delta") {
                let (deltaText, deltaBytes) = try delta(&cursor)
                text = deltaText
                textBytes = deltaBytes
            } else {
                try cursor.skipValue()
            }
        }
        try cursor.end()
        guard type == "content_block_delta", let text else { throw JSONCursor.Unsure() }
        return (text, textBytes)
    }

    /// A text delta's text (`nil` when null, absent or empty) and where it lies; throws for any other kind of delta.
    private static func delta(_ cursor: inout JSONCursor) throws(JSONCursor.Unsure) -> (String?, Range<Int>?) {
        var type: String?
        var text: String?
        var textBytes: Range<Int>?
        try cursor.beginObject()
        while let key = try cursor.nextKey() {
            if JSONCursor.key(key, is: "type") {
                type = try cursor.string()
            } else if JSONCursor.key(key, is: "text") {
                text = cursor.skipNull() ? nil : try cursor.string()
                textBytes = text.map(cursor.bytesOfStringJustRead)
            } else {
                try cursor.skipValue()
            }
        }
        guard type == "text_delta" else { throw JSONCursor.Unsure() }
        return text?.isEmpty == false ? (text, textBytes) : (nil, nil)
    }
}
