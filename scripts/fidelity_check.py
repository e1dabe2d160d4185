"""Fidelity, case by case, through the official OpenAI and Anthropic Python SDKs against `switchyard demo`.

Each case queues an exact vendor answer on a simulator (POST /simulator/enqueue), calls the gateway with an
SDK, and checks what the SDK received and, where it matters, what the vendor received
(GET /simulator/last-request). Usage: python3 scripts/fidelity_check.py http://127.0.0.1:4099 DEMO_LOG
"""
import json
import re
import sys
import urllib.request

import anthropic
import openai

base = sys.argv[1]
log = open(sys.argv[2]).read()
ports = dict(re.findall(r"(\w+) on 127\.0\.0\.1:(\d+)", log.split("Simulated vendors:")[1].split("\n")[0]))
key = "sk-switchyard-demo"
oai = openai.OpenAI(base_url=base + "/v1", api_key=key, max_retries=0)
claude = anthropic.Anthropic(base_url=base, api_key=key, max_retries=0)


def simulator(name, path, payload=None):
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{ports[name]}{path}", data=data, method="POST" if data else "GET")
    return json.loads(urllib.request.urlopen(request).read())


def enqueue(name, body, status=200, content_type="application/json"):
    simulator(name, "/simulator/enqueue", {"status": status, "content_type": content_type, "body": body})


def sent(name):
    return simulator(name, "/simulator/last-request")["body"]


def check(name, condition):
    print(("ok   " if condition else "FAIL ") + name)
    if not condition:
        sys.exit(1)


# Same dialect, same vendor family: nothing the canonical model lacks is lost.
rich_claude = {
    "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
    "content": [
        {"type": "thinking", "thinking": "Let me search.", "signature": "EqQBCgIYAhIM"},
        {"type": "redacted_thinking", "data": "EmwKAhgBEgy3"},
        {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search", "input": {"query": "weather Paris"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01",
         "content": [{"type": "web_search_result", "url": "https://example.com", "title": "Paris", "encrypted_content": "Eqgf", "page_age": None}]},
        {"type": "text", "text": "Light rain. END"},
    ],
    "stop_reason": "stop_sequence", "stop_sequence": "END",
    "usage": {"input_tokens": 20, "cache_creation_input_tokens": 8, "cache_read_input_tokens": 0, "output_tokens": 9,
              "cache_creation": {"ephemeral_5m_input_tokens": 8, "ephemeral_1h_input_tokens": 0}, "service_tier": "standard"},
}
enqueue("claude", json.dumps(rich_claude))
m = claude.messages.create(model="claude", max_tokens=100, stop_sequences=["END"], messages=[{"role": "user", "content": "Weather?"}])
check("anthropic→anthropic: every block type survives",
      [b.type for b in m.content] == ["thinking", "redacted_thinking", "server_tool_use", "web_search_tool_result", "text"])
check("anthropic→anthropic: thinking signature intact", m.content[0].signature == "EqQBCgIYAhIM")
check("anthropic→anthropic: stop_sequence with its value", m.stop_reason == "stop_sequence" and m.stop_sequence == "END")
check("anthropic→anthropic: usage.cache_creation", m.usage.cache_creation.ephemeral_5m_input_tokens == 8)

