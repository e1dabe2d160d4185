@testable import SwitchyardServer
import Testing

@Suite("Request ids")
struct RequestIDTests {
    /// Ids made later sort later (the request log's index appends instead of touching random pages),
    /// across a change in the number of significant digits and across the millisecond.
    @Test func laterIdsSortLater() {
        let times: [UInt64] = [0, 1, 15, 16, 0xFFF, 0x1000, 1_764_547_200_000, 1_764_547_200_001, 0xFFFF_FFFF_FFFF]
        for (earlier, later) in zip(times, times.dropFirst()) {
            let earlierIDs = (0..<20).map { _ in makeRequestID(millisecondsSinceEpoch: earlier) }
            let laterIDs = (0..<20).map { _ in makeRequestID(millisecondsSinceEpoch: later) }
            #expect(earlierIDs.max()! < laterIDs.min()!, "ms \(earlier) vs \(later)")
        }
    }

    @Test func idsAreLowercaseHexAndUniqueWithinOneMillisecond() {
        let ids = (0..<10_000).map { _ in makeRequestID(millisecondsSinceEpoch: 1_764_547_200_000) }
        #expect(Set(ids).count == ids.count)
        for id in ids.prefix(100) {
            #expect(id.hasPrefix("req_019ad"))
            #expect(id.utf8.count == 4 + 12 + 16)
            #expect(id.dropFirst(4).allSatisfy { $0.isHexDigit && !$0.isUppercase })
        }
    }

    /// The bits after the time come from a counter, but mixed: consecutive ids differ in about half of
    /// them, so an id says nothing about the ids made next to it.
    @Test func consecutiveIdsDifferInAboutHalfTheirBits() {
        let bits = (0..<2_000).map { _ in RequestIDBits.next() }
        let distances = zip(bits, bits.dropFirst()).map { ($0 ^ $1).nonzeroBitCount }
        let mean = Double(distances.reduce(0, +)) / Double(distances.count)
        #expect((29...35).contains(mean), "mean Hamming distance \(mean)")
        #expect(Set(bits).count == bits.count)
    }

    @Test func randomHexHasSixteenDigitsPerWord() {
        let words = (0..<1_000).map { _ in randomHex(words: 2) }
        #expect(Set(words).count == words.count)
        #expect(words.allSatisfy { $0.utf8.count == 32 && $0.allSatisfy { $0.isHexDigit && !$0.isUppercase } })
    }
}
