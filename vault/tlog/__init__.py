"""The audit log's transparency edge: proof routes and the `vault witness` command."""

__all__: list[str] = []
