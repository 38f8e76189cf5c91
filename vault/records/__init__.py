"""Subjects and their records: the only place that encrypts and decrypts fields."""
