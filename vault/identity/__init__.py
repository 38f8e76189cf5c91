"""Users, organisations, password and PIN hashing, bearer tokens, TOTP and login limits."""
