"""Key providers: where key-encryption keys (KEKs) live. See ``base.KeyProvider``."""
