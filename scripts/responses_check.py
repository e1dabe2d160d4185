"""The OpenAI Responses API through the official Python SDK, against `switchyard demo`, to every provider type.

For each provider type (OpenAI, Anthropic, Vertex Claude, Vertex Gemini, Gemini API, Bedrock, Azure): text,
a stream assembled by the SDK's helper, a function-call round trip with function_call_output continued by
previous_response_id, json_schema output, and the response kept for GET and DELETE.
Usage: python3 scripts/responses_check.py http://127.0.0.1:4099 DEMO_LOG
"""
import json
import re
import sys
import urllib.request

import openai

base = sys.argv[1]
log = open(sys.argv[2]).read()
ports = dict(re.findall(r"(\w+) on 127\.0\.0\.1:(\d+)", log.split("Simulated vendors:")[1].split("\n")[0]))
oai = openai.OpenAI(base_url=base + "/v1", api_key="sk-switchyard-demo", max_retries=0)

targets = {
    "openai": ("openai", "openai/gpt-4o"),
    "anthropic": ("claude", "claude/claude-sonnet-4-5"),
    "vertex-claude": ("vertex", "vertex/claude-sonnet-4-5@20250929"),
    "vertex-gemini": ("vertex", "vertex/gemini-2.5-flash"),
    "gemini": ("gemini", "gemini/gemini-2.5-flash"),
    "bedrock": ("bedrock", "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0"),
    "azure": ("azure", "azure/gpt-4o-prod"),
}
weather_tool = {
    "type": "function", "name": "get_weather", "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def simulator(name, path, payload=None):
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{ports[name]}{path}", data=data, method="POST" if data else "GET")
    return json.loads(urllib.request.urlopen(request).read())


def check(name, condition):
    print(("ok   " if condition else "FAIL ") + name)
    if not condition:
        sys.exit(1)


for label, (vendor, model) in targets.items():
    r = oai.responses.create(model=model, input="Hello!", instructions="Be brief.")
    check(f"{label}: text", r.status == "completed" and bool(r.output_text) and r.usage.input_tokens > 0 and r.usage.output_tokens > 0)

    with oai.responses.stream(model=model, input=[{"role": "user", "content": "Hello!"}]) as stream:
        deltas = "".join(event.delta for event in stream if event.type == "response.output_text.delta")
        final = stream.get_final_response()
    check(f"{label}: stream helper's final response", final.output_text == deltas and bool(deltas) and final.usage.total_tokens > 0)

    simulator(vendor, "/simulator/enqueue", {"reply": {"text": "", "tool_calls": [{"name": "get_weather", "arguments": '{"city":"Paris"}'}]}})
    first = oai.responses.create(model=model, input="Weather in Paris?", tools=[weather_tool])
    calls = [item for item in first.output if item.type == "function_call"]
    check(f"{label}: function call", len(calls) == 1 and calls[0].name == "get_weather" and json.loads(calls[0].arguments) == {"city": "Paris"})
    second = oai.responses.create(
        model=model, previous_response_id=first.id, tools=[weather_tool],
        input=[{"type": "function_call_output", "call_id": calls[0].call_id, "output": "Sunny, 22C"}])
    sent = json.dumps(simulator(vendor, "/simulator/last-request")["body"])
    check(f"{label}: function_call_output continued by previous_response_id", bool(second.output_text) and "Sunny, 22C" in sent and "Weather in Paris?" in sent)

    simulator(vendor, "/simulator/enqueue", {"reply": {"text": "", "tool_calls": [{"name": "get_weather", "arguments": '{"city":"Oslo"}'}]}})
    with oai.responses.stream(model=model, input="Weather in Oslo?", tools=[weather_tool]) as stream:
        argument_deltas = "".join(event.delta for event in stream if event.type == "response.function_call_arguments.delta")
        streamed = stream.get_final_response()
    streamed_calls = [item for item in streamed.output if item.type == "function_call"]
    check(f"{label}: streamed function call", len(streamed_calls) == 1 and json.loads(argument_deltas) == {"city": "Oslo"})

    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"], "additionalProperties": False}
    simulator(vendor, "/simulator/enqueue", {"reply": {"text": '{"answer":"42"}'}})
    structured = oai.responses.create(
        model=model, input="The answer?", text={"format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": True}})
    check(f"{label}: json_schema output", json.loads(structured.output_text) == {"answer": "42"})

    fetched = oai.responses.retrieve(r.id)
    check(f"{label}: GET /v1/responses/{{id}}", fetched.id == r.id and fetched.output_text == r.output_text)

oai.responses.delete(r.id)
try:
    oai.responses.retrieve(r.id)
    check("deleted response is gone", False)
except openai.NotFoundError:
    check("deleted response is gone (404)", True)

