"""The subject: registration, lookup by blind index, status, legal hold and erasure."""
