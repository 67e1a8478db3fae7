"""Fault values, their JSON form, rule matching, and the fake provider as a subprocess."""

from __future__ import annotations

import httpx
import pytest

from openclaw_failover.testing import (
    Answer,
    CutStream,
    Fault,
    HangBeforeHeaders,
    HangMidStream,
    HttpError,
    MalformedEvent,
    Mix,
    Ok,
    Reset,
    Rule,
    Script,
    SilentAfterPreamble,
    StreamError,
    ToolCall,
    empty,
    fault_from_json,
    fault_to_json,
    no_done,
    slow_first_token,
    tool_reply,
)
from openclaw_failover.testing.fake_provider import FakeProviderProcess, load_dialect, main

EVERY_FAULT: list[Fault] = [
    Ok(Answer(text="a b", tool_calls=(ToolCall("exec", {"cmd": "ls"}, "c1"),)), done=False),
    HttpError(429, retry_after=1.5, retry_after_ms=900, message="m", code="c"),
    HttpError(503, body={"error": "x"}, headers={"x-a": "1"}),
    HangBeforeHeaders(limit_s=2),
    SilentAfterPreamble(),
    HangMidStream(after=3),
    Reset(),
    Reset(after=2),
    CutStream(after=1, mid_event=True),
    MalformedEvent(after=2),
    StreamError(after=1, status=529),
    empty(),
    no_done(),
    slow_first_token(1.0),
    tool_reply("write", {"path": "x"}),
]


@pytest.mark.parametrize("fault", EVERY_FAULT, ids=lambda f: type(f).__name__)
def test_every_fault_round_trips_through_json(fault: Fault) -> None:
    """fault_from_json(fault_to_json(f)) rebuilds an equal fault."""
    again = fault_from_json(fault_to_json(fault))
    assert fault_to_json(again) == fault_to_json(fault)
    assert type(again) is type(fault)


def test_unknown_fault_kind_is_named() -> None:
    """An unknown kind raises ValueError listing the known ones."""
    with pytest.raises(ValueError, match="'explode'"):
        fault_from_json({"kind": "explode"})
    with pytest.raises(ValueError, match="reset"):
        fault_from_json({"kind": "reset", "bogus": 1})


def test_answer_splits_pieces_and_counts_tokens() -> None:
    """Answer's pieces default to words keeping their spaces; completion tokens count them."""
    answer = Answer(text="one two three")
    assert answer.pieces == ("one ", "two ", "three")
    assert answer.completion_tokens == 3
    assert Answer(text="").pieces == ()


def test_first_matching_rule_with_uses_left_wins() -> None:
    """Rules are tried in order; used-up one-shot rules are skipped; else the default plays."""
    script = Script()
    script.add(Rule(HttpError(401), key="a", times=1))
    script.add(Rule(HttpError(503), model="m2"))
    script.add(Rule(HttpError(500), request=5, times=1))
    assert script.pending() == 2
    assert script.pick(key="a", model="m", index=0) == HttpError(401)
    assert script.pick(key="a", model="m", index=1) == Ok()
    assert script.pick(key="b", model="m2", index=2) == HttpError(503)
    assert script.pick(key="b", model="m2", index=5) == HttpError(503)
    assert script.pick(key="b", model="m", index=5) == HttpError(500)
    assert script.pending() == 0
    script.clear()
    assert script.pick(key="b", model="m2", index=6) == Ok()


def test_rule_json_round_trip() -> None:
    """A rule with every selector survives to_json/from_json."""
    rule = Rule(HttpError(429, retry_after=3), key="k", model="m", request=2, times=4)
    assert Rule.from_json(rule.to_json()) == rule


def test_mix_draws_by_weight_and_replays_its_seed() -> None:
    """A Mix draws each fault about as often as its weight says; one seed, one sequence."""
    mix = Mix.of([(3, Ok()), (1, HttpError(503))], seed=7)
    script = Script(mix)
    drawn = [script.pick(key=None, model="m", index=n) for n in range(4000)]
    share = drawn.count(HttpError(503)) / len(drawn)
    assert 0.2 < share < 0.3
    again = Script(Mix.of([(3, Ok()), (1, HttpError(503))], seed=7))
    assert [again.pick(key=None, model="m", index=n) for n in range(200)] == drawn[:200]
    with pytest.raises(ValueError, match="weights"):
        Mix.of([(0, Ok())])


def test_mix_rule_round_trips_and_the_log_names_the_fault_played() -> None:
    """A Mix rule survives JSON; the subprocess fake's log says which fault each request got."""
    rule = Rule(Mix.of([(1, HttpError(429, retry_after=2)), (1, empty())], seed=3), key="k")
    again = Rule.from_json(rule.to_json())
    assert again.to_json() == rule.to_json()
    with FakeProviderProcess(rules=[again]) as fake:
        auth = {"authorization": "Bearer k"}
        for _ in range(6):
            httpx.post(f"{fake.url}/chat/completions", json={"model": "a"}, headers=auth)
        log = fake.requests()
    played = [r["played"] for r in log]
    assert {p["kind"] for p in played} == {"http_error", "ok"}
    assert all(p["retry_after"] == 2 for p in played if p["kind"] == "http_error")


def test_load_dialect_rejects_unknown_names() -> None:
    """An unknown dialect name is a ValueError listing the registered ones."""
    with pytest.raises(ValueError, match="openai"):
        load_dialect("klingon")
    assert load_dialect("openai").name == "openai"


def test_main_reports_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    """Bad --rules JSON exits 2 with a one-line message, no traceback."""
    assert main(["--rules", '[{"fault": {"kind": "nope"}}]']) == 2
    err = capsys.readouterr().err
    assert "nope" in err
    assert "Traceback" not in err


def test_subprocess_fake_serves_and_is_scriptable() -> None:
    """The fake runs as a child process: port line, startup rules, control endpoint, log."""
    with FakeProviderProcess(models=["a", "b"], rules=[Rule(HttpError(503), times=1)]) as fake:
        assert fake.url == f"http://127.0.0.1:{fake.port}/v1"
        first = httpx.post(f"{fake.url}/chat/completions", json={"model": "a"})
        fake.add_rules(Rule(HttpError(429, retry_after=7), key="k2"))
        auth = {"authorization": "Bearer k2"}
        second = httpx.post(f"{fake.url}/chat/completions", json={"model": "a"}, headers=auth)
        fake.clear_rules()
        third = httpx.post(f"{fake.url}/chat/completions", json={"model": "a"}, headers=auth)
        models = httpx.get(f"{fake.url}/models").json()
        log = fake.requests()
    assert [first.status_code, second.status_code, third.status_code] == [503, 429, 200]
    assert second.headers["retry-after"] == "7"
    assert [m["id"] for m in models["data"]] == ["a", "b"]
    assert [(r["fault"], r["key"]) for r in log] == [
        ("http_error", None),
        ("http_error", "k2"),
        ("ok", "k2"),
        ("models", None),
    ]


def test_every_registered_dialect_loads() -> None:
    """Each registered dialect name builds a dialect that reports that name."""
    from openclaw_failover.testing.fake_provider import DIALECTS

    assert {name: load_dialect(name).name for name in DIALECTS} == {n: n for n in DIALECTS}


def test_public_names_are_sorted_and_resolve() -> None:
    """testing.__all__ is sorted and every name in it exists."""
    import openclaw_failover.testing as testing

    assert list(testing.__all__) == sorted(testing.__all__)
    assert all(hasattr(testing, name) for name in testing.__all__)
