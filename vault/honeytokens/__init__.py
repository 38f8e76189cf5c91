"""Honeytoken subjects: decoys no legitimate workflow touches, whose every touch is an alert."""

__all__: list[str] = []
