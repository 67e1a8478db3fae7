"""``python -m openclaw_failover`` runs the CLI."""

from openclaw_failover.cli import main

main()
