"""Operations endpoints (no auth): liveness, readiness and metrics."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.deps import EngineDep, MetricsDep
from api.errors import problem_response, problem_responses

__all__ = ["Health", "router"]

router = APIRouter(tags=["ops"])


class Health(BaseModel):
    """The service answers (and, for readiness, its database too)."""

    status: Literal["ok"] = "ok"


@router.get("/healthz", response_model=Health)
def read_health() -> Health:
    """The process is alive."""
    return Health()


@router.get("/readyz", response_model=Health, responses=problem_responses(503))
def read_ready(request: Request, engine: EngineDep) -> Health | Response:
    """The database answers; 503 while it does not."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = type(getattr(exc, "orig", None) or exc).__name__
        return problem_response(request, 503, f"database unreachable ({reason})")
    return Health()


@router.get("/metrics", response_class=PlainTextResponse)
def read_metrics(metrics: MetricsDep) -> Response:
    """Prometheus metrics of this process."""
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
