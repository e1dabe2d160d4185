/// The pieces of an upstream URL the transport and request signing need, read from the string as it will be
/// sent (adapters build their URLs from config and percent-encoded model names, so nothing is re-encoded).
public struct UpstreamURL: Sendable, Hashable {
    /// `http` or `https` (lowercased); a URL without a scheme is taken as `https`.
    public var scheme: String
    /// The host without brackets around an IPv6 literal, lowercased.
    public var host: String
    public var port: Int
    /// `host[:port]` as the Host header carries it: lowercased, the scheme's default port left out.
    public var hostHeader: String
    public var path: String
    public var query: String?
    /// Whether the authority was well formed: a host, a port in range, no user info.
    public var isValid: Bool

    public var isTLS: Bool { scheme == "https" }

    /// The request target of an HTTP/1.1 request line: path and query.
    public var requestTarget: String {
        let path = path.isEmpty ? "/" : path
        guard let query else { return path }
        return path + "?" + query
    }

    public init(_ url: String) {
        var rest = Substring(url)
        scheme = "https"
        if let range = Self.schemeSeparator(in: rest) {
            scheme = Self.lowercasedASCII(rest[..<range.lowerBound])
            rest = rest[range.upperBound...]
        }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let authority = Self.lowercasedASCII(rest[..<authorityEnd])
        var pathAndQuery = rest[authorityEnd...]
        if let fragment = pathAndQuery.firstIndex(of: "#") { pathAndQuery = pathAndQuery[..<fragment] }
        if let mark = pathAndQuery.firstIndex(of: "?") {
            path = String(pathAndQuery[..<mark])
            query = String(pathAndQuery[pathAndQuery.index(after: mark)...])
        } else {
            path = String(pathAndQuery)
            query = nil
        }
        let defaultPort = scheme == "http" ? 80 : 443
        var hostPart = Substring(authority)
        var portText: Substring?
        if hostPart.hasPrefix("["), let close = hostPart.firstIndex(of: "]") {
            let afterClose = hostPart.index(after: close)
            if afterClose < hostPart.endIndex, hostPart[afterClose] == ":" { portText = hostPart[hostPart.index(after: afterClose)...] }
            hostPart = hostPart[hostPart.index(after: hostPart.startIndex)..<close]
        } else if let colon = hostPart.lastIndex(of: ":") {
            portText = hostPart[hostPart.index(after: colon)...]
            hostPart = hostPart[..<colon]
        }
        host = String(hostPart)
        var valid = !host.isEmpty && !authority.contains("@") && (scheme == "http" || scheme == "https")
        if let portText {
            if portText.count <= 5, let number = Int(portText), (1...65535).contains(number) { port = number } else { port = defaultPort; valid = false }
        } else {
            port = defaultPort
        }
        isValid = valid
        let hostForHeader = authority.hasPrefix("[") ? "[\(host)]" : host
        hostHeader = port == defaultPort ? hostForHeader : "\(hostForHeader):\(port)"
    }

    /// The first "://" in `text`. (Substring's `firstRange(of:)` runs _StringProcessing's generic searcher,
    /// the only use of that library's code at start-up.)
    private static func schemeSeparator(in text: Substring) -> Range<Substring.Index>? {
        var searchFrom = text.startIndex
        while let colon = text[searchFrom...].firstIndex(of: ":") {
            let afterColon = text.index(after: colon)
            if text[afterColon...].hasPrefix("//") { return colon..<text.index(afterColon, offsetBy: 2) }
            searchFrom = afterColon
        }
        return nil
    }

    /// Lowercases without allocating anew when there is nothing to lower (the usual case).
    private static func lowercasedASCII(_ text: Substring) -> String {
        text.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }) ? text.lowercased() : String(text)
    }
}
