"""Shared pytest set-up: each fixture family lives in its own module under tests/fixtures."""

pytest_plugins = [
    "tests.fixtures.config",
    "tests.fixtures.fakes",
    "tests.fixtures.openclaw",
    "tests.fixtures.redis_server",
    "tests.fixtures.local_llm",
]
