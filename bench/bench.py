#!/usr/bin/env python3
"""Black-box benchmark: what Switchyard adds to an LLM call, beside nginx as a plain reverse proxy.

One interleaved run, everything on 127.0.0.1: a fast upstream (nginx answering a fixed chat.completion body,
or a fixed 50-chunk SSE stream), then per connection count: (a) direct, (b) nginx as a keep-alive reverse
proxy, (c) Switchyard with a virtual key, accounting and metrics on, OpenAI dialect to an `openai` provider,
(d) the same with an Anthropic-dialect client (translation). wrk drives the load pinned to one core.
Run through bench/run.sh, which installs nginx and wrk and builds the release binary.
"""
import argparse
import asyncio
import json
import os
import platform
import re
import socket
import shutil
import subprocess
import sys
import tempfile
import time

KEY = "sk-switchyard-bench"
CHAT = {
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": "gpt-4o",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "The quick brown fox jumps over the lazy dog."},
                 "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 10, "total_tokens": 22},
}
OPENAI_REQUEST = {"model": "bench", "messages": [{"role": "user", "content": "Say something short."}]}
ANALYSIS_MARKER = "<!-- analysis: kept across runs -->"
TRACED_ROW = "Switchyard, OpenAI dialect, tracing on (every request sampled)"
# An OTLP/HTTP endpoint that accepts spans and drops them.
OTLP_SINK = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Sink(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
"""
AHC_ROW = "Switchyard, OpenAI dialect, AsyncHTTPClient transport"
ANTHROPIC_REQUEST = {"model": "bench", "max_tokens": 64, "messages": [{"role": "user", "content": "Say something short."}]}


def sse_body(chunks=50):
    def chunk(delta, finish=None, usage=None):
        body = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1700000000, "model": "gpt-4o",
                "choices": [] if usage else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}
        if usage:
            body["usage"] = usage
        return "data: " + json.dumps(body, separators=(",", ":")) + "\n\n"
    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": f"Tok{index} "}) for index in range(chunks)]
    events.append(chunk({}, finish="stop"))
    events.append(chunk(None, usage={"prompt_tokens": 12, "completion_tokens": chunks, "total_tokens": 12 + chunks}))
    return "".join(events) + "data: [DONE]\n\n"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def nginx_quote(text):
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def start_nginx(workdir, name, body, workers):
    conf = os.path.join(workdir, f"{name}.conf")
    with open(conf, "w") as out:
        out.write(f"""
worker_processes {workers};
pid {workdir}/{name}.pid;
error_log {workdir}/{name}.error.log warn;
daemon off;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  {body}
}}
""")
    process = subprocess.Popen(["nginx", "-c", conf, "-p", workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process


def start_fast_upstream(workdir, port):
    """nginx as the fast upstream: a fixed chat.completion at /v1, a 50-chunk SSE answer at /sse/v1."""
    # The stream is longer than one nginx string may be: a static file, served to POSTs by re-dispatching
    # the static module's 405 as a GET.
    os.makedirs(os.path.join(workdir, "www/sse/v1/chat"), exist_ok=True)
    with open(os.path.join(workdir, "www/sse/v1/chat/completions"), "w") as out:
        out.write(sse_body())
    return start_nginx(workdir, "upstream", f"""
  server {{
    listen 127.0.0.1:{port} reuseport backlog=4096;
    location = /v1/chat/completions {{ default_type application/json; return 200 {nginx_quote(json.dumps(CHAT, separators=(",", ":")))}; }}
    location = /sse/v1/chat/completions {{ root {workdir}/www; default_type text/event-stream; error_page 405 =200 $uri; }}
  }}""", 1)


def write_gateway_config(workdir, gateway_port, upstream_port, slow_port):
    """The gateway's config as users run it: a virtual key, the SQLite request log; returns its path."""
    config = os.path.join(workdir, "switchyard.yaml")
    with open(config, "w") as out:
        out.write(f"""
listen: 127.0.0.1:{gateway_port}
admin_key: bench-admin-key-0123456789
storage: "sqlite:{workdir}/switchyard.db"
providers:
  fast: {{type: openai, base_url: "http://127.0.0.1:{upstream_port}/v1", keys: [sk-upstream]}}
  faststream: {{type: openai, base_url: "http://127.0.0.1:{upstream_port}/sse/v1", keys: [sk-upstream]}}
  slow: {{type: openai, base_url: "http://127.0.0.1:{slow_port}/v1", keys: [sk-upstream]}}
models:
  bench: fast/gpt-4o
  bench-stream: faststream/gpt-4o
  bench-slow: slow/gpt-4o
keys:
  - {{name: bench, key: {KEY}}}
""")
    return config


