"""Typed Python mirror of OpenClaw's plugin SDK contract (filled in by the plugin issue)."""
