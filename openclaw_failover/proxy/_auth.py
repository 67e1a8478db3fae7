"""Who may call the proxy, as a plain ASGI middleware: the bearer token when one is set
(constant-time comparison); with none, only requests addressed to a loopback name.

A proxy with no token is one on loopback (a remote bind needs a token), reachable by every
program on the machine, the user's web browser included. A web page cannot send the token it
does not know, but with no token it could drive the proxy two ways: through DNS rebinding (its
own host name re-pointed at 127.0.0.1, so the browser lets it read the answers) and by a
cross-site POST (answers unread, the operator's keys spent). Both carry the page's name: the
first in ``Host``, the second in ``Origin``. So with no token a request is refused unless its
``Host`` (when sent) and its ``Origin`` (when sent) name localhost, 127.0.0.0/8 or ::1.
OpenClaw and the SDKs send no ``Origin`` and address the proxy by the ``baseUrl`` the install
wrote (``127.0.0.1``).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from .._model import Secret
from ._bind import is_loopback
from ._request import new_request_id, request_id_in
from ._throttle import Throttle
from ._wire_errors import WireError, openai_error

#: Liveness stays open so a supervisor can check the process without the token.
OPEN_PATHS = frozenset({"/healthz"})
#: How many distinct ``Host`` values' verdicts are kept (a proxy sees one or two).
_MAX_HOSTS = 64


class BearerAuth:
    """Refuse HTTP requests whose ``Authorization`` is not ``Bearer <token>`` when a token is
    set (401), and, when none is, requests whose ``Host`` or ``Origin`` is not loopback (403).

    ``token`` is read per request, so a config reload that sets or rotates it takes effect at
    once. The token never appears in a response or a log line.
    """

    def __init__(self, app: ASGIApp, *, token: Callable[[], Secret | None]) -> None:
        self.app = app
        self._token = token
        #: ``Host`` value -> whether it names loopback.
        self._hosts: dict[bytes, bool] = {}
        self._warning = Throttle()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        secret = self._token()
        if secret is None:
            refusal = self._foreign(scope["headers"])
            if refusal is None:
                await self.app(scope, receive, send)
                return
            await _refuse(send, scope, refusal, ())
            return
        if _matches(scope, secret):
            await self.app(scope, receive, send)
            return
        error = openai_error(
            401,
            "missing or wrong bearer token: send 'Authorization: Bearer <proxy.token>'",
            code="invalid_api_key",
        )
        await _refuse(send, scope, error, ((b"www-authenticate", b"Bearer"),))

    def _foreign(self, headers: Iterable[tuple[bytes, bytes]]) -> WireError | None:
        """The refusal of a request addressed to, or sent from, a name that is not loopback
        (only asked while no token is set); None for a local caller."""
        for name, value in headers:
            if name == b"host":
                local = self._hosts.get(value)
                if local is None:
                    if len(self._hosts) >= _MAX_HOSTS:
                        self._hosts.clear()
                    local = self._hosts[value] = is_loopback(_host_name(value))
                if not local:
                    return self._refusal("host", value)
            elif name == b"origin" and not is_loopback(_origin_name(value)):
                return self._refusal("origin", value)
        return None

    def _refusal(self, header: str, value: bytes) -> WireError:
        found = value[:200].decode("latin-1")
        self._warning.warn(
            time.monotonic(),
            "refused a request with %s %r: with no proxy.token set, only loopback names are "
            "served (a web page could drive the proxy otherwise)",
            header,
            found,
        )
        return openai_error(
            403,
            f"openclaw-failover: header {header!r}: found {found!r}; expected localhost, "
            "127.0.0.1 or [::1] (with any port), because no proxy.token is set and a web page "
            "must not drive this proxy. Fix: call it at the baseUrl the install wrote "
            "(http://127.0.0.1:PORT/v1), or set proxy.token to serve other names (a reverse "
            "proxy, another host name)",
            type_="permission_error",
            code=f"forbidden_{header}",
        )


async def _refuse(
    send: Send, scope: Scope, error: WireError, extra: tuple[tuple[bytes, bytes], ...]
) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(error.body)).encode()),
        *extra,
        (b"x-request-id", _request_id(scope)),
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": error.body})


def _origin_name(value: bytes) -> str:
    """The host name in an ``Origin`` value; "" for ``null`` or one that does not parse."""
    try:
        return urlsplit(value.decode("latin-1").strip()).hostname or ""
    except ValueError:  # an unclosed IPv6 bracket, a bad port
        return ""


def _host_name(value: bytes) -> str:
    """The name in a ``Host`` value, without its port (``[::1]:8787`` -> ``::1``)."""
    text = value.decode("latin-1").strip()
    if text.startswith("["):
        return text[1 : text.find("]")] if "]" in text else text
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


def _request_id(scope: Scope) -> bytes:
    return (request_id_in(scope["headers"]) or new_request_id()).encode("latin-1")


def _matches(scope: Scope, secret: Secret) -> bool:
    """``Authorization: Bearer <token>``; the scheme's case is free (RFC 9110), the token's
    is not."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.strip().partition(b" ")
            expected = secret.reveal().encode()
            return scheme.lower() == b"bearer" and hmac.compare_digest(token.lstrip(), expected)
    return False
