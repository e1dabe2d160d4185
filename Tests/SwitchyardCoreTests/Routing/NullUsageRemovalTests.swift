import Foundation
@testable import SwitchyardCore
import SwitchyardSimulator
import Testing

/// The unasked `"usage":null` taken out of every forwarded chunk: byte for byte what a plain replacement gives.
@Suite struct NullUsageRemovalTests {
    static let member = #","usage":null"#
    /// Pieces that make near misses: the member cut short, its anchor byte elsewhere, members back to back.
    static let pieces = [member, member, #","usage":nul"#, #""usage":null"#, ",", "g", "ge", #""logprobs":null"#, "\"", "usage", ":null", "é", "x"]

    static func removed(_ text: String) -> String {
        var output: [UInt8] = []
        Array(text.utf8).withUnsafeBytes { ChatEventReader.append($0, removingNullUsageMembersTo: &output) }
        return String(decoding: output, as: UTF8.self)
    }

    @Test func generatedChunksLoseExactlyTheMember() {
        var generator = SplitMix64(seed: 0x5553_4147)
        for _ in 0..<5_000 {
            let text = (0..<Int.random(in: 0..<12, using: &generator)).map { _ in Self.pieces.randomElement(using: &generator)! }.joined()
            // Occurrences never overlap (the member has one comma, at its start): a left-to-right replacement is the rule.
            #expect(Self.removed(text) == text.replacingOccurrences(of: Self.member, with: ""), "\(text.debugDescription)")
        }
    }

    @Test func aChunkAsVendorsSendIt() {
        let chunk = #"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null}],"usage":null}"#
        #expect(Self.removed(chunk) == #"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null}]}"#)
        #expect(Self.removed(Self.member) == "")
        #expect(Self.removed(",\"usage\":nul") == ",\"usage\":nul")
        #expect(Self.removed("") == "")
    }
}
