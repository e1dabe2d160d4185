#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SwitchyardCore

/// The bytes around the text of a stream event that a plain reader read as text. A stream's text events
/// differ only in their text (the same id, model, index and layout from one to the next), so an event made of
/// the same bytes around a text without quotes, backslashes or control characters, in valid UTF-8, has the
/// same structure and means the same with its own text: it is read with two comparisons instead of walking
/// its JSON again. Anything else (another field changed, an escape in the text) does not match and goes the
/// usual way.
struct PlainTextShape: Sendable {
    let prefix: [UInt8]
    let suffix: [UInt8]

    /// - Parameter text: where the text's bytes (between its quotes) lie in `document`.
    init(around text: Range<Int>, in document: UnsafeBufferPointer<UInt8>) {
        prefix = Array(document[..<text.lowerBound])
        suffix = Array(document[text.upperBound...])
    }

    /// The text of `data` when it has this shape (empty for an empty text); nil when it does not.
    func text(of data: String) -> String? {
        data.withUTF8Bytes { bytes in text(of: bytes) }
    }

    /// ``text(of:)`` of the event's bytes as the vendor sent them.
    func text(of bytes: UnsafeBufferPointer<UInt8>) -> String? {
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
        return isASCII ? String(decoding: text, as: UTF8.self) : String(validating: text, as: UTF8.self)
    }
}

/// A stream's last text shape (with what the reader keeps beside it, such as the choice), and whether
/// learning shapes still pays: in a stream whose text events also differ elsewhere (OpenAI's random
/// `obfuscation` field on every chunk) no shape is ever used again, and copying a new one out of each event
/// would only add work, so after a few shapes learned in a row without use the stream stops learning them.
struct PlainTextShapeCache<Context: Sendable>: Sendable {
    static var fruitlessLearningLimit: Int { 4 }

    private var last: (shape: PlainTextShape, context: Context)?
    private var learnedWithoutUse = 0

    /// Whether a reader should still make a shape of the text events it walks.
    var wantsShapes: Bool { learnedWithoutUse < Self.fruitlessLearningLimit }

    /// The text of `data` and the context of the shape it has; nil when it does not have the last shape.
    mutating func text(of data: String) -> (text: String, context: Context)? {
        data.withUTF8Bytes { bytes in text(of: bytes) }
    }

    mutating func text(of bytes: UnsafeBufferPointer<UInt8>) -> (text: String, context: Context)? {
        guard let last, let text = last.shape.text(of: bytes) else { return nil }
        learnedWithoutUse = 0
        return (text, last.context)
    }

    mutating func learn(_ shape: PlainTextShape, context: Context) {
        last = (shape, context)
        learnedWithoutUse += 1
    }
}

extension JSONCursor {
    /// Where the string just read lies between its quotes (a string without escapes: its bytes are its text's).
    func bytesOfStringJustRead(_ text: String) -> Range<Int> {
        (offset - 1 - text.utf8.count)..<(offset - 1)
    }
}
