"""Whether this run is CI's: decided here alone (tests/conftest.py turns a skip into a failure
there; nothing else asks)."""

from __future__ import annotations

import os


def in_ci() -> bool:
    """``CI`` set to true (as CI services do, and ``.ci/run``); ``CI=false`` or unset is not."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
