"""Outcome statistics: k-anonymous counts and rates of consenting subjects (docs/statistics.md)."""

__all__: list[str] = []
