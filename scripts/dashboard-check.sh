#!/usr/bin/env bash
# The dashboard in a real headless browser: installs Chromium (Debian package) and websocket-client (PyPI)
# when missing, builds the gateway, and runs scripts/dashboard_browser_check.py against `switchyard demo`
# (log in, every page, create and revoke a key, the live feed, no console errors). Screenshots go to
# .build/dashboard-screenshots; pass --readme-screenshot docs/dashboard.png to refresh the README's.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium > /dev/null; then
  apt-get install -y -q chromium > /dev/null 2>&1 || { apt-get update -q > /dev/null && apt-get install -y -q chromium > /dev/null; }
fi
swift build --product switchyard
python3 -m venv .venv-sdk
.venv-sdk/bin/pip install -q websocket-client
.venv-sdk/bin/python scripts/dashboard_browser_check.py .build/debug/switchyard .build/dashboard-screenshots "$@"