def processes(pid):
    """The pid and its children (nginx workers)."""
    result = [pid]
    try:
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        result += [int(child) for child in children]
    except OSError:
        pass
    return result


def cpu_seconds(pid):
    total = 0
    for each in processes(pid):
        try:
            fields = open(f"/proc/{each}/stat").read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def rss_mib(pid):
    total = 0
    for each in processes(pid):
        try:
            for line in open(f"/proc/{each}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def run_wrk(port, path, body, connections, duration, workdir, key=True):
    script = os.path.join(workdir, "post.lua")
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {KEY}"
        headers["anthropic-version"] = "2023-06-01"
    with open(script, "w") as out:
        out.write('wrk.method = "POST"\n')
        out.write(f"wrk.body = {json.dumps(json.dumps(body))}\n")
        for name, value in headers.items():
            out.write(f'wrk.headers["{name}"] = "{value}"\n')
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script, f"http://127.0.0.1:{port}{path}"]
    if os.path.exists("/usr/bin/taskset") and os.cpu_count() > 1:
        command = ["taskset", "-c", "0"] + command
    output = subprocess.run(command, capture_output=True, text=True).stdout

    def latency(label):
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if not match:
            return None
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    requests = int(re.search(r"(\d+) requests in", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    failed = (int(errors.group(1)) if errors else 0) + (sum(int(x) for x in socket_errors.groups()) if socket_errors else 0)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)), "p50": latency("50"), "p99": latency("99"),
            "requests": requests, "errors": failed}


