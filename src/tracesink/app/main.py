"""The app as ``tracesink serve`` has uvicorn load it: by import string, settings from the
environment (the CLI has validated them and put any flags there). An import string keeps the
command line free of the HTTP layer, and is what uvicorn needs to run workers of its own."""

from __future__ import annotations

import os

from tracesink.app.application import TraceSinkApp
from tracesink.app.inflight import InFlightLimit
from tracesink.config import load_settings


def app_from_environment() -> InFlightLimit:
    settings = load_settings(os.environ)
    # The bound on requests in flight (not uvicorn's limit_concurrency: see inflight.py).
    return InFlightLimit(TraceSinkApp(settings, tune_gc=True), settings.max_concurrency)
