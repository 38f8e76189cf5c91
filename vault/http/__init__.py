"""HTTP plumbing shared by every capability: authentication, problem details, request ids."""

__all__: list[str] = []
