import SwitchyardCore
import Testing

@Suite struct CanonicalModelTests {
    @Test func toolResultsLearnTheNameOfTheCallTheyAnswer() {
        var messages: [ChatMessage] = [
            .text(.user, "Weather and time?"),
            ChatMessage(
                role: .assistant,
                parts: [
                    .toolCall(ToolCall(id: "call_1", name: "get_weather", arguments: "{}")),
                    .toolCall(ToolCall(id: "call_2", name: "get_time", arguments: "{}")),
                ]),
            ChatMessage(
                role: .tool,
                parts: [
                    .toolResult(ToolResult(callID: "call_2", content: [.text("12:00")])),
                    .toolResult(ToolResult(callID: "call_1", content: [.text("18C")])),
                    .toolResult(ToolResult(callID: "call_unknown", content: [.text("?")])),
                ]),
        ]
        messages.resolveToolResultNames()
        let names = messages[2].parts.map { part -> String? in if case .toolResult(let result) = part { result.name } else { nil } }
        #expect(names == ["get_time", "get_weather", nil])
    }
}
