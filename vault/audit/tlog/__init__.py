"""The audit log's transparency routes: inclusion and consistency proofs over HTTP."""

__all__: list[str] = []
