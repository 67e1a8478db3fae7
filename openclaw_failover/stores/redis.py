"""The Redis state store: health shared by several gateways, with a local fallback.

Guarantees (the same as the file store, across processes and machines):

- ``update`` is atomic: a compare-and-set Lua script writes only if the stored value is still
  the one ``fn`` saw; otherwise ``fn`` runs again on the fresh value. Updates to one key inside
  one process are also serialised by a lock, so they never retry against each other.
- A nonzero ``cooldown_until`` / ``probe_until`` never moves backwards, whatever ``fn`` returns
  (``forward_only``, shared with the other stores); 0 means cleared (a success, a released
  probe, an operator clear).
- Every write sets a TTL of the key's latest ``*_until`` plus ``failure_window_s``.
- Propagation is read-through: ``snapshot`` always reads Redis (one MGET), so a cooldown set by
  one gateway is honoured by every other gateway on its next routing decision. There is no
  local cache to go stale.
- Redis unreachable: ``on_unavailable="closed"`` raises :class:`StateStoreError`;
  ``"local"`` serves from a :class:`MemoryStateStore` seeded with the last values seen, sets
  ``degraded`` and ``degraded_reason``, and retries Redis in the background. When Redis answers
  again, before traffic returns to it, every key written locally is merged in
  (:func:`merge_health`: the later ``*_until`` wins, counters and timestamps take the max), and
  keys Redis lost (a restart without persistence) are restored from the last values seen.
- A restart that loses the data is noticed even when no call saw the connection drop: every
  read and write checks the namespace's epoch marker (``<namespace>:epoch``, no TTL). A marker
  gone or changed is an outage like any other, so the lost keys are restored as above.
- Namespaces never overlap: a namespace that is empty or holds ``:`` or whitespace is refused
  (``ValueError``). The key names, the Lua scripts and the namespace rule live in
  ``_redis_keys``; how a value is encoded and checked, in ``_redis_values``.
- Given ``fingerprint_salt`` (the salt this gateway's state keys were built with), the store
  writes it back whenever it (re)joins an epoch and Redis has none, first stored wins as in
  :func:`shared_fingerprint_salt`, so gateways started after an empty restart salt alike.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar
from urllib.parse import urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError

from .._errors import ConfigError, Problem, StateStoreError
from .._ports import Clock, Health, HealthUpdate, StateStore
from ._fallback import Degradable, closed_mode, merge_health, merging
from ._redis_keys import (
    CAS_LUA,
    EPOCH_LUA,
    TIMEOUT_S,
    check_namespace,
    escape_glob,
    salt_name,
    shared_fingerprint_salt,
)
from ._redis_values import _UnreadableValueError, as_bytes, decode, decode_or_none, encode
from .memory import MemoryStateStore, forward_only

__all__ = ["RedisStateStore", "merge_health", "shared_fingerprint_salt"]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")
# Any Redis failure (down, hung, auth, OOM, read-only replica) means "not usable now".
_UNAVAILABLE = (RedisError, OSError)
_MAX_CAS_ROUNDS = 100


class _StateLostError(RedisError):
    """Redis answers, but without the namespace's epoch marker this store last saw: it
    restarted empty (no persistence), was flushed, or evicted it. Treated as an outage, so the
    recovery restores the keys Redis lost from the last values seen."""

    def __init__(self) -> None:
        super().__init__("redis came back without this namespace's state (restarted empty?)")


class RedisStateStore(Degradable):
    """A :class:`~openclaw_failover.StateStore` on Redis, shared by every gateway."""

    def __init__(
        self,
        url: str,
        *,
        namespace: str,
        on_unavailable: str = "local",
        failure_window_s: float = 86_400.0,
        clock: Clock | None = None,
        retry_interval_s: float = 0.25,
        fingerprint_salt: bytes = b"",
    ) -> None:
        check_namespace(namespace)
        self._pool = _connect(url)
        self._client = Redis(connection_pool=self._pool)
        self._cas = self._client.register_script(CAS_LUA)
        self._epoch_script = self._client.register_script(EPOCH_LUA)
        self._prefix = f"{namespace}:h:"
        # A restart without persistence is not always an error on the wire: redis-py silently
        # replaces a pooled connection found closed. Every read and write therefore checks a
        # marker that lives as long as Redis's data does (no TTL; outside the ``h:`` keys).
        self._epoch_name = f"{namespace}:epoch"
        self._epoch: bytes | None = None  # the marker's value our ``_seen`` values belong to
        # the salt our state keys were fingerprinted with, written back if Redis lost it
        self._salt = fingerprint_salt
        self._salt_warned = False
        self._salt_name = salt_name(namespace)
        self._closed_mode = closed_mode(on_unavailable, backend="redis")
        self._failure_window_s = failure_window_s
        self._now = clock.now if clock is not None else time.time
        self._retry_interval_s = retry_interval_s
        self._locks: dict[str, asyncio.Lock] = {}
        self._seen: dict[str, bytes | None] = {}  # last raw value read or written per key
        self._local: StateStore = MemoryStateStore()
        self._seeds: dict[str, Health] = {}  # what Redis held when it went away
        self._dirty: set[str] = set()  # keys written locally while degraded
        self._local_ops = 0
        self._reason: str | None = None
        self._gate: asyncio.Event | None = None  # set while local state merges back
        self._reconnect: asyncio.Task[None] | None = None
        self._watchers: list[Callable[[str | None], None]] = []

    async def snapshot(self, keys: Sequence[str]) -> Mapping[str, Health]:
        """The stored health of ``keys`` that exist, read from Redis (read-through)."""
        if not keys:
            return {}
        return await self._route(
            lambda: self._snapshot_redis(keys), lambda: self._local.snapshot(keys)
        )

    async def update(self, key: str, fn: HealthUpdate) -> Health | None:
        """Apply ``fn`` atomically (compare-and-set, retried) and return the stored value."""
        return await self._route(
            lambda: self._update_redis(key, fn), lambda: self._update_local(key, fn)
        )

    async def items(self) -> Mapping[str, Health]:
        """Every key in this namespace with its health."""
        # a lambda, not the bound method: ``_local`` is replaced after a recovery
        return await self._route(self._items_redis, lambda: self._local.items())  # noqa: PLW0108

    async def aclose(self) -> None:
        """Stop the reconnect task and close the connections (idempotent)."""
        if self._reconnect is not None:
            self._reconnect.cancel()
            await asyncio.gather(self._reconnect, return_exceptions=True)
            self._reconnect = None
        await self._client.aclose()
        await self._pool.disconnect()
        await self._local.aclose()

    # ----------------------------------------------------------------------- routing

    async def _route(
        self, remote: Callable[[], Awaitable[_T]], local: Callable[[], Awaitable[_T]]
    ) -> _T:
        if self._gate is not None:
            await self._gate.wait()
        if self._reason is None:
            try:
                if self._epoch is None:
                    await self._adopt_epoch()
                return await remote()
            except _UNAVAILABLE as exc:
                await self._fall_back(exc)
        self._local_ops += 1
        try:
            return await local()
        finally:
            self._local_ops -= 1

    async def _fall_back(self, exc: BaseException) -> None:
        reason = f"redis unavailable: {type(exc).__name__}: {_first_line(exc)}"
        if self._closed_mode:
            # nothing local to restore from: the next call starts over in whatever epoch is there
            self._epoch = None
            self._seen.clear()
            raise StateStoreError(f"{reason} (state.onUnavailable is 'closed')") from exc
        if self._reason is not None:
            return
        self._reason = reason
        _log.warning("state store degraded to local state: %s", reason)
        self._tell(reason)
        # a value that was never readable (a foreign key) seeds nothing; it must not stop the
        # fall-back halfway (degraded, with no reconnect task to ever end it)
        decoded = {k: decode_or_none(k, raw) for k, raw in self._seen.items()}
        self._seeds = {k: h for k, h in decoded.items() if h is not None}
        self._seen.clear()
        self._reconnect = asyncio.get_running_loop().create_task(self._reconnect_loop())
        for key, seed in list(self._seeds.items()):
            await self._local.update(key, merging(seed))

    async def _update_local(self, key: str, fn: HealthUpdate) -> Health | None:
        result = await self._local.update(key, lambda old: forward_only(old, fn(old)))
        self._dirty.add(key)
        return result

    # ----------------------------------------------------------------------- redis side

    async def _snapshot_redis(self, keys: Sequence[str]) -> Mapping[str, Health]:
        epoch, *raws = await self._client.mget(
            [self._epoch_name, *(self._prefix + k for k in keys)]
        )
        if as_bytes(epoch) != self._epoch:
            raise _StateLostError
        found: dict[str, Health] = {}
        for key, raw in zip(keys, raws, strict=True):
            self._seen[key] = as_bytes(raw)
            health = decode(key, raw)
            if health is not None:
                found[key] = health
        return found

    async def _items_redis(self) -> Mapping[str, Health]:
        pattern = escape_glob(self._prefix) + "*"
        names = [n async for n in self._client.scan_iter(match=pattern, count=1000)]
        if not names:
            return {}
        keys = [(n.decode() if isinstance(n, bytes) else n)[len(self._prefix) :] for n in names]
        return await self._snapshot_redis(keys)

    async def _update_redis(self, key: str, fn: HealthUpdate) -> Health | None:
        async with self._locks.setdefault(key, asyncio.Lock()):
            try:
                return await self._cas_loop(key, fn)
            except ResponseError as exc:
                # another app's hash or list under our namespace: not an outage, so it must not
                # degrade the store (every merge back would fail on it again, for good)
                if str(exc).startswith("WRONGTYPE"):
                    raise _UnreadableValueError(key) from exc
                raise

    async def _cas_loop(self, key: str, fn: HealthUpdate) -> Health | None:
        name = self._prefix + key
        raw = self._seen[key] if key in self._seen else as_bytes(await self._client.get(name))
        for conflicts in range(_MAX_CAS_ROUNDS):
            if conflicts:  # jitter: without it the writer that won last keeps winning
                await asyncio.sleep(random.random() * 0.0002 * min(conflicts, 10))  # noqa: S311
            old = decode(key, raw)
            new = forward_only(old, fn(old))
            new_raw = encode(new)
            args = ["0" if raw is None else "1", raw or b"", new_raw or b""]
            reply = await self._cas(
                keys=[name, self._epoch_name], args=[*args, self._ttl_ms(new), self._epoch or b""]
            )
            if reply[0] == 1:
                self._seen[key] = new_raw
                return new
            if reply[0] == 2:
                raise _StateLostError
            raw = as_bytes(reply[1]) if len(reply) > 1 else None
        raise StateStoreError(f"state key {key!r}: gave up after {_MAX_CAS_ROUNDS} conflicts")

    def _ttl_ms(self, health: Health | None) -> int:
        if health is None:
            return 0
        now = self._now()
        until = max(health.cooldown_until, health.probe_until, now)
        return max(1000, int((until - now + self._failure_window_s) * 1000))

    # ----------------------------------------------------------------------- recovery

    async def _reconnect_loop(self) -> None:
        while True:
            await asyncio.sleep(self._retry_interval_s)
            try:
                await self._client.ping()
            except _UNAVAILABLE:
                continue
            gate = self._gate = asyncio.Event()
            try:
                await self._pool.disconnect()  # drop connections that died with the outage
                await self._adopt_epoch()
                await self._merge_back()
            except (*_UNAVAILABLE, StateStoreError) as exc:
                _log.warning("state store still degraded: %s", type(exc).__name__)
                continue
            else:
                self._reason = None
                await self._local.aclose()
                self._local = MemoryStateStore()
                _log.warning("state store back on redis; local state merged")
                self._tell(None)
                return
            finally:
                self._gate = None
                gate.set()

    async def _adopt_epoch(self) -> None:
        """Work in the namespace's current epoch, creating it if Redis has none."""
        self._epoch = None
        token = secrets.token_hex(16).encode()
        keys, args = [self._epoch_name, self._salt_name], [token, self._salt]
        epoch, stored_salt = await self._epoch_script(keys=keys, args=args)
        self._epoch = as_bytes(epoch)
        stored = as_bytes(stored_salt) if stored_salt else None
        if self._salt and stored and stored != self._salt and not self._salt_warned:
            self._salt_warned = True
            _log.warning(
                "state store: this gateway's key fingerprints use another salt than the one "
                "stored on redis (namespace %r; it started while redis was down?), so its "
                "cooldowns are not shared with the other gateways; restart it to share them",
                self._prefix.removesuffix(":h:"),
            )

    async def _merge_back(self) -> None:
        """Put local state back into Redis; new calls wait on the gate meanwhile.

        A key written locally is merged (:func:`merge_health`). A key only seen before the
        outage is restored if Redis lost it (a restart without persistence), and left alone
        otherwise, so a peer's newer write (a success, a clear) is not undone.
        """
        for key, seed in list(self._seeds.items()):
            if key not in self._dirty:
                await self._merge_one(key, _restoring(seed))
            del self._seeds[key]
        while self._dirty or self._local_ops:
            if not self._dirty:
                await asyncio.sleep(0.001)  # a local call that started before the gate
                continue
            key = next(iter(self._dirty))
            local = (await self._local.snapshot([key])).get(key)
            if local is not None:
                self._seen.pop(key, None)
                await self._merge_one(key, merging(local))
            self._dirty.discard(key)

    async def _merge_one(self, key: str, fn: HealthUpdate) -> None:
        # A key Redis now holds something unreadable under (another app's value) cannot take
        # the merge; retrying it would keep the whole store degraded for good.
        try:
            await self._update_redis(key, fn)
        except _UnreadableValueError as exc:
            _log.warning("state store: local state of a key not merged back: %s", exc)


def _restoring(seed: Health) -> HealthUpdate:
    return lambda current: seed if current is None else current


def _connect(url: str) -> BlockingConnectionPool:
    scheme = urlsplit(url).scheme
    if scheme not in ("redis", "rediss", "unix"):
        found = f"a URL with scheme {scheme!r}" if scheme else "no URL scheme"
        raise ConfigError((_problem("url", found, "redis://, rediss:// or unix://"),))
    return BlockingConnectionPool.from_url(
        url,
        max_connections=64,
        timeout=TIMEOUT_S,
        socket_timeout=TIMEOUT_S,
        socket_connect_timeout=TIMEOUT_S,
        # No retry, and no resend: a write whose reply timed out may have landed, and a resend
        # would run its update again (one failure counted twice). A connection a restart left
        # dead is an outage too: the store goes local with the values it last saw, and the
        # recovery (which drops every pooled connection) restores what Redis lost.
        retry=Retry(NoBackoff(), 0),
    )


def _problem(field: str, found: str, expected: str) -> Problem:
    return Problem(rule="state-redis", path=f"state.{field}", found=found, expected=expected)


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0][:200]
