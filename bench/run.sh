#!/usr/bin/env bash
# The black-box benchmark (see "Benchmark" in README.md): installs nginx and wrk from Debian packages when missing,
# builds Switchyard in release (as README's "Deploying" says), and measures it beside nginx as a reverse proxy, in one interleaved run.
# Usage: bench/run.sh [--quick] [--out bench/RESULTS.md]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk > /dev/null || ! command -v nginx > /dev/null; then
  apt-get install -y -q nginx-light wrk > /dev/null 2>&1 || { apt-get update -q > /dev/null && apt-get install -y -q nginx-light wrk > /dev/null; }
fi
swift build -c release --static-swift-stdlib --product switchyard \
  -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections 2>&1 | tail -1
exec python3 bench/bench.py --switchyard .build/release/switchyard "$@"
