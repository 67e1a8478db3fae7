"""``create_app``: the Starlette app, its lifespan (pooled client, engine, reloads, probes)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .._errors import StateStoreError
from .._model import RouteTable, Secret
from .._ports import AuditSink, Clock, StateStore
from ..config._redact import mask_url
from ..providers._http1 import PooledClient, PooledHTTP1Transport
from ._auth import BearerAuth
from ._chat import ChatCompletions, internal_error, send_error
from ._engine_build import EngineParts, build_engine
from ._limits import ProviderLimits
from ._metrics import ProxyMetrics
from ._probes import run_probes
from ._readiness import default_route, healthy_candidates
from ._reload import ConfigReloader, Loader, default_loader
from ._request import new_request_id, request_id_in
from ._routes import SmallRoutes, http_error, server_error
from ._runtime import ChatEngine, ProxyRuntime, log

#: Upstream pool: generous keep-alive so a burst reuses connections; read timeouts are the
#: engine's deadlines, not the client's.
_LIMITS = httpx.Limits(max_connections=512, max_keepalive_connections=128, keepalive_expiry=30)
_TIMEOUT = httpx.Timeout(connect=10.0, read=None, write=30.0, pool=None)


def open_http_client() -> httpx.AsyncClient:
    """The one pooled upstream client of a proxy process (httpx's API over the pooled
    HTTP/1.1 transport: same limits, a fraction of httpcore's CPU per request)."""
    transport = PooledHTTP1Transport(
        max_connections=_LIMITS.max_connections or 512,
        max_keepalive=_LIMITS.max_keepalive_connections or 128,
        keepalive_expiry=_LIMITS.keepalive_expiry or 30.0,
    )
    return PooledClient(transport, timeout=_TIMEOUT)


def create_app(
    table_or_engine: RouteTable | ChatEngine,
    *,
    clock: Clock | None = None,
    store: StateStore | None = None,
    audit: AuditSink | None = None,
    http_client: httpx.AsyncClient | None = None,
    config_path: str | None = None,
    load: Loader | None = None,
    reload_poll_s: float = 1.0,
    body_timeout_s: float = 30.0,
    instance: str = "",
) -> ProxyApp:
    """Build the proxy app around a route table (the engine is built in the lifespan) or a
    ready engine. ``config_path`` (default: the table's) is watched and reloaded; ``load``
    replaces the config loader (tests); a body not received within ``body_timeout_s`` gets a
    408. Nothing is opened until the lifespan starts."""
    metrics = ProxyMetrics()
    runtime = ProxyRuntime(
        metrics=metrics, audit=audit, store=store, instance=instance, body_timeout_s=body_timeout_s
    )
    if clock is not None:
        runtime.clock = clock
    limits = ProviderLimits(
        runtime.clock,
        emit=runtime.emit,
        on_limit=lambda p, n: metrics.concurrency_limit.labels(p).set(n or 0),
        on_wait=lambda p, s: metrics.limiter_wait.labels(p).inc(s),
    )
    parts = EngineParts(
        store=store,
        audit=audit,
        clock=clock,
        limits=limits,
        instance=instance,
    )
    routes = SmallRoutes(runtime)
    chat = ChatCompletions(runtime)
    app = ProxyApp(
        chat=BearerAuth(chat, token=_token_of(runtime)),
        routes=[
            Route("/v1/chat/completions", chat, methods=["POST"]),
            Route("/chat/completions", chat, methods=["POST"]),
            Route("/v1/models", routes.models, methods=["GET"]),
            Route("/v1/models/{model_id:path}", routes.model, methods=["GET"]),
            Route("/healthz", routes.healthz, methods=["GET"]),
            Route("/readyz", routes.readyz, methods=["GET"]),
            Route("/metrics", routes.metrics, methods=["GET"]),
        ],
        exception_handlers={404: http_error, 405: http_error, Exception: server_error},
        lifespan=_lifespan(
            runtime,
            table_or_engine,
            parts=parts,
            http_client=http_client,
            config_path=config_path,
            load=load,
            reload_poll_s=reload_poll_s,
        ),
    )
    app.state.runtime = runtime
    app.state.limits = limits
    app.add_middleware(BearerAuth, token=_token_of(runtime))
    return app


#: The chat completion paths the proxy answers without Starlette's routing.
CHAT_PATHS = frozenset({"/v1/chat/completions", "/chat/completions"})


class ProxyApp(Starlette):
    """The proxy's Starlette app, with a short way in for its hot path: a ``POST`` to a chat
    completion path goes straight to the (bearer-checked) endpoint, past Starlette's
    middleware stack and router, which cost about as much per request as the endpoint's own
    parsing. Every other request, and a chat path with another method, is Starlette's.

    The short way keeps what the long one guarantees: the same bearer check (``chat`` is
    wrapped in :class:`BearerAuth`), and a clean 500 for a bug before the response started
    (logged, never a stack trace to the client)."""

    def __init__(self, *, chat: ASGIApp, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._chat = chat

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in CHAT_PATHS:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        started = False

        async def tracked(message: Any) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self._chat(scope, receive, tracked)
        except Exception:
            log.exception("POST %s failed inside the proxy", scope["path"])
            if not started:
                request_id = request_id_in(scope["headers"]) or new_request_id()
                await send_error(send, internal_error(), request_id, {})


def _token_of(runtime: ProxyRuntime) -> Callable[[], Secret | None]:
    def token() -> Secret | None:
        engine = runtime.engine
        return engine.table.settings.proxy.token if engine is not None else None

    return token


def _lifespan(
    runtime: ProxyRuntime,
    table_or_engine: RouteTable | ChatEngine,
    *,
    parts: EngineParts,
    http_client: httpx.AsyncClient | None,
    config_path: str | None,
    load: Loader | None,
    reload_poll_s: float,
) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        del app
        async with AsyncExitStack() as stack:
            engine = await _start_engine(stack, runtime, table_or_engine, parts, http_client)
            runtime.engine = engine
            runtime.reload.loaded_version = runtime.reload.disk_version = engine.table.version
            runtime.table_listeners.append(lambda t: parts.limits.configure(t.providers))
            await _say_if_store_unreadable(runtime, within_s=STARTUP_STORE_CHECK_S)
            path = config_path or engine.table.config_path
            tasks: list[asyncio.Task[Any]] = []
            if path:
                reloader = ConfigReloader(
                    runtime,
                    path,
                    load=load or default_loader(kind=engine.table.kind),
                    poll_s=reload_poll_s,
                )
                if reloader.install_sighup():
                    stack.callback(reloader.remove_sighup)
                tasks.append(asyncio.create_task(reloader.watch()))
                runtime.reloader = reloader
            if runtime.transports is not None:  # idle while probeIntervalS is 0
                tasks.append(asyncio.create_task(run_probes(runtime)))
            stack.push_async_callback(_cancel_all, tasks)
            yield

    return lifespan


async def _start_engine(
    stack: AsyncExitStack,
    runtime: ProxyRuntime,
    table_or_engine: RouteTable | ChatEngine,
    parts: EngineParts,
    http_client: httpx.AsyncClient | None,
) -> ChatEngine:
    if not isinstance(table_or_engine, RouteTable):
        if runtime.store is None:
            runtime.store = getattr(table_or_engine, "store", None)
        return table_or_engine
    client = http_client
    if client is None:
        client = await stack.enter_async_context(open_http_client())
    built = await build_engine(stack, table_or_engine, client=client, parts=parts)
    runtime.audit = built.audit
    runtime.store = built.store
    runtime.transports = built.transports
    return built.engine


#: How long startup waits for the state store's first answer before it says so and serves.
STARTUP_STORE_CHECK_S = 5.0


async def _say_if_store_unreadable(runtime: ProxyRuntime, *, within_s: float) -> None:
    """Log at startup when the state store cannot be read (a Redis that is down): with
    ``onUnavailable: "closed"`` no request is routed until it answers, and nothing else would
    say so before the first request fails."""
    route = default_route(runtime.require_engine().table.routes)
    if route is None or runtime.store is None:
        return
    try:
        await asyncio.wait_for(healthy_candidates(runtime, route), within_s)
    except StateStoreError as exc:
        log.warning(
            "state store unavailable at startup: %s; no request is routed until it answers "
            "(GET /readyz says when)",
            mask_url(str(exc)),
        )
    except TimeoutError:
        log.warning(
            "state store did not answer within %g s at startup; requests wait on it until it "
            "answers or its calls fail (then state.onUnavailable applies); "
            "`openclaw-failover doctor` checks it",
            within_s,
        )
    else:
        degraded = getattr(runtime.store, "degraded_reason", None)
        if degraded:
            log.warning(
                "state store unavailable at startup: %s; serving on this process's own state "
                '(state.onUnavailable "local") until it answers',
                mask_url(str(degraded)),
            )


async def _cancel_all(tasks: list[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
