import HTTPTypes
import NIOHTTP1
import NIOHTTPTypesHTTP1
import Testing

@testable import SwitchyardServer

/// The server's own HTTP/1 → HTTPTypes conversion takes a path in origin form as it is; it must make the
/// same request as the library's conversion for every request target, odd ones included.
@Suite("HTTP/1 server codec: requests as the library converts them")
struct HTTP1RequestConversionTests {
    static let targets = [
        "/v1/chat/completions", "/v1/messages?beta=true", "/", "//double/slash", "/%zz/not-escaped", "/a b", "/x?y=1&z=%20",
        "/path#fragment", "*", "http://example.com/v1/models?x=1", "https://example.com", "http://example.com?q", "relative/path", "",
    ]

    @Test(arguments: targets)
    func aRequestTargetConvertsAsTheLibraryConvertsIt(target: String) throws {
        for host in ["gateway:4000", nil] as [String?] {
            var headers = HTTPHeaders([("content-type", "application/json"), ("x-multi", "a"), ("x-multi", "b"), ("cookie", "a=1; b=2")])
            if let host { headers.add(name: "Host", value: host) }
            let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target, headers: headers)
            let ours = try HTTP1RequestConversion.request(head)
            let library = try HTTPRequest(head, secure: false, splitCookie: false)
            #expect(ours == library, "\(target), host \(host ?? "none")")
        }
    }

    @Test func anUnknownMethodFailsAsInTheLibrary() throws {
        let head = HTTPRequestHead(version: .http1_1, method: .RAW(value: "BAD METHOD"), uri: "/v1/models")
        #expect(throws: (any Error).self) { try HTTPRequest(head, secure: false, splitCookie: false) }
        #expect(throws: (any Error).self) { try HTTP1RequestConversion.request(head) }
    }
}
