"""Drives a running `switchyard demo` with the official OpenAI and Anthropic Python SDKs.

Usage: python3 scripts/sdk_check.py http://127.0.0.1:4000
Exits non-zero on the first mismatch; prints one line per check.
"""
import sys

import anthropic
from openai import OpenAI, NotFoundError

base = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:4000"
key = "sk-switchyard-demo"
oai = OpenAI(base_url=base + "/v1", api_key=key, max_retries=0)
claude = anthropic.Anthropic(base_url=base, api_key=key, max_retries=0)


def check(name, condition):
    print(("ok   " if condition else "FAIL ") + name)
    if not condition:
        sys.exit(1)


r = oai.chat.completions.create(model="smart", messages=[{"role": "user", "content": "Hello!"}])
check("openai: non-streamed answer", bool(r.choices[0].message.content) and r.usage.total_tokens > 0)

text, usage = "", None
for chunk in oai.chat.completions.create(
    model="smart", stream=True, stream_options={"include_usage": True}, messages=[{"role": "user", "content": "Hello!"}]
):
    if chunk.choices:
        text += chunk.choices[0].delta.content or ""
    elif chunk.usage:
        usage = chunk.usage
check("openai: streamed answer with usage chunk", bool(text) and usage is not None and usage.total_tokens > 0)

with oai.chat.completions.stream(model="claude", messages=[{"role": "user", "content": "Hello!"}]) as stream:
    final = stream.get_final_completion()
check("openai: stream helper against an Anthropic provider", bool(final.choices[0].message.content))

e = oai.embeddings.create(model="embed", input=["a", "b"])
check("openai: embeddings", len(e.data) == 2 and len(e.data[0].embedding) > 0)

ids = [m.id for m in oai.models.list()]
check("openai: models list", "smart" in ids and "claude" in ids)

try:
    oai.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    check("openai: unknown model raises", False)
except NotFoundError as error:
    check("openai: unknown model raises NotFoundError", error.status_code == 404)

m = claude.messages.create(model="fast", max_tokens=100, messages=[{"role": "user", "content": "Hello!"}])
check("anthropic: non-streamed answer from an OpenAI provider", bool(m.content[0].text) and m.usage.output_tokens > 0)

with claude.messages.stream(model="smart", max_tokens=100, messages=[{"role": "user", "content": "Hello!"}]) as stream:
    for _ in stream.text_stream:
        pass
    message = stream.get_final_message()
check("anthropic: stream helper", bool(message.content[0].text) and message.stop_reason == "end_turn")

try:
    claude.messages.create(model="ghost", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    check("anthropic: unknown model raises", False)
except anthropic.NotFoundError as error:
    check("anthropic: unknown model raises NotFoundError", error.status_code == 404)

r = oai.chat.completions.with_raw_response.create(model="gemini", messages=[{"role": "user", "content": "Hello!"}])
check("openai: Gemini API answers route gemini", r.headers.get("x-switchyard-target") == "gemini/gemini-2.5-flash" and bool(r.parse().choices[0].message.content))

with claude.messages.stream(model="gemini", max_tokens=100, messages=[{"role": "user", "content": "Hello!"}]) as stream:
    gemini_text = "".join(stream.text_stream)
check("anthropic: stream from Gemini", bool(gemini_text))

e = oai.embeddings.create(model="gemini/text-embedding-004", input=["a", "b"])
check("openai: Gemini embeddings (SDK's default base64)", len(e.data) == 2 and len(e.data[0].embedding) > 0)

# The seed scenario: the simulated Anthropic revokes every key; Claude keeps answering through Vertex AI.
import re
import urllib.request

log = open(".build/sdk-check-demo.log").read() if len(sys.argv) < 3 else open(sys.argv[2]).read()
port = re.search(r"127\.0\.0\.1:(\d+)/simulator/revoke-keys", log).group(1)
urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/simulator/revoke-keys", method="POST")).read()
vertex = "vertex/claude-sonnet-4-5@20250929"
r = oai.chat.completions.with_raw_response.create(model="claude", messages=[{"role": "user", "content": "Hello!"}])
check("openai: Claude through Vertex after Anthropic revoked the key", r.headers.get("x-switchyard-target") == vertex)
with claude.messages.with_streaming_response.create(
    model="claude", max_tokens=100, stream=True, messages=[{"role": "user", "content": "Hello!"}]
) as response:
    target = response.headers.get("x-switchyard-target")
    body = "".join(response.iter_text())
check("anthropic: streamed Claude through Vertex", target == vertex and "message_stop" in body)
urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/simulator/restore-keys", method="POST")).read()

# Azure OpenAI and Bedrock, each through both SDKs.
r = oai.chat.completions.with_raw_response.create(model="azure", messages=[{"role": "user", "content": "Hello!"}])
check("openai: Azure deployment answers", r.headers.get("x-switchyard-target") == "azure/gpt-4o-prod" and bool(r.parse().choices[0].message.content))
azure_text = "".join(c.choices[0].delta.content or "" for c in oai.chat.completions.create(
    model="azure", stream=True, messages=[{"role": "user", "content": "Hello!"}]) if c.choices)
check("openai: Azure stream (filter preamble dropped)", azure_text.startswith("Hello from the simulated Azure"))
bedrock = "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0"
m = claude.messages.create(model=bedrock, max_tokens=100, messages=[{"role": "user", "content": "Hello!"}])
check("anthropic: Bedrock (SigV4) answers with usage", m.content[0].text.startswith("Hello from Claude on the simulated AWS Bedrock") and m.usage.output_tokens > 0)
with claude.messages.stream(model=bedrock, max_tokens=100, messages=[{"role": "user", "content": "Hello!"}]) as stream:
    bedrock_text = "".join(stream.text_stream)
check("anthropic: Bedrock binary event stream", bedrock_text.startswith("Hello from Claude on the simulated AWS Bedrock"))
r = oai.chat.completions.with_raw_response.create(model="claude", messages=[{"role": "user", "content": "Hello!"}])
check("openai: Claude still answered after Anthropic's keys were revoked", r.headers.get("x-switchyard-target", "").startswith(("vertex/", "bedrock/")))
