"""The milepost web service: ``create_app()`` builds it (uvicorn ``--factory``)."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from api import ops
from api.db.async_reads import AsyncReads
from api.db.engine import (
    POOL_SIZE,
    is_sqlite,
    make_engine,
    make_read_engine,
    make_sessionmaker,
)
from api.db.migrate import upgrade
from api.errors import BodySizeLimitMiddleware, install_error_handlers
from api.jobs import JobRunner
from api.routes import api_router
from api.settings import Settings, get_settings
from api.telemetry import Metrics, RequestContextMiddleware
from api.web.pages import install as install_pages

__all__ = ["create_app"]

log = logging.getLogger("milepost.app")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service.

    Parameters
    ----------
    settings
        Configuration; read from ``MILEPOST_*`` variables when not given.

    Returns
    -------
    FastAPI
        With ``app.state.settings``, ``.engine``, ``.sessionmaker``,
        ``.read_sessionmaker`` (the hot read paths) and ``.metrics``. On
        startup it migrates the database to the newest schema (unless
        ``settings.migrate_on_start`` is off), so a fresh
        SQLite file just works; on shutdown it closes the connections.
    """
    settings = settings or get_settings()
    engine = make_engine(settings.database_url)
    read_engine = make_read_engine(settings.database_url, engine)
    # The live ETA's one query, on the event loop (PostgreSQL only).
    async_reads = (
        AsyncReads(settings.database_url, POOL_SIZE)
        if read_engine is not engine
        else None
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await run_in_threadpool(upgrade, settings.database_url)
        if settings.job_workers > 0:
            await run_in_threadpool(runner.start)
        if async_reads is not None:
            await async_reads.open()
        # What is alive now (modules, the app, its caches' first entries) lives
        # as long as the process. Left to the collector, every full collection
        # scans it: 240,000 objects, 0.2 s with every request in flight
        # waiting (the p99 stalls seen in benchmarks/bench_api.py).
        # Off for apps built in tests, which come and go in one process.
        if settings.freeze_gc:
            gc.collect()
            gc.freeze()
        log.info(
            "milepost service ready", extra={"database": engine.url.render_as_string()}
        )
        consumer = None
        if settings.mqtt:
            from api.mqtt import MqttConsumer

            consumer = MqttConsumer(
                app.state.sessionmaker, host=settings.mqtt_host, port=settings.mqtt_port
            )
            consumer.start()
        try:
            yield
        finally:
            if consumer is not None:
                consumer.stop()
            if settings.job_workers > 0:
                await run_in_threadpool(runner.stop)
            if async_reads is not None:
                await async_reads.close()
            engine.dispose()
            read_engine.dispose()

    app = FastAPI(
        title="milepost",
        summary="Last-mile delivery: forecast, plan, track, learn and simulate.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.read_sessionmaker = make_sessionmaker(read_engine)
    app.state.async_reads = async_reads
    # Short reads of a local SQLite file run on the event loop (see
    # api.routes.tracking._in_session); other databases get a worker thread.
    app.state.inline_reads = is_sqlite(settings.database_url)
    # Runs the background jobs (solves, scenarios) of this process.
    app.state.job_runner = runner = JobRunner(
        app.state.sessionmaker,
        workers=settings.job_workers,
        dask_scheduler=settings.dask_scheduler,
    )
    app.state.metrics = metrics = Metrics()

    install_error_handlers(app)
    # Added last = outermost: the request id exists before the size check.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)

    app.include_router(ops.router)
    app.include_router(api_router)
    install_pages(app)
    return app
