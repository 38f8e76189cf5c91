"""Key providers: where key-encryption keys (KEKs) live. See ``base.KeyProvider``."""

# Nothing is re-exported: import from the module that defines it.
__all__: list[str] = []
