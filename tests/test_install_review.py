"""install / uninstall / migrate as the on-call operator meets them: a symlinked config, a full
disk mid-write, a workspace or OpenClaw CLI that fails, and what is left on disk afterwards.

Each test runs the CLI in-process on a temporary OpenClaw home. A full disk is a lowered
``RLIMIT_FSIZE`` (writes past it fail with EFBIG, as on a full disk), so a write that is
not atomic leaves its truncated file behind where the test can see it.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import json5
import pytest
from typer.testing import CliRunner

from openclaw_failover._install import BACKUP_SUFFIX, BOOK_SUFFIX
from openclaw_failover.cli import app

CHAIN = {"primary": "anthropic/claude-opus-4-6", "fallbacks": ["openai/gpt-5.4-mini"]}
KEY = "sk-ant-api03-REVIEWsecretAAAAAAAAAAAAAAAAAAAAAA"
LIMIT = 16 * 1024  # bytes any one file may grow to while a test's "disk" is full


def _doc(**extra: Any) -> dict[str, Any]:
    return {
        "agents": {"defaults": {"model": CHAIN}},
        "models": {"providers": {"anthropic": {"apiKey": KEY, "models": []}}},
        **extra,
    }


def _cli(config: Path, *args: str, path_env: str = "") -> tuple[int, str]:
    """``openclaw-failover ARGS --config CONFIG``; (exit code, all output). A Python error
    reaching the operator fails the test."""
    state = config.parent
    env: dict[str, str | None] = {
        "OPENCLAW_STATE_DIR": str(state),
        "OPENCLAW_CONFIG_PATH": str(config),
        "HOME": str(state.parent),
        "PATH": path_env,
        "OPENCLAW_FAILOVER_TOKEN": None,
    }
    result = CliRunner().invoke(app, [*args, "--config", str(config)], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"a Python error reached the operator: {result.exception!r}")
    return result.exit_code, result.stdout + result.stderr


def _home(tmp_path: Path, text: str) -> Path:
    state = tmp_path / "state"
    state.mkdir()
    config = state / "openclaw.json"
    config.write_text(text, encoding="utf-8")
    config.chmod(0o600)
    return config


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@contextlib.contextmanager
def _full_disk(limit: int = LIMIT) -> Iterator[None]:
    """Writes past ``limit`` bytes fail with EFBIG (SIGXFSZ ignored) until the block ends."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    if hard != resource.RLIM_INFINITY and hard < limit:
        pytest.skip(f"RLIMIT_FSIZE hard limit {hard} is below {limit}")
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def _commented(doc: dict[str, Any]) -> str:
    """``doc`` as compact JSON5 under a long comment: the file is big, its data small."""
    return "// my notes\n" * (3 * LIMIT // 12) + json.dumps(doc) + "\n"


def _linked_config(tmp_path: Path, text: str) -> tuple[Path, Path]:
    """A dotfile manager's layout: ``text`` in ``dotfiles/openclaw.json``, and
    ``state/openclaw.json`` a symlink to it. Returns (the real file, the link)."""
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "openclaw.json"
    real.write_text(text, encoding="utf-8")
    state = tmp_path / "state"
    state.mkdir()
    link = state / "openclaw.json"
    link.symlink_to(real)
    return real, link


def test_symlinked_config_is_written_through_and_the_link_stays(tmp_path: Path) -> None:
    """A dotfile manager's symlink: install and uninstall edit the target; the link stays."""
    original = json.dumps(_doc())
    real, link = _linked_config(tmp_path, original)
    real.chmod(0o600)
    dotfiles, state = real.parent, link.parent

    code, out = _cli(link, "install", "--no-openclaw-cli")
    assert code == 0, out
    assert link.is_symlink()
    assert link.resolve() == real.resolve()
    installed = json5.loads(real.read_text(encoding="utf-8"))
    assert installed["agents"]["defaults"]["model"]["primary"] == "failover/auto"
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    backup = state / ("openclaw.json" + BACKUP_SUFFIX)
    assert not backup.is_symlink()
    assert backup.read_text(encoding="utf-8") == original
    assert not [n for n in _names(dotfiles) | _names(state) if n.endswith(".tmp")]

    code, out = _cli(link, "uninstall")
    assert code == 0, out
    assert link.is_symlink()
    assert json5.loads(real.read_text(encoding="utf-8")) == _doc()


def test_migrate_writes_through_a_symlinked_config(tmp_path: Path) -> None:
    real, link = _linked_config(tmp_path, json.dumps(_doc(providers={"anthropic": {"auth": []}})))

    code, out = _cli(link, "migrate", "--write")
    assert code == 0, out
    assert link.is_symlink()
    assert "providers" not in json5.loads(real.read_text(encoding="utf-8"))


def test_the_backup_is_private_even_when_the_config_is_not(tmp_path: Path) -> None:
    """The backup is a second, long-lived copy of the keys: 0600 at most. The config keeps
    its own mode (the operator's to change)."""
    config = _home(tmp_path, json.dumps(_doc()))
    config.chmod(0o644)
    code, out = _cli(config, "install", "--no-openclaw-cli")
    assert code == 0, out
    backup = config.with_name(config.name + BACKUP_SUFFIX)
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.stat().st_mode) == 0o644
    assert KEY not in out


