"""Each file tries the attacks of one adversary of the threat model, over HTTP."""
