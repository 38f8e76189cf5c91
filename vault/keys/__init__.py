"""Subjects' data keys in the store: the ``subject_keys`` table, the ``SubjectKeys``
service (with its cache of unwrapped keys), KEK rotation and the ``vault keys`` commands."""

# Nothing is re-exported: import from the module that defines it.
__all__: list[str] = []