async def first_byte_times(port, path, body, concurrency, count, marker=b"Tok0", keep_alive=False):
    """Time to the first content token and to the end of a stream, per request: a new connection each, or
    with `keep_alive` one connection per worker reused (as SDK clients do)."""
    payload = json.dumps(body).encode()
    connection = "" if keep_alive else "Connection: close\r\n"
    request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer {KEY}\r\n"
               f"Content-Length: {len(payload)}\r\n{connection}\r\n").encode() + payload
    first, total, errors = [], [], 0

    def complete(seen):
        """Whether `seen` holds a whole response (Content-Length or chunked), for a kept-alive connection."""
        head_end = seen.find(b"\r\n\r\n")
        if head_end < 0:
            return False
        head = seen[:head_end].lower()
        length = re.search(rb"\r\ncontent-length: *(\d+)", head)
        if length:
            return len(seen) - head_end - 4 >= int(length.group(1))
        return seen.endswith(b"\r\n0\r\n\r\n")

    async def one(streams):
        nonlocal errors
        started = time.perf_counter()
        if streams[0] is None:
            streams[0] = await asyncio.open_connection("127.0.0.1", port)
        reader, writer = streams[0]
        writer.write(request)
        await writer.drain()
        seen = b""
        got_first = None
        while True:
            data = await reader.read(65536)
            if not data:
                break
            seen += data
            if got_first is None and marker in seen:
                got_first = time.perf_counter()
            if keep_alive and complete(seen):
                break
        if not keep_alive or not data:
            writer.close()
            streams[0] = None
        if got_first is None or b"[DONE]" not in seen:
            errors += 1
            return
        first.append((got_first - started) * 1000)
        total.append((time.perf_counter() - started) * 1000)

    async def worker(share):
        streams = [None]
        for _ in range(share):
            await one(streams)
        if streams[0] is not None:
            streams[0][1].close()

    await asyncio.gather(*(worker(count // concurrency) for _ in range(concurrency)))
    first.sort()
    total.sort()
    return {"ttft_p50": first[len(first) // 2], "total_p50": total[len(total) // 2], "errors": errors}


async def slow_upstream(port, chunks, interval):
    """An OpenAI-format upstream that streams slowly, for the many-streams case."""
    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
                await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
                for event in sse_body(chunks).split("\n\n")[:-1]:
                    data = (event + "\n\n").encode()
                    writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                    await writer.drain()
                    await asyncio.sleep(interval)
                writer.write(b"0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, AttributeError, asyncio.CancelledError):
            # The gateway keeps idle upstream connections open; they end here when the case is over.
            writer.close()
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    return server


async def many_streams(gateway_port, gateway_pid, streams, model="bench-slow", count_connections_to=None):
    """`streams` concurrent slow streams through the gateway: peak RSS and failures (and, when asked, the most
    connections to the upstream's port seen at once)."""
    peak = 0.0
    peak_connections = 0
    done = asyncio.Event()

    async def sample():
        nonlocal peak, peak_connections
        while not done.is_set():
            peak = max(peak, rss_mib(gateway_pid))
            if count_connections_to:
                peak_connections = max(peak_connections, established_connections(count_connections_to, gateway_pid))
            await asyncio.sleep(0.1)

    sampler = asyncio.create_task(sample())
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": "Stream slowly."}]}
    started = time.perf_counter()
    cpu_before = cpu_seconds(gateway_pid)
    result = await first_byte_times(gateway_port, "/v1/chat/completions", body, streams, streams)
    done.set()
    await sampler
    return {"peak_rss": peak, "errors": result["errors"], "seconds": time.perf_counter() - started,
            "cpu_s": cpu_seconds(gateway_pid) - cpu_before, "connections": peak_connections}


def start_tls_front(workdir, port, upstream_port, slow_port):
    """nginx with TLS and HTTP/2 (ALPN) in front of the fast and the slow upstream: what a vendor's edge looks like.
    The certificate is the test suite's, for localhost, signed by its CA (Tests/Fixtures/tls)."""
    tls = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "tls")
    for name in ("server.pem", "server.key", "ca.pem"):
        shutil.copy(os.path.join(tls, name), os.path.join(workdir, name))
        os.chmod(os.path.join(workdir, name), 0o644)
    return start_nginx(workdir, "tlsfront", f"""
  http2_max_concurrent_streams 128;
  upstream fast {{ server 127.0.0.1:{upstream_port}; keepalive 64; }}
  upstream slow {{ server 127.0.0.1:{slow_port}; keepalive 1024; }}
  server {{
    listen 127.0.0.1:{port} ssl http2 backlog=4096;
    ssl_certificate {workdir}/server.pem;
    ssl_certificate_key {workdir}/server.key;
    location /slow/ {{ proxy_pass http://slow/; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }}
    location / {{ proxy_pass http://fast; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }}
  }}""", 1)


def established_connections(port, pid):
    """TCP connections process `pid` holds established to 127.0.0.1:`port`."""
    out = subprocess.run(["ss", "-tnpH", "state", "established", f"( dport = :{port} )"], capture_output=True, text=True).stdout
    return sum(1 for line in out.splitlines() if f"pid={pid}," in line)


def fmt(value, digits=2):
    return "–" if value is None else f"{value:.{digits}f}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--switchyard", required=True)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="3-second runs, fewer streams")
    parser.add_argument("--out", default="bench/RESULTS.md")
    options = parser.parse_args()
    duration = 3 if options.quick else options.duration
    workdir = tempfile.mkdtemp(prefix="switchyard-bench-")
    os.chmod(workdir, 0o755)  # nginx workers may run as another user
    upstream_port, proxy_port, gateway_port, slow_port = free_port(), free_port(), free_port(), free_port()
    ahc_port, traced_port, otlp_port = free_port(), free_port(), free_port()
    tls_port, h2_port, h1_port = free_port(), free_port(), free_port()
    upstream = start_fast_upstream(workdir, upstream_port)
    tls_front = start_tls_front(workdir, tls_port, upstream_port, slow_port)
    proxy = start_nginx(workdir, "proxy", f"""
  upstream fast {{ server 127.0.0.1:{upstream_port}; keepalive 256; }}
  server {{
    listen 127.0.0.1:{proxy_port} backlog=4096;
    location / {{ proxy_pass http://fast; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }}
  }}""", "auto")
    config = write_gateway_config(workdir, gateway_port, upstream_port, slow_port)
    # The same gateway with AsyncHTTPClient as its upstream transport (the previous one), for the comparison.
    with open(config) as source, open(os.path.join(workdir, "switchyard-ahc.yaml"), "w") as out:
        out.write(source.read().replace(f"listen: 127.0.0.1:{gateway_port}", f"listen: 127.0.0.1:{ahc_port}")
                  .replace("switchyard.db", "switchyard-ahc.db"))
    # And with tracing on (every request sampled), exporting to a sink that accepts and drops spans.
    with open(config) as source, open(os.path.join(workdir, "switchyard-traced.yaml"), "w") as out:
        out.write(source.read().replace(f"listen: 127.0.0.1:{gateway_port}", f"listen: 127.0.0.1:{traced_port}")
                  .replace("switchyard.db", "switchyard-traced.db")
                  + f"telemetry: {{otlp_endpoint: \"http://127.0.0.1:{otlp_port}\", protocol: http/protobuf, sampling: 1.0}}\n")
    # Two more behind the TLS front, as to a vendor: HTTP/2 where ALPN offers it (the default), and HTTP/1.1.
    for name, port in (("switchyard-h2", h2_port), ("switchyard-h1", h1_port)):
        with open(config) as source, open(os.path.join(workdir, f"{name}.yaml"), "w") as out:
            out.write(source.read().replace(f"listen: 127.0.0.1:{gateway_port}", f"listen: 127.0.0.1:{port}")
                      .replace("switchyard.db", f"{name}.db")
                      .replace(f"http://127.0.0.1:{upstream_port}/", f"https://localhost:{tls_port}/")
                      .replace(f"http://127.0.0.1:{slow_port}/", f"https://localhost:{tls_port}/slow/"))
    otlp_sink = subprocess.Popen([sys.executable, "-c", OTLP_SINK, str(otlp_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gateway_log = open(os.path.join(workdir, "switchyard.log"), "w")
    gateway = subprocess.Popen([options.switchyard, "serve", "--config", config], stdout=gateway_log, stderr=subprocess.STDOUT)
    ahc_gateway = subprocess.Popen(
        [options.switchyard, "serve", "--config", os.path.join(workdir, "switchyard-ahc.yaml")], stdout=gateway_log, stderr=subprocess.STDOUT,
        env=dict(os.environ, SWITCHYARD_UPSTREAM_TRANSPORT="asynchttpclient"))
    traced_gateway = subprocess.Popen(
        [options.switchyard, "serve", "--config", os.path.join(workdir, "switchyard-traced.yaml")], stdout=gateway_log, stderr=subprocess.STDOUT)
    tls_gateways = {
        http2: subprocess.Popen(
            [options.switchyard, "serve", "--config", os.path.join(workdir, f"switchyard-{http2}.yaml")], stdout=gateway_log, stderr=subprocess.STDOUT,
            env=dict(os.environ, SWITCHYARD_CA_FILE=os.path.join(workdir, "ca.pem"), SWITCHYARD_UPSTREAM_HTTP2="on" if http2 == "h2" else "off"))
        for http2 in ("h2", "h1")
    }
    tls_ports = {"h2": h2_port, "h1": h1_port}
    try:
        for port in (upstream_port, proxy_port, gateway_port, ahc_port, traced_port, otlp_port, tls_port, h2_port, h1_port):
            wait_for_port(port)
        time.sleep(1)
        idle_rss = {"nginx": rss_mib(proxy.pid), "switchyard": rss_mib(gateway.pid)}
        targets = [
            ("direct to the upstream", upstream_port, "/v1/chat/completions", dict(OPENAI_REQUEST, model="gpt-4o"), upstream.pid),
            ("nginx reverse proxy", proxy_port, "/v1/chat/completions", dict(OPENAI_REQUEST, model="gpt-4o"), proxy.pid),
            ("Switchyard, OpenAI dialect", gateway_port, "/v1/chat/completions", OPENAI_REQUEST, gateway.pid),
            ("Switchyard, Anthropic dialect", gateway_port, "/v1/messages", ANTHROPIC_REQUEST, gateway.pid),
            (AHC_ROW, ahc_port, "/v1/chat/completions", OPENAI_REQUEST, ahc_gateway.pid),
            (TRACED_ROW, traced_port, "/v1/chat/completions", OPENAI_REQUEST, traced_gateway.pid),
        ]
        # Warm-up: connection pools, JIT-free but caches and allocators.
        for _, port, path, body, _ in targets:
            run_wrk(port, path, body, 16, 1, workdir)
        results = {}
        for connections in (1, 16, 64):
            for name, port, path, body, pid in targets:
                before = cpu_seconds(pid)
                result = run_wrk(port, path, body, connections, duration, workdir)
                result["cpu_ms"] = (cpu_seconds(pid) - before) * 1000 / max(result["requests"], 1)
                results[(name, connections)] = result
                print(f"{name:32} c={connections:<3} {result['rps']:>9.0f} req/s  p50 {fmt(result['p50'])} ms  p99 {fmt(result['p99'])} ms  "
                      f"cpu {result['cpu_ms']:.3f} ms/req  errors {result['errors']}", flush=True)
        loaded_rss = {"nginx": rss_mib(proxy.pid), "switchyard": rss_mib(gateway.pid)}
        stream_count = 400 if options.quick else 2000
        stream_body = {"model": "bench-stream", "stream": True, "messages": [{"role": "user", "content": "Stream."}]}
        streaming = {}
        for keep_alive in (False, True):
            suffix = " kept" if keep_alive else ""
            streaming["direct" + suffix] = asyncio.run(first_byte_times(
                upstream_port, "/sse/v1/chat/completions", dict(stream_body, model="gpt-4o"), 8, stream_count, keep_alive=keep_alive))
            streaming["nginx" + suffix] = asyncio.run(first_byte_times(
                proxy_port, "/sse/v1/chat/completions", dict(stream_body, model="gpt-4o"), 8, stream_count, keep_alive=keep_alive))
            streaming["switchyard" + suffix] = asyncio.run(first_byte_times(
                gateway_port, "/v1/chat/completions", stream_body, 8, stream_count, keep_alive=keep_alive))
        print("streams:", json.dumps(streaming), flush=True)

        # Through the TLS front: requests at 64 connections, then 1,000 slow streams, HTTP/2 and HTTP/1.1 interleaved.
        tls_results = {}
        for http2 in ("h2", "h1", "h2", "h1"):
            pid = tls_gateways[http2].pid
            run_wrk(tls_ports[http2], "/v1/chat/completions", OPENAI_REQUEST, 64, 1, workdir)
            before = cpu_seconds(pid)
            result = run_wrk(tls_ports[http2], "/v1/chat/completions", OPENAI_REQUEST, 64, duration, workdir)
            result["cpu_ms"] = (cpu_seconds(pid) - before) * 1000 / max(result["requests"], 1)
            result["connections"] = established_connections(tls_port, pid)
            tls_results.setdefault(http2, []).append(result)
            print(f"TLS upstream {http2}: {result['rps']:.0f} req/s, cpu {result['cpu_ms']:.3f} ms/req, {result['connections']} connections", flush=True)

        async def slow_case():
            server = await slow_upstream(slow_port, 20, 0.1)
            try:
                plain = await many_streams(gateway_port, gateway.pid, 1000)
                over_tls = {}
                for http2 in ("h2", "h1"):
                    over_tls[http2] = await many_streams(tls_ports[http2], tls_gateways[http2].pid, 1000, count_connections_to=tls_port)
                return plain, over_tls
            finally:
                server.close()
        slow, slow_tls = asyncio.run(slow_case())
        print("1000 slow streams:", json.dumps(slow), json.dumps(slow_tls), flush=True)
    finally:
        processes = (gateway, ahc_gateway, traced_gateway, *tls_gateways.values(), otlp_sink, proxy, tls_front, upstream)
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    write_results(options.out, results, streaming, slow, idle_rss, loaded_rss, duration, tls_results, slow_tls)


def write_results(path, results, streaming, slow, idle_rss, loaded_rss, duration, tls_results, slow_tls):
    direct = {c: results[("direct to the upstream", c)] for c in (1, 16, 64)}
    version = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0] if True else ""
    nginx_version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.processor())
    lines = [
        "# Benchmark results",
        "",
        f"Machine: {os.cpu_count()} cores ({cpu}), {platform.platform()}. {version}; {nginx_version}; {wrk_version}. Commit {commit}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Runs of {duration} s per cell, wrk pinned to core 0, interleaved.",
        "",
        "Added latency is the cell's latency minus the direct one at the same connection count. CPU is the server's "
        "(user + system) per request; for nginx, master and workers.",
        "",
        "| | added p50 @1 | added p99 @1 | added p50 @16 | added p99 @16 | added p50 @64 | added p99 @64 | max req/s | CPU per request @64 | RSS idle / after load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in ("direct to the upstream", "nginx reverse proxy", "Switchyard, OpenAI dialect", "Switchyard, Anthropic dialect", AHC_ROW, TRACED_ROW):
        cells = []
        for c in (1, 16, 64):
            result = results[(name, c)]
            for key in ("p50", "p99"):
                if name.startswith("direct"):
                    cells.append(f"{fmt(result[key])} ms")
                else:
                    cells.append(f"{fmt(result[key] - direct[c][key])} ms")
        best = max(results[(name, c)]["rps"] for c in (1, 16, 64))
        cpu_ms = results[(name, 64)]["cpu_ms"]
        rss = ""
        if name.startswith("nginx"):
            rss = f"{idle_rss['nginx']:.0f} / {loaded_rss['nginx']:.0f} MiB"
        elif name.startswith("Switchyard") and name not in (AHC_ROW, TRACED_ROW):
            rss = f"{idle_rss['switchyard']:.0f} / {loaded_rss['switchyard']:.0f} MiB"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {best:,.0f} | {cpu_ms:.3f} ms | {rss} |")
    lines += [
        "",
        "Direct row: absolute latencies. Errors (non-2xx or socket) across all cells: "
        + str(sum(result["errors"] for result in results.values())) + ".",
        "",
        "## Streaming (50-chunk SSE answer sent in one piece by the upstream, concurrency 8)",
        "",
        "| | connection | time to first content token p50 | added | whole stream p50 | added | errors |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for suffix, connection in (("", "new per stream"), (" kept", "kept alive (as SDK clients)")):
        for name, key in (("direct", "direct"), ("nginx reverse proxy", "nginx"), ("Switchyard", "switchyard")):
            result, base = streaming[key + suffix], streaming["direct" + suffix]
            added_first = result["ttft_p50"] - base["ttft_p50"]
            added_total = result["total_p50"] - base["total_p50"]
            lines.append(f"| {name} | {connection} | {result['ttft_p50']:.2f} ms | {added_first:.2f} ms | {result['total_p50']:.2f} ms | "
                         f"{added_total:.2f} ms | {result['errors']} |")
    lines += [
        "",
        "## 1,000 concurrent slow streams through Switchyard",
        "",
        f"20 chunks 100 ms apart each: peak RSS {slow['peak_rss']:.0f} MiB, {slow['errors']} failed, all done in {slow['seconds']:.1f} s.",
        "",
        "## A TLS upstream: HTTP/2 or HTTP/1.1",
        "",
        "nginx with TLS and HTTP/2 (128 streams per connection) in front of the same upstreams, as a vendor's edge; two more "
        "gateways, one speaking HTTP/2 to it (ALPN, the default), one HTTP/1.1 (`SWITCHYARD_UPSTREAM_HTTP2=off`). Requests: "
        "wrk at 64 connections, two interleaved runs each. Streams: the 1,000 slow streams above.",
        "",
        "| upstream protocol | req/s @64 | CPU per request @64 | upstream connections | 1,000 streams: peak RSS | upstream connections | "
        "CPU | done in | failed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for http2, label in (("h2", "HTTP/2"), ("h1", "HTTP/1.1")):
        runs, streams = tls_results[http2], slow_tls[http2]
        rates = " / ".join(f"{r['rps']:,.0f}" for r in runs)
        cpus = " / ".join(f"{r['cpu_ms']:.3f}" for r in runs)
        connections = " / ".join(str(r["connections"]) for r in runs)
        lines.append(
            f"| {label} | {rates} | {cpus} ms | {connections} | {streams['peak_rss']:.0f} MiB | {streams['connections']} | "
            f"{streams['cpu_s']:.2f} s | {streams['seconds']:.1f} s | {streams['errors']} |")
    lines += [""]
    # The analysis below the marker is written by people; a new run keeps it.
    kept = ""
    if os.path.exists(path):
        text = open(path).read()
        if ANALYSIS_MARKER in text:
            kept = text[text.index(ANALYSIS_MARKER):]
    with open(path, "w") as out:
        out.write("\n".join(lines) + ("\n" + kept if kept else ""))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
