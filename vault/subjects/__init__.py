"""The subject: registration, lookup by blind index, status, legal hold and erasure.

``vault.subjects.service.SubjectsService`` is the capability; its tables are in
``vault.subjects.models`` (imported by others without pulling in the service).
"""

__all__: list[str] = []
