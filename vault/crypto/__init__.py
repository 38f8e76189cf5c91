"""The vault's cryptography, and the only package that imports ``cryptography``.

Pure: no database, no HTTP. Everything here takes bytes and keys and gives
bytes back; where keys live (tables, caches) is ``vault.keys``' business.

- :mod:`vault.crypto.keys`: ``DataKey`` (a subject's DEK) and ``WrappedKey``.
- :mod:`vault.crypto.fields`: the field ciphertext format (AES-256-GCM, key commitment,
  associated data binding every field to its place).
- :mod:`vault.crypto.blind_index`: HMAC-SHA256 equality index of identifiers.
- :mod:`vault.crypto.signing`: Ed25519 signatures and compact JWS.
- :mod:`vault.crypto.providers`: where key-encryption keys live (file, PKCS#11).
"""

# Nothing is re-exported: import from the module that defines it.
__all__: list[str] = []
