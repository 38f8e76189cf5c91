"""Handover bundles between vaults under the subject's consent (docs/handover.md)."""

__all__: list[str] = []
