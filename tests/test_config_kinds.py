"""Which kind a file is: each OpenClaw-only root key, the name, and --kind both ways."""

from __future__ import annotations

import pytest

from tests.fixtures.config import base_openclaw, base_standalone

#: The root keys only OpenClaw owns, as the design lists them.
OPENCLAW_ONLY = [
    "gateway",
    "channels",
    "plugins",
    "tools",
    "meta",
    "session",
    "hooks",
    "skills",
    "update",
]


@pytest.mark.parametrize("key", OPENCLAW_ONLY)
def test_an_openclaw_only_root_key_makes_it_openclaws_file(load_doc, key):
    """Any one of OpenClaw's own root keys marks the file as OpenClaw's, whatever its name."""
    doc = base_standalone()
    doc[key] = {}
    assert load_doc(doc, name="mine.json5").kind == "openclaw"


@pytest.mark.parametrize("name", ["openclaw.json", "openclaw.json5"])
def test_the_name_makes_it_openclaws_file(load_doc, name):
    """A file named openclaw.json or openclaw.json5 is OpenClaw's even without its root keys."""
    assert load_doc(base_standalone(), name=name).kind == "openclaw"


def test_near_misses_stay_standalone(load_doc):
    """A similar name or a root key OpenClaw does not own leaves the file standalone."""
    assert load_doc(base_standalone(), name="openclaw-failover.json5").kind == "standalone"
    doc = base_standalone()
    doc["env"] = {"vars": {}}  # env is read by both kinds: not OpenClaw-only
    assert load_doc(doc, name="failover.json5").kind == "standalone"


def test_kind_flag_overrides_detection_both_ways(load_doc):
    """--kind standalone reads an openclaw-named file at its root; --kind openclaw the reverse."""
    forced = load_doc(base_standalone(), name="openclaw.json", kind="standalone")
    assert forced.kind == "standalone"
    assert forced.problems == ()
    assert load_doc(base_openclaw(), name="x.json5", kind="openclaw").kind == "openclaw"
