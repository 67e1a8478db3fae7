"""install refuses an empty proxy token line in .env before it writes anything: no backup,
no skill in the workspace, the config and .env as they were."""

from __future__ import annotations

from pathlib import Path

from .test_install_guards import CHAIN, _cli, _home


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_an_empty_token_line_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    config = _home(tmp_path, {"agents": {"defaults": {"model": CHAIN}}})
    (config.parent / ".env").write_text("OPENCLAW_FAILOVER_TOKEN=\n", encoding="utf-8")
    before = _files(tmp_path)
    code, out = _cli(config, "install")
    assert code == 2, out
    assert "OPENCLAW_FAILOVER_TOKEN is set but empty" in out
    assert _files(tmp_path) == before
    assert not list(tmp_path.rglob("skills"))