stream = "".join(
    f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in [
        {"type": "message_start", "message": {"id": "msg_02", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                                              "content": [], "stop_reason": None, "stop_sequence": None,
                                              "usage": {"input_tokens": 5, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Hmm."}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig-xyz"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Rain."}},
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "pause_turn", "stop_sequence": None}, "usage": {"output_tokens": 4}},
        {"type": "message_stop"},
    ])
enqueue("claude", stream, content_type="text/event-stream")
with claude.messages.stream(model="claude", max_tokens=100, messages=[{"role": "user", "content": "Weather?"}]) as s:
    final = s.get_final_message()
check("anthropic→anthropic stream: thinking with signature, pause_turn",
      final.content[0].type == "thinking" and final.content[0].signature == "sig-xyz" and final.stop_reason == "pause_turn")

rich_openai = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
    "choices": [
        {"index": i, "message": {"role": "assistant", "content": text, "refusal": None},
         "logprobs": {"content": [{"token": text, "logprob": -0.1, "bytes": None, "top_logprobs": []}], "refusal": None},
         "finish_reason": "stop"} for i, text in enumerate(["Rain.", "Drizzle."])
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9,
              "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
              "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 2, "accepted_prediction_tokens": 1, "rejected_prediction_tokens": 0}},
    "service_tier": "default",
}
enqueue("openai", json.dumps(rich_openai))
r = oai.chat.completions.create(model="fast", n=2, logprobs=True, messages=[{"role": "user", "content": "Weather?"}])
check("openai→openai: n=2 choices with logprobs", len(r.choices) == 2 and r.choices[1].logprobs.content[0].token == "Drizzle.")
check("openai→openai: audio and prediction tokens, service tier",
      r.usage.completion_tokens_details.audio_tokens == 2 and r.usage.completion_tokens_details.accepted_prediction_tokens == 1 and r.service_tier == "default")

enqueue("openai", json.dumps({"error": {"message": "Invalid 'messages[0].content'", "type": "invalid_request_error",
                                         "param": "messages[0].content", "code": "string_above_max_length"}}), status=400)
try:
    oai.chat.completions.create(model="fast", messages=[{"role": "user", "content": "x"}])
    check("openai→openai: vendor 400 raises", False)
except openai.BadRequestError as error:
    check("openai→openai: vendor 400 keeps param and code", error.param == "messages[0].content" and error.code == "string_above_max_length")

# Across dialects: boundaries and meaning kept (what the vendor received).
claude.messages.create(model="fast", max_tokens=50, system=[{"type": "text", "text": "S-a"}, {"type": "text", "text": "S-b"}],
                       messages=[{"role": "user", "content": [{"type": "text", "text": "Long doc"}, {"type": "text", "text": "Q?"}]}])
body = sent("openai")
check("anthropic→openai: system blocks stay apart", body["messages"][0]["content"] == [{"type": "text", "text": "S-a"}, {"type": "text", "text": "S-b"}])
check("anthropic→openai: user blocks stay apart", body["messages"][1]["content"] == [{"type": "text", "text": "Long doc"}, {"type": "text", "text": "Q?"}])

tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
oai.chat.completions.create(model="claude", tools=tools, tool_choice="none", messages=[
    {"role": "user", "content": "Weather?"},
    {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": [{"type": "text", "text": "Sunny"}, {"type": "text", "text": "22C"}]},
])
body = sent("claude")
check("openai→anthropic: tool result blocks stay apart", body["messages"][2]["content"][0]["content"] == [{"type": "text", "text": "Sunny"}, {"type": "text", "text": "22C"}])
check("openai→anthropic: tool_choice none keeps the tools", body["tool_choice"] == {"type": "none"} and len(body["tools"]) == 1)

refusal = {"id": "chatcmpl-r", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
           "choices": [{"index": 0, "message": {"role": "assistant", "content": None, "refusal": "I can't help with that."}, "finish_reason": "stop"}],
           "usage": {"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11}}
enqueue("openai", json.dumps(refusal))
m = claude.messages.create(model="fast", max_tokens=50, messages=[{"role": "user", "content": "bad"}])
check("openai→anthropic: a refusal is text with stop_reason refusal", m.content[0].text == "I can't help with that." and m.stop_reason == "refusal")

overloaded = json.dumps({"error": {"message": "busy", "type": "server_error", "param": None, "code": None}})
for _ in range(4):
    enqueue("openai", overloaded, status=503)
try:
    claude.messages.create(model="fast", max_tokens=50, messages=[{"role": "user", "content": "hi"}])
    check("anthropic client, overloaded vendor: raises", False)
except anthropic.APIStatusError as error:
    check("anthropic client, overloaded vendor: 529 overloaded_error", error.status_code == 529 and error.body["error"]["type"] == "overloaded_error")
