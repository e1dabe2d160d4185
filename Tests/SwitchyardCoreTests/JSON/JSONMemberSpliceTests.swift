import NIOCore
import SwitchyardCore
import Testing

/// The splice must mean exactly what writing the parsed body out with the member replaced means, and leave
/// every other byte as it was; when it cannot be sure, it declines.
@Suite struct JSONMemberSpliceTests {
    static func expected(_ text: String, model: String) throws -> JSONValue {
        guard case .object(var object) = try JSONParser.parse(text) else { throw TestFailure("not an object") }
        object["model"] = .string(model)
        return .object(object)
    }

    struct TestFailure: Error { let message: String; init(_ message: String) { self.message = message } }

    @Test(arguments: [
        #"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#,
        #"{"messages":[{"role":"user","content":"hi","model":"inner"}],"model":"gpt-4o","stream":true}"#,
        " \n{ \"stream\" : false ,\t\"model\"  :  \"gpt-4o\" ,\"n\":1}\n ",
        #"{"messages":[{"content":"a \"quoted\" model\\ \\\"x\" } ] { [","role":"user"}],"model":"m"}"#,
        #"{"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"model":{"type":"string"}}}}}],"model":"m","temperature":0.5e-1}"#,
        #"{"model":null,"x":[1,2,[3,{"y":true}]],"z":-1.5E+3}"#,
        #"{"model":7}"#,
        #"{"x":"ends with a backslash\\","y":"\\\"","model":"m","z":"\\\\"}"#,
        #"{"model":{"nested":["a"]},"after":"v"}"#,
        "{\"messages\":[{\"role\":\"user\",\"content\":\"caf\\u00e9 — café 😀\"}],\"model\":\"gpt-4o\"}",
    ])
    func theSpliceMeansWhatWritingTheBodyOutMeans(_ text: String) throws {
        for model in ["gpt-4.1", #"we"ird\model"#, "modèle"] {
            let spliced = try #require(JSONMemberSplice.replacingString(member: "model", with: model, in: ByteBuffer(string: text)))
            #expect(try JSONParser.parse(String(buffer: spliced)) == (try Self.expected(text, model: model)), "\(text)")
        }
    }

    /// Nothing but the value changes: every other byte is the client's, spacing and escapes included.
    @Test func everyOtherByteIsTheClients() throws {
        let text = " {\"stream\" : true,  \"model\":\"gpt-4o\" ,\"messages\":[{\"content\":\"caf\\u00e9\"}]}\n"
        let spliced = try #require(JSONMemberSplice.replacingString(member: "model", with: "gpt-4.1", in: ByteBuffer(string: text)))
        #expect(String(buffer: spliced) == " {\"stream\" : true,  \"model\":\"gpt-4.1\" ,\"messages\":[{\"content\":\"caf\\u00e9\"}]}\n")
    }

    @Test(arguments: [
        #"{"model":"a","model":"b"}"#,  // named twice: the parser keeps the last, the splice declines
        #"{"mod\u0065l":"a"}"#,  // a key written with escapes could spell the name
        #"{"messages":[]}"#,  // no such member
        #"["model","a"]"#, #""model""#, "", "{}", #"{"model":"a"} x"#, #"{"model":"a""#, #"{"model" "a"}"#,
    ])
    func whenUnsureTheSpliceDeclines(_ text: String) {
        #expect(JSONMemberSplice.replacingString(member: "model", with: "m", in: ByteBuffer(string: text)) == nil)
    }
}
