"""Liveness: answers without authentication and reveals nothing."""

from litestar import get


@get(
    "/health",
    opt={"exclude_from_auth": True, "asks_nothing": "liveness: reveals nothing"},
    tags=["health"],
    sync_to_thread=False,
)
def health() -> dict[str, str]:
    """The service is up."""
    return {"status": "ok"}
