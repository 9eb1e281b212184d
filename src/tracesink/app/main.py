"""The app as ``tracesink serve`` has uvicorn load it: by import string, settings from the
environment (the CLI has validated them and put any flags there). An import string keeps the
command line free of the HTTP layer, and is what uvicorn needs to run workers of its own."""

from __future__ import annotations

import os

from tracesink.app.application import TraceSinkApp
from tracesink.app.inflight import InFlightLimit
from tracesink.config import load_settings
from tracesink.worker_identity import WorkerIdentity


def app_from_environment() -> InFlightLimit:
    """The app behind the bound on requests served at once (not uvicorn's limit_concurrency,
    which counts idle connections too: see inflight.py)."""
    settings = load_settings(os.environ)
    worker = WorkerIdentity.from_environ(os.environ)  # one of `serve --workers N`, or None
    app = TraceSinkApp(settings, tune_gc=True, worker=worker)
    return InFlightLimit(app, settings.max_concurrency)
