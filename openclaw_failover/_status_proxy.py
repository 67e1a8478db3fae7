"""What the running proxy serves, for ``status``: its ``/readyz`` verdict and the route version
it has loaded next to the one on disk, so "the file says X but traffic does Y" shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from ._model import ProxySettings

__all__ = ["ProxyView", "proxy_view"]

_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class ProxyView:
    """The proxy's answer to ``/readyz`` (``reachable`` False when nobody listens)."""

    url: str
    reachable: bool
    ready: bool | None = None
    loaded: str | None = None
    on_disk: str | None = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "url": self.url,
            "reachable": self.reachable,
            "ready": self.ready,
            "route_version": {"loaded": self.loaded, "on_disk": self.on_disk},
            "detail": self.detail,
        }


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


async def proxy_view(settings: ProxySettings, client: httpx.AsyncClient) -> ProxyView:
    """Ask the configured proxy's ``/readyz`` (bearer token sent, never shown)."""
    url = f"http://{settings.host}:{settings.port}/readyz"
    if settings.port == 0:
        return ProxyView(url, reachable=False, detail="proxy.port is 0 (any): not queried")
    headers = {"authorization": f"Bearer {settings.token.reveal()}"} if settings.token else {}
    try:
        reply = await client.get(url, headers=headers, timeout=_TIMEOUT_S)
    except httpx.HTTPError as exc:
        return ProxyView(url, reachable=False, detail=f"not reachable ({type(exc).__name__})")
    try:
        doc = reply.json()
    except ValueError:
        doc = None
    if reply.status_code not in (200, 503) or not isinstance(doc, dict):
        detail = f"unexpected answer (HTTP {reply.status_code})"
        return ProxyView(url, reachable=True, detail=detail)
    versions = doc.get("route_version")
    versions = versions if isinstance(versions, dict) else {}
    return ProxyView(
        url,
        reachable=True,
        ready=reply.status_code == 200,
        loaded=_text(versions.get("loaded")),
        on_disk=_text(versions.get("on_disk")),
        detail=_text(doc.get("detail")) or "",
    )
