"""The ASGI application: lifespan, CORS, the dispatch to a route (the table: routes.py), and the
one place errors become HTTP answers."""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence

from tracesink import rules
from tracesink.app.auth import IngestGuard, ReadGuard
from tracesink.app.cors import cors_policy, valid_origin
from tracesink.app.http import (
    ClientDisconnected,
    Message,
    Receive,
    Request,
    Response,
    Scope,
    Send,
    error_response,
)
from tracesink.app.locality import Locality
from tracesink.app.mcp_mount import MCP_PATH, McpMount
from tracesink.app.refused_origins import RefusedOrigins
from tracesink.app.routes import INGEST, INGEST_PATHS, LANE_PATHS, PUBLIC, READ, find_route
from tracesink.app.state import AppState
from tracesink.app.throttled_log import ThrottledLog
from tracesink.config import Settings
from tracesink.errors import (
    AccessDenied,
    BudgetSpent,
    Overloaded,
    ReadsBusy,
    SpoolFull,
    StorageError,
    TraceSinkError,
    ValidationError,
)
from tracesink.pipeline import IngestPipeline
from tracesink.server.lane import Answer
from tracesink.store.base import Store
from tracesink.worker_identity import WorkerIdentity

log = logging.getLogger("tracesink")

STORE_ERROR_LOG_EVERY_S = 10.0
UNEXPECTED_ERROR_LOG_EVERY_S = 10.0


