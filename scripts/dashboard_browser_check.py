#!/usr/bin/env python3
"""Drives the dashboard in real headless Chromium against `switchyard demo`, as a person would.

Logs in with the admin key through the login form, opens every page, creates a key and revokes it through the
forms, waits for the live feed to show an event (its JavaScript and the page's Content-Security-Policy at
work), takes a screenshot of each page, and fails on any console error, uncaught exception or CSP violation.

Usage: dashboard_browser_check.py SWITCHYARD_BINARY OUTPUT_DIR [--readme-screenshot docs/dashboard.png]
Needs chromium (Debian package) and websocket-client (PyPI); talks to Chromium over the DevTools protocol.
"""
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

ADMIN_KEY = "sk-switchyard-demo-admin"
VIRTUAL_KEY = "sk-switchyard-demo"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise SystemExit(f"FAIL: timed out waiting for {what}")


def http(url, body=None, headers=None):
    request = urllib.request.Request(url, data=body, headers=headers or {}, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


class Browser:
    """One Chromium page over the DevTools protocol."""

    def __init__(self, chromium):
        self.profile = tempfile.mkdtemp(prefix="switchyard-chromium-")
        self.process = subprocess.Popen(
            [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
             "--remote-debugging-port=0", f"--user-data-dir={self.profile}", "--window-size=1280,900", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        endpoint = None
        deadline = time.time() + 60
        while time.time() < deadline and endpoint is None:
            line = self.process.stderr.readline()
            match = re.search(r"DevTools listening on (ws://\S+)", line)
            if match:
                endpoint = match.group(1)
        if endpoint is None:
            raise SystemExit("FAIL: Chromium did not start")
        port = re.search(r":(\d+)/", endpoint).group(1)
        pages = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list").read())
        page = next(page for page in pages if page["type"] == "page")
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        self.next_id = 0
        self.problems = []
        self.events = []
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def call(self, method, **params):
        self.next_id += 1
        call_id = self.next_id
        self.socket.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise SystemExit(f"FAIL: {method}: {message['error']}")
                return message.get("result", {})
            self.note(message)

    def note(self, message):
        method = message.get("method")
        params = message.get("params", {})
        self.events.append(method)
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.problems.append("console: " + " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            self.problems.append("exception: " + json.dumps(params.get("exceptionDetails", {}))[:300])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.problems.append(f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}")

    def wait_for_load(self):
        while True:
            message = json.loads(self.socket.recv())
            self.note(message)
            if message.get("method") == "Page.loadEventFired":
                return

    def navigate(self, url):
        self.call("Page.navigate", url=url)
        self.wait_for_load()

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise SystemExit(f"FAIL: script error in {expression[:80]}: {result['exceptionDetails']}")
        return result.get("result", {}).get("value")

    def submit(self, expression):
        """Runs a script that submits a form, and waits for the page it leads to."""
        self.evaluate(expression)
        self.wait_for_load()

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        with open(path, "wb") as out:
            out.write(base64.b64decode(data))

    def close(self):
        try:
            self.socket.close()
        finally:
            self.process.terminate()
            self.process.wait(timeout=30)
            shutil.rmtree(self.profile, ignore_errors=True)


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    binary, output = sys.argv[1], sys.argv[2]
    readme_shot = sys.argv[sys.argv.index("--readme-screenshot") + 1] if "--readme-screenshot" in sys.argv else None
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("FAIL: chromium is not installed (apt-get install chromium)")
    os.makedirs(output, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    demo = subprocess.Popen([binary, "demo", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    browser = None
    checks = 0
    try:
        wait_for(lambda: http(base + "/health/ready")[0] == 200 if _port_open(port) else False, 60, "the demo")
        # Traffic, a failover among it, so every page has something to show.
        for _ in range(6):
            status, _ = http(base + "/v1/chat/completions", json.dumps({"model": "smart", "messages": [{"role": "user", "content": "hi"}]}).encode(),
                             {"authorization": f"Bearer {VIRTUAL_KEY}", "content-type": "application/json"})
            assert status == 200, status
        browser = Browser(chromium)

        browser.navigate(base + "/dashboard")
        assert browser.evaluate("location.pathname") == "/dashboard/login", "an anonymous visit lands on the login page"
        assert ADMIN_KEY not in browser.evaluate("document.documentElement.outerHTML")
        browser.screenshot(os.path.join(output, "login.png"))
        browser.submit(f"document.querySelector('input[name=admin_key]').value = {json.dumps(ADMIN_KEY)}; document.querySelector('form').submit()")
        assert browser.evaluate("location.pathname") == "/dashboard", "logged in"
        assert browser.evaluate("document.cookie") == "", "the session cookie is HttpOnly: scripts cannot read it"
        checks += 3

        pages = {"overview": "/dashboard", "providers": "/dashboard/providers", "keys": "/dashboard/keys", "requests": "/dashboard/requests"}
        for name, path in pages.items():
            browser.navigate(base + path)
            assert browser.evaluate("location.pathname") == path, name
            assert browser.evaluate("document.querySelector('.problem') === null"), f"{name} shows a problem"
            assert ADMIN_KEY not in browser.evaluate("document.documentElement.outerHTML"), name
            browser.screenshot(os.path.join(output, f"{name}.png"))
            checks += 1
        requests_total = browser.evaluate("document.querySelectorAll('tbody tr a').length")
        assert requests_total >= 6, requests_total
        browser.submit("document.querySelector('tbody tr a').click()")
        assert browser.evaluate("document.querySelectorAll('svg rect').length") >= 1, "the attempts timeline is drawn"
        browser.screenshot(os.path.join(output, "request.png"))
        checks += 2

        # Create a key through the form: its secret is shown once, and it works; then revoke it.
        browser.navigate(base + "/dashboard/keys")
        browser.submit("document.querySelector('input[name=name]').value = 'browser-check'; document.querySelector('form[action=\"/dashboard/keys\"]').submit()")
        secret = browser.evaluate("document.querySelector('.secret code') && document.querySelector('.secret code').textContent")
        assert secret and secret.startswith("sk-"), secret
        status, _ = http(base + "/v1/chat/completions", json.dumps({"model": "smart", "messages": [{"role": "user", "content": "hi"}]}).encode(),
                         {"authorization": f"Bearer {secret}", "content-type": "application/json"})
        assert status == 200, f"the new key answers: {status}"
        browser.screenshot(os.path.join(output, "key-created.png"))
        browser.submit("document.querySelector('form[action=\"/dashboard/keys/browser-check/revoke\"]').submit()")
        assert "revoked" in browser.evaluate("document.querySelector('.notice').textContent")
        status, _ = http(base + "/v1/chat/completions", json.dumps({"model": "smart", "messages": [{"role": "user", "content": "hi"}]}).encode(),
                         {"authorization": f"Bearer {secret}", "content-type": "application/json"})
        assert status == 401, f"the revoked key is refused: {status}"
        checks += 3

        # The live feed: its script runs under the page's CSP and lists events as they happen.
        browser.navigate(base + "/dashboard/events")
        http(base + "/v1/chat/completions", json.dumps({"model": "smart", "messages": [{"role": "user", "content": "hi"}]}).encode(),
             {"authorization": f"Bearer {VIRTUAL_KEY}", "content-type": "application/json"})
        wait_for(lambda: browser.evaluate("document.querySelectorAll('#events li').length") > 0, 30, "the live feed to list an event")
        browser.screenshot(os.path.join(output, "events.png"))
        checks += 1

        browser.navigate(base + "/dashboard")
        if readme_shot:
            browser.screenshot(readme_shot)
        # Logging out ends the session.
        browser.submit("document.querySelector('form.logout').submit()")
        assert browser.evaluate("location.pathname") == "/dashboard/login"
        browser.navigate(base + "/dashboard/keys")
        assert browser.evaluate("location.pathname") == "/dashboard/login", "after logout the pages need a login again"
        checks += 2

        if browser.problems:
            raise SystemExit("FAIL: browser console errors:\n  " + "\n  ".join(browser.problems))
        print(f"dashboard browser check: {checks} checks ok, no console errors; screenshots in {output}")
    finally:
        if browser:
            browser.close()
        demo.terminate()
        demo.wait(timeout=30)


def _port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
