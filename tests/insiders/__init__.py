"""Tests that try each adversary of THREATS.md over HTTP, one file per adversary."""
