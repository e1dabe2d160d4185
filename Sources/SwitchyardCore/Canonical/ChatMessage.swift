/// One message of a conversation in the canonical model.
///
/// Tool results are carried by `.tool` messages, one per call, whatever the dialect they came from;
/// encoders that need them grouped (Anthropic) merge consecutive ones.
public struct ChatMessage: Sendable, Hashable {
    public enum Role: String, Sendable, Hashable {
        case system
        case developer
        case user
        case assistant
        case tool
    }

    public var role: Role
    public var parts: [ContentPart]
    /// Optional participant name (OpenAI `name`).
    public var name: String?
    /// Prompt-caching breakpoints: the index of the part a cache prefix ends after, with the client's mark
    /// (Anthropic `cache_control`). Claude's vendors honour them; others have no such mark and ignore them.
    public var cacheMarks: [Int: JSONValue] = [:]

    public init(role: Role, parts: [ContentPart], name: String? = nil) {
        self.role = role
        self.parts = parts
        self.name = name
    }

    /// A message holding one text part.
    public static func text(_ role: Role, _ text: String) -> ChatMessage {
        ChatMessage(role: role, parts: [.text(text)])
    }

    /// The concatenated text parts.
    public var text: String {
        parts.reduce(into: "") { result, part in
            if case .text(let text) = part { result += text }
        }
    }

    /// The concatenated reasoning text.
    public var reasoningText: String {
        parts.reduce(into: "") { result, part in
            if case .reasoning(let reasoning) = part { result += reasoning.text }
        }
    }

    /// The tool calls this message makes.
    public var toolCalls: [ToolCall] {
        parts.compactMap { part in
            if case .toolCall(let call) = part { return call }
            return nil
        }
    }
}

/// A typed piece of message content.
public enum ContentPart: Sendable, Hashable {
    case text(String)
    case image(ImageSource)
    case toolCall(ToolCall)
    case toolResult(ToolResult)
    /// The model's reasoning (Anthropic `thinking`, Gemini thought parts, OpenAI-dialect `reasoning_content`).
    case reasoning(ReasoningPart)
}

/// Reasoning the model showed, with the opaque data its vendor needs back unchanged.
///
/// A signature is tied to the vendor family that made it: encoders send it back only to that family and
/// drop it (with the reasoning it signs) anywhere else, since another vendor cannot verify it.
public struct ReasoningPart: Sendable, Hashable {
    /// The visible reasoning text; empty for redacted reasoning or a bare signature.
    public var text: String
    public var signature: ReasoningSignature?
    /// Anthropic `redacted_thinking`: the reasoning is encrypted and `signature.value` holds its data.
    public var isRedacted: Bool

    public init(text: String, signature: ReasoningSignature? = nil, isRedacted: Bool = false) {
        self.text = text
        self.signature = signature
        self.isRedacted = isRedacted
    }
}

/// Provider-opaque reasoning data (Anthropic's `signature`, Gemini's `thoughtSignature`) and the vendor
/// family that issued it.
public struct ReasoningSignature: Sendable, Hashable {
    public enum Family: String, Sendable, Hashable {
        /// Claude, wherever it is served (Anthropic, Vertex, Bedrock): its signatures are valid across them.
        case anthropic
        /// Gemini, on the Gemini API or Vertex.
        case gemini
    }

    public var family: Family
    public var value: String

    public init(family: Family, value: String) {
        self.family = family
        self.value = value
    }

    /// The form handed to clients: Anthropic signatures unchanged (so Anthropic SDKs can replay them to
    /// Anthropic directly); others prefixed with their family, which ``init(clientToken:)`` reads back.
    public var clientToken: String {
        family == .anthropic ? value : "\(family.rawValue)~\(value)"
    }

    /// Reads a signature a client sent back; one without a family prefix is Anthropic's.
    public init(clientToken: String) {
        if let tilde = clientToken.firstIndex(of: "~"), let family = Family(rawValue: String(clientToken[..<tilde])), family != .anthropic {
            self.init(family: family, value: String(clientToken[clientToken.index(after: tilde)...]))
        } else {
            self.init(family: .anthropic, value: clientToken)
        }
    }
}

/// An image, either by URL (http(s) or `data:`) or as inline base64 data.
public struct ImageSource: Sendable, Hashable {
    public enum Location: Sendable, Hashable {
        case url(String)
        case base64(mediaType: String, data: String)
    }

    public var location: Location
    /// OpenAI's `detail` hint (`auto`, `low`, `high`).
    public var detail: String?

    public init(location: Location, detail: String? = nil) {
        self.location = location
        self.detail = detail
    }

