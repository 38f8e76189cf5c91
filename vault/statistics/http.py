"""HTTP API of outcome statistics: ``GET /v1/statistics/outcomes`` (JSON) and
``GET /v1/statistics/outcomes.csv``; both decided by the policy (``statistics.read``)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency

from vault.errors import Forbidden
from vault.http.auth import caller
from vault.http.problems import problem_responses
from vault.statistics.service import StatisticsService

__all__ = ["HANDLERS"]

ERRORS = problem_responses(Forbidden)
TAGS = ["statistics"]


@get("/v1/statistics/outcomes", sync_to_thread=True, responses=ERRORS, tags=TAGS)
def outcomes(
    request: Request[Any, Any, Any], statistics: NamedDependency[StatisticsService]
) -> dict[str, Any]:
    """Program completion, employment at 6 months and re-offending within 12 months of the
    caller's organisation, by program and year, counting only subjects who consented to
    statistics; a cell of fewer than k subjects, and any cell that would reveal one, is
    suppressed."""
    return statistics.outcomes(caller(request).principal())


@get(
    "/v1/statistics/outcomes.csv",
    sync_to_thread=True,
    responses=ERRORS,
    tags=TAGS,
    media_type="text/csv; charset=utf-8",
)
def outcomes_csv(
    request: Request[Any, Any, Any], statistics: NamedDependency[StatisticsService]
) -> Response[str]:
    """The same table as CSV, one line per cell; a suppressed cell's numbers are empty."""
    return Response(
        statistics.outcomes_csv(caller(request).principal()),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="outcomes.csv"'},
    )


HANDLERS = [outcomes, outcomes_csv]
