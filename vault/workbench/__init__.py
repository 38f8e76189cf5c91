"""The compliance officer's workbench: alerts, access review and disclosure reports over HTTP."""

__all__: list[str] = []