    /// The image as a `data:` URL when it is inline, or its URL. Parses `data:` URLs into base64 parts.
    public var inlineData: (mediaType: String, data: String)? {
        switch location {
        case .base64(let mediaType, let data): return (mediaType, data)
        case .url(let url):
            guard url.hasPrefix("data:"), let comma = url.firstIndex(of: ",") else { return nil }
            let header = url[url.index(url.startIndex, offsetBy: 5)..<comma]
            guard header.hasSuffix(";base64") else { return nil }
            return (String(header.dropLast(7)), String(url[url.index(after: comma)...]))
        }
    }
}

/// A call the model asked for; `arguments` is JSON text, exactly as the model produced it.
public struct ToolCall: Sendable, Hashable {
    public var id: String
    public var name: String
    public var arguments: String
    /// Opaque reasoning data the vendor attached to this call (Gemini's `thoughtSignature`).
    public var signature: ReasoningSignature?

    public init(id: String, name: String, arguments: String, signature: ReasoningSignature? = nil) {
        self.id = id
        self.name = name
        self.arguments = arguments
        self.signature = signature
    }

    /// The id handed to clients. Neither client dialect has a place for a call's signature, so it rides in
    /// the id (`<id>__thought__<signature>`, the convention other gateways use) and comes back with the
    /// call and with its result; ``split(clientID:)`` takes it off again.
    public var clientID: String {
        guard let signature else { return id }
        return id + Self.signatureSeparator + signature.clientToken
    }

    static let signatureSeparator = "__thought__"

    /// A client's call id without the signature ``clientID`` put in it, and that signature.
    public static func split(clientID: String) -> (id: String, signature: ReasoningSignature?) {
        guard let range = clientID.firstRange(of: signatureSeparator) else { return (clientID, nil) }
        let token = clientID[range.upperBound...]
        guard !token.isEmpty else { return (String(clientID[..<range.lowerBound]), nil) }
        return (String(clientID[..<range.lowerBound]), ReasoningSignature(clientToken: String(token)))
    }
}

/// The result of a tool call, sent back by the client.
public struct ToolResult: Sendable, Hashable {
    public var callID: String
    /// The name of the function this result answers, found from the call with ``callID`` earlier in the
    /// conversation (Gemini's `functionResponse` needs it; neither client dialect sends it).
    public var name: String?
    /// Text and image parts of the result.
    public var content: [ContentPart]
    public var isError: Bool

    public init(callID: String, name: String? = nil, content: [ContentPart], isError: Bool = false) {
        self.callID = callID
        self.name = name
        self.content = content
        self.isError = isError
    }

    /// The text parts of the result joined together.
    public var text: String {
        content.reduce(into: "") { result, part in
            if case .text(let text) = part { result += text }
        }
    }
}

extension [ContentPart] {
    /// The text parts, each on its own: separate blocks a client sent stay separate.
    public var textBlocks: [String] {
        compactMap { if case .text(let text) = $0 { text } else { nil } }
    }

    /// The text parts as one string, blocks apart by a blank line, for targets that take a single string.
    public var joinedText: String {
        textBlocks.filter { !$0.isEmpty }.joined(separator: "\n\n")
    }
}

extension ChatMessage {
    /// The text parts, each on its own, with the caching mark that follows each.
    public var markedTextBlocks: [(text: String, cacheControl: JSONValue?)] {
        parts.enumerated().compactMap { index, part in
            if case .text(let text) = part { (text, cacheMarks[index]) } else { nil }
        }
    }
}

extension [ChatMessage] {
    /// Whether any message holds reasoning or a signed tool call: gateway-managed content that a
    /// same-dialect pass-through must not forward verbatim.
    public var carriesReasoning: Bool {
        contains { message in
            message.parts.contains { part in
                switch part {
                case .reasoning: true
                case .toolCall(let call): call.signature != nil
                default: false
                }
            }
        }
    }

    /// Gives every tool result the function name of the call it answers (by call id, from earlier
    /// assistant turns); results whose call is not in the conversation keep `nil`.
    public mutating func resolveToolResultNames() {
        var names: [String: String] = [:]
        for index in indices {
            for partIndex in self[index].parts.indices {
                switch self[index].parts[partIndex] {
                case .toolCall(let call):
                    names[call.id] = call.name
                case .toolResult(var result) where result.name == nil:
                    guard let name = names[result.callID] else { continue }
                    result.name = name
                    self[index].parts[partIndex] = .toolResult(result)
                default:
                    continue
                }
            }
        }
    }
}
