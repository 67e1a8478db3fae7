"""Package data: schemas, skill.json and SKILL.md ship in the wheel, byte-equal to the top level."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = (
    "skill.json",
    "SKILL.md",
    "schemas/plugin-config.schema.json",
    "schemas/standalone.schema.json",
    "schemas/openclaw-checked.schema.json",
)


def _sync_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sync_data", ROOT / "scripts" / "sync_data.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_copies_are_byte_equal():
    """Every top-level file that exists has a byte-equal copy in openclaw_failover/data."""
    sync = _sync_script()
    pairs = sync.pairs(ROOT)
    assert {src.relative_to(ROOT).as_posix() for src, _ in pairs} >= {
        s for s in SHIPPED if (ROOT / s).is_file()
    }
    assert pairs, "nothing to ship"
    stale = [str(dst.relative_to(ROOT)) for dst in sync.stale(ROOT)]
    assert stale == [], f"run scripts/sync_data.py: {stale}"


def test_check_mode_catches_a_differing_copy(tmp_path):
    """sync_data --check semantics: a copy that differs from its top-level file is stale."""
    sync = _sync_script()
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "a.schema.json").write_text("{}")
    (tmp_path / "skill.json").write_text('{"a": 1}')
    data = tmp_path / "openclaw_failover" / "data"
    (data / "schemas").mkdir(parents=True)
    (data / "schemas" / "a.schema.json").write_text("{ }")
    stale = {p.relative_to(tmp_path).as_posix() for p in sync.stale(tmp_path)}
    assert stale == {
        "openclaw_failover/data/schemas/a.schema.json",
        "openclaw_failover/data/skill.json",
    }


def _copy_source(dest: Path) -> Path:
    ignore = shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "node_modules"
    )
    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


@pytest.mark.slow
def test_built_wheel_contains_the_data(tmp_path):
    """A wheel built offline (--no-isolation) carries every shipped file, byte-equal."""
    src = _copy_source(tmp_path / "src")
    out = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )
    (wheel,) = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for rel in SHIPPED:
            if not (ROOT / rel).is_file():
                continue
            member = f"openclaw_failover/data/{rel}"
            assert member in names, member
            assert zf.read(member) == (ROOT / rel).read_bytes(), member
