"""State store implementations: memory, file and redis, behind ``StateStore``."""
