"""A plain Python relay for reference: uvicorn + httpx passing a request on with no logic.

    python benchmarks/_bare_relay.py --port P --upstream http://127.0.0.1:N [--httpcore | --ours]

A plain ASGI app under uvicorn (uvloop, httptools, one worker) that reads the body, POSTs it
unchanged to ``<upstream>/v1/chat/completions`` through httpx's client API over the proxy's
pooled transport, and returns the upstream's bytes: what the usual Python stack costs with no
failover logic at all. ``openclaw-failover serve`` ran on that stack until 2026-12-06; it now
runs on its own HTTP/1.1 server and writes its upstream requests straight onto the pooled
transport, so this relay is a yardstick, no longer the floor under it. ``--httpcore`` uses
httpx's default transport instead of the pooled one.

``--ours`` is the floor under ``serve``: the same relay on the package's own HTTP/1.1 server,
writing the request's bytes straight onto the pooled transport (``PooledHTTP1Transport.open``,
as the OpenAI adapter does) and returning the reply's bytes. No failover logic, no JSON
parsing: what the server, the pooled client and the kernel cost by themselves.
"""

from __future__ import annotations

import argparse
from typing import Any

import httpx
import uvicorn

from openclaw_failover.providers._http1 import PooledHTTP1Transport
from openclaw_failover.proxy import open_http_client
from openclaw_failover.proxy._server import run as run_ours


def relay_app(upstream: str, client: httpx.AsyncClient) -> Any:
    url = f"{upstream}/v1/chat/completions"

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        reply = await client.post(url, content=body, headers={"content-type": "application/json"})
        headers = [(b"content-type", b"application/json")]
        headers.append((b"content-length", str(len(reply.content)).encode()))
        await send({"type": "http.response.start", "status": reply.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": reply.content})

    return app


def floor_app(upstream: str) -> Any:
    """The relay on our own server and pooled transport, with no httpx objects."""
    url = httpx.URL(upstream)
    origin = (url.raw_scheme, url.raw_host, url.port or 80)
    head = (
        b"POST /v1/chat/completions HTTP/1.1\r\nhost: %s\r\ncontent-type: application/json\r\n"
        b"accept-encoding: identity\r\ncontent-length: " % url.netloc
    )
    timeouts = {"connect": 10.0, "read": None, "write": 30.0}
    pool = PooledHTTP1Transport()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await pool.aclose()
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        reply = await pool.open(origin, b"%s%d\r\n\r\n%s" % (head, len(body), body), timeouts)
        content = await reply.aread()
        headers = [(b"content-type", b"application/json")]
        headers.append((b"content-length", b"%d" % len(content)))
        await send({"type": "http.response.start", "status": reply.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--httpcore", action="store_true")
    parser.add_argument("--ours", action="store_true")
    args = parser.parse_args()
    if args.ours:
        run_ours(floor_app(args.upstream), host="127.0.0.1", port=args.port)
        return
    if args.httpcore:
        client = httpx.AsyncClient(trust_env=False, timeout=httpx.Timeout(None, connect=10.0))
    else:
        client = open_http_client()
    config = uvicorn.Config(
        relay_app(args.upstream, client),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        ws="none",
        lifespan="off",
        access_log=False,
        log_level="warning",
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
