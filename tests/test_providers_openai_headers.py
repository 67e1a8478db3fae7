"""The OpenAI adapter's upstream request: the headers ``client.build_request`` would send for
the call's own headers, from headers merged with the client's once per provider; a key or the
adapter's ``accept`` replaces a provider's header spelled in another case."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from types import MappingProxyType

import httpx
import pytest

from openclaw_failover._model import Candidate, Profile, Provider, Secret
from openclaw_failover._ports import TransportFailure, UpstreamCall
from openclaw_failover.providers._openai_request import (
    chat_url,
    headers_for,
    request_body,
    timeout_for,
)
from openclaw_failover.providers.openai import OpenAICompatTransport
from openclaw_failover.proxy import open_http_client

KEY = Profile("p:0", "p", Secret("sk-test-123"), "config")
PLACEHOLDER = Profile("p:1", "p", Secret("ollama-local"), "dummy")
UNRESOLVED = Profile("p:2", "p", None, "env", "MISSING_KEY")


def _provider(headers: dict[str, str]) -> Provider:
    return Provider(
        "p", "openai-completions", "http://127.0.0.1:9/v1", headers=MappingProxyType(headers)
    )


CASES = [
    ({}, KEY, {}),
    ({"X-Title": "bench", "User-Agent": "custom/1"}, KEY, {}),
    ({"Authorization": "Bearer from-config"}, KEY, {}),
    ({"Authorization": "Bearer from-config"}, PLACEHOLDER, {}),
    ({"authorization": "Bearer from-config", "Accept": "x/y"}, UNRESOLVED, {}),
    ({}, None, {}),
    (
        {"HTTP-Referer": "https://example.invalid"},
        KEY,
        {"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"},
    ),
]


def _pairs(headers: httpx.Headers) -> list[tuple[bytes, bytes]]:
    return sorted((name.lower(), value) for name, value in headers.raw)


@pytest.mark.parametrize(("extra_headers", "profile", "forwarded"), CASES)
async def test_request_headers_are_what_build_request_sends(
    extra_headers: dict[str, str], profile: Profile | None, forwarded: dict[str, str]
) -> None:
    """Same names and values (case aside) as the client's own merge, on the first request of
    a provider and on a later one (the merged headers kept from the first)."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=b"")

    provider = _provider(extra_headers)
    call = UpstreamCall(provider, Candidate("p", "m"), profile, {"messages": []}, forwarded)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        transport = OpenAICompatTransport(client)
        for _ in range(2):
            async with transport.send(call):
                pass
        reference = client.build_request(
            "POST",
            chat_url(provider.base_url),
            content=request_body(call),
            headers=headers_for(provider, profile, forwarded),
            timeout=timeout_for(provider),
        )
    assert len(seen) == 2
    for request in seen:
        assert _pairs(request.headers) == _pairs(reference.headers)
        assert request.url == reference.url
        assert request.content == reference.content
        assert request.extensions["timeout"] == reference.extensions["timeout"]
    pairs = _pairs(seen[1].headers)
    assert [v for k, v in pairs if k == b"accept"] == [b"text/event-stream"]
    authorization = [v for k, v in pairs if k == b"authorization"]
    if profile is KEY:
        assert authorization == [b"Bearer sk-test-123"]
    else:  # no key to send: the provider's own header, if it has one
        own = [v.encode() for k, v in extra_headers.items() if k.lower() == "authorization"]
        assert authorization == own


async def test_a_replaced_provider_gets_its_own_headers() -> None:
    """A provider object replaced by a reload (a new id, or an old id reused) is merged anew."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=b"")

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        transport = OpenAICompatTransport(client)
        for title in ("one", "two", "three"):
            call = UpstreamCall(
                _provider({"X-Title": title}), Candidate("p", "m"), KEY, {"messages": []}, {}
            )
            async with transport.send(call):
                pass
    assert [r.headers["x-title"] for r in seen] == ["one", "two", "three"]


async def _capture(
    provider: Provider,
    profile: Profile | None,
    forwarded: dict[str, str],
    times: int = 2,
    profiles_: list[Profile | None] | None = None,
) -> list[tuple[bytes, bytes]]:
    """Send ``times`` calls through the proxy's pooled client to a loopback server; return
    each request's head and body as they arrived."""
    seen: list[tuple[bytes, bytes]] = []
    handlers: list[tuple[asyncio.Task[None], asyncio.StreamWriter]] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.append((task, writer))  # type: ignore[arg-type]
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            seen.append((head, await reader.readexactly(length)))
            writer.write(OK_SSE)
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    provider = replace(provider, base_url=f"http://127.0.0.1:{port}/v1")
    profiles = [profile] * times if profiles_ is None else profiles_
    try:
        async with open_http_client() as client:
            transport = OpenAICompatTransport(client)
            for each in profiles:
                call = UpstreamCall(
                    provider, Candidate("p", "m"), each, {"messages": []}, forwarded
                )
                async with transport.send(call) as reply:
                    assert reply.status == 200
    finally:
        server.close()
        for _, writer in handlers:
            writer.close()
        await asyncio.gather(*(task for task, _ in handlers), return_exceptions=True)
        await server.wait_closed()
    return seen


