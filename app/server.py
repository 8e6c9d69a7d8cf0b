"""Builds the Tornado application and starts and stops every service in order."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.ioloop import PeriodicCallback
from tornado.netutil import bind_sockets

from . import __version__
from .api.openapi_handler import OpenApiDocument, OpenApiHandler
from .api.routes import build_routes
from .auth import Auth, cookie_secret
from .config import Config
from .control.alarm_service import AlarmService
from .control.loop import ControlService
from .control.sample import install_sample
from .control.series_alarms import CHANNEL as SERIES_RULES_CHANNEL
from .control.series_alarms import STALE_CHECK_S, SeriesAlarms
from .db.engine import default_url, make_engine, make_sessionmaker, migrate
from .db.retention import Retention
from .db.writer import DbWriter
from .history import History
from .history.ingest_sink import HistorySink
from .history.query import latest_samples
from .ingest.feeds import feed_routes
from .ingest.latest import LatestSamples
from .ingest.service import IngestService
from .ingest.sink import Sample
from .ingest.tcp import IngestListener
from .log_recorder import LogRecorder
from .pubsub.errors import CLOSE_GOING_AWAY, CLOSE_UNAUTHENTICATED
from .pubsub.http import channel_routes
from .pubsub.hub import Hub, HubLimits
from .pubsub.liveness import ConnectionRegistry
from .pubsub.outbound import FlushScheduler
from .pubsub.websocket import SocketHandler
from .runtime_settings import SettingsStore
from .systemd_notify import SystemdNotifier
from .web.client_files import ClientFileHandler
from .web.handler import NotFoundHandler

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
RATE_PERIOD_S = 5.0
# Each route refuses bodies above its own limit with 413 while streaming them in; beyond
# this ceiling Tornado drops the connection before any handler runs.
HTTP_BODY_CEILING = 64 * 1024 * 1024


class Maelstrom:
    """The whole appliance in one process: hub, HTTP/WebSocket server, timers."""

    def __init__(self, config: Config) -> None:
        self.config = config
        pubsub = config.pubsub
        self.hub = Hub(
            HubLimits(
                history_size=pubsub.history_size,
                history_age_s=pubsub.history_age_s,
                max_subscriptions=pubsub.max_subscriptions,
                max_channels=pubsub.max_channels,
                max_empty_channels=pubsub.max_empty_channels,
                max_bytes=pubsub.max_hub_bytes,
            )
        )
        self.registry = ConnectionRegistry(pubsub.ping_interval_s, pubsub.silence_timeout_s)
        self.scheduler = FlushScheduler(lambda callback: asyncio.get_running_loop().call_soon(callback))
        self.notifier = SystemdNotifier()
        data_dir = config.storage.data_dir
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)  # secrets and the database live here
        self.db_url = config.storage.db_url or default_url(data_dir)
        self.engine = make_engine(self.db_url)
        self.sessions = make_sessionmaker(self.engine)
        self.db_writer = DbWriter(self.sessions)
        self.settings = SettingsStore(self.sessions)
        self.retention = Retention(self.db_writer, self.settings.get)
        self.history = History(self.db_writer, self.sessions, self.settings.get)
        self.auth = Auth(self.sessions, data_dir, self.db_writer)
        self.auth.on_ended(self._close_ended_sessions)
        self.ingest = IngestService(self.hub, max_series=config.ingest.max_series)
        self.ingest.sinks.append(HistorySink(self.history.recorder))
        self.latest = LatestSamples()  # what a chamber shows of its `gravity_series`
        self.ingest.sinks.append(self.latest)
        self.ingest_listener: IngestListener | None = None
        self.ingest_ports: list[int] = []
        self.app = make_app(self)
        self.started_at = time.time()
        self.http_server: HTTPServer | None = None
        self.ports: list[int] = []
        self._timers: list[PeriodicCallback] = []

    def _close_ended_sessions(self, reason: str) -> None:
        """A token was revoked or the password changed: its WebSockets end too, not only
        its next request (connections that never authenticated stay open)."""
        ended = self.registry.close_where(
            lambda principal: not self.auth.is_current(principal), CLOSE_UNAUTHENTICATED, reason
        )
        log.info("%s: %d WebSocket connection(s) closed", reason, ended)

    @property
    def db_path(self) -> str | None:
        """The SQLite file, when the database is one."""
        database = self.engine.url.database
        return (
            database if self.engine.dialect.name == "sqlite" and database not in (None, ":memory:") else None
        )

    @property
    def db_url_for_display(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def open_database(self) -> None:
        """Migrate the schema, load settings, make sure a UI password exists."""
        migrate(self.engine)
        self.settings.load()
        self.auth.ensure_password()
        self.auth.load_tokens()
        self.hub.subscribe(LogRecorder(self.db_writer), "logs")
        if self.config.control.sample_on_first_start:
            install_sample(self.sessions)
        self.alarms = AlarmService(self.sessions, self.db_writer, self.hub)
        self.alarms.start()
        # alarm rules on ingested series: fed by the ingest, changed through /api/series-rules
        self.series_alarms = SeriesAlarms(self.sessions, self.alarms, latest=self.latest.get)
        self.ingest.sinks.append(self.series_alarms)
        self.hub.subscribe(self.series_alarms, SERIES_RULES_CHANNEL)
        tick_period_s = self.settings.get("tick_period_s")
        self.control = ControlService(
            self.sessions,
            self.db_writer,
            self.hub,
            self.alarms,
            tick_period_s,
            publish=self._publish_tick,
            latest=self.latest.get,
        )

    def _publish_tick(self, channel: str, data: Any) -> None:
        """The control loop's publish port: on the hub, and each tick record into the history."""
        self.hub.publish(channel, data)
        self.history.recorder.on_publish(channel, data)

    async def start(self) -> None:
        """Open the database, bind, serve, start timers, then tell systemd we are ready.

        A start that fails (a port in use, a database that cannot be opened) stops what it
        had started before it raises: outputs off, threads ended, so the process exits."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        self.db_writer.start()
        self.open_database()
        self.history.start()
        await self._load_latest()
        self.series_alarms.start()  # after the latest samples: a rule judges them at once
        await self.control.start()
        self.retention.start()
        server_config = self.config.server
        sockets = bind_sockets(server_config.port, server_config.address or None)
        self.ports = sorted({sock.getsockname()[1] for sock in sockets})
        self.http_server = HTTPServer(self.app, xheaders=False, max_body_size=HTTP_BODY_CEILING)
        self.http_server.add_sockets(sockets)
        self._start_ingest_listener()
        self._every(self.registry.sweep_period_s, self.registry.sweep)
        self._every(RATE_PERIOD_S, self.hub.update_rates)
        self._every(STALE_CHECK_S, self.series_alarms.check_stale)
        if self.notifier.ping_period_s:
            self._every(self.notifier.ping_period_s, self._feed_watchdog)
            self.notifier.watchdog()
        log.info(
            "Maelstrom %s serving on http://%s:%d/ (data in %s)",
            __version__,
            server_config.address or "0.0.0.0",
            self.ports[0],
            self.config.storage.data_dir,
        )
        self.notifier.ready()

    async def _load_latest(self) -> None:
        """The newest stored sample of each series fed from outside, read once at start on a
        history reader thread, so a chamber's `gravity_series` shows its last reading (with
        its true age) before the hydrometer posts again; a failure only leaves it empty."""
        try:
            rows = await self.history.read(
                lambda session: latest_samples(session, self.config.ingest.max_series)
            )
        except Exception:
            log.exception("the latest stored samples could not be read; gravity shows after the next sample")
            return
        self.latest.record(
            [Sample(name, ts_ms, kind, value, unit=unit or None) for name, unit, kind, ts_ms, value in rows]
        )

    def _start_ingest_listener(self) -> None:
        """The TCP line protocol, unless turned off; a port in use stops the start."""
        ingest = self.config.ingest
        if not ingest.enabled:
            log.info("ingest: TCP line protocol off (ingest.enabled: false); HTTP feeds at /api/feeds/")
            return
        address = self.config.server.address if ingest.address is None else ingest.address
        try:
            sockets = bind_sockets(ingest.port, address or None)
        except OSError as error:
            raise OSError(
                error.errno,
                f"ingest line protocol on {address or '0.0.0.0'}:{ingest.port}: {error.strerror} "
                "(set ingest.port, or ingest.enabled: false)",
            ) from None
        self.ingest_ports = sorted({sock.getsockname()[1] for sock in sockets})
        self.ingest_listener = IngestListener(self.ingest, self.auth, ingest)
        self.ingest_listener.add_sockets(sockets)
        log.info(
            "ingest: TCP line protocol on %s:%d (%s)",
            address or "0.0.0.0",
            self.ingest_ports[0],
            "AUTH <token> required" if ingest.require_token else "no token required",
        )

    def _feed_watchdog(self) -> None:
        """Ping systemd only while control ticks: a loop that stopped gets us restarted."""
        if self.control.healthy():
            self.notifier.watchdog()
        else:
            log.error("control has not ticked lately; not feeding the systemd watchdog")

    def _every(self, period_s: float, callback: Any) -> None:
        timer = PeriodicCallback(callback, period_s * 1000)
        timer.start()
        self._timers.append(timer)

    async def stop(self) -> None:
        """Stop accepting, close clients with 1001 (going away), stop timers."""
        self.notifier.stopping()
        log.info("stopping")
        for timer in self._timers:
            timer.stop()
        if self.http_server is not None:
            self.http_server.stop()
        if self.ingest_listener is not None:
            self.ingest_listener.close_all()
        if getattr(self, "control", None) is not None:  # None: the start failed before it
            await self.control.stop()  # outputs off before the boards are let go
        await self.retention.stop()
        await self.history.stop()  # the open intervals and what waits go to the writer
        self.registry.close_all(CLOSE_GOING_AWAY, "server stopping")
        if self.http_server is not None:
            try:
                await asyncio.wait_for(
                    self.http_server.close_all_connections(), self.config.server.shutdown_timeout_s / 2
                )
            except TimeoutError:
                log.warning("some connections did not close in time; exiting anyway")
        await self.db_writer.stop()  # what the tick and the API queued is written before we exit
        self.auth.close()
        self.engine.dispose()
        log.info("stopped")


def make_app(maelstrom: Maelstrom) -> tornado.web.Application:
    config = maelstrom.config
    pubsub = config.pubsub
    # every HTTP route is in one table (REST resources, channels, feeds): it routes and it is documented
    http_routes = build_routes() + channel_routes(pubsub.max_publish_bytes) + feed_routes()
    socket_args = {
        "hub": maelstrom.hub,
        "settings": pubsub,
        "registry": maelstrom.registry,
        "scheduler": maelstrom.scheduler,
    }
    routes: list[Any] = [
        (r"/()", ClientFileHandler, {"path": str(STATIC_DIR), "default_filename": "index.html"}),
        (r"/socket", SocketHandler, socket_args),
        (r"/api/openapi.json", OpenApiHandler, {"document": OpenApiDocument(http_routes)}),
        *[(route.pattern, route.handler, route.kwargs) for route in http_routes],
        (r"/static/(.*)", ClientFileHandler, {"path": str(STATIC_DIR)}),
    ]
    return tornado.web.Application(
        routes,
        default_handler_class=NotFoundHandler,
        # gzip what is worth it (the client's files, history answers): a tablet's first load
        # is about a third of the bytes; Tornado skips bodies under 1 KiB
        compress_response=True,
        cookie_secret=cookie_secret(config.storage.data_dir),
        # Above the protocol's 64 KiB a frame gets an error reply; far above it, Tornado
        # closes the connection (1009) before buffering it.
        websocket_max_message_size=max(1024 * 1024, 4 * pubsub.max_frame_bytes),
        maelstrom=maelstrom,
    )
