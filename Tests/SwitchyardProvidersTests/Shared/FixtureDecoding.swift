import NIOCore
import SwitchyardCore
import SwitchyardProviders
import SwitchyardSimulator

/// Feeds a fixture stream to a decoder in uneven slices, as a network would deliver it.
func decodeStream(_ text: String, with decoder: any ChatStreamDecoder, sliceSize: Int = 7) throws -> [ChatEvent] {
    var decoder = decoder
    var events: [ChatEvent] = []
    let bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let end = min(bytes.count, offset + sliceSize)
        events.append(contentsOf: try decoder.decode(ByteBuffer(bytes: bytes[offset..<end])))
        offset = end
    }
    events.append(contentsOf: try decoder.finish())
    return events
}

/// Text and tool calls reassembled from canonical events.
struct Reassembled: Equatable {
    var text = ""
    var refusal = ""
    var reasoning = ""
    var reasoningSignatures: [ReasoningSignature] = []
    var calls: [Int: (id: String, name: String, arguments: String)] = [:]
    var callSignatures: [Int: ReasoningSignature] = [:]
    var finish: FinishReason?
    var usage: Usage?

    init(_ events: [ChatEvent]) {
        for event in events {
            switch event {
            case .textDelta(let delta, _): text += delta
            case .refusalDelta(let delta, _): refusal += delta
            case .reasoningDelta(let delta, _): reasoning += delta
            case .reasoningSignature(let signature, _), .redactedReasoning(let signature, _): reasoningSignatures.append(signature)
            case .toolCallStart(let index, let id, let name, let signature, _):
                calls[index] = (id, name, "")
                callSignatures[index] = signature
            case .toolCallArguments(let index, let fragment, _): calls[index]?.arguments += fragment
            case .finish(let reason, _): finish = reason
            case .usage(let latest): usage = latest
            case .start, .logprobs: break
            }
        }
    }

    static func == (lhs: Reassembled, rhs: Reassembled) -> Bool {
        lhs.text == rhs.text && lhs.reasoning == rhs.reasoning && lhs.reasoningSignatures == rhs.reasoningSignatures
            && lhs.callSignatures == rhs.callSignatures && lhs.refusal == rhs.refusal && lhs.finish == rhs.finish && lhs.usage == rhs.usage
            && lhs.calls.mapValues { "\($0.id)|\($0.name)|\($0.arguments)" } == rhs.calls.mapValues { "\($0.id)|\($0.name)|\($0.arguments)" }
    }
}

func head(_ status: Int, _ headers: HeaderFields = [:]) -> UpstreamHead {
    UpstreamHead(status: status, headers: headers)
}

func buffer(_ value: JSONValue) -> ByteBuffer {
    ByteBuffer(bytes: value.jsonBytes)
}
