"""The OpenAI-compatible chat request: its URL, its headers and its body, as httpx pieces for
any client or as whole request bytes for the pooled transport (:class:`Wire`).

Our headers replace a provider's or a caller's spelled another way (never two
``authorization`` headers); a key or header value with CR, LF or NUL is refused before
anything is sent. The body always asks for ``stream: true`` with
``stream_options.include_usage``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
import orjson

from .._model import Profile, Provider
from .._ports import UpstreamCall
from ._http1 import refuse_line_breaks
from ._http1_conn import Origin

__all__ = [
    "MAX_HEADS",
    "NOT_A_KEY",
    "Head",
    "Wire",
    "chat_url",
    "headers_for",
    "parsed_chat_url",
    "request_body",
    "timeout_dict",
    "timeout_for",
]

_CONNECT_TIMEOUT_S = 15.0
#: Profile sources that are references or placeholders, never a key to send (design: "Keys").
NOT_A_KEY = frozenset({"dummy"})
#: Headers every chat request carries, whatever a provider's config says.
_LOCAL_HEADERS = {"content-type": "application/json", "accept": "text/event-stream"}


def chat_url(base_url: str) -> str:
    """``<base>/chat/completions`` (the base already ends in ``/v1`` or its equivalent)."""
    return base_url.rstrip("/") + "/chat/completions"


@functools.lru_cache(maxsize=1024)
def parsed_chat_url(base_url: str) -> httpx.URL:
    """The parsed chat URL, once per base URL (httpx parses a string URL on every request)."""
    return httpx.URL(chat_url(base_url))


def headers_for(
    provider: Provider, profile: Profile | None, extra: Mapping[str, str]
) -> dict[str, str]:
    """The call's own headers, names lower-cased so that ours replace a provider's or a
    caller's spelled another way (never two ``authorization`` headers)."""
    headers = _own_headers(provider)
    headers.update((name.lower(), value) for name, value in extra.items())
    headers.update(_LOCAL_HEADERS)
    if profile is not None and profile.secret is not None and profile.source not in NOT_A_KEY:
        headers["authorization"] = f"Bearer {profile.secret.reveal()}"
    return headers


def _own_headers(provider: Provider) -> dict[str, str]:
    return {name.lower(): value for name, value in provider.headers.items()}


def timeout_for(provider: Provider) -> httpx.Timeout:
    """The engine owns first-token and idle deadlines; httpx only bounds the connect, unless
    the provider sets ``timeoutSeconds``."""
    return _timeout_of(provider.timeout_s)


@functools.lru_cache(maxsize=64)
def _timeout_of(timeout_s: float | None) -> httpx.Timeout:
    if timeout_s:
        return httpx.Timeout(timeout_s)
    return httpx.Timeout(None, connect=_CONNECT_TIMEOUT_S)


@functools.lru_cache(maxsize=64)
def timeout_dict(timeout_s: float | None) -> dict[str, float | None]:
    """:func:`timeout_for` as the request extension httpx's transports read."""
    return _timeout_of(timeout_s).as_dict()


#: How many providers' merged headers a transport keeps (a table has a handful).
MAX_HEADS = 256


@dataclass(frozen=True, slots=True)
class Head:
    """A provider's request headers merged with its client's: ``rest`` without any
    ``authorization`` (a key replaces it), ``without_key`` with the provider's own, if any."""

    rest: tuple[tuple[bytes, bytes], ...]
    without_key: tuple[tuple[bytes, bytes], ...]

    @classmethod
    def of(cls, client: httpx.AsyncClient, provider: Provider) -> Head:
        merged = httpx.Headers(client.headers)
        merged.update({**_own_headers(provider), **_LOCAL_HEADERS})
        rest = tuple(pair for pair in merged.raw if pair[0].lower() != b"authorization")
        return cls(rest, tuple(merged.raw))


#: Header names the pooled wire sets itself (a provider's or caller's own are dropped).
_FRAMING = frozenset({"host", "content-length", "transfer-encoding"})


def _line(name: str, value: str) -> bytes:
    """One header line; a name or value that would end the line early (CR, LF, NUL) is
    refused, so no key or config value can inject a header or a request."""
    line = f"{name}: {value}".encode("latin-1", "replace")
    refuse_line_breaks(line, what=f"header {name!r}")
    return line + b"\r\n"


def _lines(headers: Mapping[str, str]) -> bytes:
    return b"".join(_line(name, value) for name, value in headers.items())


@dataclass(frozen=True, slots=True)
class Wire:
    """A provider's chat request as bytes for the pooled transport, merged once the way
    :func:`headers_for` merges over the client's defaults: ``first`` is the request line and
    host, ``rest`` every other header but ``authorization``, ``own_auth`` the provider's own
    ``authorization`` line, which a key replaces. The wire decodes no compression, so it asks
    for none."""

    target: tuple[Origin, Mapping[str, float | None]]
    first: bytes
    rest: bytes
    own_auth: bytes
    base: Mapping[str, str]
    #: ``id(profile)`` -> (the profile, its ``authorization`` line), built once per profile
    #: object; the entry holds the profile, so its id is never another's while it lives.
    keys: dict[int, tuple[Profile, bytes]]

    @classmethod
    def of(cls, client: httpx.AsyncClient, provider: Provider) -> Wire:
        url = parsed_chat_url(provider.base_url)
        port = url.port or (443 if url.raw_scheme == b"https" else 80)
        base = {name.lower(): value for name, value in client.headers.items()}
        base.update(_own_headers(provider))
        host = base.get("host") or url.netloc.decode("ascii")
        first = b"POST %s HTTP/1.1\r\n%s" % (url.raw_path, _line("host", host))
        merged = _merged(base, {})
        own_auth = merged.pop("authorization", None)
        return cls(
            ((url.raw_scheme, url.raw_host, port), timeout_dict(provider.timeout_s)),
            first,
            _lines(merged),
            _line("authorization", own_auth) if own_auth is not None else b"",
            base,
            {},
        )

    def _key_line(self, profile: Profile) -> bytes:
        entry = self.keys.get(id(profile))
        if entry is None:
            secret = profile.secret.reveal() if profile.secret is not None else ""
            entry = self.keys[id(profile)] = (profile, _line("authorization", f"Bearer {secret}"))
        return entry[1]

    def request(self, call: UpstreamCall, body: bytes) -> bytes:
        """The whole request: head and ``body``."""
        profile = call.profile
        rest, auth = self.rest, self.own_auth
        if call.headers:  # forwarded trace headers: the general merge
            merged = _merged(self.base, call.headers)
            own = merged.pop("authorization", None)
            rest, auth = _lines(merged), _line("authorization", own) if own is not None else b""
        if profile is not None and profile.secret is not None and profile.source not in NOT_A_KEY:
            auth = self._key_line(profile)
        return b"%s%s%scontent-length: %d\r\n\r\n%s" % (self.first, rest, auth, len(body), body)


def _merged(base: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    """``base`` (the client's and the provider's headers), then the caller's, then ours."""
    merged = dict(base)
    merged.update((name.lower(), value) for name, value in extra.items())
    merged.update(_LOCAL_HEADERS)
    merged["accept-encoding"] = "identity"
    return {name: value for name, value in merged.items() if name not in _FRAMING}


def request_body(call: UpstreamCall) -> bytes:
    """The wire body: the caller's fields, the provider-local model, and a usage-bearing stream."""
    body = dict(call.body)
    body["model"] = call.candidate.model
    body["stream"] = True
    options = body.get("stream_options")
    body["stream_options"] = {
        **(options if isinstance(options, dict) else {}),
        "include_usage": True,
    }
    return orjson.dumps(body)
