"""The bridge's policy file: private like the rest of the state dir, and never half written."""

from __future__ import annotations

import json
import stat
from dataclasses import replace
from pathlib import Path

from openclaw_failover._model import StateSettings
from openclaw_failover._sidecar import Sidecar, write_policy_file
from tests.fixtures.plugin_host import make_plugin, make_table


def sidecar_in(directory: Path) -> Sidecar:
    """A sidecar whose state directory is ``directory``."""
    table = make_table()
    state = StateSettings(directory=str(directory))
    return Sidecar.create(
        make_plugin(replace(table, settings=replace(table.settings, state=state)))[0]
    )


def test_the_policy_file_is_private(tmp_path: Path) -> None:
    """The policy file is mode 0600 and a state dir it creates is 0700, whatever the umask."""
    path = write_policy_file(sidecar_in(tmp_path / "failover"))
    assert path is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_leftover_temp_file_does_not_stop_the_write(tmp_path: Path) -> None:
    """The temp file is the writer's own: a stale or concurrent one at the old fixed name
    (bridge-policy.tmp, here a directory nobody can write over) does not block the policy."""
    (tmp_path / "bridge-policy.tmp").mkdir()
    sidecar = sidecar_in(tmp_path)
    path = write_policy_file(sidecar)
    assert path == tmp_path / "bridge-policy.json"
    assert json.loads(path.read_text(encoding="utf-8")) == sidecar.plugin.guard.policy()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bridge-policy.json", "bridge-policy.tmp"]
