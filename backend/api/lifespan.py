"""Start-up and shut-down: settings, engine, session factory and HTTP client live for the app's lifetime."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine, inspect
from sqlalchemy.engine import make_url

from backend.channels import telegram
from backend.config import Settings, get_settings
from backend.db import make_engine, make_session_factory
from backend.hub import Hub
from backend.hub.broker import RedisBroker, make_broker
from backend.hub.locks import TurnLocks
from backend.hub.rasa import RasaGateway
from backend.hub.sweeper import TurnSweeper
from backend.models import Base
from backend.security.limits import DoorBudgets, make_limiter
from backend.services.care import open_job as care_open_job
from backend.services.care_watch import care_message_job
from backend.services.customer_classes import MonthlyClasses
from backend.services.notice_watch import NoticeWatcher
from backend.services.notices import Policy
from backend.services.ownership import OfferWatcher
from backend.services.sla_watch import SlaWatcher
from backend.services.tickets import BusinessCalendar
from backend.services.volume_watch import weekly_job
from backend.services.webhook_delivery import WebhookSender
from backend.storage import StoreUnavailable, UploadStore, make_store

logger = logging.getLogger(__name__)


class DatabaseNotReady(RuntimeError):
    """The database has no schema (or an old one): run the migrations first."""


def check_schema(engine: Engine) -> None:
    """Fail clearly at start-up when the tables are missing, rather than on the first request."""
    present = set(inspect(engine).get_table_names())
    missing = sorted(set(Base.metadata.tables) - present)
    if missing:
        url = make_url(str(engine.url)).render_as_string(hide_password=True)
        raise DatabaseNotReady(
            f"database {url} is missing tables {', '.join(missing)}; run `python -m backend.migrate` first"
        )


# FastAPI's interactive docs and schema: a map of every route for whoever asks, so not in production.
API_DOC_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})


async def warn_if_unreachable(uploads: UploadStore) -> None:
    """One line when photos cannot be kept yet (a bucket not created, a share not mounted). Not fatal:
    the store may come up after the backend, shippers hear a polite line meanwhile, /api/health says it."""
    try:
        await asyncio.to_thread(uploads.check)
    except StoreUnavailable as error:
        logger.warning("upload store not usable yet: %s; photos are refused politely until it is", error)


def hide_api_docs(app: FastAPI) -> None:
    """Take the docs and the OpenAPI schema off the app (settings are known only at start-up)."""
    app.router.routes[:] = [r for r in app.router.routes if getattr(r, "path", None) not in API_DOC_PATHS]


def make_lifespan(settings: Settings | None) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A lifespan that resolves settings at start-up (not import) and owns the engine."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resolved = settings or get_settings()
        engine = make_engine(resolved.database_url)
        try:
            check_schema(engine)
        except BaseException:
            engine.dispose()
            raise
        app.state.settings = resolved
        if resolved.app_env == "production":
            hide_api_docs(app)
        app.state.engine = engine
        # Budgets on the public doors, counted in Redis when several processes share them.
        app.state.limiter = make_limiter(resolved.redis_url)
        app.state.door_budgets = DoorBudgets.from_settings(resolved)
        app.state.session_factory = make_session_factory(engine)
        app.state.http_client = httpx.AsyncClient(timeout=2.0)
        # Photos, where every backend process reaches them (UPLOAD_STORE).
        app.state.uploads = make_store(resolved)
        await warn_if_unreachable(app.state.uploads)
        # A turn's lease outlasts two tries (each a wait for a place in line and Rasa's timeout) and the
        # pause between them; a surge may use what the lease leaves for the wait.
        timeout_s, pause_s = resolved.rasa_timeout_s, resolved.rasa_retry_pause_s
        wait_s = max(timeout_s, (resolved.turn_lease_s - 5 - pause_s) / 2 - timeout_s)
        rasa = RasaGateway(
            app.state.http_client,
            base_url=resolved.rasa_url,
            channel_secret=resolved.rasa_channel_secret,
            api_token=resolved.rasa_token,
            timeout_s=timeout_s,
            concurrency=resolved.rasa_concurrency,
            wait_s=wait_s,
        )
        lease_s = max(resolved.turn_lease_s, 2 * rasa.longest_call_s + pause_s + 5)
        app.state.hub = Hub(
            app.state.session_factory,
            rasa,
            make_broker(resolved.redis_url),
            uploads=app.state.uploads,
            upload_max_bytes=resolved.upload_max_bytes,
            calendar=BusinessCalendar.from_settings(resolved),
            turn_lease_s=lease_s,
            retry_pause_s=resolved.rasa_retry_pause_s,
            # A conversation's turns one at a time on every backend process (Redis), or in this one.
            locks=TurnLocks(
                resolved.redis_url,
                prefix=resolved.redis_key_prefix,
                timeout_s=lease_s,
                blocking_timeout_s=lease_s,
            ),
        )
        # Answers the turns a process that died left unanswered (backend.hub.sweeper).
        app.state.turn_sweeper = TurnSweeper(app.state.hub, interval_s=resolved.turn_sweep_interval_s)
        logger.info(
            "backend started (%s) on %s, uploads in %s",
            resolved.app_env,
            make_url(resolved.database_url).render_as_string(hide_password=True),
            app.state.uploads.describe(),
        )
        # Breach events on tickets every SLA_WATCH_INTERVAL_S; safe with several backend processes.
        app.state.sla_watcher = SlaWatcher(
            app.state.session_factory, interval_s=resolved.sla_watch_interval_s
        )
        # Customer classes recomputed once per calendar month, by one of however many backends run.
        # (Held here too: a test's second client of the same app runs a second lifespan over app.state.)
        app.state.customer_classes = classes_job = MonthlyClasses(
            app.state.session_factory,
            tz=resolved.tz,
            a_share=resolved.customer_class_a_share,
            b_share=resolved.customer_class_b_share,
            interval_s=resolved.customer_classes_check_s,
        )
        # The weekly volume watch, once per ISO week by one of however many backends run (i20v).
        app.state.volume_watch = volume_job = weekly_job(app.state.session_factory, resolved)
        # Care campaigns: each running campaign's period drawn once, by one of however many backends (i20a).
        app.state.care_open = care_job = care_open_job(app.state.session_factory, resolved)
        # Signed webhooks from the outbox; safe with several backend processes. Stopped by this name: an
        # app entered twice at once (tests) keeps only the newest sender in app.state.
        sender = app.state.webhook_sender = WebhookSender(
            app.state.session_factory, interval_s=resolved.webhook_poll_interval_s
        )
        # Proactive notices from new scans and broken promises, through the hub (backend.services.notices).
        # Stopped through this name, not app.state: a second lifespan of the same app (tests) replaces
        # app.state's, and a task must be stopped on the loop it runs on.
        notice_watcher = app.state.notice_watcher = NoticeWatcher(
            app.state.hub,
            app.state.session_factory,
            Policy.from_settings(resolved),
            interval_s=resolved.notice_watch_interval_s,
        )
        # i20m: message campaigns' follow-up scripts through the hub (backend.services.care_watch).
        care_messages = app.state.care_messages = care_message_job(
            app.state.hub, app.state.session_factory, resolved
        )
        broker = app.state.hub.broker
        # i20o: owned customers' offers that ran out, audited and redrawn in every console.
        offers = OfferWatcher(app.state.session_factory, broker, interval_s=resolved.owner_offer_check_s)
        if isinstance(broker, RedisBroker):
            await broker.start()
        try:
            async with telegram.running(app, resolved, app.state.hub):
                app.state.sla_watcher.start()
                app.state.turn_sweeper.start()
                if resolved.customer_classes_job:
                    classes_job.start()
                if resolved.volume_watch_job:
                    volume_job.start()
                if resolved.care_open_job:
                    care_job.start()
                sender.start()
                notice_watcher.start()
                offers.start()
                care_messages.start()  # CARE_MESSAGE_CHECK_S=0: PeriodicCheck stays off
                try:
                    yield
                finally:
                    await care_messages.stop()
                    await offers.stop()
                    await notice_watcher.stop()
                    await sender.stop()
                    await classes_job.stop()
                    await volume_job.stop()
                    await care_job.stop()
                    await app.state.turn_sweeper.stop()
                    await app.state.sla_watcher.stop()
        finally:
            if isinstance(broker, RedisBroker):
                await broker.stop()
            await app.state.hub.locks.close()
            await rasa.aclose()
            await app.state.http_client.aclose()
            engine.dispose()

    return lifespan
