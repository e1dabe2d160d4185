/// Token counts guessed before a request runs (for routing by cost and budget reservations): about four
/// characters of text per token, plus a little per message; images at a flat rate.
public enum TokenEstimate {
    /// The output assumed when neither the client nor the route caps it.
    public static let defaultOutputTokens = 1024

    public static func prompt(of request: ChatRequest) -> Int {
        var characters = 0
        var images = 0
        for message in request.messages {
            characters += 16
            for part in message.parts {
                switch part {
                case .text(let text): characters += text.utf8.count
                case .image: images += 1
                case .toolCall(let call): characters += call.name.utf8.count + call.arguments.utf8.count
                case .toolResult(let result): characters += result.content.textBlocks.reduce(0) { $0 + $1.utf8.count }
                case .reasoning(let reasoning): characters += reasoning.text.utf8.count
                }
            }
        }
        for tool in request.tools { characters += tool.name.utf8.count + (tool.description?.utf8.count ?? 0) + (tool.parameters?.jsonString.utf8.count ?? 0) }
        return characters / 4 + images * 800
    }

    public static func prompt(of request: EmbeddingsRequest) -> Int {
        switch request.input {
        case .text(let text): return text.utf8.count / 4 + 1
        case .texts(let texts): return texts.reduce(0) { $0 + $1.utf8.count / 4 + 1 }
        case .tokens(let tokens): return tokens.count
        case .tokenBatches(let batches): return batches.reduce(0) { $0 + $1.count }
        }
    }

    /// Tokens in text the gateway saw (a stream cut off before its usage arrived).
    public static func tokens(inText characters: Int) -> Int {
        (characters + 3) / 4
    }
}
