import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Request heads as HTTPTypes requests, for ``GatewayConnectionHandler``.
///
/// A request path in origin form (`/v1/…`, what clients send) is taken as it is. The library's conversion
/// parses every path as a URL (Foundation's RFC 3986 parser, ~1.5 % of a short request's CPU) to find the
/// absolute form a proxy client sends, which still goes through it here.
enum HTTP1RequestConversion {
    /// The request `head` describes, as the library's conversion makes it (which returns a path in origin
    /// form unchanged too).
    static func request(_ head: HTTPRequestHead) throws -> HTTPRequest {
        guard head.uri.utf8.first == UInt8(ascii: "/") else { return try HTTPRequest(head, secure: false, splitCookie: false) }
        return HTTPRequest(
            method: try HTTPRequest.Method(head.method), scheme: "http", authority: head.headers.first(name: "host"), path: head.uri,
            headerFields: HTTPFields(head.headers, splitCookie: false))
    }

    /// The request a head read by ``HTTP1RequestParser`` describes: the same request the library's
    /// conversion makes of NIO's head for the same bytes.
    static func request(_ head: HTTP1RequestHead) throws -> HTTPRequest {
        guard head.target.utf8.first == UInt8(ascii: "/") else {
            var headers = HTTPHeaders()
            if let authority = head.authority { headers.add(name: "host", value: authority) }
            for field in head.fields { headers.add(name: field.name.rawName, value: field.value) }
            let version: HTTPVersion = head.isHTTP10 ? .http1_0 : .http1_1
            return try request(HTTPRequestHead(version: version, method: HTTPMethod(rawValue: head.method.rawValue), uri: head.target, headers: headers))
        }
        return HTTPRequest(method: head.method, scheme: "http", authority: head.authority, path: head.target, headerFields: head.fields)
    }
}
