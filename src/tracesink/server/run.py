"""``tracesink serve``: reach the store, take the port, say what listens, run uvicorn (in one
process, or in ``--workers N`` forked ones: workers.py).

The app is loaded by uvicorn from an import string (``tracesink.app.main``), with its settings
in the environment, so nothing here depends on the HTTP layer's modules: this is the server under
it (the listener, the protocol with its head caps, the process's signals).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from tracesink import __version__
from tracesink.config import Settings
from tracesink.config_options import OPTIONS
from tracesink.errors import TraceSinkError
from tracesink.masking import mask_url
from tracesink.pipeline import policy_from
from tracesink.server.listener import hold_port, listen, worker_listener
from tracesink.server.protocol import guarded_protocol
from tracesink.server.spool_slots import hand_on, orphaned
from tracesink.server.throttled_log import throttle_tracebacks
from tracesink.server.workers import STARTUP_FAILURE, Supervisor
from tracesink.store import backend_of, open_store
from tracesink.store.diagnose import StoreProblem, probe
from tracesink.worker_identity import WorkerIdentity

if TYPE_CHECKING:
    import uvicorn

APP = "tracesink.app.main:app_from_environment"
MAX_OPEN_FILES = 1 << 20  # the most descriptors asked for, whatever the hard limit allows


def serve(settings: Settings, flags: Mapping[str, str]) -> int:
    """Run until SIGTERM or Ctrl-C; ``flags`` are the options given on the command line.

    The store probe, the port and the banner happen here, once; then one process serves, or
    ``settings.workers`` forked ones do (workers.py and listener.py say how, and why)."""
    import uvicorn

    backend_of(settings.store, settings.name_of("store"))  # a bad URL stops start-up here
    problem = None
    if not settings.store.startswith("memory:"):
        problem = asyncio.run(probe(settings.store, policy_from(settings)))
        if problem is not None and problem.fatal:
            raise TraceSinkError(
                f"store {mask_url(settings.store)} refused this instance: {problem.cause}"
            )
    # Before the banner: a taken port is the only thing said. With workers, the parent holds
    # the port and each worker listens on a socket of its own (listener.py says why).
    listener = listen(settings) if settings.workers == 1 else hold_port(settings)
    # Only with the port ours: no other instance on it can be using the spools moved here.
    handed_on = asyncio.run(_hand_on_spools(settings))
    raise_open_files_limit()
    # The app reads its settings from the environment (app/main.py): hand it the flags there.
    os.environ.update({o.env: flags[o.name] for o in OPTIONS if o.name in flags})
    print(banner(settings, problem), flush=True)
    if handed_on:
        print(
            f"tracesink: {handed_on} spooled entries of workers not started now (fewer "
            f"{settings.name_of('workers')} than before) were handed to running workers' spools",
            file=sys.stderr,
            flush=True,
        )
    if problem is not None:
        spool = settings.spool_path()
        then = f"entries are spooled to {spool}" if spool else "ingest answers 503"
        print(
            f"tracesink: store {mask_url(settings.store)} is unreachable at start: "
            f"{problem.cause}; serving anyway, {then} until it answers",
            file=sys.stderr,
            flush=True,
        )
    config = uvicorn.Config(
        APP,
        factory=True,
        http=guarded_protocol(
            settings.max_header_bytes, settings.header_timeout_s, settings.send_timeout_s
        ),
        ws="none",  # no WebSocket route: an upgrade request is answered as plain HTTP
        # uvicorn would rewrite the client address from X-Forwarded-For sent by 127.0.0.1 (or
        # by FORWARDED_ALLOW_IPS): forwarding headers are read in one place, app/locality.py.
        proxy_headers=False,
        # No timeout_keep_alive: the protocol arms no keep-alive timer. An idle connection
        # closes by its head deadline, after the head timeout (10 s by default): later than the
        # 4-5 s after which common clients (httpx, Node's fetch) stop reusing an idle
        # connection, so they retire it first. A server that closes first races the client's
        # next request on it, which fails as "server disconnected without a response" (seen
        # with httpx at uvicorn's 5 s keep-alive: equal timers).
        access_log=False,
        log_level="warning",
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    throttle_tracebacks()  # after Config, which configures uvicorn's loggers
    if settings.workers == 1:
        _run_uvicorn(config, listener)
        return 0
    # Each worker publishes its counters here, for /metrics and /stats (shared_telemetry.py).
    with tempfile.TemporaryDirectory(prefix="tracesink-workers-") as shared:

        def run_worker(index: int) -> int:
            os.environ.update(WorkerIdentity(index, Path(shared)).environ())
            try:
                own = worker_listener(settings)
            except TraceSinkError as exc:
                print(f"tracesink: worker {index}: {exc}", file=sys.stderr, flush=True)
                return STARTUP_FAILURE
            return 0 if _run_uvicorn(config, own) else STARTUP_FAILURE

        with listener:  # the port, held while the workers come and go
            return Supervisor(settings.workers, run_worker).run()


def _run_uvicorn(config: uvicorn.Config, listener: socket.socket) -> bool:
    """Serve on ``listener`` until SIGTERM or Ctrl-C has drained it; whether the app started."""
    import uvicorn

    # uvicorn drains on SIGTERM/SIGINT and then re-raises the signal under the handler it found
    # at start; with this one in place, a drained shutdown exits 0 instead of dying by the signal.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    server = uvicorn.Server(config)
    server.run(sockets=[listener])
    return bool(server.started)


async def _hand_on_spools(settings: Settings) -> int:
    """Spools of workers that will not run now, moved to ones that will (spool_slots.py)."""
    if not orphaned(settings):
        return 0
    store = open_store(settings.store, policy_from(settings), settings.name_of("store"))
    try:
        return await hand_on(settings, store.display)
    finally:
        await store.close()


def banner(settings: Settings, problem: StoreProblem | None = None) -> str:
    unreachable = f"  UNREACHABLE ({problem.cause})" if problem else ""
    return (
        f"tracesink {__version__} listening on http://{settings.host}:{settings.port}"
        f"{_workers(settings)}\n"
        f"  store:  {mask_url(settings.store)}{unreachable}\n"
        f"  limits: {settings.describe_limits()}\n"
        f"  cors:   {settings.describe_cors()}\n"
        f"  reads:  {_read_access(settings)}\n"
        f"  spool:  {_spool(settings)}"
    )


def _workers(settings: Settings) -> str:
    return f" ({settings.workers} worker processes)" if settings.workers > 1 else ""


def _spool(settings: Settings) -> str:
    path = settings.spool_path()
    if path is None:
        return "off"
    if settings.workers > 1:
        return f"{path} (worker 0; worker N in {path / 'worker-N'})"
    return str(path)


def _read_access(settings: Settings) -> str:
    if settings.read_token is not None:
        return "bearer token required"
    if settings.is_loopback:
        return "open to this machine only (not through a proxy or tunnel)"
    return (
        "OPEN TO ANYONE WHO CAN REACH THIS ADDRESS (--insecure): "
        "every log can be read without a token"
    )


def raise_open_files_limit() -> None:
    """Every connection is a file descriptor, and the usual soft limit is 1,024: a thousand slow
    or idle clients then leave none for the next accept, and ``/health`` fails while they last
    (1,008 half-read sockets did exactly that). The soft limit is raised to the hard one, as Go
    and nginx do; where it cannot be, it stays, and the deadlines in ``protocol.py`` still end
    each connection."""
    try:
        import resource
    except ImportError:  # not on this platform (Windows): nothing to raise
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = MAX_OPEN_FILES if hard == resource.RLIM_INFINITY else min(hard, MAX_OPEN_FILES)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)
