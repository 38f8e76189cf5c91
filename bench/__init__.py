"""Benchmarks of the vault: each measures a cost as a ratio against a baseline of the same run."""
