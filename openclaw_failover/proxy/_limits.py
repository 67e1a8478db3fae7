"""Load control per provider: an optional concurrency cap, lowered after a 429, raised on success.

The runbook's order is "backoff -> spare key -> lower concurrency -> fallback model". The
limiter wraps a ``Transport`` (``LimitedTransport``), so the engine needs no hook: a request
waits for a slot inside ``send``, which the engine already times against the request's
first-token deadline, so the wait counts against the budget. Through the call's
:class:`~openclaw_failover._ports.SendGate` the engine learns that a deadline struck during the
wait (no upstream is blamed), and after a wait the engine is asked whether the key and model
are still usable before anything is sent. Audit lines are provider-wide
(no model, no profile) ``cooldown_set`` / ``cooldown_cleared`` lines whose ``failure_kind`` is
``concurrency_lowered``, ``concurrency_wait`` or ``concurrency_restored``; the report reads
provider-wide lines as the limiter's, not as key or model cooldowns.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from .._model import Profile, Provider, RouteTable
from .._ports import (
    SLOT_COOLED,
    AuditRecord,
    Clock,
    Transport,
    TransportFailure,
    UpstreamCall,
    UpstreamReply,
)
from ._context import request_audit_fields

#: After a 429 the lowered limit holds this long before successes raise it again.
DEFAULT_HOLD_S = 30.0


class ProviderLimiter:
    """Additive-increase / multiplicative-decrease concurrency for one provider.

    ``limit`` None means unlimited. A 429 halves the limit (from the current in-flight count
    when unlimited); after ``hold_s`` each success adds one, up to ``max_concurrent`` (or back to
    unlimited once it passes the level where the 429 happened). Waiters are served FIFO.
    """

    def __init__(
        self,
        provider: str,
        *,
        max_concurrent: int | None,
        clock: Clock,
        hold_s: float = DEFAULT_HOLD_S,
    ) -> None:
        self.provider = provider
        self.max_concurrent = max_concurrent
        self.limit = max_concurrent
        self.in_flight = 0
        self._clock = clock
        self._hold_s = hold_s
        self._held_until = 0.0
        self._ceiling = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    def _has_room(self) -> bool:
        return self.limit is None or self.in_flight < self.limit

    def would_wait(self) -> bool:
        """Whether :meth:`acquire` would queue now."""
        return bool(self._waiters) or not self._has_room()

    async def acquire(self) -> float:
        """Take a slot, waiting FIFO if none is free; return the seconds waited."""
        if not self._waiters and self._has_room():
            self.in_flight += 1
            return 0.0
        started = self._clock.monotonic()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self.release()  # the slot was handed over just as we were cancelled
            elif future in self._waiters:  # a release may have passed over it already
                self._waiters.remove(future)
            raise
        return self._clock.monotonic() - started

    def release(self) -> None:
        """Give a slot back and hand it to the next waiter."""
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self._has_room():
            future = self._waiters.popleft()
            if not future.done():
                self.in_flight += 1
                future.set_result(None)

    def on_rate_limited(self) -> int:
        """Halve the limit after a 429 and hold it; return the new limit."""
        base = self.limit if self.limit is not None else self.in_flight
        if self.max_concurrent is None:
            self._ceiling = max(self._ceiling, self.in_flight, 2)
        self.limit = max(1, min(base, self.in_flight) // 2)
        self._held_until = self._clock.monotonic() + self._hold_s
        return self.limit

    def on_success(self) -> bool:
        """Raise a lowered limit by one once the hold is over; True when it changed."""
        if self.limit is None or self.limit == self.max_concurrent:
            return False
        if self._clock.monotonic() < self._held_until:
            return False
        self.limit += 1
        if self.max_concurrent is None and self.limit >= self._ceiling:
            self.limit = None
        self._wake()
        return True


class ProviderLimits:
    """One limiter per provider of the current table; ``configure`` follows reloads."""

    def __init__(
        self,
        clock: Clock,
        *,
        hold_s: float = DEFAULT_HOLD_S,
        emit: Callable[[AuditRecord], None] | None = None,
        on_limit: Callable[[str, int | None], None] | None = None,
        on_wait: Callable[[str, float], None] | None = None,
    ) -> None:
        self._clock = clock
        self._hold_s = hold_s
        self._emit = emit
        self._on_limit = on_limit
        self._on_wait = on_wait
        self._by_provider: dict[str, ProviderLimiter] = {}

    def configure(self, providers: Mapping[str, Provider]) -> None:
        """Create or update a limiter per provider (a new cap applies to new slots)."""
        for pid, provider in providers.items():
            limiter = self._by_provider.get(pid)
            if limiter is None:
                limiter = ProviderLimiter(
                    pid,
                    max_concurrent=provider.max_concurrent,
                    clock=self._clock,
                    hold_s=self._hold_s,
                )
                self._by_provider[pid] = limiter
            elif limiter.max_concurrent != provider.max_concurrent:
                limiter.max_concurrent = limiter.limit = provider.max_concurrent
                limiter._wake()
            self._report(limiter)

    def get(self, provider: str) -> ProviderLimiter:
        """The provider's limiter, created unlimited if the table did not list it."""
        limiter = self._by_provider.get(provider)
        if limiter is None:
            limiter = ProviderLimiter(
                provider, max_concurrent=None, clock=self._clock, hold_s=self._hold_s
            )
            self._by_provider[provider] = limiter
        return limiter

    def snapshot(self) -> dict[str, dict[str, int | None]]:
        """Each provider's limit, cap and in-flight count (for status and readyz)."""
        return {
            pid: {"limit": lim.limit, "max": lim.max_concurrent, "in_flight": lim.in_flight}
            for pid, lim in sorted(self._by_provider.items())
        }

    def waited(self, provider: str, seconds: float) -> None:
        """Record a wait for a slot (metrics and audit)."""
        if self._on_wait is not None:
            self._on_wait(provider, seconds)
        limit = self.get(provider).limit
        self._audit(
            "cooldown_set",
            provider,
            f"waited {seconds * 1000:.0f} ms for a slot (concurrency limit {limit})",
            failure_kind="concurrency_wait",
            latency_ms=seconds * 1000,
        )

    def observe(self, limiter: ProviderLimiter, status: int) -> None:
        """Feed a reply's status into the provider's limiter."""
        if status == 429:
            new = limiter.on_rate_limited()
            self._report(limiter)
            self._audit(
                "cooldown_set",
                limiter.provider,
                f"concurrency limit lowered to {new} after a 429",
                reason="rate_limit",
                failure_kind="concurrency_lowered",
            )
        elif 200 <= status < 300 and limiter.on_success():
            self._report(limiter)
            if limiter.limit == limiter.max_concurrent:
                self._audit(
                    "cooldown_cleared",
                    limiter.provider,
                    "concurrency limit restored",
                    failure_kind="concurrency_restored",
                )

    def _report(self, limiter: ProviderLimiter) -> None:
        if self._on_limit is not None:
            self._on_limit(limiter.provider, limiter.limit)

    def _audit(self, event: str, provider: str, detail: str, **fields: Any) -> None:
        if self._emit is not None:
            self._emit(
                AuditRecord(
                    event=event,
                    ts=self._clock.now(),
                    provider=provider,
                    detail=detail,
                    **request_audit_fields(),
                    **fields,
                )
            )


