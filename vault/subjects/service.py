"""``SubjectsService``: the subject's one home (``services.subjects``).

Registration and search (``registration``), view, status and legal hold
(``custody``), erasure (``erasure``), and ``visible_to`` / ``gate`` (``gate``):
the lookup every other capability uses instead of loading a subject itself.
"""

from __future__ import annotations

from vault.subjects.custody import Custody
from vault.subjects.erasure import Erasure
from vault.subjects.registration import Registration


class SubjectsService(Registration, Custody, Erasure):
    """Everything about a subject except its records' content."""
