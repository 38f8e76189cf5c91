"""The consent capability: forms, signing, withdrawal, expiry, receipts, FHIR."""

__all__: list[str] = []
