"""A loopback provider server for enrichment tests and benchmarks: JSON API, homepages, an
OpenAI-compatible chat endpoint, and every misbehaviour a real provider shows (429 with
Retry-After, 5xx, timeouts, slow-drip bodies, huge bodies, malformed JSON, redirects to
private addresses). It listens on 127.0.0.1 on a free port, in a thread of its own, and
stops with the fixture (or `stop()`); it counts calls, and distinct Idempotency-Keys."""

from __future__ import annotations

import asyncio
import collections
import json
import threading
import time

from aiohttp import web

HOMEPAGE = """<!doctype html><html><head><title> Acme &amp; Co — Widgets </title>
<meta name="description" content="Acme makes widgets for teams.">
<meta property="og:title" content="Acme"></head><body>
<a href="https://www.linkedin.com/company/acme/">LinkedIn</a>
<a href="https://twitter.com/acme">Twitter</a><a href="https://x.com/">home</a>
<a href="/about">About</a></body></html>"""


def company_for(domain: str) -> dict:
    """The loopback API's answer for a domain: deterministic, so tests can check values."""
    n = sum(map(ord, domain))
    return {"company": {"employees": 10 + n % 5000, "industry": ["software", "biotech", "retail"][n % 3],
                        "founded": f"{1990 + n % 30}-01-01", "public": n % 2 == 0}}


class LoopbackServer:
    def __init__(self, *, latency: float = 0.0, rate_limit: float | None = None):
        self.latency, self.rate_limit = latency, rate_limit
        self.calls: collections.Counter[str] = collections.Counter()
        self.ok_keys: set[str] = set()
        self.ok_calls = 0
        self.lock = threading.Lock()
        self.failures_left: dict[str, int] = {}
        self.chat_answers: dict[str, str] = {}
        self._window: collections.deque[float] = collections.deque()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="loopback-provider", daemon=True)
        self.port = 0

    # -- lifecycle --
    def start(self) -> LoopbackServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the loopback server did not start")
        return self

    def stop(self) -> None:
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0, backlog=1024)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()

    def fail_next(self, path: str, times: int) -> None:
        self.failures_left[path] = times

    # -- handling --
    def _rate_limited(self) -> bool:
        if not self.rate_limit:
            return False
        now = time.monotonic()
        with self.lock:
            while self._window and self._window[0] <= now - 1.0:
                self._window.popleft()
            # a little slack over R: the client's own bucket keeps it under R on average
            if len(self._window) >= self.rate_limit * 1.2 + 2:
                return True
            self._window.append(now)
        return False

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        with self.lock:
            self.calls[path] += 1
        if self._rate_limited():
            return web.json_response({"error": "rate limited"}, status=429, headers={"Retry-After": "1"})
        left = self.failures_left.get(path, 0)
        if left:
            self.failures_left[path] = left - 1
            if path.startswith("/limited"):
                return web.json_response({"error": "slow down"}, status=429, headers={"Retry-After": "1"})
            return web.json_response({"error": "oops"}, status=503)
        if self.latency:
            await asyncio.sleep(self.latency)
        if path in ("/company", "/limited", "/flaky"):
            domain = request.query.get("domain", "")
            if domain.startswith("unknown"):
                return web.json_response({"error": "not found"}, status=404)
            self._count_ok(request)
            return web.json_response(company_for(domain))
        if path == "/echo":
            body = await request.read()
            self._count_ok(request)
            return web.json_response({"headers": dict(request.headers), "body": body.decode(), "query": dict(request.query)})
        if path == "/malformed":
            return web.Response(text='{"company": {"employees": 12', content_type="application/json")
        if path == "/slow":
            await asyncio.sleep(30)
            return web.json_response({})
        if path == "/drip":
            response = web.StreamResponse(headers={"content-type": "application/json"})
            await response.prepare(request)
            for _ in range(300):
                await response.write(b" ")
                await asyncio.sleep(0.1)
            return response
        if path == "/huge":
            return web.Response(body=b'{"pad": "' + b"x" * 5_000_000 + b'"}', content_type="application/json")
        if path == "/huge-stream":
            response = web.StreamResponse(headers={"content-type": "application/json"})
            await response.prepare(request)
            for _ in range(500):
                await response.write(b"x" * 10_000)
            return response
        if path == "/home":
            return web.Response(text=HOMEPAGE, content_type="text/html")
        if path == "/big-home":
            return web.Response(text=HOMEPAGE + "<!--" + "y" * 3_000_000 + "-->", content_type="text/html")
        if path.startswith("/redirect/"):
            target = {"home": "/home", "private": "http://10.0.0.1/", "metadata": "http://169.254.169.254/latest/meta-data/",
                      "mapped": "http://[::ffff:127.0.0.1]:%d/home" % self.port, "loop": "/redirect/loop",
                      "localhost": "http://localhost:%d/home" % self.port}[path.split("/")[2]]
            return web.Response(status=302, headers={"Location": target})
        if path == "/v1/chat/completions":
            return await self._chat(request)
        return web.json_response({"error": "no such path"}, status=404)

    def _count_ok(self, request: web.Request) -> None:
        with self.lock:
            self.ok_calls += 1
            key = request.headers.get("Idempotency-Key")
            if key:
                self.ok_keys.add(key)

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        prompt = body["messages"][-1]["content"]
        model = body.get("model")
        self._count_ok(request)
        if request.headers.get("Authorization") != "Bearer sk-test-123":
            return web.json_response({"error": {"message": "bad key"}}, status=401)
        if body.get("response_format") != {"type": "json_object"}:
            return web.json_response({"error": "json mode expected"}, status=400)
        if model == "broken":
            content = "Sure! Here is the JSON you asked for: {summary: nope"
        elif model == "fenced":
            content = '```json\n{"summary": "fenced answer", "is_b2b": true}\n```'
        else:
            content = json.dumps({"summary": f"About: {prompt[:60]}", "is_b2b": "b2b" in prompt.lower(),
                                  "employees": "1,200"})
        return web.json_response({"id": "x", "object": "chat.completion", "model": model,
                                  "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                               "finish_reason": "stop"}]})


if __name__ == "__main__":  # python -m tests.core.enrichment.loopback LATENCY RATE: serve until killed
    import sys

    server = LoopbackServer(latency=float(sys.argv[1]), rate_limit=float(sys.argv[2]) or None).start()
    print(server.port, flush=True)
    threading.Event().wait()
