"""The attempt loop for one request (design: "Failure handling, in words").

Candidates in route order; inside one, its keys in rotation order; cooling ones skipped at no
cost; half-open keys probed by whoever claims them first; ``maxAttemptsPerKey``,
``maxAttemptsPerIntent``, one inline Retry-After wait and ``intentBudgetS``; then the hard
stop. The core decides (``_policy``, ``_ordering``); this shell reads and writes state around
it and emits the audit lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any

from ._answer import StreamAnswer
from ._errors import AllCandidatesFailed, RequestRejected, RouteDriftError
from ._exchange import AnswerMeta, ChatRequest
from ._localguard import LocalToolGuard
from ._model import FailureReason, Tier
from ._ordering import Slot, SlotView, no_cooldown, order_profiles, view_slot
from ._policy import health_state
from ._ports import BUDGET_SPENT, SLOT_COOLED, SLOT_WAIT_TIMEOUT, Health, UpstreamCall
from ._runhooks import AnswerEvents
from ._runstate import EngineView, RunLog
from ._runwrites import RunWrites
from ._toolpolicy import filter_tools
from ._upstream import Failed, blameless, open_upstream

__all__ = ["RequestRun"]

R = FailureReason
_KEY_REASONS = frozenset({R.RATE_LIMIT, R.AUTH, R.AUTH_PERMANENT, R.BILLING})
_RETRY_SAME_KEY = frozenset({R.SERVER_ERROR, R.OVERLOADED})
_PROBE_LEASE_MARGIN_S = 5.0
_tuple_new = tuple.__new__
#: Failures no upstream is to blame for (never sent, or a deadline the budget cut short):
#: no retry, no cooldown; where the walk goes next.
_NOT_SENT = {SLOT_WAIT_TIMEOUT: "next_model", SLOT_COOLED: "next_key", BUDGET_SPENT: "stop"}


class Move(Enum):
    """Where the loop goes after a failed slot."""

    NEXT_KEY = "next_key"
    NEXT_MODEL = "next_model"
    STOP = "stop"


class RequestRun:
    """One request's walk down its route. Use once: ``await RequestRun(...).run()``."""

    __slots__ = (
        "cooling",
        "deadline_intent",
        "health",
        "log",
        "overflow_window",
        "overflowed",
        "plan",
        "probe_only",
        "request",
        "settings",
        "started",
        "tried",
        "view",
        "waited",
        "writes",
    )

    def __init__(
        self, view: EngineView, request: ChatRequest, *, owner: str, request_id: str
    ) -> None:
        self.view = view
        self.request = request
        self.plan = view.plans[request.route]  # KeyError: unknown route
        self.settings = view.table.settings
        self.log = RunLog(view, request, request_id)
        self.writes = RunWrites(view.store, self.log, owner=owner, settings=self.settings)
        self.health = self.writes.health
        self.cooling: list[SlotView] = []
        self.tried = 0
        self.waited = False
        self.probe_only = False
        self.overflow_window: int | None = None
        self.overflowed = False
        self.started = view.clock.monotonic()
        #: Monotonic time at which ``intentBudgetS`` runs out.
        self.deadline_intent = self.started + self.settings.deadlines.intent_budget_s

    # ------------------------------------------------------------------ the walk

    async def run(self) -> StreamAnswer:
        """Fail over until a first token; raise the stop (hard stop, drift, rejected)."""
        store, health, plan = self.view.store, self.health, self.plan
        for candidate, group, keys in zip(
            plan.route.candidates, plan.groups, plan.group_keys, strict=True
        ):
            if not group:
                self.log.unroutable(candidate)
                continue
            if self.overflow_window is not None and not self._fits(group[0]):
                continue
            found = await store.snapshot(keys)
            health.update(found)
            move = await self._walk(group, found.values())
            if isinstance(move, StreamAnswer):
                return move
            if move is Move.STOP:
                break
        else:
            if self.tried == 0 and self.cooling:
                answer = await self._probe_soonest()
                if answer is not None:
                    return answer
        await self.writes.release()  # a claim taken just before the budget ran out
        raise self._stop()

    async def _walk(self, group: tuple[Slot, ...], found: Iterable[Health]) -> StreamAnswer | Move:
        """Try the group's slots in rotation order; ``found`` is what the store holds for
        their keys, just read."""
        pin = self.view.pins.get(self.request.session_id) if self.request.session_id else None
        now = self.view.clock.now()
        views = order_profiles(
            group,
            self.health,
            now=now,
            pin=pin,
            last_used=self.view.last_used,
            clear=no_cooldown(found, now),
        )
        fresh = True  # the group's snapshot was just read; after an attempt, read again
        for seen in views:
            view = seen if fresh else await self._reread(seen.slot)
            state = view.state  # a half-open view is usable once its probe is claimed
            if state == "half_open" and not await self._claim(view.slot, view.claim_keys, state):
                # Someone else probes it, or it cooled again since the read: as it is now.
                view = view_slot(view.slot, self.health, self.view.clock.now())
                if view.usable:
                    view = view._replace(state="probing")
                state = view.state
            if state not in {"ready", "half_open"}:
                if view.state == "cooling":
                    self.cooling.append(view)
                self.log.skipped(view, view.state)
                continue
            move = await self._try_slot(view.slot)
            if move is not Move.NEXT_KEY:
                return move
            fresh = False
        return Move.NEXT_MODEL

    async def _try_slot(self, slot: Slot) -> StreamAnswer | Move:
        per_key = 0
        limit = self.settings.retries.max_attempts_per_intent
        while True:
            if self.tried >= limit or self.view.clock.monotonic() >= self.deadline_intent:
                return Move.STOP  # maxAttemptsPerIntent or intentBudgetS spent
            per_key += 1
            self.tried += 1
            result = await self._attempt(slot)
            if isinstance(result, StreamAnswer):
                # Not streamed, the caller is sent nothing before the end: held whole, a
                # break mid-body is one more failure to fail over from.
                held = None if self.request.stream else await result.hold()
                if held is None:
                    return result
                result = held
            if result.failure_kind in _NOT_SENT:  # no upstream to blame: move on, cool nothing
                await self.writes.release()
                return Move(_NOT_SENT[result.failure_kind])
            await self._stop_on_request_faults(slot, result)
            delay = self._retry_delay(result, per_key)
            if delay is not None:
                await self.view.clock.sleep(delay)
                if not await self.still_ours(slot):  # cooled by another request meanwhile
                    await self.writes.release()
                    return Move.NEXT_KEY
                continue
            await self.cool(slot, result)
            if result.reason is R.CONTEXT_OVERFLOW:
                self.overflowed = True
                window = _window(slot)  # an unknown window's overflow tells nothing new
                if window is not None and window > (self.overflow_window or 0):
                    self.overflow_window = window
                return Move.NEXT_MODEL
            return Move.NEXT_KEY if result.reason in _KEY_REASONS else Move.NEXT_MODEL

    async def _stop_on_request_faults(self, slot: Slot, failed: Failed) -> None:
        """404 is route drift and a format error is the request's own: both stop at once."""
        if failed.reason is R.MODEL_NOT_FOUND:
            await self.writes.release()
            self.log.outcome("drift", slot, status=failed.status, reason=failed.reason.value)
            raise RouteDriftError(tuple(self.log.attempts), request_id=self.log.request_id)
        if failed.reason is R.FORMAT:
            await self.writes.release()
            self.log.outcome("rejected", slot, status=failed.status, reason=failed.reason.value)
            attempts, rid = tuple(self.log.attempts), self.log.request_id
            raise RequestRejected(attempts, request_id=rid, upstream_message=failed.message)

    async def _reread(self, slot: Slot) -> SlotView:
        """The slot as the store holds it now: another request or process may have cooled
        one of its keys since this request last looked."""
        self.health.update(await self.view.store.snapshot(slot.keys))
        return view_slot(slot, self.health, self.view.clock.now())

    async def still_ours(self, slot: Slot) -> bool:
        """Whether the slot may be sent to again: each key ready or claimed by this request; a
        key whose cooldown expired meanwhile is claimed for the probe, and this request's own
        claims are renewed (a wait may have outlasted their lease, and a lapsed claim is one
        another request may take; a renewal writes no ``probe`` line). A skip is audited when
        it may not."""
        view = await self._reread(slot)
        now = self.view.clock.now()
        claim: list[str] = []
        for key in slot.keys:
            found = self.health.get(key)
            if key in self.writes.claimed and found is not None:
                if found.probe_owner == self.writes.owner:
                    claim.append(key)  # still our probe (another's failure would have ended it)
                    continue
                self.writes.claimed.discard(key)
            state = health_state(found, now)
            if state == "half_open":
                claim.append(key)
            elif state != "ready":
                break
        else:
            if not claim or await self._claim(slot, tuple(claim), "half_open"):
                return True
        self.log.skipped(view, f"{view.state} since the last attempt")
        return False

    # ------------------------------------------------------------------ one attempt

    async def _attempt(self, slot: Slot) -> StreamAnswer | Failed:
        view, request, candidate = self.view, self.request, slot.candidate
        clock = view.clock
        if candidate.tier is Tier.LOCAL:
            body, removed, guard = self._local_body(slot)
        else:
            body, removed, guard = request.body, (), None
        if slot.own_key is not None:
            view.last_used[slot.own_key] = clock.now()
        transport = view.transports.get(slot.provider.api)
        if transport is None:
            failed = Failed(R.UNKNOWN, None, None, f"no transport for {slot.provider.api}", None, 0)
            self.log.failed(slot, failed, attempt=self.tried)
            return failed
        events = AnswerEvents(self, slot)  # also the call's SendGate
        # Every field, positionally: no generated __new__ to run (one call per attempt).
        fields = (slot.provider, candidate, slot.profile, body, request.upstream_headers, events)
        call = _tuple_new(UpstreamCall, fields)
        idle_s = self.settings.deadlines.stream_idle_s
        own_s = self._own_first_token_s(candidate.tier)
        first_token_s = max(0.001, min(own_s, self._remaining_s()))
        result = await open_upstream(
            transport,
            call,
            first_token_s=first_token_s,
            stream_idle_s=idle_s,
            watchdog=view.watchdog,
            on_malformed=events.malformed,
        )
        if isinstance(result, Failed):
            cut_s = first_token_s if first_token_s < own_s else None
            result = blameless(result, queued=events.waiting, cut_s=cut_s)
            self.log.failed(slot, result, attempt=self.tried)
            return result
        ttfb_ms = round(result.ttfb_ms, 1)  # as audited, on the attempt and the outcome line
        self.log.answered(slot, attempt=self.tried, ttfb_ms=ttfb_ms, status=200)
        now = clock.now()
        heal = self.writes.to_heal(slot, now)
        if heal:
            await self.writes.succeeded(heal, now)  # ends every claim it held
        if request.session_id and slot.profile is not None:
            view.pins[request.session_id] = slot.profile.id
        plain = self.tried == 1 and not removed and not self.log.attempts
        meta = view.first_metas.get(id(slot)) if plain else None
        if meta is None:
            meta = self._meta(slot, removed, plain=plain)
        events.meta = meta
        events.ttfb_ms = ttfb_ms
        return StreamAnswer(result, meta=meta, idle_s=idle_s, guard=guard, hooks=events)

    def _local_body(self, slot: Slot) -> tuple[Mapping[str, Any], tuple[str, ...], LocalToolGuard]:
        """The body a local-tier slot is sent, the high-risk tools taken out of it (audited),
        and the guard for its answer; other tiers are sent the request's own body."""
        body, removed = filter_tools(self.request.body, self.view.high_risk)
        if removed:
            self.log.emit("tool_blocked", slot, tools_blocked=removed, detail="removed")
        return body, removed, LocalToolGuard(self.view.high_risk, removed)

    def _meta(self, slot: Slot, removed: tuple[str, ...], *, plain: bool) -> AnswerMeta:
        """Who answered. A ``plain`` first try (nothing removed or logged) is the same every
        time for its slot, so it is built once per route table and kept in
        ``view.first_metas``, which the caller looks in first."""
        provider, model, profile, tier = slot.labels
        meta = AnswerMeta(
            provider=provider,
            model=model,
            profile=profile,
            tier=tier,
            attempts=self.tried,
            route=self.request.route,
            route_version=self.view.table.version,
            downgraded=slot.index > 0,
            tools_blocked=removed,
            attempt_log=tuple(self.log.attempts),
        )
        if plain:  # id(slot) stays valid: the view holds its slots as long as this memo
            self.view.first_metas[id(slot)] = meta
        return meta

    def _first_token_s(self, tier: Tier) -> float:
        """An attempt's first-token deadline now: its own, cut to what is left of the budget."""
        return max(0.001, min(self._own_first_token_s(tier), self._remaining_s()))

    def _own_first_token_s(self, tier: Tier) -> float:
        request = self.request
        explicit = request.first_token_deadline_s
        return self.settings.deadlines.first_token_s(tier, mode=request.mode, explicit_s=explicit)

    def _remaining_s(self) -> float:
        return self.deadline_intent - self.view.clock.monotonic()

    def _retry_delay(self, failed: Failed, per_key: int) -> float | None:
        """The wait before retrying the same key, or None to move on (design's table)."""
        retries = self.settings.retries
        if self.probe_only or per_key >= retries.max_attempts_per_key:
            return None
        if self.tried >= retries.max_attempts_per_intent:
            return None
        remaining = self._remaining_s()
        if failed.reason is R.RATE_LIMIT:
            wait = failed.retry_after_s
            if wait is None or self.waited or wait > retries.inline_wait_max_s or wait >= remaining:
                return None
            self.waited = True
            return wait
        if failed.reason in _RETRY_SAME_KEY:
            delay = self.view.jitter(0.25, 1.0)
            return delay if delay < remaining else None
        return None

    def _fits(self, slot: Slot) -> bool:
        """After a context overflow, only candidates whose window is not smaller (unknown fits)."""
        if self.overflow_window is None:
            return True
        window = _window(slot)
        if window is None or window >= self.overflow_window:
            return True
        view = SlotView(slot, "ready", reason=R.CONTEXT_OVERFLOW.value)
        self.log.skipped(view, "context window smaller")
        return False

    # ------------------------------------------------------------------ state writes

    async def cool(self, slot: Slot, failed: Failed) -> None:
        """Write the failure's cooldown on its scope's key (set-if-greater) and audit it."""
        await self.writes.cool(slot, failed, self.view.clock.now())

    async def _claim(self, slot: Slot, keys: tuple[str, ...], why: str) -> bool:
        lease = self._first_token_s(slot.candidate.tier) + _PROBE_LEASE_MARGIN_S
        now = self.view.clock.now()
        return await self.writes.claim(slot, keys, why=why, now=now, lease_s=lease)

    async def _probe_soonest(self) -> StreamAnswer | None:
        """Everything is cooling: probe the one whose cooldown ends soonest, once.

        The claim covers every key of the slot that is not ready: the cooling ones, and one
        whose cooldown ran out unprobed (a model key whose profiles all still cool), which
        another profile's request could otherwise probe at the same time."""
        view = min(self.cooling, key=lambda v: v.until)
        now = self.view.clock.now()
        keys = tuple(k for k in view.slot.keys if health_state(self.health.get(k), now) != "ready")
        if not await self._claim(view.slot, keys or view.slot.keys[:1], "all_cooling"):
            return None
        self.probe_only = True
        move = await self._try_slot(view.slot)
        return move if isinstance(move, StreamAnswer) else None

    # ------------------------------------------------------------------ the stop

    def _stop(self) -> AllCandidatesFailed | RequestRejected:
        attempts = tuple(self.log.attempts)
        rid = self.log.request_id
        real = [a for a in attempts if not a.skipped]
        if self.overflowed and all(a.reason == R.CONTEXT_OVERFLOW.value for a in real):
            self.log.outcome("rejected", reason=R.CONTEXT_OVERFLOW.value, attempt=self.tried)
            return RequestRejected(attempts, request_id=rid)
        slots = (slot for group in self.plan.groups for slot in group)
        soonest = self.writes.soonest(self.view.clock.now(), slots)
        self.log.outcome("hard_stop", attempt=self.tried, cooldown_until=soonest)
        return AllCandidatesFailed(attempts, soonest_retry_at=soonest, request_id=rid)


def _window(slot: Slot) -> int | None:
    spec = slot.provider.models.get(slot.candidate.model)
    return spec.context_window if spec is not None else None