class LimitedTransport:
    """A ``Transport`` that holds a provider slot for the whole life of each upstream call."""

    def __init__(self, inner: Transport, limits: ProviderLimits) -> None:
        self._inner = inner
        self._limits = limits

    def send(self, call: UpstreamCall) -> AbstractAsyncContextManager[UpstreamReply]:
        """Wait for a slot, send, and feed the status into the limiter."""
        return _LimitedCall(self, call)

    async def list_models(self, provider: Provider, profile: Profile | None) -> list[str]:
        """Passed through unlimited (probes and doctor only)."""
        return await self._inner.list_models(provider, profile)


class _LimitedCall:
    """One upstream call holding its provider's slot from entering until leaving (a class
    rather than a generator-based context manager: no generator per call)."""

    __slots__ = ("_call", "_exchange", "_limiter", "_owner")

    def __init__(self, owner: LimitedTransport, call: UpstreamCall) -> None:
        self._owner = owner
        self._call = call
        self._limiter = owner._limits.get(call.provider.id)
        self._exchange: AbstractAsyncContextManager[UpstreamReply] | None = None

    async def __aenter__(self) -> UpstreamReply:
        call, limiter, limits = self._call, self._limiter, self._owner._limits
        gate = call.gate
        queued = limiter.would_wait()
        if gate is not None:
            gate.waiting = queued  # stays True if the deadline cancels the wait
        waited = await limiter.acquire()
        if gate is not None:
            gate.waiting = False
        try:
            if waited > 0:
                limits.waited(call.provider.id, waited)
            if queued and gate is not None and not await gate.recheck():
                raise TransportFailure(
                    SLOT_COOLED, "the key or model cooled while waiting for a slot"
                )
            exchange = self._owner._inner.send(call)
            reply = await exchange.__aenter__()
        except BaseException:
            limiter.release()
            raise
        self._exchange = exchange
        try:
            limits.observe(limiter, reply.status)
        except BaseException as exc:  # the caller's ``async with`` will not leave: leave here
            await self.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        return reply

    async def __aexit__(self, *exc_info: Any) -> None:
        exchange, self._exchange = self._exchange, None
        if exchange is None:
            return
        try:
            await exchange.__aexit__(*exc_info)
        finally:
            self._limiter.release()


def limited_transports(
    transports: Mapping[str, Transport], limits: ProviderLimits, table: RouteTable
) -> dict[str, Transport]:
    """Wrap every transport of an engine with the table's per-provider limits."""
    limits.configure(table.providers)
    return {api: LimitedTransport(t, limits) for api, t in transports.items()}
