"""The OpenAI adapter's upstream request: the headers ``client.build_request`` would send for
the call's own headers, from headers merged with the client's once per provider; a key or the
adapter's ``accept`` replaces a provider's header spelled in another case."""

from __future__ import annotations

from types import MappingProxyType

import httpx
import pytest

from openclaw_failover._model import Candidate, Profile, Provider, Secret
from openclaw_failover._ports import UpstreamCall
from openclaw_failover.providers.openai import (
    OpenAICompatTransport,
    _headers,
    _timeout,
    chat_url,
    request_body,
)

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
            headers=_headers(provider, profile, forwarded),
            timeout=_timeout(provider),
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
