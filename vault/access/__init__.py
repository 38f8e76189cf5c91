"""Access decisions: who may do what to which subject's data, for which purpose."""