def test_a_backup_cut_short_by_a_full_disk_is_not_left_behind(tmp_path: Path) -> None:
    """A backup that cannot be written whole is not written at all, and the next install
    (with room) takes a whole one: later installs never replace a backup, so a truncated one
    would be the only "original" forever."""
    text = _commented(_doc())
    config = _home(tmp_path, text)
    before = _names(config.parent)
    with _full_disk():
        code, out = _cli(config, "install", "--no-openclaw-cli")
    assert code == 2
    assert "Traceback" not in out
    assert str(config.parent) in out
    assert "openclaw.json" + BACKUP_SUFFIX in out
    assert _names(config.parent) == before
    assert config.read_text(encoding="utf-8") == text

    code, out = _cli(config, "install", "--no-openclaw-cli")
    assert code == 0, out
    backup = config.with_name(config.name + BACKUP_SUFFIX)
    assert backup.read_text(encoding="utf-8") == text


def test_a_config_write_cut_short_leaves_config_and_install_record_as_they_were(
    tmp_path: Path,
) -> None:
    """The install record is taken back and no temp file stays when the config itself cannot
    be written (its indented form is what outgrows the full disk here)."""
    pad = {"a": {"b": {"c": {"d": [0] * 3000}}}}
    config = _home(tmp_path, json.dumps(_doc(meta=pad)))
    before = config.read_bytes()
    with _full_disk():
        code, out = _cli(config, "install", "--no-openclaw-cli")
    assert code == 2
    assert "Traceback" not in out
    assert f"{config}: cannot write it" in out
    assert config.read_bytes() == before
    assert not config.with_name(config.name + BOOK_SUFFIX).exists()
    assert not [n for n in _names(config.parent) if n.endswith(".tmp") or ".tmp-" in n]


def test_migrate_on_a_full_disk_is_a_clear_error_with_no_truncated_backup(tmp_path: Path) -> None:
    text = _commented(_doc(providers={"anthropic": {"auth": []}}))
    config = _home(tmp_path, text)
    before = _names(config.parent)
    with _full_disk():
        code, out = _cli(config, "migrate", "--write")
    assert code == 2
    assert "cannot write it" in out
    assert _names(config.parent) == before
    assert config.read_text(encoding="utf-8") == text


def test_a_workspace_that_cannot_be_written_is_refused_before_the_config_changes(
    tmp_path: Path,
) -> None:
    config = _home(tmp_path, json.dumps(_doc()))
    before = config.read_bytes()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    workspace = blocker / "workspace"
    code, out = _cli(config, "install", "--no-openclaw-cli", "--workspace", str(workspace))
    assert code == 2
    assert str(workspace / "skills") in out
    assert "config is left as it was" in out
    assert config.read_bytes() == before
    assert not config.with_name(config.name + BOOK_SUFFIX).exists()


def test_an_openclaw_cli_that_cannot_run_is_a_clear_error(tmp_path: Path) -> None:
    """`openclaw` on PATH but broken (its interpreter is gone): named, and --no-openclaw-cli
    offered; the config is unchanged."""
    config = _home(tmp_path, json.dumps(_doc()))
    before = config.read_bytes()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    broken = bin_dir / "openclaw"
    broken.write_text("#!/nonexistent/node\n", encoding="utf-8")
    broken.chmod(0o755)
    code, out = _cli(config, "install", path_env=str(bin_dir))
    assert code == 2
    assert str(broken) in out
    assert "--no-openclaw-cli" in out
    assert config.read_bytes() == before


def test_install_twice_changes_nothing_the_second_time(tmp_path: Path) -> None:
    """Same bytes, the same first backup, one token line, no new files."""
    original = json.dumps(_doc())
    config = _home(tmp_path, original)
    assert _cli(config, "install", "--no-openclaw-cli")[0] == 0
    files = {p.name: p.read_bytes() for p in config.parent.iterdir() if p.is_file()}
    assert _cli(config, "install", "--no-openclaw-cli")[0] == 0
    assert {p.name: p.read_bytes() for p in config.parent.iterdir() if p.is_file()} == files
    assert files["openclaw.json" + BACKUP_SUFFIX].decode() == original
    assert files[".env"].decode().count("OPENCLAW_FAILOVER_TOKEN=") == 1
    assert os.stat(config.parent / ".env").st_mode & 0o077 == 0


def test_comments_added_after_the_first_install_are_kept_in_a_numbered_backup(
    tmp_path: Path,
) -> None:
    """The first backup is the original, never replaced; comments written later are kept in
    ``.failover-backup.N`` before uninstall or a new install drops them, and named."""
    original = "// first\n" + json.dumps(_doc()) + "\n"
    config = _home(tmp_path, original)
    first = config.with_name(config.name + BACKUP_SUFFIX)
    assert _cli(config, "install", "--no-openclaw-cli")[0] == 0
    installed = config.read_text(encoding="utf-8")
    commented = "// on-call: keep the proxy on 8787\n" + installed
    config.write_text(commented, encoding="utf-8")

    code, out = _cli(config, "uninstall")
    assert code == 0, out
    kept = first.with_name(first.name + ".1")
    assert kept.read_text(encoding="utf-8") == commented
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert str(kept) in out
    assert first.read_text(encoding="utf-8") == original

    again = "// before the second install\n" + config.read_text(encoding="utf-8")
    config.write_text(again, encoding="utf-8")
    code, out = _cli(config, "install", "--no-openclaw-cli")
    assert code == 0, out
    assert first.with_name(first.name + ".2").read_text(encoding="utf-8") == again
    assert first.read_text(encoding="utf-8") == original

    before = _names(config.parent)  # no comments left: a third install keeps no copy
    assert _cli(config, "install", "--no-openclaw-cli")[0] == 0
    assert _names(config.parent) == before
