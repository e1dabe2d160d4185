#!/usr/bin/env bash
# Runs `switchyard demo` and drives it with the official OpenAI and Anthropic Python SDKs: the user path
# (sdk_check.py), the fidelity cases (fidelity_check.py) and the Responses API and agent paths (responses_check.py).
# Needs python3 and PyPI; installs the SDKs into .venv-sdk (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product switchyard
python3 -m venv .venv-sdk
.venv-sdk/bin/pip install -q openai anthropic
port=${SWITCHYARD_SDK_CHECK_PORT:-$(python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")}
.build/debug/switchyard demo --port "$port" > .build/sdk-check-demo.log 2>&1 &
demo=$!
trap 'kill $demo 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$port/health/ready" > /dev/null && break
  sleep 0.1
done
# Fidelity first: the user path ends by making the simulated Anthropic revoke its keys.
.venv-sdk/bin/python scripts/fidelity_check.py "http://127.0.0.1:$port" .build/sdk-check-demo.log
.venv-sdk/bin/python scripts/responses_check.py "http://127.0.0.1:$port" .build/sdk-check-demo.log
.venv-sdk/bin/python scripts/sdk_check.py "http://127.0.0.1:$port"
