"""Every table of the vault, imported in one place so the metadata is complete.

Alembic and the tests import this module; each capability owns its own tables
and adds one import line here.
"""

from vault.consent import tables as consent_tables
from vault.records import models as records_models

__all__ = ["consent_tables", "records_models"]
