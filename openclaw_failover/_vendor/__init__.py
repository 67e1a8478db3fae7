"""Vendored code that mirrors other projects' contracts."""
