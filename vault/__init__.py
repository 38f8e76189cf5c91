"""The records vault: field-level encryption, consent-bound access, tamper-evident audit.

The package exports nothing itself: ``vault.app.create_app`` builds the HTTP
service, ``vault.cli.main`` the command line, and each capability is a subpackage.
"""

__all__: list[str] = []
