"""Building the policy engine at start-up, and recording which policies were loaded."""

from __future__ import annotations

import hashlib
import logging

from vault.access.engine import PolicyEngine
from vault.audit.events import AuditEvent, AuditSink, Outcome
from vault.config import Settings
from vault.vocabulary import EventAction

log = logging.getLogger("vault.access")


def load_policy_engine(settings: Settings, audit: AuditSink) -> PolicyEngine:
    """Load and validate ``policies/``; an invalid policy raises ConfigurationError (no start)."""
    engine = PolicyEngine.from_directory(settings.policies_dir)
    loaded = engine.policies
    digest = hashlib.sha256((loaded.schema_text + "\0" + loaded.text).encode("utf-8")).hexdigest()
    audit.append(
        AuditEvent.by(
            None,
            EventAction.POLICY_LOAD,
            Outcome.INFO,
            details={"policies": engine.policy_count, "files": len(loaded.files), "sha256": digest},
        )
    )
    log.info("loaded %d policies from %d files", engine.policy_count, len(loaded.files))
    return engine
