public import Hummingbird
public import NIOCore

/// The request context of the gateway's router: Hummingbird's core context plus the client connection,
/// so a handler can be cancelled when its client goes away.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client connection the request arrived on.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}

/// Request ids: the client's own when it is reasonable, else a fresh one. A client-supplied id is echoed
/// in headers and written to logs, so it is bounded in length and characters.
enum RequestID {
    static let maximumLength = 128

    /// The client's `x-request-id` if it is 1–128 characters of `A–Z a–z 0–9 - _ . :`; otherwise a new id.
    static func accept(_ presented: String?) -> String {
        guard let presented, isAcceptable(presented) else { return makeRequestID() }
        return presented
    }

    static func isAcceptable(_ id: String) -> Bool {
        let bytes = id.utf8
        guard !bytes.isEmpty, bytes.count <= maximumLength else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"):
                true
            default: false
            }
        }
    }
}