OK_SSE = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: 0\r\n\r\n"


@pytest.mark.parametrize(("extra_headers", "profile", "forwarded"), CASES)
async def test_pooled_wire_sends_what_build_request_sends(
    extra_headers: dict[str, str], profile: Profile | None, forwarded: dict[str, str]
) -> None:
    """The proxy's own client writes the request bytes itself: the same request line, body
    and headers (names aside) as httpx's ``build_request``, but ``accept-encoding: identity``
    (it decodes no compression), on the first request of a provider and on a later one."""
    provider = _provider(extra_headers)
    seen = await _capture(provider, profile, forwarded)
    async with httpx.AsyncClient() as client:
        url = f"http://127.0.0.1:{_port_of(seen[0][0])}/v1/chat/completions"
        reference = client.build_request(
            "POST",
            url,
            content=request_body(
                UpstreamCall(provider, Candidate("p", "m"), profile, {"messages": []}, forwarded)
            ),
            headers=headers_for(provider, profile, forwarded),
        )
    expected = sorted(
        (k.lower(), b"identity" if k.lower() == b"accept-encoding" else v)
        for k, v in reference.headers.raw
    )
    assert len(seen) == 2
    for head, body in seen:
        lines = head.rstrip(b"\r\n").split(b"\r\n")
        assert lines[0] == b"POST /v1/chat/completions HTTP/1.1"
        got = sorted((k.lower(), v.strip()) for k, _, v in (x.partition(b":") for x in lines[1:]))
        assert got == expected
        assert body == reference.content


def _port_of(head: bytes) -> int:
    host = next(x for x in head.split(b"\r\n") if x.lower().startswith(b"host:"))
    return int(host.rsplit(b":", 1)[1])


@pytest.mark.parametrize("bad", ["sk-1\r\nx-injected: 1", "sk-1\nfoo", "sk\x00"])
async def test_pooled_wire_refuses_a_key_that_would_inject_a_header(bad: str) -> None:
    """A key holding a line break or NUL (a key file's trailing newline, a hostile value) is
    never written: entering the exchange fails as a transport failure that names no key."""
    profile = Profile("p:0", "p", Secret(bad), "config")
    with pytest.raises(TransportFailure) as caught:
        await _capture(_provider({}), profile, {}, times=1)
    assert caught.value.kind == "LocalProtocolError"
    assert "sk" not in str(caught.value.detail)


async def test_pooled_wire_sends_each_profiles_own_key() -> None:
    """Profiles of one provider, taken in turn, each send their own key (the key line is
    built once per profile, never mixed up between them)."""
    other = Profile("p:3", "p", Secret("sk-other-456"), "config")
    order: list[Profile | None] = [KEY, other, KEY, UNRESOLVED, other]
    seen = await _capture(_provider({}), None, {}, profiles_=order)
    sent = [
        next((x for x in head.split(b"\r\n") if x.startswith(b"authorization:")), None)
        for head, _ in seen
    ]
    assert sent == [
        b"authorization: Bearer sk-test-123",
        b"authorization: Bearer sk-other-456",
        b"authorization: Bearer sk-test-123",
        None,
        b"authorization: Bearer sk-other-456",
    ]


async def test_pooled_wire_refuses_a_provider_header_that_would_inject_one() -> None:
    """A provider header from the config holding a line break is refused the same way, as a
    transport failure on entering, not an error out of ``send``."""
    with pytest.raises(TransportFailure) as caught:
        await _capture(_provider({"X-Title": "a\r\nx-injected: 1"}), KEY, {}, times=1)
    assert caught.value.kind == "LocalProtocolError"
