"""Every table of the vault, imported in one place so the metadata is complete.

Alembic and the tests import this module; each capability owns its own tables
and adds one import line here.
"""

from vault.access import models as access_models
from vault.audit import alert_models
from vault.audit import models as audit_models
from vault.consent import tables as consent_tables
from vault.handover import models as handover_models
from vault.honeytokens import models as honeytokens_models
from vault.identity import models as identity_models
from vault.identity import session_models as web_models
from vault.keys import models as keys_models
from vault.records import models as records_models
from vault.subjects import models as subjects_models
from vault.workbench import day_count_models, review_models

__all__ = [
    "access_models",
    "alert_models",
    "audit_models",
    "consent_tables",
    "day_count_models",
    "handover_models",
    "honeytokens_models",
    "identity_models",
    "keys_models",
    "records_models",
    "review_models",
    "subjects_models",
    "web_models",
]
