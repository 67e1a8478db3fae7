"""One request's state writes: success resets, cooldowns (set-if-greater), probe claims and
their release. The decisions are the core's (``_policy``); this only reads and writes the
store around them and audits ``cooldown_set`` / ``probe``.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._model import DEFAULT_COOLDOWNS, Settings
from ._ordering import Slot, scope_key
from ._policy import claim_probe, decide_cooldown, record_success, release_probe
from ._ports import EMPTY_HEALTH, Health, HealthUpdate, StateStore
from ._runstate import RunLog
from ._upstream import Failed

__all__ = ["RunWrites"]

#: How often a clean key's last used/good times are written back (status shows them).
TOUCH_S = 60.0


class RunWrites:
    """The request's view of stored health (``health``) and the probe claims it holds."""

    __slots__ = (
        "claimed",
        "health",
        "log",
        "owner",
        "settings",
        "store",
    )

    def __init__(self, store: StateStore, log: RunLog, *, owner: str, settings: Settings) -> None:
        self.store = store
        self.log = log
        self.owner = owner
        self.settings = settings
        self.health: dict[str, Health] = {}
        self.claimed: set[str] = set()

    def to_heal(self, slot: Slot, now: float) -> list[str]:
        """The slot's keys an answer must write: each claimed by this request or with
        something to clear, and the key's own last used/good at most once per ``TOUCH_S`` (a
        clean key needs no write per request, and no await when nothing is due)."""
        health, claimed, own = self.health, self.claimed, slot.own_key
        due: list[str] = []
        for key in slot.keys:
            found = health.get(key)
            if found is None:
                if key == own or key in claimed:
                    due.append(key)  # the key itself never touched, or a claim to end
            elif key in claimed or _needs_reset(found):
                due.append(key)
            elif key == own and now - found.last_good_at >= TOUCH_S:
                due.append(key)  # the key's last used/good times are stale
        return due

    async def succeeded(self, keys: list[str], now: float) -> None:
        """Clear what the success heals on ``keys`` (from :meth:`to_heal`), but not a cooldown
        another request set after this one looked. The request's probe claims end here: they
        are all on this slot's keys (a failure releases them before the walk moves on)."""
        health = self.health
        for key in keys:
            current = health.get(key)
            seen = current.last_failure_at if current is not None else 0.0
            stored = await self.store.update(key, _healed(now, seen))
            if stored is not None:
                health[key] = stored
        self.claimed.clear()

    async def cool(self, slot: Slot, failed: Failed, now: float) -> None:
        """Write the failure's cooldown on its scope's key (set-if-greater), audit it, and
        release any other claim this request holds."""
        rule = self.settings.cooldowns.get(failed.reason) or DEFAULT_COOLDOWNS[failed.reason]
        key = scope_key(rule.scope, slot.candidate, slot.profile)
        if key is not None:
            window = self.settings.failure_window_s
            reason, retry_after = failed.reason, failed.retry_after_s

            def fail(health: Health | None) -> Health:
                return decide_cooldown(
                    health or EMPTY_HEALTH,
                    reason,
                    rule=rule,
                    retry_after_s=retry_after,
                    now=now,
                    failure_window_s=window,
                )

            stored = await self.store.update(key, fail)
            self.claimed.discard(key)
            if stored is not None:
                self.health[key] = stored
                if stored.cooldown_until > now:
                    self.log.emit(
                        "cooldown_set",
                        slot,
                        reason=stored.cooldown_reason,
                        cooldown_until=stored.cooldown_until,
                        detail=rule.scope,
                    )
        await self.release()

    async def claim(
        self, slot: Slot, keys: tuple[str, ...], *, why: str, now: float, lease_s: float
    ) -> bool:
        """Claim the probe on ``keys`` atomically; False when someone else holds one or a key
        cooled again since it was read (only the ``all_cooling`` probe claims cooling keys).
        Claiming a key this request holds again renews its lease; the ``probe`` line is
        written when the claim takes a key it did not hold."""
        owner, cooling = self.owner, why == "all_cooling"
        taken = not self.claimed.issuperset(keys)
        for key in keys:
            stored = await self.store.update(
                key,
                lambda h: claim_probe(h, owner=owner, now=now, lease_s=lease_s, cooling=cooling),
            )
            if stored is None or stored.probe_owner != owner:
                if stored is not None:
                    self.health[key] = stored  # what it is now (the hard stop's retry time)
                await self.release()
                return False
            self.health[key] = stored
            self.claimed.add(key)
        if taken:
            self.log.emit("probe", slot, detail=why)
        return True

    async def release(self) -> None:
        """Give back every claim still held (an inconclusive result)."""
        owner = self.owner
        for key in self.claimed:
            await self.store.update(key, lambda h: release_probe(h, owner))
        self.claimed.clear()

    def soonest(self, now: float, slots: Iterable[Slot]) -> float | None:
        """The soonest time one of ``slots`` seen cooling is usable again: a slot is when the
        last of its keys is, and a key being probed by another request is known again at its
        lease's end at worst."""
        best: float | None = None
        for slot in slots:
            free = 0.0
            for key in slot.keys:
                h = self.health.get(key)
                if h is not None:
                    until = h.cooldown_until if h.cooldown_until > now else h.probe_until
                    free = max(free, until)
            if free > now and (best is None or free < best):
                best = free
        return best


def _healed(now: float, seen_failure_at: float) -> HealthUpdate:
    """The store update of a success whose request saw failures up to ``seen_failure_at``."""
    return lambda h: record_success(h or EMPTY_HEALTH, now, seen_failure_at=seen_failure_at)


def _needs_reset(health: Health) -> bool:
    """True when a success has something to clear on this key."""
    return bool(
        health.cooldown_reason is not None
        or health.cooldown_until
        or health.failure_counts
        or health.probe_owner is not None
        or health.disabled
    )
