import SwitchyardCore
@testable import SwitchyardProviders
import Testing

/// Checks a decoder's shape reading (``PlainTextShape``): a generated text event, then one made of its
/// shape around a new text from `texts` (a quarter of them damaged elsewhere by one byte), must decode the
/// same with the plain reader and without it.
struct PlainTextShapeCheck {
    /// A text event's shape, when the plain reader reads the event as text.
    var shapeOf: (String) -> PlainTextShape?
    /// The last event's events after decoding the events in turn, with or without the plain reader.
    var decode: ([String], _ plainReader: Bool) -> Result<[ChatEvent], UpstreamFailure>

    /// How many pairs were compared and how many second events matched the shape.
    func run(seed: UInt64, rounds: Int, texts: [String], event: (inout ChunkGenerator) -> String) -> (compared: Int, matched: Int) {
        var generator = ChunkGenerator(seed: seed)
        var matched = 0
        var compared = 0
        for round in 0..<rounds {
            let first = event(&generator)
            guard let shape = shapeOf(first) else { continue }
            var second = String(decoding: shape.prefix, as: UTF8.self) + generator.pick(texts) + String(decoding: shape.suffix, as: UTF8.self)
            if round % 4 == 0 { second = generator.damaged(second, every: 1, round: round) }
            if shape.text(of: second) != nil { matched += 1 }
            compared += 1
            #expect(decode([first, second], true) == decode([first, second], false), "\(first) then \(second)")
        }
        return (compared, matched)
    }
}
