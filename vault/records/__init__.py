"""A subject's records: writing (``writing``), reading (``reading``), the only decryptions.

``vault.records.service.RecordsService`` is the capability; the subject itself
is ``vault.subjects``.
"""

__all__: list[str] = []
