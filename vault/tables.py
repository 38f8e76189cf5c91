"""Every table of the vault, imported in one place so the metadata is complete.

Alembic and the tests import this module; each capability owns its own tables
and adds one import line here.
"""

from vault.consent import tables as consent_tables
from vault.keys import models as keys_models
from vault.records import models as records_models

__all__ = ["consent_tables", "keys_models", "records_models"]
