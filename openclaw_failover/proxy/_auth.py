"""Optional bearer-token check, as a plain ASGI middleware (constant-time comparison)."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from .._model import Secret
from ._request import new_request_id
from ._wire_errors import openai_error

#: Liveness stays open so a supervisor can check the process without the token.
OPEN_PATHS = frozenset({"/healthz"})


class BearerAuth:
    """Refuse HTTP requests whose ``Authorization`` is not ``Bearer <token>`` when a token is set.

    ``token`` is read per request, so a config reload that sets or rotates it takes effect at
    once. The token never appears in a response or a log line.
    """

    def __init__(self, app: ASGIApp, *, token: Callable[[], Secret | None]) -> None:
        self.app = app
        self._token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        secret = self._token()
        if secret is None or _matches(scope, secret):
            await self.app(scope, receive, send)
            return
        error = openai_error(
            401,
            "missing or wrong bearer token: send 'Authorization: Bearer <proxy.token>'",
            code="invalid_api_key",
        )
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(error.body)).encode()),
                    (b"www-authenticate", b"Bearer"),
                    (b"x-request-id", _request_id(scope)),
                ],
            }
        )
        await send({"type": "http.response.body", "body": error.body})


def _request_id(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            return bytes(value[:128])
    return new_request_id().encode()


def _matches(scope: Scope, secret: Secret) -> bool:
    expected = b"Bearer " + secret.reveal().encode()
    for name, value in scope["headers"]:
        if name == b"authorization":
            return hmac.compare_digest(value.strip(), expected)
    return False
