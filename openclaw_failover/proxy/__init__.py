"""The failover proxy: an OpenAI-compatible Starlette app in front of the engine."""
