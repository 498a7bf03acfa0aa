"""The milepost web service: ``create_app()`` builds it (uvicorn ``--factory``)."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.middleware.gzip import GZipMiddleware

from api import ops
from api.auth import KeyCache
from api.db.async_reads import AsyncReads
from api.db.engine import (
    POOL_SIZE,
    is_sqlite,
    make_engine,
    make_read_engine,
    make_sessionmaker,
)
from api.db.migrate import upgrade
from api.db.notify import JOBS, Bus
from api.errors import (
    BodySizeLimitMiddleware,
    ControlCharacterMiddleware,
    NoStoreMiddleware,
    install_error_handlers,
)
from api.jobs.kinds import JobKinds, default_kinds
from api.jobs.queue import JobQueue
from api.jobs.runner import JobHook
from api.limits import AddressRateLimitMiddleware, Limits
from api.mqtt import MqttConsumer
from api.routes import api_router
from api.services.forecasts import CityHistory
from api.services.ingest import EventIngest
from api.services.jobs import make_runner
from api.services.live import LiveChanges
from api.services.reads import ReadSessions
from api.services.retention import RetentionFitSchedule
from api.services.slots import SlotBooks
from api.services.tracking import LiveEtas
from api.services.watch import ExceptionWatch
from api.settings import Settings, get_settings
from api.telemetry import Metrics, RequestContextMiddleware
from api.web.docs import install as install_docs
from api.web.pages import install as install_pages

__all__ = ["GZIP_MINIMUM_BYTES", "create_app"]

log = logging.getLogger("milepost.app")

#: Answers smaller than this are sent as they are: gzip would save little.
GZIP_MINIMUM_BYTES = 1024

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(
    settings: Settings | None = None,
    *,
    kinds: JobKinds | None = None,
    hooks: Sequence[tuple[str, JobHook]] | None = None,
) -> FastAPI:
    """Build the service.

    Parameters
    ----------
    settings
        Configuration; read from ``MILEPOST_*`` variables when not given.
    kinds
        The job kinds (default: :func:`api.jobs.kinds.default_kinds`).
    hooks
        What the runner does when a job succeeds, by kind (default: store
        the plans of plan jobs, :func:`api.services.plans.plan_hooks`).

    Returns
    -------
    FastAPI
        Everything stateful (engines, session factories, the job queue and
        runner, slot books, live ETAs, the ingest, the key cache, the
        exception watch) is made here and put on ``app.state``, read only
        through :mod:`api.deps`.
        On startup it migrates the database to the newest schema (unless
        ``settings.migrate_on_start`` is off), so a fresh SQLite file just
        works; on shutdown it closes the connections.
    """
    settings = settings or get_settings()
    app = FastAPI(
        title="milepost",
        summary="Last-mile delivery: forecast, plan, track, learn and simulate.",
        version="0.1.0",
        lifespan=lambda app: _lifespan(app, settings),
        # /docs and /redoc are served from the npm assets (api.web.docs),
        # not from FastAPI's CDN defaults: they work offline.
        docs_url=None,
        redoc_url=None,
    )
    _set_state(app, settings, kinds or default_kinds(), hooks)
    install_error_handlers(app)
    # Added last = outermost: the request id exists before the size check.
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        paths={"/v1/history": settings.max_history_bytes},
    )
    app.add_middleware(ControlCharacterMiddleware)
    app.add_middleware(AddressRateLimitMiddleware, limits=app.state.limits)
    app.add_middleware(NoStoreMiddleware, prefix="/v1/track/")
    # Compresses what every inner layer answers (refusals included); the
    # request context outside it still sees each status and counts it, and
    # times the compression too. Server-Sent Events (text/event-stream) are
    # excluded by Starlette, so each event leaves as soon as it is written;
    # the static assets arrive already gzipped (api.web.pages).
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_BYTES, compresslevel=6)
    app.add_middleware(RequestContextMiddleware, metrics=app.state.metrics)
    app.include_router(ops.router)
    app.include_router(api_router)
    install_docs(app)
    install_pages(app)
    return app


def _set_state(
    app: FastAPI,
    settings: Settings,
    kinds: JobKinds,
    hooks: Sequence[tuple[str, JobHook]] | None,
) -> None:
    """Make the app's stateful objects (the only writer of ``app.state``)."""
    state = app.state
    state.settings = settings
    state.engine = engine = make_engine(settings.database_url)
    read_engine = make_read_engine(settings.database_url, engine)
    state.read_engine = read_engine
    state.sessionmaker = make_sessionmaker(engine, settings.locale)
    state.read_sessionmaker = make_sessionmaker(read_engine, settings.locale)
    # The live ETA's one query, on the event loop (PostgreSQL only).
    state.async_reads = (
        AsyncReads(settings.database_url, POOL_SIZE)
        if read_engine is not engine
        else None
    )
    # Short reads of a local SQLite file run on the event loop (see
    # api.deps.ReadSessions); other databases get a worker thread.
    state.inline_reads = is_sqlite(settings.database_url)
    state.reads = ReadSessions(
        state.read_sessionmaker, state.inline_reads, state.async_reads
    )
    state.metrics = Metrics()
    # Runs the background jobs (solves, scenarios) of this process.
    state.job_runner = runner = make_runner(
        settings,
        state.sessionmaker,
        kinds,
        hooks,
        plan_stored=state.metrics.plan_stored,
    )
    state.job_queue = JobQueue(kinds, runner.wake, runner.cancel)
    # Other processes' writes, heard at their commit (PostgreSQL only).
    state.bus = bus = Bus(settings.database_url)
    state.live_changes = LiveChanges(bus)
    if settings.job_workers > 0:
        bus.subscribe(JOBS, runner.notified)
    state.limits = Limits(settings, state.metrics)
    state.slot_books = SlotBooks()
    state.live_etas = LiveEtas(sessions=state.read_sessionmaker, locale=settings.locale)
    state.ingest = EventIngest()
    state.key_cache = KeyCache()
    state.city_history = CityHistory()
    state.mqtt = (
        MqttConsumer(
            state.sessionmaker,
            host=settings.mqtt_host,
            port=settings.mqtt_port,
            client_id=settings.mqtt_client_id,
            root=settings.mqtt_topic_root,
            locale=settings.locale,
            ingest=state.ingest,
        )
        if settings.mqtt
        else None
    )
    state.metrics.registry.register(ops.IngestCollector(state.ingest, state.mqtt))
    state.metrics.registry.register(ops.BusCollector(bus))
    # Evaluates today's exception rules every N seconds (0: never).
    state.exception_watch = watch = ExceptionWatch(
        state.sessionmaker, state.live_etas, settings
    )
    state.metrics.registry.register(ops.ExceptionWatchCollector(watch))
    state.metrics.registry.register(
        ops.RetentionCostCollector(state.read_sessionmaker, state.live_etas)
    )
    # Queues the nightly retention fit (MILEPOST_RETENTION_FIT_AT; unset: off).
    state.retention_schedule = RetentionFitSchedule(
        state.sessionmaker, state.job_queue, settings
    )


