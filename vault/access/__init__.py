"""Access decisions: who may do what to which subject's data, for which purpose."""

__all__: list[str] = []