class TraceSinkApp:
    """An ASGI app; its parts are built at lifespan start-up (or by ``running()`` in tests)."""

    lane_paths = LANE_PATHS  # the routes a complete request takes past ASGI (routes.py)

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store | None = None,
        clock: Callable[[], float] = time.time,
        tune_gc: bool = False,
        worker: WorkerIdentity | None = None,
    ) -> None:
        self.settings = settings
        self._given_store = store
        self._worker = worker
        self._clock = clock
        self._tune_gc = tune_gc
        self._cors = cors_policy(settings)
        self._refused_origins = RefusedOrigins()
        self._locality = Locality(settings.is_loopback, settings.trusted_networks())
        self._guards = {
            READ: ReadGuard(settings.read_token, settings.insecure, self._locality).check,
            INGEST: IngestGuard(settings.ingest_keys).check,
        }
        self.state: AppState | None = None
        self._mcp = McpMount(settings, lambda: self.pipeline_state, clock)
        self._store_errors = ThrottledLog("store error", STORE_ERROR_LOG_EVERY_S)
        self._unexpected = ThrottledLog("unexpected error", UNEXPECTED_ERROR_LOG_EVERY_S)

    @property
    def pipeline(self) -> IngestPipeline:
        """The running pipeline (between start-up and shutdown)."""
        if self.state is None:
            raise RuntimeError("the app is not running")
        return self.state.pipeline

    @property
    def pipeline_state(self) -> AppState:
        """The running app's state (between start-up and shutdown)."""
        if self.state is None:
            raise RuntimeError("the app is not running")
        return self.state

    async def startup(self) -> None:
        pipeline = await IngestPipeline.open(
            self.settings, self._given_store, self._clock, self._worker
        )
        self.state = AppState.around(pipeline)
        if self._tune_gc:
            _tune_gc()

    async def shutdown(self) -> None:
        await self._mcp.stop()
        if self.state is not None:
            await self.state.pipeline.close()
            self.state = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[TraceSinkApp]:
        await self.startup()
        try:
            yield self
        finally:
            await self.shutdown()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "websocket":
            # No route speaks WebSocket: refuse the handshake (the server answers 403), rather
            # than return without a word, which a server reports as a 500.
            await send({"type": "websocket.close", "code": 1008})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except TraceSinkError as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        if request.path == MCP_PATH:
            early, _ = self._cors_gate(request)
            if early is not None:
                await early.send(send)
                return
            await self._serve_mcp(request, send)
            return
        try:
            response = await self.answer(request)
        except ClientDisconnected:
            return  # nobody to answer, and nothing was stored
        await response.send(send)

    async def answer(self, request: Request) -> Response:
        """The answer to any request but ``/mcp`` (which sends its own): CORS, then the route."""
        early, cors_headers = self._cors_gate(request)
        if early is not None:
            return early
        response = await self._dispatch(request)
        response.headers.extend(cors_headers)
        return response

    async def answer_complete(self, scope: Scope, body: bytes) -> Answer | None:
        """The answer to a request whose whole body the server holds (server/lane.py: the
        ingest routes' way past the ASGI exchange), as status, headers and body; None when
        there is nobody to answer. The same as ``answer``, spelled out here: one coroutine
        less per ingest request."""
        request = Request(scope, _nothing_more, body)
        response, cors_headers = self._cors_gate(request)
        if response is None:
            try:
                response = await self._dispatch(request)
            except ClientDisconnected:
                return None
            response.headers.extend(cors_headers)
        return response.status, response.with_length(), response.body

    def _cors_gate(self, request: Request) -> tuple[Response | None, Sequence[Header]]:
        """A request with an Origin: the refusal or preflight answer it gets at once, else the
        CORS headers its answer carries."""
        origin = request.headers.get("origin")
        if origin is None:
            return _NOT_CROSS_ORIGIN
        refusal = self._cors_refusal(request, origin)
        if refusal is not None:
            return refusal, ()
        if request.method == "OPTIONS":
            return Response(204, b"", self._cors.preflight_headers(origin)), ()
        return None, self._cors.headers(origin)

    async def _serve_mcp(self, request: Request, send: Send) -> None:
        """``/mcp`` (mcp_mount.py), let in exactly as the read routes let a request in."""
        if self.state is None:
            await error_response(
                503, "tracesink is starting or stopping", headers=[(b"retry-after", b"1")]
            ).send(send)
            return
        try:
            self._guards[READ](request)
        except AccessDenied as exc:
            challenge = [(b"www-authenticate", b"Bearer")] if exc.field == "Authorization" else []
            await error_response(exc.status, exc.message, exc.field, challenge).send(send)
            return
        await self._mcp(request.scope, request.receive, send)

    def _cors_refusal(self, request: Request, origin: str) -> Response | None:
        """The 4xx for an origin that may not use this route, or None when it may."""
        if not valid_origin(origin):
            return error_response(400, rules.message("origin_malformed"), "Origin")
        ingest = request.path in INGEST_PATHS
        local = self._locality.is_local(request)
        own = f"http://{request.headers.get('host', '')}"
        if self._cors.allows(origin, ingest=ingest, local=local, own=own):
            return None
        self._refused_origins.refused(origin, ingest)
        if not ingest:
            message = (
                f"origin {origin} may not read from tracesink: only origins listed by name in "
                "TRACESINK_CORS_ORIGINS may (never * or null)"
            )
            return error_response(403, message, "Origin")
        message = rules.message("origin_refused", origin=origin)
        # Readable by the refused page (CORS headers on the refusal alone): its client sees the
        # 403 and stops, rather than retrying a network error forever. This grants that page the
        # refusal's text and nothing else: no route runs, nothing is stored or read.
        return error_response(403, message, "Origin", headers=self._cors.headers(origin))

    async def _dispatch(self, request: Request) -> Response:
        state = self.state
        if state is None:
            return error_response(
                503, "tracesink is starting or stopping", headers=[(b"retry-after", b"1")]
            )
        path, method = request.path, request.method
        try:
            route = find_route(path, method)
            if isinstance(route, Response):
                return route  # 404 or 405
            if route.access != PUBLIC:
                self._guards[route.access](request)
            return await route.handler(state, request)
        except ClientDisconnected:
            raise
        except AccessDenied as exc:
            challenge = [(b"www-authenticate", b"Bearer")] if exc.field == "Authorization" else []
            return error_response(exc.status, exc.message, exc.field, challenge)
        except ValidationError as exc:
            # A body too slow or too large was not read to its end: the connection cannot carry
            # another request, and closing it frees what a slow client holds.
            close = [(b"connection", b"close")] if exc.status in (408, 413) else []
            return error_response(exc.status, exc.message, exc.field, close)
        except Overloaded as exc:
            return error_response(503, str(exc), headers=[(b"retry-after", b"1")])
        except ReadsBusy as exc:
            return error_response(503, str(exc), "read capacity", [(b"retry-after", b"1")])
        except BudgetSpent as exc:
            retry = [(b"retry-after", str(exc.retry_after_s).encode())]
            return error_response(429, str(exc), "TRACESINK_MAX_COMMANDS_PER_DAY", retry)
        except SpoolFull as exc:
            self._store_errors.warn(exc)
            return error_response(503, str(exc), headers=[(b"retry-after", b"1")])
        except StorageError as exc:
            self._store_errors.warn(exc)
            return error_response(
                503, rules.message("store_unavailable"), headers=[(b"retry-after", b"1")]
            )
        except Exception as exc:  # the last line of defence: logged here, never told the client
            # One request that fails this way is usually all of them that look like it: its
            # traceback once per interval, with a count, not one per request.
            self._unexpected.exception(exc, f"on {method} {path}")
            return error_response(500, "internal error")


Header = tuple[bytes, bytes]
_NOT_CROSS_ORIGIN: tuple[None, tuple[Header, ...]] = (None, ())


async def _nothing_more() -> Message:
    """``receive`` of a request whose whole body was handed over: nothing more will come."""
    return {"type": "http.disconnect"}


def _tune_gc() -> None:
    """The long p99 tail under load is the garbage collector walking start-up objects (DESIGN.md,
    "Measuring"): freeze everything built so far out of its view, and collect the young
    generation less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def create_app(
    settings: Settings, *, store: Store | None = None, clock: Callable[[], float] = time.time
) -> TraceSinkApp:
    return TraceSinkApp(settings, store=store, clock=clock)