@asynccontextmanager
async def _lifespan(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    """Migrate, start the bus, the runner, the reads pool, MQTT and the
    exception watch; stop them after."""
    state = app.state
    if settings.migrate_on_start:
        await run_in_threadpool(upgrade, settings.database_url)
    state.bus.start()
    if settings.job_workers > 0:
        await run_in_threadpool(state.job_runner.start)
    if state.async_reads is not None:
        await state.async_reads.open()
    # What is alive now (modules, the app, its caches' first entries) lives
    # as long as the process. Left to the collector, every full collection
    # scans it: 240,000 objects, 0.2 s with every request in flight
    # waiting (the p99 stalls seen in benchmarks/bench_api.py).
    # Off for apps built in tests, which come and go in one process.
    if settings.freeze_gc:
        gc.collect()
        gc.freeze()
    url = state.engine.url.render_as_string()
    log.info("milepost service ready", extra={"database": url})
    if state.mqtt is not None:
        state.mqtt.start()
    state.exception_watch.start()
    state.retention_schedule.start()
    try:
        yield
    finally:
        await run_in_threadpool(state.retention_schedule.stop)
        await run_in_threadpool(state.exception_watch.stop)
        if state.mqtt is not None:
            state.mqtt.stop()
        if settings.job_workers > 0:
            await run_in_threadpool(state.job_runner.stop)
        await run_in_threadpool(state.bus.stop)
        if state.async_reads is not None:
            await state.async_reads.close()
        state.engine.dispose()
        state.read_engine.dispose()
