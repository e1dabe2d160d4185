#!/usr/bin/env python3
"""Writes Linker/symbol-order.txt: the functions a release `switchyard serve` executes, by phase, hottest first.

The linker (Package.swift) lays these out side by side at the start of the binary's text. The kernel maps
a binary's code 64 KiB around each page touched, so with the executed functions scattered across 20 MB of
text nearly all of it ends up resident; packed together they take a few MiB. The order is a layout hint
only: a symbol that no longer exists is skipped, a new one is laid out after the listed ones.

Regenerate after larger changes to the request path (needs valgrind, nginx and a release build made with
README's "Deploying" command):
    python3 Linker/generate-symbol-order.py .build/release/switchyard
then relink (remove .build/release/switchyard and build again: the build does not track this file).
"""
import asyncio, http.client, json, os, re, signal, socket, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
import bench  # noqa: E402

OUTPUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "symbol-order.txt")


class Client:
    """A kept-alive connection, as SDK clients keep them."""
    openai = {"authorization": f"Bearer {bench.KEY}", "content-type": "application/json"}
    anthropic = {"x-api-key": bench.KEY, "anthropic-version": "2023-06-01", "content-type": "application/json"}
    admin = {"authorization": "Bearer bench-admin-key-0123456789"}
    messages = [{"role": "user", "content": "hello"}]

    def __init__(self, port):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def call(self, method, path, body=None, headers=None):
        self.connection.request(method, path, json.dumps(body) if body is not None else None, headers or {})
        response = self.connection.getresponse()
        response.read()
        return response.status


def serve_requests(port):
    """What every request runs: both dialects, complete and streamed, then requests and slow streams many at
    once (the paths of a loaded gateway: queued writes, timers, many connections)."""
    client = Client(port)
    for _ in range(20):
        client.call("POST", "/v1/chat/completions", {"model": "bench", "messages": Client.messages}, Client.openai)
        client.call("POST", "/v1/chat/completions", {"model": "bench-stream", "stream": True, "stream_options": {"include_usage": True},
                                                     "messages": Client.messages}, Client.openai)
        client.call("POST", "/v1/messages", {"model": "bench", "max_tokens": 50, "messages": Client.messages}, Client.anthropic)
        client.call("POST", "/v1/messages", {"model": "bench-stream", "max_tokens": 50, "stream": True, "messages": Client.messages},
                    Client.anthropic)

    def at_once(model):
        def one():
            Client(port).call("POST", "/v1/chat/completions", {"model": model, "stream": model != "bench",
                                                               "messages": Client.messages}, Client.openai)
        threads = [threading.Thread(target=one) for _ in range(32)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    at_once("bench")
    at_once("bench-slow")


def serve_rare_requests(port):
    """What runs now and then: client mistakes, the model list, metrics, health and the admin API."""
    client = Client(port)
    for body in [{"model": "no-such-model", "messages": Client.messages}, {"messages": Client.messages}, "not an object"]:
        client.call("POST", "/v1/chat/completions", body, Client.openai)
    client.call("POST", "/v1/chat/completions", {"model": "bench", "messages": Client.messages},
                {"authorization": "Bearer sk-wrong", "content-type": "application/json"})
    client.call("GET", "/v1/models", headers=Client.openai)
    client.call("GET", "/metrics")
    client.call("GET", "/health/ready")
    client.call("GET", "/admin/requests?limit=10", headers=Client.admin)


def executed_functions(callgrind_file):
    """Function name to the instructions it executed itself."""
    names, cost, current, in_call = {}, {}, None, False
    with open(callgrind_file, errors="replace") as lines:
        for line in lines:
            match = re.match(r"^(fn|cfn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
            if match:
                if match.group(3):
                    names[match.group(2)] = match.group(3)
                if match.group(1) == "fn":
                    current, in_call = names[match.group(2)], False
                    cost.setdefault(current, 0)
                continue
            if line.startswith("calls="):
                in_call = True
            elif current and (line[:1].isdigit() or line[:1] in ("+", "-", "*")):
                if in_call:
                    in_call = False
                else:
                    fields = line.split()
                    if len(fields) >= 2:
                        cost[current] += int(fields[1])
    return cost


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".build/release/switchyard")
    # The work directory holds a copy of the binary (~120 MB) and the profiles: removed whatever happens.
    with tempfile.TemporaryDirectory(prefix="switchyard-order-") as workdir:
        ordered = profile_functions(binary, workdir)
    with open(OUTPUT, "w") as out:
        out.write("\n".join(ordered) + "\n")
    print(f"{len(ordered)} functions to {OUTPUT}")


def profile_functions(binary, workdir):
    """The functions `binary` executes, start-up first, then per request, then rare paths."""
    # valgrind cannot read the toolchain's DWARF 5; the symbol table is all it needs.
    plain = os.path.join(workdir, "switchyard")
    subprocess.run(["strip", "--strip-debug", "-o", plain, binary], check=True)
    upstream_port, slow_port, gateway_port = bench.free_port(), bench.free_port(), bench.free_port()
    upstream = bench.start_fast_upstream(workdir, upstream_port)
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    asyncio.run_coroutine_threadsafe(bench.slow_upstream(slow_port, 5, 0.05), loop).result()
    config = bench.write_gateway_config(workdir, gateway_port, upstream_port, slow_port)
    profile = os.path.join(workdir, "callgrind.out")
    gateway = subprocess.Popen(["valgrind", "--tool=callgrind", "--demangle=no", f"--callgrind-out-file={profile}",
                                plain, "serve", "--config", config],
                               stdout=subprocess.DEVNULL, stderr=open(os.path.join(workdir, "valgrind.log"), "w"))
    # Three profiles, laid out in this order: start-up (what an idle gateway has run), what every request
    # runs, and what runs now and then (client mistakes, the admin API, shutdown). Each one's functions go
    # after the earlier ones', hottest first, so that an idle or busy gateway touches the fewest pages.
    phases = []
    try:
        bench.wait_for_port(upstream_port)
        bench.wait_for_port(gateway_port, timeout=600)
        for workload in (None, serve_requests):
            if workload:
                workload(gateway_port)
            subprocess.run(["callgrind_control", "--dump", str(gateway.pid)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            phases.append(f"{profile}.{len(phases) + 1}")
        serve_rare_requests(gateway_port)
    finally:
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=600)
        upstream.terminate()
        upstream.wait()
    phases.append(profile)
    defined = set()
    listing = subprocess.run(["nm", "--defined-only", plain], capture_output=True, text=True, check=True).stdout
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1] in "tTwW":
            defined.add(fields[2])
    # A name defined in several objects (a local value witness or specialisation) moves every copy, and
    # with a copy in a runtime library's unsplit .text, that library's whole code: measured, that still
    # keeps less resident than leaving the executed copies scattered.
    ordered, listed = [], set()
    for phase in phases:
        cost = executed_functions(phase)
        fresh = sorted((name for name in cost if name in defined and name not in listed), key=lambda name: (-cost[name], name))
        ordered += fresh
        listed.update(fresh)
    return ordered


if __name__ == "__main__":
    main()
