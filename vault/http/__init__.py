"""HTTP plumbing shared by every capability: problem details, request ids."""
