"""Where OpenClaw's files are: its config, its state folder, ours inside it, and the key salt."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

SALT_NAME = "salt"
SALT_BYTES = 16


def _env(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if environ is None else environ


def openclaw_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$OPENCLAW_HOME`` if set (it replaces ``$HOME`` for every default), else the home."""
    env = _env(environ)
    home = env.get("OPENCLAW_HOME") or env.get("HOME")
    return Path(home).expanduser() if home else Path.home()


def openclaw_state_root(environ: Mapping[str, str] | None = None) -> Path:
    """OpenClaw's state folder: ``$OPENCLAW_STATE_DIR``, else ``<home>/.openclaw``.

    ``OPENCLAW_PROFILE=<name>`` isolates it as ``<home>/.openclaw-<name>``, as OpenClaw does.
    """
    env = _env(environ)
    state = env.get("OPENCLAW_STATE_DIR")
    if state:
        return Path(state).expanduser()
    profile = env.get("OPENCLAW_PROFILE", "").strip()
    name = f".openclaw-{profile}" if profile and profile != "default" else ".openclaw"
    return openclaw_home(env) / name


def discover_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """The file OpenClaw loads: ``$OPENCLAW_CONFIG_PATH``, else ``<state>/openclaw.json``."""
    env = _env(environ)
    explicit = env.get("OPENCLAW_CONFIG_PATH")
    if explicit:
        return Path(explicit).expanduser()
    return openclaw_state_root(env) / "openclaw.json"


def resolve_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """This package's state folder: ``<OpenClaw state>/failover``."""
    return openclaw_state_root(environ) / "failover"


def load_fingerprint_salt(state_dir: str | Path) -> bytes:
    """Return the salt for key fingerprints, creating it (0600, folder 0700) on first use.

    Several processes may race to create it; the first writer wins and everyone reads its bytes.
    """
    folder = Path(state_dir)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / SALT_NAME
    with contextlib.suppress(FileNotFoundError):
        existing = path.read_bytes()
        if len(existing) == SALT_BYTES:
            return existing
    tmp = folder / f".{SALT_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, secrets.token_bytes(SALT_BYTES))
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # atomic, and fails if another process got there first
    except FileExistsError:
        existing = path.read_bytes()
        if len(existing) != SALT_BYTES:  # a damaged salt: replace it, old fingerprints reset
            os.replace(tmp, path)
            return path.read_bytes()
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path.read_bytes()
