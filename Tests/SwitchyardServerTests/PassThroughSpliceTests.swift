import NIOCore
import SwitchyardCore
import SwitchyardProviders
@testable import SwitchyardServer
import Testing

/// Same-dialect pass-through sends the client's bytes with only the model replaced when nothing else must
/// change, and the result means exactly what writing the body out again means; otherwise it writes it out.
@Suite struct PassThroughSpliceTests {
    static func request(_ text: String) throws -> ChatRequest {
        var request = try OpenAIRequestDecoder.decodeChat(try JSONParser.parse(text), headers: [])
        request.passThrough?.originalBody = ByteBuffer(string: text)
        return request
    }

    static let plain = #"{"model":"smart","messages":[{"role":"user","content":"Bonjour, ça va ? \"oui\""}],"temperature":0.2,"metadata":{"model":"x"}}"#

    @Test(arguments: [
        (plain, true),
        (#"{"model":"smart","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]}"#, true),
        (#"{"model":"smart","max_tokens":10,"messages":[{"role":"user","content":"x"}]}"#, true),
        // The gateway asks for stream usage the client did not: the body changes beyond the model.
        (#"{"model":"smart","stream":true,"messages":[{"role":"user","content":"x"}]}"#, false),
        (#"{"model":"smart","messages":[{"role":"user","content":"x"}],"model":"smart"}"#, false),
    ])
    func onlyTheModelChangesOrTheBodyIsWrittenOut(_ text: String, spliced: Bool) throws {
        let encoder = OpenAIRequestEncoder(isOpenAIProper: true, requestsStreamUsage: true)
        let request = try Self.request(text)
        let bytes = encoder.passThroughBytes(request, model: "gpt-4.1")
        #expect((bytes != nil) == spliced)
        if let bytes { #expect(try JSONParser.parse(String(buffer: bytes)) == (try encoder.encode(request, model: "gpt-4.1"))) }
    }

    @Test func anOutputCapOrACompatibleVendorMeansTheBodyIsWrittenOut() throws {
        var capped = try Self.request(Self.plain)
        capped.maxTokens = 64  // a route's default cap, the client having set none
        #expect(OpenAIRequestEncoder(isOpenAIProper: true, requestsStreamUsage: true).passThroughBytes(capped, model: "m") == nil)
        #expect(OpenAIRequestEncoder(isOpenAIProper: false, requestsStreamUsage: false).passThroughBytes(try Self.request(Self.plain), model: "m") == nil)
    }
}