searched = oai.responses.create(model="fast", input="News today?", tools=[{"type": "web_search"}])
check("built-in web_search passes through to OpenAI natively",
      [item.type for item in searched.output][:1] == ["web_search_call"] and simulator("openai", "/simulator/last-request")["path"] == "/v1/responses")
with oai.responses.stream(model="fast", input="News today?", tools=[{"type": "web_search"}]) as stream:
    streamed_search = stream.get_final_response()
check("built-in web_search streamed as OpenAI sent it", streamed_search.output[0].type == "web_search_call" and bool(streamed_search.output_text))
moved = oai.responses.create(model="claude", input="Summarise that.", previous_response_id=streamed_search.id)
check("a natively served conversation continues on Claude", bool(moved.output_text) and "News today?" in json.dumps(simulator("claude", "/simulator/last-request")["body"]))

unstored = oai.responses.create(model="fast", input="Hello!", store=False)
try:
    oai.responses.create(model="fast", input="Again", previous_response_id=unstored.id)
    check("store=false keeps nothing", False)
except openai.NotFoundError:
    check("store=false keeps nothing (previous_response_id 404)", True)

try:
    oai.responses.create(model="claude", input="Search", tools=[{"type": "web_search"}])
    check("built-in tool to a vendor without it", False)
except openai.BadRequestError as error:
    check("built-in tool to a vendor without it is a clear 400", "web_search" in str(error))

# The Anthropic SDK as coding agents use it: token counts, and a multi-turn tool-use conversation with thinking
# and cache_control routed to a non-Anthropic vendor (Gemini) and back to Claude.
import anthropic

claude = anthropic.Anthropic(base_url=base, api_key="sk-switchyard-demo", max_retries=0)
tools = [{"name": "get_weather", "description": "Weather in a city", "input_schema": weather_tool["parameters"], "cache_control": {"type": "ephemeral"}}]
system = [{"type": "text", "text": "You are a weather agent.", "cache_control": {"type": "ephemeral"}}]
messages = [{"role": "user", "content": "Weather in Paris?"}]

counted = claude.messages.count_tokens(model="claude", system=system, tools=tools, messages=messages)
check("anthropic sdk: count_tokens from Anthropic", counted.input_tokens > 0)
raw = claude.messages.with_raw_response.count_tokens(model="gemini", messages=messages)
check("anthropic sdk: count_tokens from Gemini's countTokens", raw.parse().input_tokens > 0 and raw.headers["x-switchyard-token-count"].startswith("gemini/"))
raw = claude.messages.with_raw_response.count_tokens(model="azure", messages=messages)
check("anthropic sdk: count_tokens estimated where the vendor has no count", raw.parse().input_tokens > 0 and raw.headers["x-switchyard-token-count"] == "estimate")

simulator("gemini", "/simulator/enqueue", {"reply": {"text": "", "reasoning": "Paris needs a lookup.", "tool_calls": [{"name": "get_weather", "arguments": '{"city":"Paris"}'}]}})
first = claude.messages.create(
    model="gemini", max_tokens=4000, system=system, tools=tools, messages=messages, thinking={"type": "enabled", "budget_tokens": 2000})
uses = [block for block in first.content if block.type == "tool_use"]
check("anthropic sdk: Gemini thinks and calls a tool", first.stop_reason == "tool_use" and len(uses) == 1 and uses[0].input == {"city": "Paris"}
      and any(block.type == "thinking" for block in first.content))
messages += [{"role": "assistant", "content": first.content},
             {"role": "user", "content": [{"type": "tool_result", "tool_use_id": uses[0].id, "content": "Sunny, 22C", "cache_control": {"type": "ephemeral"}}]}]
second = claude.messages.create(model="gemini", max_tokens=4000, system=system, tools=tools, messages=messages, thinking={"type": "enabled", "budget_tokens": 2000})
gemini_sent = simulator("gemini", "/simulator/last-request")["body"]
check("anthropic sdk: the tool result reaches Gemini with the call's signature", "Sunny, 22C" in json.dumps(gemini_sent) and "thoughtSignature" in json.dumps(gemini_sent))
messages += [{"role": "assistant", "content": second.content}, {"role": "user", "content": "And tomorrow?"}]
with claude.messages.stream(model="claude", max_tokens=4000, system=system, tools=tools, messages=messages, thinking={"type": "enabled", "budget_tokens": 2000}) as stream:
    third = stream.get_final_message()
claude_sent = simulator("claude", "/simulator/last-request")["body"]
check("anthropic sdk: the same conversation continues on Claude, cache_control kept",
      bool(third.content) and "Sunny, 22C" in json.dumps(claude_sent) and claude_sent["system"][0].get("cache_control") == {"type": "ephemeral"})
